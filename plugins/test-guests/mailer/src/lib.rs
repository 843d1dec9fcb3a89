//! A notification channel (test guest) that delivers each message as an e-mail through
//! the host's outbox: the recipient is an address, the message key the idempotency key,
//! so a retried batch queues nothing twice. Without a mail grant every message fails
//! with the host's `access-denied`.

use crm_plugin_sdk::channel::{DeliveryStatus, Message, Receipt};
use crm_plugin_sdk::mail::{self, Email};
use crm_plugin_sdk::{Error, NotificationChannel};

struct Mailer;

impl NotificationChannel for Mailer {
    fn send(messages: Vec<Message>) -> Result<Vec<Receipt>, Error> {
        let mut receipts = Vec::with_capacity(messages.len());
        for m in messages {
            let mut email = Email::text(m.recipient, m.subject.unwrap_or_else(|| "Уведомление".into()), m.text);
            email.html = m.html;
            email.idempotency_key = Some(m.key.clone());
            let id = mail::send(&email)?;
            receipts.push(Receipt { key: m.key, status: DeliveryStatus::Queued, provider_id: Some(id), detail: None });
        }
        Ok(receipts)
    }
}

crm_plugin_sdk::export_notification_channel!(Mailer);
