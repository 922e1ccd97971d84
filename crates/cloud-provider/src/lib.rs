//! A generic Kubernetes cloud-controller-manager framework, the Rust counterpart of
//! `k8s.io/cloud-provider`: the provider traits ([`provider`]), the upstream controllers
//! ([`node`], [`service`]), leader election ([`leader`]), health and metrics serving
//! ([`serving`], [`metrics`]), the standard flags ([`options`]) and the manager that ties them
//! together ([`app`]).
//!
//! This crate knows Kubernetes and no cloud; decisions are pure functions next to the
//! controllers that apply them.
#![warn(missing_docs)]

pub mod access;
pub mod app;
pub mod events;
pub mod kube_client;
pub mod labels;
pub mod leader;
pub mod metrics;
pub mod node;
pub mod options;
pub mod provider;
pub mod queue;
pub mod service;
pub mod serving;
