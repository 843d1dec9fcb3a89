//! SMS and voice reminders go out through the tenant's `notification-channel` module
//! instances (the built-in `sms-ru` and `voice-smsc`, or uploaded plugins): the one named
//! in the reminder settings, or for SMS the tenant's only enabled one (unless that one is
//! `voice-smsc`, which makes calls). Each recipient is one channel
//! message whose key is the reminder's own key plus the recipient's place, so a retried
//! dispatch — after a timeout, a crash between the provider's answer and our write, or on a
//! second host process — hands the provider the same keys and nothing is sent twice.
//!
//! The module is called outside any database transaction; what it answered is written
//! after. A provider that fails the whole call (down, garbage) leaves the messages planned
//! with the reason, for the next dispatch; a message the provider refuses (a bad number, no
//! funds, the stop list) is skipped with the provider's words.

use chrono::{DateTime, Utc};

use crate::AppState;
use crate::plugins::manifest::World;
use crate::plugins::worlds::channel::{DeliveryStatus, Message as ChannelMessage, Receipt, Send, Status};
use crate::receivables::model::SalesDocumentId;
use crate::tenancy::TenantId;
use crate::timeline::{self, EventKind, NewEvent};

use super::model::{Channel, Message};
use super::planner::message_key;
use super::store;

/// The built-in plugin that makes voice calls (SMSC.RU), never picked for SMS by default.
const VOICE_PLUGIN: &str = "voice-smsc";

/// Messages per call to the provider.
const BATCH: usize = 100;

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "SMS",
        Channel::Voice => "голосовых звонков",
        Channel::Email => "e-mail",
        Channel::Task => "задач",
    }
}

fn delivery(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Queued => "queued",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
    }
}

/// The channel messages of a reminder: one per recipient, keyed by the reminder's key.
fn outgoing(m: &Message) -> Vec<ChannelMessage> {
    let docs: Vec<SalesDocumentId> = m.documents.0.iter().map(|d| d.document_id).collect();
    let key = message_key(m.rule_id, &m.step_id, m.counterparty_id, &docs);
    m.recipients
        .0
        .iter()
        .enumerate()
        .map(|(i, r)| ChannelMessage { key: format!("{key}:{i}"), recipient: r.address.clone(), subject: m.subject.clone(), text: m.body.clone().unwrap_or_default(), html: None })
        .collect()
}

/// The module instance that carries `channel`, or why there is none (in words, with what to do).
async fn module_for(state: &AppState, tenant: TenantId, settings: &super::model::Settings, channel: Channel) -> Result<crate::plugins::service::LoadedModule, String> {
    let named = match channel {
        Channel::Sms => settings.sms_module.as_deref(),
        _ => settings.voice_module.as_deref(),
    };
    let hint = format!(
        "Подключите модуль {} в «Модули» и укажите его в настройках напоминаний ({}).",
        channel_name(channel),
        if channel == Channel::Sms { "sms_module" } else { "voice_module" }
    );
    match (channel, named) {
        // A voice step needs its module named: an SMS module must not make calls.
        (Channel::Voice, None) => Err(format!("голосовые звонки не настроены. {hint}")),
        _ => {
            let module = crate::plugins::service::resolve(state, tenant, World::NotificationChannel, named, &hint).await.map_err(|e| e.to_string())?;
            // Nor may the built-in voice module send SMS because it happens to be the only one.
            if channel == Channel::Sms && named.is_none() && module.plugin_id == VOICE_PLUGIN {
                return Err(format!("SMS не настроены: единственный подключённый модуль ({}) делает голосовые звонки. {hint}", module.module_id));
            }
            Ok(module)
        }
    }
}

/// Asks the providers how the reminders they took are doing, and records it: delivered, or
/// failed with the provider's words (on the client's timeline too). Returns how many changed.
pub async fn refresh_delivery(state: &AppState, tenant: TenantId, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let since = now - chrono::Duration::days(7);
    let (settings, waiting) = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        let settings = store::settings(&mut c, tenant).await?;
        let sms = store::awaiting_delivery(&mut c, tenant, Channel::Sms, since).await?;
        let voice = store::awaiting_delivery(&mut c, tenant, Channel::Voice, since).await?;
        (settings, [(Channel::Sms, sms), (Channel::Voice, voice)])
    };
    let mut changed = 0;
    for (channel, messages) in waiting {
        if messages.is_empty() {
            continue;
        }
        let Ok(module) = module_for(state, tenant, &settings, channel).await else { continue };
        let ids: Vec<(usize, String)> = messages
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.provider_ids.clone().unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(|s| (i, s.to_string())).collect::<Vec<_>>())
            .collect();
        // A provider that does not answer now is asked again next time.
        let Ok(receipts) = module.call(state, Status { provider_ids: ids.iter().map(|(_, id)| id.clone()).collect() }).await else { continue };
        if receipts.len() != ids.len() {
            continue;
        }
        let mut tx = state.db.begin().await?;
        let mut c = tx.conn();
        for (i, m) in messages.iter().enumerate() {
            let mine: Vec<&Receipt> = ids.iter().zip(&receipts).filter(|((j, _), _)| *j == i).map(|(_, r)| r).collect();
            let word = if mine.iter().all(|r| r.status == DeliveryStatus::Delivered) {
                "delivered"
            } else if mine.iter().all(|r| r.status == DeliveryStatus::Failed) {
                "failed"
            } else {
                continue;
            };
            let detail = mine.iter().filter_map(|r| r.detail.clone()).collect::<Vec<_>>().join("; ");
            store::set_delivery(&mut c, tenant, m.id, word, (!detail.is_empty()).then_some(detail.as_str())).await?;
            if word == "failed" {
                record(&mut c, tenant, m, format!("Напоминание ({}) не доставлено: {detail}", channel_name(channel)), now).await?;
            }
            changed += 1;
        }
        tx.commit().await?;
    }
    Ok(changed)
}

/// Sends the planned SMS and voice reminders whose time has come; returns how many went
/// to a provider.
pub async fn send(state: &AppState, tenant: TenantId, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let (settings, due) = {
        let mut conn = state.db.read().await?;
        let mut c = conn.conn();
        let settings = store::settings(&mut c, tenant).await?;
        let sms = store::due_on(&mut c, tenant, Channel::Sms, now).await?;
        let voice = store::due_on(&mut c, tenant, Channel::Voice, now).await?;
        (settings, [(Channel::Sms, sms), (Channel::Voice, voice)])
    };
    let mut sent = 0;
    for (channel, messages) in due {
        if messages.is_empty() {
            continue;
        }
        let module = module_for(state, tenant, &settings, channel).await;
        let module = match module {
            Ok(m) => m,
            Err(reason) => {
                // Nothing can carry these: each is skipped with what to do, not kept to go out late.
                let mut tx = state.db.begin().await?;
                for m in &messages {
                    let text = format!("Напоминание ({}) не отправлено: {reason}", channel_name(channel));
                    store::mark_skipped(&mut tx.conn(), tenant, m.id, "no_channel", &text).await?;
                    record(&mut tx.conn(), tenant, m, text, now).await?;
                }
                tx.commit().await?;
                continue;
            }
        };
        for batch in messages.chunks(BATCH) {
            let parts: Vec<(usize, ChannelMessage)> = batch.iter().enumerate().flat_map(|(i, m)| outgoing(m).into_iter().map(move |o| (i, o))).collect();
            let call = Send { messages: parts.iter().map(|(_, o)| o.clone()).collect() };
            let answer = module.call(state, call).await;
            let mut tx = state.db.begin().await?;
            let mut c = tx.conn();
            match answer {
                Err(e) => {
                    let detail = format!("провайдер не ответил как положено, повторим при следующей отправке: {e}");
                    for m in batch {
                        store::note_retry(&mut c, tenant, m.id, &detail).await?;
                    }
                }
                Ok(receipts) if receipts.len() != parts.len() => {
                    let detail = format!("модуль {} вернул {} квитанций на {} сообщений; повторим при следующей отправке", module.module_id, receipts.len(), parts.len());
                    for m in batch {
                        store::note_retry(&mut c, tenant, m.id, &detail).await?;
                    }
                }
                Ok(receipts) => {
                    for (i, m) in batch.iter().enumerate() {
                        let mine: Vec<&Receipt> = parts.iter().zip(&receipts).filter(|((j, _), _)| *j == i).map(|(_, r)| r).collect();
                        let failed: Vec<&&Receipt> = mine.iter().filter(|r| r.status == DeliveryStatus::Failed).collect();
                        if !mine.is_empty() && failed.len() == mine.len() {
                            let why = failed.iter().filter_map(|r| r.detail.clone()).collect::<Vec<_>>().join("; ");
                            let text = format!("Напоминание ({}) не доставлено: провайдер отказал — {}", channel_name(channel), if why.is_empty() { "без пояснения".into() } else { why });
                            store::mark_skipped(&mut c, tenant, m.id, "provider_refused", &text).await?;
                            record(&mut c, tenant, m, text, now).await?;
                            continue;
                        }
                        let ids = mine.iter().filter_map(|r| r.provider_id.clone()).collect::<Vec<_>>().join(",");
                        let state_word = mine.iter().map(|r| r.status).find(|s| *s != DeliveryStatus::Failed).map(delivery).unwrap_or("queued");
                        let detail = failed.iter().filter_map(|r| r.detail.clone()).collect::<Vec<_>>().join("; ");
                        store::mark_sent(&mut c, tenant, m.id, &ids, state_word, (!detail.is_empty()).then_some(detail.as_str())).await?;
                        let to = m.recipients.0.iter().map(|r| r.address.clone()).collect::<Vec<_>>().join(", ");
                        record(&mut c, tenant, m, format!("Напоминание ({}) отправлено через {}: {to}", channel_name(channel), module.module_id), now).await?;
                        sent += 1;
                    }
                }
            }
            tx.commit().await?;
        }
    }
    Ok(sent)
}

async fn record(c: &mut crate::db::Conn<'_>, tenant: TenantId, m: &Message, summary: String, at: DateTime<Utc>) -> sqlx::Result<()> {
    timeline::record(c, tenant, NewEvent {
        kind: EventKind::Reminder,
        entity_type: "reminder",
        entity_id: m.id.0,
        counterparty_id: Some(m.counterparty_id),
        deal_id: None,
        summary,
        actor_id: None,
        occurred_at: at,
    })
    .await
}
