//! World `inn-enrichment`: company data by ИНН from a registry.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;

use super::{Function, Instance, Returned, TryableFunction, wrong_world};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::manifest::World;
use crate::plugins::runtime::PluginState;

/// Registration status of a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompanyStatus {
    Active,
    Liquidating,
    Liquidated,
    Bankrupt,
    Reorganizing,
    Unknown,
}

/// Legal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    LegalEntity,
    SoleProprietor,
}

/// Head office or branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BranchType {
    HeadOffice,
    Branch,
}

/// What the registry knows about a company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    pub kind: PartyKind,
    pub inn: String,
    pub kpp: Option<String>,
    /// ОГРН or ОГРНИП.
    pub ogrn: Option<String>,
    pub full_name: String,
    pub short_name: Option<String>,
    pub legal_address: Option<String>,
    pub head_name: Option<String>,
    pub head_post: Option<String>,
    pub status: CompanyStatus,
    pub okved: Option<String>,
    /// `YYYY-MM-DD`, as the plugin gave it (checked by the caller).
    pub registered_on: Option<String>,
    pub liquidated_on: Option<String>,
    /// Plugins built against 0.1.0 do not say.
    pub branch_type: Option<BranchType>,
}

/// `enrichment.lookup`: a company by ИНН (and КПП, to pick a branch); `None` when the
/// registry does not know it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub inn: String,
    #[serde(default)]
    pub kpp: Option<String>,
}

macro_rules! convert_company {
    ($version:ident, $c:expr, $branch:expr) => {{
        use $version::inn_enrichment::exports::crm::plugin::enrichment as e;
        let c = $c;
        Company {
            kind: match c.kind {
                e::PartyKind::LegalEntity => PartyKind::LegalEntity,
                e::PartyKind::SoleProprietor => PartyKind::SoleProprietor,
            },
            status: match c.status {
                e::CompanyStatus::Active => CompanyStatus::Active,
                e::CompanyStatus::Liquidating => CompanyStatus::Liquidating,
                e::CompanyStatus::Liquidated => CompanyStatus::Liquidated,
                e::CompanyStatus::Bankrupt => CompanyStatus::Bankrupt,
                e::CompanyStatus::Reorganizing => CompanyStatus::Reorganizing,
                e::CompanyStatus::Unknown => CompanyStatus::Unknown,
            },
            branch_type: $branch(&c),
            inn: c.inn,
            kpp: c.kpp,
            ogrn: c.ogrn,
            full_name: c.full_name,
            short_name: c.short_name,
            legal_address: c.legal_address,
            head_name: c.head_name,
            head_post: c.head_post,
            okved: c.okved,
            registered_on: c.registered_on,
            liquidated_on: c.liquidated_on,
        }
    }};
}

fn no_branch<T>(_: &T) -> Option<BranchType> {
    None
}

fn branch_v0_2(c: &v0_2::inn_enrichment::exports::crm::plugin::enrichment::Company) -> Option<BranchType> {
    use v0_2::inn_enrichment::exports::crm::plugin::enrichment::BranchType as B;
    c.branch_type.map(|b| match b {
        B::HeadOffice => BranchType::HeadOffice,
        B::Branch => BranchType::Branch,
    })
}

impl Function for Lookup {
    type Output = Option<Company>;
    const WORLD: World = World::InnEnrichment;
    const NAME: &'static str = "enrichment.lookup";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Option<Company>> {
        let (inn, kpp) = (self.inn.as_str(), self.kpp.as_deref());
        Ok(match instance {
            Instance::InnEnrichmentV0_1(i) => i
                .crm_plugin_enrichment()
                .call_lookup(store, inn, kpp)
                .await?
                .map(|c| c.map(|c| convert_company!(v0_1, c, no_branch)))
                .map_err(Into::into),
            Instance::InnEnrichmentV0_2(i) => i
                .crm_plugin_enrichment()
                .call_lookup(store, inn, kpp)
                .await?
                .map(|c| c.map(|c| convert_company!(v0_2, c, branch_v0_2)))
                .map_err(Into::into),
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

pub(super) fn tryable() -> Vec<TryableFunction> {
    vec![TryableFunction {
        world: World::InnEnrichment,
        name: Lookup::NAME,
        description: "A company by ИНН (and КПП, to pick a branch). Input: {\"inn\": \"7719402047\", \"kpp\": null}.",
        example: || serde_json::json!({"inn": "7719402047", "kpp": null}),
        run: super::run_try::<Lookup>,
    }]
}
