//! Outgoing e-mail: the durable outbox that plugins with the `mail` capability
//! (`mail.send`), reminders and digests queue messages into. A message is queued once per
//! source and idempotency key, so a retried call never mails twice.
//!
//! * [`outbox`] — queueing and the delivery states; [`settings`] — the tenant's SMTP
//!   server (sealed password); [`delivery`] — the job that hands due messages to it
//!   (lettre), with retries and the server's reasons; [`routes`] — the API.
//!
//! Until a server is set, messages wait in the outbox and show as queued.

pub mod address;
pub mod delivery;
pub mod outbox;
pub mod routes;
pub mod settings;

pub use outbox::{MailId, MailStatus, OutboxMail, OutgoingEmail};
