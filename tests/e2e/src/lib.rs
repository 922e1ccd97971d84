//! End-to-end harness: the SAKURA Cloud simulator (`sacloud-sim`), the fake Kubernetes API server
//! (`fake-apiserver`) and the real `sakura-cloud-controller-manager` binary, each a separate
//! process on loopback, driven over HTTP as an operator's tools would drive them.
//!
//! The binaries are the ones `cargo test --workspace` builds next to the test executables
//! (`target/<profile>/`); set `E2E_BIN_DIR` to use others. Every process started here is killed
//! when its handle drops, and a failing test prints the tail of each process's log.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test harness: a panic is a failed test

pub mod cloud;
pub mod cluster;
pub mod process;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

pub use cloud::Simulator;
pub use cluster::ApiServer;
pub use process::{Controller, Process};

/// How long anything the system does on its own may take before a test gives up. Generous: CI
/// runs the suites in parallel on two cores with debug builds.
pub const CONVERGE: Duration = Duration::from_secs(60);

/// Runs one scenario's body on a two-worker runtime, failing it (rather than hanging CI) when
/// it runs past five minutes or leaves tasks that do not stop.
pub fn scenario<F: Future>(body: F) -> F::Output {
    test_runtime::run_with(
        test_runtime::Flavor::MultiThread(2),
        test_runtime::Limits {
            body: Duration::from_secs(300),
            shutdown: Duration::from_secs(10),
        },
        body,
    )
}

/// The cluster ID the controllers run with.
pub const CLUSTER_ID: &str = "e2e-cluster";

/// Seed 002's cloud: a switch+router tagged `@k8s` with a /28 (`203.0.113.16/28`: gateway .17,
/// assignable .20–.30), one control-plane and three workers (.20–.23).
pub const SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
servers:
  - name: control-plane-1
    nics: [{router: k8s-router, ip: 203.0.113.20}]
  - name: worker-1
    nics: [{router: k8s-router, ip: 203.0.113.21}]
  - name: worker-2
    nics: [{router: k8s-router, ip: 203.0.113.22}]
  - name: worker-3
    nics: [{router: k8s-router, ip: 203.0.113.23}]
"#;

/// Seed 000's other trap: every server on the shared segment (共有セグメント) only, no router
/// and no switch (`100.64.0.0/18` is the simulator's shared segment of is1a; real ones are
/// global blocks). One control plane (.10) and three workers (.11–.13).
pub const SHARED_SEGMENT: &str = r#"
zone: is1a
servers:
  - name: control-plane-1
    nics: [{shared: true, ip: 100.64.0.10}]
  - name: worker-1
    nics: [{shared: true, ip: 100.64.0.11}]
  - name: worker-2
    nics: [{shared: true, ip: 100.64.0.12}]
  - name: worker-3
    nics: [{shared: true, ip: 100.64.0.13}]
"#;

/// Where the three binaries are.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("E2E_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test executable> → target/<profile>
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    deps.parent().unwrap().to_path_buf()
}

/// The path of binary `name`, with a clear message when it was not built or is older than the
/// sources (`cargo test -p e2e` alone does not rebuild the other packages' binaries).
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    let rebuild = "run the suite with `cargo test --workspace` (which builds every binary) or \
                   build them first: `cargo build -p sacloud-sim -p fake-apiserver -p sakura-ccm`";
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} does not exist: {rebuild}", path.display()));
    if std::env::var_os("E2E_BIN_DIR").is_none() {
        // The crates each binary is built from (the controller links all of them).
        let crates: &[&str] = match name {
            "sacloud-sim" | "fake-apiserver" => &[name],
            _ => &[
                "sacloud",
                "sacloud-sim",
                "fake-apiserver",
                "cloud-provider",
                "sakura-ccm",
            ],
        };
        let sources = crates.iter().map(|c| newest_source(c)).max().unwrap();
        assert!(
            built >= sources,
            "{} is older than the sources: {rebuild}",
            path.display()
        );
    }
    path
}

/// The newest modification time among the sources of the workspace crate `name` (its tests
/// excluded: they are not part of the binary).
fn newest_source(name: &str) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack = vec![
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates")
            .join(name),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if path.file_name().is_some_and(|n| n != "tests") {
                    stack.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "toml" || e == "yaml")
                && let Ok(modified) = meta.modified()
            {
                newest = newest.max(modified);
            }
        }
    }
    newest
}

/// A fresh directory for one test's files (kubeconfig, scenario, logs).
pub fn test_dir(test: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sakura-e2e-{}-{}-{test}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `check` every 50 ms until it holds; fails the test after `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `get` until it returns `Some`; fails the test after `within`.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut get: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = get().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One test's world: the simulator and the API server running, controllers started on demand.
pub struct World {
    /// The test's directory.
    pub dir: PathBuf,
    /// The SAKURA Cloud simulator process.
    pub sim: Simulator,
    /// The fake API server process.
    pub api: ApiServer,
}

impl World {
    /// Starts the simulator with `scenario` (appliance boot `boot_delay`) and the API server.
    pub async fn start(test: &str, scenario: &str, boot_delay: Duration) -> World {
        World::start_with_sim_args(test, scenario, boot_delay, &[]).await
    }

    /// [`World::start`] with extra simulator arguments.
    pub async fn start_with_sim_args(
        test: &str,
        scenario: &str,
        boot_delay: Duration,
        sim_args: &[&str],
    ) -> World {
        let dir = test_dir(test);
        let sim = Simulator::start_with(&dir, scenario, boot_delay, sim_args);
        let api = ApiServer::start(&dir).await;
        World { dir, sim, api }
    }

    /// Starts a controller replica (leader election on, as deployed) named `name`.
    pub fn controller(&self, name: &str) -> Controller {
        Controller::start(&self.dir, name, &self.sim, &self.api, &[])
    }

    /// [`World::controller`] with extra arguments.
    pub fn controller_with(&self, name: &str, extra: &[&str]) -> Controller {
        Controller::start(&self.dir, name, &self.sim, &self.api, extra)
    }

    /// [`World::controller`] with extra environment variables (e.g. the cluster-wide
    /// `SAKURACLOUD_LOAD_BALANCERS_*` annotation defaults).
    pub fn controller_with_env(&self, name: &str, env: &[(&str, &str)]) -> Controller {
        Controller::start_with_env(&self.dir, name, &self.sim, &self.api, &[], env)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Kept after a failure: the processes' logs are there (their tails are printed).
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
