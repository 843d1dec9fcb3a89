//! World `accounting-sync`: pulling counterparties, contracts, sales documents and
//! payments from an accounting system (1C), one page at a time.
//!
//! Implement [`AccountingSync`] and export it with
//! [`export_accounting_sync!`](crate::export_accounting_sync). The plugin may use
//! [`log`](crate::log), [`config`](crate::config), [`http`](crate::http) and
//! [`clock`](crate::clock).

use crate::__private::accounting_sync::exports::crm::plugin::accounting as wit;
use crate::Error;

/// A part of a payment applied to one document, as the accounting system says.
pub use wit::Allocation;
/// A contract with a counterparty.
pub use wit::Contract;
/// A counterparty in the accounting system.
pub use wit::Counterparty;
/// What to fetch.
pub use wit::EntityKind;
/// One record of a page.
pub use wit::Entry;
/// One page of records.
pub use wit::Page;
/// An incoming payment.
pub use wit::Payment;
/// A user of the accounting system responsible for a client or a contract.
pub use wit::Person;
/// A source record the plugin could not map, and why.
pub use wit::Rejected;
/// A shipment / invoice.
pub use wit::SalesDocument;

impl Rejected {
    /// A record that could not be mapped, with the client it belongs to when known (so
    /// the host's report can group rejections by client).
    pub fn new(external_id: Option<String>, counterparty_id: Option<String>, reason: impl Into<String>) -> Rejected {
        Rejected { external_id, counterparty_id, reason: reason.into() }
    }
}

/// A plugin of world `accounting-sync`.
pub trait AccountingSync {
    /// Fetches a page of `kind` changed since `since` (RFC 3339), continuing at
    /// `cursor` (the previous page's `next_cursor`), at most `page_size` entries.
    fn fetch_page(
        kind: EntityKind,
        since: Option<String>,
        cursor: Option<String>,
        page_size: u32,
    ) -> Result<Page, Error>;
}

/// Exports a type implementing [`AccountingSync`] as the plugin's `accounting`
/// interface. Use it once, at the top level of the plugin crate.
///
/// ```
/// use crm_plugin_sdk::accounting::{EntityKind, Page};
/// use crm_plugin_sdk::{AccountingSync, Error};
///
/// struct Plugin;
///
/// impl AccountingSync for Plugin {
///     fn fetch_page(
///         _kind: EntityKind,
///         _since: Option<String>,
///         _cursor: Option<String>,
///         _page_size: u32,
///     ) -> Result<Page, Error> {
///         Ok(Page { entries: Vec::new(), rejected: Vec::new(), next_cursor: None })
///     }
/// }
///
/// crm_plugin_sdk::export_accounting_sync!(Plugin);
/// ```
#[macro_export]
macro_rules! export_accounting_sync {
    ($ty:ident) => {
        const _: () = {
            fn must_implement_accounting_sync<T: $crate::AccountingSync>() {}
            let _ = must_implement_accounting_sync::<$ty>;
        };
        $crate::__private::accounting_sync::__export_accounting_sync!(
            $ty with_types_in $crate::__private::accounting_sync
        );
    };
}
