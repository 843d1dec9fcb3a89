//! Builds the test guests the benchmarks call: `echo` (the plugin call) and `hostile`
//! (the isolation benchmark's spinning calls).

include!("../plugins/build-support.rs");

fn main() {
    let dir = build_plugins(&["test-guests/echo", "test-guests/hostile"]);
    println!("cargo:rustc-env=CRM_BENCH_GUESTS={}", dir.display());
}
