//! A generic Kubernetes cloud-controller-manager framework: the values a cloud provider
//! exchanges with the controllers, and the controllers' decisions as pure functions.
//!
//! This crate knows Kubernetes and no cloud. Work in progress: the provider's instance
//! interface, the decision functions, the cloud node controller and the node lifecycle controller
//! are here; the service controller, leader election and serving follow (see the cloud-provider issue).
#![warn(missing_docs)]

pub mod events;
pub mod kube_client;
pub mod labels;
pub mod metrics;
pub mod node;
pub mod options;
pub mod provider;
pub mod queue;
pub mod service;
pub mod serving;
