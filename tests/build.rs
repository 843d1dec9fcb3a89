//! Builds every guest of `plugins/` (the template, the built-in plugins and the test
//! guests of every world, hostile ones included) so the suite runs real compiled
//! components.

include!("../plugins/build-support.rs");

fn main() {
    let dir = build_plugins(&[
        "template",
        "inn-dadata",
        "sms-ru",
        "voice-smsc",
        "test-guests/hostile",
        "test-guests/echo",
        "test-guests/mailer",
        "test-guests/court-linker",
        "test-guests/percent-fee",
        "test-guests/cycling",
        "test-guests/scripted",
    ]);
    println!("cargo:rustc-env=CRM_TEST_GUESTS={}", dir.display());
    // The plugins' native unit tests run for the machine's own target.
    println!("cargo:rustc-env=CRM_HOST_TARGET={}", std::env::var("TARGET").unwrap_or_default());
}
