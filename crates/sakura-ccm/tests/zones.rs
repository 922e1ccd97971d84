#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

//! A cluster spanning zones (`SAKURACLOUD_ZONES`), against the simulator: Nodes initialized in
//! three zones with their own zone labels for about three times one zone's calls; a name taken
//! in two zones is an error naming both; an appliance's real servers in other zones only over
//! bridged switches, the others left out with one Warning.

mod support;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use cloud_provider::labels::{LABEL_REGION, LABEL_ZONE};
use cloud_provider::provider::InstancesV2;
use k8s_openapi::api::core::v1::Node;
use sacloud::{Client, LoadBalancer, Zone};
use sakura_ccm::cloud::SakuraCloud;
use sakura_ccm::provider::cloud_instances::SakuraInstances;
use sakura_ccm::provider::load_balancers::SakuraLoadBalancers;
use support::{CLUSTER_ID, CONVERGE, Cluster, eventually, real_servers};

const ISHIKARI: [Zone; 3] = [Zone::Is1a, Zone::Is1b, Zone::Is1c];

/// The provider as the binary builds it for `zones`, with the tests' short cache ages.
fn provider(client: &Client, zones: &[Zone]) -> SakuraCloud {
    SakuraCloud::from_parts(
        SakuraInstances::new(client.clone())
            .with_zones(zones)
            .with_max_age(Duration::from_millis(100)),
        Some(
            SakuraLoadBalancers::new(client.clone(), Some(CLUSTER_ID.to_owned()))
                .with_zones(zones)
                .with_max_age(Duration::from_millis(100))
                .with_poll_interval(Duration::from_millis(50)),
        ),
    )
}

fn node(name: &str) -> Node {
    let mut node = Node::default();
    node.metadata.name = Some(name.into());
    node
}

/// `per_zone` servers in each Ishikari zone, named `<zone>-<n>`.
fn servers_in_three_zones(per_zone: usize) -> String {
    let mut s = String::from("servers:\n");
    for zone in ISHIKARI {
        for i in 0..per_zone {
            writeln!(
                s,
                "  - {{name: {zone}-{i}, zone: {zone}, nics: [{{shared: true}}]}}"
            )
            .unwrap();
        }
    }
    s
}

#[test]
fn nodes_in_three_zones_cost_three_listings_and_get_their_zone() {
    test_runtime::run_multi(async {
        let sim = support::simulator(&servers_in_three_zones(100)).await;
        let nodes: Vec<std::sync::Arc<Node>> = ISHIKARI
            .iter()
            .flat_map(|zone| (0..100).map(move |i| node(&format!("{zone}-{i}")).into()))
            .collect();
        let instances = SakuraInstances::new(support::cloud_client(&sim)).with_zones(&ISHIKARI);
        sim.handle().clear_counters();
        let batch = instances.instance_metadata_batch(&nodes).await;
        for (node, meta) in nodes.iter().zip(&batch) {
            let meta = meta.as_ref().unwrap();
            let name = node.metadata.name.as_deref().unwrap();
            assert_eq!(&name[..4], meta.zone, "the server's own zone");
            assert_eq!(meta.region, "is1");
        }
        // One listing per zone (servers, tagged switches, tagged routers), in parallel: three
        // times one zone's calls for 300 Nodes, nothing per Node.
        let h = sim.handle();
        assert_eq!(h.count("GET", "server"), 3);
        assert_eq!(h.count("GET", "switch"), 3);
        assert_eq!(h.count("GET", "internet"), 3);
        assert_eq!(h.count("GET", "server/{id}"), 0);

        // A provider ID is looked for in every zone; a server gone from all is confirmed by a
        // 404 in each.
        let c0 = support::cloud_client(&sim)
            .in_zone(Zone::Is1c)
            .find_servers(&sacloud::Filter::new().name("is1c-0"))
            .await
            .unwrap()
            .remove(0);
        let mut by_id = node("renamed");
        by_id.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            provider_id: Some(format!("sakuracloud://{}", c0.id)),
            ..Default::default()
        });
        let meta = instances.instance_metadata(&by_id).await.unwrap();
        assert_eq!(meta.zone, "is1c");
        sim.handle().remove_server(c0.id.0).unwrap();
        let instances = instances.with_max_age(Duration::ZERO);
        sim.handle().clear_counters();
        assert!(!instances.instance_exists(&by_id).await.unwrap());
        assert_eq!(sim.handle().count("GET", "server/{id}"), 3);
    })
}

#[test]
fn a_name_in_two_zones_is_an_error_naming_both() {
    test_runtime::run(async {
        let sim = support::simulator(
            "servers:\n  - {name: twin, zone: is1a, nics: [{shared: true}]}\n  - {name: twin, zone: is1b, nics: [{shared: true}]}\n",
        )
        .await;
        let client = support::cloud_client(&sim);
        let one_zone = SakuraInstances::new(client.clone());
        assert_eq!(
            one_zone
                .instance_metadata(&node("twin"))
                .await
                .unwrap()
                .zone,
            "is1a",
            "one zone configured: the other zone's server is not seen"
        );
        let instances = SakuraInstances::new(client).with_zones(&[Zone::Is1a, Zone::Is1b]);
        let err = instances
            .instance_metadata(&node("twin"))
            .await
            .unwrap_err();
        assert_eq!(
            err.reason.as_deref(),
            Some("DuplicateServerName"),
            "{err:?}"
        );
        assert!(err.message.contains(" in is1a and "), "{}", err.message);
        assert!(err.message.contains(" in is1b"), "{}", err.message);
        assert!(
            instances.instance_exists(&node("twin")).await.unwrap(),
            "something exists: the Node is not deleted"
        );
    })
}

/// The appliance's switch `k8s` in is1a (tagged), the same network in is1b and is1c; is1a and
/// is1b bridged, is1c not (unless `bridge_c`).
fn bridged_scenario(bridge_c: bool) -> String {
    bridged_scenario_with(bridge_c, "192.168.11.21")
}

/// [`bridged_scenario`] with is1b's server `b1` at `b1_ip`.
fn bridged_scenario_with(bridge_c: bool, b1_ip: &str) -> String {
    let c = if bridge_c {
        ", {name: k8s, zone: is1c}"
    } else {
        ""
    };
    format!(
        r#"
zone: is1a
switches:
  - {{name: k8s, tags: ["@k8s"], network: 192.168.11.0/24, default_route: 192.168.11.1}}
  - {{name: k8s, zone: is1b, network: 192.168.11.0/24}}
  - {{name: k8s, zone: is1c, network: 192.168.11.0/24}}
servers:
  - {{name: a1, nics: [{{switch: k8s, ip: 192.168.11.11, prefix_len: 24}}]}}
  - {{name: b1, zone: is1b, nics: [{{switch: k8s, ip: {b1_ip}, prefix_len: 24}}]}}
  - {{name: c1, zone: is1c, nics: [{{switch: k8s, ip: 192.168.11.31, prefix_len: 24}}]}}
bridges:
  - name: k8s
    switches: [{{name: k8s}}, {{name: k8s, zone: is1b}}{c}]
"#
    )
}

async fn cluster_with_service(scenario: &str) -> (Cluster, LoadBalancer) {
    let mut cluster = Cluster::without_controller(scenario).await;
    let provider = provider(&cluster.cloud, &ISHIKARI);
    cluster.start_controller_with(&[], provider).await;
    for name in ["a1", "b1", "c1"] {
        cluster.add_node(name);
    }
    eventually("nodes initialized", CONVERGE, || async {
        for name in ["a1", "b1", "c1"] {
            if !cluster.node_initialized(name).await {
                return false;
            }
        }
        true
    })
    .await;
    let b1 = cluster.node("b1").await.unwrap();
    assert_eq!(
        b1.metadata
            .labels
            .as_ref()
            .unwrap()
            .get(LABEL_ZONE)
            .map(String::as_str),
        Some("is1b")
    );
    assert_eq!(
        b1.metadata
            .labels
            .as_ref()
            .unwrap()
            .get(LABEL_REGION)
            .map(String::as_str),
        Some("is1")
    );
    let uid = cluster.add_service(
        "api",
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
        &[6443],
    );
    cluster.wait_for_ingress("api").await;
    let tag = format!("@k8s.ServiceUID={uid}");
    let lb = cluster
        .load_balancers()
        .await
        .into_iter()
        .find(|lb| lb.tags.contains(&tag))
        .expect("the appliance is in the zone of the tagged switch");
    (cluster, lb)
}

#[test]
fn nodes_on_bridged_switches_are_real_servers_in_every_zone() {
    test_runtime::run_multi(async {
        let (cluster, lb) = cluster_with_service(&bridged_scenario(true)).await;
        assert_eq!(
            real_servers(&lb),
            ["192.168.11.11", "192.168.11.21", "192.168.11.31"]
                .map(|s| s.parse::<Ipv4Addr>().unwrap())
        );
        let events = cluster.events_about("api").await;
        assert!(
            !events.iter().any(|(_, r, _)| r == "NodesNotBridged"),
            "{events:?}"
        );
    })
}

#[test]
fn nodes_in_an_unbridged_zone_are_left_out_with_one_warning() {
    test_runtime::run_multi(async {
        let (cluster, lb) = cluster_with_service(&bridged_scenario(false)).await;
        assert_eq!(
            real_servers(&lb),
            ["192.168.11.11", "192.168.11.21"].map(|s| s.parse::<Ipv4Addr>().unwrap()),
            "c1 has an address in the network, but on a switch the appliance cannot reach"
        );
        let note = cluster.wait_for_event("api", "NodesNotBridged").await;
        assert!(note.contains("c1 (is1c)"), "{note}");
        assert!(!note.contains("b1"), "{note}");
        assert!(note.contains("k8s.usacloud.jp/node-selector"), "{note}");
    })
}

/// A bridge makes one segment of the switches it joins, so one address space: an address a
/// server in another zone uses on a bridged switch is never given to the appliance.
#[test]
fn addresses_used_across_the_bridge_are_not_allocated() {
    test_runtime::run_multi(async {
        // b1 (is1b) sits on the first address the appliance would be given (.240 is the
        // range's network address).
        let (_cluster, lb) =
            cluster_with_service(&bridged_scenario_with(true, "192.168.11.241")).await;
        let b1: Ipv4Addr = "192.168.11.241".parse().unwrap();
        let own: Vec<Ipv4Addr> = lb
            .remark
            .servers
            .iter()
            .filter_map(|s| s.ip_address)
            .collect();
        assert!(!own.contains(&b1), "appliance took b1's address: {own:?}");
        assert!(!lb.virtual_ips().contains(&b1), "VIP took b1's address");
        assert!(real_servers(&lb).contains(&b1), "b1 is still a real server");
    })
}
