//! Sending e-mail through the host's outbox.
//!
//! Only world `notification-channel` imports `mail`. Do not call [`send`] from a
//! plugin of another world: its component would then import an interface its world
//! does not have, and the host may refuse it. The manifest asks for mail
//! (`[capabilities] mail = true`); the tenant's admin grants it per module instance
//! with the sender (`grants.mail.from`), which the plugin cannot choose.

use crate::__private::notification_channel::crm::plugin::mail as wit;
use crate::Error;

/// One e-mail: `to`, `cc`, `reply_to`, `subject`, `text`, an optional `html` body,
/// `attachments`, and an `idempotency_key` (a retried send with the same key queues
/// nothing new).
pub use wit::Email;

/// A file attached to an e-mail.
pub use wit::Attachment;

impl Email {
    /// A plain-text e-mail to `to`.
    pub fn text(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Email {
        Email {
            to: vec![to.into()],
            cc: vec![],
            reply_to: None,
            subject: subject.into(),
            text: text.into(),
            html: None,
            attachments: vec![],
            idempotency_key: None,
        }
    }
}

/// Queues an e-mail; returns the host's message id.
pub fn send(message: &Email) -> Result<String, Error> {
    wit::send(message)
}
