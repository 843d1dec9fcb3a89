// Shared by `host/build.rs` and `tests/build.rs` (through `include!`): builds crates of
// the `plugins/` workspace as WebAssembly components and returns the directory holding
// the `.wasm` files.

fn build_plugins(packages: &[&str]) -> std::path::PathBuf {
    use std::path::PathBuf;
    use std::process::Command;

    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("repository root").to_path_buf();
    let plugins = root.join("plugins");
    for watched in ["wit", "plugins/sdk", "plugins/Cargo.toml", "plugins/Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // One target directory for every build of the guests, beside the host's.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm-plugins");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&plugins)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir);
    for p in packages {
        println!("cargo:rerun-if-changed={}", plugins.join(p).display());
        let name = std::path::Path::new(p).file_name().and_then(|n| n.to_str()).expect("package dir");
        cmd.args(["-p", name]);
    }
    // The outer build's flags and wrappers are for the host target, not for wasm.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_PRIMARY_PACKAGE"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the plugins");
    if !status.success() {
        panic!(
            "building the WebAssembly plugins failed. If the target is missing, run `rustup target add wasm32-wasip2` \
             (rust-toolchain.toml asks rustup for it)."
        );
    }
    target_dir.join("wasm32-wasip2").join("release")
}
