//! Builds the plugins that ship with the host (`plugins/inn-dadata`) so the binary can
//! embed them and register them at start-up.

include!("../plugins/build-support.rs");

fn main() {
    let out = build_plugins(&["inn-dadata"]);
    let dest = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("inn_dadata.wasm");
    std::fs::copy(out.join("inn_dadata.wasm"), &dest).expect("copying the built-in plugin");
    println!("cargo:rerun-if-changed=../plugins/inn-dadata/plugin.toml");
}
