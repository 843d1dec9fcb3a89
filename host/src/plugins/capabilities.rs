//! Capabilities in one place: what a plugin's manifest asks for, what the tenant's admin
//! grants a module instance, and so what one call may use. One `grant_*` per capability
//! compares the two (as Zed's capability granter does); each host interface then serves
//! only its own grant, and answers `access-denied` outside it.
//!
//! | capability | the manifest asks | the admin grants | without a grant |
//! |---|---|---|---|
//! | outbound HTTP | `capabilities.http` hosts (+ `tenant_hosts`) | `grants.http_hosts`, `grants.private_hosts` | every request is `access-denied` |
//! | mail | `capabilities.mail = true` | `grants.mail.from` (the instance's sender) | `mail.send` is `access-denied` |
//! | settings and secrets | `settings` (secret ones marked) | the values, per instance | only declared keys are readable |

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::validation::FieldError;

use super::host::http::HttpLimits;
use super::manifest::{Manifest, SettingDef, valid_host};

/// What the tenant's admin allowed a module instance to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Hosts (`name` or `name:port`) the plugin may reach over HTTP.
    #[serde(default)]
    pub http_hosts: Vec<String>,
    /// Of those, hosts allowed to resolve to loopback, private or link-local addresses
    /// (an on-premises 1C server, a test fake). Everything else must be public.
    #[serde(default)]
    pub private_hosts: Vec<String>,
    /// Sending e-mail through the host's outbox, from this sender. Only for plugins whose
    /// manifest asks for mail.
    #[serde(default)]
    pub mail: Option<MailGrant>,
}

/// The sender a module instance sends e-mail as (the plugin cannot choose another).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailGrant {
    /// `From`: `addr@example.ru` or `Name <addr@example.ru>`.
    #[schema(example = "ООО «Ромашка» <debt@romashka.ru>")]
    pub from: String,
    /// `Reply-To`, when replies should go elsewhere.
    #[serde(default)]
    pub reply_to: Option<String>,
}

/// Settings and secrets a call may read: only what the manifest declares.
#[derive(Debug, Clone, Default)]
pub struct ConfigGrant {
    pub declared: Vec<SettingDef>,
    pub settings: Map<String, Value>,
    pub secrets: HashMap<String, String>,
}

/// Hosts a call may reach, and the limits on each request.
#[derive(Debug, Clone, Default)]
pub struct HttpGrant {
    pub hosts: Vec<String>,
    pub private_hosts: Vec<String>,
    pub limits: HttpLimits,
}

/// Everything one call may use.
#[derive(Debug, Clone, Default)]
pub struct Granted {
    pub config: ConfigGrant,
    /// `None`: no outbound HTTP at all.
    pub http: Option<HttpGrant>,
    /// `None`: no mail.
    pub mail: Option<MailGrant>,
}

/// The grant an admin gets without asking for one: the hosts the manifest names, no
/// private hosts, and no mail (a sender has to be chosen).
pub fn default_grants(manifest: &Manifest) -> Grants {
    Grants { http_hosts: manifest.capabilities.http.clone(), private_hosts: vec![], mail: None }
}

/// Checks what the admin grants against what the manifest asks for: a grant beyond the
/// manifest is refused, field by field.
pub fn check(manifest: &Manifest, grants: &Grants) -> Vec<FieldError> {
    let mut errors = check_http(manifest, grants);
    errors.extend(check_mail(manifest, grants));
    errors
}

fn check_http(manifest: &Manifest, grants: &Grants) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, h) in grants.http_hosts.iter().enumerate() {
        let field = format!("grants.http_hosts[{i}]");
        if !valid_host(h) {
            errors.push(FieldError::new(field, "must be a host name or host:port, without scheme or path"));
        } else if !http_asked(manifest, h) {
            errors.push(FieldError::new(field, "the plugin's manifest does not ask for this host"));
        }
    }
    for (i, h) in grants.private_hosts.iter().enumerate() {
        if !grants.http_hosts.iter().any(|g| g.eq_ignore_ascii_case(h)) {
            errors.push(FieldError::new(format!("grants.private_hosts[{i}]"), "must also be in http_hosts"));
        }
    }
    errors
}

fn check_mail(manifest: &Manifest, grants: &Grants) -> Vec<FieldError> {
    let Some(mail) = &grants.mail else { return vec![] };
    let mut errors = Vec::new();
    if !manifest.capabilities.mail {
        errors.push(FieldError::new("grants.mail", "the plugin's manifest does not ask to send mail"));
    }
    if let Err(e) = crate::mail::address::parse_mailbox(&mail.from) {
        errors.push(FieldError::new("grants.mail.from", e));
    }
    if let Some(r) = &mail.reply_to
        && let Err(e) = crate::mail::address::parse_mailbox(r)
    {
        errors.push(FieldError::new("grants.mail.reply_to", e));
    }
    errors
}

fn http_asked(manifest: &Manifest, host: &str) -> bool {
    manifest.capabilities.tenant_hosts || manifest.capabilities.http.iter().any(|r| r.eq_ignore_ascii_case(host))
}

/// What a call may use, given the manifest, the instance's grants, settings and secrets.
/// Grants stored before a manifest changed are cut back to what the manifest asks for.
pub fn grant(manifest: &Manifest, grants: &Grants, settings: &Map<String, Value>, secrets: HashMap<String, String>) -> Granted {
    Granted {
        config: grant_config(manifest, settings, secrets),
        http: grant_http(manifest, grants),
        mail: grant_mail(manifest, grants),
    }
}

/// Only declared settings; a declared setting's default when it is not set.
pub fn grant_config(manifest: &Manifest, settings: &Map<String, Value>, secrets: HashMap<String, String>) -> ConfigGrant {
    let declared = manifest.settings.clone();
    let settings = settings.iter().filter(|(k, _)| manifest.setting(k).is_some_and(|d| !d.secret)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let secrets = secrets.into_iter().filter(|(k, _)| manifest.setting(k).is_some_and(|d| d.secret)).collect();
    ConfigGrant { declared, settings, secrets }
}

/// The granted hosts the manifest asks for; `None` when there are none.
pub fn grant_http(manifest: &Manifest, grants: &Grants) -> Option<HttpGrant> {
    let hosts: Vec<String> = grants.http_hosts.iter().filter(|h| valid_host(h) && http_asked(manifest, h)).cloned().collect();
    if hosts.is_empty() {
        return None;
    }
    let private_hosts = grants.private_hosts.iter().filter(|p| hosts.iter().any(|h| h.eq_ignore_ascii_case(p))).cloned().collect();
    Some(HttpGrant { hosts, private_hosts, limits: HttpLimits::default() })
}

/// Mail when the manifest asks for it and the admin chose a sender.
pub fn grant_mail(manifest: &Manifest, grants: &Grants) -> Option<MailGrant> {
    grants.mail.clone().filter(|m| manifest.capabilities.mail && crate::mail::address::parse_mailbox(&m.from).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(http: &[&str], tenant_hosts: bool, mail: bool) -> Manifest {
        let text = format!(
            "id = \"p\"\nversion = \"1.0.0\"\nworld = \"notification-channel\"\ndescription = \"d\"\n[capabilities]\nhttp = [{}]\ntenant_hosts = {tenant_hosts}\nmail = {mail}\n\
             [[settings]]\nkey = \"a\"\nlabel = \"A\"\n[[settings]]\nkey = \"s\"\nlabel = \"S\"\nsecret = true\n",
            http.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
        );
        Manifest::parse(&text).expect("test manifest")
    }

    #[test]
    fn a_grant_beyond_the_manifest_is_refused_per_capability() {
        let m = manifest(&["sms.ru"], false, false);
        let grants = Grants {
            http_hosts: vec!["sms.ru".into(), "evil.example".into()],
            private_hosts: vec!["other".into()],
            mail: Some(MailGrant { from: "debt@romashka.ru".into(), reply_to: None }),
        };
        let fields: Vec<String> = check(&m, &grants).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["grants.http_hosts[1]", "grants.private_hosts[0]", "grants.mail"]);
        let m = manifest(&[], true, true);
        let bad_sender = Grants { mail: Some(MailGrant { from: "не адрес".into(), reply_to: None }), ..Grants::default() };
        assert_eq!(check(&m, &bad_sender).into_iter().map(|e| e.field).collect::<Vec<_>>(), vec!["grants.mail.from"]);
        assert!(check(&m, &Grants { http_hosts: vec!["1c.local:8080".into()], ..Grants::default() }).is_empty(), "tenant_hosts allows any host");
    }

    #[test]
    fn a_call_gets_only_what_both_the_manifest_and_the_grant_allow() {
        let m = manifest(&["sms.ru"], false, false);
        let grants = Grants {
            http_hosts: vec!["sms.ru".into(), "stale.example".into()],
            private_hosts: vec![],
            mail: Some(MailGrant { from: "debt@romashka.ru".into(), reply_to: None }),
        };
        let settings: Map<String, Value> = [("a".to_string(), Value::from(1)), ("s".to_string(), Value::from("x")), ("zzz".to_string(), Value::from(2))].into_iter().collect();
        let secrets: HashMap<String, String> = [("s".to_string(), "k".to_string()), ("a".to_string(), "not a secret".to_string())].into_iter().collect();
        let g = grant(&m, &grants, &settings, secrets);
        assert_eq!(g.http.map(|h| h.hosts), Some(vec!["sms.ru".to_string()]));
        assert!(g.mail.is_none(), "the manifest does not ask for mail");
        assert_eq!(g.config.settings.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(g.config.secrets.keys().collect::<Vec<_>>(), vec!["s"]);
        assert!(grant(&m, &Grants::default(), &Map::new(), HashMap::new()).http.is_none());
    }
}
