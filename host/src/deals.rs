//! Deals moving through per-tenant pipelines of stages, with typed custom parameters.
pub mod pipelines;
pub mod routes;
