//! The `fake-apiserver` process and the Kubernetes side of a test, through the kube client as
//! `kubectl` (and a kubelet registering its Node) would act.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::{CONVERGE, Process, binary, eventually, wait_for};

/// The taint a kubelet started with `--cloud-provider=external` registers its Node with.
pub const TAINT_UNINITIALIZED: &str = "node.cloudprovider.kubernetes.io/uninitialized";
/// The taint the node lifecycle controller puts on Nodes whose server is off.
pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";
/// The kubelet's `--node-ip` annotation.
pub const ANNOTATION_PROVIDED_NODE_IP: &str = "alpha.kubernetes.io/provided-node-ip";

/// A running `fake-apiserver` and a client for it.
pub struct ApiServer {
    /// The process.
    pub process: Process,
    /// The kubeconfig file the server wrote.
    pub kubeconfig: PathBuf,
    /// A client (as `kubectl` would be).
    pub kube: kube::Client,
    dir: PathBuf,
    /// `host:port` it listens on, kept across restarts.
    address: String,
    starts: u32,
}

impl ApiServer {
    /// Starts the API server on a free loopback port.
    pub async fn start(dir: &Path) -> ApiServer {
        let kubeconfig = dir.join("kubeconfig");
        let (process, url) = spawn(dir, "fake-apiserver", "127.0.0.1:0");
        let address = url
            .trim()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let config = kube::Config::new(url.trim().parse().unwrap());
        let kube = kube::Client::try_from(config).unwrap();
        ApiServer {
            process,
            kubeconfig,
            kube,
            dir: dir.to_path_buf(),
            address,
            starts: 1,
        }
    }

    /// Stops the server (SIGTERM: it saves its objects), as a control-plane outage would.
    pub fn stop(&mut self) {
        let status = self.process.sigterm(Duration::from_secs(10));
        assert!(status.success(), "fake-apiserver stopped with {status:?}");
    }

    /// Starts the server again on the same address with the objects it had.
    pub fn start_again(&mut self) {
        self.starts += 1;
        let name = format!("fake-apiserver-{}", self.starts);
        let (process, _) = spawn(&self.dir, &name, &self.address);
        self.process = process;
    }

    fn nodes(&self) -> Api<Node> {
        Api::all(self.kube.clone())
    }

    fn services(&self) -> Api<Service> {
        Api::namespaced(self.kube.clone(), "default")
    }

    /// Registers a Node as a kubelet with `--cloud-provider=external` does: tainted
    /// uninitialized, no provider ID, no addresses, Ready; with `--node-ip` if `provided_ip`.
    pub async fn register_node(&self, name: &str, provided_ip: Option<&str>) {
        self.register_node_labelled(name, provided_ip, json!({}))
            .await;
    }

    /// [`ApiServer::register_node`] with labels (kubeadm labels control planes
    /// `node.kubernetes.io/exclude-from-external-load-balancers`).
    pub async fn register_node_labelled(
        &self,
        name: &str,
        provided_ip: Option<&str>,
        labels: Value,
    ) {
        let mut annotations = json!({});
        if let Some(ip) = provided_ip {
            annotations[ANNOTATION_PROVIDED_NODE_IP] = json!(ip);
        }
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {"taints": [{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        self.nodes()
            .create(&PostParams::default(), &node)
            .await
            .unwrap();
    }

    /// The Node, if it exists.
    pub async fn node(&self, name: &str) -> Option<Node> {
        self.nodes().get_opt(name).await.unwrap()
    }

    /// Whether the Node has a provider ID and no uninitialized taint.
    pub async fn node_initialized(&self, name: &str) -> bool {
        let Some(node) = self.node(name).await else {
            return false;
        };
        let spec = node.spec.unwrap_or_default();
        spec.provider_id.is_some() && !has_taint(&spec.taints, TAINT_UNINITIALIZED)
    }

    /// Whether the Node carries the taint `key`.
    pub async fn node_has_taint(&self, name: &str, key: &str) -> bool {
        self.node(name)
            .await
            .and_then(|n| n.spec)
            .is_some_and(|s| has_taint(&s.taints, key))
    }

    /// Waits until every Node in `names` is initialized.
    pub async fn wait_initialized(&self, names: &[&str]) {
        for name in names {
            eventually(&format!("{name} initialized"), CONVERGE, || async {
                self.node_initialized(name).await
            })
            .await;
        }
    }

    /// Sets the Node's Ready condition, as the kubelet (or kube-controller-manager) would.
    pub async fn set_node_ready(&self, name: &str, ready: bool) {
        let status = if ready { "True" } else { "False" };
        self.nodes()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"status": {"conditions": [{"type": "Ready", "status": status}]}}),
                ),
            )
            .await
            .unwrap();
    }

    /// Deletes the Node (as `kubectl delete node` when a worker is retired).
    pub async fn delete_node(&self, name: &str) {
        self.nodes()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Creates a `type: LoadBalancer` Service in `default` with TCP `ports` and `annotations`.
    pub async fn create_service(&self, name: &str, annotations: Value, ports: &[u16]) {
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| json!({"name": format!("p{p}"), "port": p, "protocol": "TCP", "nodePort": 30000 + p}))
            .collect();
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {"type": "LoadBalancer", "ports": ports, "selector": {"app": name}}
        }))
        .unwrap();
        self.services()
            .create(&PostParams::default(), &service)
            .await
            .unwrap();
    }

    /// Merge-patches the Service (as `kubectl patch --type=merge`).
    pub async fn patch_service(&self, name: &str, patch: Value) {
        self.services()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    /// Deletes the Service.
    pub async fn delete_service(&self, name: &str) {
        self.services()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// The Service, if it exists.
    pub async fn service(&self, name: &str) -> Option<Service> {
        self.services().get_opt(name).await.unwrap()
    }

    /// The Service's first ingress IP.
    pub async fn ingress_ip(&self, name: &str) -> Option<String> {
        self.service(name)
            .await?
            .status?
            .load_balancer?
            .ingress?
            .first()?
            .ip
            .clone()
    }

    /// Waits for the Service's ingress IP.
    pub async fn wait_for_ingress(&self, name: &str) -> String {
        wait_for(&format!("{name} gets an external IP"), CONVERGE, || {
            self.ingress_ip(name)
        })
        .await
    }

    /// events.k8s.io Events about the object named `name`: (type, reason, note).
    pub async fn events_about(&self, name: &str) -> Vec<(String, String, String)> {
        let events: Api<Event> = Api::all(self.kube.clone());
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| {
                (
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.note.unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Warning Events about `name`, one entry per Event object: (reason, how many times it
    /// happened: `series.count`, or 1 without a series).
    pub async fn warning_series(&self, name: &str) -> Vec<(String, i32)> {
        let events: Api<Event> = Api::all(self.kube.clone());
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .map(|e| {
                let count = e.series.as_ref().map_or(1, |s| s.count);
                (e.reason.unwrap_or_default(), count)
            })
            .collect()
    }

    /// Waits for an event with `reason` about `name`; returns its note.
    pub async fn wait_for_event(&self, name: &str, reason: &str) -> String {
        wait_for(
            &format!("a {reason} event about {name}"),
            CONVERGE,
            || async {
                self.events_about(name)
                    .await
                    .into_iter()
                    .find(|(_, r, _)| r == reason)
                    .map(|(_, _, note)| note)
            },
        )
        .await
    }

    /// The leader Lease's holder identity.
    pub async fn lease_holder(&self) -> Option<String> {
        let leases: Api<Lease> = Api::namespaced(self.kube.clone(), "kube-system");
        leases
            .get_opt("cloud-controller-manager")
            .await
            .unwrap()?
            .spec?
            .holder_identity
            .filter(|h| !h.is_empty())
    }
}

fn has_taint(taints: &Option<Vec<k8s_openapi::api::core::v1::Taint>>, key: &str) -> bool {
    taints.iter().flatten().any(|t| t.key == key)
}

/// Spawns `fake-apiserver` on `listen`, keeping its objects in the test's state file; returns
/// the process and the URL it printed.
fn spawn(dir: &Path, name: &str, listen: &str) -> (Process, String) {
    let mut cmd = Command::new(binary("fake-apiserver"));
    cmd.env_clear()
        .env("RUST_LOG", "warn")
        .args(["--listen", listen])
        .arg(format!(
            "--kubeconfig-out={}",
            dir.join("kubeconfig").display()
        ))
        .arg(format!(
            "--state-file={}",
            dir.join("fake-apiserver.state.json").display()
        ));
    Process::spawn_reading_first_line(dir, name, cmd)
}
