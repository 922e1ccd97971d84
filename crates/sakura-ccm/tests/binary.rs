//! The `sakura-cloud-controller-manager` binary as a process: configuration from the
//! environment, the credential check at start, the original manifest's command line, SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{CONVERGE, Cluster, SCENARIO, eventually};

const BINARY: &str = env!("CARGO_BIN_EXE_sakura-cloud-controller-manager");

/// The original manifest's command line (seed 000).
const SEED_ARGS: [&str; 5] = [
    "--cloud-provider=sakuracloud",
    "--allocate-node-cidrs=false",
    "--configure-cloud-routes=false",
    "--leader-elect=true",
    "--use-service-account-credentials",
];

/// A kubeconfig for the fake API server, in a file of its own.
fn kubeconfig(cluster: &Cluster, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sakura-ccm-binary-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, cluster.api.kubeconfig()).unwrap();
    path
}

/// The binary with a clean environment: only what the test gives it.
fn command(cluster: &Cluster, kubeconfig: &Path, token: &str, secret: &str) -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.env_clear()
        .env("SAKURACLOUD_ACCESS_TOKEN", token)
        .env("SAKURACLOUD_ACCESS_TOKEN_SECRET", secret)
        .env("SAKURACLOUD_ZONE", "is1a")
        .env("SAKURACLOUD_API_ROOT_URL", cluster.sim.base_url())
        .env("SAKURACLOUD_CLUSTER_ID", support::CLUSTER_ID)
        .env("RUST_LOG", "info")
        .args(SEED_ARGS)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--secure-port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for the process to exit on its own within `within`.
fn wait_with_deadline(mut child: Child, within: Duration) -> Output {
    let deadline = Instant::now() + within;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn wrong_credentials_stop_the_start_with_a_clear_message() {
    test_runtime::run_multi(async {
        let cluster = Cluster::without_controller(SCENARIO).await;
        let kubeconfig = kubeconfig(&cluster, "wrong-credentials");
        let child = command(&cluster, &kubeconfig, "sim-token", "not-the-secret-xyz")
            .spawn()
            .unwrap();
        let output = tokio::task::spawn_blocking(move || wait_with_deadline(child, CONVERGE))
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("refused the credentials"), "{stderr}");
        assert!(
            stderr.contains("SAKURACLOUD_ACCESS_TOKEN_SECRET"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("not-the-secret-xyz"),
            "the secret must never be printed: {stderr}"
        );
    })
}

#[test]
fn missing_configuration_is_reported_all_at_once() {
    test_runtime::run_multi(async {
        let output = tokio::task::spawn_blocking(|| {
            let child = Command::new(BINARY)
                .env_clear()
                .args(SEED_ARGS)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            wait_with_deadline(child, CONVERGE)
        })
        .await
        .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        for var in [
            "SAKURACLOUD_ACCESS_TOKEN ",
            "SAKURACLOUD_ACCESS_TOKEN_SECRET",
            "SAKURACLOUD_ZONE",
        ] {
            assert!(stderr.contains(var), "{var} missing from: {stderr}");
        }
    })
}

#[test]
fn another_cloud_provider_is_refused() {
    test_runtime::run_multi(async {
        let output = tokio::task::spawn_blocking(|| {
            let child = Command::new(BINARY)
                .env_clear()
                .arg("--cloud-provider=aws")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            wait_with_deadline(child, CONVERGE)
        })
        .await
        .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--cloud-provider=sakuracloud"), "{stderr}");
    })
}

/// The original manifest's command line, unchanged: Nodes are initialized and a Service gets
/// its VIP; SIGTERM stops the process cleanly.
#[test]
fn the_original_command_line_runs_the_controllers_until_sigterm() {
    test_runtime::run_multi(async {
        let cluster = Cluster::without_controller(SCENARIO).await;
        let kubeconfig = kubeconfig(&cluster, "seed-command-line");
        let child = command(&cluster, &kubeconfig, "sim-token", "sim-secret")
            .spawn()
            .unwrap();
        let pid = child.id();
        // Whatever happens below, do not leave the process behind.
        struct Reap(Option<Child>);
        impl Drop for Reap {
            fn drop(&mut self) {
                if let Some(child) = &mut self.0 {
                    let _ = child.kill();
                }
            }
        }
        let mut reap = Reap(Some(child));

        cluster.add_node("worker-1");
        cluster.add_service("web", &[], &[80]);
        eventually("worker-1 initialized", CONVERGE, || async {
            cluster.node_initialized("worker-1").await
        })
        .await;
        let vip = cluster.wait_for_ingress("web").await;
        assert_eq!(vip, "203.0.113.25");

        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let child = reap.0.take().unwrap();
        let output = tokio::task::spawn_blocking(move || wait_with_deadline(child, CONVERGE))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("use-service-account-credentials"),
            "ignored flags are named once: {stderr}"
        );
        assert!(
            stderr.contains("SAKURA Cloud credentials accepted"),
            "{stderr}"
        );
    })
}
