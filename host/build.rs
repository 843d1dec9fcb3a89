//! Builds the plugins that ship with the host (`plugins/inn-dadata`,
//! `plugins/accounting-1c`) so the binary can embed them and register them at start-up.

include!("../plugins/build-support.rs");

fn main() {
    let out = build_plugins(&["inn-dadata", "accounting-1c"]);
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for (crate_dir, file) in [("inn-dadata", "inn_dadata.wasm"), ("accounting-1c", "accounting_1c.wasm")] {
        std::fs::copy(out.join(file), dest.join(file)).expect("copying a built-in plugin");
        println!("cargo:rerun-if-changed=../plugins/{crate_dir}/plugin.toml");
    }
}
