//! Leader election over a `coordination.k8s.io/v1` Lease, faithful to client-go's
//! `leaderelection` package: only one replica of the cloud-controller-manager runs the
//! controllers at a time.
//!
//! Every attempt reads the Lease and writes it back with the `resourceVersion` it read, so two
//! candidates can never both win a write. A lease held by someone else is only taken over after
//! it has not changed for `leaseDurationSeconds` of *local* time since this candidate last saw it
//! change (client-go's `observedTime`), so clock skew between candidates does not matter.
//! Candidates also watch the Lease and try at once when it is released or deleted, so a leader
//! stopped with SIGTERM is replaced within about a second.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::channel::oneshot;
use futures::future::{FutureExt, Map, Shared};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::time::Instant;

use crate::events::EventPublisher;

/// client-go's `JitterFactor`: campaign attempts are spaced `retry_period * (1 + rand * 1.2)`.
pub const JITTER_FACTOR: f64 = 1.2;

/// The upstream tolerance of the `/healthz` leader-election check (client-go
/// `NewLeaderHealthzAdaptor(20 * time.Second)` in the controller manager).
pub const HEALTHZ_TOLERANCE: Duration = Duration::from_secs(20);

/// Reason of the Events recorded on the Lease (upstream's).
pub const REASON_LEADER_ELECTION: &str = "LeaderElection";

/// How many times a release re-reads the Lease after a conflict before leaving it to expire.
const RELEASE_ATTEMPTS: u32 = 3;

/// Settings of leader election (the `--leader-elect-*` flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// Name of the Lease (`--leader-elect-resource-name`, default `cloud-controller-manager`).
    pub lease_name: String,
    /// Namespace of the Lease (`--leader-elect-resource-namespace`, default `kube-system`).
    pub lease_namespace: String,
    /// This candidate's identity, written as the Lease's `holderIdentity`
    /// (default [`default_identity`]). Must be unique among candidates.
    pub identity: String,
    /// How long standbys wait, after last seeing the Lease change, before taking it over
    /// (`--leader-elect-lease-duration`, default 15 s). Written to the Lease rounded up to whole
    /// seconds.
    pub lease_duration: Duration,
    /// How long the leader keeps retrying a renewal, counted from its last successful one,
    /// before it gives up leading (`--leader-elect-renew-deadline`, default 10 s).
    pub renew_deadline: Duration,
    /// How long candidates wait between attempts (`--leader-elect-retry-period`, default 2 s).
    pub retry_period: Duration,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        Self {
            lease_name: "cloud-controller-manager".to_owned(),
            lease_namespace: "kube-system".to_owned(),
            identity: default_identity(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Leader election settings that cannot work; the message names the offending flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid leader election settings: {0}")]
pub struct InvalidConfig(pub String);

impl LeaderElectionConfig {
    /// client-go's rules: all durations positive, `lease_duration > renew_deadline >
    /// retry_period * 1.2`; plus non-empty names and identity. The first problem, if any.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(InvalidConfig(problem)),
            None => Ok(()),
        }
    }

    /// Every problem [`LeaderElectionConfig::validate`] checks for, each naming its flag.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.lease_name.is_empty() {
            problems.push("--leader-elect-resource-name must not be empty".to_owned());
        }
        if self.lease_namespace.is_empty() {
            problems.push("--leader-elect-resource-namespace must not be empty".to_owned());
        }
        if self.identity.is_empty() {
            problems.push("the candidate identity must not be empty".to_owned());
        }
        for (flag, d) in [
            ("--leader-elect-lease-duration", self.lease_duration),
            ("--leader-elect-renew-deadline", self.renew_deadline),
            ("--leader-elect-retry-period", self.retry_period),
        ] {
            if d.is_zero() {
                problems.push(format!("{flag} must be greater than 0"));
            }
        }
        if self.lease_duration <= self.renew_deadline {
            problems.push(format!(
                "--leader-elect-lease-duration ({:?}) must be greater than --leader-elect-renew-deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        // Exact integer form of `renew > retry * 1.2`: floating point would misjudge the
        // boundary (2.4 s against 2 s).
        if self.renew_deadline.as_nanos() * 5 <= self.retry_period.as_nanos() * 6 {
            problems.push(format!(
                "--leader-elect-renew-deadline ({:?}) must be greater than {JITTER_FACTOR} x --leader-elect-retry-period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.lease_duration.as_secs() >= i32::MAX as u64 {
            problems.push(format!(
                "--leader-elect-lease-duration ({:?}) is too long",
                self.lease_duration
            ));
        }
        problems
    }
}

/// `<hostname>_<random UUID>`, like upstream's `hostname_<uuid>`: the hostname from `$HOSTNAME`
/// or `/etc/hostname`, `unknown` when neither says. The random part keeps two processes on
/// one host (or a restarted pod) from ever sharing an identity.
pub fn default_identity() -> String {
    let hostname = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok());
    identity_from(hostname.as_deref(), random_u64(), random_u64())
}

fn identity_from(hostname: Option<&str>, hi: u64, lo: u64) -> String {
    let host = hostname.map(str::trim).filter(|h| !h.is_empty());
    format!("{}_{}", host.unwrap_or("unknown"), uuid_v4(hi, lo))
}

/// Formats 128 random bits as an RFC 4122 version-4 UUID.
fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// Random enough for identities and jitter without a random-number crate: every `RandomState`
/// is keyed from the OS's randomness (then advanced per call), and the input varies too.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    hasher.finish()
}

/// A uniformly distributed number in `[0, 1)`.
fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// client-go's `wait.Jitter(period, JitterFactor)` for a given random `unit` in `[0, 1)`.
fn jittered(period: Duration, unit: f64) -> Duration {
    period + period.mul_f64(unit.clamp(0.0, 1.0) * JITTER_FACTOR)
}

fn now_micro() -> MicroTime {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    MicroTime(Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// `leaseDurationSeconds` for `d`: rounded up, so standbys never wait less than the leader's
/// own view of its lease (client-go truncates; rounding up is the safe side).
fn lease_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

fn holder(spec: &LeaseSpec) -> &str {
    spec.holder_identity.as_deref().unwrap_or_default()
}

fn record_duration(spec: &LeaseSpec) -> Duration {
    Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0))
}

/// What one attempt should write, given the Lease it read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// No Lease exists: create it.
    Create,
    /// This candidate holds it: renew.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it over.
    TakeOver,
    /// Another candidate holds a lease that is still valid until `expires` (local time).
    Wait { holder: String, expires: Instant },
}

/// client-go's `tryAcquireOrRenew` decision. `record` is the Lease's spec (`None`: no Lease);
/// `observed_at` is when this candidate last saw that record change.
fn decide(record: Option<&LeaseSpec>, observed_at: Instant, now: Instant, me: &str) -> Decision {
    let Some(spec) = record else {
        return Decision::Create;
    };
    let current = holder(spec);
    if current == me {
        return Decision::Renew;
    }
    if current.is_empty() {
        return Decision::TakeOver;
    }
    let expires = observed_at + record_duration(spec);
    if expires > now {
        Decision::Wait {
            holder: current.to_owned(),
            expires,
        }
    } else {
        Decision::TakeOver
    }
}

/// The spec that makes `me` the holder: renewing keeps `acquireTime` and the transition count,
/// taking over from someone (or from a released lease) counts one more transition.
fn acquired_spec(
    previous: Option<&LeaseSpec>,
    me: &str,
    lease_duration_seconds: i32,
    now: MicroTime,
) -> LeaseSpec {
    let (acquire_time, transitions) = match previous {
        None => (now.clone(), 0),
        Some(p) if holder(p) == me => (
            p.acquire_time.clone().unwrap_or_else(|| now.clone()),
            p.lease_transitions.unwrap_or(0),
        ),
        Some(p) => (
            now.clone(),
            p.lease_transitions.unwrap_or(0).saturating_add(1),
        ),
    };
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(lease_duration_seconds),
        acquire_time: Some(acquire_time),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

/// client-go's `ReleaseOnCancel` record: no holder, a 1 s lease, transitions kept.
fn released_spec(previous: &LeaseSpec, now: MicroTime) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(String::new()),
        lease_duration_seconds: Some(1),
        acquire_time: Some(now.clone()),
        renew_time: Some(now),
        lease_transitions: Some(previous.lease_transitions.unwrap_or(0)),
        ..LeaseSpec::default()
    }
}

/// The last Lease record seen and when (local time) it was first seen in that form.
#[derive(Debug, Clone)]
struct Observer {
    record: Option<LeaseSpec>,
    at: Instant,
}

impl Observer {
    fn new(now: Instant) -> Self {
        Self {
            record: None,
            at: now,
        }
    }

    /// Records `record` (`None`: no Lease); the time moves only when the record changed.
    fn observe(&mut self, record: Option<&LeaseSpec>, now: Instant) {
        if self.record.as_ref() != record {
            self.record = record.cloned();
            self.at = now;
        }
    }
}

/// Whether a watch event says the Lease is free (released or deleted), after noting the
/// record it shows.
fn frees_lease(observer: &mut Observer, event: &watcher::Event<Lease>, now: Instant) -> bool {
    match event {
        watcher::Event::Apply(lease) | watcher::Event::InitApply(lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            observer.observe(Some(&spec), now);
            holder(&spec).is_empty()
        }
        watcher::Event::Delete(_) => {
            observer.observe(None, now);
            true
        }
        watcher::Event::Init | watcher::Event::InitDone => false,
    }
}

/// Cheap, clonable view of this candidate's state, for health checks and metrics.
#[derive(Debug, Clone)]
pub struct LeaderStatus {
    shared: Arc<StatusShared>,
}

#[derive(Debug)]
struct StatusShared {
    identity: String,
    lease: String,
    lease_duration: Duration,
    state: Mutex<StatusState>,
}

#[derive(Debug, Clone, Default)]
struct StatusState {
    holder: Option<String>,
    last_renewed: Option<Instant>,
}

impl LeaderStatus {
    fn new(config: &LeaderElectionConfig) -> Self {
        Self {
            shared: Arc::new(StatusShared {
                identity: config.identity.clone(),
                lease: format!("{}/{}", config.lease_namespace, config.lease_name),
                lease_duration: config.lease_duration,
                state: Mutex::default(),
            }),
        }
    }

    fn update(&self, f: impl FnOnce(&mut StatusState)) {
        f(&mut self.shared.state.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn snapshot(&self) -> StatusState {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn observed(&self, record: Option<&LeaseSpec>) {
        let h = record
            .map(holder)
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
        self.update(|s| s.holder = h);
    }

    fn renewed(&self, at: Instant) {
        let me = self.shared.identity.clone();
        self.update(|s| {
            s.holder = Some(me);
            s.last_renewed = Some(at);
        });
    }

    /// Whether the last Lease record this candidate saw names it as holder (client-go's
    /// `IsLeader`). After a renewal deadline passes this stays true (nothing says someone else
    /// holds the lease), so [`check`](Self::check) reports the stale lease.
    pub fn is_leader(&self) -> bool {
        self.snapshot().holder.as_deref() == Some(self.identity())
    }

    /// The holder the last Lease record this candidate saw names (client-go's `GetLeader`);
    /// `None` before the first read, when the Lease is missing or released.
    pub fn leader(&self) -> Option<String> {
        self.snapshot().holder
    }

    /// Err(reason) only while leading and the last successful acquire/renew is older than
    /// `lease_duration + tolerance` (client-go `HealthzAdaptor`; upstream's tolerance is
    /// [`HEALTHZ_TOLERANCE`]). A standby is healthy.
    pub fn check(&self, tolerance: Duration) -> Result<(), String> {
        let state = self.snapshot();
        let leading = state.holder.as_deref() == Some(self.identity());
        stale_check(
            leading,
            state.last_renewed,
            Instant::now(),
            self.shared.lease_duration + tolerance,
        )
        .map_err(|age| {
            format!(
                "failed election to renew leadership on lease {}: last renewed {:.1}s ago (limit {:?})",
                self.shared.lease,
                age.as_secs_f64(),
                self.shared.lease_duration + tolerance
            )
        })
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.shared.identity
    }
}

/// Err(age of the last renewal) when leading on a renewal older than `limit`.
fn stale_check(
    leading: bool,
    last_renewed: Option<Instant>,
    now: Instant,
    limit: Duration,
) -> Result<(), Duration> {
    match last_renewed {
        Some(at) if leading && now.saturating_duration_since(at) > limit => {
            Err(now.saturating_duration_since(at))
        }
        _ => Ok(()),
    }
}

/// How [`LeaderElector::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderOutcome {
    /// `shutdown` completed before this candidate ever led.
    NeverLed,
    /// Led, then `shutdown` completed: `lead` was stopped and awaited, and the lease was released.
    Released,
    /// Led, then failed to renew within renew_deadline (or saw another holder): `lead` was stopped
    /// and awaited, the lease was not released. The caller (the binary) exits non-zero on this,
    /// like upstream's `klog.FlushAndExit(1)`.
    Lost,
    /// Led, and `lead` returned before being told to stop: the lease was released so a standby
    /// takes over at once instead of this process holding it while doing nothing. The caller
    /// should treat this as a failure (exit non-zero).
    LeadReturned,
}

type StopFuture = Shared<Map<oneshot::Receiver<()>, fn(Result<(), oneshot::Canceled>)>>;

/// Completes when the leader must stop: leadership was lost, shutdown was requested, or the
/// elector's `run` future was dropped. Clonable; every clone completes. `Send + Sync + 'static`,
/// so it can be handed to spawned tasks and to kube-runtime's `graceful_shutdown_on`.
#[derive(Clone)]
pub struct StopSignal(StopFuture);

impl StopSignal {
    fn new() -> (oneshot::Sender<()>, Self) {
        let (tx, rx) = oneshot::channel();
        // A dropped sender (the elector's future was dropped) stops the leader too.
        let done: fn(Result<(), oneshot::Canceled>) = |_| ();
        (tx, Self(rx.map(done).shared()))
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopSignal")
            .field("stopped", &self.0.peek().is_some())
            .finish()
    }
}

impl Future for StopSignal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

/// What one read-then-write attempt found.
#[derive(Debug)]
enum Attempt {
    /// This candidate holds the lease now (created, renewed or taken over).
    Held,
    /// Another candidate holds a valid lease.
    HeldBy { holder: String, expires: Instant },
    /// Another writer changed the Lease between our read and write (409).
    Conflict,
}

/// Why a leader stopped leading.
#[derive(Debug)]
enum LostReason {
    Deadline,
    OtherHolder(String),
}

enum Ending {
    Lost(LostReason),
    Shutdown,
    LeadReturned,
}

/// A candidate in a leader election. Call [`run`](Self::run) once.
pub struct LeaderElector {
    leases: Api<Lease>,
    config: LeaderElectionConfig,
    status: LeaderStatus,
    events: EventPublisher,
    lease: String,
}

impl LeaderElector {
    /// A candidate using `client`. Fails when `config` does not pass
    /// [`LeaderElectionConfig::validate`], so an elector with unsafe timings cannot exist.
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Result<Self, InvalidConfig> {
        config.validate()?;
        Ok(Self {
            leases: Api::namespaced(client.clone(), &config.lease_namespace),
            status: LeaderStatus::new(&config),
            events: EventPublisher::new(client, "cloud-controller-manager"),
            lease: format!("{}/{}", config.lease_namespace, config.lease_name),
            config,
        })
    }

    /// A view of this candidate's state that stays valid while and after `run` runs.
    pub fn status(&self) -> LeaderStatus {
        self.status.clone()
    }

    /// Campaigns until leader, then runs `lead(stop)`, where `stop` completes when leadership is
    /// lost or shutdown is requested; renews while leading. When `shutdown` completes while
    /// leading, renewal goes on until `lead`'s future has finished, then the lease is released.
    /// Dropping this future (e.g. aborting its task) neither renews nor releases: the lease
    /// expires.
    pub async fn run<F, Fut>(
        &self,
        shutdown: impl Future<Output = ()> + Send,
        lead: F,
    ) -> LeaderOutcome
    where
        F: FnOnce(StopSignal) -> Fut + Send,
        Fut: Future<Output = ()> + Send,
    {
        let mut shutdown = pin!(shutdown);
        let mut observer = Observer::new(Instant::now());
        let Some(acquired_at) = self.campaign(&mut observer, shutdown.as_mut()).await else {
            tracing::info!(lease = %self.lease, "shutdown before leading");
            return LeaderOutcome::NeverLed;
        };
        tracing::info!(lease = %self.lease, identity = %self.config.identity, "became leader");

        let (stop_tx, stop) = StopSignal::new();
        let mut lead = pin!(lead(stop));
        let mut renewing = pin!(self.keep_renewing(observer, acquired_at));
        let ending = tokio::select! {
            biased;
            lost = &mut renewing => Ending::Lost(lost),
            () = &mut shutdown => Ending::Shutdown,
            () = &mut lead => Ending::LeadReturned,
        };
        let _ = stop_tx.send(());
        let outcome = match ending {
            Ending::Lost(reason) => {
                self.log_lost(&reason);
                lead.await;
                LeaderOutcome::Lost
            }
            Ending::Shutdown => {
                tracing::info!(lease = %self.lease, "shutting down: stopping the leader's work");
                // Renewal goes on meanwhile: the lease must not lapse under work still running.
                let lost = tokio::select! {
                    biased;
                    () = &mut lead => None,
                    lost = &mut renewing => Some(lost),
                };
                match lost {
                    None => {
                        self.release().await;
                        LeaderOutcome::Released
                    }
                    Some(reason) => {
                        self.log_lost(&reason);
                        lead.await;
                        LeaderOutcome::Lost
                    }
                }
            }
            Ending::LeadReturned => {
                tracing::error!(lease = %self.lease, "the leader's work returned before being stopped; releasing the lease");
                self.release().await;
                LeaderOutcome::LeadReturned
            }
        };
        self.record_event(format!("{} stopped leading", self.config.identity))
            .await;
        outcome
    }

    fn log_lost(&self, reason: &LostReason) {
        match reason {
            LostReason::Deadline => tracing::error!(
                lease = %self.lease,
                renew_deadline = ?self.config.renew_deadline,
                "leader election lost: could not renew the lease in time"
            ),
            LostReason::OtherHolder(holder) => tracing::error!(
                lease = %self.lease,
                %holder,
                "leader election lost: the lease names another holder"
            ),
        }
    }

    /// Tries every jittered retry period, and at once when the watched Lease is released or
    /// deleted or the observed holder's lease expires. Returns when this candidate acquired the
    /// lease (the attempt's start), or `None` when `shutdown` completed first.
    async fn campaign<S: Future<Output = ()>>(
        &self,
        observer: &mut Observer,
        mut shutdown: Pin<&mut S>,
    ) -> Option<Instant> {
        let watch = watcher(
            self.leases.clone(),
            watcher::Config::default().fields(&format!("metadata.name={}", self.config.lease_name)),
        )
        .default_backoff();
        let mut watch = pin!(watch);
        let mut watching = true;
        let mut watch_failed = false;
        loop {
            let started = Instant::now();
            // Bounded so a hung connection cannot stall the campaign; racing `shutdown` keeps
            // SIGTERM prompt (an attempt cut short at worst leaves a lease that expires).
            let result = tokio::select! {
                biased;
                () = &mut shutdown => return None,
                r = tokio::time::timeout(self.config.renew_deadline, self.attempt(observer, started)) => r,
            };
            let mut next = Instant::now() + jittered(self.config.retry_period, random_unit());
            match result {
                Ok(Ok(Attempt::Held)) => return Some(started),
                Ok(Ok(Attempt::HeldBy { holder, expires })) => {
                    tracing::debug!(lease = %self.lease, %holder, "lease is held by another candidate");
                    if expires > Instant::now() {
                        next = next.min(expires);
                    }
                }
                Ok(Ok(Attempt::Conflict)) => {
                    tracing::debug!(lease = %self.lease, "another candidate wrote the lease first");
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.lease, %error, "could not acquire the lease");
                }
                Err(_) => {
                    tracing::warn!(lease = %self.lease, "acquiring the lease timed out");
                }
            }
            loop {
                tokio::select! {
                    biased;
                    () = &mut shutdown => return None,
                    event = watch.next(), if watching => match event {
                        Some(Ok(event)) => {
                            let free = frees_lease(observer, &event, Instant::now());
                            self.status.observed(observer.record.as_ref());
                            if free {
                                tracing::debug!(lease = %self.lease, "lease released or deleted; trying now");
                                break;
                            }
                        }
                        // Warned once: without `list`/`watch` on leases (RBAC) failover still
                        // works, only slower, and the watcher retries with backoff.
                        Some(Err(error)) if !watch_failed => {
                            watch_failed = true;
                            tracing::warn!(lease = %self.lease, %error, "cannot watch the lease; takeover after a release waits for the next retry");
                        }
                        Some(Err(error)) => {
                            tracing::debug!(lease = %self.lease, %error, "lease watch failed; polling goes on");
                        }
                        None => watching = false,
                    },
                    () = tokio::time::sleep_until(next) => break,
                }
            }
        }
    }

    /// Renews every retry period; returns when a renewal did not succeed within the renew
    /// deadline of the previous one, or the Lease names someone else.
    async fn keep_renewing(&self, mut observer: Observer, acquired_at: Instant) -> LostReason {
        let retry = self.config.retry_period;
        let mut last_renewed = acquired_at;
        let mut next = acquired_at + retry;
        self.record_event(format!("{} became leader", self.config.identity))
            .await;
        loop {
            let deadline = last_renewed + self.config.renew_deadline;
            if next >= deadline {
                tokio::time::sleep_until(deadline).await;
                return LostReason::Deadline;
            }
            tokio::time::sleep_until(next).await;
            let started = Instant::now();
            match tokio::time::timeout_at(deadline, self.attempt(&mut observer, started)).await {
                Ok(Ok(Attempt::Held)) => last_renewed = started,
                Ok(Ok(Attempt::HeldBy { holder, .. })) => return LostReason::OtherHolder(holder),
                Ok(Ok(Attempt::Conflict)) => {
                    tracing::warn!(lease = %self.lease, "renewing the lease conflicted; retrying");
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.lease, %error, "could not renew the lease; retrying");
                }
                Err(_) => return LostReason::Deadline,
            }
            next = Instant::now() + retry;
        }
    }

    /// One `tryAcquireOrRenew`: read the Lease, decide, write with the read `resourceVersion`.
    async fn attempt(
        &self,
        observer: &mut Observer,
        started: Instant,
    ) -> Result<Attempt, kube::Error> {
        let current = self.leases.get_opt(&self.config.lease_name).await?;
        self.decide_and_write(current, observer, started).await
    }

    async fn decide_and_write(
        &self,
        current: Option<Lease>,
        observer: &mut Observer,
        started: Instant,
    ) -> Result<Attempt, kube::Error> {
        let me = self.config.identity.as_str();
        let record = current.as_ref().map(|l| l.spec.clone().unwrap_or_default());
        observer.observe(record.as_ref(), Instant::now());
        self.status.observed(record.as_ref());
        let seconds = lease_seconds(self.config.lease_duration);
        let written = match decide(record.as_ref(), observer.at, started, me) {
            Decision::Wait { holder, expires } => return Ok(Attempt::HeldBy { holder, expires }),
            Decision::Create => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.lease_name.clone()),
                        namespace: Some(self.config.lease_namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(acquired_spec(None, me, seconds, now_micro())),
                };
                self.leases.create(&PostParams::default(), &lease).await
            }
            Decision::Renew | Decision::TakeOver => {
                // `current` carries the read resourceVersion: the write is conditional on it.
                let Some(mut lease) = current else {
                    return Ok(Attempt::Conflict);
                };
                lease.spec = Some(acquired_spec(record.as_ref(), me, seconds, now_micro()));
                self.leases
                    .replace(&self.config.lease_name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(lease) => {
                observer.observe(Some(&lease.spec.unwrap_or_default()), Instant::now());
                self.status.renewed(started);
                Ok(Attempt::Held)
            }
            // 409: AlreadyExists on create, Conflict on a stale resourceVersion.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
            Err(error) => Err(error),
        }
    }

    /// Gives the lease up (client-go `ReleaseOnCancel`), only if the Lease still names us.
    async fn release(&self) {
        match tokio::time::timeout(self.config.renew_deadline, self.try_release()).await {
            Ok(Ok(true)) => tracing::info!(lease = %self.lease, "released the lease"),
            Ok(Ok(false)) => {
                tracing::info!(lease = %self.lease, "the lease is not ours any more; nothing to release")
            }
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.lease, %error, "could not release the lease; it will expire")
            }
            Err(_) => {
                tracing::warn!(lease = %self.lease, "releasing the lease timed out; it will expire")
            }
        }
    }

    async fn try_release(&self) -> Result<bool, kube::Error> {
        for _ in 0..RELEASE_ATTEMPTS {
            let Some(mut lease) = self.leases.get_opt(&self.config.lease_name).await? else {
                self.status.observed(None);
                return Ok(false);
            };
            let spec = lease.spec.clone().unwrap_or_default();
            if holder(&spec) != self.config.identity {
                self.status.observed(Some(&spec));
                return Ok(false);
            }
            let released = released_spec(&spec, now_micro());
            lease.spec = Some(released.clone());
            match self
                .leases
                .replace(&self.config.lease_name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => {
                    self.status.observed(Some(&released));
                    return Ok(true);
                }
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(false)
    }

    /// A Normal `LeaderElection` Event on the Lease, as upstream records; bounded in time
    /// because it is a courtesy, not part of the election.
    async fn record_event(&self, note: String) {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.lease_name.clone()),
                namespace: Some(self.config.lease_namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: None,
        };
        let publish =
            self.events
                .normal(&lease, REASON_LEADER_ELECTION, REASON_LEADER_ELECTION, note);
        if tokio::time::timeout(self.config.retry_period, publish)
            .await
            .is_err()
        {
            tracing::debug!(lease = %self.lease, "leader election event timed out");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use super::*;

    fn config() -> LeaderElectionConfig {
        LeaderElectionConfig {
            identity: "me".into(),
            ..LeaderElectionConfig::default()
        }
    }

    fn t(secs: i64) -> MicroTime {
        MicroTime(Timestamp::from_second(secs).unwrap())
    }

    fn spec(holder: &str, duration: i32, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            acquire_time: Some(t(100)),
            renew_time: Some(t(200)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn defaults_are_upstreams_and_valid() {
        let c = LeaderElectionConfig::default();
        assert_eq!(c.lease_name, "cloud-controller-manager");
        assert_eq!(c.lease_namespace, "kube-system");
        assert_eq!(c.lease_duration, Duration::from_secs(15));
        assert_eq!(c.renew_deadline, Duration::from_secs(10));
        assert_eq!(c.retry_period, Duration::from_secs(2));
        assert!(!c.identity.is_empty());
        c.validate().unwrap();
    }

    #[test]
    fn validation_follows_client_go() {
        let ok = |f: fn(&mut LeaderElectionConfig)| {
            let mut c = config();
            f(&mut c);
            c.validate()
        };
        ok(|c| {
            c.lease_duration = Duration::from_secs(2);
            c.renew_deadline = Duration::from_millis(1500);
            c.retry_period = Duration::from_millis(300);
        })
        .unwrap();
        let err = ok(|c| c.renew_deadline = c.lease_duration).unwrap_err();
        assert!(err.0.contains("--leader-elect-lease-duration"), "{err}");
        // renew_deadline must exceed retry_period * 1.2, not just retry_period.
        let err = ok(|c| {
            c.renew_deadline = Duration::from_millis(2400);
            c.retry_period = Duration::from_secs(2);
        })
        .unwrap_err();
        assert!(err.0.contains("--leader-elect-renew-deadline"), "{err}");
        ok(|c| {
            c.renew_deadline = Duration::from_millis(2401);
            c.retry_period = Duration::from_secs(2);
        })
        .unwrap();
        assert!(ok(|c| c.retry_period = Duration::ZERO).is_err());
        assert!(
            ok(|c| {
                c.lease_duration = Duration::ZERO;
                c.renew_deadline = Duration::ZERO;
            })
            .is_err()
        );
        assert!(ok(|c| c.identity.clear()).is_err());
        assert!(ok(|c| c.lease_name.clear()).is_err());
        assert!(ok(|c| c.lease_namespace.clear()).is_err());
        assert!(ok(|c| c.lease_duration = Duration::from_secs(u64::MAX / 4)).is_err());
    }

    #[test]
    fn identity_is_hostname_underscore_uuid() {
        let id = identity_from(Some("ccm-7d9f\n"), 0, 0);
        assert_eq!(id, "ccm-7d9f_00000000-0000-4000-8000-000000000000");
        let id = identity_from(None, u64::MAX, u64::MAX);
        assert_eq!(id, "unknown_ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(identity_from(Some("  "), 1, 2).starts_with("unknown_"));
        let (a, b) = (default_identity(), default_identity());
        assert_ne!(a, b, "identities are random");
        let (_, uuid) = a.rsplit_once('_').unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }

    #[test]
    fn jitter_spans_period_to_period_times_2_2() {
        let p = Duration::from_secs(2);
        assert_eq!(jittered(p, 0.0), p);
        assert_eq!(jittered(p, 0.5), Duration::from_millis(3200));
        assert_eq!(jittered(p, 1.0), Duration::from_millis(4400));
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn lease_seconds_round_up() {
        assert_eq!(lease_seconds(Duration::from_secs(15)), 15);
        assert_eq!(lease_seconds(Duration::from_millis(2500)), 3);
        assert_eq!(lease_seconds(Duration::from_millis(300)), 1);
    }

    #[test]
    fn decide_creates_renews_waits_and_takes_over() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(decide(None, t0, t0, "me"), Decision::Create);
        assert_eq!(
            decide(Some(&spec("me", 15, 0)), t0, t0 + s(100), "me"),
            Decision::Renew,
            "our own lease is renewed even when expired"
        );
        assert_eq!(
            decide(Some(&spec("", 1, 0)), t0, t0, "me"),
            Decision::TakeOver,
            "a released lease is free at once"
        );
        assert_eq!(
            decide(Some(&LeaseSpec::default()), t0, t0, "me"),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&spec("other", 15, 0)), t0, t0 + s(14), "me"),
            Decision::Wait {
                holder: "other".into(),
                expires: t0 + s(15)
            }
        );
        assert_eq!(
            decide(Some(&spec("other", 15, 0)), t0, t0 + s(15), "me"),
            Decision::TakeOver
        );
        assert_eq!(
            decide(
                Some(&LeaseSpec {
                    lease_duration_seconds: None,
                    ..spec("other", 0, 0)
                }),
                t0,
                t0,
                "me"
            ),
            Decision::TakeOver,
            "a lease without a duration is expired"
        );
    }

    #[test]
    fn observed_time_moves_only_when_the_record_changes() {
        // The record's renewTime is never compared with our clock: a holder whose clock is far
        // behind still keeps its lease while it keeps renewing.
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut o = Observer::new(t0);
        let held = spec("other", 15, 0);
        o.observe(Some(&held), t0);
        o.observe(Some(&held), t0 + s(10));
        assert_eq!(o.at, t0);
        assert!(matches!(
            decide(o.record.as_ref(), o.at, t0 + s(16), "me"),
            Decision::TakeOver
        ));
        let renewed = LeaseSpec {
            renew_time: Some(t(1)),
            ..held
        };
        o.observe(Some(&renewed), t0 + s(12));
        assert_eq!(o.at, t0 + s(12));
        assert!(matches!(
            decide(o.record.as_ref(), o.at, t0 + s(16), "me"),
            Decision::Wait { .. }
        ));
        o.observe(None, t0 + s(13));
        assert_eq!((o.record.as_ref(), o.at), (None, t0 + s(13)));
    }

    #[test]
    fn acquired_spec_keeps_or_counts_transitions() {
        let now = t(500);
        let created = acquired_spec(None, "me", 15, now.clone());
        assert_eq!(created.holder_identity.as_deref(), Some("me"));
        assert_eq!(created.lease_duration_seconds, Some(15));
        assert_eq!(created.acquire_time, Some(now.clone()));
        assert_eq!(created.renew_time, Some(now.clone()));
        assert_eq!(created.lease_transitions, Some(0));

        let renewed = acquired_spec(Some(&spec("me", 15, 4)), "me", 15, now.clone());
        assert_eq!(renewed.acquire_time, Some(t(100)), "acquireTime kept");
        assert_eq!(renewed.renew_time, Some(now.clone()));
        assert_eq!(renewed.lease_transitions, Some(4));

        let taken = acquired_spec(Some(&spec("other", 15, 4)), "me", 15, now.clone());
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        assert_eq!(taken.acquire_time, Some(now.clone()));
        assert_eq!(taken.lease_transitions, Some(5));

        let from_released = acquired_spec(Some(&spec("", 1, 5)), "me", 15, now.clone());
        assert_eq!(from_released.lease_transitions, Some(6));
        assert_eq!(from_released.lease_duration_seconds, Some(15));
    }

    #[test]
    fn released_spec_is_client_gos_release_on_cancel() {
        let r = released_spec(&spec("me", 15, 7), t(900));
        assert_eq!(r.holder_identity.as_deref(), Some(""));
        assert_eq!(r.lease_duration_seconds, Some(1));
        assert_eq!(r.renew_time, Some(t(900)));
        assert_eq!(r.acquire_time, Some(t(900)));
        assert_eq!(r.lease_transitions, Some(7));
    }

    #[test]
    fn watch_events_wake_on_release_or_delete_only() {
        let t0 = Instant::now();
        let mut o = Observer::new(t0);
        let lease = |h: &str| Lease {
            metadata: ObjectMeta::default(),
            spec: Some(spec(h, 15, 0)),
        };
        assert!(!frees_lease(
            &mut o,
            &watcher::Event::Apply(lease("other")),
            t0
        ));
        assert_eq!(o.record.as_ref().map(holder), Some("other"));
        assert!(frees_lease(&mut o, &watcher::Event::Apply(lease("")), t0));
        assert!(frees_lease(
            &mut o,
            &watcher::Event::InitApply(lease("")),
            t0
        ));
        assert!(frees_lease(
            &mut o,
            &watcher::Event::Delete(lease("other")),
            t0
        ));
        assert_eq!(o.record, None);
        assert!(!frees_lease(&mut o, &watcher::Event::Init, t0));
        assert!(!frees_lease(&mut o, &watcher::Event::InitDone, t0));
    }

    #[test]
    fn stale_only_while_leading_past_the_limit() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(stale_check(true, Some(t0), t0 + s(35), s(35)), Ok(()));
        assert_eq!(stale_check(true, Some(t0), t0 + s(36), s(35)), Err(s(36)));
        assert_eq!(stale_check(false, Some(t0), t0 + s(99), s(35)), Ok(()));
        assert_eq!(stale_check(true, None, t0 + s(99), s(35)), Ok(()));
    }

    #[test]
    fn stop_signal_completes_for_every_clone_and_when_dropped() {
        test_runtime::run(async {
            let (tx, stop) = StopSignal::new();
            let other = stop.clone();
            let waiter = tokio::spawn(other);
            assert!(futures::poll!(stop.clone()).is_pending());
            tx.send(()).unwrap();
            stop.clone().await;
            waiter.await.unwrap();

            let (tx, stop) = StopSignal::new();
            drop(tx);
            stop.await;
        })
    }

    /// A write after someone else changed the Lease since our read gets 409 and leaves us a
    /// standby; the deterministic half of "two candidates can never both win".
    #[test]
    fn a_write_on_a_stale_read_is_a_conflict_not_leadership() {
        test_runtime::run(async {
            let server = fake_apiserver::FakeApiServer::start(fake_apiserver::Config::default())
                .await
                .unwrap();
            let client =
                kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
            let cfg = LeaderElectionConfig {
                lease_name: "race".into(),
                identity: "me".into(),
                ..LeaderElectionConfig::default()
            };
            server
            .store()
            .create(
                "leases.coordination.k8s.io",
                Some("kube-system"),
                serde_json::json!({
                    "metadata": {"name": "race"},
                    "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 2}
                }),
            )
            .unwrap();
            let elector = LeaderElector::new(client.clone(), cfg).unwrap();
            let leases: Api<Lease> = Api::namespaced(client, "kube-system");
            let read = leases.get("race").await.unwrap();

            // Another candidate wins between our read and our write.
            let mut theirs = read.clone();
            theirs.spec = Some(acquired_spec(read.spec.as_ref(), "them", 15, now_micro()));
            leases
                .replace("race", &PostParams::default(), &theirs)
                .await
                .unwrap();

            let now = Instant::now();
            let mut observer = Observer::new(now);
            let attempt = elector
                .decide_and_write(Some(read), &mut observer, now)
                .await
                .unwrap();
            assert!(matches!(attempt, Attempt::Conflict), "{attempt:?}");
            assert!(!elector.status().is_leader());
            let stored = leases.get("race").await.unwrap().spec.unwrap();
            assert_eq!(stored.holder_identity.as_deref(), Some("them"));
            assert_eq!(stored.lease_transitions, Some(3));

            // Creating a Lease someone else created first is a conflict too.
            let now = Instant::now();
            let attempt = elector
                .decide_and_write(None, &mut Observer::new(now), now)
                .await
                .unwrap();
            assert!(matches!(attempt, Attempt::Conflict), "{attempt:?}");
            assert!(!elector.status().is_leader());

            // Reading again sees their valid lease and waits.
            let now = Instant::now();
            let attempt = elector.attempt(&mut Observer::new(now), now).await.unwrap();
            assert!(matches!(attempt, Attempt::HeldBy { ref holder, .. } if holder == "them"));
            assert_eq!(elector.status().leader().as_deref(), Some("them"));
        })
    }
}
