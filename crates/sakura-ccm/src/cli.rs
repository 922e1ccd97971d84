//! The command line of `sakura-cloud-controller-manager`, in the library so that tests (and the
//! deployment manifests' test) parse arguments exactly as the binary does.

use clap::{Parser, Subcommand};
use cloud_provider::options::CcmOptions;

/// Kubernetes cloud-controller-manager for SAKURA Cloud.
///
/// Configuration: SAKURACLOUD_ACCESS_TOKEN, SAKURACLOUD_ACCESS_TOKEN_SECRET, SAKURACLOUD_ZONE
/// (or SAKURACLOUD_ZONES for a cluster spanning zones of one region), SAKURACLOUD_CLUSTER_ID, ...
/// (each also as <NAME>_FILE) or --cloud-config; see docs/configuration.md.
#[derive(Debug, Parser)]
#[command(name = "sakura-cloud-controller-manager", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    /// A subcommand; none runs the controller manager.
    pub command: Option<Command>,
    #[command(flatten)]
    /// The standard cloud-controller-manager flags.
    pub ccm: CcmOptions,
}

/// What to run instead of the controller manager.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SAKURA Cloud simulator, a fake Kubernetes API server and the controller together
    /// on loopback, create a LoadBalancer Service and tell what happens.
    #[cfg(feature = "sandbox")]
    Sandbox(crate::sandbox::SandboxArgs),
    /// Check the SAKURA Cloud account and the cluster for known set-up problems and say what
    /// to fix (read-only). Exit code 0: no problem; 1: a check failed; 2: cannot start.
    Doctor(crate::doctor::DoctorArgs),
}
