//! Leader election against the fake API server: several candidates in one process, each with
//! its own client, as separate replicas would be.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_provider::leader::{LeaderElectionConfig, LeaderElector, LeaderOutcome, LeaderStatus};
use fake_apiserver::{Config, FakeApiServer, RunningFakeApiServer, Subresource};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::Client;
use kube::api::Api;
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const LEASE: &str = "ccm-test";
const NS: &str = "kube-system";
const LEASES: &str = "leases.coordination.k8s.io";

/// Short timings: lease 2 s, renew deadline 1.5 s, retry 0.3 s.
fn fast(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_name: LEASE.into(),
        lease_namespace: NS.into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(300),
    }
}

async fn start() -> RunningFakeApiServer {
    FakeApiServer::start(Config::default()).await.unwrap()
}

fn client(server: &RunningFakeApiServer) -> Client {
    Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap()
}

fn leases(server: &RunningFakeApiServer) -> Api<Lease> {
    Api::namespaced(client(server), NS)
}

async fn lease_spec(server: &RunningFakeApiServer) -> LeaseSpec {
    leases(server).get(LEASE).await.unwrap().spec.unwrap()
}

/// One replica: `run` on its own task and client; `lead` counts starts and notes when it saw
/// `stop` and returned.
struct Candidate {
    status: LeaderStatus,
    led: Arc<AtomicUsize>,
    finished: Arc<AtomicBool>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<LeaderOutcome>,
}

impl Candidate {
    fn spawn(server: &RunningFakeApiServer, config: LeaderElectionConfig) -> Self {
        let elector = LeaderElector::new(client(server), config).unwrap();
        let status = elector.status();
        let led = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let handle = tokio::spawn({
            let (led, finished) = (led.clone(), finished.clone());
            async move {
                elector
                    .run(
                        async move {
                            let _ = shutdown_rx.await;
                        },
                        move |stop| async move {
                            led.fetch_add(1, Ordering::SeqCst);
                            stop.await;
                            finished.store(true, Ordering::SeqCst);
                        },
                    )
                    .await
            }
        });
        Self {
            status,
            led,
            finished,
            shutdown: Some(shutdown),
            handle,
        }
    }

    fn id(&self) -> &str {
        self.status.identity()
    }

    fn led(&self) -> usize {
        self.led.load(Ordering::SeqCst)
    }

    /// The SIGTERM path: completes `run`'s shutdown future and returns its outcome.
    async fn shut_down(mut self) -> (LeaderOutcome, bool) {
        self.shutdown.take().unwrap().send(()).unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("run returns after shutdown")
            .unwrap();
        (outcome, self.finished.load(Ordering::SeqCst))
    }
}

/// Polls `cond` every 20 ms until it holds; panics after `within`. Returns how long it took.
async fn eventually(within: Duration, what: &str, mut cond: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if cond().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts, polling for `period`, that exactly `leader` leads among `all`, that its `lead`
/// ran once and nobody else's ran, and that the Lease names it.
async fn assert_sole_leader(
    server: &RunningFakeApiServer,
    leader: &Candidate,
    all: &[&Candidate],
    period: Duration,
) {
    let started = Instant::now();
    while started.elapsed() < period {
        for c in all {
            let me = c.id() == leader.id();
            assert_eq!(c.status.is_leader(), me, "{} is_leader", c.id());
            assert_eq!(c.led(), usize::from(me), "{} lead() starts", c.id());
            assert!(c.status.check(Duration::ZERO).is_ok(), "{} healthy", c.id());
        }
        let spec = lease_spec(server).await;
        assert_eq!(spec.holder_identity.as_deref(), Some(leader.id()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_leads(c: &Candidate, within: Duration) -> Duration {
    eventually(within, &format!("{} leads", c.id()), async || {
        c.led() == 1 && c.status.is_leader()
    })
    .await
}

/// Waits until `standby` has read the Lease and seen `leader` hold it.
async fn wait_until_standby(standby: &Candidate, leader: &Candidate) {
    eventually(
        Duration::from_secs(5),
        "the standby saw the leader",
        async || standby.status.leader().as_deref() == Some(leader.id()),
    )
    .await;
}

#[test]
fn of_two_candidates_exactly_one_leads_and_stays_leader() {
    test_runtime::run_multi(async {
        let server = start().await;
        let a = Candidate::spawn(&server, fast("a"));
        let b = Candidate::spawn(&server, fast("b"));
        eventually(Duration::from_secs(5), "someone leads", async || {
            a.led() + b.led() > 0
        })
        .await;
        let (leader, standby) = if a.led() > 0 { (a, b) } else { (b, a) };
        // Several retry periods of renewals and campaigns: the invariant holds throughout.
        assert_sole_leader(
            &server,
            &leader,
            &[&leader, &standby],
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(lease_spec(&server).await.lease_transitions, Some(0));
        assert_eq!(standby.status.leader().as_deref(), Some(leader.id()));

        let (outcome, _) = standby.shut_down().await;
        assert_eq!(outcome, LeaderOutcome::NeverLed);
        let leader_status = leader.status.clone();
        let (outcome, finished) = leader.shut_down().await;
        assert_eq!(outcome, LeaderOutcome::Released);
        assert!(finished, "lead saw stop and was awaited");
        assert!(!leader_status.is_leader());
        assert_eq!(
            lease_spec(&server).await.holder_identity.as_deref(),
            Some("")
        );
    })
}

#[test]
fn a_killed_leader_is_replaced_once_its_lease_expires() {
    test_runtime::run_multi(async {
        let server = start().await;
        let cfg = fast("a");
        let (lease_duration, retry) = (cfg.lease_duration, cfg.retry_period);
        let a = Candidate::spawn(&server, cfg);
        wait_until_leads(&a, Duration::from_secs(5)).await;
        let b = Candidate::spawn(&server, fast("b"));
        wait_until_standby(&b, &a).await;
        assert_sole_leader(&server, &a, &[&a, &b], retry * 2).await;

        // Neither renews nor releases: like a killed process.
        a.handle.abort();
        let aborted = Instant::now();
        let took = wait_until_leads(&b, lease_duration + retry * 2).await;
        assert!(
            aborted.elapsed() >= Duration::from_secs(1),
            "took over after {took:?}: a lease renewed well under 2 s ago is not stolen"
        );
        let spec = lease_spec(&server).await;
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(1));
        assert_eq!(b.led(), 1);
    })
}

#[test]
fn sigterm_releases_and_the_standby_leads_within_two_seconds() {
    test_runtime::run_multi(async {
        let server = start().await;
        // The real defaults (lease 15 s, renew 10 s, retry 2 s): only the watch can make this fast.
        let cfg = |id: &str| LeaderElectionConfig {
            lease_name: LEASE.into(),
            identity: id.into(),
            ..LeaderElectionConfig::default()
        };
        assert_eq!(cfg("a").retry_period, Duration::from_secs(2));
        let a = Candidate::spawn(&server, cfg("a"));
        wait_until_leads(&a, Duration::from_secs(5)).await;

        // Every holder the Lease goes through, in order.
        let holders = Arc::new(Mutex::new(Vec::<String>::new()));
        let recorder = tokio::spawn({
            let holders = holders.clone();
            let stream = watcher(
                leases(&server),
                watcher::Config::default().fields(&format!("metadata.name={LEASE}")),
            );
            async move {
                let mut stream = std::pin::pin!(stream);
                while let Some(event) = stream.next().await {
                    if let Ok(watcher::Event::Apply(l) | watcher::Event::InitApply(l)) = event {
                        let h = l.spec.unwrap().holder_identity.unwrap_or_default();
                        let mut hs = holders.lock().unwrap();
                        if hs.last() != Some(&h) {
                            hs.push(h);
                        }
                    }
                }
            }
        });
        eventually(Duration::from_secs(5), "recording holders", async || {
            !holders.lock().unwrap().is_empty()
        })
        .await;

        let b = Candidate::spawn(&server, cfg("b"));
        wait_until_standby(&b, &a).await;

        let a_status = a.status.clone();
        let sigterm = Instant::now();
        let (outcome, finished) = a.shut_down().await;
        assert_eq!(outcome, LeaderOutcome::Released);
        assert!(
            finished,
            "a's lead saw stop and finished before run returned"
        );
        assert!(!a_status.is_leader());
        wait_until_leads(&b, Duration::from_secs(2)).await;
        let took = sigterm.elapsed();
        assert!(took < Duration::from_secs(2), "standby led after {took:?}");

        eventually(Duration::from_secs(2), "holders a, \"\", b", async || {
            holders
                .lock()
                .unwrap()
                .ends_with(&["a".into(), String::new(), "b".into()])
        })
        .await;
        assert_eq!(lease_spec(&server).await.lease_transitions, Some(1));
        recorder.abort();
        assert_eq!(b.shut_down().await.0, LeaderOutcome::Released);
    })
}

#[test]
fn renewals_failing_make_the_health_check_fail_and_leadership_lost() {
    test_runtime::run_multi(async {
        let server = start().await;
        let cfg = fast("a");
        let (lease_duration, renew_deadline) = (cfg.lease_duration, cfg.renew_deadline);
        let a = Candidate::spawn(&server, cfg);
        assert!(a.status.check(Duration::ZERO).is_ok(), "ok before leading");
        wait_until_leads(&a, Duration::from_secs(5)).await;
        let b = Candidate::spawn(&server, fast("b"));
        wait_until_standby(&b, &a).await;
        // Healthy through more than a lease duration of renewals.
        assert_sole_leader(
            &server,
            &a,
            &[&a, &b],
            lease_duration + Duration::from_millis(500),
        )
        .await;

        server.shutdown().await;
        let down = Instant::now();
        eventually(
            lease_duration + Duration::from_secs(1),
            "check fails on a stale lease",
            async || a.status.check(Duration::ZERO).is_err(),
        )
        .await;
        let err = a.status.check(Duration::ZERO).unwrap_err();
        assert!(err.contains("kube-system/ccm-test"), "{err}");
        assert!(
            a.status.check(Duration::from_secs(60)).is_ok(),
            "within the tolerance"
        );
        assert!(
            b.status.check(Duration::ZERO).is_ok(),
            "a standby is healthy"
        );

        let outcome = tokio::time::timeout(renew_deadline + Duration::from_secs(1), a.handle)
            .await
            .expect("run gives up after the renew deadline")
            .unwrap();
        assert_eq!(outcome, LeaderOutcome::Lost);
        assert!(down.elapsed() < renew_deadline + Duration::from_secs(1));
        assert!(
            a.finished.load(Ordering::SeqCst),
            "lead saw stop and was awaited"
        );
        // Nothing says another holds the lease: still "leader" and unhealthy, as in client-go, so a
        // process that fails to exit gets restarted by its liveness probe.
        assert!(a.status.is_leader());
        assert!(a.status.check(Duration::ZERO).is_err());
        assert!(!b.status.is_leader());
    })
}

#[test]
fn a_renewal_that_sees_another_holder_is_lost_without_releasing() {
    test_runtime::run_multi(async {
        let server = start().await;
        let a = Candidate::spawn(&server, fast("a"));
        wait_until_leads(&a, Duration::from_secs(5)).await;
        assert!(a.status.check(Duration::ZERO).is_ok());

        let mut stored = server.store().get(LEASES, Some(NS), LEASE).unwrap();
        stored["spec"]["holderIdentity"] = json!("intruder");
        stored["spec"]["leaseDurationSeconds"] = json!(15);
        server
            .store()
            .replace(LEASES, Some(NS), stored, Subresource::Main)
            .unwrap();

        let outcome = tokio::time::timeout(Duration::from_secs(3), a.handle)
            .await
            .expect("run returns once a renewal sees the intruder")
            .unwrap();
        assert_eq!(outcome, LeaderOutcome::Lost);
        assert!(a.finished.load(Ordering::SeqCst));
        assert!(!a.status.is_leader());
        assert_eq!(a.status.leader().as_deref(), Some("intruder"));
        assert!(
            a.status.check(Duration::ZERO).is_ok(),
            "not leading: healthy"
        );
        let spec = lease_spec(&server).await;
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some("intruder"),
            "a lost lease is not released"
        );
    })
}

#[test]
fn candidates_racing_for_a_released_lease_elect_exactly_one() {
    test_runtime::run_multi(async {
        let server = start().await;
        server
            .store()
            .create(
                LEASES,
                Some(NS),
                json!({
                    "metadata": {"name": LEASE},
                    "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 3}
                }),
            )
            .unwrap();
        let all: Vec<Candidate> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|id| Candidate::spawn(&server, fast(id)))
            .collect();
        eventually(Duration::from_secs(5), "someone leads", async || {
            all.iter().any(|c| c.led() > 0)
        })
        .await;
        let leader = all.iter().find(|c| c.led() > 0).unwrap();
        let refs: Vec<&Candidate> = all.iter().collect();
        assert_sole_leader(&server, leader, &refs, Duration::from_secs(1)).await;
        // Exactly one takeover write succeeded; the other writes on the same read got 409.
        assert_eq!(lease_spec(&server).await.lease_transitions, Some(4));
    })
}

#[test]
fn lead_returning_on_its_own_releases_the_lease() {
    test_runtime::run_multi(async {
        let server = start().await;
        let elector = LeaderElector::new(client(&server), fast("a")).unwrap();
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            elector.run(futures::future::pending(), |_stop| async {}),
        )
        .await
        .unwrap();
        assert_eq!(outcome, LeaderOutcome::LeadReturned);
        assert!(!elector.status().is_leader());
        assert_eq!(
            lease_spec(&server).await.holder_identity.as_deref(),
            Some("")
        );
    })
}

#[test]
fn shutdown_while_campaigning_never_leads() {
    test_runtime::run_multi(async {
        let server = start().await;
        let a = Candidate::spawn(&server, fast("a"));
        wait_until_leads(&a, Duration::from_secs(5)).await;
        let b = Candidate::spawn(&server, fast("b"));
        wait_until_standby(&b, &a).await;
        let (outcome, finished) = b.shut_down().await;
        assert_eq!(outcome, LeaderOutcome::NeverLed);
        assert!(!finished);
        assert_eq!(
            lease_spec(&server).await.holder_identity.as_deref(),
            Some("a")
        );
    })
}
