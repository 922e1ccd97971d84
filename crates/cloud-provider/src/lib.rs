//! A generic Kubernetes cloud-controller-manager framework: the values a cloud provider
//! exchanges with the controllers, and the controllers' decisions as pure functions.
//!
//! This crate knows Kubernetes and no cloud. Work in progress: the decision functions and
//! provider value types are here; the async provider traits, the controllers, leader election
//! and serving follow (see the cloud-provider issue).
#![warn(missing_docs)]

pub mod labels;
pub mod node;
pub mod provider;
pub mod service;
