//! Deals moving through per-tenant pipelines of stages, with typed custom parameters
//! validated against the pipeline's field schema, stage gates, and a stage history.

pub mod factoring;
pub mod gate;
pub mod model;
pub mod params;
pub mod pipelines;
pub mod routes;
pub mod store;
pub mod terms;

pub use model::{Deal, DealId};
pub use pipelines::{PipelineId, StageId};
