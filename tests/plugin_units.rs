//! The plugins' own unit tests (the 1C and DaData mappings, the SDK's doc examples)
//! live in the separate `plugins/` workspace, which builds WebAssembly by default. They
//! run natively here so the README's one test command covers them too.

use std::process::Command;

#[test]
fn the_plugins_own_unit_tests_pass() {
    let plugins = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(plugins)
        .args(["test", "-p", "accounting-1c", "-p", "inn-dadata", "-p", "sms-ru", "-p", "voice-smsc", "-p", "crm-plugin-sdk", "--target", env!("CRM_HOST_TARGET")])
        .output()
        .expect("run cargo test in plugins/");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the plugins' unit tests failed:\n{stdout}\n{stderr}");
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 60, "expected the plugins' unit tests to run, saw {passed} pass:\n{stdout}");
}
