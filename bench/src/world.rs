//! The bench's world: the simulator and the fake API server in this process, the controller
//! binary as a child process whose footprint is read from `/proc`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fake_apiserver::{FakeApiServer, RunningFakeApiServer};
use sacloud_sim::{LatencyRule, RunningSimulator, Scenario, Simulator};
use serde_json::{Value, json};

use crate::shape::{self, NodeShape};

/// The taint kubelets with `--cloud-provider=external` register with.
pub(crate) const TAINT_UNINITIALIZED: &str = "node.cloudprovider.kubernetes.io/uninitialized";
/// Nodes' switch network; servers get 10.0.1.1, 10.0.1.2, … (250 per /24).
const NODE_NETWORK: &str = "10.0.0.0/16";
/// Where load balancers take their addresses.
const ASSIGN_RANGE: &str = "10.0.240.0/20";
const GATEWAY: &str = "10.0.0.1";

/// The address of node `i` (0-based).
pub fn node_ip(i: usize) -> Ipv4Addr {
    let i = u32::try_from(i).unwrap_or(u32::MAX);
    Ipv4Addr::new(10, 0, (1 + i / 250) as u8, (1 + i % 250) as u8)
}

/// The shared-segment (global) address of node `i` (0-based): 100.64.1.1, 100.64.1.2, …, in
/// the simulator's shared segment of is1a (`100.64.0.0/18`, room for 15,750 nodes).
pub fn shared_ip(i: usize) -> Ipv4Addr {
    let i = u32::try_from(i).unwrap_or(u32::MAX);
    Ipv4Addr::new(100, 64, (1 + i / 250) as u8, (1 + i % 250) as u8)
}

/// How the servers are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// One NIC on the `@k8s` switch (`InternalIP` [`node_ip`]).
    Switch,
    /// One NIC on the shared segment only (`ExternalIP` [`shared_ip`]), as in seed 000.
    SharedSegment,
    /// Both: the switch-type appliances and Enhanced LBs can each serve every node.
    SwitchAndShared,
}

/// The name of node (and server) `i`.
pub fn node_name(i: usize) -> String {
    format!("node-{i:05}")
}

/// Simulator + API server; the scratch directory goes with it.
pub struct World {
    /// The simulator.
    pub sim: RunningSimulator,
    /// The API server.
    pub api: RunningFakeApiServer,
    /// Scratch directory (kubeconfig, logs).
    pub dir: PathBuf,
    /// What the registered Nodes look like.
    pub shape: NodeShape,
    /// How the servers are connected.
    pub network: Network,
}

impl World {
    /// Starts both with `servers` servers connected as `network` says, `latency` on every API
    /// call and appliances that boot in `boot`.
    pub async fn start(
        name: &str,
        servers: usize,
        network: Network,
        latency: Duration,
        boot: Duration,
        shape: NodeShape,
    ) -> anyhow::Result<World> {
        let dir = std::env::temp_dir().join(format!("sakura-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let sim = Simulator::builder()
            .listen("127.0.0.1:0".parse()?)
            .boot_delay(boot)
            .shutdown_delay(Duration::from_millis(200))
            .seed(1)
            .scenario(scenario(0..servers, network)?)
            .start()
            .await
            .context("starting the simulator")?;
        sim.handle().add_latency_rule(LatencyRule {
            ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            jitter_ms: 0,
            method: None,
            path_prefix: None,
        });
        let api = FakeApiServer::start(fake_apiserver::Config::default())
            .await
            .context("starting the fake API server")?;
        std::fs::write(dir.join("kubeconfig"), api.kubeconfig())?;
        Ok(World {
            sim,
            api,
            dir,
            shape,
            network,
        })
    }

    /// Registers Nodes `range` as kubelets with `--cloud-provider=external` do, in the
    /// world's [`NodeShape`].
    pub fn register_nodes(&self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        for i in range {
            self.api
                .store()
                .create("nodes", None, shape::node(self.shape, i, node_ip(i)))?;
        }
        Ok(())
    }

    /// Registers Nodes `range` as the controller leaves them once initialized: provider ID
    /// set, the `uninitialized` taint gone, the cloud's addresses in the status (a cluster that
    /// has been running for a while).
    pub fn register_initialized_nodes(&self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        let dump = self.sim.handle().dump();
        let ids: BTreeMap<String, u64> = dump["servers"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, s)| Some((s["name"].as_str()?.to_owned(), s["id"].as_u64()?)))
            .collect();
        for i in range {
            let name = node_name(i);
            let id = ids
                .get(&name)
                .with_context(|| format!("no server named {name}"))?;
            let mut node = shape::node(self.shape, i, node_ip(i));
            node["spec"]["providerID"] = json!(format!("sakuracloud://{id}"));
            node["spec"]["taints"] = json!([]);
            // As the provider reports them: switch addresses, then shared-segment ones, then
            // the host name.
            let mut addresses = Vec::new();
            if self.network != Network::SharedSegment {
                addresses.push(json!({"type": "InternalIP", "address": node_ip(i).to_string()}));
            }
            if self.network != Network::Switch {
                let kind = if self.network == Network::SharedSegment {
                    "InternalIP"
                } else {
                    "ExternalIP"
                };
                addresses.push(json!({"type": kind, "address": shared_ip(i).to_string()}));
                if self.network == Network::SharedSegment {
                    addresses
                        .push(json!({"type": "ExternalIP", "address": shared_ip(i).to_string()}));
                }
            }
            addresses.push(json!({"type": "Hostname", "address": name}));
            node["status"]["addresses"] = json!(addresses);
            self.api.store().create("nodes", None, node)?;
        }
        Ok(())
    }

    /// Gives every realistic Node the `managedFields` a real one carries (nothing for small
    /// Nodes). The fake API server drops `managedFields` from creates and updates (a real one
    /// keeps and extends them), so they are put into its store directly, which only works
    /// before the controller starts (a running watch would not see them). The controller's
    /// initialization (an update) drops them again in the fake.
    pub fn add_managed_fields(&self) -> anyhow::Result<()> {
        if self.shape == NodeShape::Small {
            return Ok(());
        }
        let mut saved = self.api.store().save();
        for entry in saved["objects"].as_array_mut().into_iter().flatten() {
            if entry["resource"] == "nodes" {
                let fields = shape::managed_fields(&entry["object"]);
                entry["object"]["metadata"]["managedFields"] = fields;
            }
        }
        self.api
            .store()
            .load(&saved)
            .map_err(|e| anyhow::anyhow!("reloading the API server's store: {e}"))
    }

    /// The mean size of a Node's JSON as the API server serves it, in bytes.
    pub fn node_json_bytes(&self) -> anyhow::Result<usize> {
        let nodes = self.api.store().list("nodes", None)?;
        let total: usize = nodes
            .iter()
            .map(|n| serde_json::to_vec(n).map_or(0, |v| v.len()))
            .sum();
        Ok(total / nodes.len().max(1))
    }

    /// Deletes Node `i` (`kubectl delete node` for a retired worker).
    pub fn retire_node(&self, i: usize) -> anyhow::Result<()> {
        self.api.store().delete("nodes", None, &node_name(i))?;
        Ok(())
    }

    /// How many Nodes are initialized (provider ID set, taint gone).
    pub fn initialized_nodes(&self) -> anyhow::Result<usize> {
        Ok(self
            .api
            .store()
            .list("nodes", None)?
            .iter()
            .filter(|n| {
                n["spec"]["providerID"].is_string()
                    && !n["spec"]["taints"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t["key"] == TAINT_UNINITIALIZED))
            })
            .count())
    }

    /// Creates switch-type LoadBalancer Services `svc-0000`… `range`.
    pub fn create_services(&self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        for i in range {
            self.api.store().create(
                "services",
                Some("default"),
                json!({
                    "metadata": {"name": format!("svc-{i:04}"), "namespace": "default", "annotations": {
                        "k8s.usacloud.jp/load-balancer-type": "switch",
                        "k8s.usacloud.jp/load-balancer-ip-range": NODE_NETWORK,
                        "k8s.usacloud.jp/load-balancer-assign-ip-range": ASSIGN_RANGE,
                        "k8s.usacloud.jp/load-balancer-assign-default-gateway": GATEWAY,
                    }},
                    "spec": {"type": "LoadBalancer", "selector": {"app": format!("svc-{i:04}")},
                             "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}
                }),
            )?;
        }
        Ok(())
    }

    /// How many Nodes have an `ExternalIP` (written with the addresses, just after the
    /// initialization).
    pub fn nodes_with_external_ip(&self) -> anyhow::Result<usize> {
        Ok(self
            .api
            .store()
            .list("nodes", None)?
            .iter()
            .filter(|n| {
                n["status"]["addresses"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|a| a["type"] == "ExternalIP"))
            })
            .count())
    }

    /// Creates `load-balancer-type: enhanced` Services `elb-0000`… `range` (port 80, the node
    /// port allocated by the API server).
    pub fn create_enhanced_services(&self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        for i in range {
            self.api.store().create(
                "services",
                Some("default"),
                json!({
                    "metadata": {"name": enhanced_service_name(i), "namespace": "default", "annotations": {
                        "k8s.usacloud.jp/load-balancer-type": "enhanced",
                    }},
                    "spec": {"type": "LoadBalancer", "selector": {"app": enhanced_service_name(i)},
                             "ports": [{"port": 80, "protocol": "TCP"}]}
                }),
            )?;
        }
        Ok(())
    }

    /// The first node port of each Service, by name.
    pub fn node_ports(&self) -> anyhow::Result<BTreeMap<String, u16>> {
        Ok(self
            .api
            .store()
            .list("services", Some("default"))?
            .iter()
            .filter_map(|s| {
                let port = u16::try_from(s["spec"]["ports"][0]["nodePort"].as_u64()?).ok()?;
                Some((s["metadata"]["name"].as_str()?.to_owned(), port))
            })
            .collect())
    }

    /// The Services with an ingress IP, by name.
    pub fn services_with_ip(&self) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(self
            .api
            .store()
            .list("services", Some("default"))?
            .iter()
            .filter_map(|s| {
                let ip = s["status"]["loadBalancer"]["ingress"][0]["ip"].as_str()?;
                Some((s["metadata"]["name"].as_str()?.to_owned(), ip.to_owned()))
            })
            .collect())
    }

    /// Every load-balancer appliance, from the simulator's state (no API call, so nothing is
    /// counted).
    pub fn appliances(&self) -> Vec<ApplianceView> {
        let dump = self.sim.handle().dump();
        dump["appliances"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, a)| ApplianceView::of(a))
            .collect()
    }

    /// Every Enhanced Load Balancer, from the simulator's state (no API call).
    pub fn enhanced(&self) -> Vec<EnhancedView> {
        let dump = self.sim.handle().dump();
        dump["proxylbs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, i)| EnhancedView::of(i))
            .collect()
    }

    /// API calls the simulator served since the last [`World::clear_calls`], by "METHOD
    /// template".
    pub fn calls(&self) -> BTreeMap<String, u64> {
        let mut by_op = BTreeMap::new();
        for c in self.sim.handle().counters() {
            *by_op.entry(format!("{} {}", c.method, c.path)).or_default() += c.count;
        }
        by_op
    }

    /// Forgets the calls counted so far.
    pub fn clear_calls(&self) {
        self.sim.handle().clear_counters();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the bench needs of an appliance.
#[derive(Debug, Clone)]
pub struct ApplianceView {
    /// Appliance ID.
    pub id: u64,
    /// The first virtual IP.
    pub vip: Option<String>,
    /// Powered up.
    pub up: bool,
    /// The first virtual IP's real servers in effect, sorted.
    pub real_servers: Vec<String>,
}

impl ApplianceView {
    /// From the simulator's state dump (`{"kind": "load_balancer", "value": [...]}`): the
    /// settings in effect (`applied`, set by creation and each config apply), not merely saved.
    fn of(a: &Value) -> ApplianceView {
        let effective = if a["applied"].is_null() {
            &a["settings"]
        } else {
            &a["applied"]
        };
        let first = &effective["value"][0];
        let mut real_servers: Vec<String> = first["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["ip"].as_str().map(str::to_owned))
            .collect();
        real_servers.sort();
        ApplianceView {
            id: a["id"].as_u64().unwrap_or_default(),
            vip: first["vip"].as_str().map(str::to_owned),
            up: a["power"]["status"] == "up",
            real_servers,
        }
    }
}

/// The name of enhanced Service `i`.
pub fn enhanced_service_name(i: usize) -> String {
    format!("elb-{i:04}")
}

/// What the bench needs of an Enhanced Load Balancer.
#[derive(Debug, Clone)]
pub struct EnhancedView {
    /// ID.
    pub id: u64,
    /// Its VIP.
    pub vip: Option<String>,
    /// Real servers as `address:port`, sorted.
    pub real_servers: Vec<String>,
}

impl EnhancedView {
    /// From the simulator's state dump.
    fn of(i: &Value) -> EnhancedView {
        let mut real_servers: Vec<String> = i["settings"]["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some(format!("{}:{}", s["ip"].as_str()?, s["port"].as_u64()?)))
            .collect();
        real_servers.sort();
        EnhancedView {
            id: i["id"].as_u64().unwrap_or_default(),
            vip: i["vip"].as_str().map(str::to_owned),
            real_servers,
        }
    }
}

/// A scenario with servers `range` connected as `network` says (the `@k8s` switch is always
/// there).
fn scenario(range: std::ops::Range<usize>, network: Network) -> anyhow::Result<Scenario> {
    let servers: Vec<Value> = range
        .map(|i| {
            let switch =
                json!({"switch": "k8s-net", "ip": node_ip(i).to_string(), "prefix_len": 16});
            let shared = json!({"shared": true, "ip": shared_ip(i).to_string()});
            let nics = match network {
                Network::Switch => json!([switch]),
                Network::SharedSegment => json!([shared]),
                Network::SwitchAndShared => json!([switch, shared]),
            };
            json!({"name": node_name(i), "nics": nics})
        })
        .collect();
    let doc = json!({
        "zone": "is1a",
        "switches": [{"name": "k8s-net", "tags": ["@k8s"], "network": NODE_NETWORK, "default_route": GATEWAY}],
        "servers": servers,
    });
    Scenario::parse(&doc.to_string()).map_err(|e| anyhow::anyhow!("scenario: {e}"))
}

/// Builds the controller binary (production features, this bench's profile) and returns its
/// path.
pub fn build_controller() -> anyhow::Result<PathBuf> {
    // BENCH_CONTROLLER_BINARY: measure that binary instead (e.g. one built with symbols for a
    // profiler).
    if let Some(path) = std::env::var_os("BENCH_CONTROLLER_BINARY") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .context("bench executable without a directory")?;
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "sakura-ccm",
        "--bin",
        "sakura-cloud-controller-manager",
        "--no-default-features",
    ]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("building the controller failed");
    }
    Ok(profile_dir.join("sakura-cloud-controller-manager"))
}

/// The controller process.
pub struct Controller {
    child: Child,
    started: Instant,
    /// The largest `RssAnon` seen so far (bytes), sampled by a thread of its own.
    anon_peak: Arc<AtomicU64>,
}

/// How often the anonymous memory of the controller is sampled. The kernel keeps a high-water
/// mark only of the whole RSS (`VmHWM`), which includes the binary's own pages; the heap's
/// share has to be sampled, so a peak shorter than this may be missed.
const ANON_SAMPLE_PERIOD: Duration = Duration::from_millis(50);

/// Samples `RssAnon` of `pid` into `peak` until the process is gone.
fn sample_anon_peak(pid: u32, peak: Arc<AtomicU64>) {
    while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        let kb = status_kb(&status, "RssAnon:").unwrap_or(0);
        peak.fetch_max(kb * 1024, Ordering::Relaxed);
        std::thread::sleep(ANON_SAMPLE_PERIOD);
    }
}

/// A `kB` figure of `/proc/<pid>/status`.
fn status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

impl Controller {
    /// Starts the controller against `world` with `args` added to the defaults.
    pub fn start(binary: &Path, world: &World, args: &[String]) -> anyhow::Result<Controller> {
        let log = std::fs::File::create(world.dir.join("controller.log"))?;
        // BENCH_CONTROLLER_WRAPPER (e.g. "valgrind --tool=massif") runs the controller under a
        // profiler; the footprint is then the profiler's.
        let wrapper = std::env::var("BENCH_CONTROLLER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(program) => {
                let mut cmd = Command::new(program);
                cmd.args(words).arg(binary);
                cmd
            }
            None => Command::new(binary),
        };
        let child = cmd
            .env_clear()
            .env("SAKURACLOUD_ACCESS_TOKEN", world.sim.token())
            .env("SAKURACLOUD_ACCESS_TOKEN_SECRET", world.sim.secret())
            .env("SAKURACLOUD_ZONE", "is1a")
            .env("SAKURACLOUD_API_ROOT_URL", world.sim.base_url())
            .env("SAKURACLOUD_CLUSTER_ID", "bench")
            .env("RUST_LOG", "warn")
            .arg("--cloud-provider=sakuracloud")
            .arg(format!(
                "--kubeconfig={}",
                world.dir.join("kubeconfig").display()
            ))
            .arg("--leader-elect=false")
            .arg("--secure-port=0")
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting the controller")?;
        let anon_peak = Arc::new(AtomicU64::new(0));
        let (pid, peak) = (child.id(), anon_peak.clone());
        // Ends on its own once the process is gone (its /proc entry disappears when reaped).
        std::thread::spawn(move || sample_anon_peak(pid, peak));
        Ok(Controller {
            child,
            started: Instant::now(),
            anon_peak,
        })
    }

    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Peak resident set size (bytes), CPU seconds and the sampled peak of anonymous memory
    /// (bytes: the heap and stacks, without the binary's own pages) so far, from `/proc`.
    pub fn footprint(&self) -> anyhow::Result<Footprint> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let hwm_kb =
            status_kb(&status, "VmHWM:").context("VmHWM missing from /proc/<pid>/status")?;
        let anon_now = status_kb(&status, "RssAnon:").unwrap_or(0) * 1024;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command name (which may contain spaces) start at field 3.
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
        let cpu = (ticks(11) + ticks(12)) as f64 / clock_ticks_per_second();
        Ok(Footprint {
            peak_rss_bytes: hwm_kb * 1024,
            cpu_seconds: cpu,
            peak_anon_rss_bytes: self.anon_peak.load(Ordering::Relaxed).max(anon_now),
        })
    }
}

/// What [`Controller::footprint`] read.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// `VmHWM`: the kernel's high-water mark of the whole RSS, the binary's pages included.
    pub peak_rss_bytes: u64,
    /// utime + stime.
    pub cpu_seconds: f64,
    /// The largest `RssAnon` sampled every 50 ms.
    pub peak_anon_rss_bytes: u64,
}

impl Drop for Controller {
    fn drop(&mut self) {
        // SIGTERM first: the controller stops cleanly (and a profiler wrapping it writes its
        // report); SIGKILL if it has not exited within 10 s.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` (100 on Linux in practice).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Polls `check` every 50 ms until it holds or `within` passes; the time it took.
pub async fn until<F>(what: &str, within: Duration, mut check: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> anyhow::Result<bool>,
{
    let started = Instant::now();
    loop {
        if check()? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > within {
            bail!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
