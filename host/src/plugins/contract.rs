//! The versions of the `crm:plugin` contract this host links, and how a component's
//! version and world are read from the component itself (the names of its exports,
//! `crm:plugin/enrichment@0.2.0`), never taken on trust from its manifest.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::tenancy::model::str_enum;

use super::manifest::World;

/// A published version of the `crm:plugin` WIT package. Published versions are frozen
/// (`wit/<version>/plugin.wit`); the host links all of them side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum ContractVersion {
    /// The first contract (issue 3).
    #[serde(rename = "0.1.0")]
    V0_1_0,
    /// Grantable mail with a per-instance sender, structured fee explanations, court
    /// events from the mail linker, managers and primary documents from accounting.
    #[serde(rename = "0.2.0")]
    V0_2_0,
}
str_enum!(ContractVersion { V0_1_0 => "0.1.0", V0_2_0 => "0.2.0" });

impl ContractVersion {
    /// Every version this host runs, oldest first.
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_1_0, ContractVersion::V0_2_0];
    /// The version the SDK builds against and new plugins should use.
    pub const CURRENT: ContractVersion = ContractVersion::V0_2_0;

}

/// The interface a world exports, by its WIT name.
fn world_of_export(interface: &str) -> Option<World> {
    Some(match interface {
        "enrichment" => World::InnEnrichment,
        "linker" => World::MailLinker,
        "accounting" => World::AccountingSync,
        "fees" => World::FeeRule,
        "channel" => World::NotificationChannel,
        _ => return None,
    })
}

/// Reads which world and contract version a component implements from its exports.
pub fn detect(engine: &Engine, component: &Component) -> Result<(World, ContractVersion), String> {
    let mut found = Vec::new();
    for (name, _) in component.component_type().exports(engine) {
        let Some(rest) = name.strip_prefix("crm:plugin/") else { continue };
        let Some((interface, version)) = rest.split_once('@') else {
            return Err(format!("the component exports `{name}` without a contract version"));
        };
        let Some(world) = world_of_export(interface) else { continue };
        let Ok(version) = version.parse::<ContractVersion>() else {
            let known: Vec<&str> = ContractVersion::ALL.iter().map(|v| v.as_str()).collect();
            return Err(format!(
                "the component is built against crm:plugin@{version}, which this host does not run (it runs {}); \
                 rebuild it with the SDK for crm:plugin@{}, or upgrade the host",
                known.join(", "),
                ContractVersion::CURRENT
            ));
        };
        found.push((world, version));
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err("the component exports no crm:plugin world (was it built with the CRM plugin SDK?)".into()),
        _ => Err("the component exports more than one crm:plugin world; a plugin implements exactly one".into()),
    }
}
