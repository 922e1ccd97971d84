//! The scenarios of docs/benchmarks.md. Each checks its own result (every Node initialized,
//! every Service with an IP, the right real servers, no re-created appliance or Enhanced LB) and
//! fails loudly otherwise: a fast wrong answer is not a benchmark.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::json;

use crate::Outcome;
use crate::shape::NodeShape;
use crate::world::{Controller, Network, World, node_ip, shared_ip, until};

/// Settings shared by the scenarios.
pub struct Params {
    /// The controller binary.
    pub binary: PathBuf,
    /// Simulated latency per SAKURA Cloud API call.
    pub latency: Duration,
    /// Simulated appliance boot time.
    pub boot_delay: Duration,
    /// How long the steady scenario observes.
    pub steady_duration: Duration,
    /// Small sizes.
    pub quick: bool,
    /// What the Nodes look like.
    pub shape: NodeShape,
}

impl Params {
    /// Starts the simulator and the fake API server for a scenario, with these parameters'
    /// latency, boot delay and Node shape.
    async fn world(&self, name: &str, servers: usize, network: Network) -> anyhow::Result<World> {
        World::start(
            name,
            servers,
            network,
            self.latency,
            self.boot_delay,
            self.shape,
        )
        .await
    }

    /// A suffix for scenario names: nothing for realistic Nodes (the default).
    fn shape_label(&self) -> &'static str {
        match self.shape {
            NodeShape::Realistic => "",
            NodeShape::Small => ", small nodes",
        }
    }
}

/// The controller's Kubernetes client limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeLimits {
    /// `--kube-api-qps=500 --kube-api-burst=1000` (and the same for Events): the cloud side is
    /// the bottleneck.
    High,
    /// Upstream's defaults, 20/30 (and the Events' own defaults, 50/100).
    Upstream,
}

impl KubeLimits {
    fn args(self) -> Vec<String> {
        match self {
            KubeLimits::High => vec![
                "--kube-api-qps=500".into(),
                "--kube-api-burst=1000".into(),
                "--event-qps=500".into(),
                "--event-burst=1000".into(),
            ],
            KubeLimits::Upstream => Vec::new(),
        }
    }
}

/// Generous deadline for anything: a stuck scenario fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(900);

#[allow(clippy::too_many_arguments)]
fn outcome(
    params: &Params,
    node_json_bytes: usize,
    name: String,
    mut parameters: serde_json::Value,
    wall: Duration,
    world: &World,
    controller: &Controller,
    extra: serde_json::Value,
) -> anyhow::Result<Outcome> {
    let footprint = controller.footprint()?;
    parameters["node_shape"] = json!(params.shape.as_str());
    parameters["node_json_bytes"] = json!(node_json_bytes);
    Ok(Outcome {
        name: format!("{name}{}", params.shape_label()),
        parameters,
        wall_seconds: wall.as_secs_f64(),
        api_calls: world.calls(),
        peak_rss_bytes: footprint.peak_rss_bytes,
        peak_anon_rss_bytes: footprint.peak_anon_rss_bytes,
        cpu_seconds: footprint.cpu_seconds,
        extra,
    })
}

/// 1. Cold start: `nodes` Nodes registered at once, all tainted; the time from the
///    controller's start until every Node is initialized.
pub async fn cold_start(
    params: &Params,
    nodes: usize,
    limits: KubeLimits,
) -> anyhow::Result<Outcome> {
    let world = params
        .world(&format!("cold-{nodes}"), nodes, Network::Switch)
        .await?;
    world.register_nodes(0..nodes)?;
    world.add_managed_fields()?;
    let node_json_bytes = world.node_json_bytes()?;
    world.clear_calls();
    let mut args = limits.args();
    args.push("--controllers=cloud-node,cloud-node-lifecycle".into());
    let controller = Controller::start(&params.binary, &world, &args)?;
    until("every Node initialized", DEADLINE, || {
        Ok(world.initialized_nodes()? == nodes)
    })
    .await?;
    let wall = controller.elapsed();
    let label = match limits {
        KubeLimits::High => "",
        KubeLimits::Upstream => ", kube qps 20/30",
    };
    outcome(
        params,
        node_json_bytes,
        format!("cold-start {nodes} nodes{label}"),
        json!({"nodes": nodes, "kube_api_qps": if limits == KubeLimits::High { 500 } else { 20 },
               "kube_api_burst": if limits == KubeLimits::High { 1000 } else { 30 },
               "latency_ms": params.latency.as_millis() as u64}),
        wall,
        &world,
        &controller,
        json!({}),
    )
}

/// 2. LoadBalancer create: `services` Services created at once on `nodes` initialized Nodes;
///    per Service the time to its external IP minus the boot delay, and the time from the
///    appliance being up to the IP in the Service's status.
pub async fn lb_create(params: &Params, nodes: usize, services: usize) -> anyhow::Result<Outcome> {
    let world = params.world("lb-create", nodes, Network::Switch).await?;
    world.register_nodes(0..nodes)?;
    world.add_managed_fields()?;
    let node_json_bytes = world.node_json_bytes()?;
    let controller = Controller::start(&params.binary, &world, &KubeLimits::High.args())?;
    until("every Node initialized", DEADLINE, || {
        Ok(world.initialized_nodes()? == nodes)
    })
    .await?;
    world.clear_calls();

    let created = Instant::now();
    world.create_services(0..services)?;
    let mut ip_at: BTreeMap<String, Duration> = BTreeMap::new();
    let mut up_at: BTreeMap<u64, Duration> = BTreeMap::new();
    // Poll both sides every 50 ms: when each appliance is first seen up, when each Service
    // first has its IP.
    until("every Service has an external IP", DEADLINE, || {
        let now = created.elapsed();
        for a in world.appliances() {
            if a.up {
                up_at.entry(a.id).or_insert(now);
            }
        }
        for (name, _) in world.services_with_ip()? {
            ip_at.entry(name).or_insert(now);
        }
        Ok(ip_at.len() == services)
    })
    .await?;
    let wall = created.elapsed();
    let appliances = world.appliances();
    ensure!(
        appliances.len() == services,
        "{} appliances for {services} Services",
        appliances.len()
    );
    let ips = world.services_with_ip()?;
    let mut after_up = Vec::new();
    for (name, at) in &ip_at {
        let ip = ips.get(name).context("IP vanished")?;
        let a = appliances
            .iter()
            .find(|a| a.vip.as_deref() == Some(ip.as_str()))
            .with_context(|| format!("no appliance has {name}'s IP {ip}"))?;
        let up = up_at.get(&a.id).copied().unwrap_or(*at);
        after_up.push(at.saturating_sub(up).as_secs_f64());
        ensure!(
            a.real_servers.len() == nodes.min(40),
            "{name}: {} real servers",
            a.real_servers.len()
        );
    }
    let excl_boot: Vec<f64> = ip_at
        .values()
        .map(|d| d.saturating_sub(params.boot_delay).as_secs_f64())
        .collect();
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let calls: u64 = world.calls().values().sum();
    outcome(
        params,
        node_json_bytes,
        format!("lb-create {services} services"),
        json!({"nodes": nodes, "services": services, "boot_delay_ms": params.boot_delay.as_millis() as u64,
               "latency_ms": params.latency.as_millis() as u64}),
        wall.saturating_sub(params.boot_delay),
        &world,
        &controller,
        json!({
            "calls_per_create": calls as f64 / services as f64,
            "seconds_to_ip_excluding_boot": {"mean": mean(&excl_boot), "max": max(&excl_boot)},
            "seconds_from_up_to_ip": {"mean": mean(&after_up), "max": max(&after_up)},
        }),
    )
}

/// 2b. Enhanced Load Balancer create: `services` `load-balancer-type: enhanced` Services created
///     at once on `nodes` initialized Nodes that are on the shared segment only (seed 000);
///     SAKURA API calls per create by endpoint, and per Service the time from its creation to
///     its external IP (an Enhanced LB has no boot time).
pub async fn enhanced_lb_create(
    params: &Params,
    nodes: usize,
    services: usize,
) -> anyhow::Result<Outcome> {
    let world = params
        .world("enhanced-lb-create", nodes, Network::SharedSegment)
        .await?;
    world.register_nodes(0..nodes)?;
    world.add_managed_fields()?;
    let node_json_bytes = world.node_json_bytes()?;
    let controller = Controller::start(&params.binary, &world, &KubeLimits::High.args())?;
    // With their addresses: a Service ensured before them would be created without real
    // servers and updated afterwards, which is not the create path measured here.
    until(
        "every Node initialized with its global address",
        DEADLINE,
        || Ok(world.initialized_nodes()? == nodes && world.nodes_with_external_ip()? == nodes),
    )
    .await?;
    world.clear_calls();

    let created = Instant::now();
    world.create_enhanced_services(0..services)?;
    let mut ip_at: BTreeMap<String, Duration> = BTreeMap::new();
    until("every Service has an external IP", DEADLINE, || {
        let now = created.elapsed();
        for (name, _) in world.services_with_ip()? {
            ip_at.entry(name).or_insert(now);
        }
        Ok(ip_at.len() == services)
    })
    .await?;
    let wall = created.elapsed();
    let calls_at_ip: u64 = world.calls().values().sum();
    let expected = nodes.min(40);
    until("every Enhanced LB with its real servers", DEADLINE, || {
        let items = world.enhanced();
        Ok(items.len() == services && items.iter().all(|i| i.real_servers.len() == expected))
    })
    .await?;
    // Anything the creates still cause (a second look, a node-set update) counts too: look
    // again after the client's poll interval has passed twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items = world.enhanced();
    ensure!(
        items.len() == services,
        "{} Enhanced LBs for {services} Services",
        items.len()
    );
    let ips = world.services_with_ip()?;
    let node_ports = world.node_ports()?;
    for (name, ip) in &ips {
        let item = items
            .iter()
            .find(|i| i.vip.as_deref() == Some(ip.as_str()))
            .with_context(|| format!("no Enhanced LB has {name}'s IP {ip}"))?;
        let port = node_ports.get(name).context("no node port")?;
        // The first 40 Nodes by name, sorted as the view sorts.
        let mut want: Vec<String> = (0..expected)
            .map(|n| format!("{}:{port}", shared_ip(n)))
            .collect();
        want.sort();
        ensure!(
            item.real_servers == want,
            "{name}: real servers {:?}, expected {want:?}",
            item.real_servers
        );
    }
    let to_ip: Vec<f64> = ip_at.values().map(Duration::as_secs_f64).collect();
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let calls = world.calls();
    let total: u64 = calls.values().sum();
    let per_create: BTreeMap<&String, f64> = calls
        .iter()
        .map(|(op, n)| (op, *n as f64 / services as f64))
        .collect();
    let per = total as f64 / services as f64;
    if per > ENHANCED_CREATE_TARGET {
        eprintln!(
            "note: {per:.1} SAKURA API calls per Enhanced LB create, above the target of {ENHANCED_CREATE_TARGET}"
        );
    }
    outcome(
        params,
        node_json_bytes,
        format!("enhanced-lb-create {services} services"),
        json!({"nodes": nodes, "services": services, "network": "shared segment only",
               "latency_ms": params.latency.as_millis() as u64}),
        wall,
        &world,
        &controller,
        json!({
            "calls_per_create": per,
            "calls_per_create_by_operation": per_create,
            "calls_when_the_last_ip_appeared": calls_at_ip,
            "seconds_to_ip": {"mean": mean(&to_ip), "max": max(&to_ip)},
        }),
    )
}

/// Target for SAKURA API calls per Enhanced LB create (reported, not enforced: a count is a
/// measurement).
const ENHANCED_CREATE_TARGET: f64 = 5.0;

/// 3. and 4. `nodes` Nodes (on the `@k8s` switch and on the shared segment), `services`
///    switch-type Services (appliances) and `enhanced` Enhanced LB Services set up once; then
///    steady state (periods shortened ten times, observed for `steady_duration`) and churn (50
///    Nodes join, 50 leave).
pub async fn steady_and_churn(
    params: &Params,
    nodes: usize,
    services: usize,
    enhanced: usize,
    steady: bool,
    churn: bool,
) -> anyhow::Result<(Option<Outcome>, Option<Outcome>)> {
    let churned = if params.quick { 5 } else { 50 };
    let world = params
        .world("steady", nodes + churned, Network::SwitchAndShared)
        .await?;
    // A cluster in its steady state: the Nodes were initialized long ago (and so carry the
    // cloud-controller-manager's managedFields too).
    world.register_initialized_nodes(0..nodes)?;
    world.add_managed_fields()?;
    world.create_services(0..services)?;
    world.create_enhanced_services(0..enhanced)?;
    let mut args = KubeLimits::High.args();
    // Ten times shorter than the defaults (5m, 10m, 5s).
    args.extend([
        "--node-status-update-frequency=30s".to_owned(),
        "--service-resync-period=60s".to_owned(),
        "--node-monitor-period=500ms".to_owned(),
    ]);
    let controller = Controller::start(&params.binary, &world, &args)?;
    let setup = Instant::now();
    until(
        "every Node initialized and every Service with an IP",
        DEADLINE,
        || {
            Ok(world.initialized_nodes()? == nodes
                && world.services_with_ip()?.len() == services + enhanced)
        },
    )
    .await?;
    let expected = (nodes.min(40), services);
    until(
        "every appliance and Enhanced LB with its real servers",
        DEADLINE,
        || {
            let appliances = world.appliances();
            let items = world.enhanced();
            Ok(appliances.len() == expected.1
                && appliances
                    .iter()
                    .all(|a| a.real_servers.len() == expected.0)
                && items.len() == enhanced
                && items.iter().all(|i| i.real_servers.len() == expected.0))
        },
    )
    .await?;
    let setup_seconds = setup.elapsed().as_secs_f64();
    let node_json_bytes = world.node_json_bytes()?;
    let ids_before: BTreeSet<u64> = world.appliances().iter().map(|a| a.id).collect();
    let enhanced_before: BTreeSet<u64> = world.enhanced().iter().map(|i| i.id).collect();

    let mut steady_outcome = None;
    if steady {
        world.clear_calls();
        let cpu_before = controller.footprint()?.cpu_seconds;
        let started = Instant::now();
        tokio::time::sleep(params.steady_duration).await;
        let wall = started.elapsed();
        let cpu_after = controller.footprint()?.cpu_seconds;
        // The steady state's own CPU, without the set-up: the share of one core.
        let window_cpu = cpu_after - cpu_before;
        let core_share = window_cpu / wall.as_secs_f64().max(f64::EPSILON);
        let calls = world.calls();
        let enhanced_calls: BTreeMap<&String, &u64> = calls
            .iter()
            .filter(|(op, _)| op.contains("commonserviceitem"))
            .collect();
        let o = outcome(
            params,
            node_json_bytes,
            format!("steady {nodes} nodes {services}+{enhanced} services"),
            json!({"nodes": nodes, "services": services, "enhanced_services": enhanced,
                   "observed_seconds": wall.as_secs_f64(),
                   "node_status_update_frequency_s": 30, "service_resync_period_s": 60,
                   "node_monitor_period_ms": 500, "latency_ms": params.latency.as_millis() as u64}),
            wall,
            &world,
            &controller,
            json!({"setup_seconds": setup_seconds, "enhanced_lb_calls": enhanced_calls,
                   "cpu_seconds_in_window": window_cpu,
                   "cpu_percent_of_a_core": core_share * 100.0}),
        )?;
        if o.writes() != 0 {
            bail!("steady state wrote to the cloud: {:?}", o.api_calls);
        }
        let after: BTreeSet<u64> = world.enhanced().iter().map(|i| i.id).collect();
        ensure!(
            after == enhanced_before,
            "Enhanced LBs changed in the steady state"
        );
        steady_outcome = Some(o);
    }

    let mut churn_outcome = None;
    if churn {
        world.clear_calls();
        world.register_nodes(nodes..nodes + churned)?;
        for i in 0..churned {
            world.retire_node(i)?;
        }
        let gone: BTreeSet<String> = (0..churned).map(|i| node_ip(i).to_string()).collect();
        let gone_shared: BTreeSet<String> =
            (0..churned).map(|i| shared_ip(i).to_string()).collect();
        let remaining = nodes; // nodes - churned + churned
        let wall = until(
            "every appliance and Enhanced LB without the retired Nodes",
            DEADLINE,
            || {
                let appliances = world.appliances();
                let items = world.enhanced();
                Ok(appliances.len() == services
                    && appliances.iter().all(|a| {
                        a.real_servers.len() == remaining.min(40)
                            && !a.real_servers.iter().any(|ip| gone.contains(ip))
                    })
                    && items.len() == enhanced
                    && items.iter().all(|i| {
                        i.real_servers.len() == remaining.min(40)
                            && !i.real_servers.iter().any(|s| {
                                s.split_once(':')
                                    .is_some_and(|(ip, _)| gone_shared.contains(ip))
                            })
                    }))
            },
        )
        .await?;
        let ids_after: BTreeSet<u64> = world.appliances().iter().map(|a| a.id).collect();
        ensure!(ids_before == ids_after, "appliances were re-created");
        let enhanced_after: BTreeSet<u64> = world.enhanced().iter().map(|i| i.id).collect();
        ensure!(
            enhanced_before == enhanced_after,
            "Enhanced LBs were re-created"
        );
        let calls = world.calls();
        let updates = calls.get("PUT appliance/{id}").copied().unwrap_or(0);
        let applies = calls.get("PUT appliance/{id}/config").copied().unwrap_or(0);
        let enhanced_updates = calls
            .get("PUT commonserviceitem/{id}")
            .copied()
            .unwrap_or(0);
        churn_outcome = Some(outcome(
            params,
            node_json_bytes,
            format!("churn {churned}+{churned} nodes {services}+{enhanced} services"),
            json!({"nodes": nodes, "services": services, "enhanced_services": enhanced,
                   "joined": churned, "left": churned,
                   "latency_ms": params.latency.as_millis() as u64}),
            wall,
            &world,
            &controller,
            json!({"settings_updates_per_appliance": updates as f64 / services.max(1) as f64,
                   "config_applies_per_appliance": applies as f64 / services.max(1) as f64,
                   "settings_updates_per_enhanced_lb": enhanced_updates as f64 / enhanced.max(1) as f64,
                   "appliances_recreated": 0}),
        )?);
    }
    Ok((steady_outcome, churn_outcome))
}
