//! Typed models and operations, one module per API resource.
//!
//! Models read what the API sends leniently (missing fields default, `null` lists read as
//! empty, unknown enum values are kept as `Other`), because a controller must keep working
//! when the API adds a value. Request types write exactly the shapes the API expects.

pub mod auth_status;
pub mod bridge;
pub mod common;
pub mod internet;
pub mod load_balancer;
pub mod proxy_lb;
pub mod server;
pub mod switch;
pub mod zone;
