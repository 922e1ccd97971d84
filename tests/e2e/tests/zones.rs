//! A cluster spanning two zones through real processes (`SAKURACLOUD_ZONES=is1a,is1b`): Nodes
//! of both zones initialized with their own server's zone, one appliance in the zone of the
//! `@k8s` router balancing to a Node of the other zone over a bridge, a Node on a switch on no
//! bridge left out with the `NodesNotBridged` Warning, and the appliance deleted with the
//! Service.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use e2e::cloud::{ips, real_servers};
use e2e::{CONVERGE, World, eventually, wait_for};
use sacloud::Zone;
use serde_json::json;

const BOOT: Duration = Duration::from_millis(500);

/// is1a: the switch+router tagged `@k8s` (`203.0.113.16/28`), the control plane (.20) and two
/// workers (.21, .22). is1b: switch `k8s-is1b`, bridged to the router's switch (the same /28),
/// with worker-3 (.30, the top of the range: the appliance's addresses come from the bottom);
/// switch `staging-is1b`, on no bridge, with worker-4.
const TWO_ZONES: &str = r#"
zone: is1a
routers:
  - {name: k8s-router, tags: ["@k8s"], prefix_len: 28, network: 203.0.113.16/28}
switches:
  - {name: k8s-is1b, zone: is1b, network: 203.0.113.16/28}
  - {name: staging-is1b, zone: is1b, network: 192.168.20.0/24}
bridges:
  - name: k8s-bridge
    switches: [{name: k8s-router}, {name: k8s-is1b, zone: is1b}]
servers:
  - {name: control-plane-1, nics: [{router: k8s-router, ip: 203.0.113.20}]}
  - {name: worker-1, nics: [{router: k8s-router, ip: 203.0.113.21}]}
  - {name: worker-2, nics: [{router: k8s-router, ip: 203.0.113.22}]}
  - name: worker-3
    zone: is1b
    nics: [{switch: k8s-is1b, ip: 203.0.113.30, prefix_len: 28}]
  - name: worker-4
    zone: is1b
    nics: [{switch: staging-is1b, ip: 192.168.20.14, prefix_len: 24}]
"#;

const NODES: [(&str, Zone); 5] = [
    ("control-plane-1", Zone::Is1a),
    ("worker-1", Zone::Is1a),
    ("worker-2", Zone::Is1a),
    ("worker-3", Zone::Is1b),
    ("worker-4", Zone::Is1b),
];

/// The Node's label `key`.
async fn label(world: &World, node: &str, key: &str) -> Option<String> {
    world
        .api
        .node(node)
        .await?
        .metadata
        .labels?
        .get(key)
        .cloned()
}

#[test]
fn a_cluster_across_two_zones_balances_over_the_bridge_and_names_the_unbridged_node() {
    e2e::scenario(async {
        let world = World::start("two-zones", TWO_ZONES, BOOT).await;
        let api = &world.api;
        api.register_node_labelled(
            "control-plane-1",
            None,
            json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
        )
        .await;
        for (name, _) in &NODES[1..] {
            api.register_node(name, None).await;
        }
        let _ccm = world.controller_with_env("ccm", &[("SAKURACLOUD_ZONES", "is1a,is1b")]);
        let names: Vec<&str> = NODES.iter().map(|(n, _)| *n).collect();
        api.wait_initialized(&names).await;

        // Each Node: its server's provider ID (IDs are unique across zones), its server's zone,
        // the region both zones share.
        for (name, zone) in NODES {
            let server = world.sim.server_in(zone, name).await;
            let node = api.node(name).await.unwrap();
            assert_eq!(
                node.spec.unwrap().provider_id,
                Some(format!("sakuracloud://{}", server.id)),
                "{name}"
            );
            assert_eq!(
                label(&world, name, "topology.kubernetes.io/zone").await,
                Some(zone.to_string()),
                "{name}"
            );
            assert_eq!(
                label(&world, name, "topology.kubernetes.io/region").await,
                Some("is1".to_owned()),
                "{name}"
            );
        }

        api.create_service("web", json!({}), &[80]).await;
        // .20–.22 are is1a's servers: the appliance takes .23, the VIP .24.
        assert_eq!(api.wait_for_ingress("web").await, "203.0.113.24");
        // The Service can be ensured before every Node's address is known: a node-set update
        // then follows.
        let lb = wait_for(
            "the workers of both zones on the bridge are the real servers",
            CONVERGE,
            || async {
                let lb = world.sim.the_load_balancer().await?;
                (real_servers(&lb) == ips(&["203.0.113.21", "203.0.113.22", "203.0.113.30"]))
                    .then_some(lb)
            },
        )
        .await;
        assert!(
            world.sim.load_balancers_in(Zone::Is1b).await.is_empty(),
            "the appliance lives in the router's zone only"
        );
        let uid = api.service("web").await.unwrap().metadata.uid.unwrap();
        assert!(
            lb.tags.contains(&format!("@k8s.ServiceUID={uid}")),
            "{:?}",
            lb.tags
        );
        let note = api.wait_for_event("web", "NodesNotBridged").await;
        assert!(note.contains("worker-4 (is1b)"), "{note}");
        assert!(!note.contains("worker-3"), "{note}");
        assert!(note.contains("zone is1a"), "{note}");
        assert!(note.contains("k8s.usacloud.jp/node-selector"), "{note}");
        let events = api.events_about("web").await;
        assert!(
            events
                .iter()
                .any(|(t, r, _)| t == "Warning" && r == "NodesNotBridged"),
            "{events:?}"
        );
        assert_eq!(world.sim.successful("POST", "appliance").await, 1);

        api.delete_service("web").await;
        eventually("the Service is gone", CONVERGE, || async {
            api.service("web").await.is_none()
        })
        .await;
        assert!(
            world.sim.load_balancers().await.is_empty(),
            "the finalizer goes only after the appliance"
        );
        api.wait_for_event("web", "DeletedLoadBalancer").await;
    })
}
