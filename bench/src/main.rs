//! `bench`: measures the real `sakura-cloud-controller-manager` binary against the SAKURA Cloud
//! simulator (with per-call latency, the client's default rate limit in force) and the fake
//! Kubernetes API server. See docs/benchmarks.md.
//!
//! `cargo run --release -p bench -- SCENARIO [--nodes N] [--services M] [--enhanced-services K]
//! [--latency 50ms] [--node-shape realistic|small] [--json FILE] [--quick]`, SCENARIO one of
//! `cold-start`, `lb-create`, `enhanced-lb-create`, `steady`, `churn`, `all`.

mod scenarios;
mod shape;
mod world;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

/// Benchmarks of the SAKURA Cloud cloud-controller-manager.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// Which scenario to run.
    scenario: Which,
    /// Nodes (cold-start: every size given, e.g. `--nodes 100 --nodes 1000`; default 100,
    /// 1000, 5000; steady/churn: the first).
    #[arg(long)]
    nodes: Vec<usize>,
    /// LoadBalancer Services (lb-create, enhanced-lb-create: default 1, then 10; steady/churn:
    /// default 200 switch-type Services).
    #[arg(long)]
    services: Option<usize>,
    /// Enhanced Load Balancer Services in steady/churn, besides `--services` (default 20).
    #[arg(long)]
    enhanced_services: Option<usize>,
    /// Simulated latency of every SAKURA Cloud API call.
    #[arg(long, default_value = "50ms", value_parser = sacloud_sim::duration::parse_duration)]
    latency: Duration,
    /// Simulated appliance boot time (excluded from the lb-create figure).
    #[arg(long, default_value = "2s", value_parser = sacloud_sim::duration::parse_duration)]
    boot_delay: Duration,
    /// How long the steady scenario observes (its periods are shortened ten times, so 60 s
    /// stand for 10 minutes of default periods).
    #[arg(long, default_value = "60s", value_parser = sacloud_sim::duration::parse_duration)]
    steady_duration: Duration,
    /// Small sizes that finish in seconds (CI keeps the harness working with it); asserts the
    /// results' correctness, never timings.
    #[arg(long)]
    quick: bool,
    /// What the Nodes look like: `realistic` (what a kubelet registers: ~40 images,
    /// managedFields, conditions, nodeInfo; 20–30 kB of JSON each) or `small` (name, one label,
    /// the taint, one condition), for comparison.
    #[arg(long, value_enum, default_value = "realistic")]
    node_shape: shape::NodeShape,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    ColdStart,
    LbCreate,
    EnhancedLbCreate,
    Steady,
    Churn,
    All,
}

/// One scenario's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Scenario name (with its size).
    pub name: String,
    /// The parameters used.
    pub parameters: Value,
    /// The scenario's headline duration.
    pub wall_seconds: f64,
    /// SAKURA Cloud API calls by "METHOD template".
    pub api_calls: BTreeMap<String, u64>,
    /// Peak RSS of the controller process (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// Peak anonymous RSS (heap, stacks), sampled: the peak RSS less the binary's own pages.
    pub peak_anon_rss_bytes: u64,
    /// CPU seconds of the controller process.
    pub cpu_seconds: f64,
    /// Scenario-specific figures.
    pub extra: Value,
}

impl Outcome {
    fn total_calls(&self) -> u64 {
        self.api_calls.values().sum()
    }

    /// Calls other than GET.
    pub fn writes(&self) -> u64 {
        self.api_calls
            .iter()
            .filter(|(op, _)| !op.starts_with("GET "))
            .map(|(_, n)| n)
            .sum()
    }

    fn to_json(&self) -> Value {
        json!({
            "scenario": self.name,
            "parameters": self.parameters,
            "wall_seconds": self.wall_seconds,
            "api_calls": {"total": self.total_calls(), "by_operation": self.api_calls},
            "writes": self.writes(),
            "peak_rss_bytes": self.peak_rss_bytes,
            "peak_anon_rss_bytes": self.peak_anon_rss_bytes,
            "cpu_seconds": self.cpu_seconds,
            "extra": self.extra,
        })
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let binary = world::build_controller()?;
    let binary_size = std::fs::metadata(&binary)?.len();
    let params = scenarios::Params {
        binary: binary.clone(),
        latency: cli.latency,
        boot_delay: cli.boot_delay,
        steady_duration: if cli.quick {
            Duration::from_secs(6)
        } else {
            cli.steady_duration
        },
        quick: cli.quick,
        shape: cli.node_shape,
    };
    let cold_sizes = match (cli.quick, cli.nodes.is_empty()) {
        (_, false) => cli.nodes.clone(),
        (true, true) => vec![50],
        (false, true) => vec![100, 1000, 5000],
    };
    let big_nodes = cli
        .nodes
        .first()
        .copied()
        .unwrap_or(if cli.quick { 30 } else { 1000 });
    let big_services = cli.services.unwrap_or(if cli.quick { 5 } else { 200 });
    let big_enhanced = cli
        .enhanced_services
        .unwrap_or(if cli.quick { 2 } else { 20 });
    let mut outcomes = Vec::new();
    let all = cli.scenario == Which::All;
    if all || cli.scenario == Which::ColdStart {
        for &n in &cold_sizes {
            outcomes.push(progress(
                scenarios::cold_start(&params, n, scenarios::KubeLimits::High).await?,
            ));
        }
        // Upstream's client defaults, for comparison (at 1,000 nodes, or the largest given).
        let n = cold_sizes.iter().copied().filter(|&n| n <= 1000).max();
        if let Some(n) = n {
            outcomes
                .push(scenarios::cold_start(&params, n, scenarios::KubeLimits::Upstream).await?);
        }
    }
    if all || cli.scenario == Which::LbCreate {
        // One Service alone shows the create path; several at once show the queueing behind
        // the client's rate limit.
        let counts = match cli.services {
            Some(m) => vec![m],
            None if cli.quick => vec![1, 3],
            None => vec![1, 10],
        };
        for m in counts {
            outcomes.push(progress(scenarios::lb_create(&params, 10, m).await?));
        }
    }
    if all || cli.scenario == Which::EnhancedLbCreate {
        let counts = match cli.services {
            Some(m) => vec![m],
            None if cli.quick => vec![1, 3],
            None => vec![1, 10],
        };
        for m in counts {
            outcomes.push(progress(
                scenarios::enhanced_lb_create(&params, 10, m).await?,
            ));
        }
    }
    if all || cli.scenario == Which::Steady || cli.scenario == Which::Churn {
        let (steady, churn) = scenarios::steady_and_churn(
            &params,
            big_nodes,
            big_services,
            big_enhanced,
            all || cli.scenario == Which::Steady,
            all || cli.scenario == Which::Churn,
        )
        .await?;
        outcomes.extend(steady.map(progress));
        outcomes.extend(churn.map(progress));
    }

    print_table(&outcomes, binary_size);
    if let Some(path) = &cli.json {
        let doc = json!({
            "binary": binary.display().to_string(),
            "binary_size_bytes": binary_size,
            "latency_ms": cli.latency.as_millis() as u64,
            "boot_delay_ms": cli.boot_delay.as_millis() as u64,
            "quick": cli.quick,
            "node_shape": cli.node_shape.as_str(),
            "scenarios": outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Tells on stderr that a scenario finished (a full run takes minutes).
fn progress(outcome: Outcome) -> Outcome {
    eprintln!(
        "done: {} in {:.2} s, {} API calls",
        outcome.name,
        outcome.wall_seconds,
        outcome.total_calls()
    );
    outcome
}

fn print_table(outcomes: &[Outcome], binary_size: u64) {
    println!(
        "{:<34} {:>9} {:>7} {:>7} {:>9} {:>9} {:>8}  notes",
        "scenario", "wall s", "calls", "writes", "peak RSS", "anon", "CPU s"
    );
    for o in outcomes {
        println!(
            "{:<34} {:>9.2} {:>7} {:>7} {:>8.1}M {:>8.1}M {:>8.2}  {}",
            o.name,
            o.wall_seconds,
            o.total_calls(),
            o.writes(),
            o.peak_rss_bytes as f64 / 1_048_576.0,
            o.peak_anon_rss_bytes as f64 / 1_048_576.0,
            o.cpu_seconds,
            o.extra
        );
        for (op, n) in &o.api_calls {
            println!("{:<34}   {op}: {n}", "");
        }
    }
    println!(
        "controller binary: {:.1} MB",
        binary_size as f64 / 1_048_576.0
    );
    let mut node_sizes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for o in outcomes {
        let (Some(shape), Some(bytes)) = (
            o.parameters["node_shape"].as_str(),
            o.parameters["node_json_bytes"].as_u64(),
        ) else {
            continue;
        };
        let range = node_sizes.entry(shape.to_owned()).or_insert((bytes, bytes));
        *range = (range.0.min(bytes), range.1.max(bytes));
    }
    for (shape, (least, most)) in node_sizes {
        println!(
            "{shape} Nodes: {:.1}–{:.1} kB of JSON each (mean per scenario, as served)",
            least as f64 / 1000.0,
            most as f64 / 1000.0
        );
    }
}
