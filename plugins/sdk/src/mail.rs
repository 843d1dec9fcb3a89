//! Sending e-mail through the host's mail settings.
//!
//! Only world `notification-channel` imports `mail`. Do not call [`send`] from a
//! plugin of another world: its component would then import an interface its world
//! does not have, and the host may refuse it.

use crate::__private::notification_channel::crm::plugin::mail as wit;
use crate::Error;

/// One e-mail: `to` (addresses), `subject`, `text` and an optional `html` body.
pub use wit::Email;

/// Queues an e-mail; returns the host's message id.
pub fn send(message: &Email) -> Result<String, Error> {
    wit::send(message)
}
