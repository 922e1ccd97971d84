//! Shared application state behind the HTTP server and the library handle.

use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::rng::XorShift;
use crate::store::State;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Fixed configuration of a running simulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// Accepted access token.
    pub token: String,
    /// Accepted access token secret.
    pub secret: String,
    /// Time from create/boot to `up`.
    pub boot_delay: Duration,
    /// Time spent in `cleaning` on shutdown.
    pub shutdown_delay: Duration,
    /// Time from a Let's Encrypt renew request to the certificate's appearance.
    pub lets_encrypt_delay: Duration,
    /// Where state is persisted, if anywhere.
    pub state_file: Option<PathBuf>,
    /// The permission level `auth-status` reports.
    pub permission: String,
}

/// Everything the handlers share. Separate locks so fault decisions and counters never wait for
/// a long state operation.
#[derive(Debug)]
pub struct App {
    /// Resources.
    pub state: Mutex<State>,
    /// Fault rules.
    pub faults: Mutex<Faults>,
    /// Counters and request log.
    pub metrics: Mutex<Metrics>,
    /// Randomness for serials, jitter and fault rates.
    pub rng: Mutex<XorShift>,
    /// Configuration.
    pub config: Config,
}

/// Lock a mutex, recovering the data if a previous holder panicked: a simulator should keep
/// serving rather than turn one bug into a cascade of poisoned-lock panics.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl App {
    /// Persist the state if a state file is configured; failures are logged, not fatal.
    pub fn persist(&self, st: &State) {
        if let Some(path) = &self.config.state_file
            && let Err(e) = crate::persist::save(path, st)
        {
            tracing::warn!("could not write state file: {e}");
        }
    }

    /// A fresh 32-hex error serial.
    pub fn serial(&self) -> String {
        lock(&self.rng).hex32()
    }

    /// Boot delay in ms.
    pub fn boot_ms(&self) -> u64 {
        u64::try_from(self.config.boot_delay.as_millis()).unwrap_or(u64::MAX)
    }

    /// Shutdown delay in ms.
    pub fn shutdown_ms(&self) -> u64 {
        u64::try_from(self.config.shutdown_delay.as_millis()).unwrap_or(u64::MAX)
    }

    /// Let's Encrypt issuance delay in ms.
    pub fn lets_encrypt_ms(&self) -> u64 {
        u64::try_from(self.config.lets_encrypt_delay.as_millis()).unwrap_or(u64::MAX)
    }
}
