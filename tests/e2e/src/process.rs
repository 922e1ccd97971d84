//! Child processes: started with a clean environment, output in a log file, killed on drop.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{ApiServer, CLUSTER_ID, Simulator, binary};

/// A running child process whose stderr (and, unless read by the harness, stdout) goes to
/// `<dir>/<name>.log`.
pub struct Process {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Spawns `cmd` with stdout and stderr to the log file.
    pub fn spawn(dir: &Path, name: &str, mut cmd: Command) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = File::create(&log).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            name: name.to_owned(),
            child: Some(child),
            log,
        }
    }

    /// Spawns `cmd` with stderr to the log file and returns the first line it prints on stdout
    /// (the listening URL, for the simulator and the API server).
    pub fn spawn_reading_first_line(dir: &Path, name: &str, mut cmd: Command) -> (Process, String) {
        let log = dir.join(format!("{name}.log"));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let process = Process {
            name: name.to_owned(),
            child: Some(child),
            log,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} printed nothing: {}", process.log_text()));
        (process, line)
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// User plus system CPU time the process has used so far (from `/proc`).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let after_name = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SECOND)
    }

    /// Everything the process logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn sigkill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then waits up to `within` for the exit status.
    pub fn sigterm(&mut self, within: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {} failed", self.pid());
        self.wait_exit(within)
    }

    /// Waits up to `within` for the process to exit on its own.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {within:?}: {}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!(
                "---- last lines of {} ({}) ----",
                self.name,
                self.log.display()
            );
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// `USER_HZ`, the unit of `/proc/<pid>/stat` times: 100 on every Linux architecture we run on.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lease timings short enough for tests and valid for the binary's checks
/// (duration > deadline > 1.2 × retry).
pub const LEASE_DURATION: Duration = Duration::from_secs(4);
/// Leader election retry period used by the replicas.
pub const RETRY_PERIOD: Duration = Duration::from_millis(500);

/// One `sakura-cloud-controller-manager` replica: the real binary, configured as the Helm chart
/// configures it (environment for the cloud, flags for Kubernetes), with test timings.
pub struct Controller {
    /// The process.
    pub process: Process,
    /// The port serving `/healthz`, `/readyz` and `/metrics` (HTTPS, self-signed).
    pub port: u16,
}

impl Controller {
    /// Starts a replica named `name` against `sim` and `api`.
    pub fn start(
        dir: &Path,
        name: &str,
        sim: &Simulator,
        api: &ApiServer,
        extra: &[&str],
    ) -> Controller {
        Controller::start_with_env(dir, name, sim, api, extra, &[])
    }

    /// [`Controller::start`] with extra environment variables.
    pub fn start_with_env(
        dir: &Path,
        name: &str,
        sim: &Simulator,
        api: &ApiServer,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Controller {
        let port = free_port();
        let mut cmd = Command::new(binary("sakura-cloud-controller-manager"));
        cmd.env_clear()
            .env("SAKURACLOUD_ACCESS_TOKEN", &sim.token)
            .env("SAKURACLOUD_ACCESS_TOKEN_SECRET", &sim.secret)
            .env("SAKURACLOUD_ZONE", "is1a")
            .env("SAKURACLOUD_API_ROOT_URL", &sim.url)
            .env("SAKURACLOUD_CLUSTER_ID", CLUSTER_ID)
            .env("RUST_LOG", "info")
            .args([
                "--cloud-provider=sakuracloud",
                "--leader-elect=true",
                "--leader-elect-lease-duration=4s",
                "--leader-elect-renew-deadline=3s",
                "--leader-elect-retry-period=500ms",
                "--node-status-update-frequency=1s",
                "--node-monitor-period=200ms",
                "--bind-address=127.0.0.1",
            ])
            .arg(format!("--kubeconfig={}", api.kubeconfig.display()))
            .arg(format!("--secure-port={port}"))
            .args(extra)
            .envs(env.iter().copied());
        Controller {
            process: Process::spawn(dir, name, cmd),
            port,
        }
    }

    /// Whether this replica has logged that it leads.
    pub fn leads(&self) -> bool {
        self.process.log_text().contains("became leader")
    }

    /// The `/metrics` text (OpenMetrics), or `None` while it is not serving.
    pub async fn metrics(&self) -> Option<String> {
        let client = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let response = client
            .get(format!("https://127.0.0.1:{}/metrics", self.port))
            .send()
            .await
            .ok()?;
        response.text().await.ok()
    }
}

/// The sum of the samples of metric `name` whose labels contain `label` (`""` for all).
pub fn metric_sum(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
