//! Builds the plugins that ship with the host (`plugins/inn-dadata`,
//! `plugins/accounting-1c`, `plugins/sms-ru`, `plugins/voice-smsc`) so the binary can embed them and register
//! them at start-up.

include!("../plugins/build-support.rs");

fn main() {
    const BUILTINS: [(&str, &str); 4] =
        [("inn-dadata", "inn_dadata.wasm"), ("accounting-1c", "accounting_1c.wasm"), ("sms-ru", "sms_ru.wasm"), ("voice-smsc", "voice_smsc.wasm")];
    let out = build_plugins(&BUILTINS.map(|(dir, _)| dir));
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for (crate_dir, file) in BUILTINS {
        std::fs::copy(out.join(file), dest.join(file)).expect("copying a built-in plugin");
        println!("cargo:rerun-if-changed=../plugins/{crate_dir}/plugin.toml");
    }
}
