//! World `fee-rule`: collection agencies' fees.
//!
//! Implement [`FeeRule`] and export it with
//! [`export_fee_rule!`](crate::export_fee_rule). The plugin may use
//! [`log`](crate::log), [`config`](crate::config) and [`clock`](crate::clock); it has
//! no HTTP. One module instance runs per agency contract: read the contract's
//! parameters (rates, tiers, caps) from the instance's settings with
//! [`config::get`](crate::config::get). Calls run on fuel, so the same payments always
//! give the same fees or the same failure: keep the computation exact (decimal strings,
//! no floats) and free of time and randomness.

use crate::__private::fee_rule::exports::crm::plugin::fees as wit;
use crate::Error;

/// The fee the agency earns for one payment, with its steps.
pub use wit::Fee;
/// One step of a fee's computation (`code`, `label`, `base`, `rate_percent`, `amount`);
/// the steps' amounts add up to the fee.
pub use wit::FeeStep;
/// A debtor's payment made while their registry was with the agency.
pub use wit::Payment;

/// A plugin of world `fee-rule`.
pub trait FeeRule {
    /// Fees for a batch of payments, one per payment in order, each with its steps.
    fn compute(payments: Vec<Payment>) -> Result<Vec<Fee>, Error>;
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
///     fn compute(payments: Vec<Payment>) -> Result<Vec<Fee>, Error> {
///         Ok(payments
///             .into_iter()
///             .map(|p| Fee { payment_id: p.id, amount: "0.00".into(), explanation: "free".into(), steps: vec![] })
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
