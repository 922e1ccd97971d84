//! The `sacloud-sim` process: the SAKURA Cloud API as the controller sees it, read with the
//! typed `sacloud` client, and the simulator's admin API (`/_sim/`) to change the world and
//! inject faults.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sacloud::{Client, Config, Filter, Id, LoadBalancer, ProxyLb, RetryPolicy, Server, Zone};
use serde_json::Value;

use crate::{Process, binary};

/// The simulator's credentials (its defaults).
const TOKEN: &str = "e2e-token";
const SECRET: &str = "e2e-secret";

/// A running `sacloud-sim`.
pub struct Simulator {
    /// The process.
    pub process: Process,
    /// Base URL (`SAKURACLOUD_API_ROOT_URL`).
    pub url: String,
    /// Access token.
    pub token: String,
    /// Access token secret.
    pub secret: String,
    cloud: Client,
    http: reqwest::Client,
}

impl Simulator {
    /// Starts the simulator with `scenario` (YAML) and the given appliance boot time.
    pub fn start(dir: &Path, scenario: &str, boot_delay: Duration) -> Simulator {
        Simulator::start_with(dir, scenario, boot_delay, &[])
    }

    /// [`Simulator::start`] with extra command-line arguments (e.g. `--permission=view`).
    pub fn start_with(
        dir: &Path,
        scenario: &str,
        boot_delay: Duration,
        extra: &[&str],
    ) -> Simulator {
        // reqwest is built without a default crypto provider (one provider per binary): ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let file = dir.join("scenario.yaml");
        std::fs::write(&file, scenario).unwrap();
        let mut cmd = Command::new(binary("sacloud-sim"));
        cmd.env_clear()
            .args(["--listen", "127.0.0.1:0", "--shutdown-delay", "200ms"])
            .arg(format!("--boot-delay={}ms", boot_delay.as_millis()))
            .arg(format!("--scenario={}", file.display()))
            // Fault rates and error serials reproducible from run to run.
            .args(["--seed", "2026"])
            .args(["--token", TOKEN, "--secret", SECRET, "--log", "warn"])
            .args(extra);
        let (process, line) = Process::spawn_reading_first_line(dir, "sacloud-sim", cmd);
        let url = line
            .strip_prefix("sacloud-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from sacloud-sim: {line}"))
            .trim()
            .to_owned();
        let mut config = Config::new(TOKEN, SECRET, Zone::Is1a);
        config.api_root_url = url.clone();
        config.rate_limit.per_second = 0.0;
        // The tests' own reads ride through injected faults.
        config.retry = RetryPolicy {
            max_retries: 10,
            min_wait: Duration::from_millis(5),
            max_wait: Duration::from_millis(50),
        };
        Simulator {
            process,
            url,
            token: TOKEN.to_owned(),
            secret: SECRET.to_owned(),
            cloud: Client::new(config).unwrap(),
            http: reqwest::Client::new(),
        }
    }

    /// Every load-balancer appliance in the zone (is1a).
    pub async fn load_balancers(&self) -> Vec<LoadBalancer> {
        self.load_balancers_in(Zone::Is1a).await
    }

    /// Every load-balancer appliance in `zone`.
    pub async fn load_balancers_in(&self, zone: Zone) -> Vec<LoadBalancer> {
        self.cloud
            .in_zone(zone)
            .find_load_balancers(&Filter::new())
            .await
            .unwrap()
    }

    /// The only appliance in the zone, if exactly one exists.
    pub async fn the_load_balancer(&self) -> Option<LoadBalancer> {
        let mut lbs = self.load_balancers().await;
        (lbs.len() == 1).then(|| lbs.remove(0))
    }

    /// Every Enhanced Load Balancer of the account (`commonserviceitem`; global).
    pub async fn enhanced_load_balancers(&self) -> Vec<ProxyLb> {
        self.cloud.find_proxy_lbs(&Filter::new()).await.unwrap()
    }

    /// The only Enhanced Load Balancer, if exactly one exists.
    pub async fn the_enhanced_load_balancer(&self) -> Option<ProxyLb> {
        let mut items = self.enhanced_load_balancers().await;
        (items.len() == 1).then(|| items.remove(0))
    }

    /// The VIP clients reach on the Enhanced Load Balancer `id` (its health view's
    /// `CurrentVIP`).
    pub async fn enhanced_vip(&self, id: Id) -> Option<Ipv4Addr> {
        self.cloud.proxy_lb_health(id).await.unwrap().current_vip
    }

    /// The server named `name` (in is1a).
    pub async fn server(&self, name: &str) -> Server {
        self.server_in(Zone::Is1a, name).await
    }

    /// The server named `name` in `zone`.
    pub async fn server_in(&self, zone: Zone, name: &str) -> Server {
        self.cloud
            .in_zone(zone)
            .find_servers(&Filter::new())
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no server {name} in {zone}"))
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/_sim/{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "{method} /_sim/{path}: {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Removes the server (as deleting it in the control panel would).
    pub async fn remove_server(&self, name: &str) {
        let id = self.server(name).await.id;
        self.admin(reqwest::Method::DELETE, &format!("servers/{id}"), None)
            .await;
    }

    /// Powers the server off (settled at once).
    pub async fn power_off(&self, name: &str) {
        let id = self.server(name).await.id;
        self.admin(
            reqwest::Method::PUT,
            &format!("servers/{id}/power"),
            Some(serde_json::json!({"status": "down"})),
        )
        .await;
    }

    /// Adds an error rule (see docs/simulator.md, "Faults").
    pub async fn add_error_rule(&self, rule: Value) {
        self.admin(reqwest::Method::POST, "faults/errors", Some(rule))
            .await;
    }

    /// Adds a latency rule.
    pub async fn add_latency_rule(&self, rule: Value) {
        self.admin(reqwest::Method::POST, "faults/latency", Some(rule))
            .await;
    }

    /// Removes every fault rule.
    pub async fn clear_faults(&self) {
        self.admin(reqwest::Method::DELETE, "faults", None).await;
    }

    /// The last requests the simulator served: `(method, template, status, injected)`.
    pub async fn requests(&self) -> Vec<(String, String, u16, bool)> {
        let log = self.admin(reqwest::Method::GET, "requests", None).await;
        log.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or_default().to_owned(),
                    r["template"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_u64().unwrap_or_default() as u16,
                    r["injected"].as_bool().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// How many requests with `method` on the path template `template` got a 2xx answer.
    pub async fn successful(&self, method: &str, template: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|(m, t, s, _)| m == method && t == template && (200..300).contains(s))
            .count()
    }
}

/// The real servers' addresses of an appliance (from its first virtual IP; every port has the
/// same set).
pub fn real_servers(lb: &LoadBalancer) -> Vec<Ipv4Addr> {
    let mut ips: Vec<Ipv4Addr> = lb
        .settings
        .load_balancer
        .first()
        .map(|v| v.servers.iter().filter_map(|s| s.ip_address).collect())
        .unwrap_or_default();
    ips.sort();
    ips
}

/// The real servers of an Enhanced Load Balancer as (address, port), sorted.
pub fn enhanced_real_servers(item: &ProxyLb) -> Vec<(Ipv4Addr, u16)> {
    let mut servers: Vec<(Ipv4Addr, u16)> = item
        .settings
        .servers
        .iter()
        .filter_map(|s| Some((s.ip_address?, s.port)))
        .collect();
    servers.sort();
    servers
}

/// Parses dotted quads for comparisons.
pub fn ips(list: &[&str]) -> Vec<Ipv4Addr> {
    let mut ips: Vec<Ipv4Addr> = list.iter().map(|s| s.parse().unwrap()).collect();
    ips.sort();
    ips
}
