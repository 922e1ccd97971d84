//! `sakura-cloud-controller-manager doctor`: checks an account and a cluster for every trap
//! users of the original CCM fell into (seed 000) and says what to fix. Read-only: it sends
//! GET requests to SAKURA Cloud and reads from Kubernetes, nothing else.
//!
//! The shape: [`facts`] gathers one snapshot of each side (the only I/O), [`checks`] turns the
//! snapshots into verdicts with pure functions, [`messages`] words them in English or Japanese,
//! and [`Report`] renders text or JSON. [`run`] is the library entry point (tests call it
//! in-process); [`run_command`] is the subcommand with configuration and exit codes.

pub mod checks;
pub mod facts;
pub mod messages;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub use checks::{Finding, Status, ids};
pub use messages::{Lang, Message, ServiceMessage, SetupMessage};

use crate::config::ProviderConfig;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// One line per check, with the explanation and the fix.
    #[default]
    Text,
    /// A JSON array of `{id, status, title, detail, fix}`.
    Json,
}

/// `--lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Japanese (日本語).
    Ja,
}

/// The `doctor` subcommand's flags. Credentials, zone and cluster ID come from the same
/// environment (and `--cloud-config`) as the controller's.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Language of the explanations (default: Japanese when LC_ALL, LC_MESSAGES or LANG starts
    /// with "ja", else English).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster configuration).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The original CCM's cloud-config YAML, as given to the controller.
    #[arg(long, value_name = "FILE")]
    pub cloud_config: Option<PathBuf>,
    /// Namespace the controller runs in.
    #[arg(long, default_value = "kube-system", value_name = "NAMESPACE")]
    pub namespace: String,
    /// Name of the controller's leader-election Lease (its --leader-elect-resource-name).
    #[arg(long, default_value = "cloud-controller-manager", value_name = "NAME")]
    pub lease_name: String,
    /// Cluster ID to check appliances against (default: SAKURACLOUD_CLUSTER_ID).
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,
}

/// What [`run`] needs besides the two clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorOptions {
    /// Namespace the controller runs in.
    pub namespace: String,
    /// Its leader-election Lease.
    pub lease_name: String,
    /// The cluster ID its appliances carry.
    pub cluster_id: Option<String>,
    /// Whether it manages load balancers.
    pub load_balancers: bool,
    /// Its cluster-wide annotation defaults (`SAKURACLOUD_LOAD_BALANCERS_*`, the cloud-config's
    /// `loadBalancerDefaults`), by annotation: a Service's type is judged as the controller
    /// judges it.
    pub load_balancer_defaults: BTreeMap<String, String>,
    /// The configured zones (`SAKURACLOUD_ZONES`); empty: the client's zone.
    pub zones: Vec<sacloud::Zone>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            namespace: "kube-system".to_owned(),
            lease_name: "cloud-controller-manager".to_owned(),
            cluster_id: None,
            load_balancers: true,
            load_balancer_defaults: BTreeMap::new(),
            zones: Vec::new(),
        }
    }
}

/// The verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every verdict, in report order.
    pub findings: Vec<Finding>,
    /// Whether `doctor` could not even start (configuration unusable): exit code 2.
    pub cannot_start: bool,
}

impl Report {
    /// A report of the checks over `facts`.
    pub fn from_facts(facts: &facts::Facts) -> Self {
        Self {
            findings: checks::run_checks(facts),
            cannot_start: false,
        }
    }

    /// The verdict of the check `id`, if it ran.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// 0 when nothing failed, 1 when a check failed, 2 when `doctor` could not start.
    pub fn exit_code(&self) -> u8 {
        if self.cannot_start {
            2
        } else if self.findings.iter().any(|f| f.status == Status::Fail) {
            1
        } else {
            0
        }
    }

    /// One line per check (`✓`/`!`/`✗`, ID, title), the detail indented under it, the fix for
    /// problems, and a summary line.
    pub fn render_text(&self, lang: Lang) -> String {
        let fix_label = match lang {
            Lang::En => "fix",
            Lang::Ja => "対処",
        };
        let mut out = String::new();
        for f in &self.findings {
            let text = f.message.text(lang);
            out.push_str(&format!("{} {}: {}\n", f.status.symbol(), f.id, text.title));
            for line in text.detail.lines().filter(|l| !l.is_empty()) {
                out.push_str(&format!("    {line}\n"));
            }
            if f.status != Status::Ok && !text.fix.is_empty() {
                out.push_str(&format!("    → {fix_label}: {}\n", text.fix));
            }
        }
        let count = |s: Status| self.findings.iter().filter(|f| f.status == s).count();
        let (ok, warn, fail) = (count(Status::Ok), count(Status::Warn), count(Status::Fail));
        out.push_str(&match lang {
            Lang::En => format!("\n{ok} ✓, {warn} !, {fail} ✗\n"),
            Lang::Ja => format!("\n結果: {ok} ✓、{warn} !、{fail} ✗\n"),
        });
        out
    }

    /// A JSON array of `{id, status: ok|warn|fail, title, detail, fix}` (pretty-printed).
    pub fn render_json(&self, lang: Lang) -> String {
        let items: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                let text = f.message.text(lang);
                serde_json::json!({
                    "id": f.id,
                    "status": f.status.as_str(),
                    "title": text.title,
                    "detail": text.detail,
                    "fix": text.fix,
                })
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
        s.push('\n');
        s
    }
}

/// Reads both sides and runs every check. Read-only: GET requests to SAKURA Cloud, get and
/// list on Kubernetes.
pub async fn run(cloud: &sacloud::Client, kube: &kube::Client, options: &DoctorOptions) -> Report {
    let (cloud_facts, cluster_facts) = tokio::join!(
        facts::gather_cloud(cloud, options),
        facts::gather_cluster(kube, &options.namespace, &options.lease_name),
    );
    Report::from_facts(&facts::Facts {
        cloud: cloud_facts,
        cluster: cluster_facts,
    })
}

/// The subcommand: configuration as the controller reads it, the report on `out`, and the exit
/// code (0 no ✗, 1 some ✗, 2 could not start; the ✗ lines for what stopped it are printed).
pub async fn run_command(args: &DoctorArgs, out: &mut impl Write) -> std::io::Result<u8> {
    let lang = match args.lang {
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Ja) => Lang::Ja,
        None => Lang::from_env(|name| std::env::var(name).ok()),
    };
    let mut fatal: Vec<Finding> = Vec::new();
    let config = match ProviderConfig::load(args.cloud_config.as_deref()) {
        Ok(c) => Some(c),
        Err(e) => {
            fatal.push(Finding {
                id: ids::CLOUD_CONFIG,
                status: Status::Fail,
                message: Message::Setup(SetupMessage::ConfigInvalid {
                    problems: e.problems,
                }),
            });
            None
        }
    };
    let cloud = match &config {
        Some(c) => match sacloud::Client::new(c.api.clone()) {
            Ok(client) => Some(client),
            Err(e) => {
                fatal.push(Finding {
                    id: ids::CLOUD_CONFIG,
                    status: Status::Fail,
                    message: Message::Setup(SetupMessage::ConfigInvalid {
                        problems: vec![e.to_string()],
                    }),
                });
                None
            }
        },
        None => None,
    };
    let kube = match cloud_provider::kube_client::build_client(
        args.kubeconfig.as_deref(),
        None,
        KUBE_QPS,
        KUBE_BURST,
    )
    .await
    {
        Ok(k) => Some(k),
        Err(e) => {
            fatal.push(Finding {
                id: ids::CLUSTER_CONFIG,
                status: Status::Fail,
                message: Message::Setup(SetupMessage::KubeConfigInvalid {
                    error: e.to_string(),
                }),
            });
            None
        }
    };
    let report = match (config, cloud, kube) {
        (Some(config), Some(cloud), Some(kube)) => {
            let options = DoctorOptions {
                namespace: args.namespace.clone(),
                lease_name: args.lease_name.clone(),
                cluster_id: args.cluster_id.clone().or(config.cluster_id),
                load_balancers: !config.disable_load_balancer,
                load_balancer_defaults: config.load_balancer_defaults,
                zones: config.zones,
            };
            run(&cloud, &kube, &options).await
        }
        _ => Report {
            findings: fatal,
            cannot_start: true,
        },
    };
    let text = match args.output {
        OutputFormat::Text => report.render_text(lang),
        OutputFormat::Json => report.render_json(lang),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(report.exit_code())
}

/// Kubernetes requests per second `doctor` allows itself (a dozen reads in all).
const KUBE_QPS: f32 = 20.0;
/// Burst of those.
const KUBE_BURST: u32 = 40;
