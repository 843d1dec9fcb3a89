//! World `fee-rule`: what a collection agency earns on its debtors' payments. One module
//! instance per agency contract; the contract's parameters are the instance's settings.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;

use super::{Function, Instance, Returned, TryableFunction, wrong_world};
use crate::plugins::bindings::{v0_1, v0_2};
use crate::plugins::manifest::World;
use crate::plugins::runtime::PluginState;

/// A debtor's payment made while their registry was with the agency. Amounts are
/// decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    pub id: String,
    pub debtor_id: String,
    /// `YYYY-MM-DD`.
    pub paid_on: String,
    pub amount: String,
    /// Debt when the registry was handed over.
    pub debt_at_handover: String,
    /// What the debtor paid earlier while with this agency.
    #[serde(default = "zero")]
    pub collected_before: String,
    /// Days from the registry's start to the payment.
    pub days_in_registry: u32,
}

fn zero() -> String {
    "0.00".into()
}

/// One step of a fee's computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeeStep {
    /// `percent`, `fixed`, `tier`, `cap`, `minimum`, …
    pub code: String,
    /// In words (Russian).
    pub label: String,
    pub base: Option<String>,
    pub rate_percent: Option<String>,
    pub amount: String,
}

/// The fee for one payment. Plugins built against 0.1.0 give no steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fee {
    pub payment_id: String,
    pub amount: String,
    pub explanation: String,
    pub steps: Vec<FeeStep>,
}

/// `fees.compute`: fees for a batch of payments, one per payment, in order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    pub payments: Vec<Payment>,
}

impl Function for Compute {
    type Output = Vec<Fee>;
    const WORLD: World = World::FeeRule;
    const NAME: &'static str = "fees.compute";

    async fn call(self, instance: &Instance, store: &mut Store<PluginState>) -> Returned<Vec<Fee>> {
        Ok(match instance {
            Instance::FeeRuleV0_1(i) => {
                use v0_1::fee_rule::exports::crm::plugin::fees as f;
                // 0.1.0 took the rule's parameters as an argument: they are the instance's settings.
                let rule = store.data().settings_json();
                let payments: Vec<f::Payment> = self
                    .payments
                    .into_iter()
                    .map(|p| f::Payment {
                        id: p.id,
                        debtor_id: p.debtor_id,
                        paid_on: p.paid_on,
                        amount: p.amount,
                        debt_at_handover: p.debt_at_handover,
                        days_in_registry: p.days_in_registry,
                    })
                    .collect();
                i.crm_plugin_fees().call_compute(store, &rule, &payments).await?.map_err(Into::into).map(|fees| {
                    fees.into_iter().map(|f| Fee { payment_id: f.payment_id, amount: f.amount, explanation: f.explanation, steps: vec![] }).collect()
                })
            }
            Instance::FeeRuleV0_2(i) => {
                use v0_2::fee_rule::exports::crm::plugin::fees as f;
                let payments: Vec<f::Payment> = self
                    .payments
                    .into_iter()
                    .map(|p| f::Payment {
                        id: p.id,
                        debtor_id: p.debtor_id,
                        paid_on: p.paid_on,
                        amount: p.amount,
                        debt_at_handover: p.debt_at_handover,
                        collected_before: p.collected_before,
                        days_in_registry: p.days_in_registry,
                    })
                    .collect();
                i.crm_plugin_fees().call_compute(store, &payments).await?.map_err(Into::into).map(|fees| {
                    fees.into_iter()
                        .map(|f| Fee {
                            payment_id: f.payment_id,
                            amount: f.amount,
                            explanation: f.explanation,
                            steps: f
                                .steps
                                .into_iter()
                                .map(|s| FeeStep { code: s.code, label: s.label, base: s.base, rate_percent: s.rate_percent, amount: s.amount })
                                .collect(),
                        })
                        .collect()
                })
            }
            other => return Err(wrong_world(other, Self::WORLD)),
        })
    }
}

pub(super) fn tryable() -> Vec<TryableFunction> {
    vec![TryableFunction {
        world: World::FeeRule,
        name: Compute::NAME,
        description: "Fees for a batch of payments (amounts as decimal strings), one per payment, with the steps of each.",
        example: || {
            serde_json::json!({"payments": [{
                "id": "p-1", "debtor_id": "d-1", "paid_on": "2026-11-20", "amount": "10000.00",
                "debt_at_handover": "150000.00", "collected_before": "0.00", "days_in_registry": 35
            }]})
        },
        run: super::run_try::<Compute>,
    }]
}
