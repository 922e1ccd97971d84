//! The standard cloud-controller-manager command-line flags, with upstream's names, defaults
//! and Go (pflag) syntax, so that manifests written for upstream CCMs keep working.
//!
//! A binary flattens [`CcmOptions`] into its own clap command:
//!
//! ```
//! use clap::{CommandFactory, FromArgMatches, Parser};
//! use cloud_provider::options::{CcmOptions, ignored_flags_given};
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     ccm: CcmOptions,
//! }
//!
//! let args = ["ccm", "--cloud-provider=sakuracloud", "--leader-elect", "--profiling=false"];
//! let matches = Cli::command().get_matches_from(args);
//! let cli = Cli::from_arg_matches(&matches).unwrap();
//! assert!(cli.ccm.validate().is_ok());
//! assert_eq!(ignored_flags_given(&matches), ["profiling"]);
//! ```
//!
//! Go compatibility: bool flags take `--x`, `--x=true` and `--x=false` (never `--x false`, as in
//! pflag); other flags take `--x=v` or `--x v`; giving a flag twice keeps the last value, while
//! list flags (`--controllers`, `--feature-gates`, ...) take comma-separated values and append
//! when repeated. Durations use Go's syntax (`300ms`, `5m0s`, `1h30m`): see
//! [`parse_go_duration`]. The klog verbosity is `--v=2`, `-v=2` or `-v 2`.

mod controllers;
mod go;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};

use crate::leader::LeaderElectionConfig;

pub use controllers::{ControllerName, resolve_controllers};
pub use go::{Cidr, parse_go_bool, parse_go_duration};

use go::parse_feature_gate;

const H_GENERIC: &str = "Generic flags";
const H_KUBE_CLOUD_SHARED: &str = "Kube cloud shared flags";
const H_NODE: &str = "Node controller flags";
const H_SERVICE: &str = "Service controller flags";
const H_MISC: &str = "Misc flags";
const H_SECURE_SERVING: &str = "Secure serving flags";
const H_AUTHN: &str = "Authentication flags";
const H_AUTHZ: &str = "Authorization flags";
const H_WEBHOOK: &str = "Webhook flags";
const H_DEBUGGING: &str = "Debugging flags";
const H_LEADER_MIGRATION: &str = "Leader migration flags";
const H_LOGGING: &str = "Logging flags";
const H_FRAMEWORK: &str = "Framework flags";

/// The only leader election lock this framework implements (upstream's default).
pub const RESOURCE_LOCK_LEASES: &str = "leases";

/// The standard cloud-controller-manager flags (k8s.io/cloud-provider `options`, with the
/// vendored controller-manager, component-base and apiserver options) plus the framework's own.
///
/// The flags listed in [`IGNORED_FLAGS`] are accepted so that existing manifests keep working,
/// and have no effect; see `docs/flags.md` for why each is ignored.
#[derive(clap::Args, Debug, Clone)]
pub struct CcmOptions {
    // --- generic ---
    /// Controllers to run: '*' is all, 'foo' enables and '-foo' disables foo (names or aliases).
    #[arg(long, help_heading = H_GENERIC, value_delimiter = ',', action = ArgAction::Append,
          allow_hyphen_values = true, default_value = "*", value_name = "NAMES")]
    pub controllers: Vec<String>,
    /// The resync period of informers: a random time between this and twice this (ignored).
    #[arg(long, help_heading = H_GENERIC, value_parser = parse_go_duration, default_value = "12h",
          value_name = "DURATION", last_wins())]
    pub min_resync_period: Duration,
    /// Content type of requests sent to the API server (ignored: kube-rs speaks JSON).
    #[arg(long, help_heading = H_GENERIC, default_value = "application/vnd.kubernetes.protobuf",
          value_name = "TYPE", last_wins())]
    pub kube_api_content_type: String,
    /// Queries per second to the API server (client-side rate limit).
    #[arg(long, help_heading = H_GENERIC, default_value_t = 20.0, value_name = "QPS", last_wins())]
    pub kube_api_qps: f32,
    /// Burst of queries to the API server above --kube-api-qps.
    #[arg(long, help_heading = H_GENERIC, default_value_t = 30, value_name = "N", last_wins())]
    pub kube_api_burst: u32,
    /// Event writes per second: a budget of their own, apart from --kube-api-qps (as the
    /// kubelet's --event-qps), so that publishing Events never slows Node and Service writes.
    #[arg(long, help_heading = H_GENERIC, default_value_t = 50.0, value_name = "QPS", last_wins())]
    pub event_qps: f32,
    /// Burst of Event writes above --event-qps.
    #[arg(long, help_heading = H_GENERIC, default_value_t = 100, value_name = "N", last_wins())]
    pub event_burst: u32,
    /// Interval between starting controller managers (ignored).
    #[arg(long, help_heading = H_GENERIC, value_parser = parse_go_duration, default_value = "0",
          value_name = "DURATION", last_wins())]
    pub controller_start_interval: Duration,
    /// Elect a leader so that only one replica runs the controllers.
    #[arg(long, help_heading = H_GENERIC, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("true"))]
    pub leader_elect: bool,
    /// How long non-leaders wait after the last renewal before taking the lease.
    #[arg(long, help_heading = H_GENERIC, value_parser = parse_go_duration, default_value = "15s",
          value_name = "DURATION", last_wins())]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    #[arg(long, help_heading = H_GENERIC, value_parser = parse_go_duration, default_value = "10s",
          value_name = "DURATION", last_wins())]
    pub leader_elect_renew_deadline: Duration,
    /// How long to wait between attempts to acquire or renew the lease.
    #[arg(long, help_heading = H_GENERIC, value_parser = parse_go_duration, default_value = "2s",
          value_name = "DURATION", last_wins())]
    pub leader_elect_retry_period: Duration,
    /// The kind of lock object for leader election; only 'leases' is supported.
    #[arg(long, help_heading = H_GENERIC, default_value = RESOURCE_LOCK_LEASES, value_name = "KIND",
          last_wins())]
    pub leader_elect_resource_lock: String,
    /// The name of the Lease used for leader election.
    #[arg(long, help_heading = H_GENERIC, default_value = "cloud-controller-manager",
          value_name = "NAME", last_wins())]
    pub leader_elect_resource_name: String,
    /// The namespace of the Lease used for leader election.
    #[arg(long, help_heading = H_GENERIC, default_value = "kube-system", value_name = "NAMESPACE",
          last_wins())]
    pub leader_elect_resource_namespace: String,
    /// Feature gates as Name=bool pairs, e.g. A=true,B=false (ignored).
    #[arg(long, help_heading = H_GENERIC, value_delimiter = ',', action = ArgAction::Append,
          value_parser = parse_feature_gate, value_name = "NAME=BOOL")]
    pub feature_gates: Vec<(String, bool)>,

    // --- kube-cloud-shared ---
    /// The cloud provider's name; the binary checks it.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, default_value = "", value_name = "NAME",
          last_wins())]
    pub cloud_provider: String,
    /// The path to the cloud provider's configuration file.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, value_name = "PATH", last_wins())]
    pub cloud_config: Option<PathBuf>,
    /// The plugin for volumes of external clouds (ignored: for in-tree volume plugins).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, default_value = "", value_name = "NAME",
          last_wins())]
    pub external_cloud_volume_plugin: String,
    /// Use a separate service account per controller (ignored: one identity for all).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub use_service_account_credentials: bool,
    /// Allow running without a cluster ID tag on the cloud (deprecated upstream; ignored).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub allow_untagged_cloud: bool,
    /// How often the route controller reconciles cloud routes.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, value_parser = parse_go_duration,
          default_value = "10s", value_name = "DURATION", last_wins())]
    pub route_reconciliation_period: Duration,
    /// How often the node lifecycle controller checks each Node's instance.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, value_parser = parse_go_duration,
          default_value = "5s", value_name = "DURATION", last_wins())]
    pub node_monitor_period: Duration,
    /// The cluster's name, given to the provider (e.g. to name cloud resources).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, default_value = "kubernetes", value_name = "NAME",
          last_wins())]
    pub cluster_name: String,
    /// The CIDR range of Pods in the cluster: one, or two (IPv4 and IPv6) comma-separated.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, value_parser = non_empty, value_name = "CIDRS",
          last_wins())]
    pub cluster_cidr: Option<String>,
    /// Whether Pod CIDRs are allocated to Nodes and set on the cloud provider.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub allocate_node_cidrs: bool,
    /// The CIDR allocator to use (ignored: no CIDR allocator runs here).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, default_value = "RangeAllocator",
          value_name = "TYPE", last_wins())]
    pub cidr_allocator_type: String,
    /// Whether the route controller configures cloud routes for the Pod CIDRs.
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("true"))]
    pub configure_cloud_routes: bool,
    /// Deprecated upstream and without effect there too (ignored).
    #[arg(long, help_heading = H_KUBE_CLOUD_SHARED, value_parser = parse_go_duration,
          default_value = "0", value_name = "DURATION", hide = true, last_wins())]
    pub node_sync_period: Duration,

    // --- node controller ---
    /// How many Nodes the cloud node controller initializes at once.
    #[arg(long, help_heading = H_NODE, default_value_t = 1, value_name = "N", last_wins())]
    pub concurrent_node_syncs: u32,
    /// Workers updating Node status; 0 means as many as --concurrent-node-syncs (ignored).
    #[arg(long, help_heading = H_NODE, default_value_t = 0, value_name = "N", last_wins())]
    pub concurrent_node_status_updates: u32,

    // --- service controller ---
    /// How many Services the service controller syncs at once.
    #[arg(long, help_heading = H_SERVICE, default_value_t = 1, value_name = "N", last_wins())]
    pub concurrent_service_syncs: u32,

    // --- misc ---
    /// The address of the Kubernetes API server (overrides the kubeconfig's).
    #[arg(long, help_heading = H_MISC, value_parser = non_empty, value_name = "URL", last_wins())]
    pub master: Option<String>,
    /// The kubeconfig file to use; without it, the in-cluster service account.
    #[arg(long, help_heading = H_MISC, value_name = "PATH", last_wins())]
    pub kubeconfig: Option<PathBuf>,
    /// How often the cloud node controller refreshes every Node's addresses from the cloud.
    #[arg(long, help_heading = H_MISC, value_parser = parse_go_duration, default_value = "5m",
          value_name = "DURATION", last_wins())]
    pub node_status_update_frequency: Duration,

    // --- secure serving ---
    /// The IP address on which to serve --secure-port (0.0.0.0 or :: for all interfaces).
    #[arg(long, help_heading = H_SECURE_SERVING, default_value = "0.0.0.0", value_name = "IP",
          last_wins())]
    pub bind_address: IpAddr,
    /// The HTTPS port for health checks and metrics; 0 disables serving.
    #[arg(long, help_heading = H_SECURE_SERVING, default_value_t = 10258, value_name = "PORT",
          last_wins())]
    pub secure_port: u16,
    /// The directory of the serving certificate (ignored: the certificate is kept in memory).
    #[arg(long, help_heading = H_SECURE_SERVING, value_parser = any_path, value_name = "DIR",
          last_wins())]
    pub cert_dir: Option<PathBuf>,
    /// The serving certificate (PEM, chain after the leaf); without it, a self-signed one.
    #[arg(long, help_heading = H_SECURE_SERVING, value_name = "PATH", last_wins())]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of --tls-cert-file (PEM).
    #[arg(long, help_heading = H_SECURE_SERVING, value_name = "PATH", last_wins())]
    pub tls_private_key_file: Option<PathBuf>,
    /// Cipher suites for the server, comma-separated (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, value_delimiter = ',', action = ArgAction::Append,
          value_name = "NAMES")]
    pub tls_cipher_suites: Vec<String>,
    /// The minimum TLS version, e.g. VersionTLS12 (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, default_value = "", value_name = "VERSION",
          last_wins())]
    pub tls_min_version: String,
    /// A certificate and key for SNI: "cert,key[:domains]", repeatable (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, action = ArgAction::Append,
          value_name = "CERT,KEY[:NAMES]")]
    pub tls_sni_cert_key: Vec<String>,
    /// The limit of concurrent HTTP/2 streams per connection; 0 is Go's default (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, default_value_t = 0, value_name = "N",
          last_wins())]
    pub http2_max_streams_per_connection: u32,
    /// Bind the port with SO_REUSEPORT (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub permit_port_sharing: bool,
    /// Bind the address with SO_REUSEADDR (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub permit_address_sharing: bool,
    /// Disable HTTP/2 on the server (ignored).
    #[arg(long, help_heading = H_SECURE_SERVING, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub disable_http2_serving: bool,

    // --- authentication ---
    /// A kubeconfig for TokenReviews (ignored: health and metrics need no authentication).
    #[arg(long, help_heading = H_AUTHN, value_parser = any_path, value_name = "PATH", last_wins())]
    pub authentication_kubeconfig: Option<PathBuf>,
    /// Do not look up missing authentication configuration in the cluster (ignored).
    #[arg(long, help_heading = H_AUTHN, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("false"))]
    pub authentication_skip_lookup: bool,
    /// How long token review answers are cached (ignored).
    #[arg(long, help_heading = H_AUTHN, value_parser = parse_go_duration, default_value = "10s",
          value_name = "DURATION", last_wins())]
    pub authentication_token_webhook_cache_ttl: Duration,
    /// Start even if the authentication configuration lookup fails (ignored).
    #[arg(long, help_heading = H_AUTHN, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("false"))]
    pub authentication_tolerate_lookup_failure: bool,
    /// CA bundle for client certificates (ignored).
    #[arg(long, help_heading = H_AUTHN, value_parser = any_path, value_name = "PATH", last_wins())]
    pub client_ca_file: Option<PathBuf>,
    /// CA bundle for request-header proxies' client certificates (ignored).
    #[arg(long, help_heading = H_AUTHN, value_parser = any_path, value_name = "PATH", last_wins())]
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// Client certificate common names allowed to set request headers (ignored).
    #[arg(long, help_heading = H_AUTHN, value_delimiter = ',', action = ArgAction::Append,
          value_name = "NAMES")]
    pub requestheader_allowed_names: Vec<String>,
    /// Request header prefixes for user extras (ignored).
    #[arg(long, help_heading = H_AUTHN, value_delimiter = ',', action = ArgAction::Append,
          default_value = "x-remote-extra-", value_name = "PREFIXES")]
    pub requestheader_extra_headers_prefix: Vec<String>,
    /// Request headers for the user's groups (ignored).
    #[arg(long, help_heading = H_AUTHN, value_delimiter = ',', action = ArgAction::Append,
          default_value = "x-remote-group", value_name = "HEADERS")]
    pub requestheader_group_headers: Vec<String>,
    /// Request headers for the user name (ignored).
    #[arg(long, help_heading = H_AUTHN, value_delimiter = ',', action = ArgAction::Append,
          default_value = "x-remote-user", value_name = "HEADERS")]
    pub requestheader_username_headers: Vec<String>,
    /// Request headers for the user's UID (ignored).
    #[arg(long, help_heading = H_AUTHN, value_delimiter = ',', action = ArgAction::Append,
          value_name = "HEADERS")]
    pub requestheader_uid_headers: Vec<String>,

    // --- authorization ---
    /// A kubeconfig for SubjectAccessReviews (ignored: health and metrics are always allowed).
    #[arg(long, help_heading = H_AUTHZ, value_parser = any_path, value_name = "PATH", last_wins())]
    pub authorization_kubeconfig: Option<PathBuf>,
    /// Paths served without authorization (ignored: we serve only such paths).
    #[arg(long, help_heading = H_AUTHZ, value_delimiter = ',', action = ArgAction::Append,
          default_value = "/healthz,/readyz,/livez", value_name = "PATHS")]
    pub authorization_always_allow_paths: Vec<String>,
    /// How long 'authorized' answers are cached (ignored).
    #[arg(long, help_heading = H_AUTHZ, value_parser = parse_go_duration, default_value = "10s",
          value_name = "DURATION", last_wins())]
    pub authorization_webhook_cache_authorized_ttl: Duration,
    /// How long 'unauthorized' answers are cached (ignored).
    #[arg(long, help_heading = H_AUTHZ, value_parser = parse_go_duration, default_value = "10s",
          value_name = "DURATION", last_wins())]
    pub authorization_webhook_cache_unauthorized_ttl: Duration,

    // --- webhook ---
    /// Cloud provider admission webhooks to enable (ignored: there are none).
    #[arg(long, help_heading = H_WEBHOOK, value_delimiter = ',', action = ArgAction::Append,
          allow_hyphen_values = true, value_name = "NAMES")]
    pub webhooks: Vec<String>,
    /// The port for webhooks; 0 disables them (ignored).
    #[arg(long, help_heading = H_WEBHOOK, default_value_t = 10260, value_name = "PORT",
          last_wins())]
    pub webhook_secure_port: u16,
    /// The address for --webhook-secure-port (ignored).
    #[arg(long, help_heading = H_WEBHOOK, default_value = "0.0.0.0", value_name = "IP",
          last_wins())]
    pub webhook_bind_address: IpAddr,
    /// The directory of the webhook certificate (ignored).
    #[arg(long, help_heading = H_WEBHOOK, value_parser = any_path, value_name = "DIR",
          last_wins())]
    pub webhook_cert_dir: Option<PathBuf>,
    /// The webhook serving certificate (ignored).
    #[arg(long, help_heading = H_WEBHOOK, value_parser = any_path, value_name = "PATH",
          last_wins())]
    pub webhook_tls_cert_file: Option<PathBuf>,
    /// The private key of --webhook-tls-cert-file (ignored).
    #[arg(long, help_heading = H_WEBHOOK, value_parser = any_path, value_name = "PATH",
          last_wins())]
    pub webhook_tls_private_key_file: Option<PathBuf>,
    /// Cipher suites for the webhook server (ignored).
    #[arg(long, help_heading = H_WEBHOOK, value_delimiter = ',', action = ArgAction::Append,
          value_name = "NAMES")]
    pub webhook_tls_cipher_suites: Vec<String>,
    /// The minimum TLS version of the webhook server (ignored).
    #[arg(long, help_heading = H_WEBHOOK, default_value = "", value_name = "VERSION",
          last_wins())]
    pub webhook_tls_min_version: String,
    /// An SNI certificate and key of the webhook server, repeatable (ignored).
    #[arg(long, help_heading = H_WEBHOOK, action = ArgAction::Append,
          value_name = "CERT,KEY[:NAMES]")]
    pub webhook_tls_sni_cert_key: Vec<String>,
    /// Disable HTTP/2 on the webhook server (ignored).
    #[arg(long, help_heading = H_WEBHOOK, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("false"))]
    pub webhook_disable_http2_serving: bool,

    // --- debugging ---
    /// Serve /debug/pprof (ignored: there is no Go profiler).
    #[arg(long, help_heading = H_DEBUGGING, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("true"))]
    pub profiling: bool,
    /// Lock contention profiling, with --profiling (ignored).
    #[arg(long, help_heading = H_DEBUGGING, action = ArgAction::Set, value_parser = parse_go_bool,
          go_bool("false"))]
    pub contention_profiling: bool,

    // --- leader migration ---
    /// Migrate the leader lock from kube-controller-manager (ignored).
    #[arg(long, help_heading = H_LEADER_MIGRATION, action = ArgAction::Set,
          value_parser = parse_go_bool, go_bool("false"))]
    pub enable_leader_migration: bool,
    /// The leader migration configuration file (ignored).
    #[arg(long, help_heading = H_LEADER_MIGRATION, value_parser = any_path, value_name = "PATH",
          last_wins())]
    pub leader_migration_config: Option<PathBuf>,

    // --- logging ---
    /// Log verbosity (klog): 0-2 info, 3-4 debug, 5 and more trace.
    #[arg(short = 'v', long = "v", help_heading = H_LOGGING, default_value_t = 0,
          value_name = "LEVEL", last_wins())]
    pub v: u32,
    /// Log format, text or json (ignored: the binary chooses how it logs).
    #[arg(long, help_heading = H_LOGGING, default_value = "text", value_name = "FORMAT",
          last_wins())]
    pub logging_format: String,
    /// Per-file verbosity, pattern=N,... (ignored).
    #[arg(long, help_heading = H_LOGGING, default_value = "", value_name = "PATTERN=N,...",
          last_wins())]
    pub vmodule: String,
    /// Maximum time between log flushes (ignored).
    #[arg(long, help_heading = H_LOGGING, value_parser = parse_go_duration, default_value = "5s",
          value_name = "DURATION", last_wins())]
    pub log_flush_frequency: Duration,

    // --- framework ---
    /// Also handle LoadBalancer Services whose spec.loadBalancerClass is exactly this.
    #[arg(long, help_heading = H_FRAMEWORK, value_parser = non_empty, value_name = "CLASS",
          last_wins())]
    pub load_balancer_class: Option<String>,
    /// How often every handled Service is re-checked against the cloud; 0 disables.
    #[arg(long, help_heading = H_FRAMEWORK, value_parser = parse_go_duration, default_value = "10m",
          value_name = "DURATION", last_wins())]
    pub service_resync_period: Duration,
}

/// The long names of the flags that are accepted for compatibility and have no effect.
///
/// `docs/flags.md` says why each is ignored. Every other flag of [`CcmOptions`] is acted on.
pub const IGNORED_FLAGS: &[&str] = &[
    "min-resync-period",
    "kube-api-content-type",
    "controller-start-interval",
    "leader-elect-resource-lock",
    "feature-gates",
    "external-cloud-volume-plugin",
    "use-service-account-credentials",
    "allow-untagged-cloud",
    "cidr-allocator-type",
    "node-sync-period",
    "concurrent-node-status-updates",
    "cert-dir",
    "tls-cipher-suites",
    "tls-min-version",
    "tls-sni-cert-key",
    "http2-max-streams-per-connection",
    "permit-port-sharing",
    "permit-address-sharing",
    "disable-http2-serving",
    "authentication-kubeconfig",
    "authentication-skip-lookup",
    "authentication-token-webhook-cache-ttl",
    "authentication-tolerate-lookup-failure",
    "client-ca-file",
    "requestheader-client-ca-file",
    "requestheader-allowed-names",
    "requestheader-extra-headers-prefix",
    "requestheader-group-headers",
    "requestheader-username-headers",
    "requestheader-uid-headers",
    "authorization-kubeconfig",
    "authorization-always-allow-paths",
    "authorization-webhook-cache-authorized-ttl",
    "authorization-webhook-cache-unauthorized-ttl",
    "webhooks",
    "webhook-secure-port",
    "webhook-bind-address",
    "webhook-cert-dir",
    "webhook-tls-cert-file",
    "webhook-tls-private-key-file",
    "webhook-tls-cipher-suites",
    "webhook-tls-min-version",
    "webhook-tls-sni-cert-key",
    "webhook-disable-http2-serving",
    "profiling",
    "contention-profiling",
    "enable-leader-migration",
    "leader-migration-config",
    "logging-format",
    "vmodule",
    "log-flush-frequency",
];

/// The flags of [`IGNORED_FLAGS`] that were given explicitly (on the command line or, if the
/// binary added environment variables, through them), in [`IGNORED_FLAGS`] order, so that the
/// binary can say once that each was accepted for compatibility and ignored.
///
/// `matches` are those of the command that flattens [`CcmOptions`].
pub fn ignored_flags_given(matches: &ArgMatches) -> Vec<&'static str> {
    let present: BTreeSet<&str> = matches.ids().map(|id| id.as_str()).collect();
    IGNORED_FLAGS
        .iter()
        .copied()
        .filter(|flag| {
            // clap's ids are the field names; asking for an id the command lacks would panic
            // in debug builds, hence the check against the ids present.
            let id = flag.replace('-', "_");
            present.contains(id.as_str())
                && matches!(
                    matches.value_source(&id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
        })
        .collect()
}

impl CcmOptions {
    /// The `tracing` level for klog's `--v`: 0-2 "info", 3-4 "debug", 5 and more "trace".
    pub fn log_directive(&self) -> &'static str {
        match self.v {
            0..=2 => "info",
            3..=4 => "debug",
            _ => "trace",
        }
    }

    /// The controllers `--controllers` enables (see [`resolve_controllers`]).
    ///
    /// [`ControllerName::NodeRoute`] may be in the set while the route controller must still not
    /// run: see [`CcmOptions::route_controller_wanted`].
    pub fn enabled_controllers(&self) -> Result<BTreeSet<ControllerName>, String> {
        resolve_controllers(&self.controllers)
    }

    /// Whether the route controller should run, by upstream's rule: `--controllers` enables it,
    /// `--configure-cloud-routes` is true and `--cluster-cidr` is given. The provider must also
    /// support routes, which the caller checks.
    pub fn route_controller_wanted(&self) -> bool {
        self.configure_cloud_routes
            && self.cluster_cidr.is_some()
            && self
                .enabled_controllers()
                .is_ok_and(|c| c.contains(&ControllerName::NodeRoute))
    }

    /// The networks of `--cluster-cidr` (none if it is not given).
    pub fn cluster_cidrs(&self) -> Result<Vec<Cidr>, String> {
        let Some(list) = &self.cluster_cidr else {
            return Ok(Vec::new());
        };
        list.split(',')
            .map(|c| c.trim().parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--cluster-cidr: {e}"))
    }

    /// Leader election as the `--leader-elect*` flags configure it; `None` with
    /// `--leader-elect=false`. The identity is generated (`hostname_<uuid>`).
    pub fn leader_election_config(&self) -> Option<LeaderElectionConfig> {
        self.leader_elect.then(|| LeaderElectionConfig {
            lease_name: self.leader_elect_resource_name.clone(),
            lease_namespace: self.leader_elect_resource_namespace.clone(),
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
            ..LeaderElectionConfig::default()
        })
    }

    /// Checks the values together and reports every problem at once.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if let Err(e) = self.enabled_controllers() {
            problems.push(e);
        }
        if !(self.kube_api_qps.is_finite() && self.kube_api_qps > 0.0) {
            problems.push(format!(
                "--kube-api-qps must be greater than 0, got {}",
                self.kube_api_qps
            ));
        }
        if self.kube_api_burst == 0 {
            problems.push("--kube-api-burst must be at least 1".to_owned());
        }
        if !(self.event_qps.is_finite() && self.event_qps > 0.0) {
            problems.push(format!(
                "--event-qps must be greater than 0, got {}",
                self.event_qps
            ));
        }
        if self.event_burst == 0 {
            problems.push("--event-burst must be at least 1".to_owned());
        }
        if self.leader_elect_resource_lock != RESOURCE_LOCK_LEASES {
            problems.push(format!(
                "--leader-elect-resource-lock: only {RESOURCE_LOCK_LEASES:?} is supported, got {:?}",
                self.leader_elect_resource_lock
            ));
        }
        if let Some(election) = self.leader_election_config() {
            problems.extend(election.problems());
        }
        for (flag, value) in [
            ("--concurrent-node-syncs", self.concurrent_node_syncs),
            ("--concurrent-service-syncs", self.concurrent_service_syncs),
        ] {
            if value == 0 {
                problems.push(format!("{flag} must be at least 1"));
            }
        }
        // A zero period would make these loops spin.
        for (flag, value) in [
            ("--node-monitor-period", self.node_monitor_period),
            (
                "--node-status-update-frequency",
                self.node_status_update_frequency,
            ),
            (
                "--route-reconciliation-period",
                self.route_reconciliation_period,
            ),
        ] {
            if value.is_zero() {
                problems.push(format!("{flag} must be greater than 0"));
            }
        }
        match self.cluster_cidrs() {
            Err(e) => problems.push(e),
            Ok(cidrs) => problems.extend(cluster_cidr_problems(&cidrs)),
        }
        if self.tls_cert_file.is_some() != self.tls_private_key_file.is_some() {
            problems.push(
                "--tls-cert-file and --tls-private-key-file must be given together".to_owned(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Upstream's route controller rules for `--cluster-cidr`: at most two, and two only as dual
/// stack (one IPv4, one IPv6).
fn cluster_cidr_problems(cidrs: &[Cidr]) -> Option<String> {
    match cidrs {
        [] | [_] => None,
        [a, b] if a.is_ipv4() != b.is_ipv4() => None,
        [_, _] => {
            Some("--cluster-cidr: two CIDRs must be one IPv4 and one IPv6 (dual stack)".to_owned())
        }
        _ => Some(format!(
            "--cluster-cidr: at most 2 CIDRs are allowed, got {}",
            cidrs.len()
        )),
    }
}

/// For flags the framework acts on: an empty value is an error rather than a silent "unset".
fn non_empty(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("must not be empty (leave the flag out instead)".to_owned())
    } else {
        Ok(s.to_owned())
    }
}

/// For ignored path flags: anything goes, even empty, as with pflag.
fn any_path(s: &str) -> Result<PathBuf, Infallible> {
    Ok(PathBuf::from(s))
}

/// Argument settings shared by many flags, used as `#[arg(go_bool("true"), last_wins())]`.
trait GoFlag {
    /// A pflag bool: `--x`, `--x=true`, `--x=false` (a following word is not its value).
    fn go_bool(self, default: &'static str) -> Self;
    /// Giving the flag again replaces the value, as pflag does, instead of being an error.
    fn last_wins(self) -> Self;
}

impl GoFlag for Arg {
    fn go_bool(self, default: &'static str) -> Self {
        self.num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .default_value(default)
            .value_name("BOOL")
            // The derive cannot see the default set here and would make the flag required.
            .required(false)
            .last_wins()
    }

    fn last_wins(self) -> Self {
        let id = self.get_id().clone();
        self.overrides_with(id)
    }
}

#[cfg(test)]
mod tests;
