//! World `inn-enrichment`: company data by ИНН from a registry (DaData, ФНС, …).
//!
//! Implement [`InnEnrichment`] and export it with
//! [`export_inn_enrichment!`](crate::export_inn_enrichment). The plugin may use
//! [`log`](crate::log), [`config`](crate::config), [`http`](crate::http) and
//! [`clock`](crate::clock).

use crate::__private::inn_enrichment::exports::crm::plugin::enrichment as wit;
use crate::Error;

/// What the registry knows about a company.
///
/// Build one with [`Company::new`] and struct update syntax:
/// `Company { full_name, ogrn, ..Company::new(kind, inn, status) }`.
pub use wit::Company;

/// Registration status of a company.
pub use wit::CompanyStatus;

/// Legal form: legal entity (ЮЛ) or sole proprietor (ИП).
pub use wit::PartyKind;

/// Head office or branch (a separate КПП).
pub use wit::BranchType;

impl Company {
    /// A company with only its kind, ИНН and status known: empty `full_name`, every
    /// optional field `None`. Fill in the rest with struct update syntax.
    pub fn new(kind: PartyKind, inn: impl Into<String>, status: CompanyStatus) -> Company {
        Company {
            kind,
            inn: inn.into(),
            kpp: None,
            ogrn: None,
            full_name: String::new(),
            short_name: None,
            legal_address: None,
            head_name: None,
            head_post: None,
            status,
            okved: None,
            registered_on: None,
            liquidated_on: None,
            branch_type: None,
        }
    }
}

/// A plugin of world `inn-enrichment`.
pub trait InnEnrichment {
    /// Looks a company up by ИНН (and КПП, to pick a branch).
    ///
    /// `Ok(None)` when the registry does not know it. The host has already checked
    /// the ИНН's check digits. Pass host errors on unchanged; return
    /// [`Error::Unavailable`] when the registry fails or answers something unusable.
    fn lookup(inn: String, kpp: Option<String>) -> Result<Option<Company>, Error>;
}

/// Exports a type implementing [`InnEnrichment`] as the plugin's `enrichment`
/// interface. Use it once, at the top level of the plugin crate.
///
/// ```
/// use crm_plugin_sdk::enrichment::Company;
/// use crm_plugin_sdk::{Error, InnEnrichment};
///
/// struct Plugin;
///
/// impl InnEnrichment for Plugin {
///     fn lookup(_inn: String, _kpp: Option<String>) -> Result<Option<Company>, Error> {
///         Ok(None)
///     }
/// }
///
/// crm_plugin_sdk::export_inn_enrichment!(Plugin);
/// ```
#[macro_export]
macro_rules! export_inn_enrichment {
    ($ty:ident) => {
        const _: () = {
            fn must_implement_inn_enrichment<T: $crate::InnEnrichment>() {}
            let _ = must_implement_inn_enrichment::<$ty>;
        };
        $crate::__private::inn_enrichment::__export_inn_enrichment!(
            $ty with_types_in $crate::__private::inn_enrichment
        );
    };
}
