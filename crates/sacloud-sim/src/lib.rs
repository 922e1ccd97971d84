//! A local simulator of the SAKURA Cloud IaaS API (`api/cloud/1.1`).
//!
//! It serves `/{zone}/api/cloud/1.1/…` and `/cloud/zone/{zone}/api/cloud/1.1/…` on loopback with
//! HTTP Basic auth, and models what a cloud controller manager touches: auth-status, zones,
//! servers (with power), switches, routers (`internet`) with their global subnets, the
//! load-balancer appliance with its lifecycle, validation rules and error envelopes, and the
//! global Enhanced Load Balancer (`commonserviceitem`, ProxyLB) with its certificates. A
//! simulator-only admin API under `/_sim/` seeds resources, injects faults and exposes counters.
//!
//! Start one in-process (tests in other crates do this):
//!
//! ```no_run
//! # async fn demo() -> Result<(), sacloud_sim::SimError> {
//! use std::time::Duration;
//! let sc = sacloud_sim::Scenario::parse("routers: [{name: k8s-router, tags: ['@k8s']}]")?;
//! let sim = sacloud_sim::Simulator::builder()
//!     .boot_delay(Duration::ZERO)
//!     .credentials("token", "secret")
//!     .scenario(sc)
//!     .start()
//!     .await?;
//! println!("SAKURACLOUD_API_ROOT_URL={}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The wire format is written from the reference notes only and shares no code with the
//! `sacloud` client crate, so each checks the other. See `docs/simulator.md`.
#![warn(missing_docs)]

mod admin;
mod app;
mod auth;
mod bridge;
mod cert;
mod conn;
pub mod duration;
mod error;
mod faults;
mod find;
mod http;
mod ip;
mod lb;
mod lifecycle;
mod metrics;
mod model;
mod persist;
mod proxylb;
mod proxylb_certs;
mod proxylb_settings;
mod render;
mod rng;
mod routes;
mod scenario;
mod serve;
mod sim;
mod store;
mod time;
mod wire;
mod zones;

pub use bridge::{BridgeMember, BridgeSpec};
pub use error::{ApiError, IMPROPER_REQUEST, SimError};
pub use faults::{ErrorRule, FaultPhase, FaultRule, Faults, LatencyRule};
pub use metrics::{CounterEntry, LogEntry};
pub use scenario::{
    ApplianceSpec, Applied, NicSpec, PlanSpec, PowerSpec, ProxyLbSpec, RouterSpec, Scenario,
    ServerSpec, SwitchSpec,
};
pub use sim::{
    DEFAULT_BOOT_DELAY, DEFAULT_LETS_ENCRYPT_DELAY, DEFAULT_PERMISSION, DEFAULT_SECRET,
    DEFAULT_SHUTDOWN_DELAY, DEFAULT_TOKEN, RunningSimulator, SimHandle, Simulator,
    SimulatorBuilder,
};
