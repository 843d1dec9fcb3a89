//! The generated bindings. Not a public API: use the modules at the crate root.
//!
//! World `notification-channel` imports every host interface, so its bindings are the
//! import bindings; each other world reuses them through `with`, so there is a single
//! [`crate::Error`] type and a single set of host functions (a component imports only
//! the interfaces it calls). Each world's generated export macro is `#[macro_export]`ed
//! under a distinct name and wrapped by the public `export_*!` macros; a blanket impl
//! turns each public trait into the generated `Guest` trait.
#![allow(missing_docs, unsafe_code, unreachable_pub)]

pub use wit_bindgen;

pub mod inn_enrichment {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "inn-enrichment",
        with: {
            "crm:plugin/types@0.2.0": crate::__private::notification_channel::crm::plugin::types,
            "crm:plugin/log@0.2.0": crate::__private::notification_channel::crm::plugin::log,
            "crm:plugin/config@0.2.0": crate::__private::notification_channel::crm::plugin::config,
            "crm:plugin/http@0.2.0": crate::__private::notification_channel::crm::plugin::http,
            "crm:plugin/clock@0.2.0": crate::__private::notification_channel::crm::plugin::clock,
        },
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_inn_enrichment",
    });

    impl<T: crate::InnEnrichment> exports::crm::plugin::enrichment::Guest for T {
        fn lookup(
            inn: String,
            kpp: Option<String>,
        ) -> Result<Option<crate::enrichment::Company>, crate::Error> {
            <T as crate::InnEnrichment>::lookup(inn, kpp)
        }
    }
}

pub mod mail_linker {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "mail-linker",
        with: {
            "crm:plugin/types@0.2.0": crate::__private::notification_channel::crm::plugin::types,
            "crm:plugin/log@0.2.0": crate::__private::notification_channel::crm::plugin::log,
            "crm:plugin/config@0.2.0": crate::__private::notification_channel::crm::plugin::config,
            "crm:plugin/clock@0.2.0": crate::__private::notification_channel::crm::plugin::clock,
        },
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_mail_linker",
    });

    impl<T: crate::MailLinker> exports::crm::plugin::linker::Guest for T {
        fn find_cases(
            emails: Vec<crate::linker::Email>,
        ) -> Result<Vec<Vec<crate::linker::CaseMention>>, crate::Error> {
            <T as crate::MailLinker>::find_cases(emails)
        }
    }
}

pub mod accounting_sync {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "accounting-sync",
        with: {
            "crm:plugin/types@0.2.0": crate::__private::notification_channel::crm::plugin::types,
            "crm:plugin/log@0.2.0": crate::__private::notification_channel::crm::plugin::log,
            "crm:plugin/config@0.2.0": crate::__private::notification_channel::crm::plugin::config,
            "crm:plugin/http@0.2.0": crate::__private::notification_channel::crm::plugin::http,
            "crm:plugin/clock@0.2.0": crate::__private::notification_channel::crm::plugin::clock,
        },
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_accounting_sync",
    });

    impl<T: crate::AccountingSync> exports::crm::plugin::accounting::Guest for T {
        fn fetch_page(
            kind: crate::accounting::EntityKind,
            since: Option<String>,
            cursor: Option<String>,
            page_size: u32,
        ) -> Result<crate::accounting::Page, crate::Error> {
            <T as crate::AccountingSync>::fetch_page(kind, since, cursor, page_size)
        }
    }
}

pub mod fee_rule {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "fee-rule",
        with: {
            "crm:plugin/types@0.2.0": crate::__private::notification_channel::crm::plugin::types,
            "crm:plugin/log@0.2.0": crate::__private::notification_channel::crm::plugin::log,
            "crm:plugin/config@0.2.0": crate::__private::notification_channel::crm::plugin::config,
            "crm:plugin/clock@0.2.0": crate::__private::notification_channel::crm::plugin::clock,
        },
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_fee_rule",
    });

    impl<T: crate::FeeRule> exports::crm::plugin::fees::Guest for T {
        fn compute(payments: Vec<crate::fees::Payment>) -> Result<Vec<crate::fees::Fee>, crate::Error> {
            <T as crate::FeeRule>::compute(payments)
        }
    }
}

pub mod notification_channel {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "notification-channel",
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_notification_channel",
    });

    impl<T: crate::NotificationChannel> exports::crm::plugin::channel::Guest for T {
        fn send(
            messages: Vec<crate::channel::Message>,
        ) -> Result<Vec<crate::channel::Receipt>, crate::Error> {
            <T as crate::NotificationChannel>::send(messages)
        }

        fn status(provider_ids: Vec<String>) -> Result<Vec<crate::channel::Receipt>, crate::Error> {
            <T as crate::NotificationChannel>::status(provider_ids)
        }
    }
}
