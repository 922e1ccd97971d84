//! `sacloud-sim`: serve a simulated SAKURA Cloud IaaS API on loopback.

use clap::Parser;
use sacloud_sim::duration::parse_duration;
use sacloud_sim::{Scenario, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A local simulator of the SAKURA Cloud IaaS API (api/cloud/1.1).
///
/// Serves /{zone}/api/cloud/1.1/... (and /cloud/zone/{zone}/api/cloud/1.1/...) for zones is1a,
/// is1b, is1c, tk1a, tk1b and tk1v (the global Enhanced Load Balancers in every zone), plus a
/// simulator-only admin API under /_sim/. On start it
/// prints the environment to export for clients. See docs/simulator.md.
#[derive(Debug, Parser)]
#[command(name = "sacloud-sim", version, about, long_about)]
struct Cli {
    /// Address to listen on. Port 0 picks a free port, which is printed. Keep it on loopback:
    /// the admin API has no authentication.
    #[arg(long, env = "SACLOUD_SIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Scenario file (YAML or JSON) with routers, switches, servers and appliances to create at
    /// start. Ignored when --state-file points to an existing file.
    #[arg(long, env = "SACLOUD_SIM_SCENARIO")]
    scenario: Option<PathBuf>,

    /// Time from appliance creation or a boot request until it is available and up
    /// (e.g. 3s, 500ms, 0).
    #[arg(long, env = "SACLOUD_SIM_BOOT_DELAY", default_value = "3s", value_parser = parse_duration)]
    boot_delay: Duration,

    /// Time a server or appliance stays in "cleaning" after a shutdown request (e.g. 1s, 0).
    #[arg(long, env = "SACLOUD_SIM_SHUTDOWN_DELAY", default_value = "1s", value_parser = parse_duration)]
    shutdown_delay: Duration,

    /// Time from an Enhanced Load Balancer's Let's Encrypt renew request until the certificate
    /// appears (e.g. 3s, 200ms, 0).
    #[arg(long, env = "SACLOUD_SIM_LETS_ENCRYPT_DELAY", default_value = "3s", value_parser = parse_duration)]
    lets_encrypt_delay: Duration,

    /// Keep state in this JSON file across restarts (written atomically after every change;
    /// loaded at start if it exists).
    #[arg(long, env = "SACLOUD_SIM_STATE_FILE")]
    state_file: Option<PathBuf>,

    /// Access token clients must send (HTTP Basic user).
    #[arg(long, env = "SACLOUD_SIM_TOKEN", hide_env_values = true, default_value = sacloud_sim::DEFAULT_TOKEN)]
    token: String,

    /// Access token secret clients must send (HTTP Basic password).
    #[arg(long, env = "SACLOUD_SIM_SECRET", hide_env_values = true, default_value = sacloud_sim::DEFAULT_SECRET)]
    secret: String,

    /// Seed for the random source (error serials, fault rates, latency jitter) for reproducible
    /// runs; time-based when absent.
    #[arg(long, env = "SACLOUD_SIM_SEED")]
    seed: Option<u64>,

    /// The API key's permission level `auth-status` reports (create, arrange, view, ...); every
    /// request is still served.
    #[arg(long, env = "SACLOUD_SIM_PERMISSION", default_value = sacloud_sim::DEFAULT_PERMISSION)]
    permission: String,

    /// Log filter (tracing-subscriber EnvFilter syntax), e.g. info or sacloud_sim=debug.
    #[arg(long, env = "SACLOUD_SIM_LOG", default_value = "info")]
    log: String,
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut builder = Simulator::builder()
        .listen(cli.listen)
        .credentials(cli.token, cli.secret)
        .boot_delay(cli.boot_delay)
        .shutdown_delay(cli.shutdown_delay)
        .lets_encrypt_delay(cli.lets_encrypt_delay)
        .permission(cli.permission);
    if let Some(path) = &cli.scenario {
        builder = builder.scenario(Scenario::from_file(path).map_err(|e| e.to_string())?);
    }
    if let Some(path) = cli.state_file {
        builder = builder.state_file(path);
    }
    if let Some(seed) = cli.seed {
        builder = builder.seed(seed);
    }
    let sim = builder.start().await.map_err(|e| e.to_string())?;
    println!("sacloud-sim listening on {}", sim.base_url());
    println!("export SAKURACLOUD_API_ROOT_URL={}", sim.base_url());
    println!("export SAKURACLOUD_ACCESS_TOKEN={}", sim.token());
    println!("export SAKURACLOUD_ACCESS_TOKEN_SECRET={}", sim.secret());
    println!("export SAKURACLOUD_ZONE=is1a");
    println!(
        "# admin API: {}/_sim/ ; stop with Ctrl-C or SIGTERM",
        sim.base_url()
    );
    stop_signal().await?;
    sim.shutdown().await;
    Ok(())
}

/// Wait for Ctrl-C or, on Unix, SIGTERM (what container runtimes and process supervisors send),
/// so in-flight requests finish cleanly.
async fn stop_signal() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot wait for SIGTERM: {e}"))?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(|e| format!("cannot wait for Ctrl-C: {e}")),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sacloud-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sacloud-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
