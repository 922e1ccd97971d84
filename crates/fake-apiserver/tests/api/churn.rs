//! A kube-rs Controller over Services survives churn (create/update/delete of 200 Services)
//! and its reflector store ends equal to the server's contents.
//!
//! Duration: `FAKE_APISERVER_CHURN_SECS` (default 60, as the issue requires).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use fake_apiserver::Config;

use crate::support::{eventually, start_with};

const SERVICES: u64 = 200;
const NS: &str = "churn";

struct Ctx {
    client: Client,
    reconciles: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Failed> {
    ctx.reconciles.fetch_add(1, Ordering::Relaxed);
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), NS);
    // Writing the same status every time must not make the controller spin: the server
    // turns identical writes into no-ops without events.
    let ip = format!("192.0.2.{}", svc.name_any().len());
    match api
        .patch_status(
            &svc.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}})),
        )
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(Failed(e.to_string())),
    }
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn snapshot_of_server(server: &fake_apiserver::RunningFakeApiServer) -> BTreeMap<String, String> {
    server
        .store()
        .list("services", Some(NS))
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn controller_reflector_converges_after_service_churn() {
    test_runtime::run_multi(async {
        let secs: u64 = std::env::var("FAKE_APISERVER_CHURN_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        let config = Config {
            // Small enough that a reconnecting watch may hit 410 and re-list during churn.
            history_limit: 1000,
            bookmark_interval: Duration::from_secs(1),
            ..Config::default()
        };
        let (server, client) = start_with(config).await;
        let mut ns = Namespace::default();
        ns.metadata.name = Some(NS.into());
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        let api: Api<Service> = Api::namespaced(client.clone(), NS);
        let ctx = Arc::new(Ctx {
            client: client.clone(),
            reconciles: AtomicU64::new(0),
        });
        // A short watch timeout makes the watcher resume from its last resourceVersion often.
        let controller = Controller::new(api.clone(), watcher::Config::default().timeout(5));
        let reader = controller.store();
        let task = tokio::spawn(
            controller
                .run(
                    reconcile,
                    |_, _, _| Action::requeue(Duration::from_millis(200)),
                    ctx.clone(),
                )
                .for_each(|_| async {}),
        );

        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let (mut creates, mut updates, mut deletes) = (0u64, 0u64, 0u64);
        let mut i = 0u64;
        while tokio::time::Instant::now() < deadline || i < SERVICES {
            // The first pass creates all 200 Services; after that, random operations.
            let (n, op) = if i < SERVICES {
                (i, 0)
            } else {
                (rng.next() % SERVICES, rng.next() % 3)
            };
            i += 1;
            let name = format!("svc-{n}");
            match op {
                0 => {
                    let svc: Service = serde_json::from_value(json!({
                        "metadata": {"name": name, "labels": {"app": "churn"}},
                        "spec": {"type": "LoadBalancer", "ports": [{"port": 80 + (n % 3) as i32}]}
                    }))
                    .unwrap();
                    match api.create(&PostParams::default(), &svc).await {
                        Ok(_) => creates += 1,
                        Err(kube::Error::Api(s)) if s.code == 409 => {}
                        Err(e) => panic!("create {name}: {e}"),
                    }
                }
                1 => match api
                    .patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"annotations": {"rev": i.to_string()}}})),
                    )
                    .await
                {
                    Ok(_) => updates += 1,
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => panic!("update {name}: {e}"),
                },
                _ => match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => deletes += 1,
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => panic!("delete {name}: {e}"),
                },
            }
            // Pace the churn (~100 ops/s) so the suite does not monopolise both cores.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            creates >= SERVICES && updates > 0 && deletes > 0,
            "{creates} {updates} {deletes}"
        );

        eventually(
            "reflector equals server and every Service reconciled",
            Duration::from_secs(30),
            || {
                let want = snapshot_of_server(&server);
                let have: BTreeMap<String, String> = reader
                    .state()
                    .iter()
                    .map(|s| (s.name_any(), s.resource_version().unwrap_or_default()))
                    .collect();
                let all_reconciled = server
                    .store()
                    .list("services", Some(NS))
                    .unwrap()
                    .iter()
                    .all(|o| o.pointer("/status/loadBalancer/ingress/0/ip").is_some());
                async move { (want == have && all_reconciled).then_some(()) }
            },
        )
        .await;
        assert!(ctx.reconciles.load(Ordering::Relaxed) > 0);
        task.abort();
        server.shutdown().await;
    })
}
