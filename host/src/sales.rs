//! Sales analytics over the deals: a pipeline's forecast (weighted by each stage's win
//! probability and not) by month and by manager, the funnel (conversion stage to stage,
//! time in stage, deals stuck past a stage's norm), and each manager's monthly plan and
//! its fulfilment. Norms and plans are the tenant's data.

pub mod funnel;
pub mod model;
pub mod routes;
pub mod store;
