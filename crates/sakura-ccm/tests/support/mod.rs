//! A cluster for the integration tests: the SAKURA simulator, the fake API server, and the
//! controller manager (the binary's controllers, in-process) with the SAKURA provider.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test binary uses a part

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use cloud_provider::app::{App, RunningApp};
use cloud_provider::labels::{ANNOTATION_PROVIDED_NODE_IP, TAINT_UNINITIALIZED};
use cloud_provider::options::CcmOptions;
use fake_apiserver::{FakeApiServer, PatchType, RunningFakeApiServer, Subresource};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use prometheus_client::registry::Registry;
use sacloud::{Client, Config, Filter, LoadBalancer, RetryPolicy, Server, Zone};
use sacloud_sim::{RunningSimulator, Scenario, Simulator};
use sakura_ccm::cloud::SakuraCloud;
use sakura_ccm::provider::cloud_instances::SakuraInstances;
use sakura_ccm::provider::load_balancers::SakuraLoadBalancers;
use sakura_ccm::provider::servers::ServerListing;
use serde_json::{Value, json};

/// The cluster ID the controller runs with (its appliances carry `@k8s.ClusterID=<this>`).
pub const CLUSTER_ID: &str = "test-cluster";

/// A switch+router tagged `@k8s` with a /28 (`203.0.113.16/28`: gateway .17, assignable
/// .20–.30), a private switch, one control plane and three workers.
pub const SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
switches:
  - name: private-net
    network: 192.168.0.0/24
servers:
  - name: control-plane-1
    plan: { cpu: 2, memory_gb: 4 }
    nics:
      - router: k8s-router
        ip: 203.0.113.20
      - switch: private-net
        ip: 192.168.0.10
        prefix_len: 24
  - name: worker-1
    plan: { cpu: 4, memory_gb: 8 }
    nics:
      - router: k8s-router
        ip: 203.0.113.21
      - switch: private-net
        ip: 192.168.0.11
        prefix_len: 24
  - name: worker-2
    nics:
      - router: k8s-router
        ip: 203.0.113.22
  - name: worker-3
    nics:
      - router: k8s-router
        ip: 203.0.113.23
"#;

/// Polls `check` every 20 ms until it holds, failing the test after `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
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

/// How long tests wait for the controller to converge.
pub const CONVERGE: Duration = Duration::from_secs(15);

/// Starts the simulator with `scenario` (lifecycles settle at once).
pub async fn simulator(scenario: &str) -> RunningSimulator {
    Simulator::builder()
        .boot_delay(Duration::ZERO)
        .shutdown_delay(Duration::ZERO)
        .lets_encrypt_delay(Duration::from_millis(300))
        .credentials("sim-token", "sim-secret")
        .scenario(Scenario::parse(scenario).unwrap())
        .seed(7)
        .start()
        .await
        .unwrap()
}

/// A SAKURA client for the simulator, without rate limit and with quick retries.
pub fn cloud_client(sim: &RunningSimulator) -> Client {
    let mut config = Config::new(sim.token(), sim.secret(), Zone::Is1a);
    config.api_root_url = sim.base_url();
    config.rate_limit.per_second = 0.0;
    config.retry = RetryPolicy {
        max_retries: 3,
        min_wait: Duration::from_millis(5),
        max_wait: Duration::from_millis(50),
    };
    Client::new(config).unwrap()
}

/// The provider as the binary builds it, with cache ages and polls shortened for tests.
pub fn provider(client: &Client, cluster_id: Option<&str>) -> SakuraCloud {
    let age = Duration::from_millis(100);
    let servers = Arc::new(ServerListing::new(client.clone(), &[], age));
    SakuraCloud::from_parts(
        SakuraInstances::new(client.clone()).with_server_listing(servers.clone()),
        Some(
            SakuraLoadBalancers::new(client.clone(), cluster_id.map(str::to_owned))
                .with_max_age(age)
                .with_server_listing(servers)
                .with_poll_interval(Duration::from_millis(50))
                .with_certificate_poll(Duration::from_millis(100)),
        ),
    )
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: CcmOptions,
}

/// The simulator, the fake API server and (when started) the controller manager.
pub struct Cluster {
    // First, so that it drops first: the controllers are told to stop while the servers they
    // talk to still answer (fields drop in declaration order).
    controller: Option<(RunningApp, tokio::sync::oneshot::Sender<()>)>,
    /// The SAKURA simulator.
    pub sim: RunningSimulator,
    /// The fake Kubernetes API server.
    pub api: RunningFakeApiServer,
    /// A client for it.
    pub kube: kube::Client,
    /// A SAKURA client for the simulator (for assertions).
    pub cloud: Client,
}

impl Cluster {
    /// The simulator with `scenario` and the API server, without the controller.
    pub async fn without_controller(scenario: &str) -> Self {
        let sim = simulator(scenario).await;
        let api = FakeApiServer::start(fake_apiserver::Config::default())
            .await
            .unwrap();
        let kube = kube::Client::try_from(kube::Config::new(api.url().parse().unwrap())).unwrap();
        let cloud = cloud_client(&sim);
        Self {
            sim,
            api,
            kube,
            cloud,
            controller: None,
        }
    }

    /// Everything, with the controller running with the default flags of the tests.
    pub async fn start(scenario: &str) -> Self {
        let mut cluster = Self::without_controller(scenario).await;
        cluster.start_controller(&[]).await;
        cluster
    }

    /// Starts the controller manager with the seed-000 command line plus test timings and
    /// `extra` flags.
    pub async fn start_controller(&mut self, extra: &[&str]) {
        self.start_controller_with(extra, provider(&self.cloud, Some(CLUSTER_ID)))
            .await;
    }

    /// Starts the controller manager with a given provider.
    pub async fn start_controller_with(&mut self, extra: &[&str], provider: SakuraCloud) {
        assert!(self.controller.is_none(), "the controller already runs");
        let mut args = vec![
            "sakura-cloud-controller-manager",
            "--cloud-provider=sakuracloud",
            "--allocate-node-cidrs=false",
            "--configure-cloud-routes=false",
            "--use-service-account-credentials",
            "--leader-elect=false",
            "--secure-port=0",
            "--node-status-update-frequency=1s",
            "--node-monitor-period=200ms",
        ];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args).unwrap();
        let mut app = App::from_options(cli.options).unwrap();
        app.kube_client = Some(self.kube.clone());
        app.service_retry.base = Duration::from_millis(50);
        app.service_retry.max = Duration::from_millis(500);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = app
            .start(Arc::new(provider), Registry::default(), async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        self.controller = Some((running, stop));
    }

    /// Stops the controller manager and waits for it to finish.
    pub async fn stop_controller(&mut self) {
        if let Some((running, stop)) = self.controller.take() {
            let _ = stop.send(());
            running.wait().await.unwrap();
        }
    }

    // ---- Kubernetes side ----

    /// Registers a Node as a kubelet with `--cloud-provider=external` does: tainted
    /// `uninitialized`, Ready, no addresses.
    pub fn add_node(&self, name: &str) {
        self.add_node_with(name, None, None);
    }

    /// [`Cluster::add_node`] with a provider ID and/or a provided node IP.
    pub fn add_node_with(&self, name: &str, provider_id: Option<&str>, provided_ip: Option<&str>) {
        let mut annotations = serde_json::Map::new();
        if let Some(ip) = provided_ip {
            annotations.insert(ANNOTATION_PROVIDED_NODE_IP.to_owned(), json!(ip));
        }
        let mut spec = json!({
            "taints": [{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]
        });
        if let Some(id) = provider_id {
            spec["providerID"] = json!(id);
        }
        self.api
            .store()
            .create(
                "nodes",
                None,
                json!({
                    "metadata": {"name": name, "annotations": annotations},
                    "spec": spec,
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]}
                }),
            )
            .unwrap();
    }

    /// Sets the Node's Ready condition (as the kubelet, or the node lifecycle of kube-controller-
    /// manager, would).
    pub fn set_node_ready(&self, name: &str, ready: bool) {
        let status = if ready { "True" } else { "False" };
        self.api
            .store()
            .patch(
                "nodes",
                None,
                name,
                PatchType::Merge,
                &json!({"status": {"conditions": [{"type": "Ready", "status": status}]}}),
                Subresource::Status,
            )
            .unwrap();
    }

    /// Deletes a Node.
    pub fn delete_node(&self, name: &str) {
        self.api.store().delete("nodes", None, name).unwrap();
    }

    /// A Node, if it exists.
    pub async fn node(&self, name: &str) -> Option<Node> {
        Api::<Node>::all(self.kube.clone())
            .get_opt(name)
            .await
            .unwrap()
    }

    /// Whether the Node is initialized (no `uninitialized` taint, a provider ID).
    pub async fn node_initialized(&self, name: &str) -> bool {
        self.node(name).await.is_some_and(|n| {
            let spec = n.spec.unwrap_or_default();
            spec.provider_id.is_some()
                && !spec
                    .taints
                    .unwrap_or_default()
                    .iter()
                    .any(|t| t.key == TAINT_UNINITIALIZED)
        })
    }

    /// Creates a `type: LoadBalancer` Service in `default` with TCP `ports` and `annotations`;
    /// returns its UID.
    pub fn add_service(&self, name: &str, annotations: &[(&str, &str)], ports: &[u16]) -> String {
        self.add_service_json(name, annotations, ports, json!({}))
    }

    /// [`Cluster::add_service`] with extra `spec` fields merged in.
    pub fn add_service_json(
        &self,
        name: &str,
        annotations: &[(&str, &str)],
        ports: &[u16],
        extra_spec: Value,
    ) -> String {
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let ports: Vec<Value> = ports
            .iter()
            .map(
                |p| json!({"name": format!("p{p}"), "port": p, "protocol": "TCP", "targetPort": p}),
            )
            .collect();
        let mut spec = json!({"type": "LoadBalancer", "ports": ports, "selector": {"app": name}});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
            for (k, v) in extra {
                spec.insert(k.clone(), v.clone());
            }
        }
        let created = self
            .api
            .store()
            .create(
                "services",
                Some("default"),
                json!({
                    "metadata": {"name": name, "namespace": "default", "annotations": annotations},
                    "spec": spec
                }),
            )
            .unwrap();
        created["metadata"]["uid"].as_str().unwrap().to_owned()
    }

    /// Merge-patches a Service in `default`.
    pub fn patch_service(&self, name: &str, patch: Value) {
        self.api
            .store()
            .patch(
                "services",
                Some("default"),
                name,
                PatchType::Merge,
                &patch,
                Subresource::Main,
            )
            .unwrap();
    }

    /// Deletes a Service in `default` (its finalizer holds it until the controller is done).
    pub fn delete_service(&self, name: &str) {
        self.api
            .store()
            .delete("services", Some("default"), name)
            .unwrap();
    }

    /// A Service in `default`, if it exists.
    /// Every Node, shared as the controller's Node cache hands them to the provider.
    pub async fn nodes(&self) -> Vec<Arc<Node>> {
        Api::<Node>::all(self.kube.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(Arc::new)
            .collect()
    }

    pub async fn service(&self, name: &str) -> Option<Service> {
        Api::<Service>::namespaced(self.kube.clone(), "default")
            .get_opt(name)
            .await
            .unwrap()
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
        eventually(&format!("{name} gets an external IP"), CONVERGE, || async {
            self.ingress_ip(name).await.is_some()
        })
        .await;
        self.ingress_ip(name).await.unwrap()
    }

    /// events.k8s.io Events about the object named `name`, as (type, reason, note).
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

    /// Whether an event with `reason` about `name` exists.
    pub async fn has_event(&self, name: &str, reason: &str) -> bool {
        self.events_about(name)
            .await
            .iter()
            .any(|(_, r, _)| r == reason)
    }

    /// Waits for an event with `reason` about `name`; returns its note.
    pub async fn wait_for_event(&self, name: &str, reason: &str) -> String {
        eventually(
            &format!("a {reason} event about {name}"),
            CONVERGE,
            || async { self.has_event(name, reason).await },
        )
        .await;
        self.events_about(name)
            .await
            .into_iter()
            .find(|(_, r, _)| r == reason)
            .map(|(_, _, note)| note)
            .unwrap()
    }

    // ---- cloud side ----

    /// Every load-balancer appliance in the simulator.
    pub async fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.cloud
            .find_load_balancers(&Filter::new())
            .await
            .unwrap()
    }

    /// The Enhanced Load Balancers in the account.
    pub async fn enhanced_load_balancers(&self) -> Vec<sacloud::ProxyLb> {
        self.cloud.find_proxy_lbs(&Filter::new()).await.unwrap()
    }

    /// The server named `name`.
    pub async fn server(&self, name: &str) -> Server {
        self.cloud
            .find_servers(&Filter::new())
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
    }

    /// Write requests (anything but GET) the simulator has served since the counters were
    /// last cleared.
    pub fn writes(&self) -> u64 {
        self.sim
            .handle()
            .counters()
            .iter()
            .filter(|c| c.method != "GET")
            .map(|c| c.count)
            .sum()
    }
}

// ---- shared by the load-balancer test files ----

/// Parses addresses.
pub fn ips(list: &[&str]) -> Vec<Ipv4Addr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

/// The real-server addresses of the appliance's first port, sorted.
pub fn real_servers(lb: &LoadBalancer) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = lb
        .settings
        .load_balancer
        .first()
        .map(|v| v.servers.iter().filter_map(|s| s.ip_address).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Starts everything and waits until the `nodes` are initialized (so they have addresses
/// before any Service is created).
pub async fn start_with_nodes(scenario: &str, nodes: &[&str], flags: &[&str]) -> Cluster {
    let mut cluster = Cluster::without_controller(scenario).await;
    cluster.start_controller(flags).await;
    for name in nodes {
        cluster.add_node(name);
    }
    wait_initialized(&cluster, nodes).await;
    cluster
}

/// Waits until every Node in `nodes` is initialized.
pub async fn wait_initialized(cluster: &Cluster, nodes: &[&str]) {
    eventually("nodes initialized", CONVERGE, || async {
        for name in nodes {
            if !cluster.node_initialized(name).await {
                return false;
            }
        }
        true
    })
    .await;
}
