use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::counterparties::CounterpartyId;
use crate::id_type;
use crate::tenancy::model::str_enum;

id_type!(
    /// A contact person.
    ContactId
);
id_type!(
    /// A relationship between counterparties and/or contacts.
    RelationshipId
);

/// A person: at a counterparty (or on their own), with phones and e-mails.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Contact {
    pub id: ContactId,
    pub counterparty_id: Option<CounterpartyId>,
    pub full_name: String,
    pub position: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub phones: Json<Vec<String>>,
    #[schema(value_type = Vec<String>)]
    pub emails: Json<Vec<String>>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A contact as sent to create it, or as a PATCH merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub counterparty_id: Option<CounterpartyId>,
    #[schema(example = "Чех Илья Игоревич")]
    pub full_name: String,
    #[schema(example = "Генеральный директор")]
    pub position: Option<String>,
    #[serde(default)]
    #[schema(example = json!(["+7 911 241-03-09"]))]
    pub phones: Vec<String>,
    #[serde(default)]
    #[schema(example = json!(["info@motorica.org"]))]
    pub emails: Vec<String>,
    pub note: Option<String>,
}

impl ContactInput {
    pub fn normalize_and_validate(&mut self) -> Result<(), Invalid> {
        self.full_name = self.full_name.trim().to_string();
        let mut v = Violations::new();
        v.check(!self.full_name.is_empty(), "full_name", "must not be empty");
        self.phones = self.phones.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
        self.emails = self.emails.iter().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).collect();
        for (i, p) in self.phones.iter().enumerate() {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            let allowed = p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
            v.check(allowed && (5..=15).contains(&digits), &format!("phones[{i}]"), "is not a phone number (5–15 digits; + - ( ) and spaces allowed)");
        }
        for (i, e) in self.emails.iter().enumerate() {
            let ok = matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@')) && !e.contains(' ');
            v.check(ok, &format!("emails[{i}]"), "is not an e-mail address");
        }
        v.finish()
    }
}

impl From<&Contact> for ContactInput {
    fn from(c: &Contact) -> Self {
        ContactInput {
            counterparty_id: c.counterparty_id,
            full_name: c.full_name.clone(),
            position: c.position.clone(),
            phones: c.phones.0.clone(),
            emails: c.emails.0.clone(),
            note: c.note.clone(),
        }
    }
}

/// How two parties are related.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipKind {
    /// `from` is part of the holding headed by `to` (or owns it).
    Holding,
    /// `from` (a person) works at `to` (a company).
    EmployeeOf,
    /// Related parties (common owners, guarantors, …).
    Related,
    /// Kinship between people.
    Kin,
}
str_enum!(RelationshipKind { Holding => "holding", EmployeeOf => "employee_of", Related => "related", Kin => "kin" });

/// One side of a relationship: a counterparty or a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Party {
    Counterparty(CounterpartyId),
    Contact(ContactId),
}

/// A relationship between counterparties and/or people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Relationship {
    pub id: RelationshipId,
    pub kind: RelationshipKind,
    pub from: Party,
    pub to: Party,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A relationship as sent to create it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipInput {
    pub kind: RelationshipKind,
    pub from: Party,
    pub to: Party,
    pub note: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct RelationshipRow {
    pub id: RelationshipId,
    pub kind: RelationshipKind,
    pub from_counterparty_id: Option<CounterpartyId>,
    pub from_contact_id: Option<ContactId>,
    pub to_counterparty_id: Option<CounterpartyId>,
    pub to_contact_id: Option<ContactId>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

fn party(cp: Option<CounterpartyId>, ct: Option<ContactId>) -> Option<Party> {
    match (cp, ct) {
        (Some(id), None) => Some(Party::Counterparty(id)),
        (None, Some(id)) => Some(Party::Contact(id)),
        _ => None,
    }
}

impl TryFrom<RelationshipRow> for Relationship {
    type Error = sqlx::Error;
    fn try_from(r: RelationshipRow) -> Result<Self, sqlx::Error> {
        let bad = || sqlx::Error::Decode("relationship row has no single party on a side".into());
        Ok(Relationship {
            id: r.id,
            kind: r.kind,
            from: party(r.from_counterparty_id, r.from_contact_id).ok_or_else(bad)?,
            to: party(r.to_counterparty_id, r.to_contact_id).ok_or_else(bad)?,
            note: r.note,
            created_at: r.created_at,
            updated_at: r.updated_at,
            archived_at: r.archived_at,
        })
    }
}
