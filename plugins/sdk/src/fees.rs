//! World `fee-rule`: collection agencies' fees.
//!
//! Implement [`FeeRule`] and export it with
//! [`export_fee_rule!`](crate::export_fee_rule). The plugin may use
//! [`log`](crate::log), [`config`](crate::config) and [`clock`](crate::clock); it has
//! no HTTP.

use crate::__private::fee_rule::exports::crm::plugin::fees as wit;
use crate::Error;

/// The fee the agency earns for one payment.
pub use wit::Fee;
/// A debtor's payment made while their registry was with the agency.
pub use wit::Payment;

/// A plugin of world `fee-rule`.
pub trait FeeRule {
    /// Fees for a batch of payments, one per payment in order. `rule` is the agency's
    /// fee rule settings (JSON text); parse it with `serde_json`.
    fn compute(rule: String, payments: Vec<Payment>) -> Result<Vec<Fee>, Error>;
}

/// Exports a type implementing [`FeeRule`] as the plugin's `fees` interface. Use it
/// once, at the top level of the plugin crate.
///
/// ```
/// use crm_plugin_sdk::fees::{Fee, Payment};
/// use crm_plugin_sdk::{Error, FeeRule};
///
/// struct Plugin;
///
/// impl FeeRule for Plugin {
///     fn compute(_rule: String, payments: Vec<Payment>) -> Result<Vec<Fee>, Error> {
///         Ok(payments
///             .into_iter()
///             .map(|p| Fee { payment_id: p.id, amount: "0.00".into(), explanation: "free".into() })
///             .collect())
///     }
/// }
///
/// crm_plugin_sdk::export_fee_rule!(Plugin);
/// ```
#[macro_export]
macro_rules! export_fee_rule {
    ($ty:ident) => {
        const _: () = {
            fn must_implement_fee_rule<T: $crate::FeeRule>() {}
            let _ = must_implement_fee_rule::<$ty>;
        };
        $crate::__private::fee_rule::__export_fee_rule!(
            $ty with_types_in $crate::__private::fee_rule
        );
    };
}
