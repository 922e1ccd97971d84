//! Integration tests: the fake API server driven through kube-rs and raw HTTP.

// clippy.toml allows unwrap/expect inside #[test] fns only; helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod churn;
mod crud;
mod kubectl_events;
mod kubectl_openapi;
mod kubectl_protobuf;
mod kubectl_tables;
mod raw_http;
mod requests;
mod runtime;
mod saved_state;
mod semantics;
mod support;
mod watching;
