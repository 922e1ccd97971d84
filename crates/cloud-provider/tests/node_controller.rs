//! The cloud node controller against the fake API server with an in-memory provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_provider::labels::{LABEL_INSTANCE_TYPE, LABEL_REGION, LABEL_ZONE, TAINT_UNINITIALIZED};
use cloud_provider::node::addresses::node_address;
use cloud_provider::node::controller::{CloudNodeController, NodeControllerConfig};
use cloud_provider::provider::{BoxFuture, InstanceMetadata, InstancesV2, ProviderError};
use fake_apiserver::{Config, FakeApiServer, RunningFakeApiServer};
use k8s_openapi::api::core::v1::{Node, NodeAddress};
// kube's Recorder writes events.k8s.io/v1 Events (the fake keeps them apart from core/v1 ones).
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

type LookupHook = Box<dyn Fn(&str) + Send + Sync>;

/// Instances keyed by node name; counts calls.
#[derive(Default)]
struct FakeCloud {
    instances: Mutex<HashMap<String, InstanceMetadata>>,
    metadata_calls: AtomicUsize,
    batch_calls: AtomicUsize,
    /// Runs during each single lookup: lets a test change the Node behind the controller's back.
    during_lookup: Mutex<Option<LookupHook>>,
}

impl FakeCloud {
    fn add(&self, name: &str, id: u64, addresses: Vec<NodeAddress>) {
        self.instances.lock().unwrap().insert(
            name.to_owned(),
            InstanceMetadata {
                provider_id: format!("fake://{id}"),
                instance_type: "2core-4gb".into(),
                node_addresses: addresses,
                zone: "is1a".into(),
                region: "is1".into(),
                ..InstanceMetadata::default()
            },
        );
    }

    fn lookup(&self, node: &Node) -> Result<InstanceMetadata, ProviderError> {
        self.instances
            .lock()
            .unwrap()
            .get(&node.name_any())
            .cloned()
            .ok_or_else(|| {
                ProviderError::not_found(format!("no instance named {}", node.name_any()))
            })
    }
}

impl InstancesV2 for FakeCloud {
    fn instance_exists<'a>(&'a self, node: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move { Ok(self.lookup(node).is_ok()) })
    }

    fn instance_shutdown<'a>(
        &'a self,
        _node: &'a Node,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move { Ok(false) })
    }

    fn instance_metadata<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>> {
        self.metadata_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(hook) = self.during_lookup.lock().unwrap().as_ref() {
            hook(&node.name_any());
        }
        Box::pin(async move { self.lookup(node) })
    }

    fn instance_metadata_batch<'a>(
        &'a self,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Vec<Result<InstanceMetadata, ProviderError>>> {
        self.batch_calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { nodes.iter().map(|n| self.lookup(n)).collect() })
    }
}

/// Every Node, shared as the Node cache hands them to the controllers.
async fn shared(nodes: &Api<Node>) -> Vec<Arc<Node>> {
    let listed = nodes.list(&ListParams::default()).await.unwrap().items;
    listed.into_iter().map(Arc::new).collect()
}

async fn start() -> (RunningFakeApiServer, Client) {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
    (server, client)
}

fn kubelet_node(name: &str, provided_ip: Option<&str>) -> Node {
    let mut annotations = serde_json::Map::new();
    if let Some(ip) = provided_ip {
        annotations.insert("alpha.kubernetes.io/provided-node-ip".into(), json!(ip));
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}, "annotations": annotations},
        "spec": {"taints": [
            {"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"},
            {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
        ]},
        "status": {"addresses": [{"type": "Hostname", "address": name}]}
    }))
    .unwrap()
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn spawn_controller(client: &Client, cloud: Arc<FakeCloud>) -> tokio::sync::oneshot::Sender<()> {
    let controller = Arc::new(CloudNodeController::new(
        client.clone(),
        cloud,
        NodeControllerConfig::default(),
    ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(controller.run(async move {
        let _ = rx.await;
    }));
    tx
}

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t| t.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

#[test]
fn initializes_a_tainted_node() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        cloud.add(
            "worker-1",
            7,
            vec![
                node_address("ExternalIP", "203.0.113.20"),
                node_address("InternalIP", "192.168.0.11"),
                node_address("Hostname", "worker-1"),
            ],
        );
        let nodes: Api<Node> = Api::all(client.clone());
        nodes
            .create(&PostParams::default(), &kubelet_node("worker-1", None))
            .await
            .unwrap();
        let _stop = spawn_controller(&client, cloud.clone());

        let node = eventually("node initialized", || async {
            let n = nodes.get("worker-1").await.ok()?;
            (!taint_keys(&n).contains(&TAINT_UNINITIALIZED.to_owned())
                && n.status.as_ref()?.addresses.as_ref()?.len() == 3)
                .then_some(n)
        })
        .await;
        assert_eq!(taint_keys(&node), ["dedicated"]);
        assert_eq!(
            node.spec.as_ref().unwrap().provider_id.as_deref(),
            Some("fake://7")
        );
        let labels = node.labels();
        assert_eq!(labels[LABEL_ZONE], "is1a");
        assert_eq!(labels[LABEL_REGION], "is1");
        assert_eq!(labels[LABEL_INSTANCE_TYPE], "2core-4gb");
        let addresses = node.status.unwrap().addresses.unwrap();
        assert_eq!(addresses[0], node_address("ExternalIP", "203.0.113.20"));

        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let synced = eventually("Synced event", || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("Synced"))
        })
        .await;
        assert_eq!(synced.regarding.unwrap().name.as_deref(), Some("worker-1"));
    })
}

#[test]
fn provided_node_ip_mismatch_keeps_the_taint_and_warns() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        cloud.add(
            "worker-2",
            8,
            vec![node_address("InternalIP", "192.168.0.12")],
        );
        let nodes: Api<Node> = Api::all(client.clone());
        nodes
            .create(
                &PostParams::default(),
                &kubelet_node("worker-2", Some("10.0.0.99")),
            )
            .await
            .unwrap();
        let _stop = spawn_controller(&client, cloud.clone());

        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let warning = eventually("SyncNodeFailed event", || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("SyncNodeFailed"))
        })
        .await;
        assert!(warning.note.unwrap().contains("10.0.0.99"));
        let node = nodes.get("worker-2").await.unwrap();
        assert!(taint_keys(&node).contains(&TAINT_UNINITIALIZED.to_owned()));
        assert_eq!(node.spec.unwrap().provider_id, None, "nothing written");
    })
}

#[test]
fn node_without_instance_stays_tainted() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        let nodes: Api<Node> = Api::all(client.clone());
        nodes
            .create(&PostParams::default(), &kubelet_node("ghost", None))
            .await
            .unwrap();
        let _stop = spawn_controller(&client, cloud.clone());
        eventually("a lookup", || async {
            (cloud.metadata_calls.load(Ordering::SeqCst) > 0).then_some(())
        })
        .await;
        let node = nodes.get("ghost").await.unwrap();
        assert!(taint_keys(&node).contains(&TAINT_UNINITIALIZED.to_owned()));
    })
}

#[test]
fn address_sync_uses_one_batched_call_for_500_nodes() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        for i in 0..500 {
            let name = format!("node-{i:03}");
            cloud.add(
                &name,
                i,
                vec![node_address(
                    "InternalIP",
                    &format!("10.0.{}.{}", i / 250, i % 250 + 1),
                )],
            );
            server
            .store()
            .create(
                "nodes",
                None,
                json!({"metadata": {"name": name}, "spec": {"providerID": format!("fake://{i}")},
                       "status": {"addresses": [{"type": "InternalIP", "address": "10.255.255.255"}]}}),
            )
            .unwrap();
        }
        let controller = CloudNodeController::new(
            client.clone(),
            cloud.clone(),
            NodeControllerConfig::default(),
        );
        let nodes: Api<Node> = Api::all(client.clone());
        let listed = shared(&nodes).await;
        assert_eq!(controller.sync_addresses(&listed).await, 500);
        assert_eq!(cloud.batch_calls.load(Ordering::SeqCst), 1);
        assert_eq!(cloud.metadata_calls.load(Ordering::SeqCst), 0);
        let n = nodes.get("node-251").await.unwrap();
        assert_eq!(
            n.status.unwrap().addresses.unwrap(),
            [node_address("InternalIP", "10.0.1.2")]
        );

        // Nothing changed: nothing written.
        let listed = shared(&nodes).await;
        let rv_before = server.store().resource_version();
        assert_eq!(controller.sync_addresses(&listed).await, 0);
        assert_eq!(server.store().resource_version(), rv_before);
        assert_eq!(cloud.batch_calls.load(Ordering::SeqCst), 2);
    })
}

#[test]
fn a_conflicting_write_during_initialization_is_retried_and_kept() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        cloud.add(
            "worker-3",
            9,
            vec![node_address("InternalIP", "192.168.0.13")],
        );
        // The kubelet updates the Node while the controller asks the cloud: the controller's
        // write then carries a stale resourceVersion and gets 409.
        let store = server.store().clone();
        *cloud.during_lookup.lock().unwrap() = Some(Box::new(move |name| {
            let _ = store.patch(
                "nodes",
                None,
                name,
                fake_apiserver::PatchType::Merge,
                &json!({"metadata": {"labels": {"kubelet-wrote": "yes"}}}),
                fake_apiserver::Subresource::Main,
            );
        }));
        let nodes: Api<Node> = Api::all(client.clone());
        nodes
            .create(&PostParams::default(), &kubelet_node("worker-3", None))
            .await
            .unwrap();
        let _stop = spawn_controller(&client, cloud.clone());
        let node = eventually("node initialized", || async {
            let n = nodes.get("worker-3").await.ok()?;
            (!taint_keys(&n).contains(&TAINT_UNINITIALIZED.to_owned())).then_some(n)
        })
        .await;
        assert_eq!(
            node.labels()["kubelet-wrote"],
            "yes",
            "the other write survives"
        );
        assert_eq!(node.labels()[LABEL_ZONE], "is1a");
        assert_eq!(node.spec.unwrap().provider_id.as_deref(), Some("fake://9"));
        assert_eq!(
            cloud.metadata_calls.load(Ordering::SeqCst),
            1,
            "the conflict is retried without asking the cloud again"
        );
    })
}

#[test]
fn a_matching_provided_node_ip_comes_first() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cloud = Arc::new(FakeCloud::default());
        cloud.add(
            "worker-4",
            10,
            vec![
                node_address("ExternalIP", "203.0.113.24"),
                node_address("InternalIP", "192.168.0.14"),
            ],
        );
        let nodes: Api<Node> = Api::all(client.clone());
        nodes
            .create(
                &PostParams::default(),
                &kubelet_node("worker-4", Some("192.168.0.14")),
            )
            .await
            .unwrap();
        let _stop = spawn_controller(&client, cloud.clone());
        // As upstream, the taint goes first and the addresses follow in a second write.
        let node = eventually("node initialized with the cloud's addresses", || async {
            let n = nodes.get("worker-4").await.ok()?;
            let has_cloud_addresses = n
                .status
                .as_ref()
                .and_then(|s| s.addresses.as_ref())
                .is_some_and(|a| a.iter().any(|a| a.address == "203.0.113.24"));
            (!taint_keys(&n).contains(&TAINT_UNINITIALIZED.to_owned()) && has_cloud_addresses)
                .then_some(n)
        })
        .await;
        let addresses = node.status.unwrap().addresses.unwrap();
        assert_eq!(addresses[0], node_address("InternalIP", "192.168.0.14"));
    })
}
