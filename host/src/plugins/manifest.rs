//! A plugin package's manifest (`plugin.toml`): what it is, which world it implements,
//! what it asks to be allowed to do, and the settings a tenant's admin fills in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{Invalid, Violations};
use crate::tenancy::model::str_enum;

/// The WIT world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    InnEnrichment,
    MailLinker,
    AccountingSync,
    FeeRule,
    NotificationChannel,
}
str_enum!(World {
    InnEnrichment => "inn-enrichment",
    MailLinker => "mail-linker",
    AccountingSync => "accounting-sync",
    FeeRule => "fee-rule",
    NotificationChannel => "notification-channel",
});

/// What a plugin asks to be allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Hosts (`name` or `name:port`) the plugin asks to reach over HTTP.
    #[serde(default)]
    pub http: Vec<String>,
    /// The admin may grant hosts beyond `http` (e.g. the tenant's own 1C server).
    #[serde(default)]
    pub tenant_hosts: bool,
    /// The plugin sends e-mail (`mail.send`); the admin grants it with a sender per
    /// module instance.
    #[serde(default)]
    pub mail: bool,
}

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    #[default]
    String,
    Integer,
    Boolean,
}

/// One setting the tenant's admin fills in when enabling the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingDef {
    pub key: String,
    pub label: String,
    #[serde(rename = "type", default)]
    pub kind: SettingType,
    /// Secret settings are encrypted at rest, never returned by the API, and readable
    /// by the plugin only through `config.get-secret`.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub required: bool,
    /// Any JSON value (a string, a number, a boolean…), of the setting's type.
    pub default: Option<serde_json::Value>,
}

/// A plugin's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `a-z`, `0-9` and `-`; unique within a tenant.
    #[schema(example = "inn-dadata")]
    pub id: String,
    /// `MAJOR.MINOR.PATCH`.
    #[schema(example = "0.1.0")]
    pub version: String,
    pub world: World,
    pub description: String,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub settings: Vec<SettingDef>,
}

impl Manifest {
    /// Parses and checks a `plugin.toml`.
    pub fn parse(text: &str) -> Result<Manifest, Invalid> {
        let m: Manifest = toml::from_str(text).map_err(|e| {
            let span = e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
            Invalid::field("manifest", format!("is not a valid plugin.toml: {}{span}", e.message()))
        })?;
        m.validate()?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut v = Violations::new();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.id.starts_with('-');
        v.check(id_ok, "manifest.id", "must be 1–64 characters of a-z, 0-9 and -");
        let parts: Vec<&str> = self.version.split('.').collect();
        let version_ok = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        v.check(version_ok, "manifest.version", "must be MAJOR.MINOR.PATCH, e.g. 0.1.0");
        v.check(!self.description.trim().is_empty(), "manifest.description", "must not be empty");
        for (i, h) in self.capabilities.http.iter().enumerate() {
            v.check(valid_host(h), &format!("manifest.capabilities.http[{i}]"), "must be a host name or host:port, without scheme or path");
        }
        for (i, s) in self.settings.iter().enumerate() {
            let key_ok = !s.key.is_empty() && s.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            v.check(key_ok, &format!("manifest.settings[{i}].key"), "must be snake_case");
            v.check(!self.settings[..i].iter().any(|o| o.key == s.key), &format!("manifest.settings[{i}].key"), "is declared twice");
            if let Some(d) = &s.default {
                v.check(s.kind.accepts(d), &format!("manifest.settings[{i}].default"), "does not match the setting's type");
                v.check(!s.secret, &format!("manifest.settings[{i}].default"), "a secret cannot have a default");
            }
        }
        v.finish()
    }

    pub fn setting(&self, key: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.key == key)
    }
}

impl SettingType {
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        match self {
            SettingType::String => v.is_string(),
            SettingType::Integer => v.is_i64(),
            SettingType::Boolean => v.is_boolean(),
        }
    }
}

/// `name` or `name:port`, lower-case, no scheme, path or user info.
pub fn valid_host(h: &str) -> bool {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_names_its_problems() {
        let err = Manifest::parse("id = \"Bad_Id\"\nversion = \"1\"\nworld = \"inn-enrichment\"\ndescription = \"x\"\n[capabilities]\nhttp = [\"https://x.ru/\"]")
            .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["manifest.id", "manifest.version", "manifest.capabilities.http[0]"]);
        let err = Manifest::parse("id = \"x\"\nworld = \"teleport\"").unwrap_err();
        assert_eq!(err.0[0].field, "manifest");
    }
}
