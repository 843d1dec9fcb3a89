//! World `notification-channel`: delivering notifications through one channel (e-mail,
//! SMS, voice, messenger). Several instances may be enabled at once (two SMS providers).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;

use super::{Function, Instance, Returned, TryableFunction, wrong_world};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::manifest::World;
use crate::plugins::runtime::PluginState;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Unique: a retried message with the same key is not sent twice.
    pub key: String,
    /// Phone number, e-mail address or messenger id.
    pub recipient: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    /// Channels built against 0.1.0 get only `text`.
    #[serde(default)]
    pub html: Option<String>,
}

/// Delivery state of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Failed,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub key: String,
    pub status: DeliveryStatus,
    pub provider_id: Option<String>,
    pub detail: Option<String>,
}

/// `channel.send`: sends a batch; one receipt per message, in order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    pub messages: Vec<Message>,
}

/// `channel.status`: the delivery state of messages sent earlier, by provider id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub provider_ids: Vec<String>,
}

macro_rules! receipts {
    ($version:ident, $receipts:expr) => {{
        use $version::notification_channel::exports::crm::plugin::channel as c;
        $receipts
            .into_iter()
            .map(|r: c::Receipt| Receipt {
                key: r.key,
                status: match r.status {
                    c::DeliveryStatus::Queued => DeliveryStatus::Queued,
                    c::DeliveryStatus::Sent => DeliveryStatus::Sent,
                    c::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
                    c::DeliveryStatus::Failed => DeliveryStatus::Failed,
                },
                provider_id: r.provider_id,
                detail: r.detail,
            })
            .collect::<Vec<Receipt>>()
    }};
}

impl Function for Send {
    type Output = Vec<Receipt>;
    const WORLD: World = World::NotificationChannel;
    const NAME: &'static str = "channel.send";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Vec<Receipt>> {
        Ok(match instance {
            Instance::NotificationChannelV0_1(i) => {
                use v0_1::notification_channel::exports::crm::plugin::channel as c;
                let messages: Vec<c::Message> = self
                    .messages
                    .into_iter()
                    .map(|m| c::Message { key: m.key, recipient: m.recipient, subject: m.subject, text: m.text })
                    .collect();
                i.crm_plugin_channel().call_send(store, &messages).await?.map_err(Into::into).map(|r| receipts!(v0_1, r))
            }
            Instance::NotificationChannelV0_2(i) => {
                use v0_2::notification_channel::exports::crm::plugin::channel as c;
                let messages: Vec<c::Message> = self
                    .messages
                    .into_iter()
                    .map(|m| c::Message { key: m.key, recipient: m.recipient, subject: m.subject, text: m.text, html: m.html })
                    .collect();
                i.crm_plugin_channel().call_send(store, &messages).await?.map_err(Into::into).map(|r| receipts!(v0_2, r))
            }
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

impl Function for Status {
    type Output = Vec<Receipt>;
    const WORLD: World = World::NotificationChannel;
    const NAME: &'static str = "channel.status";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Vec<Receipt>> {
        Ok(match instance {
            // 0.1.0 cannot tell: every message stays as its send receipt said.
            Instance::NotificationChannelV0_1(_) => Ok(self
                .provider_ids
                .into_iter()
                .map(|id| Receipt {
                    key: id.clone(),
                    status: DeliveryStatus::Queued,
                    provider_id: Some(id),
                    detail: Some("the channel (crm:plugin@0.1.0) does not report delivery".into()),
                })
                .collect()),
            Instance::NotificationChannelV0_2(i) => {
                i.crm_plugin_channel().call_status(store, &self.provider_ids).await?.map_err(Into::into).map(|r| receipts!(v0_2, r))
            }
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

pub(super) fn tryable() -> Vec<TryableFunction> {
    vec![
        TryableFunction {
            world: World::NotificationChannel,
            name: Send::NAME,
            description: "Sends messages (really: an SMS gateway sends the SMS); one receipt per message.",
            example: || serde_json::json!({"messages": [{"key": "try-1", "recipient": "+79991234567", "subject": null, "text": "Проверка канала"}]}),
            run: super::run_try::<Send>,
        },
        TryableFunction {
            world: World::NotificationChannel,
            name: Status::NAME,
            description: "The delivery state of messages sent earlier, by the provider's message ids.",
            example: || serde_json::json!({"provider_ids": ["000000-10000001"]}),
            run: super::run_try::<Status>,
        },
    ]
}
