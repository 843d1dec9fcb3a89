//! `crm:plugin/mail`: e-mail into the host's outbox, from the sender the tenant's admin
//! granted this module instance (`grants.mail.from`); the plugin cannot choose another.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use super::PluginState;
use crate::mail::outbox::{self, Attachment, OutgoingEmail, QueueError};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::runtime::CallContext;
use crate::plugins::worlds::PluginError;

/// The mail interface's part of a store.
pub struct MailCtx {
    call: Arc<CallContext>,
}

/// An e-mail as a plugin hands it over, before the host adds the sender.
pub struct PluginEmail {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub idempotency_key: Option<String>,
}

impl MailCtx {
    pub fn new(call: Arc<CallContext>) -> MailCtx {
        MailCtx { call }
    }

    async fn send(&self, email: PluginEmail) -> Result<String, PluginError> {
        let call = &self.call;
        let grant = call.granted.mail.as_ref().ok_or_else(|| {
            PluginError::AccessDenied(format!(
                "sending mail is not granted to module `{}`: an admin sets its sender in grants.mail.from (and the manifest must ask for mail)",
                call.module_id
            ))
        })?;
        let db = call.outbox.as_ref().ok_or_else(|| PluginError::Unavailable("this host has no outbox for mail".into()))?;
        let mail = OutgoingEmail {
            source: format!("module:{}", call.module_id),
            idempotency_key: email.idempotency_key,
            from: grant.from.clone(),
            reply_to: email.reply_to.or_else(|| grant.reply_to.clone()),
            to: email.to,
            cc: email.cc,
            subject: email.subject,
            text: email.text,
            html: email.html,
            attachments: email.attachments,
        };
        match outbox::queue(db, call.tenant, &mail).await {
            Ok(id) => Ok(id.to_string()),
            Err(QueueError::Invalid(invalid)) => Err(PluginError::InvalidInput(invalid.to_string())),
            Err(QueueError::Db(e)) => {
                tracing::error!(error = %e, module = %call.module_id, "queueing a plugin's mail failed");
                Err(PluginError::Unavailable("the outbox is not available right now; try again".into()))
            }
        }
    }
}

impl v0_1::crm::plugin::mail::Host for MailCtx {
    async fn send(&mut self, m: v0_1::crm::plugin::mail::Email) -> Result<String, v0_1::crm::plugin::types::Error> {
        let email = PluginEmail { to: m.to, cc: vec![], reply_to: None, subject: m.subject, text: m.text, html: m.html, attachments: vec![], idempotency_key: None };
        MailCtx::send(self, email).await.map_err(Into::into)
    }
}

impl v0_2::crm::plugin::mail::Host for MailCtx {
    async fn send(&mut self, m: v0_2::crm::plugin::mail::Email) -> Result<String, v0_2::crm::plugin::types::Error> {
        let email = PluginEmail {
            to: m.to,
            cc: m.cc,
            reply_to: m.reply_to,
            subject: m.subject,
            text: m.text,
            html: m.html,
            attachments: m.attachments.into_iter().map(|a| Attachment { filename: a.filename, content_type: a.content_type, content: a.content, content_id: None }).collect(),
            idempotency_key: m.idempotency_key,
        };
        MailCtx::send(self, email).await.map_err(Into::into)
    }
}

struct Mail;
impl HasData for Mail {
    type Data<'a> = &'a mut MailCtx;
}

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1::crm::plugin::mail::add_to_linker::<_, Mail>(linker, |s| &mut s.mail)?;
    v0_2::crm::plugin::mail::add_to_linker::<_, Mail>(linker, |s| &mut s.mail)
}
