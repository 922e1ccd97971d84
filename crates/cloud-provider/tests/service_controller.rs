//! The service controller against the fake API server with an in-memory load balancer provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_provider::labels::{
    FINALIZER_LB_CLEANUP, LABEL_EXCLUDE_FROM_LB, TAINT_TO_BE_DELETED_BY_AUTOSCALER,
};
use cloud_provider::provider::{
    BoxFuture, LoadBalancer, LoadBalancerOutcome, ProviderError, ProviderEvent,
};
use cloud_provider::queue::Backoff;
use cloud_provider::service::controller::{ServiceController, ServiceControllerConfig};
use fake_apiserver::{Config, FakeApiServer, RunningFakeApiServer};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Get,
    Ensure,
    Update,
    Delete,
}

/// What the next call of an operation should do instead of succeeding.
#[derive(Debug, Clone)]
enum Script {
    Fail,
    RetryAfter(Duration),
}

#[derive(Default)]
struct CloudState {
    /// Load balancers by Service key: (VIP, backend node names).
    lbs: BTreeMap<String, (String, Vec<String>)>,
    calls: Vec<(Op, String, Instant)>,
    script: HashMap<(Op, String), VecDeque<Script>>,
    next_ip: u8,
}

/// An in-memory cloud with scripted failures, recording every call.
#[derive(Default)]
struct FakeCloud {
    state: Mutex<CloudState>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    ensure_delay: Mutex<Duration>,
    /// Annotate Services with their backends (`example.com/backends`).
    annotate: std::sync::atomic::AtomicBool,
}

fn key(service: &Service) -> String {
    format!("{}/{}", service.namespace().unwrap(), service.name_any())
}

fn status(ip: &str) -> LoadBalancerStatus {
    LoadBalancerStatus {
        ingress: Some(vec![LoadBalancerIngress {
            ip: Some(ip.to_owned()),
            ..LoadBalancerIngress::default()
        }]),
    }
}

impl FakeCloud {
    /// Records the call; returns the scripted outcome, if any.
    fn call(&self, op: Op, service: &Service) -> Option<ProviderError> {
        let k = key(service);
        let mut st = self.state.lock().unwrap();
        st.calls.push((op, k.clone(), Instant::now()));
        match st.script.get_mut(&(op, k)).and_then(VecDeque::pop_front) {
            Some(Script::Fail) => Some(ProviderError::other("the cloud said 503")),
            Some(Script::RetryAfter(d)) => Some(ProviderError::retry_after(
                d,
                "appliance is booting; checking again shortly",
            )),
            None => None,
        }
    }

    fn script(&self, op: Op, service: &str, steps: &[Script]) {
        self.state
            .lock()
            .unwrap()
            .script
            .entry((op, service.to_owned()))
            .or_default()
            .extend(steps.iter().cloned());
    }

    fn calls(&self, op: Op, service: &str) -> Vec<Instant> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(o, k, _)| *o == op && k == service)
            .map(|(_, _, t)| *t)
            .collect()
    }

    fn count(&self, op: Op) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(o, _, _)| *o == op)
            .count()
    }

    fn backends(&self, service: &str) -> Option<Vec<String>> {
        let st = self.state.lock().unwrap();
        st.lbs.get(service).map(|(_, n)| n.clone())
    }

    fn vip(&self, service: &str) -> Option<String> {
        let st = self.state.lock().unwrap();
        st.lbs.get(service).map(|(ip, _)| ip.clone())
    }
}

fn names(nodes: &[Arc<Node>]) -> Vec<String> {
    nodes.iter().map(|n| n.name_any()).collect()
}

impl LoadBalancer for FakeCloud {
    fn get<'a>(
        &'a self,
        _: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<Option<LoadBalancerStatus>, ProviderError>> {
        Box::pin(async move {
            if let Some(e) = self.call(Op::Get, service) {
                return Err(e);
            }
            Ok(self.vip(&key(service)).map(|ip| status(&ip)))
        })
    }

    fn name(&self, _: &str, service: &Service) -> String {
        key(service)
    }

    fn ensure<'a>(
        &'a self,
        _: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<LoadBalancerOutcome, ProviderError>> {
        Box::pin(async move {
            let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(n, Ordering::SeqCst);
            let delay = *self.ensure_delay.lock().unwrap();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if let Some(e) = self.call(Op::Ensure, service) {
                return Err(e);
            }
            let mut st = self.state.lock().unwrap();
            st.next_ip += 1;
            let fresh = format!("192.0.2.{}", st.next_ip);
            let entry = st
                .lbs
                .entry(key(service))
                .or_insert_with(|| (fresh, vec![]));
            entry.1 = names(nodes);
            let events = if nodes.is_empty() {
                vec![]
            } else {
                vec![ProviderEvent::normal(
                    "BackendsChosen",
                    format!("{} backends", nodes.len()),
                )]
            };
            Ok(LoadBalancerOutcome {
                status: status(&entry.0),
                events,
                annotations: if self.annotate.load(Ordering::SeqCst) {
                    [(
                        "example.com/backends".to_owned(),
                        Some(names(nodes).join(",")),
                    )]
                    .into()
                } else {
                    Default::default()
                },
                ..LoadBalancerOutcome::default()
            })
        })
    }

    fn update<'a>(
        &'a self,
        _: &'a str,
        service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<Vec<ProviderEvent>, ProviderError>> {
        Box::pin(async move {
            if let Some(e) = self.call(Op::Update, service) {
                return Err(e);
            }
            let mut st = self.state.lock().unwrap();
            match st.lbs.get_mut(&key(service)) {
                Some(lb) => {
                    lb.1 = names(nodes);
                    Ok(vec![])
                }
                None => Err(ProviderError::not_found("no such load balancer")),
            }
        })
    }

    fn ensure_deleted<'a>(
        &'a self,
        _: &'a str,
        service: &'a Service,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            if let Some(e) = self.call(Op::Delete, service) {
                return Err(e);
            }
            self.state.lock().unwrap().lbs.remove(&key(service));
            Ok(())
        })
    }
}

struct Harness {
    server: RunningFakeApiServer,
    client: Client,
    cloud: Arc<FakeCloud>,
    controller: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

fn fast_config() -> ServiceControllerConfig {
    ServiceControllerConfig {
        retry: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        },
        resync_period: None,
        ..ServiceControllerConfig::default()
    }
}

impl Harness {
    async fn new() -> Self {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        Self {
            server,
            client,
            cloud: Arc::new(FakeCloud::default()),
            controller: None,
        }
    }

    /// A harness with one Node and the Service `web` whose load balancer is in place.
    async fn with_web_ensured(config: ServiceControllerConfig) -> Self {
        let mut h = Self::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.service("web", None);
        h.start(config);
        eventually("VIP in status", || async { h.ip("web").await.is_some() }).await;
        h
    }

    fn start(&mut self, config: ServiceControllerConfig) {
        let controller = Arc::new(ServiceController::new(
            self.client.clone(),
            self.cloud.clone(),
            config,
        ));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(controller.run(async move {
            let _ = rx.await;
        }));
        self.controller = Some((tx, task));
    }

    async fn stop(&mut self) {
        if let Some((tx, task)) = self.controller.take() {
            let _ = tx.send(());
            task.await.unwrap();
        }
    }

    fn node(&self, name: &str, ip: &str, labels: serde_json::Value, taints: serde_json::Value) {
        self.server
            .store()
            .create(
                "nodes",
                None,
                json!({
                    "metadata": {"name": name, "labels": labels},
                    "spec": {"providerID": format!("fake://{name}"), "taints": taints},
                    "status": {
                        "addresses": [{"type": "InternalIP", "address": ip}],
                        "conditions": [{"type": "Ready", "status": "True"}]
                    }
                }),
            )
            .unwrap();
    }

    fn service(&self, name: &str, class: Option<&str>) {
        let mut spec = json!({
            "type": "LoadBalancer",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]
        });
        if let Some(c) = class {
            spec["loadBalancerClass"] = json!(c);
        }
        self.server
            .store()
            .create(
                "services",
                Some("default"),
                json!({"metadata": {"name": name}, "spec": spec}),
            )
            .unwrap();
    }

    fn services(&self) -> Api<Service> {
        Api::namespaced(self.client.clone(), "default")
    }

    async fn get(&self, name: &str) -> Option<Service> {
        self.services().get_opt(name).await.unwrap()
    }

    async fn ip(&self, name: &str) -> Option<String> {
        self.get(name)
            .await?
            .status?
            .load_balancer?
            .ingress?
            .first()?
            .ip
            .clone()
    }

    /// Reasons of events about `name`, oldest first.
    async fn reasons(&self, name: &str) -> Vec<String> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        let mut list: Vec<Event> = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect();
        list.sort_by_key(|e| e.metadata.creation_timestamp.clone().map(|t| t.0));
        list.into_iter().filter_map(|e| e.reason).collect()
    }

    async fn notes(&self, name: &str, reason: &str) -> Vec<String> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                    && e.reason.as_deref() == Some(reason)
            })
            .filter_map(|e| e.note)
            .collect()
    }
}

/// Polls `check` until it returns true; panics with `what` after 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn finalized(s: &Service) -> bool {
    s.finalizers().iter().any(|f| f == FINALIZER_LB_CLEANUP)
}

#[test]
fn creates_a_load_balancer_with_finalizer_status_and_events() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.node("w2", "10.0.0.2", json!({}), json!([]));
        h.node(
            "excluded",
            "10.0.0.3",
            json!({ LABEL_EXCLUDE_FROM_LB: "true" }),
            json!([]),
        );
        h.node(
            "leaving",
            "10.0.0.4",
            json!({}),
            json!([{"key": TAINT_TO_BE_DELETED_BY_AUTOSCALER, "effect": "NoSchedule"}]),
        );
        h.service("web", None);
        h.start(fast_config());

        eventually("VIP in status", || async { h.ip("web").await.is_some() }).await;
        let svc = h.get("web").await.unwrap();
        assert!(finalized(&svc));
        assert_eq!(
            h.ip("web").await.unwrap(),
            h.cloud.vip("default/web").unwrap()
        );
        assert_eq!(
            h.cloud.backends("default/web").unwrap(),
            ["w1", "w2"],
            "excluded and autoscaler-tainted nodes are left out"
        );
        eventually("ensured event", || async {
            h.reasons("web")
                .await
                .contains(&"EnsuredLoadBalancer".to_owned())
        })
        .await;
        let reasons = h.reasons("web").await;
        assert!(reasons.contains(&"EnsuringLoadBalancer".to_owned()));
        assert!(
            reasons.contains(&"BackendsChosen".to_owned()),
            "provider events are published: {reasons:?}"
        );
        assert_eq!(h.cloud.count(Op::Ensure), 1);
        h.stop().await;
    })
}

#[test]
fn the_providers_annotations_are_written() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.cloud.annotate.store(true, Ordering::SeqCst);
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.service("web", None);
        h.start(fast_config());
        eventually("the annotation", || async {
            h.get("web")
                .await
                .and_then(|s| s.metadata.annotations)
                .and_then(|a| a.get("example.com/backends").cloned())
                .as_deref()
                == Some("w1")
        })
        .await;
        h.stop().await;
    })
}

#[test]
fn a_resync_with_nothing_changed_writes_nothing() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.service("web", None);
        h.start(ServiceControllerConfig {
            resync_period: Some(Duration::from_millis(100)),
            ..fast_config()
        });
        eventually("VIP in status", || async { h.ip("web").await.is_some() }).await;
        eventually("ensured event", || async {
            h.reasons("web")
                .await
                .contains(&"EnsuredLoadBalancer".to_owned())
        })
        .await;
        let rv = h.server.store().resource_version();
        // Several resyncs reach the provider (drift repair) but change nothing in Kubernetes.
        eventually("three more resyncs", || async {
            h.cloud.count(Op::Ensure) >= 4
        })
        .await;
        assert_eq!(
            h.server.store().resource_version(),
            rv,
            "no status patch, no finalizer patch, no event on a quiet resync"
        );
        h.stop().await;
    })
}

#[test]
fn spec_changes_re_ensure_but_status_changes_do_not() {
    test_runtime::run(async {
        let mut h = Harness::with_web_ensured(fast_config()).await;
        assert_eq!(h.cloud.count(Op::Ensure), 1);

        // A label change is not a load balancer change.
        h.services()
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
            )
            .await
            .unwrap();
        h.services()
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"ports": [
                    {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
                    {"name": "https", "port": 443, "protocol": "TCP", "nodePort": 30443}
                ]}})),
            )
            .await
            .unwrap();
        eventually("second ensure", || async { h.cloud.count(Op::Ensure) == 2 }).await;
        // The label patch came first and was ignored: exactly one more ensure, for the ports.
        h.services()
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {"example.com/x": "1"}}})),
            )
            .await
            .unwrap();
        eventually("annotation change ensures", || async {
            h.cloud.count(Op::Ensure) == 3
        })
        .await;
        h.stop().await;
        assert_eq!(h.cloud.count(Op::Ensure), 3);
    })
}

#[test]
fn deleting_the_service_deletes_the_load_balancer_then_the_finalizer() {
    test_runtime::run(async {
        let mut h = Harness::with_web_ensured(fast_config()).await;

        h.services()
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        eventually("service gone", || async { h.get("web").await.is_none() }).await;
        assert!(h.cloud.vip("default/web").is_none());
        assert_eq!(h.cloud.count(Op::Delete), 1);
        let reasons = h.reasons("web").await;
        assert!(
            reasons.contains(&"DeletingLoadBalancer".to_owned()),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&"DeletedLoadBalancer".to_owned()),
            "{reasons:?}"
        );
        h.stop().await;
    })
}

#[test]
fn a_service_deleted_while_the_controller_was_down_is_cleaned_up_at_start() {
    test_runtime::run(async {
        let mut h = Harness::with_web_ensured(fast_config()).await;
        h.stop().await;

        h.services()
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        let held = h.get("web").await.unwrap();
        assert!(
            held.metadata.deletion_timestamp.is_some() && finalized(&held),
            "the finalizer holds the Service while no controller runs"
        );

        h.start(fast_config());
        eventually("service gone", || async { h.get("web").await.is_none() }).await;
        assert!(h.cloud.vip("default/web").is_none());
        h.stop().await;
    })
}

#[test]
fn a_type_change_removes_the_load_balancer_status_and_finalizer() {
    test_runtime::run(async {
        let mut h = Harness::with_web_ensured(fast_config()).await;
        h.services()
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"type": "ClusterIP"}})),
            )
            .await
            .unwrap();
        eventually("finalizer removed", || async {
            !finalized(&h.get("web").await.unwrap())
        })
        .await;
        assert!(h.ip("web").await.is_none(), "status cleared");
        assert!(h.cloud.vip("default/web").is_none());
        h.stop().await;
    })
}

#[test]
fn a_service_that_vanishes_without_our_finalizer_is_cleaned_up_from_memory() {
    test_runtime::run(async {
        let mut h = Harness::with_web_ensured(fast_config()).await;
        // Someone strips the finalizer by hand and deletes the Service.
        h.services()
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await
            .unwrap();
        h.services()
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        eventually("load balancer deleted", || async {
            h.cloud.vip("default/web").is_none()
        })
        .await;
        h.stop().await;
    })
}

#[test]
fn node_changes_update_only_load_balancers_whose_node_set_changed() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.service("a", None);
        h.service("b", None);
        h.start(fast_config());
        eventually("both ensured", || async {
            h.ip("a").await.is_some() && h.ip("b").await.is_some()
        })
        .await;
        let vip_a = h.ip("a").await.unwrap();

        h.node("w2", "10.0.0.2", json!({}), json!([]));
        eventually("both updated", || async {
            h.cloud.backends("default/a").unwrap() == ["w1", "w2"]
                && h.cloud.backends("default/b").unwrap() == ["w1", "w2"]
        })
        .await;
        assert_eq!(h.cloud.count(Op::Update), 2, "one update per service");
        assert_eq!(h.cloud.count(Op::Ensure), 2, "no re-create on node changes");
        assert_eq!(h.ip("a").await.unwrap(), vip_a);
        eventually("updated event", || async {
            h.reasons("a")
                .await
                .contains(&"UpdatedLoadBalancer".to_owned())
        })
        .await;

        // A service created now is ensured with the current set and needs no update.
        h.service("c", None);
        eventually("c ensured", || async { h.ip("c").await.is_some() }).await;

        // Heartbeats and condition changes do not touch load balancers.
        let nodes: Api<Node> = Api::all(h.client.clone());
        for name in ["w1", "w2"] {
            nodes
                .patch_status(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"conditions": [
                        {"type": "Ready", "status": "False"}
                    ]}})),
                )
                .await
                .unwrap();
        }
        // Excluding a node does, for every service.
        nodes
            .patch(
                "w1",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": { LABEL_EXCLUDE_FROM_LB: "true" }}})),
            )
            .await
            .unwrap();
        eventually("w1 excluded everywhere", || async {
            ["a", "b", "c"]
                .iter()
                .all(|s| h.cloud.backends(&format!("default/{s}")).unwrap() == ["w2"])
        })
        .await;
        assert_eq!(
            h.cloud.count(Op::Update),
            5,
            "2 for w2 joining, then 3 for w1's exclusion; none for NotReady"
        );
        h.stop().await;
    })
}

#[test]
fn failures_back_off_exponentially_and_warn() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.cloud.script(
            Op::Ensure,
            "default/web",
            &[Script::Fail, Script::Fail, Script::Fail],
        );
        h.service("web", None);
        h.start(fast_config());
        eventually("VIP in status", || async { h.ip("web").await.is_some() }).await;
        let calls = h.cloud.calls(Op::Ensure, "default/web");
        assert_eq!(calls.len(), 4);
        let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
        // 100 ms, 200 ms, 400 ms (plus processing time).
        for (gap, min) in gaps.iter().zip([100u64, 200, 400]) {
            assert!(*gap >= Duration::from_millis(min), "gaps {gaps:?}");
        }
        let notes = h.notes("web", "SyncLoadBalancerFailed").await;
        assert!(!notes.is_empty());
        assert!(
            notes[0].starts_with("Error syncing load balancer: the cloud said 503"),
            "{notes:?}"
        );
        h.stop().await;
    })
}

#[test]
fn retry_after_is_honoured_instead_of_backoff_and_is_not_a_warning() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        let wait = Duration::from_millis(150);
        h.cloud.script(
            Op::Ensure,
            "default/web",
            &[Script::RetryAfter(wait), Script::RetryAfter(wait)],
        );
        h.service("web", None);
        // With this backoff a failure would take a minute: success in seconds proves retry-after.
        h.start(ServiceControllerConfig {
            retry: Backoff {
                base: Duration::from_secs(60),
                max: Duration::from_secs(300),
            },
            ..fast_config()
        });
        eventually("VIP in status", || async { h.ip("web").await.is_some() }).await;
        let calls = h.cloud.calls(Op::Ensure, "default/web");
        assert_eq!(calls.len(), 3);
        assert!(calls[1] - calls[0] >= wait);
        assert!(h.notes("web", "SyncLoadBalancerFailed").await.is_empty());
        let notes = h.notes("web", "EnsuringLoadBalancer").await;
        assert!(
            notes.iter().any(|n| n.contains("appliance is booting")),
            "the provider's explanation is shown: {notes:?}"
        );
        h.stop().await;
    })
}

#[test]
fn load_balancer_class_selects_services() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        h.service("plain", None);
        h.service("ours", Some("sakura.example/lb"));
        h.service("theirs", Some("other.example/lb"));

        // Without --load-balancer-class: classed Services are somebody else's.
        h.start(fast_config());
        eventually("plain ensured", || async { h.ip("plain").await.is_some() }).await;
        h.stop().await;
        for name in ["ours", "theirs"] {
            let s = h.get(name).await.unwrap();
            assert!(!finalized(&s) && h.ip(name).await.is_none(), "{name}");
        }

        h.start(ServiceControllerConfig {
            load_balancer_class: Some("sakura.example/lb".to_owned()),
            ..fast_config()
        });
        eventually("ours ensured", || async { h.ip("ours").await.is_some() }).await;
        h.stop().await;
        let theirs = h.get("theirs").await.unwrap();
        assert!(!finalized(&theirs) && h.ip("theirs").await.is_none());
        assert!(h.cloud.calls(Op::Ensure, "default/theirs").is_empty());
    })
}

#[test]
fn concurrent_service_syncs_run_in_parallel() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        *h.cloud.ensure_delay.lock().unwrap() = Duration::from_millis(100);
        for i in 0..8 {
            h.service(&format!("s{i}"), None);
        }
        h.start(ServiceControllerConfig {
            concurrency: 4,
            ..fast_config()
        });
        eventually("all ensured", || async {
            let mut all = true;
            for i in 0..8 {
                all &= h.ip(&format!("s{i}")).await.is_some();
            }
            all
        })
        .await;
        let max = h.cloud.max_in_flight.load(Ordering::SeqCst);
        assert!((2..=4).contains(&max), "max in flight {max}");
        h.stop().await;
    })
}

#[test]
fn finalizer_is_added_before_the_first_cloud_call() {
    test_runtime::run(async {
        let mut h = Harness::new().await;
        h.node("w1", "10.0.0.1", json!({}), json!([]));
        // The first ensure fails: the finalizer must already be there.
        h.cloud.script(Op::Ensure, "default/web", &[Script::Fail]);
        h.service("web", None);
        h.start(ServiceControllerConfig {
            retry: Backoff {
                base: Duration::from_secs(60),
                max: Duration::from_secs(60),
            },
            ..fast_config()
        });
        eventually("one failed ensure", || async {
            h.cloud.count(Op::Ensure) == 1
        })
        .await;
        assert!(finalized(&h.get("web").await.unwrap()));
        assert!(h.ip("web").await.is_none());
        h.stop().await;
        // Creating it by API also works with other finalizers present.
        let mut other = Service::default();
        other.metadata.name = Some("other".to_owned());
        other.metadata.finalizers = Some(vec!["example.com/keep".to_owned()]);
        other.spec = h.get("web").await.unwrap().spec;
        h.services()
            .create(&PostParams::default(), &other)
            .await
            .unwrap();
        h.start(fast_config());
        eventually("other ensured", || async { h.ip("other").await.is_some() }).await;
        let f = h.get("other").await.unwrap().finalizers().to_vec();
        assert_eq!(f, ["example.com/keep", FINALIZER_LB_CLEANUP]);
        h.stop().await;
    })
}
