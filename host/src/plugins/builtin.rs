//! Plugins that ship with the host, built from `plugins/` by `host/build.rs` and
//! registered for every tenant at start-up.

use super::service::Builtin;

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        manifest: include_str!("../../../plugins/inn-dadata/plugin.toml"),
        component: include_bytes!(concat!(env!("OUT_DIR"), "/inn_dadata.wasm")),
    },
    Builtin {
        manifest: include_str!("../../../plugins/accounting-1c/plugin.toml"),
        component: include_bytes!(concat!(env!("OUT_DIR"), "/accounting_1c.wasm")),
    },
    Builtin {
        manifest: include_str!("../../../plugins/sms-ru/plugin.toml"),
        component: include_bytes!(concat!(env!("OUT_DIR"), "/sms_ru.wasm")),
    },
    Builtin {
        manifest: include_str!("../../../plugins/voice-smsc/plugin.toml"),
        component: include_bytes!(concat!(env!("OUT_DIR"), "/voice_smsc.wasm")),
    },
];
