//! Builds the `echo` test guest the plugin benchmark calls.

include!("../plugins/build-support.rs");

fn main() {
    let dir = build_plugins(&["test-guests/echo"]);
    println!("cargo:rustc-env=CRM_BENCH_GUESTS={}", dir.display());
}
