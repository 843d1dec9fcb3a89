//! The five plugin worlds as the host's domain code sees them: version-neutral types and
//! calls, one module per world. Each call ([`Function`]) converts its input into the
//! bindings of whatever contract version the component was built against and its output
//! back, so a plugin built against `crm:plugin@0.1.0` and one built against `@0.2.0` are
//! called the same way. Everything else a call needs (instances from `InstancePre`,
//! limits, the output cap, the run log) is generic, in `runtime` and `service`.

pub mod accounting;
pub mod channel;
pub mod enrichment;
pub mod fees;
pub mod linker;

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::{v0_1, v0_2};
use super::contract::ContractVersion;
use super::manifest::World;
use super::runtime::PluginState;

/// Why a plugin call failed as the plugin tells it (the WIT `error` variant), or why a
/// host call failed as the plugin is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum PluginError {
    /// A capability that is not granted (a host, mail, an undeclared setting).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The input was invalid; the message names what is wrong.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// An outside service failed or timed out; trying later may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Settings or the outside system's set-up are wrong; retrying will not help.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// Anything else.
    #[error("internal error: {0}")]
    Internal(String),
}

macro_rules! error_conversions {
    ($version:ident, misconfigured: $($mis:tt)*) => {
        impl From<$version::crm::plugin::types::Error> for PluginError {
            fn from(e: $version::crm::plugin::types::Error) -> Self {
                use $version::crm::plugin::types::Error as E;
                #[allow(unreachable_patterns)]
                match e {
                    E::AccessDenied(m) => PluginError::AccessDenied(m),
                    E::InvalidInput(m) => PluginError::InvalidInput(m),
                    E::NotFound(m) => PluginError::NotFound(m),
                    E::Unavailable(m) => PluginError::Unavailable(m),
                    E::Internal(m) => PluginError::Internal(m),
                    $($mis)*
                }
            }
        }
    };
}
error_conversions!(v0_1, misconfigured:);
error_conversions!(v0_2, misconfigured: E::Misconfigured(m) => PluginError::Misconfigured(m),);

impl From<PluginError> for v0_1::crm::plugin::types::Error {
    fn from(e: PluginError) -> Self {
        use v0_1::crm::plugin::types::Error as E;
        match e {
            PluginError::AccessDenied(m) => E::AccessDenied(m),
            PluginError::InvalidInput(m) => E::InvalidInput(m),
            PluginError::NotFound(m) => E::NotFound(m),
            PluginError::Unavailable(m) => E::Unavailable(m),
            // 0.1.0 has no `misconfigured`: its nearest is an invalid input (settings).
            PluginError::Misconfigured(m) => E::InvalidInput(m),
            PluginError::Internal(m) => E::Internal(m),
        }
    }
}

impl From<PluginError> for v0_2::crm::plugin::types::Error {
    fn from(e: PluginError) -> Self {
        use v0_2::crm::plugin::types::Error as E;
        match e {
            PluginError::AccessDenied(m) => E::AccessDenied(m),
            PluginError::InvalidInput(m) => E::InvalidInput(m),
            PluginError::NotFound(m) => E::NotFound(m),
            PluginError::Unavailable(m) => E::Unavailable(m),
            PluginError::Misconfigured(m) => E::Misconfigured(m),
            PluginError::Internal(m) => E::Internal(m),
        }
    }
}

/// What a call into a plugin returns to the runtime: a wasmtime error (a trap, a host
/// bug) or the plugin's own result.
pub type Returned<T> = wasmtime::Result<Result<T, PluginError>>;

/// One function of one world, called on an instance of whatever contract version.
pub trait Function: Send + Sized + 'static {
    /// The version-neutral result.
    type Output: Serialize + Send + 'static;
    /// The world the function belongs to.
    const WORLD: World;
    /// `<interface>.<function>`, as the run log and `try` name it.
    const NAME: &'static str;

    /// Calls the function on `instance`, converting at the boundary.
    fn call<'a>(self, instance: &'a Instance, store: &'a mut Store<PluginState>) -> impl Future<Output = Returned<Self::Output>> + Send + 'a;
}

/// The error for an instance of another world than the function's (a host bug: the
/// runtime checks the world before it calls).
pub(crate) fn wrong_world(instance: &Instance, world: World) -> wasmtime::Error {
    wasmtime::Error::msg(format!("a {} call on an instance of world {}", world, instance.world()))
}

macro_rules! exports {
    ($( $variant:ident => $world:ident, $contract:ident, $version:ident :: $module:ident :: $pre:ident / $instance:ident ),* $(,)?) => {
        /// What a compiled component exports, for its world and contract version, with the
        /// export indices looked up once.
        pub enum Exports {
            $( $variant($version::$module::$pre<PluginState>), )*
        }

        /// A live instance of a component, for its world and contract version.
        pub enum Instance {
            $( $variant($version::$module::$instance), )*
        }

        impl Exports {
            /// Type-checks a component's exports against its world at its contract version.
            pub fn new(world: World, contract: ContractVersion, pre: InstancePre<PluginState>) -> Result<Exports, String> {
                $(
                    if world == World::$world && contract == ContractVersion::$contract {
                        return $version::$module::$pre::new(pre)
                            .map(Exports::$variant)
                            .map_err(|e| format!("the component does not implement {world} of crm:plugin@{contract}: {e:#}"));
                    }
                )*
                Err(format!("this host has no bindings for {world} of crm:plugin@{contract}"))
            }

            /// A fresh instance in `store`.
            pub async fn instantiate(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Instance> {
                match self {
                    $( Exports::$variant(pre) => pre.instantiate_async(store).await.map(Instance::$variant), )*
                }
            }
        }

        impl Instance {
            /// The world this instance implements.
            pub fn world(&self) -> World {
                match self {
                    $( Instance::$variant(_) => World::$world, )*
                }
            }
        }
    };
}

exports! {
    InnEnrichmentV0_1 => InnEnrichment, V0_1_0, v0_1::inn_enrichment::InnEnrichmentPre / InnEnrichment,
    InnEnrichmentV0_2 => InnEnrichment, V0_2_0, v0_2::inn_enrichment::InnEnrichmentPre / InnEnrichment,
    MailLinkerV0_1 => MailLinker, V0_1_0, v0_1::mail_linker::MailLinkerPre / MailLinker,
    MailLinkerV0_2 => MailLinker, V0_2_0, v0_2::mail_linker::MailLinkerPre / MailLinker,
    AccountingSyncV0_1 => AccountingSync, V0_1_0, v0_1::accounting_sync::AccountingSyncPre / AccountingSync,
    AccountingSyncV0_2 => AccountingSync, V0_2_0, v0_2::accounting_sync::AccountingSyncPre / AccountingSync,
    FeeRuleV0_1 => FeeRule, V0_1_0, v0_1::fee_rule::FeeRulePre / FeeRule,
    FeeRuleV0_2 => FeeRule, V0_2_0, v0_2::fee_rule::FeeRulePre / FeeRule,
    NotificationChannelV0_1 => NotificationChannel, V0_1_0, v0_1::notification_channel::NotificationChannelPre / NotificationChannel,
    NotificationChannelV0_2 => NotificationChannel, V0_2_0, v0_2::notification_channel::NotificationChannelPre / NotificationChannel,
}

/// A function an admin can call with a sample input (`POST /modules/{id}/try`).
pub struct TryableFunction {
    pub world: World,
    /// `<interface>.<function>`.
    pub name: &'static str,
    /// What it does and what its input looks like.
    pub description: &'static str,
    /// An example input (JSON), shown by the API.
    pub example: fn() -> serde_json::Value,
    /// Parses the input, calls the module, and returns the output as JSON.
    pub(crate) run: for<'a> fn(&'a super::service::LoadedModule, &'a crate::AppState, serde_json::Value) -> TryFuture<'a>,
}

/// What a try call leaves: the output as JSON (or why there is none), the call's report,
/// and its run-log entry (none when the input did not even parse).
pub(crate) struct TryOutcome {
    pub result: Result<serde_json::Value, super::service::TryError>,
    pub report: super::runtime::CallReport,
    pub run: Option<super::store::PluginRun>,
}

pub(crate) type TryFuture<'a> = Pin<Box<dyn Future<Output = TryOutcome> + Send + 'a>>;

/// Parses `input` into `F` and calls it on the module (the run log records it as usual).
pub(crate) fn run_try<'a, F: Function + DeserializeOwned>(
    module: &'a super::service::LoadedModule,
    state: &'a crate::AppState,
    input: serde_json::Value,
) -> TryFuture<'a> {
    use super::service::TryError;
    Box::pin(async move {
        let f: F = match serde_path_to_error::deserialize(input) {
            Ok(f) => f,
            Err(e) => {
                let path = e.path().to_string();
                let field = if path == "." { "input".to_string() } else { format!("input.{path}") };
                let result = Err(TryError::Input { field, message: e.into_inner().to_string() });
                return TryOutcome { result, report: Default::default(), run: None };
            }
        };
        let (out, report, run) = module.call_reported(state, f).await;
        let result = out.map_err(TryError::Call).and_then(|o| serde_json::to_value(o).map_err(|e| TryError::Internal(e.to_string())));
        TryOutcome { result, report, run: Some(run) }
    })
}

/// Every function of every world, for `try`.
pub fn tryable() -> Vec<TryableFunction> {
    let mut all = Vec::new();
    all.extend(enrichment::tryable());
    all.extend(linker::tryable());
    all.extend(accounting::tryable());
    all.extend(fees::tryable());
    all.extend(channel::tryable());
    all
}
