//! Services of `type: LoadBalancer`: which ones are handled, and the service controller.

pub mod controller;
pub mod follow;
pub mod predicates;
