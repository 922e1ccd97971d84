//! `sakura-cloud-controller-manager`: the SAKURA Cloud cloud-controller-manager.
//!
//! Without a subcommand it runs the controllers (the standard cloud-controller-manager flags,
//! configuration from the environment and `--cloud-config`). `sandbox` runs the whole system on
//! loopback against the simulator; `doctor` checks an account and a cluster, read-only.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use cloud_provider::app::{App, log_ignored_flags};
use cloud_provider::options::{CcmOptions, ignored_flags_given};
use prometheus_client::registry::Registry;
use sakura_ccm::cli::{Cli, Command};
use sakura_ccm::cloud::{SakuraCloud, check_credentials, check_provider_name};
use sakura_ccm::config::ProviderConfig;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        #[cfg(feature = "sandbox")]
        Some(Command::Sandbox(args)) => {
            // The narration is the output; the controller's own logs only when asked.
            init_logging("warn");
            match run_sandbox(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Doctor(args)) => {
            // The report is the output; logs only when asked (RUST_LOG).
            init_logging("error");
            run_doctor(&args)
        }
        None => {
            init_logging(cli.ccm.log_directive());
            log_ignored_flags(&ignored_flags_given(&matches));
            match run_controller(cli.ccm) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the level `--v` gives.
fn init_logging(default_directive: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default_directive},hyper=warn,rustls=warn,kube_client=warn,tower=warn"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run_controller(options: CcmOptions) -> anyhow::Result<()> {
    check_provider_name(&options.cloud_provider)?;
    let config = ProviderConfig::load(options.cloud_config.as_deref())?;
    let app = App::from_options(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let mut registry = Registry::default();
        let api_metrics = sacloud::metrics::PrometheusMetrics::register(&mut registry);
        let client = sacloud::Client::with_observer(config.api.clone(), api_metrics)
            .context("SAKURA Cloud API client")?;
        let status = check_credentials(&client, &config).await?;
        tracing::info!(
            zone = %config.api.zone.name(),
            zones = %config.zones.iter().map(|z| z.name()).collect::<Vec<_>>().join(","),
            cluster_id = config.cluster_id.as_deref().unwrap_or(""),
            load_balancers = !config.disable_load_balancer,
            permission = %status.permission,
            "SAKURA Cloud credentials accepted"
        );
        let provider = Arc::new(SakuraCloud::new(client, &config));
        let running = app.start(provider, registry, shutdown_signal()).await?;
        running.wait().await?;
        tracing::info!("stopped");
        Ok(())
    });
    // Whatever is still running now is abandoned (a process exit would do the same), but never
    // waited for without limit.
    runtime.shutdown_timeout(RUNTIME_STOP_GRACE);
    result
}

/// How long tasks left after the controllers stopped may take to end.
const RUNTIME_STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

fn run_doctor(args: &sakura_ccm::doctor::DoctorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("starting the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(sakura_ccm::doctor::run_command(args, &mut stdout)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("writing the report: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "sandbox")]
fn run_sandbox(args: sakura_ccm::sandbox::SandboxArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let mut stdout = std::io::stdout();
        sakura_ccm::sandbox::run(args, &mut stdout, shutdown_signal()).await?;
        Ok(())
    });
    runtime.shutdown_timeout(RUNTIME_STOP_GRACE);
    result
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested");
}
