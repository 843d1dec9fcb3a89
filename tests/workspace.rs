//! The README's two commands share one build: `cargo run` builds the host alone and
//! `cargo test --workspace` builds every member, and a dependency that the two resolve
//! with different features is compiled twice (with everything above it: chrono under
//! sqlx compiled twice costs a newcomer minutes).

use std::collections::BTreeMap;
use std::process::Command;

/// `package version` → its resolved features, as `cargo tree` sees a build of `args`.
fn features(args: &[&str]) -> BTreeMap<String, String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["tree", "--offline", "--locked", "--prefix", "none", "--no-dedupe", "-f", "{p}|{f}"])
        .args(args)
        .output()
        .expect("running cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('|'))
        // Workspace members differ by design (the tests have their own crates).
        .filter(|(p, _)| !p.starts_with("crm-"))
        .map(|(p, f)| (p.split(" (").next().unwrap_or(p).trim().to_string(), f.trim().to_string()))
        .collect()
}

#[test]
fn cargo_run_and_cargo_test_resolve_shared_dependencies_alike() {
    let run = features(&["-p", "crm-host", "-e", "normal,build"]);
    let test = features(&["--workspace", "-e", "normal,build,dev"]);
    let differ: Vec<String> = run
        .iter()
        .filter_map(|(p, f)| test.get(p).filter(|t| *t != f).map(|t| format!("{p}: `cargo run` [{f}], `cargo test --workspace` [{t}]")))
        .collect();
    assert!(
        differ.is_empty(),
        "these dependencies would be compiled twice; give the host the same features (see num-traits in the root Cargo.toml):\n{}",
        differ.join("\n")
    );
}
