use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::id_type;
use crate::tenancy::UserId;
use crate::tenancy::model::str_enum;

use super::requisites;

id_type!(
    /// A counterparty.
    CounterpartyId
);

/// Legal form of a counterparty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CounterpartyKind {
    /// Организация: 10-digit ИНН, КПП, 13-digit ОГРН.
    LegalEntity,
    /// ИП: 12-digit ИНН, 15-digit ОГРНИП.
    SoleProprietor,
    /// Физическое лицо: 12-digit ИНН, if any.
    NaturalPerson,
}
str_enum!(CounterpartyKind { LegalEntity => "legal_entity", SoleProprietor => "sole_proprietor", NaturalPerson => "natural_person" });

/// A counterparty as stored.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Counterparty {
    pub id: CounterpartyId,
    pub kind: CounterpartyKind,
    /// ИНН, kept as a string (leading zeros are legal).
    pub inn: Option<String>,
    pub kpp: Option<String>,
    /// ОГРН or ОГРНИП.
    pub ogrn: Option<String>,
    pub full_name: String,
    pub short_name: Option<String>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub bank_name: Option<String>,
    pub bank_bic: Option<String>,
    pub bank_account: Option<String>,
    pub bank_corr_account: Option<String>,
    pub segment: Option<String>,
    pub responsible_id: Option<UserId>,
    /// Individual payment deferral, in days.
    pub payment_deferral_days: i32,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    /// Registry status from the last enrichment: active, liquidating, liquidated,
    /// bankrupt, reorganizing or unknown.
    pub registry_status: Option<String>,
    /// Head (director) per the registry.
    pub head_name: Option<String>,
    pub head_post: Option<String>,
    /// Main ОКВЭД code per the registry.
    pub okved: Option<String>,
    pub registered_on: Option<NaiveDate>,
    pub liquidated_on: Option<NaiveDate>,
    /// When the registry was last asked.
    pub registry_checked_at: Option<DateTime<Utc>>,
    /// Requisites a person set by hand; a registry refresh keeps them unless asked to overwrite.
    #[schema(value_type = Vec<String>)]
    pub manual_fields: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A counterparty as sent to create it, or as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterpartyInput {
    pub kind: CounterpartyKind,
    #[schema(example = "7719402047")]
    pub inn: Option<String>,
    #[schema(example = "773101001")]
    pub kpp: Option<String>,
    #[schema(example = "1157746078984")]
    pub ogrn: Option<String>,
    #[schema(example = "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МОТОРИКА\"")]
    pub full_name: String,
    #[schema(example = "ООО \"МОТОРИКА\"")]
    pub short_name: Option<String>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub bank_name: Option<String>,
    pub bank_bic: Option<String>,
    pub bank_account: Option<String>,
    pub bank_corr_account: Option<String>,
    pub segment: Option<String>,
    pub responsible_id: Option<UserId>,
    #[serde(default)]
    pub payment_deferral_days: i32,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn clean(s: &mut Option<String>) {
    if let Some(v) = s {
        let t = v.trim();
        if t.is_empty() {
            *s = None;
        } else if t.len() != v.len() {
            *v = t.to_string();
        }
    }
}

impl CounterpartyInput {
    /// Trims text, drops empty strings, dedups tags, then checks every rule; all
    /// problems are reported at once.
    pub fn normalize_and_validate(&mut self) -> Result<(), Invalid> {
        for f in [
            &mut self.inn, &mut self.kpp, &mut self.ogrn, &mut self.short_name, &mut self.legal_address,
            &mut self.postal_address, &mut self.bank_name, &mut self.bank_bic, &mut self.bank_account,
            &mut self.bank_corr_account, &mut self.segment,
        ] {
            clean(f);
        }
        self.full_name = self.full_name.trim().to_string();
        let mut tags: Vec<String> = Vec::new();
        for t in self.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        }
        self.tags = tags;

        let mut v = Violations::new();
        v.check(!self.full_name.is_empty(), "full_name", "must not be empty");
        v.check(self.full_name.chars().count() <= 1000, "full_name", "must be at most 1000 characters");
        if let Some(inn) = &self.inn {
            match requisites::check_inn(inn) {
                Err(e) => v.add("inn", format!("ИНН {e}")),
                Ok(()) => {
                    let want = if self.kind == CounterpartyKind::LegalEntity { 10 } else { 12 };
                    if inn.len() != want {
                        v.add("inn", format!("{} has a {want}-digit ИНН", self.kind_label()));
                    }
                }
            }
        }
        if let Some(kpp) = &self.kpp {
            if self.kind != CounterpartyKind::LegalEntity {
                v.add("kpp", "only an organisation has a КПП");
            } else if let Err(e) = requisites::check_kpp(kpp) {
                v.add("kpp", format!("КПП {e}"));
            }
        }
        if let Some(ogrn) = &self.ogrn {
            match (self.kind, requisites::check_ogrn(ogrn)) {
                (_, Err(e)) => v.add("ogrn", e),
                (CounterpartyKind::LegalEntity, Ok(())) if ogrn.len() != 13 => v.add("ogrn", "an organisation has a 13-digit ОГРН (a 15-digit ОГРНИП is a sole proprietor's)"),
                (CounterpartyKind::SoleProprietor, Ok(())) if ogrn.len() != 15 => v.add("ogrn", "a sole proprietor has a 15-digit ОГРНИП"),
                (CounterpartyKind::NaturalPerson, Ok(())) => v.add("ogrn", "a natural person has no ОГРН"),
                _ => {}
            }
        }
        validate_bank(&mut v, &self.bank_bic, &self.bank_account, &self.bank_corr_account);
        v.check((0..=3650).contains(&self.payment_deferral_days), "payment_deferral_days", "must be between 0 and 3650 days");
        v.check(self.tags.iter().all(|t| t.chars().count() <= 64), "tags", "each tag must be at most 64 characters");
        v.check(self.tags.len() <= 50, "tags", "at most 50 tags");
        v.finish()
    }

    fn kind_label(&self) -> &'static str {
        match self.kind {
            CounterpartyKind::LegalEntity => "an organisation",
            CounterpartyKind::SoleProprietor => "a sole proprietor",
            CounterpartyKind::NaturalPerson => "a natural person",
        }
    }
}

/// BIC, settlement and correspondent accounts, with the control keys checked.
pub fn validate_bank(v: &mut Violations, bic: &Option<String>, account: &Option<String>, corr: &Option<String>) {
    let bic_ok = match bic {
        Some(b) => match requisites::check_bic(b) {
            Ok(()) => true,
            Err(e) => {
                v.add("bank_bic", format!("БИК {e}"));
                false
            }
        },
        None => false,
    };
    for (field, value, corr_acc) in [("bank_account", account, false), ("bank_corr_account", corr, true)] {
        if let Some(acc) = value {
            if !bic_ok {
                if bic.is_none() {
                    v.add(field, "give the bank's БИК (bank_bic) with the account");
                }
                continue;
            }
            let b = bic.as_deref().unwrap_or_default();
            let res = if corr_acc { requisites::check_corr_account(acc, b) } else { requisites::check_account(acc, b) };
            if let Err(e) = res {
                v.add(field, format!("account {e}"));
            }
        }
    }
}

impl From<&Counterparty> for CounterpartyInput {
    fn from(c: &Counterparty) -> Self {
        CounterpartyInput {
            kind: c.kind,
            inn: c.inn.clone(),
            kpp: c.kpp.clone(),
            ogrn: c.ogrn.clone(),
            full_name: c.full_name.clone(),
            short_name: c.short_name.clone(),
            legal_address: c.legal_address.clone(),
            postal_address: c.postal_address.clone(),
            bank_name: c.bank_name.clone(),
            bank_bic: c.bank_bic.clone(),
            bank_account: c.bank_account.clone(),
            bank_corr_account: c.bank_corr_account.clone(),
            segment: c.segment.clone(),
            responsible_id: c.responsible_id,
            payment_deferral_days: c.payment_deferral_days,
            tags: c.tags.0.clone(),
        }
    }
}

/// The client card: the counterparty with its contacts and open deals.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterpartyCard {
    #[serde(flatten)]
    pub counterparty: Counterparty,
    pub contacts: Vec<crate::contacts::model::Contact>,
    /// Deals of this counterparty at an open (not won or lost) stage.
    pub open_deals_count: i64,
    /// Set when the registry says the company is being or has been wound up: the pages
    /// show it in red.
    pub registry_warning: Option<String>,
    /// What the client owes today; `debt.severity` other than `none` (and `debt.warning`)
    /// is shown in red.
    pub debt: crate::receivables::model::DebtSummary,
    /// The payer rating (1–5 stars), once the client has a payment history; the inputs
    /// are at `GET /counterparties/{id}/rating`.
    pub payer_rating: Option<crate::receivables::model::RatingBrief>,
}

/// What the registry says that managers must not miss.
pub fn registry_warning(c: &Counterparty) -> Option<String> {
    let when = c.liquidated_on.map(|d| format!(" {}", d.format("%d.%m.%Y"))).unwrap_or_default();
    match c.registry_status.as_deref()? {
        "liquidated" => Some(format!("Компания ликвидирована{when} по данным реестра")),
        "liquidating" => Some("Компания в процессе ликвидации по данным реестра".into()),
        "bankrupt" => Some("Компания признана банкротом по данным реестра".into()),
        "reorganizing" => Some("Компания в процессе реорганизации по данным реестра".into()),
        _ => None,
    }
}

/// The name people use for a client: its short name when it has one, else the full name
/// with the legal form abbreviated («ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "МАГИСТРАЛЬ"» →
/// «ООО "МАГИСТРАЛЬ"»), as lists and cards show it.
pub fn display_name(full_name: &str, short_name: Option<&str>) -> String {
    if let Some(s) = short_name.map(str::trim).filter(|s| !s.is_empty()) {
        return s.to_owned();
    }
    const FORMS: &[(&str, &str)] = &[
        ("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ", "ООО"),
        ("НЕПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО", "АО"),
        ("ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО", "ПАО"),
        ("ЗАКРЫТОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО", "ЗАО"),
        ("ОТКРЫТОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО", "ОАО"),
        ("АКЦИОНЕРНОЕ ОБЩЕСТВО", "АО"),
        ("ИНДИВИДУАЛЬНЫЙ ПРЕДПРИНИМАТЕЛЬ", "ИП"),
    ];
    let full = full_name.trim();
    let upper = full.to_uppercase();
    for (long, short) in FORMS {
        if upper.starts_with(long) {
            // The rest as written (its own case), from the same character on.
            let cut = full.char_indices().nth(long.chars().count()).map_or(full.len(), |(i, _)| i);
            return format!("{short} {}", full[cut..].trim_start());
        }
    }
    full.to_owned()
}

#[cfg(test)]
mod display_name_tests {
    use super::display_name;

    #[test]
    fn the_legal_form_is_abbreviated_unless_there_is_a_short_name() {
        assert_eq!(display_name("ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ \"МАГИСТРАЛЬ-СТРОЙ\"", None), "ООО \"МАГИСТРАЛЬ-СТРОЙ\"");
        assert_eq!(display_name("Индивидуальный предприниматель Волков Дмитрий Игоревич", None), "ИП Волков Дмитрий Игоревич");
        assert_eq!(display_name("АКЦИОНЕРНОЕ ОБЩЕСТВО \"ЭНЕРГОКОМПЛЕКТ\"", Some(" ")), "АО \"ЭНЕРГОКОМПЛЕКТ\"");
        assert_eq!(display_name("Что угодно", Some("ООО «Моторика»")), "ООО «Моторика»");
        assert_eq!(display_name("Альфа", None), "Альфа");
    }
}
