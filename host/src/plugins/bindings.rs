//! Host-side bindings generated from each published contract version, side by side:
//! `v0_1` from the frozen `wit/0.1.0`, `v0_2` from `wit/0.2.0`. In each, the host
//! interfaces come once (world `plugin-host`) and every plugin world reuses them.
//! Nothing outside `plugins::host` and `plugins::worlds` sees these types: domain code
//! works on the version-neutral types of `plugins::worlds`, converted at the boundary.

macro_rules! world_bindings {
    ($module:ident, $world:literal, $path:literal, [$($name:literal => $iface:ident),*]) => {
        #[allow(missing_docs)]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: $path,
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

/// `crm:plugin@0.1.0`, frozen.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        world: "plugin-host",
        path: "../wit/0.1.0",
        imports: { default: async },
    });

    world_bindings!(inn_enrichment, "inn-enrichment", "../wit/0.1.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
    ]);
    world_bindings!(mail_linker, "mail-linker", "../wit/0.1.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
    ]);
    world_bindings!(accounting_sync, "accounting-sync", "../wit/0.1.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
    ]);
    world_bindings!(fee_rule, "fee-rule", "../wit/0.1.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
    ]);
    world_bindings!(notification_channel, "notification-channel", "../wit/0.1.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock,
        "crm:plugin/mail" => mail
    ]);
}

/// `crm:plugin@0.2.0`, the current contract.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        world: "plugin-host",
        path: "../wit/0.2.0",
        imports: { default: async },
    });

    world_bindings!(inn_enrichment, "inn-enrichment", "../wit/0.2.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
    ]);
    world_bindings!(mail_linker, "mail-linker", "../wit/0.2.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
    ]);
    world_bindings!(accounting_sync, "accounting-sync", "../wit/0.2.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock
    ]);
    world_bindings!(fee_rule, "fee-rule", "../wit/0.2.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/clock" => clock
    ]);
    world_bindings!(notification_channel, "notification-channel", "../wit/0.2.0", [
        "crm:plugin/log" => log, "crm:plugin/config" => config, "crm:plugin/http" => http, "crm:plugin/clock" => clock,
        "crm:plugin/mail" => mail
    ]);
}
