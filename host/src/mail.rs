//! Outgoing e-mail: the durable outbox that plugins with the `mail` capability
//! (`mail.send`) and, later, the host's own notices queue messages into. A message is
//! queued once per source and idempotency key, so a retried call never mails twice.
//! Delivery over SMTP drains the outbox; until it is configured, messages wait there
//! and show as queued.

pub mod address;
pub mod outbox;
pub mod routes;

pub use outbox::{MailId, MailStatus, OutboxMail, OutgoingEmail};
