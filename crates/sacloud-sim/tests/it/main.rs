//! Integration tests: HTTP against an in-process simulator on 127.0.0.1:0. One test binary with
//! modules keeps link time low. Every module is `cfg(test)` so clippy treats helpers as test
//! code (unwrap allowed there by clippy.toml).

#[cfg(test)]
mod admin;
#[cfg(test)]
mod api;
#[cfg(test)]
mod bridges;
#[cfg(test)]
mod common;
#[cfg(test)]
mod error_envelopes;
#[cfg(test)]
mod faults_after;
#[cfg(test)]
mod find;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod lb;
#[cfg(test)]
mod lb_health;
#[cfg(test)]
mod perf;
#[cfg(test)]
mod persist;
#[cfg(test)]
mod proxylb;
#[cfg(test)]
mod proxylb_certs;
#[cfg(test)]
mod real_clients;
#[cfg(test)]
mod servers;
#[cfg(test)]
mod validation;
