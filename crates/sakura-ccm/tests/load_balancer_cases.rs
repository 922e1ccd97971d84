#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

//! Load-balancer cases through the running controller manager (the binary's controllers with
//! the SAKURA provider) against the simulator and the fake API server: network selection,
//! annotations, addresses, limits, crash safety, adoption, ownership and faults.

mod support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use cloud_provider::provider::{LoadBalancer as _, ProviderErrorKind};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use sacloud::{Filter, LoadBalancer};
use sacloud_sim::{LatencyRule, Scenario};
use sakura_ccm::provider::load_balancers::SakuraLoadBalancers;
use sakura_ccm::provider::naming::appliance_name;
use serde_json::{Value, json};
use support::{
    CLUSTER_ID, CONVERGE, Cluster, SCENARIO, eventually, ips, real_servers, start_with_nodes,
    wait_initialized,
};

const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];
/// Their addresses in [`SCENARIO`].
const WORKER_IPS: [&str; 3] = ["203.0.113.21", "203.0.113.22", "203.0.113.23"];

/// A switch+router tagged `@k8s` with a /26 (`203.0.113.64/26`: gateway .65, assignable
/// .68–.126) and three workers on it (.68, .69, .70): room for many appliances.
const SCENARIO_26: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 26
    network: 203.0.113.64/26
servers:
  - name: worker-1
    nics:
      - router: k8s-router
        ip: 203.0.113.68
  - name: worker-2
    nics:
      - router: k8s-router
        ip: 203.0.113.69
  - name: worker-3
    nics:
      - router: k8s-router
        ip: 203.0.113.70
"#;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The appliance's own addresses (`Remark.Servers`).
fn own_ips(lb: &LoadBalancer) -> Vec<Ipv4Addr> {
    lb.remark
        .servers
        .iter()
        .filter_map(|s| s.ip_address)
        .collect()
}

/// The appliance carrying the Service's UID tag.
async fn lb_of(cluster: &Cluster, uid: &str) -> Option<LoadBalancer> {
    let tag = format!("@k8s.ServiceUID={uid}");
    cluster
        .load_balancers()
        .await
        .into_iter()
        .find(|lb| lb.tags.contains(&tag))
}

/// Registers a Node as an earlier CCM run left it: initialized (provider ID, no taint) with
/// the addresses the CCM gives it (`internal` first, then `external`, then the name), so a
/// controller started now sees its address at once.
async fn add_initialized_node(cluster: &Cluster, name: &str, internal: &str, external: &str) {
    let server = cluster.server(name).await;
    cluster
        .api
        .store()
        .create(
            "nodes",
            None,
            json!({
                "metadata": {"name": name},
                "spec": {"providerID": format!("sakuracloud://{}", server.id)},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [
                        {"type": "InternalIP", "address": internal},
                        {"type": "ExternalIP", "address": external},
                        {"type": "Hostname", "address": name}
                    ]
                }
            }),
        )
        .unwrap();
}

/// The three workers of [`SCENARIO`], initialized (worker-1 also has a private address).
async fn add_initialized_workers(cluster: &Cluster) {
    add_initialized_node(cluster, "worker-1", "192.168.0.11", WORKER_IPS[0]).await;
    add_initialized_node(cluster, "worker-2", WORKER_IPS[1], WORKER_IPS[1]).await;
    add_initialized_node(cluster, "worker-3", WORKER_IPS[2], WORKER_IPS[2]).await;
}

/// Waits for a Warning with `reason` about `name`; returns its note.
async fn warning(cluster: &Cluster, name: &str, reason: &str) -> String {
    let note = cluster.wait_for_event(name, reason).await;
    let events = cluster.events_about(name).await;
    assert!(
        events
            .iter()
            .filter(|(_, r, _)| r == reason)
            .all(|(t, _, _)| t == "Warning"),
        "{events:?}"
    );
    note
}

/// Waits until the simulator has served at least `n` requests `method template` (counted
/// since the last clear): proof that the controller came back (retried) in between.
async fn wait_for_requests(cluster: &Cluster, method: &str, template: &str, n: u64) {
    eventually(&format!("{n} × {method} {template}"), CONVERGE, || async {
        cluster.sim.handle().count(method, template) >= n
    })
    .await;
}

/// Number of events with `reason` about `name` (a repeated event is one series, one object).
async fn events_with_reason(cluster: &Cluster, name: &str, reason: &str) -> usize {
    cluster
        .events_about(name)
        .await
        .iter()
        .filter(|(_, r, _)| r == reason)
        .count()
}

/// How often events with `reason` about `name` occurred (a series counts its repeats).
async fn occurrences(cluster: &Cluster, name: &str, reason: &str) -> i32 {
    let events: Api<Event> = Api::all(cluster.kube.clone());
    events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                && e.reason.as_deref() == Some(reason)
        })
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum()
}

/// Non-GET requests the simulator logged on `appliance/<id>` or below it.
fn writes_on(cluster: &Cluster, id: u64) -> Vec<String> {
    let path = format!("appliance/{id}");
    cluster
        .sim
        .handle()
        .request_log()
        .into_iter()
        .filter(|e| {
            e.method != "GET" && (e.path == path || e.path.starts_with(&format!("{path}/")))
        })
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Adds `spec` (a JSON scenario) to the running simulator; returns the created appliance IDs.
fn load(cluster: &Cluster, spec: &Value) -> Vec<u64> {
    cluster
        .sim
        .handle()
        .load_scenario(&Scenario::parse(&spec.to_string()).unwrap())
        .unwrap()
        .appliances
}

// ---- 1. network selection ----

/// No router carries `@k8s`: a Warning `NetworkNotFound`, nothing created, no external IP, also
/// after retries.
#[test]
fn no_router_tagged_k8s_is_network_not_found_and_creates_nothing() {
    test_runtime::run_multi(async {
        let scenario = r#"
routers:
  - name: untagged-router
    tags: ["prod"]
    network: 203.0.113.16/28
servers:
  - name: worker-1
    nics: [{router: untagged-router, ip: 203.0.113.20}]
"#;
        let cluster = start_with_nodes(scenario, &["worker-1"], &[]).await;
        cluster.add_service("web", &[], &[80]);

        let note = warning(&cluster, "web", "NetworkNotFound").await;
        assert!(
            note.contains("no switch+router in this zone has the tag @k8s"),
            "{note}"
        );
        // The controller tries again (backoff 50 ms in tests): still nothing.
        wait_for_requests(&cluster, "GET", "internet", 3).await;
        assert!(cluster.load_balancers().await.is_empty());
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 0);
        assert_eq!(cluster.ingress_ip("web").await, None);
        assert_eq!(
            events_with_reason(&cluster, "web", "EnsuredLoadBalancer").await,
            0
        );
    })
}

/// Two routers tagged `@k8s` and no selector: `AmbiguousNetwork` naming both (name and ID) and
/// the selector annotation, nothing created. With `router-selector` naming the second router's
/// extra tag, the appliance goes on that router's switch with a VIP from its range.
#[test]
fn two_tagged_routers_are_ambiguous_until_a_router_selector_picks_one() {
    test_runtime::run_multi(async {
        let scenario = r#"
routers:
  - name: router-a
    tags: ["@k8s", "prod"]
    network: 203.0.113.16/28
  - name: router-b
    tags: ["@k8s", "staging"]
    network: 203.0.113.32/28
servers:
  - name: worker-1
    nics: [{router: router-a, ip: 203.0.113.20}]
  - name: worker-2
    nics: [{router: router-b, ip: 203.0.113.36}]
"#;
        let cluster = start_with_nodes(scenario, &["worker-1", "worker-2"], &[]).await;
        let routers = cluster.cloud.find_internets(&Filter::new()).await.unwrap();
        let router = |name: &str| routers.iter().find(|r| r.name == name).unwrap().clone();
        let (a, b) = (router("router-a"), router("router-b"));

        cluster.add_service("web", &[], &[80]);
        let note = warning(&cluster, "web", "AmbiguousNetwork").await;
        for part in [
            format!("\"router-a\" (ID {})", a.id),
            format!("\"router-b\" (ID {})", b.id),
            "k8s.usacloud.jp/router-selector".to_owned(),
        ] {
            assert!(note.contains(&part), "{part:?} missing from: {note}");
        }
        wait_for_requests(&cluster, "GET", "internet", 3).await;
        assert!(cluster.load_balancers().await.is_empty());
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 0);
        assert_eq!(cluster.ingress_ip("web").await, None);

        cluster.patch_service(
            "web",
            json!({"metadata": {"annotations": {"k8s.usacloud.jp/router-selector": "staging"}}}),
        );
        // router-b: .36 is worker-2's; the appliance takes .37, the VIP is .38.
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.38");
        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1);
        let lb = &lbs[0];
        assert_eq!(lb.remark.switch.id, b.switch.id);
        assert_eq!(own_ips(lb), ips(&["203.0.113.37"]));
        assert_eq!(lb.remark.network.network_mask_len, 28);
        assert_eq!(lb.remark.network.default_route, Some(ip("203.0.113.33")));
        // Only worker-2 is in router-b's network.
        eventually("worker-2 is the real server", CONVERGE, || async {
            real_servers(&cluster.load_balancers().await[0]) == ips(&["203.0.113.36"])
        })
        .await;
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 1);
    })
}

// ---- 3. invalid annotations ----

/// Every invalid annotation is named, with what is accepted, in one `InvalidAnnotation`
/// Warning; nothing is created for that Service; another Service still gets its IP.
#[test]
fn invalid_annotations_are_reported_together_and_other_services_are_unaffected() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        cluster.add_service(
            "bad",
            &[
                ("k8s.usacloud.jp/load-balancer-ha", "yes"),
                ("k8s.usacloud.jp/load-balancer-plan", "gold"),
                ("k8s.usacloud.jp/load-balancer-healthz-interval", "5"),
            ],
            &[80],
        );
        let good_uid = cluster.add_service("good", &[], &[80]);

        let note = warning(&cluster, "bad", "InvalidAnnotation").await;
        for part in [
            "k8s.usacloud.jp/load-balancer-ha=\"yes\": not a boolean; accepted: true or false",
            "k8s.usacloud.jp/load-balancer-plan=\"gold\": unknown value; accepted: standard or premium",
            "k8s.usacloud.jp/load-balancer-healthz-interval=\"5\": out of range; accepted: a whole number of seconds from 10 to 60",
        ] {
            assert!(note.contains(part), "{part:?} missing from: {note}");
        }

        // Servers use .20–.23: the good Service's appliance takes .24, its VIP is .25.
        assert_eq!(cluster.wait_for_ingress("good").await, "203.0.113.25");
        // The bad one is tried again (its Warning repeats as one series) and stays as it is.
        eventually("the bad Service is tried again", CONVERGE, || async {
            occurrences(&cluster, "bad", "InvalidAnnotation").await >= 2
        })
        .await;
        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1, "{lbs:?}");
        assert!(lbs[0].tags.contains(&format!("@k8s.ServiceUID={good_uid}")));
        assert_eq!(cluster.ingress_ip("bad").await, None);
        assert_eq!(
            events_with_reason(&cluster, "bad", "InvalidAnnotation").await,
            1,
            "one Warning (repeats are one series)"
        );
        assert_eq!(
            events_with_reason(&cluster, "good", "InvalidAnnotation").await,
            0
        );
    })
}

// ---- 4. valid annotations ----

/// `load-balancer-ha: "true"` gives a redundant pair (two own addresses), `"false"` a single
/// appliance (the original made a pair of it), `load-balancer-plan: premium` plan ID 2, no
/// annotation plan ID 1 and a single appliance.
#[test]
fn ha_and_plan_annotations_decide_redundancy_and_plan() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO_26, &WORKERS, &[]).await;
        let pair = cluster.add_service(
            "pair",
            &[("k8s.usacloud.jp/load-balancer-ha", "true")],
            &[80],
        );
        let single = cluster.add_service(
            "single",
            &[("k8s.usacloud.jp/load-balancer-ha", "false")],
            &[80],
        );
        let premium = cluster.add_service(
            "premium",
            &[("k8s.usacloud.jp/load-balancer-plan", "premium")],
            &[80],
        );
        let plain = cluster.add_service("plain", &[], &[80]);
        let mut vips = Vec::new();
        for name in ["pair", "single", "premium", "plain"] {
            vips.push(ip(&cluster.wait_for_ingress(name).await));
        }

        let mut all_addresses: Vec<Ipv4Addr> = Vec::new();
        for (uid, own, plan, vip) in [
            (&pair, 2, 1, vips[0]),
            (&single, 1, 1, vips[1]),
            (&premium, 1, 2, vips[2]),
            (&plain, 1, 1, vips[3]),
        ] {
            let lb = lb_of(&cluster, uid).await.unwrap();
            assert_eq!(own_ips(&lb).len(), own, "{}: {:?}", lb.name, lb.remark);
            assert_eq!(lb.plan.as_ref().map(|p| p.id.0), Some(plan), "{}", lb.name);
            assert_eq!(
                lb.remark.plan.as_ref().map(|p| p.id.0),
                Some(plan),
                "{}",
                lb.name
            );
            assert_eq!(lb.virtual_ips(), vec![vip]);
            assert!(!own_ips(&lb).contains(&vip));
            all_addresses.extend(own_ips(&lb));
            all_addresses.push(vip);
        }
        // Every address is from the router's range and none is handed out twice.
        let distinct: BTreeSet<Ipv4Addr> = all_addresses.iter().copied().collect();
        assert_eq!(distinct.len(), all_addresses.len(), "{all_addresses:?}");
        assert!(
            distinct.iter().all(|a| (u32::from(ip("203.0.113.71"))
                ..=u32::from(ip("203.0.113.126")))
                .contains(&u32::from(*a))),
            "{distinct:?}"
        );
    })
}

/// The health-check annotations reach every real server of every port (protocol, path, port,
/// expected 200) and the interval becomes each entry's `DelayLoop`.
#[test]
fn healthz_annotations_set_every_real_servers_check_and_the_delay_loop() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO_26, &WORKERS, &[]).await;
        let https = cluster.add_service(
            "https-check",
            &[
                ("k8s.usacloud.jp/load-balancer-healthz-protocol", "https"),
                ("k8s.usacloud.jp/load-balancer-healthz-path", "/ready"),
                ("k8s.usacloud.jp/load-balancer-healthz-port", "8443"),
                ("k8s.usacloud.jp/load-balancer-healthz-interval", "30"),
            ],
            &[80, 443],
        );
        let tcp = cluster.add_service(
            "tcp-check",
            &[
                ("k8s.usacloud.jp/load-balancer-healthz-protocol", "TCP"),
                ("k8s.usacloud.jp/load-balancer-healthz-port", "9000"),
                ("k8s.usacloud.jp/load-balancer-healthz-interval", "60"),
            ],
            &[5432, 6432],
        );
        cluster.wait_for_ingress("https-check").await;
        cluster.wait_for_ingress("tcp-check").await;

        // (uid, protocol, path, status, port, interval)
        let cases = [
            (&https, "https", Some("/ready"), Some(200), Some(8443), 30),
            (&tcp, "tcp", None, None, Some(9000), 60),
        ];
        for (uid, protocol, path, status, port, interval) in cases {
            let lb = lb_of(&cluster, uid).await.unwrap();
            assert_eq!(lb.settings.load_balancer.len(), 2, "{}", lb.name);
            for entry in &lb.settings.load_balancer {
                assert_eq!(entry.delay_loop.0, interval, "{}", lb.name);
                assert_eq!(entry.servers.len(), 3, "{}", lb.name);
                for server in &entry.servers {
                    let h = &server.health_check;
                    assert_eq!(h.protocol.as_str(), protocol, "{}", lb.name);
                    assert_eq!(h.path.as_deref(), path, "{}", lb.name);
                    assert_eq!(h.status.map(|s| s.0), status, "{}", lb.name);
                    assert_eq!(h.port.map(|p| p.0), port, "{}", lb.name);
                    // DSR: the real server is registered at the Service port.
                    assert_eq!(server.port, entry.port);
                }
            }
        }
    })
}

/// No annotation: HTTP `GET /healthz` expecting 200 on kube-proxy's 10256 every 10 seconds;
/// with `externalTrafficPolicy: Local`, the Service's `healthCheckNodePort` instead.
#[test]
fn default_health_check_is_kube_proxy_healthz_and_local_policy_checks_the_node_port() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO_26, &WORKERS, &[]).await;
        let cluster_policy = cluster.add_service("cluster-policy", &[], &[80]);
        let local_policy = cluster.add_service_json(
            "local-policy",
            &[],
            &[80],
            json!({"externalTrafficPolicy": "Local", "healthCheckNodePort": 32123}),
        );
        cluster.wait_for_ingress("cluster-policy").await;
        cluster.wait_for_ingress("local-policy").await;
        for (uid, port) in [(&cluster_policy, 10256), (&local_policy, 32123)] {
            let lb = lb_of(&cluster, uid).await.unwrap();
            let entry = &lb.settings.load_balancer[0];
            assert_eq!(entry.delay_loop.0, 10);
            assert_eq!(entry.servers.len(), 3);
            for server in &entry.servers {
                let h = &server.health_check;
                assert_eq!(h.protocol.as_str(), "http");
                assert_eq!(h.path.as_deref(), Some("/healthz"));
                assert_eq!(h.status.map(|s| s.0), Some(200));
                assert_eq!(h.port.map(|p| p.0), Some(port), "{}", lb.name);
            }
        }
    })
}

/// `load-balancer-type: switch` on a plain switch tagged `@k8s`: the appliance sits on that
/// switch, takes its address and VIP from the assign range (without its first address), has
/// the network's netmask and the annotated gateway, and the nodes' addresses on that switch are
/// the real servers.
#[test]
fn switch_type_uses_the_tagged_switch_and_the_assign_range() {
    test_runtime::run_multi(async {
        let scenario = r#"
routers:
  - name: k8s-router
    tags: ["@k8s"]
    network: 203.0.113.16/28
switches:
  - name: lb-net
    tags: ["@k8s"]
    network: 192.168.11.0/24
    default_route: 192.168.11.1
servers:
  - name: worker-1
    nics:
      - {router: k8s-router, ip: 203.0.113.21}
      - {switch: lb-net, ip: 192.168.11.11, prefix_len: 24}
  - name: worker-2
    nics:
      - {router: k8s-router, ip: 203.0.113.22}
      - {switch: lb-net, ip: 192.168.11.12, prefix_len: 24}
  - name: worker-3
    nics:
      - {router: k8s-router, ip: 203.0.113.23}
      - {switch: lb-net, ip: 192.168.11.13, prefix_len: 24}
"#;
        let cluster = start_with_nodes(scenario, &WORKERS, &[]).await;
        let switch = cluster
            .cloud
            .find_switches(&Filter::new())
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.name == "lb-net")
            .unwrap();
        let uid = cluster.add_service(
            "internal-api",
            &[
                ("k8s.usacloud.jp/load-balancer-type", "switch"),
                ("k8s.usacloud.jp/load-balancer-ip-range", "192.168.11.0/24"),
                (
                    "k8s.usacloud.jp/load-balancer-assign-ip-range",
                    "192.168.11.240/28",
                ),
                (
                    "k8s.usacloud.jp/load-balancer-assign-default-gateway",
                    "192.168.11.1",
                ),
            ],
            &[8080],
        );
        assert_eq!(
            cluster.wait_for_ingress("internal-api").await,
            "192.168.11.242"
        );
        let lb = lb_of(&cluster, &uid).await.unwrap();
        assert_eq!(lb.remark.switch.id, switch.id);
        assert_eq!(own_ips(&lb), ips(&["192.168.11.241"]));
        assert_eq!(lb.remark.network.network_mask_len, 24);
        assert_eq!(lb.remark.network.default_route, Some(ip("192.168.11.1")));
        assert_eq!(
            real_servers(&lb),
            ips(&["192.168.11.11", "192.168.11.12", "192.168.11.13"])
        );
        assert!(
            events_with_reason(&cluster, "internal-api", "NodesOutsideNetwork").await == 0,
            "{:?}",
            cluster.events_about("internal-api").await
        );
    })
}

/// An unknown `k8s.usacloud.jp/*` annotation gives `IgnoredAnnotation` naming it; the Service
/// still gets its appliance and IP.
#[test]
fn unknown_annotation_is_ignored_with_a_warning_and_the_service_gets_its_ip() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        let uid = cluster.add_service("web", &[("k8s.usacloud.jp/typo", "x")], &[80]);
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.25");
        let note = warning(&cluster, "web", "IgnoredAnnotation").await;
        assert!(
            note.contains("k8s.usacloud.jp/typo (unknown annotation"),
            "{note}"
        );
        assert!(lb_of(&cluster, &uid).await.is_some());
        assert_eq!(
            events_with_reason(&cluster, "web", "InvalidAnnotation").await,
            0
        );
    })
}

// ---- 5. spec.loadBalancerIP ----

/// `spec.loadBalancerIP` is the VIP; one already in use, or outside the router's range, gives
/// `RequestedIPUnavailable` and nothing is created.
#[test]
fn requested_load_balancer_ip_is_the_vip_and_an_unavailable_one_is_refused() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        let uid = cluster.add_service_json(
            "fixed",
            &[],
            &[80],
            json!({"loadBalancerIP": "203.0.113.28"}),
        );
        assert_eq!(cluster.wait_for_ingress("fixed").await, "203.0.113.28");
        let lb = lb_of(&cluster, &uid).await.unwrap();
        assert_eq!(own_ips(&lb), ips(&["203.0.113.24"]));
        assert_eq!(lb.virtual_ips(), ips(&["203.0.113.28"]));

        cluster.add_service_json(
            "taken-by-lb",
            &[],
            &[80],
            json!({"loadBalancerIP": "203.0.113.28"}),
        );
        cluster.add_service_json(
            "taken-by-server",
            &[],
            &[80],
            json!({"loadBalancerIP": "203.0.113.21"}),
        );
        cluster.add_service_json(
            "outside",
            &[],
            &[80],
            json!({"loadBalancerIP": "198.51.100.10"}),
        );
        for (name, vip) in [
            ("taken-by-lb", "203.0.113.28"),
            ("taken-by-server", "203.0.113.21"),
        ] {
            let note = warning(&cluster, name, "RequestedIPUnavailable").await;
            assert!(
                note.contains(&format!("spec.loadBalancerIP {vip} is already in use")),
                "{note}"
            );
        }
        let note = warning(&cluster, "outside", "RequestedIPUnavailable").await;
        assert!(
            note.contains("spec.loadBalancerIP 198.51.100.10 is not an assignable address")
                && note.contains("203.0.113.20–203.0.113.30 in 203.0.113.16/28"),
            "{note}"
        );
        assert_eq!(cluster.load_balancers().await.len(), 1);
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 1);
        for name in ["taken-by-lb", "taken-by-server", "outside"] {
            assert_eq!(cluster.ingress_ip(name).await, None, "{name}");
        }
    })
}

// ---- 6. protocols ----

/// A UDP port next to a TCP one: `UnsupportedProtocol` names it, the TCP port is served.
#[test]
fn udp_port_is_left_out_with_a_warning_and_tcp_is_served() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        let uid = cluster.add_service_json(
            "dns",
            &[],
            &[],
            json!({"ports": [
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "dns-udp", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "web", "port": 80, "targetPort": 80}
            ]}),
        );
        let vip = cluster.wait_for_ingress("dns").await;
        let note = warning(&cluster, "dns", "UnsupportedProtocol").await;
        assert!(note.contains("UDP 53 (dns-udp)"), "{note}");
        let lb = lb_of(&cluster, &uid).await.unwrap();
        let mut ports: Vec<(Option<Ipv4Addr>, u64)> = lb
            .settings
            .load_balancer
            .iter()
            .map(|v| (v.virtual_ip_address, v.port.0))
            .collect();
        ports.sort();
        assert_eq!(ports, vec![(Some(ip(&vip)), 53), (Some(ip(&vip)), 80)]);
    })
}

// ---- 7. port limit ----

/// More than 20 TCP ports on a Service that has an appliance: `TooManyPorts`, and the appliance
/// keeps its settings (no write at all).
#[test]
fn more_than_20_ports_on_an_existing_service_change_nothing() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        let uid = cluster.add_service("web", &[], &[80]);
        cluster.wait_for_ingress("web").await;
        eventually("all workers are real servers", CONVERGE, || async {
            real_servers(&lb_of(&cluster, &uid).await.unwrap()).len() == 3
        })
        .await;
        let before = lb_of(&cluster, &uid).await.unwrap();

        cluster.sim.handle().clear_counters();
        let ports: Vec<Value> = (0..21)
        .map(|i| json!({"name": format!("p{i}"), "port": 8000 + i, "protocol": "TCP", "targetPort": 8000 + i}))
        .collect();
        cluster.patch_service("web", json!({"spec": {"ports": ports}}));
        let note = warning(&cluster, "web", "TooManyPorts").await;
        assert!(note.contains("the Service has 21 TCP ports"), "{note}");
        assert!(note.contains("at most 20"), "{note}");
        // Retried, still nothing written.
        wait_for_requests(&cluster, "GET", "appliance", 2).await;
        assert_eq!(cluster.writes(), 0, "{:?}", cluster.sim.handle().counters());
        let after = lb_of(&cluster, &uid).await.unwrap();
        assert_eq!(after.settings, before.settings);
        assert_eq!(after.settings_hash, before.settings_hash);
        assert_eq!(cluster.ingress_ip("web").await.unwrap(), "203.0.113.25");
    })
}

// ---- 8. real-server limit ----

/// 41 eligible nodes: the first 40 by name are the real servers, and `RealServerLimitReached`
/// names the one left out.
#[test]
fn more_than_40_nodes_register_the_first_40_by_name() {
    test_runtime::run_multi(async {
        // 41 servers node-00 … node-40 on a /26, addressed .68 … .108 in that order.
        let names: Vec<String> = (0..41).map(|i| format!("node-{i:02}")).collect();
        let mut scenario = String::from(
            "routers:\n  - {name: k8s-router, tags: [\"@k8s\"], prefix_len: 26, network: 203.0.113.64/26}\nservers:\n",
        );
        for (i, name) in names.iter().enumerate() {
            scenario.push_str(&format!(
                "  - {{name: {name}, nics: [{{router: k8s-router, ip: 203.0.113.{}}}]}}\n",
                68 + i
            ));
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // Nodes are added in reverse order: the choice is by name, not by arrival.
        let reversed: Vec<&str> = refs.iter().rev().copied().collect();
        let cluster = start_with_nodes(&scenario, &reversed, &[]).await;

        let uid = cluster.add_service("web", &[], &[80]);
        // The appliance takes .109, the VIP is .110.
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.110");
        let note = warning(&cluster, "web", "RealServerLimitReached").await;
        assert!(
            note.contains("41 eligible nodes") && note.contains("left out: node-40"),
            "{note}"
        );
        let lb = lb_of(&cluster, &uid).await.unwrap();
        let expected: Vec<Ipv4Addr> = (68..108).map(|i| ip(&format!("203.0.113.{i}"))).collect();
        assert_eq!(real_servers(&lb), expected);
    })
}

// ---- 9. crash safety ----

/// The provider creates the appliance and stops before the Service's status is written (its
/// `ensure` returns "retry after" and the process goes away); the controller manager started
/// afterwards finds that appliance by its tags: still one appliance, the same ID, and the
/// Service gets its VIP.
#[test]
fn a_restart_after_create_finds_the_appliance_instead_of_creating_another() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        add_initialized_workers(&cluster).await;
        cluster.add_service("web", &[], &[80]);
        let service = cluster.service("web").await.unwrap();
        let nodes = cluster.nodes().await;

        let provider = SakuraLoadBalancers::new(cluster.cloud.clone(), Some(CLUSTER_ID.to_owned()))
            .with_max_age(Duration::from_millis(100))
            .with_poll_interval(Duration::from_millis(50));
        let err = provider
            .ensure("kubernetes", &service, &nodes)
            .await
            .expect_err("the appliance is not up yet");
        assert!(
            matches!(err.kind, ProviderErrorKind::RetryAfter(_)),
            "{err:?}"
        );
        assert!(err.message.contains("created load balancer"), "{err}");
        drop(provider);
        let created = cluster.load_balancers().await;
        assert_eq!(created.len(), 1);
        let id = created[0].id;
        let vip = created[0].virtual_ips()[0];
        assert_eq!(cluster.ingress_ip("web").await, None);

        assert_eq!(vip, ip("203.0.113.25"));
        assert_eq!(real_servers(&created[0]), ips(&WORKER_IPS));

        cluster.start_controller(&[]).await;
        assert_eq!(cluster.wait_for_ingress("web").await, vip.to_string());
        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1);
        assert_eq!(lbs[0].id, id);
        assert_eq!(real_servers(&lbs[0]), ips(&WORKER_IPS));
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 1);
    })
}

// ---- 10. adoption ----

/// An appliance named and tagged as the original CCM made it for an existing Service is
/// adopted: same ID, this CCM's tags added (the user's kept), VIP kept, `AdoptedLoadBalancer`,
/// no create.
#[test]
fn the_original_ccms_appliance_is_adopted_with_its_vip() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        let uid = cluster.add_service("web", &[], &[80]);
        let name = appliance_name(&uid);
        let ids = load(
            &cluster,
            &json!({"appliances": [{
                "class": "loadbalancer",
                "name": name,
                "tags": ["@k8s", "@k8s.ClusterID=test-cluster", "@k8s.Service=web", "team-a"],
                "router": "k8s-router",
                "ips": ["203.0.113.27"],
                "vrid": 7,
                "settings": {"LoadBalancer": [{
                    "VirtualIPAddress": "203.0.113.29",
                    "Port": "80",
                    "DelayLoop": "10",
                    "SorryServer": "",
                    "Servers": [
                        {"IPAddress": "203.0.113.21", "Port": "80", "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"}
                    ]
                }]}
            }]}),
        );
        let id = ids[0];
        // The Nodes were initialized by the original CCM.
        add_initialized_workers(&cluster).await;
        cluster.sim.handle().clear_counters();

        cluster.start_controller(&[]).await;
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.29");
        let note = cluster.wait_for_event("web", "AdoptedLoadBalancer").await;
        assert!(note.contains(&format!("(ID {id})")), "{note}");

        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1);
        let lb = &lbs[0];
        assert_eq!(lb.id.0, id);
        assert_eq!(lb.name, name);
        let expected: BTreeSet<String> = [
            "@k8s".to_owned(),
            format!("@k8s.ClusterID={CLUSTER_ID}"),
            "@k8s.Service=web".to_owned(),
            format!("@k8s.ServiceUID={uid}"),
            "team-a".to_owned(),
        ]
        .into_iter()
        .collect();
        assert_eq!(lb.tags.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(own_ips(lb), ips(&["203.0.113.27"]));
        assert_eq!(lb.remark.vrrp.vrid, 7);
        assert_eq!(lb.virtual_ips(), ips(&["203.0.113.29"]));
        // Its settings are brought in line in one update and one apply: every worker, with the
        // HTTP check instead of the original's ping.
        assert_eq!(real_servers(lb), ips(&WORKER_IPS));
        for server in &lb.settings.load_balancer[0].servers {
            assert_eq!(server.health_check.protocol.as_str(), "http");
        }
        assert_eq!(
            cluster.sim.handle().count("PUT", "appliance/{id}/config"),
            1
        );
        assert_eq!(
            cluster.sim.handle().count("PUT", "appliance/{id}"),
            2,
            "one for the tags, one for the settings"
        );
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 0);
        assert_eq!(cluster.sim.handle().count("DELETE", "appliance/{id}"), 0);
    })
}

/// A Node change that arrives while a Service's first successful sync is running must still
/// reach the appliance (here: the workers get their addresses while the adoption's writes are
/// slow), not wait for the next `--service-resync-period`.
#[test]
fn a_node_change_during_the_first_sync_reaches_the_appliance() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        let uid = cluster.add_service("web", &[], &[80]);
        load(
            &cluster,
            &json!({"appliances": [{
                "class": "loadbalancer",
                "name": appliance_name(&uid),
                "tags": ["@k8s", "@k8s.ClusterID=test-cluster"],
                "router": "k8s-router",
                "ips": ["203.0.113.27"],
                "settings": {"LoadBalancer": [{
                    "VirtualIPAddress": "203.0.113.29", "Port": "80", "DelayLoop": "10",
                    "Servers": [{"IPAddress": "203.0.113.21", "Port": "80", "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"}]
                }]}
            }]}),
        );
        // The adoption's three writes take 1.5 s; the workers are initialized meanwhile.
        cluster.sim.handle().add_latency_rule(LatencyRule {
            ms: 500,
            jitter_ms: 0,
            method: Some("PUT".to_owned()),
            path_prefix: Some("appliance".to_owned()),
        });
        cluster.start_controller(&[]).await;
        for name in WORKERS {
            cluster.add_node(name);
        }
        wait_initialized(&cluster, &WORKERS).await;
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.29");
        eventually("the workers are real servers", CONVERGE, || async {
            real_servers(&cluster.load_balancers().await[0]) == ips(&WORKER_IPS)
        })
        .await;
    })
}

// ---- 11. ownership ----

/// Appliances with the Service's name but without `@k8s`, or with another cluster's tag, are
/// never changed or deleted: the Service gets a new appliance of its own, and after the Service
/// is deleted the two are still there, unchanged, without one write on them.
#[test]
fn appliances_without_our_tags_are_never_touched() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        let uid = cluster.add_service("web", &[], &[80]);
        let name = appliance_name(&uid);
        let settings = |vip: &str| {
            json!({"LoadBalancer": [{
                "VirtualIPAddress": vip, "Port": "80", "DelayLoop": "10",
                "Servers": [{"IPAddress": "203.0.113.21", "Port": "80", "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"}]
            }]})
        };
        let ids = load(
            &cluster,
            &json!({"appliances": [
                {"class": "loadbalancer", "name": name, "tags": ["k8s", "@K8S"], "router": "k8s-router",
                 "ips": ["203.0.113.24"], "settings": settings("203.0.113.25")},
                {"class": "loadbalancer", "name": name, "tags": ["@k8s", "@k8s.ClusterID=other-cluster", "@k8s.Service=web"],
                 "router": "k8s-router", "ips": ["203.0.113.26"], "settings": settings("203.0.113.27")}
            ]}),
        );
        let foreign = |lbs: &[LoadBalancer]| -> Vec<LoadBalancer> {
            let mut out: Vec<LoadBalancer> = lbs
                .iter()
                .filter(|lb| ids.contains(&lb.id.0))
                .cloned()
                .collect();
            out.sort_by_key(|lb| lb.id);
            out
        };
        let before = foreign(&cluster.load_balancers().await);
        assert_eq!(before.len(), 2);

        cluster.start_controller(&[]).await;
        for node in WORKERS {
            cluster.add_node(node);
        }
        // Servers .20–.23, the foreign appliances .24–.27: ours takes .28 and the VIP .29, and the
        // VRID after theirs (1, 2).
        assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.29");
        let ours = lb_of(&cluster, &uid).await.unwrap();
        assert!(!ids.contains(&ours.id.0));
        assert_eq!(ours.name, name);
        assert_eq!(own_ips(&ours), ips(&["203.0.113.28"]));
        assert_eq!(ours.remark.vrrp.vrid, 3);
        assert_eq!(cluster.load_balancers().await.len(), 3);

        cluster.delete_service("web");
        eventually("the Service is gone", CONVERGE, || async {
            cluster.service("web").await.is_none()
        })
        .await;
        let left = cluster.load_balancers().await;
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(foreign(&left), before, "the foreign appliances changed");
        assert!(
            !writes_on(&cluster, ours.id.0).is_empty(),
            "ours was shut down and deleted"
        );
        for id in &ids {
            assert_eq!(writes_on(&cluster, *id), Vec::<String>::new(), "{id}");
        }
    })
}

// ---- 12. allocation ----

/// A redundant VPC router on the same router occupies two addresses and VRID 1: no load
/// balancer gets them. Two Services created at the same time (two sync workers) get different
/// addresses and VRIDs.
#[test]
fn other_appliances_addresses_and_vrids_are_skipped_and_concurrent_services_never_collide() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        load(
            &cluster,
            &json!({"appliances": [{
                "class": "vpcrouter", "name": "vpc-1", "router": "k8s-router",
                "ips": ["203.0.113.24", "203.0.113.25"], "vrid": 1
            }]}),
        );
        add_initialized_workers(&cluster).await;
        cluster
            .start_controller(&["--concurrent-service-syncs=2"])
            .await;
        let a = cluster.add_service("a", &[], &[80]);
        let b = cluster.add_service("b", &[], &[443]);
        cluster.wait_for_ingress("a").await;
        cluster.wait_for_ingress("b").await;

        let (a, b) = (
            lb_of(&cluster, &a).await.unwrap(),
            lb_of(&cluster, &b).await.unwrap(),
        );
        let mut taken: Vec<Ipv4Addr> = [&a, &b]
            .iter()
            .flat_map(|lb| own_ips(lb).into_iter().chain(lb.virtual_ips()))
            .collect();
        taken.sort();
        // Servers .20–.23, the VPC router .24 and .25: the two appliances share .26–.29.
        assert_eq!(
            taken,
            ips(&[
                "203.0.113.26",
                "203.0.113.27",
                "203.0.113.28",
                "203.0.113.29"
            ])
        );
        let vrids = BTreeSet::from([a.remark.vrrp.vrid, b.remark.vrrp.vrid]);
        assert_eq!(vrids, BTreeSet::from([2, 3]));
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 2);
        assert_eq!(real_servers(&a), ips(&WORKER_IPS));
        assert_eq!(real_servers(&b), ips(&WORKER_IPS));
    })
}
