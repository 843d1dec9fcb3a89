//! Host-side bindings generated from `wit/plugin.wit`: the host interfaces once (world
//! `plugin-host`), and each plugin world reusing them.

wasmtime::component::bindgen!({
    world: "plugin-host",
    path: "../wit",
    imports: { default: async },
});

macro_rules! world_bindings {
    ($module:ident, $world:literal, [$($name:literal => $iface:ident),*]) => {
        #[allow(missing_docs)]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                imports: { default: async },
                exports: { default: async },
                with: {
                    "crm:plugin/types": super::crm::plugin::types,
                    $($name: super::crm::plugin::$iface,)*
                },
            });
        }
    };
}

world_bindings!(inn_enrichment, "inn-enrichment", [
    "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
]);
world_bindings!(mail_linker, "mail-linker", [
    "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
]);
world_bindings!(accounting_sync, "accounting-sync", [
    "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
]);
world_bindings!(fee_rule, "fee-rule", [
    "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
]);
world_bindings!(notification_channel, "notification-channel", [
    "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock,
    "crm:plugin/mail" => mail
]);

pub use crm::plugin::types::Error as WitError;
pub use inn_enrichment::exports::crm::plugin::enrichment::{Company, CompanyStatus, PartyKind};
pub use accounting_sync::exports::crm::plugin::accounting::{
    Allocation as AccountingAllocation, Contract as AccountingContract, Counterparty as AccountingCounterparty, EntityKind,
    Entry as AccountingEntry, Page as AccountingPage, Payment as AccountingPayment, Rejected as AccountingRejected,
    SalesDocument as AccountingSalesDocument,
};
