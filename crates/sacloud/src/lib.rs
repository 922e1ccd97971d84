//! A typed, frugal client for the SAKURA Cloud IaaS API (`api/cloud/1.1`).
//!
//! - One [`Client`] per zone; clones share one connection pool, one rate limiter
//!   ([`config::RateLimit`], default 5 requests/s with bursts of 10) and one metrics observer.
//! - Listings page transparently: `find_*` methods return every match, however many.
//! - Safe requests (GET, PUT, DELETE) are retried with exponential backoff and jitter on 423,
//!   429 (honouring `Retry-After`), 503 and transport errors; creates (POST) never are
//!   (see [`retry`]).
//! - Credentials and TLS private keys are [`Secret`]s: never in `Debug`, errors or logs.
//! - Global resources (the Enhanced Load Balancer, [`api::proxy_lb`]) are always called in
//!   zone [`Zone::GLOBAL`] (`is1a`), whatever the client's zone.
//!
//! No Kubernetes here: this crate only speaks SAKURA Cloud.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sacloud::{Client, Config, Filter};
//! let client = Client::new(Config::from_env()?)?;
//! let routers = client.find_internets(&Filter::new().tags_all(["@k8s"])).await?;
//! println!("{} routers tagged @k8s", routers.len());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
mod client;
pub mod config;
mod error;
mod find;
pub mod metrics;
mod rate_limit;
pub mod retry;
mod secret;
pub mod wire;
pub mod zone;

pub use api::auth_status::AuthStatus;
pub use api::bridge::{Bridge, BridgeRef};
pub use api::common::{Availability, Instance, InstanceStatus, Scope};
pub use api::internet::Internet;
pub use api::load_balancer::{
    HealthCheck, HealthCheckProtocol, LoadBalancer, LoadBalancerCreate, LoadBalancerSettings,
    LoadBalancerUpdate, RealServer, VirtualIpAddress,
};
pub use api::proxy_lb::{
    BindPort, LetsEncrypt, ProxyLb, ProxyLbCertificate, ProxyLbCertificates, ProxyLbCreate,
    ProxyLbHealth, ProxyLbHealthCheck, ProxyLbHealthCheckProtocol, ProxyLbPlan, ProxyLbRegion,
    ProxyLbServer, ProxyLbServerHealth, ProxyLbSettings, ProxyLbUpdate, ProxyMode,
    ServerHealthStatus, SslPolicy,
};
pub use api::server::{Interface, NicConnection, Server};
pub use api::switch::{IpRange, Switch};
pub use client::{Client, Page};
pub use config::{Config, ConfigError, RateLimit, RetryPolicy};
pub use error::{ApiError, Error, ErrorEnvelope};
pub use find::Filter;
pub use metrics::{RequestEvent, RequestObserver};
pub use secret::Secret;
pub use wire::{Id, StringFlag, StringNumber};
pub use zone::{Region, UnknownZone, Zone};
