//! World `mail-linker`: linking incoming e-mails (e.g. court notifications) to claims
//! cases.
//!
//! Implement [`MailLinker`] and export it with
//! [`export_mail_linker!`](crate::export_mail_linker). The plugin may use
//! [`log`](crate::log), [`config`](crate::config) and [`clock`](crate::clock); it has
//! no HTTP.

use crate::__private::mail_linker::exports::crm::plugin::linker as wit;
use crate::Error;

/// An incoming e-mail: `message_id`, `from`, `to`, `subject`, `received_at`
/// (RFC 3339), `text_body`, `html_body`, `attachment_names`.
pub use wit::Email;

/// One case an e-mail mentions: the number (`А40-12345/2024`), the court, the event and
/// its date when the plugin can tell.
pub use wit::CaseMention;

/// What a court notification says happened.
pub use wit::CourtEvent;

impl CaseMention {
    /// A mention with only its number known.
    pub fn number(number: impl Into<String>) -> CaseMention {
        CaseMention { number: number.into(), court: None, event: None, event_date: None }
    }
}

/// A plugin of world `mail-linker`.
pub trait MailLinker {
    /// For each e-mail, in order, the arbitration cases it mentions, numbers
    /// normalised (`А40-12345/2024`). The result has exactly one list per e-mail.
    fn find_cases(emails: Vec<Email>) -> Result<Vec<Vec<CaseMention>>, Error>;
}

/// Exports a type implementing [`MailLinker`] as the plugin's `linker` interface. Use
/// it once, at the top level of the plugin crate.
///
/// ```
/// use crm_plugin_sdk::linker::{CaseMention, Email};
/// use crm_plugin_sdk::{Error, MailLinker};
///
/// struct Plugin;
///
/// impl MailLinker for Plugin {
///     fn find_cases(emails: Vec<Email>) -> Result<Vec<Vec<CaseMention>>, Error> {
///         Ok(emails.iter().map(|_| Vec::new()).collect())
///     }
/// }
///
/// crm_plugin_sdk::export_mail_linker!(Plugin);
/// ```
#[macro_export]
macro_rules! export_mail_linker {
    ($ty:ident) => {
        const _: () = {
            fn must_implement_mail_linker<T: $crate::MailLinker>() {}
            let _ = must_implement_mail_linker::<$ty>;
        };
        $crate::__private::mail_linker::__export_mail_linker!(
            $ty with_types_in $crate::__private::mail_linker
        );
    };
}
