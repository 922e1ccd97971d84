//! The whole controller manager (flags → leader election → controllers, health and metrics over
//! HTTPS) against the fake API server with an in-memory provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use cloud_provider::app::{App, AppError, RunningApp};
use cloud_provider::labels::TAINT_UNINITIALIZED;
use cloud_provider::options::CcmOptions;
use cloud_provider::provider::{
    BoxFuture, CloudProvider, InstanceMetadata, InstancesV2, LoadBalancer, ProviderError, Routes,
};
use fake_apiserver::{Config, FakeApiServer, RunningFakeApiServer};
use k8s_openapi::api::core::v1::{Node, NodeAddress};
use kube::api::Api;
use kube::{Client, ResourceExt};
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio::time::Instant;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: CcmOptions,
}

/// Every Node is a running instance; counts lookups.
#[derive(Default)]
struct Cloud {
    lookups: AtomicUsize,
}

impl InstancesV2 for Cloud {
    fn instance_exists<'a>(&'a self, _: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async { Ok(true) })
    }

    fn instance_shutdown<'a>(&'a self, _: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async { Ok(false) })
    }

    fn instance_metadata<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let name = node.name_any();
        Box::pin(async move {
            Ok(InstanceMetadata {
                provider_id: format!("fake://{name}"),
                node_addresses: vec![NodeAddress {
                    type_: "InternalIP".into(),
                    address: "10.0.0.9".into(),
                }],
                zone: "z1".into(),
                region: "r1".into(),
                ..InstanceMetadata::default()
            })
        })
    }
}

struct Provider(Arc<Cloud>);

impl CloudProvider for Provider {
    fn provider_name(&self) -> &str {
        "fake"
    }
    fn instances_v2(&self) -> Option<Arc<dyn InstancesV2>> {
        Some(self.0.clone())
    }
    fn load_balancer(&self) -> Option<Arc<dyn LoadBalancer>> {
        None
    }
    fn routes(&self) -> Option<Arc<dyn Routes>> {
        None
    }
}

fn client_for(server: &RunningFakeApiServer) -> Client {
    Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap()
}

struct Replica {
    running: RunningApp,
    cloud: Arc<Cloud>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts a replica with short leader-election timings, serving on an ephemeral port.
async fn replica(server: &RunningFakeApiServer, extra: &[&str]) -> Replica {
    let mut args = vec![
        "ccm",
        "--cloud-provider=fake",
        "--leader-elect-lease-duration=2s",
        "--leader-elect-renew-deadline=1500ms",
        "--leader-elect-retry-period=300ms",
        "--bind-address=127.0.0.1",
    ];
    args.extend_from_slice(extra);
    let cli = Cli::try_parse_from(args).unwrap();
    let mut app = App::from_options(cli.options).unwrap();
    app.serving.secure_port = Some(0);
    app.leader_health_tolerance = Duration::ZERO;
    app.kube_client = Some(client_for(server));
    let cloud = Arc::new(Cloud::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = app
        .start(
            Arc::new(Provider(cloud.clone())),
            Registry::default(),
            async move {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap();
    Replica {
        running,
        cloud,
        stop,
    }
}

async fn get(replica: &Replica, path: &str) -> (u16, String) {
    let addr: SocketAddr = replica.running.serving_addr().unwrap();
    let client = support::https_client(replica.running.serving_ca_pem().unwrap());
    let response = client
        .get(format!("https://{addr}{path}"))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn is_leader(r: &Replica) -> bool {
    r.running.leader().unwrap().is_leader()
}

fn tainted_node(server: &RunningFakeApiServer, name: &str) {
    server
        .store()
        .create(
            "nodes",
            None,
            json!({
                "metadata": {"name": name},
                "spec": {"taints": [{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]}
            }),
        )
        .unwrap();
}

async fn initialized(client: &Client, name: &str) -> bool {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes.get(name).await.is_ok_and(|n| {
        n.spec
            .and_then(|s| s.provider_id)
            .is_some_and(|p| p == format!("fake://{name}"))
    })
}

#[test]
fn only_the_leader_runs_controllers_and_sigterm_hands_over_quickly() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = client_for(&server);
        let a = replica(&server, &[]).await;
        eventually("a leads", Duration::from_secs(5), || async {
            is_leader(&a)
        })
        .await;
        let b = replica(&server, &[]).await;

        tainted_node(&server, "n1");
        eventually("n1 initialized", Duration::from_secs(10), || async {
            initialized(&client, "n1").await
        })
        .await;
        assert!(a.cloud.lookups.load(Ordering::SeqCst) >= 1);
        assert_eq!(
            b.cloud.lookups.load(Ordering::SeqCst),
            0,
            "a standby runs no controller"
        );
        assert!(!is_leader(&b));

        // Health and metrics over HTTPS, on both replicas.
        for r in [&a, &b] {
            let (code, body) = get(r, "/healthz").await;
            assert_eq!((code, body.as_str()), (200, "ok"));
            assert_eq!(get(r, "/readyz").await.0, 200);
            assert_eq!(get(r, "/livez").await.0, 200);
        }
        eventually("leader gauge", Duration::from_secs(5), || async {
            get(&a, "/metrics")
                .await
                .1
                .contains("leader_election_master_status{name=\"cloud-controller-manager\"} 1")
        })
        .await;
        let (_, metrics) = get(&a, "/metrics").await;
        assert!(
        metrics.contains(
            "cloud_provider_reconcile_total{controller=\"cloud-node-controller\",result=\"success\"}"
        ),
        "{metrics}"
    );

        // SIGTERM the leader: it releases the lease and the standby takes over within 2 s.
        let Replica { running, stop, .. } = a;
        stop.send(()).unwrap();
        let released = Instant::now();
        running.wait().await.unwrap();
        eventually("b leads", Duration::from_secs(2), || async {
            is_leader(&b)
        })
        .await;
        assert!(released.elapsed() < Duration::from_secs(2));

        tainted_node(&server, "n2");
        eventually("n2 initialized by b", Duration::from_secs(10), || async {
            initialized(&client, "n2").await
        })
        .await;
        assert!(b.cloud.lookups.load(Ordering::SeqCst) >= 1);
        b.stop.send(()).unwrap();
        b.running.wait().await.unwrap();
    })
}

#[test]
fn a_leader_that_cannot_renew_fails_healthz_then_exits_with_an_error() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let a = replica(&server, &[]).await;
        eventually("a leads", Duration::from_secs(5), || async {
            is_leader(&a)
        })
        .await;
        assert_eq!(get(&a, "/healthz").await.0, 200);

        // The API server goes away: renewals fail; after the lease duration /healthz fails.
        server.shutdown().await;
        eventually("healthz fails", Duration::from_secs(10), || async {
            let (code, body) = get(&a, "/healthz").await;
            code == 500 && body.contains("[-]leaderElection failed")
        })
        .await;
        let Replica { running, .. } = a;
        let result = running.wait().await;
        assert!(
            matches!(result, Err(AppError::LeaderElectionLost)),
            "{result:?}"
        );
    })
}

#[test]
fn without_leader_election_controllers_start_at_once() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = client_for(&server);
        let r = replica(
            &server,
            &[
                "--leader-elect=false",
                "--controllers=*,-cloud-node-lifecycle",
            ],
        )
        .await;
        assert!(r.running.leader().is_none());
        tainted_node(&server, "n1");
        eventually("n1 initialized", Duration::from_secs(10), || async {
            initialized(&client, "n1").await
        })
        .await;
        r.stop.send(()).unwrap();
        r.running.wait().await.unwrap();
    })
}

#[test]
fn invalid_flags_are_all_reported_at_once() {
    let cli = Cli::try_parse_from([
        "ccm",
        "--kube-api-qps=0",
        "--leader-elect-lease-duration=1s",
        "--controllers=*,bogus",
    ])
    .unwrap();
    let Err(AppError::Options(problems)) = App::from_options(cli.options) else {
        panic!("expected invalid options");
    };
    assert!(problems.len() >= 3, "{problems:?}");
}
