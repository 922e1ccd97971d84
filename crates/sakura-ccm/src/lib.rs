//! The SAKURA Cloud provider for the `cloud-provider` framework.
//!
//! It holds the provider's configuration ([`config`]) and its *decisions* as pure functions: which Service
//! annotations mean what, how load-balancer appliances are named and when one is ours, which
//! router or switch a load balancer goes on and which addresses it gets, what its settings
//! should be, and what a server means to a Node (provider ID, addresses, labels, matching).
//! None of them does I/O; the provider glue that calls the SAKURA Cloud API and Kubernetes
//! builds on them.
#![warn(missing_docs)]

pub mod access;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod doctor;
pub mod provider;
#[cfg(feature = "sandbox")]
pub mod sandbox;
