//! The library entry point: build, start on loopback, inspect and stop a simulator in-process.

use crate::admin;
use crate::app::{App, Config, lock};
use crate::error::{ApiError, SimError};
use crate::faults::{FaultRule, Faults, LatencyRule};
use crate::metrics::{CounterEntry, LogEntry, Metrics};
use crate::model::InstanceStatus;
use crate::persist;
use crate::rng::XorShift;
use crate::scenario::{Applied, Scenario};
use crate::store::State;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Default access token accepted by the simulator.
pub const DEFAULT_TOKEN: &str = "sacloud-sim-token";
/// Default access token secret accepted by the simulator.
pub const DEFAULT_SECRET: &str = "sacloud-sim-secret";
/// Default boot delay (create/boot → `up`).
pub const DEFAULT_BOOT_DELAY: Duration = Duration::from_secs(3);
/// Default time an appliance or server spends in `cleaning` on shutdown.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(1);
/// Default time from a Let's Encrypt renew request to the certificate's appearance.
pub const DEFAULT_LETS_ENCRYPT_DELAY: Duration = Duration::from_secs(3);

/// Entry point: `Simulator::builder()…start().await`.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// A builder with the defaults: `127.0.0.1:0`, default credentials, 3 s boot delay, 1 s
    /// shutdown delay, 3 s Let's Encrypt delay, empty state, no state file.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: DEFAULT_TOKEN.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            boot_delay: DEFAULT_BOOT_DELAY,
            shutdown_delay: DEFAULT_SHUTDOWN_DELAY,
            lets_encrypt_delay: DEFAULT_LETS_ENCRYPT_DELAY,
            scenario: None,
            state_file: None,
            seed: None,
            permission: DEFAULT_PERMISSION.to_owned(),
        }
    }
}

/// The API key's permission level `auth-status` reports by default.
pub const DEFAULT_PERMISSION: &str = "create";

/// Configures a simulator before it starts.
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    listen: SocketAddr,
    token: String,
    secret: String,
    boot_delay: Duration,
    shutdown_delay: Duration,
    lets_encrypt_delay: Duration,
    scenario: Option<Scenario>,
    state_file: Option<PathBuf>,
    seed: Option<u64>,
    permission: String,
}

impl SimulatorBuilder {
    /// Address to bind; port 0 picks a free port (see [`RunningSimulator::addr`]).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Credentials clients must send with HTTP Basic auth.
    pub fn credentials(mut self, token: impl Into<String>, secret: impl Into<String>) -> Self {
        self.token = token.into();
        self.secret = secret.into();
        self
    }

    /// Time from appliance creation (or a boot request) to `available`/`up`. Use zero in tests.
    pub fn boot_delay(mut self, d: Duration) -> Self {
        self.boot_delay = d;
        self
    }

    /// Time spent in `cleaning` after a shutdown request. Use zero in tests.
    pub fn shutdown_delay(mut self, d: Duration) -> Self {
        self.shutdown_delay = d;
        self
    }

    /// Time from an Enhanced Load Balancer's Let's Encrypt renew request until the certificate
    /// shows in its certificates. Use a short one in tests (zero: on the next request).
    pub fn lets_encrypt_delay(mut self, d: Duration) -> Self {
        self.lets_encrypt_delay = d;
        self
    }

    /// Resources to create at start (ignored when a state file already exists).
    pub fn scenario(mut self, sc: Scenario) -> Self {
        self.scenario = Some(sc);
        self
    }

    /// Persist state here after every change and load it at start if it exists.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// The permission level `auth-status` reports (`create`, `arrange`, `view`, ...). Only
    /// reported: every request is still served, as with a key that has `create`.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permission = permission.into();
        self
    }

    /// Seed the random source (error serials, fault rates, jitter) for reproducible runs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Bind and start serving on the current tokio runtime.
    pub async fn start(self) -> Result<RunningSimulator, SimError> {
        let mut state = match &self.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let from_file = state.is_some();
        if state.is_none() {
            let mut st = State::default();
            if let Some(sc) = &self.scenario {
                let now = st.now_ms();
                crate::scenario::apply(&mut st, sc, now).map_err(SimError::Scenario)?;
            }
            state = Some(st);
        }
        let state = state.unwrap_or_default();
        if let (Some(path), false) = (&self.state_file, from_file) {
            persist::save(path, &state)?;
        }
        let app = Arc::new(App {
            state: Mutex::new(state),
            faults: Mutex::new(Faults::default()),
            metrics: Mutex::new(Metrics::default()),
            rng: Mutex::new(self.seed.map_or_else(XorShift::from_time, XorShift::new)),
            config: Config {
                token: self.token,
                secret: self.secret,
                boot_delay: self.boot_delay,
                shutdown_delay: self.shutdown_delay,
                lets_encrypt_delay: self.lets_encrypt_delay,
                state_file: self.state_file,
                permission: self.permission,
            },
        });
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: self.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let router = crate::http::router(app.clone());
        let task = tokio::spawn(crate::serve::accept_loop(listener, router, rx));
        tracing::info!(%addr, loaded_state = from_file, "sacloud-sim started");
        Ok(RunningSimulator {
            addr,
            handle: SimHandle(app),
            stop: Some(tx),
            task: Some(task),
        })
    }
}

/// A simulator serving on loopback. Dropping it stops the server (without waiting); prefer
/// [`RunningSimulator::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct RunningSimulator {
    addr: SocketAddr,
    handle: SimHandle,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `SAKURACLOUD_API_ROOT_URL`, e.g. `http://127.0.0.1:41234`; clients append
    /// `/{zone}/api/cloud/1.1/…`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API root of one zone, e.g. `http://127.0.0.1:41234/is1a/api/cloud/1.1`.
    pub fn zone_url(&self, zone: &str) -> String {
        format!("{}/{zone}/api/cloud/1.1", self.base_url())
    }

    /// Accepted access token.
    pub fn token(&self) -> &str {
        &self.handle.0.config.token
    }

    /// Accepted access token secret.
    pub fn secret(&self) -> &str {
        &self.handle.0.config.secret
    }

    /// Direct access to state, faults and counters.
    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// Stop accepting connections and wait for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
    }
}

/// A cheap, cloneable handle to a running simulator's internals (what the admin API exposes).
#[derive(Debug, Clone)]
pub struct SimHandle(Arc<App>);

fn to_sim(e: ApiError) -> SimError {
    SimError::Scenario(e.message)
}

impl SimHandle {
    /// The whole state as JSON (same document as `GET /_sim/state` and the state file).
    pub fn dump(&self) -> serde_json::Value {
        serde_json::to_value(&*lock(&self.0.state)).unwrap_or(serde_json::Value::Null)
    }

    /// Add the scenario's resources to the current state (all or nothing).
    pub fn load_scenario(&self, sc: &Scenario) -> Result<Applied, SimError> {
        admin::load_scenario(&self.0, sc, false).map_err(to_sim)
    }

    /// Empty the store and drop fault rules and counters.
    pub fn reset(&self) {
        admin::reset(&self.0);
    }

    /// Move simulated time forward; due transitions complete. Returns how many did.
    pub fn advance(&self, by: Duration) -> u64 {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        admin::advance(&self.0, Some(ms))["completed"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Finish every pending boot/shutdown/creation now. Returns how many.
    pub fn complete_transitions(&self) -> u64 {
        admin::advance(&self.0, None)["completed"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Force a server up or down immediately.
    pub fn set_server_power(&self, id: u64, up: bool) -> Result<(), SimError> {
        let status = if up {
            InstanceStatus::Up
        } else {
            InstanceStatus::Down
        };
        admin::set_power(&self.0, "servers", id, status).map_err(to_sim)
    }

    /// Set the health the Enhanced Load Balancer `id` reports for its real server `ip:port`
    /// (`port` `None`: every port of `ip`) to `up`, `down` or `cleaning`; `None` returns it to
    /// the default (down only when `ip` is a stopped simulated server).
    pub fn set_proxylb_server_health(
        &self,
        id: u64,
        ip: std::net::Ipv4Addr,
        port: Option<u16>,
        status: Option<&str>,
    ) -> Result<(), SimError> {
        admin::set_proxylb_health(&self.0, id, ip, port, status).map_err(to_sim)
    }

    /// Make the load balancer `id`'s real server `ip:port` fail (`"down"`) or pass (`"up"`) its
    /// health check (`port` `None`: every port of `ip`); `None` returns it to the default (up
    /// when `ip` belongs to a running simulated server).
    pub fn set_lb_server_health(
        &self,
        id: u64,
        ip: std::net::Ipv4Addr,
        port: Option<u16>,
        status: Option<&str>,
    ) -> Result<(), SimError> {
        admin::set_lb_health(&self.0, id, ip, port, status).map_err(to_sim)
    }

    /// Remove a server.
    pub fn remove_server(&self, id: u64) -> Result<(), SimError> {
        admin::remove(&self.0, "servers", id).map_err(to_sim)
    }

    /// Current fault rules.
    pub fn faults(&self) -> Faults {
        lock(&self.0.faults).clone()
    }

    /// Replace all fault rules.
    pub fn set_faults(&self, f: Faults) {
        *lock(&self.0.faults) = f;
    }

    /// Add an error rule (after the existing ones): an [`crate::ErrorRule`] fails requests
    /// before they are served; `ErrorRule {…}.after()` lets the change happen and loses the
    /// answer, `.dropping()` closes the connection instead of answering.
    pub fn add_error_rule(&self, r: impl Into<FaultRule>) -> Result<(), SimError> {
        let r = r.into();
        r.validate().map_err(SimError::Scenario)?;
        lock(&self.0.faults).errors.push(r);
        Ok(())
    }

    /// Add a latency rule.
    pub fn add_latency_rule(&self, r: LatencyRule) {
        lock(&self.0.faults).latency.push(r);
    }

    /// Request counters by method, path template and status.
    pub fn counters(&self) -> Vec<CounterEntry> {
        lock(&self.0.metrics).counters()
    }

    /// Sum of counters matching a method and path template (any status).
    pub fn count(&self, method: &str, template: &str) -> u64 {
        self.counters()
            .iter()
            .filter(|c| c.method == method && c.path == template)
            .map(|c| c.count)
            .sum()
    }

    /// The recent request log, oldest first.
    pub fn request_log(&self) -> Vec<LogEntry> {
        lock(&self.0.metrics).log()
    }

    /// Forget counters and the log.
    pub fn clear_counters(&self) {
        lock(&self.0.metrics).clear();
    }
}
