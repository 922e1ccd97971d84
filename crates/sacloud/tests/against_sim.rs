//! The client against the simulator: every operation, paging at scale, validation errors,
//! lifecycle, fault injection. The two were written independently from the wire format, so a
//! shape mistake in either shows up here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use sacloud::api::common::Scope;
use sacloud::{
    Availability, Client, Config, Filter, HealthCheck, HealthCheckProtocol, Id, InstanceStatus,
    LoadBalancerCreate, LoadBalancerSettings, NicConnection, RealServer, RetryPolicy, StringFlag,
    StringNumber, VirtualIpAddress, Zone,
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

#[tokio::test]
async fn auth_status_and_zones() {
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
}

#[tokio::test]
async fn servers_switches_and_routers() {
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
}

#[tokio::test]
async fn paging_through_5000_servers() {
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
                status: None,
                active_conn: None,
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

#[tokio::test]
async fn load_balancer_lifecycle() {
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
}

#[tokio::test]
async fn power_operations_while_migrating_are_still_creating() {
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
}

#[tokio::test]
async fn validation_errors_come_back_as_envelopes() {
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
}

#[tokio::test]
async fn injected_faults_are_retried_and_counted() {
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
}
