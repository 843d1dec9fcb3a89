//! The plugin runtime: WebAssembly components (wasmtime component model) implementing
//! the `crm:plugin` WIT worlds (`wit/<version>/plugin.wit`), registered per version,
//! enabled per tenant as module instances with granted capabilities, and called under
//! each world's time, memory, output and fuel limits.
//!
//! * `contract` — the published contract versions, all linked side by side, and how a
//!   component's version and world are read from the component;
//! * `bindings` — the generated bindings of each version (seen only by `host`, `worlds`);
//! * `worlds` — the five worlds' version-neutral types and calls, converted at the boundary;
//! * `host` — the host interfaces (log, config, http, clock, mail), one context each;
//! * `capabilities` — the granter: what the manifest asks, what the admin grants;
//! * `runtime` — the engine and the one generic call path; `service` — registry, module
//!   instances, the run log, `try`; `routes` — the API.

pub mod bindings;
pub mod builtin;
pub mod capabilities;
pub mod contract;
pub mod host;
pub mod manifest;
pub mod memory;
pub mod output_size;
pub mod routes;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod store;
pub mod worlds;

pub use runtime::Runtime;
