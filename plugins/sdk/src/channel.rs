//! World `notification-channel`: delivering notifications (e-mail, SMS, voice,
//! messenger) through one channel.
//!
//! Implement [`NotificationChannel`] and export it with
//! [`export_notification_channel!`](crate::export_notification_channel). The plugin may
//! use [`log`](crate::log), [`config`](crate::config), [`http`](crate::http),
//! [`clock`](crate::clock) and [`mail`](crate::mail).

use crate::__private::notification_channel::exports::crm::plugin::channel as wit;
use crate::Error;

/// Delivery state of a message.
pub use wit::DeliveryStatus;
/// One notification to deliver.
pub use wit::Message;
/// What happened to one message.
pub use wit::Receipt;

/// A plugin of world `notification-channel`.
pub trait NotificationChannel {
    /// Sends a batch; one receipt per message, in order. A message whose `key` was
    /// already sent must not be sent twice.
    fn send(messages: Vec<Message>) -> Result<Vec<Receipt>, Error>;

    /// The delivery state of messages sent earlier, by their provider ids; one receipt
    /// per id, in order. The default says `queued` for each: override it when the
    /// provider reports delivery.
    fn status(provider_ids: Vec<String>) -> Result<Vec<Receipt>, Error> {
        Ok(provider_ids
            .into_iter()
            .map(|id| Receipt { key: id.clone(), status: DeliveryStatus::Queued, provider_id: Some(id), detail: None })
            .collect())
    }
}

/// Exports a type implementing [`NotificationChannel`] as the plugin's `channel`
/// interface. Use it once, at the top level of the plugin crate.
///
/// ```
/// use crm_plugin_sdk::channel::{DeliveryStatus, Message, Receipt};
/// use crm_plugin_sdk::{Error, NotificationChannel};
///
/// struct Plugin;
///
/// impl NotificationChannel for Plugin {
///     fn send(messages: Vec<Message>) -> Result<Vec<Receipt>, Error> {
///         Ok(messages
///             .into_iter()
///             .map(|m| Receipt { key: m.key, status: DeliveryStatus::Failed, provider_id: None, detail: Some("not implemented".into()) })
///             .collect())
///     }
/// }
///
/// crm_plugin_sdk::export_notification_channel!(Plugin);
/// ```
#[macro_export]
macro_rules! export_notification_channel {
    ($ty:ident) => {
        const _: () = {
            fn must_implement_notification_channel<T: $crate::NotificationChannel>() {}
            let _ = must_implement_notification_channel::<$ty>;
        };
        $crate::__private::notification_channel::__export_notification_channel!(
            $ty with_types_in $crate::__private::notification_channel
        );
    };
}
