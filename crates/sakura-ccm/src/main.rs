//! `sakura-cloud-controller-manager`: the SAKURA Cloud cloud-controller-manager.
//!
//! Only the command-line shell exists so far; the controller, `doctor` and `sandbox` land with
//! their issues.

use clap::{Parser, Subcommand};

/// Kubernetes cloud-controller-manager for SAKURA Cloud.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the simulator, a fake API server and the controller together on loopback.
    Sandbox,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Sandbox) => {
            println!("sandbox: not yet available (it lands with the sandbox issue)");
        }
        None => {
            println!("the controller is not yet available (it lands with the provider issue)");
        }
    }
}
