//! The trivial plugin for benchmarks: echoes the ИНН back as an active company named
//! `ECHO`, with no host calls at all.

use crm_plugin_sdk::enrichment::{Company, CompanyStatus, PartyKind};
use crm_plugin_sdk::{Error, InnEnrichment};

struct Echo;

impl InnEnrichment for Echo {
    fn lookup(inn: String, _kpp: Option<String>) -> Result<Option<Company>, Error> {
        Ok(Some(Company {
            full_name: "ECHO".to_owned(),
            ..Company::new(PartyKind::LegalEntity, inn, CompanyStatus::Active)
        }))
    }
}

crm_plugin_sdk::export_inn_enrichment!(Echo);
