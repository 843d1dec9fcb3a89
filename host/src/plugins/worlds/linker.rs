//! World `mail-linker`: which arbitration cases an incoming e-mail (a court notification)
//! is about, so the host can put it on the claims case with that kad.arbitr number.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;

use super::{Function, Instance, Returned, TryableFunction, wrong_world};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::manifest::World;
use crate::plugins::runtime::PluginState;

/// An incoming e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub message_id: String,
    pub from: String,
    #[serde(default)]
    pub to: Vec<String>,
    pub subject: String,
    /// RFC 3339.
    pub received_at: String,
    pub text_body: String,
    #[serde(default)]
    pub html_body: Option<String>,
    /// File names of its attachments.
    #[serde(default)]
    pub attachment_names: Vec<String>,
}

/// What a court notification says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CourtEvent {
    ClaimAccepted,
    ClaimLeftWithoutMotion,
    ClaimReturned,
    HearingScheduled,
    JudgmentIssued,
    AppealFiled,
    WritIssued,
    Other,
}

/// One case an e-mail mentions. Plugins built against 0.1.0 give only the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseMention {
    /// Normalised: `А40-12345/2024`.
    pub number: String,
    pub court: Option<String>,
    pub event: Option<CourtEvent>,
    /// `YYYY-MM-DD`.
    pub event_date: Option<String>,
}

/// `linker.find-cases`: for each e-mail, in order, the cases it mentions.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindCases {
    pub emails: Vec<Email>,
}

impl Function for FindCases {
    type Output = Vec<Vec<CaseMention>>;
    const WORLD: World = World::MailLinker;
    const NAME: &'static str = "linker.find-cases";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Vec<Vec<CaseMention>>> {
        Ok(match instance {
            Instance::MailLinkerV0_1(i) => {
                use v0_1::mail_linker::exports::crm::plugin::linker as l;
                let emails: Vec<l::Email> = self
                    .emails
                    .into_iter()
                    .map(|e| l::Email {
                        message_id: e.message_id,
                        from: e.from,
                        to: e.to,
                        subject: e.subject,
                        received_at: e.received_at,
                        text_body: e.text_body,
                        html_body: e.html_body,
                    })
                    .collect();
                i.crm_plugin_linker().call_case_numbers(store, &emails).await?.map_err(Into::into).map(|per_email| {
                    per_email
                        .into_iter()
                        .map(|numbers| numbers.into_iter().map(|number| CaseMention { number, court: None, event: None, event_date: None }).collect())
                        .collect()
                })
            }
            Instance::MailLinkerV0_2(i) => {
                use v0_2::mail_linker::exports::crm::plugin::linker as l;
                let emails: Vec<l::Email> = self
                    .emails
                    .into_iter()
                    .map(|e| l::Email {
                        message_id: e.message_id,
                        from: e.from,
                        to: e.to,
                        subject: e.subject,
                        received_at: e.received_at,
                        text_body: e.text_body,
                        html_body: e.html_body,
                        attachment_names: e.attachment_names,
                    })
                    .collect();
                i.crm_plugin_linker().call_find_cases(store, &emails).await?.map_err(Into::into).map(|per_email| {
                    per_email
                        .into_iter()
                        .map(|mentions| {
                            mentions
                                .into_iter()
                                .map(|m| CaseMention {
                                    number: m.number,
                                    court: m.court,
                                    event: m.event.map(|e| match e {
                                        l::CourtEvent::ClaimAccepted => CourtEvent::ClaimAccepted,
                                        l::CourtEvent::ClaimLeftWithoutMotion => CourtEvent::ClaimLeftWithoutMotion,
                                        l::CourtEvent::ClaimReturned => CourtEvent::ClaimReturned,
                                        l::CourtEvent::HearingScheduled => CourtEvent::HearingScheduled,
                                        l::CourtEvent::JudgmentIssued => CourtEvent::JudgmentIssued,
                                        l::CourtEvent::AppealFiled => CourtEvent::AppealFiled,
                                        l::CourtEvent::WritIssued => CourtEvent::WritIssued,
                                        l::CourtEvent::Other => CourtEvent::Other,
                                    }),
                                    event_date: m.event_date,
                                })
                                .collect()
                        })
                        .collect()
                })
            }
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

pub(super) fn tryable() -> Vec<TryableFunction> {
    vec![TryableFunction {
        world: World::MailLinker,
        name: FindCases::NAME,
        description: "For each e-mail, the arbitration cases it mentions (number, court, event).",
        example: || {
            serde_json::json!({"emails": [{
                "message_id": "<1@kad.arbitr.ru>",
                "from": "noreply@kad.arbitr.ru",
                "to": ["legal@example.ru"],
                "subject": "Дело № А40-12345/2024: назначено судебное заседание",
                "received_at": "2026-11-30T09:15:00+03:00",
                "text_body": "Арбитражный суд города Москвы назначил судебное заседание по делу А40-12345/2024 на 15.12.2026.",
                "html_body": null,
                "attachment_names": []
            }]})
        },
        run: super::run_try::<FindCases>,
    }]
}
