//! The node lifecycle controller against the fake API server with a scripted provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_provider::labels::TAINT_SHUTDOWN;
use cloud_provider::node::lifecycle::{MonitorReport, NodeLifecycleController, has_shutdown_taint};
use cloud_provider::provider::{BoxFuture, InstanceMetadata, InstancesV2, ProviderError};
use fake_apiserver::{Config, FakeApiServer};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::json;

#[derive(Clone, Copy)]
enum Instance {
    Running,
    Stopped,
    Gone,
    CloudError,
}

#[derive(Default)]
struct ScriptedCloud(Mutex<HashMap<String, Instance>>);

impl ScriptedCloud {
    fn set(&self, name: &str, i: Instance) {
        self.0.lock().unwrap().insert(name.to_owned(), i);
    }

    fn get(&self, node: &Node) -> Instance {
        self.0
            .lock()
            .unwrap()
            .get(&node.name_any())
            .copied()
            .unwrap_or(Instance::CloudError)
    }
}

impl InstancesV2 for ScriptedCloud {
    fn instance_exists<'a>(&'a self, node: &'a Node) -> BoxFuture<'a, Result<bool, ProviderError>> {
        let r = match self.get(node) {
            Instance::Gone => Ok(false),
            Instance::CloudError => Err(ProviderError::other("503 from the cloud")),
            Instance::Running | Instance::Stopped => Ok(true),
        };
        Box::pin(async move { r })
    }

    fn instance_shutdown<'a>(
        &'a self,
        node: &'a Node,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        let r = Ok(matches!(self.get(node), Instance::Stopped));
        Box::pin(async move { r })
    }

    fn instance_metadata<'a>(
        &'a self,
        _: &'a Node,
    ) -> BoxFuture<'a, Result<InstanceMetadata, ProviderError>> {
        Box::pin(async move { Err(ProviderError::other("unused")) })
    }
}

fn node_json(name: &str, ready: &str, shutdown_taint: bool) -> serde_json::Value {
    let taints = if shutdown_taint {
        json!([{"key": TAINT_SHUTDOWN, "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    json!({
        "metadata": {"name": name},
        "spec": {"providerID": format!("fake://{name}"), "taints": taints},
        "status": {"conditions": [{"type": "Ready", "status": ready}]}
    })
}

#[test]
fn deletes_only_on_definitive_not_found_and_manages_the_shutdown_taint() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let cloud = Arc::new(ScriptedCloud::default());
        let cases = [
            ("gone", "Unknown", false, Instance::Gone),
            ("cloud-down", "False", false, Instance::CloudError),
            ("stopped", "False", false, Instance::Stopped),
            ("rebooting", "Unknown", false, Instance::Running),
            ("back", "True", true, Instance::Running),
            ("healthy", "True", false, Instance::Gone),
        ];
        for (name, ready, taint, instance) in cases {
            server
                .store()
                .create("nodes", None, node_json(name, ready, taint))
                .unwrap();
            cloud.set(name, instance);
        }
        let nodes: Api<Node> = Api::all(client.clone());
        let listed = nodes.list(&ListParams::default()).await.unwrap().items;
        let controller =
            NodeLifecycleController::new(client.clone(), cloud.clone(), Duration::from_secs(5));
        let mut report = controller.monitor(&listed).await;
        report.errors.sort();
        assert_eq!(
            report,
            MonitorReport {
                deleted: vec!["gone".into()],
                tainted: vec!["stopped".into()],
                untainted: vec!["back".into()],
                errors: vec!["cloud-down".into()],
            }
        );
        assert!(nodes.get_opt("gone").await.unwrap().is_none());
        assert!(
            nodes.get_opt("cloud-down").await.unwrap().is_some(),
            "an error never deletes"
        );
        assert!(
            nodes.get_opt("healthy").await.unwrap().is_some(),
            "ready nodes are not checked"
        );
        assert!(has_shutdown_taint(&nodes.get("stopped").await.unwrap()));
        assert!(!has_shutdown_taint(&nodes.get("back").await.unwrap()));
        assert!(!has_shutdown_taint(&nodes.get("rebooting").await.unwrap()));

        let events: Api<Event> = Api::namespaced(client.clone(), "default");
        let deleting: Vec<Event> = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("DeletingNode"))
            .collect();
        assert_eq!(deleting.len(), 1);
        assert_eq!(
            deleting[0].regarding.as_ref().unwrap().name.as_deref(),
            Some("gone")
        );

        // A second pass changes nothing.
        let listed = nodes.list(&ListParams::default()).await.unwrap().items;
        let rv = server.store().resource_version();
        let again = controller.monitor(&listed).await;
        assert!(again.deleted.is_empty() && again.tainted.is_empty() && again.untainted.is_empty());
        assert_eq!(server.store().resource_version(), rv, "no writes");
    })
}

#[test]
fn run_loop_deletes_a_node_whose_server_disappears() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
        let cloud = Arc::new(ScriptedCloud::default());
        server
            .store()
            .create("nodes", None, node_json("worker", "Unknown", false))
            .unwrap();
        cloud.set("worker", Instance::Running);
        let controller =
            NodeLifecycleController::new(client.clone(), cloud.clone(), Duration::from_millis(50));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            controller
                .run(async move {
                    let _ = stop_rx.await;
                })
                .await;
        });
        let nodes: Api<Node> = Api::all(client.clone());
        cloud.set("worker", Instance::Gone);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while nodes.get_opt("worker").await.unwrap().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "node not deleted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop_tx.send(()).unwrap();
        task.await.unwrap();
    })
}
