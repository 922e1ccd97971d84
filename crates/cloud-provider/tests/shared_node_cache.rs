//! The node, lifecycle and service controllers sharing one Node cache (one watch, Nodes pruned
//! as they arrive), against the fake API server with Nodes as a real kubelet registers them:
//! each controller still does its work, and nothing it writes back erases what was pruned.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_provider::labels::{LABEL_ZONE, TAINT_SHUTDOWN, TAINT_UNINITIALIZED};
use cloud_provider::node::addresses::node_address;
use cloud_provider::node::cache::NodeCache;
use cloud_provider::node::controller::{CloudNodeController, NodeControllerConfig};
use cloud_provider::node::lifecycle::NodeLifecycleController;
use cloud_provider::provider::{
    BoxFuture, InstanceMetadata, InstancesV2, LoadBalancer, LoadBalancerOutcome, ProviderError,
    ProviderEvent,
};
use cloud_provider::service::controller::{ServiceController, ServiceControllerConfig};
use fake_apiserver::{Config, FakeApiServer};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Node, Service};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

/// The cloud: `worker-1` and `worker-3` exist (`worker-3` shut down), `worker-2` is gone; one
/// load balancer whose backends are recorded as the controller passed them.
#[derive(Default)]
struct FakeCloud {
    backends: Mutex<Option<Vec<Arc<Node>>>>,
}

impl FakeCloud {
    fn metadata(node: &Node) -> Result<InstanceMetadata, ProviderError> {
        match node.name_any().as_str() {
            "worker-1" => Ok(InstanceMetadata {
                provider_id: "fake://1".into(),
                zone: "is1a".into(),
                node_addresses: vec![
                    node_address("InternalIP", "10.0.0.1"),
                    node_address("ExternalIP", "203.0.113.1"),
                ],
                ..InstanceMetadata::default()
            }),
            "worker-3" => Ok(InstanceMetadata {
                provider_id: "fake://3".into(),
                node_addresses: vec![node_address("InternalIP", "10.0.0.3")],
                ..InstanceMetadata::default()
            }),
            other => Err(ProviderError::not_found(format!("no instance {other}"))),
        }
    }
}

impl InstancesV2 for FakeCloud {
    fn instance_exists<'a>(&'a self, node: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move { Ok(node.name_any() != "worker-2") })
    }

    fn instance_shutdown<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move { Ok(node.name_any() == "worker-3") })
    }

    fn instance_metadata<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>> {
        Box::pin(async move { Self::metadata(node) })
    }

    fn instance_metadata_batch<'a>(
        &'a self,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Vec<Result<InstanceMetadata, ProviderError>>> {
        Box::pin(async move { nodes.iter().map(|n| Self::metadata(n)).collect() })
    }
}

impl LoadBalancer for FakeCloud {
    fn get<'a>(
        &'a self,
        _cluster_name: &'a str,
        _service: &'a Service,
    ) -> BoxFuture<'a, Result<Option<LoadBalancerStatus>, ProviderError>> {
        Box::pin(async move { Ok(None) })
    }

    fn name(&self, _cluster_name: &str, service: &Service) -> String {
        service.name_any()
    }

    fn ensure<'a>(
        &'a self,
        _cluster_name: &'a str,
        _service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<LoadBalancerOutcome, ProviderError>> {
        *self.backends.lock().unwrap() = Some(nodes.to_vec());
        Box::pin(async move {
            Ok(LoadBalancerOutcome {
                status: LoadBalancerStatus {
                    ingress: Some(vec![LoadBalancerIngress {
                        ip: Some("198.51.100.1".into()),
                        ..LoadBalancerIngress::default()
                    }]),
                },
                ..LoadBalancerOutcome::default()
            })
        })
    }

    fn update<'a>(
        &'a self,
        _cluster_name: &'a str,
        _service: &'a Service,
        nodes: &'a [Arc<Node>],
    ) -> BoxFuture<'a, Result<Vec<ProviderEvent>, ProviderError>> {
        *self.backends.lock().unwrap() = Some(nodes.to_vec());
        Box::pin(async move { Ok(Vec::new()) })
    }

    fn ensure_deleted<'a>(
        &'a self,
        _cluster_name: &'a str,
        _service: &'a Service,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move { Ok(()) })
    }
}

/// A Node as a kubelet registers it on a real cluster: images, nodeInfo, capacity, conditions
/// with messages, pod CIDR, annotations.
fn real_node(name: &str, initialized: bool, ready: bool) -> Node {
    let taints = if initialized {
        json!([])
    } else {
        json!([{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}])
    };
    let images: Vec<Value> = (0..40)
        .map(|i| {
            json!({"names": [format!("registry.example/app-{i}@sha256:{:064}", i),
                             format!("registry.example/app-{i}:v1.{i}")],
                   "sizeBytes": 1_000_000 + i})
        })
        .collect();
    let mut node = json!({
        "metadata": {"name": name,
                     "labels": {"kubernetes.io/hostname": name, "example.com/pool": "a"},
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "csi.volume.kubernetes.io/nodeid": "{\"csi.example\":\"x\"}"}},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "taints": taints},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                            "reason": "KubeletReady", "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": "2026-12-06T09:41:27Z"}],
            "addresses": [{"type": "Hostname", "address": name}],
            "images": images,
            "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.8",
                         "osImage": "Ubuntu", "containerRuntimeVersion": "containerd://1.7",
                         "kubeletVersion": "v1.35.0", "kubeProxyVersion": "",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        }
    });
    if initialized {
        node["spec"]["providerID"] = json!(format!("fake://{}", &name[7..]));
    }
    serde_json::from_value(node).unwrap()
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

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t| t.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

/// What a kubelet wrote and no controller of ours owns must still be on the server.
fn assert_untouched_by_pruning(node: &Node) {
    let status = node.status.as_ref().unwrap();
    assert_eq!(status.images.as_ref().map(Vec::len), Some(40), "images");
    assert!(status.node_info.is_some(), "nodeInfo");
    assert!(status.capacity.is_some(), "capacity");
    let ready = &status.conditions.as_ref().unwrap()[0];
    assert!(ready.message.is_some(), "condition message");
    let spec = node.spec.as_ref().unwrap();
    assert_eq!(spec.pod_cidr.as_deref(), Some("10.244.1.0/24"));
    assert_eq!(node.annotations()["node.alpha.kubernetes.io/ttl"], "0");
    assert_eq!(node.labels()["example.com/pool"], "a");
}

#[test]
fn three_controllers_share_one_watch_and_work_on_pruned_nodes() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let nodes: Api<Node> = Api::all(client.clone());
        for node in [
            real_node("worker-1", false, true),
            real_node("worker-2", true, false),
            real_node("worker-3", true, false),
        ] {
            nodes.create(&PostParams::default(), &node).await.unwrap();
        }
        let services: Api<Service> = Api::namespaced(client.clone(), "default");
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}
        }))
        .unwrap();
        services
            .create(&PostParams::default(), &service)
            .await
            .unwrap();

        let cloud = Arc::new(FakeCloud::default());
        let cache = NodeCache::new(client.clone());
        let node_controller = Arc::new(
            CloudNodeController::new(
                client.clone(),
                cloud.clone(),
                NodeControllerConfig::default(),
            )
            .with_node_cache(cache.clone()),
        );
        let lifecycle = Arc::new(
            NodeLifecycleController::new(client.clone(), cloud.clone(), Duration::from_millis(50))
                .with_node_cache(cache.clone()),
        );
        let service_controller = Arc::new(
            ServiceController::new(
                client.clone(),
                cloud.clone(),
                ServiceControllerConfig {
                    node_sync_settle: Duration::from_millis(50),
                    resync_period: None,
                    ..ServiceControllerConfig::default()
                },
            )
            .with_node_cache(cache.clone()),
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(cache.clone().run(stopped()));
        tasks.spawn(node_controller.run(stopped()));
        let stop = stopped();
        tasks.spawn(async move { lifecycle.run(stop).await });
        tasks.spawn(service_controller.run(stopped()));

        // The node controller initialized worker-1 from its pruned copy...
        let worker1 = eventually("worker-1 initialized with its addresses", || async {
            let n = nodes.get("worker-1").await.ok()?;
            (!taint_keys(&n).contains(&TAINT_UNINITIALIZED.to_owned())
                && n.status.as_ref()?.addresses.as_ref()?.len() == 3)
                .then_some(n)
        })
        .await;
        assert_eq!(
            worker1.spec.as_ref().unwrap().provider_id.as_deref(),
            Some("fake://1")
        );
        assert_eq!(worker1.labels()[LABEL_ZONE], "is1a");
        // ...and the replace it wrote erased nothing the cache had dropped.
        assert_untouched_by_pruning(&worker1);

        // The lifecycle controller deleted the Node whose instance is gone and tainted the one
        // that is shut down, again without erasing anything.
        eventually("worker-2 deleted", || async {
            nodes
                .get_opt("worker-2")
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await;
        let worker3 = eventually("worker-3 tainted as shut down", || async {
            let n = nodes.get("worker-3").await.ok()?;
            taint_keys(&n)
                .contains(&TAINT_SHUTDOWN.to_owned())
                .then_some(n)
        })
        .await;
        assert_untouched_by_pruning(&worker3);

        // The service controller pointed the load balancer at the remaining Nodes, with the
        // addresses the node controller wrote, and got pruned Nodes (no images).
        let backends = eventually("the load balancer on worker-1 and worker-3", || async {
            let backends = cloud.backends.lock().unwrap().clone()?;
            let names: Vec<String> = backends.iter().map(|n| n.name_any()).collect();
            let has_addresses = backends.iter().any(|n| {
                n.name_any() == "worker-1"
                    && n.status
                        .as_ref()
                        .and_then(|s| s.addresses.as_ref())
                        .is_some_and(|a| a.len() == 3)
            });
            (names == ["worker-1", "worker-3"] && has_addresses).then_some(backends)
        })
        .await;
        assert!(
            backends
                .iter()
                .all(|n| n.status.as_ref().unwrap().images.is_none()
                    && n.metadata.managed_fields.is_none())
        );
        eventually("the Service's IP", || async {
            let s = services.get("web").await.ok()?;
            s.status?.load_balancer?.ingress?.first()?.ip.clone()
        })
        .await;

        // One watch for all three.
        let node_reads: BTreeMap<String, usize> = server
            .requests()
            .iter()
            .filter(|r| r.resource == "nodes" && (r.verb == "list" || r.verb == "watch"))
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.verb.clone()).or_default() += 1;
                m
            });
        assert_eq!(node_reads.get("list"), Some(&1), "{node_reads:?}");

        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), async {
            while tasks.join_next().await.is_some() {}
        })
        .await
        .expect("every controller stops");
    })
}
