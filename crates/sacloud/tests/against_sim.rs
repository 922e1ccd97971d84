//! The client against the simulator: every operation (the Enhanced Load Balancer's included),
//! paging at scale, validation errors, lifecycle, fault injection. The two were written independently from the wire format, so a
//! shape mistake in either shows up here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use sacloud::api::common::Scope;
use sacloud::api::proxy_lb::ProxyLbHealthCheck;
use sacloud::{
    Availability, BindPort, Client, Config, Filter, HealthCheck, HealthCheckProtocol, Id,
    InstanceStatus, LoadBalancerCreate, LoadBalancerSettings, NicConnection, ProxyLbCertificate,
    ProxyLbCertificates, ProxyLbCreate, ProxyLbHealthCheckProtocol, ProxyLbPlan, ProxyLbRegion,
    ProxyLbServer, ProxyLbSettings, ProxyLbUpdate, ProxyMode, RealServer, RetryPolicy, Secret,
    ServerHealthStatus, SslPolicy, StringFlag, StringNumber, VirtualIpAddress, Zone,
};
use sacloud_sim::{ErrorRule, RunningSimulator, Scenario, Simulator};

const SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
  - name: other-router
    tags: ["web"]
switches:
  - name: private-net
    tags: ["@k8s"]
    network: 192.168.0.0/24
servers:
  - name: control-plane-1
    tags: ["@k8s", "control-plane"]
    plan: { cpu: 2, memory_gb: 4 }
    nics:
      - router: k8s-router
      - switch: private-net
        ip: 192.168.0.10
        prefix_len: 24
  - name: worker-1
    tags: ["@k8s"]
    plan: { cpu: 4, memory_gb: 8 }
    nics:
      - router: k8s-router
      - switch: private-net
        ip: 192.168.0.11
        prefix_len: 24
  - name: legacy
    status: down
    nics:
      - shared: true
"#;

async fn start(scenario: &str) -> RunningSimulator {
    Simulator::builder()
        .boot_delay(Duration::ZERO)
        .shutdown_delay(Duration::ZERO)
        .credentials("sim-token", "sim-secret")
        .scenario(Scenario::parse(scenario).unwrap())
        .start()
        .await
        .unwrap()
}

fn client_for(sim: &RunningSimulator) -> Client {
    let mut config = Config::new(sim.token(), sim.secret(), Zone::Is1a);
    config.api_root_url = sim.base_url();
    config.rate_limit.per_second = 0.0;
    config.retry = RetryPolicy {
        max_retries: 3,
        min_wait: Duration::from_millis(5),
        max_wait: Duration::from_millis(20),
    };
    Client::new(config).unwrap()
}

#[test]
fn auth_status_and_zones() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let status = client.auth_status().await.unwrap();
        assert!(status.is_api_key);
        assert!(status.can_create());

        let zones = client.find_zones().await.unwrap();
        let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        for zone in Zone::ALL {
            assert!(
                names.contains(&zone.name()),
                "{zone} missing from {names:?}"
            );
            let info = zones.iter().find(|z| z.name == zone.name()).unwrap();
            assert_eq!(info.id, Id(zone.id()), "{zone}");
            assert_eq!(
                info.region.as_ref().unwrap().id,
                Id(zone.region().id),
                "{zone}"
            );
        }
        let is1a = client.read_zone(Id(31001)).await.unwrap();
        assert_eq!(is1a.name, "is1a");

        let mut wrong = Config::new("sim-token", "wrong-secret", Zone::Is1a);
        wrong.api_root_url = sim.base_url();
        let err = Client::new(wrong).unwrap().auth_status().await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.error_code(), Some("unauthorized"));
        assert!(!err.to_string().contains("wrong-secret"));
    })
}

#[test]
fn servers_switches_and_routers() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);

        let all = client.find_servers(&Filter::new()).await.unwrap();
        assert_eq!(all.len(), 3);
        let k8s = client
            .find_servers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(k8s.len(), 2);
        let cp = client
            .find_servers(&Filter::new().tags_all(["@k8s", "control-plane"]))
            .await
            .unwrap();
        assert_eq!(cp.len(), 1);
        assert_eq!(cp[0].name, "control-plane-1");
        let by_name = client
            .find_servers(&Filter::new().name("worker"))
            .await
            .unwrap();
        assert_eq!(by_name.len(), 1);

        let worker = client.read_server(by_name[0].id).await.unwrap();
        assert!(worker.is_up());
        let plan = worker.server_plan.as_ref().unwrap();
        assert_eq!((plan.cpu, plan.memory_mb), (4, 8192));
        assert_eq!(worker.interfaces.len(), 2);
        assert_eq!(worker.interfaces[0].connection(), NicConnection::Router);
        let global = worker.interfaces[0].address().unwrap();
        assert!(
            (u32::from(Ipv4Addr::new(203, 0, 113, 20))..=u32::from(Ipv4Addr::new(203, 0, 113, 30)))
                .contains(&u32::from(global)),
            "{global}"
        );
        assert_eq!(worker.interfaces[1].connection(), NicConnection::Switch);
        assert_eq!(
            worker.interfaces[1].address(),
            Some(Ipv4Addr::new(192, 168, 0, 11))
        );

        let legacy = all.iter().find(|s| s.name == "legacy").unwrap();
        assert_eq!(legacy.status(), Some(&InstanceStatus::Down));
        assert_eq!(
            legacy.interfaces[0].connection(),
            NicConnection::SharedSegment
        );
        assert!(legacy.interfaces[0].address().is_some());

        let routers = client
            .find_internets(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(routers.len(), 1);
        let router = client.read_internet(routers[0].id).await.unwrap();
        assert_eq!(router.name, "k8s-router");
        assert_eq!(router.network_mask_len, Some(28));
        assert_eq!(router.switch.subnets[0].ip_addresses, None);

        let sw = client.read_switch(router.switch.id).await.unwrap();
        assert_eq!(sw.scope, Some(Scope::User));
        let subnet = &sw.subnets[0];
        assert_eq!(subnet.network_address, Some(Ipv4Addr::new(203, 0, 113, 16)));
        assert_eq!(subnet.default_route, Some(Ipv4Addr::new(203, 0, 113, 17)));
        let range: Vec<_> = subnet.ip_addresses.unwrap().addresses().collect();
        assert_eq!(range.first(), Some(&Ipv4Addr::new(203, 0, 113, 20)));
        assert_eq!(range.last(), Some(&Ipv4Addr::new(203, 0, 113, 30)));
        assert_eq!(sw.internet.as_ref().unwrap().id, router.id);

        let switches = client
            .find_switches(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        let names: Vec<&str> = switches.iter().map(|s| s.name.as_str()).collect();
        assert!(
            names.contains(&"private-net") && names.contains(&"k8s-router"),
            "{names:?}"
        );
        let plain = switches.iter().find(|s| s.name == "private-net").unwrap();
        assert!(plain.subnets.is_empty());
        assert!(plain.internet.is_none());

        let err = client.read_server(Id(999_999_999_999)).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
    })
}

#[test]
fn paging_through_5000_servers() {
    test_runtime::run(async {
        let mut yaml = String::from("servers:\n");
        for i in 0..5000 {
            yaml.push_str(&format!("  - {{name: node-{i:04}, tags: ['@k8s']}}\n"));
        }
        yaml.push_str("  - {name: not-ours}\n");
        let sim = start(&yaml).await;
        let mut config = client_for(&sim).config().clone();
        config.page_size = 500;
        let client = Client::new(config).unwrap();
        let started = Instant::now();
        let servers = client
            .find_servers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(servers.len(), 5000);
        let mut names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 5000);
        assert_eq!(sim.handle().count("GET", "server"), 10, "5000 / 500 pages");
        // Timing is reported, not asserted (see docs/benchmarks.md); run with --release to see
        // the figure quoted in docs/simulator.md.
        eprintln!("listed 5000 servers in {elapsed:?}");
    })
}

fn vip(ip: Ipv4Addr, port: u16, servers: &[Ipv4Addr]) -> VirtualIpAddress {
    VirtualIpAddress {
        virtual_ip_address: Some(ip),
        port: StringNumber::from(port),
        delay_loop: StringNumber(10),
        sorry_server: String::new(),
        description: String::new(),
        servers: servers
            .iter()
            .map(|s| RealServer {
                ip_address: Some(*s),
                port: StringNumber::from(port),
                health_check: HealthCheck {
                    protocol: HealthCheckProtocol::Http,
                    path: Some("/healthz".into()),
                    status: Some(StringNumber(200)),
                    port: Some(StringNumber(10256)),
                    ..HealthCheck::default()
                },
                enabled: StringFlag(true),
            })
            .collect(),
    }
}

async fn router_switch(client: &Client) -> sacloud::Switch {
    let routers = client
        .find_internets(&Filter::new().tags_all(["@k8s"]))
        .await
        .unwrap();
    client.read_switch(routers[0].switch.id).await.unwrap()
}

async fn worker_global_ips(client: &Client) -> Vec<Ipv4Addr> {
    client
        .find_servers(&Filter::new().tags_all(["@k8s"]))
        .await
        .unwrap()
        .iter()
        .filter_map(|s| s.interfaces.first().and_then(|n| n.address()))
        .collect()
}

fn create_request(
    switch: &sacloud::Switch,
    ips: Vec<Ipv4Addr>,
    settings: LoadBalancerSettings,
) -> LoadBalancerCreate {
    LoadBalancerCreate {
        name: "a0123456789abcdef0123456789abcde".into(),
        description: "default/web".into(),
        tags: vec!["@k8s".into(), "@k8s.ClusterID=test".into()],
        plan_id: 1,
        switch_id: switch.id,
        vrid: 1,
        network_mask_len: 28,
        default_route: switch.subnets[0].default_route,
        ip_addresses: ips,
        settings,
    }
}

#[test]
fn load_balancer_lifecycle() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let sw = router_switch(&client).await;
        let workers = worker_global_ips(&client).await;
        assert_eq!(workers.len(), 2);
        let appliance_ip = Ipv4Addr::new(203, 0, 113, 28);
        let vip_ip = Ipv4Addr::new(203, 0, 113, 29);
        let settings = LoadBalancerSettings {
            load_balancer: vec![vip(vip_ip, 80, &workers), vip(vip_ip, 443, &workers)],
        };

        let created = client
            .create_load_balancer(&create_request(&sw, vec![appliance_ip], settings.clone()))
            .await
            .unwrap();
        assert_eq!(created.class, "loadbalancer");
        assert_eq!(created.tags, ["@k8s", "@k8s.ClusterID=test"]);
        assert_eq!(created.remark.switch.id, sw.id);
        assert_eq!(created.remark.servers[0].ip_address, Some(appliance_ip));
        assert_eq!(created.virtual_ips(), [vip_ip]);
        assert_eq!(created.settings, settings);
        assert!(!created.settings_hash.is_empty());
        assert!(
            created.availability == Some(Availability::Migrating)
                || created.availability == Some(Availability::Available),
            "{:?}",
            created.availability
        );

        sim.handle().complete_transitions();
        let lb = client.read_load_balancer(created.id).await.unwrap();
        assert!(lb.is_ready(), "{:?} {:?}", lb.availability, lb.status());

        let found = client
            .find_load_balancers(&Filter::new().tags_all(["@k8s", "@k8s.ClusterID=test"]))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, created.id);
        assert!(
            client
                .find_load_balancers(&Filter::new().tags_all(["@k8s.ClusterID=other"]))
                .await
                .unwrap()
                .is_empty()
        );

        // Settings update with the current hash, then a stale one.
        let mut changed = settings.clone();
        changed.load_balancer.pop();
        let updated = client
            .update_load_balancer_settings(lb.id, &changed, Some(&lb.settings_hash))
            .await
            .unwrap();
        assert_eq!(updated.settings, changed);
        assert_ne!(updated.settings_hash, lb.settings_hash);
        let stale = client
            .update_load_balancer_settings(lb.id, &settings, Some(&lb.settings_hash))
            .await
            .unwrap_err();
        assert!(stale.is_conflict(), "{stale}");
        client.apply_load_balancer_config(lb.id).await.unwrap();

        let status = client.load_balancer_status(lb.id).await.unwrap();
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].virtual_ip_address, Some(vip_ip));
        assert_eq!(status[0].servers.len(), 2);
        assert!(
            status[0].servers.iter().all(|s| s.status == "UP"),
            "{status:?}"
        );

        let renamed = client
            .update_load_balancer(
                lb.id,
                &sacloud::LoadBalancerUpdate {
                    description: Some("renamed".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(renamed.description, "renamed");
        assert_eq!(
            renamed.settings, changed,
            "settings untouched by a description update"
        );

        // Booting a running appliance and deleting it while up are both refused.
        assert!(
            client
                .boot_load_balancer(lb.id)
                .await
                .unwrap_err()
                .is_conflict()
        );
        let refused = client.delete_load_balancer(lb.id).await.unwrap_err();
        assert_eq!(refused.status(), Some(409), "{refused}");

        client.shutdown_load_balancer(lb.id, true).await.unwrap();
        sim.handle().complete_transitions();
        let down = client.read_load_balancer(lb.id).await.unwrap();
        assert_eq!(down.status(), Some(&InstanceStatus::Down));
        assert!(
            client
                .shutdown_load_balancer(lb.id, true)
                .await
                .unwrap_err()
                .is_conflict()
        );
        client.delete_load_balancer(lb.id).await.unwrap();
        assert!(
            client
                .read_load_balancer(lb.id)
                .await
                .unwrap_err()
                .is_not_found()
        );
    })
}

#[test]
fn power_operations_while_migrating_are_still_creating() {
    test_runtime::run(async {
        let sim = Simulator::builder()
            .boot_delay(Duration::from_secs(3600))
            .credentials("sim-token", "sim-secret")
            .scenario(Scenario::parse(SCENARIO).unwrap())
            .start()
            .await
            .unwrap();
        let client = client_for(&sim);
        let sw = router_switch(&client).await;
        let lb = client
            .create_load_balancer(&create_request(
                &sw,
                vec![Ipv4Addr::new(203, 0, 113, 28)],
                LoadBalancerSettings::default(),
            ))
            .await
            .unwrap();
        assert_eq!(lb.availability, Some(Availability::Migrating));
        let err = client
            .shutdown_load_balancer(lb.id, true)
            .await
            .unwrap_err();
        assert!(err.is_still_creating(), "{err}");
        let err = client.boot_load_balancer(lb.id).await.unwrap_err();
        assert!(err.is_still_creating(), "{err}");
    })
}

#[test]
fn validation_errors_come_back_as_envelopes() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let sw = router_switch(&client).await;
        let workers = worker_global_ips(&client).await;
        let vip_ip = Ipv4Addr::new(203, 0, 113, 29);
        let ok_ip = vec![Ipv4Addr::new(203, 0, 113, 28)];

        // 21 VIP/port entries.
        let too_many = LoadBalancerSettings {
            load_balancer: (0..21).map(|p| vip(vip_ip, 8000 + p, &workers)).collect(),
        };
        let err = client
            .create_load_balancer(&create_request(&sw, ok_ip.clone(), too_many))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");

        // A real server outside the appliance's network: the message users search for.
        let outside = LoadBalancerSettings {
            load_balancer: vec![vip(vip_ip, 80, &[Ipv4Addr::new(192, 168, 0, 11)])],
        };
        let err = client
            .create_load_balancer(&create_request(&sw, ok_ip.clone(), outside))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("同一ネットワーク"), "{err}");

        // An appliance address already used by a server.
        let err = client
            .create_load_balancer(&create_request(
                &sw,
                vec![workers[0]],
                LoadBalancerSettings::default(),
            ))
            .await
            .unwrap_err();
        assert!(matches!(err.status(), Some(400 | 409)), "{err}");

        // Nothing was created by the failed attempts.
        assert!(
            client
                .find_load_balancers(&Filter::new())
                .await
                .unwrap()
                .is_empty()
        );
    })
}

#[test]
fn injected_faults_are_retried_and_counted() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        sim.handle()
            .add_error_rule(ErrorRule {
                status: 503,
                rate: 1.0,
                count: Some(2),
                method: Some("GET".into()),
                path_prefix: Some("server".into()),
                retry_after: None,
                error_code: None,
                message: None,
            })
            .unwrap();
        let servers = client.find_servers(&Filter::new()).await.unwrap();
        assert_eq!(servers.len(), 3);
        let counters = sim.handle().counters();
        let count = |status: u16| {
            counters
                .iter()
                .filter(|c| c.method == "GET" && c.path == "server" && c.status == status)
                .map(|c| c.count)
                .sum::<u64>()
        };
        assert_eq!(count(503), 2);
        assert_eq!(count(200), 1);

        sim.handle()
            .add_error_rule(ErrorRule {
                status: 429,
                rate: 1.0,
                count: Some(1),
                method: None,
                path_prefix: Some("auth-status".into()),
                retry_after: Some(1),
                error_code: None,
                message: None,
            })
            .unwrap();
        let mut config = client.config().clone();
        config.retry.max_retries = 0;
        let err = Client::new(config)
            .unwrap()
            .auth_status()
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    })
}

// ---------------------------------------------------------------------------------------------
// Enhanced Load Balancer (ProxyLB)

/// `openssl req -x509 -newkey ec … -subj "/O=sacloud-sim test/CN=www.example.com"
/// -addext "subjectAltName=DNS:www.example.com,DNS:example.com"`; a throwaway test key.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIB5zCCAY6gAwIBAgIUVH9o7e3fFGRJ9CyRMt7hgB5uQMYwCgYIKoZIzj0EAwIw
NTEZMBcGA1UECgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1w
bGUuY29tMB4XDTI2MTIwNjEwMDgzN1oXDTM2MTIwMzEwMDgzN1owNTEZMBcGA1UE
CgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG/zdjnPOopE88/4OpL0i6NAW1ER6Uzvj
o8lrM7j46P/sGuAX7eYBYOOT+kqJnonB5WWGWHatIEOTqeQlppDv1qN8MHowHQYD
VR0OBBYEFKWV//3D2vwvfa0wm8hR0P/8NuRRMB8GA1UdIwQYMBaAFKWV//3D2vwv
fa0wm8hR0P/8NuRRMA8GA1UdEwEB/wQFMAMBAf8wJwYDVR0RBCAwHoIPd3d3LmV4
YW1wbGUuY29tggtleGFtcGxlLmNvbTAKBggqhkjOPQQDAgNHADBEAiAGC9W61LuH
ms/zqhTo+Y6+/dmXpXwSNqTNCKlSi2WLbQIgbhbFdx8Ri/6ZO0yPDJJOjxl8HRQV
RSO8wGZQhSgY/c8=
-----END CERTIFICATE-----
";
/// `openssl req -x509 … -subj "/CN=api.example.net"` (no alternative names).
const TEST_CERT_2: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUfFXDVxg0BCzFsTQCo96aTnjtqcEwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPYXBpLmV4YW1wbGUubmV0MB4XDTI2MTIwNjEwMDgzOVoXDTM2
MTIwMzEwMDgzOVowGjEYMBYGA1UEAwwPYXBpLmV4YW1wbGUubmV0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAE477nZV3Q5+oUVDe1bYkSD1MBX9CsASdx2XaLAnfu
WmpsyFwVe4NtvHNlIwZ5Ihr6/qA/RfjOUmU9Q/IoiFcKHKNTMFEwHQYDVR0OBBYE
FNoUn+TZ//OmiklF30/K+QcOhKGnMB8GA1UdIwQYMBaAFNoUn+TZ//OmiklF30/K
+QcOhKGnMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAMbMUkYk
0I+gH6V6GQa6otc6RhgKtJk8AlxCqFVr2S35AiBYMyy7AaXKJ1vB7Qxo+CBlvL6h
FY8y1DF4apgKKYzmBw==
-----END CERTIFICATE-----
";
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgF/5FUs8Zb8cF2+15
Q/Yszk+tdDWqMthD+2m7vnJAZ1GhRANCAAQb/N2Oc86ikTzz/g6kvSLo0BbURHpT
O+OjyWszuPjo/+wa4Bft5gFg45P6SomeicHlZYZYdq0gQ5Op5CWmkO/W
-----END PRIVATE KEY-----
";
/// A line of the key, to look for in text that must not contain it.
const TEST_KEY_MATERIAL: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgF";

async fn start_for_proxy_lb() -> RunningSimulator {
    Simulator::builder()
        .boot_delay(Duration::ZERO)
        .shutdown_delay(Duration::ZERO)
        .lets_encrypt_delay(Duration::from_millis(300))
        .credentials("sim-token", "sim-secret")
        .start()
        .await
        .unwrap()
}

/// A client for another zone than `is1a`: the Enhanced Load Balancer calls must still go there.
fn tk1b_client(sim: &RunningSimulator) -> Client {
    let mut config = client_for(sim).config().clone();
    config.zone = Zone::Tk1b;
    Client::new(config).unwrap()
}

fn proxy_lb_settings() -> ProxyLbSettings {
    ProxyLbSettings {
        health_check: ProxyLbHealthCheck {
            protocol: ProxyLbHealthCheckProtocol::Http,
            path: Some("/healthz".into()),
            host: None,
            delay_loop: 10,
        },
        bind_ports: vec![
            BindPort {
                redirect_to_https: true,
                ..BindPort::new(ProxyMode::Http, 80)
            },
            BindPort {
                support_http2: true,
                ssl_policy: Some(SslPolicy::Tls13_2021_06),
                ..BindPort::new(ProxyMode::Https, 443)
            },
        ],
        servers: vec![
            ProxyLbServer::new(Ipv4Addr::new(203, 0, 113, 10), 30080),
            ProxyLbServer::new(Ipv4Addr::new(203, 0, 113, 11), 30080),
        ],
        ..ProxyLbSettings::default()
    }
}

/// Polls the certificates until `done` holds, for at most 10 s.
async fn wait_for_certificates(
    client: &Client,
    id: Id,
    done: impl Fn(&ProxyLbCertificates) -> bool,
) -> ProxyLbCertificates {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let certs = client.proxy_lb_certificates(id).await.unwrap();
        if done(&certs) {
            return certs;
        }
        assert!(
            Instant::now() < deadline,
            "no certificate within 10 s: {certs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn enhanced_load_balancer_lifecycle() {
    test_runtime::run(async {
        let sim = start_for_proxy_lb().await;
        let client = tk1b_client(&sim);
        let settings = proxy_lb_settings();

        // Create → read.
        let created = client
            .create_proxy_lb(&ProxyLbCreate {
                name: "svc-web".into(),
                description: "default/web".into(),
                tags: vec!["@k8s".into(), "@k8s.ClusterID=test".into()],
                plan: ProxyLbPlan::Cps100,
                region: ProxyLbRegion::Is1,
                use_vip_failover: true,
                settings: settings.clone(),
            })
            .await
            .unwrap();
        assert_eq!(created.settings, settings, "what was sent comes back");
        assert_eq!(created.plan(), Some(ProxyLbPlan::Cps100));
        assert_eq!(created.service_class, "cloud/proxylb/plain/100");
        assert!(created.is_available());
        assert_eq!(created.provider.class, "proxylb");
        assert!(created.status.use_vip_failover);
        assert_eq!(created.status.region, ProxyLbRegion::Is1);
        assert!(
            created.status.fqdn.ends_with(".sakura.ne.jp"),
            "{}",
            created.status.fqdn
        );
        assert!(!created.status.proxy_networks.is_empty());
        assert!(!created.settings_hash.is_empty());
        let read = client.read_proxy_lb(created.id).await.unwrap();
        assert_eq!(read, created);

        let found = client
            .find_proxy_lbs(&Filter::new().tags_all(["@k8s.ClusterID=test"]).name("web"))
            .await
            .unwrap();
        assert_eq!(found, std::slice::from_ref(&created));
        assert!(
            client
                .find_proxy_lbs(&Filter::new().name("nothing"))
                .await
                .unwrap()
                .is_empty()
        );

        // Update with the hash that was read; a stale hash is a conflict.
        let mut changed = read.settings.clone();
        changed.servers.pop();
        changed.timeout.inactive_sec = 30;
        changed.sticky_session.enabled = true;
        changed.sticky_session.method = Some("cookie".into());
        let updated = client
            .update_proxy_lb_settings(read.id, &changed, &read.settings_hash)
            .await
            .unwrap();
        assert_eq!(updated.settings, changed);
        assert_ne!(updated.settings_hash, read.settings_hash);
        let stale = client
            .update_proxy_lb_settings(read.id, &settings, &read.settings_hash)
            .await
            .unwrap_err();
        assert!(stale.is_conflict(), "{stale}");
        let renamed = client
            .update_proxy_lb(
                read.id,
                &ProxyLbUpdate {
                    description: Some("renamed".into()),
                    ..ProxyLbUpdate::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(renamed.description, "renamed");
        assert_eq!(renamed.settings, changed);

        // Plan change: a new ID, the old one is gone, everything else stays.
        let vip = client.proxy_lb_health(read.id).await.unwrap().current_vip;
        let moved = client
            .change_proxy_lb_plan(read.id, ProxyLbPlan::Cps500, &read.status.region)
            .await
            .unwrap();
        assert_ne!(moved.id, read.id);
        assert_eq!(moved.plan(), Some(ProxyLbPlan::Cps500));
        assert_eq!((&moved.name, &moved.tags), (&renamed.name, &renamed.tags));
        assert_eq!(moved.settings, changed);
        assert_eq!(moved.status.fqdn, read.status.fqdn);
        let old = client.read_proxy_lb(read.id).await.unwrap_err();
        assert!(old.is_not_found(), "{old}");
        let id = moved.id;

        // Health: every real server up; one taken down through the admin API.
        let health = client.proxy_lb_health(id).await.unwrap();
        assert_eq!(health.current_vip, vip);
        assert!(vip.is_some());
        assert_eq!(health.servers.len(), 1);
        assert!(health.servers.iter().all(|s| s.is_up()), "{health:?}");
        assert_eq!(health.servers[0].port, 30080);
        // (The handle runs the same code as `PUT /_sim/proxylbs/{id}/health`.)
        sim.handle()
            .set_proxylb_server_health(
                id.0,
                Ipv4Addr::new(203, 0, 113, 10),
                Some(30080),
                Some("down"),
            )
            .unwrap();
        let health = client.proxy_lb_health(id).await.unwrap();
        assert_eq!(health.servers[0].status, ServerHealthStatus::Down);
        assert_eq!(
            health.servers[0].ip_address,
            Some(Ipv4Addr::new(203, 0, 113, 10))
        );

        // Certificates: none (the API's `""` quirk), set, read, delete.
        let none = client.proxy_lb_certificates(id).await.unwrap();
        assert_eq!(none, ProxyLbCertificates::default());
        let primary = ProxyLbCertificate::new(TEST_CERT, "", Secret::new(TEST_KEY));
        let extra = ProxyLbCertificate::new(TEST_CERT_2, "", Secret::new(TEST_KEY));
        assert!(!format!("{primary:?}").contains(TEST_KEY_MATERIAL));
        let set = client
            .set_proxy_lb_certificates(id, &primary, std::slice::from_ref(&extra))
            .await
            .unwrap();
        let p = set.primary.as_ref().unwrap();
        assert_eq!(p.certificate_common_name, "www.example.com");
        assert_eq!(p.certificate_alt_names, "www.example.com,example.com");
        assert_eq!(p.certificate_end_date, "Dec  3 10:08:37 2036 GMT");
        assert_eq!(set.additional.len(), 1);
        assert_eq!(set.additional[0].certificate_common_name, "api.example.net");
        let only_primary = client
            .set_proxy_lb_certificates(id, &primary, &[])
            .await
            .unwrap();
        assert!(
            only_primary.additional.is_empty(),
            "AdditionalCerts \"\" reads as empty"
        );
        assert_eq!(
            client.proxy_lb_certificates(id).await.unwrap(),
            only_primary
        );
        client.delete_proxy_lb_certificates(id).await.unwrap();
        assert_eq!(
            client.proxy_lb_certificates(id).await.unwrap(),
            ProxyLbCertificates::default()
        );

        // Let's Encrypt: refused until enabled, then the certificate appears after the delay.
        let refused = client.renew_proxy_lb_lets_encrypt(id).await.unwrap_err();
        assert_eq!(refused.status(), Some(400), "{refused}");
        let mut with_acme = moved.settings.clone();
        with_acme.lets_encrypt.enabled = true;
        with_acme.lets_encrypt.common_name = "www.example.com".into();
        with_acme.lets_encrypt.subject_alt_names =
            vec!["a.example.com".into(), "b.example.com".into()];
        let acme = client
            .update_proxy_lb_settings(id, &with_acme, &moved.settings_hash)
            .await
            .unwrap();
        assert_eq!(acme.settings.lets_encrypt, with_acme.lets_encrypt);
        client.renew_proxy_lb_lets_encrypt(id).await.unwrap();
        let issued = wait_for_certificates(&client, id, |c| c.primary.is_some()).await;
        let p = issued.primary.unwrap();
        assert_eq!(p.certificate_common_name, "www.example.com");
        assert_eq!(
            p.certificate_alt_names,
            "www.example.com,a.example.com,b.example.com"
        );

        // Delete.
        client.delete_proxy_lb(id).await.unwrap();
        assert!(client.read_proxy_lb(id).await.unwrap_err().is_not_found());
        assert!(
            client
                .find_proxy_lbs(&Filter::new())
                .await
                .unwrap()
                .is_empty()
        );

        // Every call went to is1a, although the client's zone is tk1b.
        let log = sim.handle().request_log();
        assert!(log.iter().any(|e| e.path.starts_with("commonserviceitem")));
        for e in &log {
            assert_eq!(e.zone, "is1a", "{e:?}");
        }
    })
}

#[test]
fn enhanced_load_balancer_paging_faults_and_secret_keys() {
    test_runtime::run(async {
        let sim = start_for_proxy_lb().await;
        let mut yaml = String::from("proxylbs:\n");
        for i in 0..5 {
            yaml.push_str(&format!("  - {{name: plb-{i}, tags: ['@k8s']}}\n"));
        }
        sim.handle()
            .load_scenario(&Scenario::parse(&yaml).unwrap())
            .unwrap();
        let mut config = tk1b_client(&sim).config().clone();
        config.page_size = 2;
        let client = Client::new(config).unwrap();
        let all = client
            .find_proxy_lbs(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(
            sim.handle().count("GET", "commonserviceitem"),
            3,
            "pages of 2"
        );
        let query = sim.handle().request_log()[0].path.clone();
        assert_eq!(query, "commonserviceitem");

        // 503 on the health endpoint is retried.
        sim.handle()
            .add_error_rule(ErrorRule {
                status: 503,
                rate: 1.0,
                count: Some(2),
                method: Some("GET".into()),
                path_prefix: Some("commonserviceitem".into()),
                retry_after: None,
                error_code: None,
                message: None,
            })
            .unwrap();
        let health = client.proxy_lb_health(all[0].id).await.unwrap();
        assert_eq!(health.servers.len(), 0);

        // A plan change is never repeated: its first attempt may have moved the item.
        sim.handle()
            .add_error_rule(ErrorRule {
                status: 503,
                rate: 1.0,
                count: Some(1),
                method: Some("PUT".into()),
                path_prefix: Some("commonserviceitem".into()),
                retry_after: None,
                error_code: None,
                message: None,
            })
            .unwrap();
        let err = client
            .change_proxy_lb_plan(all[0].id, ProxyLbPlan::Cps1000, &ProxyLbRegion::Is1)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(503));
        assert_eq!(sim.handle().count("PUT", "commonserviceitem/{id}/plan"), 1);

        // An error that repeats the uploaded key does not carry it.
        sim.handle()
            .add_error_rule(ErrorRule {
                status: 400,
                rate: 1.0,
                count: Some(1),
                method: Some("PUT".into()),
                path_prefix: Some("commonserviceitem".into()),
                retry_after: None,
                error_code: Some("bad_request".into()),
                message: Some(format!("invalid key: {TEST_KEY}")),
            })
            .unwrap();
        let cert = ProxyLbCertificate::new(TEST_CERT, "", Secret::new(TEST_KEY));
        let err = client
            .set_proxy_lb_certificates(all[0].id, &cert, &[])
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        for text in [err.to_string(), format!("{err:?}"), err.summary()] {
            assert!(!text.contains(TEST_KEY_MATERIAL), "{text}");
        }
    })
}

#[test]
fn zone_views_and_bridges() {
    test_runtime::run(async {
        let sim = start(
            "
switches:
  - {name: k8s, zone: is1a}
  - {name: k8s, zone: is1b}
servers:
  - {name: b1, zone: is1b, nics: [{switch: k8s}]}
",
        )
        .await;
        let client = client_for(&sim);
        let is1b = client.in_zone(Zone::Is1b);
        assert_eq!(is1b.zone(), Zone::Is1b);
        assert_eq!(
            client.zone(),
            Zone::Is1a,
            "a view leaves the client as it is"
        );
        assert!(is1b.base_url().ends_with("/is1b/api/cloud/1.1"));
        assert!(
            client
                .find_servers(&Filter::new())
                .await
                .unwrap()
                .is_empty()
        );
        let servers = is1b.find_servers(&Filter::new()).await.unwrap();
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].zone.as_ref().unwrap().name, "is1b");

        let a = client.find_switches(&Filter::new()).await.unwrap()[0].clone();
        let b = is1b.find_switches(&Filter::new()).await.unwrap()[0].clone();
        assert_eq!(a.bridge, None);
        let bridge = client
            .create_bridge(&sacloud::api::bridge::BridgeCreate {
                name: "k8s".into(),
                description: String::new(),
            })
            .await
            .unwrap();
        client
            .connect_switch_to_bridge(a.id, bridge.id)
            .await
            .unwrap();
        is1b.connect_switch_to_bridge(b.id, bridge.id)
            .await
            .unwrap();
        let read = is1b.read_switch(b.id).await.unwrap();
        assert_eq!(read.bridge.map(|r| r.id), Some(bridge.id));
        let listed = is1b.find_bridges(&Filter::new()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].switches().len(), 2);
        assert_eq!(listed[0].switch_in_zone.as_ref().map(|s| s.id), Some(b.id));
        assert_eq!(
            client
                .read_bridge(bridge.id)
                .await
                .unwrap()
                .switch_in_zone
                .map(|s| s.id),
            Some(a.id)
        );
        let err = client
            .connect_switch_to_bridge(a.id, bridge.id)
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err}");
        client.disconnect_switch_from_bridge(a.id).await.unwrap();
        is1b.disconnect_switch_from_bridge(b.id).await.unwrap();
        client.delete_bridge(bridge.id).await.unwrap();
        sim.shutdown().await;
    })
}
