// Shared by `host/build.rs` and `tests/build.rs` (through `include!`): builds crates of
// the `plugins/` workspace as WebAssembly components and returns the directory holding
// the `.wasm` files.
//
// The guests need the toolchain's `wasm32-wasip2` standard library. `rust-toolchain.toml`
// asks rustup for it, but rustup adds listed targets only when it installs the toolchain,
// so a machine that already had 1.95.0 lacks it. The build then adds it once through
// rustup (as Zed's extension builder does) and says so, so that `cargo run` and
// `cargo test --workspace` work on a fresh machine exactly as the README writes them.

fn build_plugins(packages: &[&str]) -> std::path::PathBuf {
    use std::path::PathBuf;
    use std::process::Command;

    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("repository root").to_path_buf();
    let plugins = root.join("plugins");
    for watched in ["wit", "plugins/sdk", "plugins/Cargo.toml", "plugins/Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // One target directory for every build of the guests, beside the host's. A target
    // directory shared by several checkouts (CARGO_TARGET_DIR) keeps one per checkout, so
    // that one checkout's guests never stand in for another's.
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(shared) if shared != root.join("target") => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            root.hash(&mut h);
            shared.join(format!("wasm-plugins-{:08x}", h.finish() as u32))
        }
        _ => root.join("target").join("wasm-plugins"),
    };
    std::fs::create_dir_all(&target_dir).expect("creating the plugins' target directory");
    // host/build.rs and tests/build.rs run at the same time: one of them installs the
    // target and builds, the other waits and then finds both done.
    let lock = std::fs::File::create(target_dir.join(".build-lock")).expect("creating the plugin build lock");
    lock.lock().expect("locking the plugin build");
    ensure_wasm_target();

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
        panic!("building the WebAssembly plugins in plugins/ failed; the compiler's messages are above.");
    }
    target_dir.join("wasm32-wasip2").join("release")
}

/// Adds the `wasm32-wasip2` standard library to the compiling toolchain when it lacks it.
fn ensure_wasm_target() {
    use std::process::Command;

    const TARGET: &str = "wasm32-wasip2";
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .expect("asking rustc for its sysroot");
    if sysroot.join("lib").join("rustlib").join(TARGET).join("lib").is_dir() {
        return;
    }
    // The toolchain rustup ran us with, else the sysroot's folder name (…/toolchains/<name>).
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN")
        .ok()
        .or_else(|| sysroot.file_name().and_then(|n| n.to_str()).map(String::from))
        .unwrap_or_default();
    println!("cargo:warning=the {TARGET} target is not installed for toolchain {toolchain}: adding it with `rustup target add {TARGET}` (once; the built-in plugins are WebAssembly components)");
    let rustup = std::env::var_os("CARGO_HOME")
        .map(|h| std::path::PathBuf::from(h).join("bin").join("rustup"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "rustup".into());
    let mut cmd = Command::new(rustup);
    cmd.args(["target", "add", TARGET]);
    if !toolchain.is_empty() {
        cmd.args(["--toolchain", &toolchain]);
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(_) | Err(_) => panic!(
            "the built-in plugins need the {TARGET} target and adding it with rustup failed (see above). \
             Run `rustup target add {TARGET}` (rustup needs to reach static.rust-lang.org once), or, \
             without rustup, install your Rust distribution's {TARGET} standard library; then build again."
        ),
    }
}
