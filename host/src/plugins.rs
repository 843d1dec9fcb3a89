//! The plugin runtime: WebAssembly components (wasmtime component model) implementing
//! the `crm:plugin` WIT worlds (`wit/plugin.wit`), registered per version, enabled per
//! tenant with granted capabilities, and called under time, memory and output limits.

pub mod bindings;
pub mod builtin;
pub mod host;
pub mod http;
pub mod manifest;
pub mod routes;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod store;

pub use runtime::Runtime;
