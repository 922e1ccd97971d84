//! `sakura-cloud-controller-manager sandbox`: the whole system on loopback, narrated.
//!
//! The SAKURA Cloud simulator with a small cluster's servers, the fake Kubernetes API server
//! with those servers registered as Nodes (as kubelets with `--cloud-provider=external` do), and
//! the controller manager with the SAKURA provider and leader election. A demo
//! `type: LoadBalancer` Service is created and what happens is told line by line.
//!
//! `--scenario` chooses the cloud: the built-in `default` (a switch+router tagged `@k8s`: the
//! demo Service gets a load-balancer appliance), the built-in `shared-segment` (servers on the
//! shared segment only: the demo Service asks for an Enhanced Load Balancer), the built-in
//! `two-zones` (a cluster across is1a and is1b joined by a bridge), or a YAML file. Every zone
//! the scenario places something in is one of the controller's `SAKURACLOUD_ZONES`.

pub mod narrate;

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use cloud_provider::app::App;
use cloud_provider::labels::TAINT_UNINITIALIZED;
use cloud_provider::options::CcmOptions;
use fake_apiserver::{FakeApiServer, RunningFakeApiServer};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use prometheus_client::registry::Registry;
use sacloud::{Filter, Server};
use sacloud_sim::duration::parse_duration;
use sacloud_sim::{RunningSimulator, Scenario, Simulator};
use serde_json::json;

use self::narrate::{
    Snapshot, appliance_view, enhanced_view, event_key, event_time, narrate, node_line, service_ips,
};
use crate::cloud::{SakuraCloud, check_credentials};
use crate::config::ProviderConfig;
use crate::provider::load_balancers::zones::list_in_zones;

/// The built-in scenario: one switch+router tagged `@k8s` with a /28, a private switch, a
/// control-plane server and three workers.
pub const DEFAULT_SCENARIO: &str = include_str!("scenario.yaml");
/// The built-in `shared-segment` scenario: a control-plane server and three workers, each with
/// one NIC on the shared segment and nothing else (no router, no switch, no `@k8s` tag).
pub const SHARED_SEGMENT_SCENARIO: &str = include_str!("shared_segment.yaml");
/// The built-in `two-zones` scenario: the switch+router tagged `@k8s`, the control plane and
/// two workers in is1a; in is1b a worker on a switch bridged to the router's switch and a
/// worker on a switch on no bridge.
pub const TWO_ZONES_SCENARIO: &str = include_str!("two_zones.yaml");
/// The annotation choosing the kind of load balancer.
pub const LOAD_BALANCER_TYPE: &str = "k8s.usacloud.jp/load-balancer-type";
/// The cluster ID the sandbox's controller runs with.
pub const CLUSTER_ID: &str = "sandbox";
/// The demo Service.
pub const DEMO_SERVICE: &str = "hello";
/// Servers whose name contains this become control-plane Nodes (excluded from load balancers,
/// as kubeadm labels them).
pub const CONTROL_PLANE_MARK: &str = "control-plane";

/// Which cloud the sandbox simulates (`--scenario`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ScenarioChoice {
    /// `default`: [`DEFAULT_SCENARIO`]; the demo Service gets a load-balancer appliance.
    #[default]
    Default,
    /// `shared-segment`: [`SHARED_SEGMENT_SCENARIO`]; the demo Service is annotated
    /// `load-balancer-type: enhanced` and gets an Enhanced Load Balancer.
    SharedSegment,
    /// `two-zones`: [`TWO_ZONES_SCENARIO`]; the controller runs with
    /// `SAKURACLOUD_ZONES=is1a,is1b` and the demo Service is as in `default`.
    TwoZones,
    /// A simulator scenario file (YAML, see docs/simulator.md); the demo Service is as in
    /// `default`.
    File(PathBuf),
}

impl ScenarioChoice {
    /// `default`, `shared-segment`, `two-zones`, or else the path of a scenario file.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "" => Err(
                "expected default, shared-segment, two-zones or the path of a scenario file".into(),
            ),
            "default" => Ok(ScenarioChoice::Default),
            "shared-segment" => Ok(ScenarioChoice::SharedSegment),
            "two-zones" => Ok(ScenarioChoice::TwoZones),
            _ => Ok(ScenarioChoice::File(PathBuf::from(value))),
        }
    }

    /// The scenario's YAML.
    fn text(&self) -> Result<String, SandboxError> {
        match self {
            ScenarioChoice::Default => Ok(DEFAULT_SCENARIO.to_owned()),
            ScenarioChoice::SharedSegment => Ok(SHARED_SEGMENT_SCENARIO.to_owned()),
            ScenarioChoice::TwoZones => Ok(TWO_ZONES_SCENARIO.to_owned()),
            ScenarioChoice::File(path) => std::fs::read_to_string(path)
                .map_err(|e| SandboxError(format!("reading {}: {e}", path.display()))),
        }
    }

    /// The demo Service's annotations.
    fn demo_annotations(&self) -> BTreeMap<String, String> {
        match self {
            ScenarioChoice::SharedSegment => {
                BTreeMap::from([(LOAD_BALANCER_TYPE.to_owned(), "enhanced".to_owned())])
            }
            ScenarioChoice::Default | ScenarioChoice::TwoZones | ScenarioChoice::File(_) => {
                BTreeMap::new()
            }
        }
    }

    /// What the built-in scenario shows, told before anything happens.
    fn intro(&self) -> Option<&'static str> {
        match self {
            ScenarioChoice::SharedSegment => Some(
                "scenario shared-segment: every server is on the shared segment only (no switch+router, no @k8s tag); a load-balancer appliance cannot serve these nodes, an Enhanced Load Balancer can",
            ),
            ScenarioChoice::TwoZones => Some(
                "scenario two-zones: the cluster spans is1a and is1b (SAKURACLOUD_ZONES=is1a,is1b); the switch+router tagged @k8s is in is1a, so the load-balancer appliance lives there; worker-3 (is1b) is on switch k8s-is1b, bridged to the router's switch: a real server across the zones; worker-4 (is1b) is on switch staging-is1b, on no bridge: left out with a Warning",
            ),
            ScenarioChoice::Default | ScenarioChoice::File(_) => None,
        }
    }
}

/// The zones `scenario` places something in: its default zone first, then the others in the
/// order they first appear. The sandbox's controller is configured with all of them.
pub fn scenario_zones(scenario: &Scenario) -> Vec<String> {
    let default = scenario.zone.clone().unwrap_or_else(|| "is1a".to_owned());
    let named = scenario
        .routers
        .iter()
        .map(|r| r.zone.as_ref())
        .chain(scenario.switches.iter().map(|s| s.zone.as_ref()))
        .chain(scenario.servers.iter().map(|s| s.zone.as_ref()))
        .chain(scenario.appliances.iter().map(|a| a.zone.as_ref()))
        .flatten();
    let mut zones = vec![default];
    for zone in named {
        if !zones.contains(zone) {
            zones.push(zone.clone());
        }
    }
    zones
}

/// `sandbox` options.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// The simulated cloud: `default` (a switch+router tagged @k8s), `shared-segment` (servers
    /// on the shared segment only; the demo Service gets an Enhanced Load Balancer), `two-zones`
    /// (a cluster across is1a and is1b, switches joined by a bridge), or the path of a simulator
    /// scenario (YAML, see docs/simulator.md).
    #[arg(
        long,
        default_value = "default",
        value_parser = ScenarioChoice::parse,
        value_name = "default|shared-segment|two-zones|FILE"
    )]
    pub scenario: ScenarioChoice,
    /// How long a new load-balancer appliance takes to boot in the simulator (e.g. 5s, 500ms, 0).
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub boot_delay: Duration,
    /// Directory for the kubeconfig (default: a new directory in the system's temp dir).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Do not create the demo Service.
    #[arg(long)]
    pub no_service: bool,
    /// Stop once the demo Service has its external IP (for scripts and tests).
    #[arg(long)]
    pub exit_when_ready: bool,
}

/// Why the sandbox could not run.
#[derive(Debug, thiserror::Error)]
#[error("sandbox: {0}")]
pub struct SandboxError(String);

fn fail(what: &str) -> impl FnOnce(String) -> SandboxError + '_ {
    move |e| SandboxError(format!("{what}: {e}"))
}

#[derive(Parser)]
struct ControllerFlags {
    #[command(flatten)]
    options: CcmOptions,
}

/// Runs the sandbox until `shutdown` completes (or, with `--exit-when-ready`, until the demo
/// Service has its IP). Everything it has to say goes to `out`.
pub async fn run(
    args: SandboxArgs,
    out: &mut (dyn Write + Send),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SandboxError> {
    let started = Instant::now();
    let scenario_text = args.scenario.text()?;
    let scenario = Scenario::parse(&scenario_text).map_err(|e| fail("scenario")(e.to_string()))?;
    let zones = scenario_zones(&scenario);

    let sim = Simulator::builder()
        .boot_delay(args.boot_delay)
        .shutdown_delay(Duration::from_secs(1))
        .scenario(scenario)
        .start()
        .await
        .map_err(|e| fail("starting the simulator")(e.to_string()))?;
    let api = FakeApiServer::start(fake_apiserver::Config::default())
        .await
        .map_err(|e| fail("starting the fake API server")(e.to_string()))?;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("sakura-ccm-sandbox-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("creating the directory")(e.to_string()))?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig())
        .map_err(|e| fail("writing the kubeconfig")(e.to_string()))?;

    let config = provider_config(&sim, &zones)?;
    let cloud =
        sacloud::Client::new(config.api.clone()).map_err(|e| fail("API client")(e.to_string()))?;
    // The narration looks every 200 ms with a client of its own, without a rate limit: sharing
    // the controller's would spend the controller's budget (5 requests/s) on looking.
    let mut look_config = config.api.clone();
    look_config.rate_limit.per_second = 0.0;
    let look = sacloud::Client::new(look_config).map_err(|e| fail("API client")(e.to_string()))?;
    let kube = kube::Client::try_from(kube::Config::new(
        api.url()
            .parse()
            .map_err(|e| fail("API server URL")(format!("{e}")))?,
    ))
    .map_err(|e| fail("Kubernetes client")(e.to_string()))?;

    let servers = list_in_zones(&cloud, &config.zones, |c| async move {
        c.find_servers(&Filter::new()).await
    })
    .await
    .map_err(|e| fail("listing the simulator's servers")(e.to_string()))?;
    register_nodes(&api, &servers)?;

    let status = check_credentials(&cloud, &config)
        .await
        .map_err(|e| fail("credentials")(e.to_string()))?;
    let flags = ControllerFlags::try_parse_from([
        "sakura-cloud-controller-manager",
        "--cloud-provider=sakuracloud",
        &format!("--kubeconfig={}", kubeconfig.display()),
        "--leader-elect=true",
        "--bind-address=127.0.0.1",
    ])
    .map_err(|e| fail("controller flags")(e.to_string()))?;
    let mut app =
        App::from_options(flags.options).map_err(|e| fail("controller flags")(e.to_string()))?;
    app.serving.secure_port = Some(0);
    let (stop_controller, controller_stopped) = tokio::sync::oneshot::channel::<()>();
    let provider = Arc::new(SakuraCloud::new(cloud.clone(), &config));
    let running = app
        .start(provider, Registry::default(), async move {
            let _ = controller_stopped.await;
        })
        .await
        .map_err(|e| fail("starting the controller")(e.to_string()))?;

    let say = |out: &mut (dyn Write + Send), line: &str| {
        let _ = writeln!(out, "[{:>5.1}s] {line}", started.elapsed().as_secs_f64());
        let _ = out.flush();
    };
    print_header(
        out,
        &sim,
        &api,
        &kubeconfig,
        &zones,
        &status.permission,
        running.serving_addr(),
    );
    if let Some(intro) = args.scenario.intro() {
        say(out, intro);
    }
    if !args.no_service {
        let annotations = args.scenario.demo_annotations();
        create_demo_service(&api, &annotations)?;
        let annotated: String = annotations
            .iter()
            .map(|(k, v)| format!(", {k}: {v}"))
            .collect();
        say(
            out,
            &format!(
                "service default/{DEMO_SERVICE}: created (type LoadBalancer, port 80/TCP{annotated})"
            ),
        );
    }

    let mut shutdown = std::pin::pin!(shutdown);
    let mut before = Snapshot::default();
    let mut vips = BTreeMap::new();
    let mut ready = args.no_service;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        let now = match snapshot(&kube, &look, &config.zones, &mut vips).await {
            Ok(now) => now,
            Err(e) => {
                say(out, &format!("(could not look: {e})"));
                continue;
            }
        };
        for line in narrate(&before, &now) {
            say(out, &line);
        }
        let demo = format!("default/{DEMO_SERVICE}");
        if !ready && now.services.get(&demo).is_some_and(|ips| !ips.is_empty()) {
            ready = true;
            say(
                out,
                &format!(
                    "ready: the Service has its external IP {:.1}s after the start. Ctrl-C stops the sandbox.",
                    started.elapsed().as_secs_f64()
                ),
            );
            if args.exit_when_ready {
                break;
            }
        }
        before = now;
    }

    say(out, "stopping: the controller releases its lease");
    let _ = stop_controller.send(());
    let result = running.wait().await;
    api.shutdown().await;
    sim.shutdown().await;
    say(out, "stopped");
    result.map_err(|e| fail("controller")(e.to_string()))
}

/// The provider configuration for the simulator (its default credentials) and `zones` (one:
/// `SAKURACLOUD_ZONE` alone, as a one-zone cluster is configured; several: also
/// `SAKURACLOUD_ZONES`).
fn provider_config(
    sim: &RunningSimulator,
    zones: &[String],
) -> Result<ProviderConfig, SandboxError> {
    let mut env = vec![
        ("SAKURACLOUD_ACCESS_TOKEN", sim.token().to_owned()),
        ("SAKURACLOUD_ACCESS_TOKEN_SECRET", sim.secret().to_owned()),
        (
            "SAKURACLOUD_ZONE",
            zones.first().cloned().unwrap_or_default(),
        ),
        ("SAKURACLOUD_API_ROOT_URL", sim.base_url()),
        ("SAKURACLOUD_CLUSTER_ID", CLUSTER_ID.to_owned()),
    ];
    if zones.len() > 1 {
        env.push(("SAKURACLOUD_ZONES", zones.join(",")));
    }
    ProviderConfig::resolve(
        None,
        |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()),
        |_| Err(std::io::Error::other("no files in the sandbox")),
    )
    .map_err(|e| fail("configuration")(e.to_string()))
}

/// What the sandbox's kubelets report about themselves (`status.nodeInfo`): the machines of
/// a typical kubeadm cluster. The kubelet version is the fake API server's (`/version`).
pub const KUBELET_VERSION: &str = "v1.35.0";
const OS_IMAGE: &str = "Ubuntu 24.04.2 LTS";
const KERNEL_VERSION: &str = "6.8.0-60-generic";
const CONTAINER_RUNTIME: &str = "containerd://1.7.27";

/// Registers each server as a kubelet with `--cloud-provider=external` would: a Node with
/// the server's name, tainted `uninitialized`, no addresses (the cloud controller sets them),
/// its machine in `nodeInfo`, capacity from the server's plan, and Ready when the server is up.
fn register_nodes(api: &RunningFakeApiServer, servers: &[Server]) -> Result<(), SandboxError> {
    let now = fake_apiserver::timestamp(std::time::SystemTime::now());
    for server in servers {
        api.store()
            .create("nodes", None, node_object(server, &now))
            .map_err(|e| fail("registering a Node")(e.to_string()))?;
    }
    Ok(())
}

/// The Node a kubelet on `server` registers.
fn node_object(server: &Server, now: &str) -> serde_json::Value {
    let control_plane = server.name.contains(CONTROL_PLANE_MARK);
    let mut labels = serde_json::Map::new();
    for (k, v) in [
        ("kubernetes.io/hostname", server.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
    ] {
        labels.insert(k.into(), json!(v));
    }
    let mut taints = vec![json!(
        {"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}
    )];
    if control_plane {
        labels.insert("node-role.kubernetes.io/control-plane".into(), json!(""));
        labels.insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            json!(""),
        );
        taints
            .push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    }
    let (cpu, memory_mb) = server
        .server_plan
        .as_ref()
        .map(|p| (p.cpu, p.memory_mb))
        .unwrap_or((1, 1024));
    let capacity = json!({
        "cpu": cpu.to_string(),
        "memory": format!("{}Ki", memory_mb * 1024),
        "pods": "110",
        "ephemeral-storage": "40901312Ki",
    });
    let condition = |ty: &str, status: &str, reason: &str, message: &str| {
        json!({"type": ty, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let ready = if server.is_up() {
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        )
    } else {
        condition(
            "Ready",
            "False",
            "KubeletNotReady",
            "the server is not running",
        )
    };
    json!({
        "metadata": {"name": server.name, "labels": labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"taints": taints},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ready,
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": format!("{:032x}", server.id.0),
                "systemUUID": format!("{:08x}-0000-4000-8000-{:012x}", server.id.0 >> 32, server.id.0 & 0xFFFF_FFFF_FFFF),
                "bootID": format!("{:08x}-0000-4000-8000-000000000001", server.id.0 & 0xFFFF_FFFF),
                "kernelVersion": KERNEL_VERSION,
                "osImage": OS_IMAGE,
                "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
    })
}

fn create_demo_service(
    api: &RunningFakeApiServer,
    annotations: &BTreeMap<String, String>,
) -> Result<(), SandboxError> {
    let mut service = json!({
        "metadata": {"name": DEMO_SERVICE, "namespace": "default"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": DEMO_SERVICE},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
        }
    });
    if !annotations.is_empty() {
        service["metadata"]["annotations"] = json!(annotations);
    }
    api.store()
        .create("services", Some("default"), service)
        .map(|_| ())
        .map_err(|e| fail("creating the demo Service")(e.to_string()))
}

/// One look at the cluster and the cloud. `vips` remembers the Enhanced LBs' VIPs (read from
/// their health endpoint once each, by ID).
async fn snapshot(
    kube: &kube::Client,
    cloud: &sacloud::Client,
    zones: &[sacloud::Zone],
    vips: &mut BTreeMap<u64, String>,
) -> Result<Snapshot, String> {
    let lp = ListParams::default();
    let (nodes, services, events, appliances, enhanced) = tokio::try_join!(
        async {
            Api::<Node>::all(kube.clone())
                .list(&lp)
                .await
                .map_err(|e| e.to_string())
        },
        async {
            Api::<Service>::all(kube.clone())
                .list(&lp)
                .await
                .map_err(|e| e.to_string())
        },
        async {
            Api::<Event>::all(kube.clone())
                .list(&lp)
                .await
                .map_err(|e| e.to_string())
        },
        async {
            list_in_zones(cloud, zones, |c| async move {
                c.find_load_balancers(&Filter::new()).await
            })
            .await
            .map_err(|e| e.to_string())
        },
        async {
            cloud
                .find_proxy_lbs(&Filter::new())
                .await
                .map_err(|e| e.to_string())
        },
    )?;
    vips.retain(|id, _| enhanced.iter().any(|i| i.id.0 == *id));
    for item in &enhanced {
        if vips.contains_key(&item.id.0) {
            continue;
        }
        let vip = match item.status.virtual_ip_address {
            Some(vip) => Some(vip),
            // Unknown for now if the health endpoint does not answer (the item may be going
            // away); asked again next time.
            None => cloud
                .proxy_lb_health(item.id)
                .await
                .ok()
                .and_then(|h| h.current_vip),
        };
        if let Some(vip) = vip {
            vips.insert(item.id.0, vip.to_string());
        }
    }
    Ok(Snapshot {
        nodes: nodes
            .items
            .iter()
            .map(|n| (n.metadata.name.clone().unwrap_or_default(), node_line(n)))
            .collect(),
        services: services
            .items
            .iter()
            .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
            .map(|s| {
                (
                    format!(
                        "{}/{}",
                        s.metadata.namespace.as_deref().unwrap_or_default(),
                        s.metadata.name.as_deref().unwrap_or_default()
                    ),
                    service_ips(s),
                )
            })
            .collect(),
        appliances: appliances
            .iter()
            .map(|a| (a.id.0, appliance_view(a)))
            .collect(),
        enhanced: enhanced
            .iter()
            .map(|i| (i.id.0, enhanced_view(i, vips.get(&i.id.0).cloned())))
            .collect(),
        events: events
            .items
            .iter()
            .map(|e| (event_key(e), event_time(e)))
            .collect(),
    })
}

fn print_header(
    out: &mut (dyn Write + Send),
    sim: &RunningSimulator,
    api: &RunningFakeApiServer,
    kubeconfig: &std::path::Path,
    zones: &[String],
    permission: &str,
    serving: Option<std::net::SocketAddr>,
) {
    let kubeconfig = kubeconfig.display();
    let (zone_word, zone_env) = match zones {
        [one] => ("zone", format!("SAKURACLOUD_ZONE={one}")),
        _ => ("zones", format!("SAKURACLOUD_ZONES={}", zones.join(","))),
    };
    let zone_list = zones.join(", ");
    let serving = serving
        .map(|a| format!("https://{a}/metrics (self-signed certificate: curl -k)"))
        .unwrap_or_else(|| "off".to_owned());
    let _ = writeln!(
        out,
        "\
sandbox: everything runs in this process, on loopback
  SAKURA Cloud simulator  {sim_url} ({zone_word} {zone_list}; credentials accepted, permission {permission})
  Kubernetes API (fake)   {api_url}
  controller health/metrics {serving}

Use kubectl against the sandbox:
  export KUBECONFIG={kubeconfig}
  kubectl get nodes -o wide
  kubectl get svc,events -A

Point another controller at it (it will stand by: this one holds the lease):
  export SAKURACLOUD_API_ROOT_URL={sim_url}
  export SAKURACLOUD_ACCESS_TOKEN={token}
  export SAKURACLOUD_ACCESS_TOKEN_SECRET={secret}
  export {zone_env}
  export SAKURACLOUD_CLUSTER_ID={CLUSTER_ID}
  sakura-cloud-controller-manager --cloud-provider=sakuracloud --kubeconfig={kubeconfig} --leader-elect=true --secure-port=0
",
        sim_url = sim.base_url(),
        api_url = api.url(),
        token = sim.token(),
        secret = sim.secret(),
    );
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_controller_is_configured_with_every_zone_of_the_scenario() {
        let zones = |text: &str| scenario_zones(&Scenario::parse(text).unwrap());
        assert_eq!(zones(DEFAULT_SCENARIO), ["is1a"]);
        assert_eq!(zones(SHARED_SEGMENT_SCENARIO), ["is1a"]);
        assert_eq!(zones(TWO_ZONES_SCENARIO), ["is1a", "is1b"]);
        assert_eq!(
            zones("zone: tk1b\nservers:\n  - {name: a, zone: tk1a}\n  - {name: b}\n"),
            ["tk1b", "tk1a"],
            "the scenario's own zone first"
        );
        assert_eq!(zones("servers: []\n"), ["is1a"], "the simulator's default");
    }

    #[test]
    fn nodes_register_as_kubeadm_kubelets_do() {
        let server = Server {
            id: sacloud::Id(900000000005),
            name: "control-plane-1".into(),
            server_plan: Some(sacloud::api::server::ServerPlan {
                cpu: 2,
                memory_mb: 4096,
                ..Default::default()
            }),
            ..Default::default()
        };
        let node = node_object(&server, "2026-01-01T00:00:00Z");
        let info = &node["status"]["nodeInfo"];
        assert_eq!(info["kubeletVersion"], KUBELET_VERSION);
        assert_eq!(info["osImage"], OS_IMAGE);
        assert_eq!(info["containerRuntimeVersion"], CONTAINER_RUNTIME);
        assert_eq!(
            (&info["architecture"], &info["operatingSystem"]),
            (&json!("amd64"), &json!("linux"))
        );
        assert_eq!(
            node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
            ""
        );
        assert_eq!(node["status"]["capacity"]["memory"], "4194304Ki");
        let ready = node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        // Not running in this Server value: NotReady, as its kubelet would not post.
        assert_eq!(ready["status"], "False");
        assert!(
            node["status"].get("addresses").is_none(),
            "the CCM sets addresses"
        );
        let worker = node_object(
            &Server {
                name: "worker-1".into(),
                ..Default::default()
            },
            "2026-01-01T00:00:00Z",
        );
        assert!(
            worker["metadata"]["labels"]
                .get("node-role.kubernetes.io/control-plane")
                .is_none()
        );
    }
}
