#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

//! Nodes through the running controller manager (cloud node controller and node lifecycle
//! controller) with the SAKURA provider, against the simulator and the fake API server:
//! matching a Node to its server, what initialization writes, shutdown and deletion, and the
//! API cost of initializing many Nodes.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cloud_provider::labels::{
    LABEL_INSTANCE_TYPE, LABEL_REGION, LABEL_ZONE, TAINT_SHUTDOWN, TAINT_UNINITIALIZED,
};
use k8s_openapi::api::core::v1::Node;
use sakura_ccm::cloud::SakuraCloud;
use sakura_ccm::provider::cloud_instances::SakuraInstances;
use serde_json::json;
use support::{CONVERGE, Cluster, SCENARIO, eventually};

// ---- helpers ----

/// The Node's addresses as (type, address), in order.
fn addresses(node: &Node) -> Vec<(String, String)> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| {
            a.iter()
                .map(|a| (a.type_.clone(), a.address.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, a)| ((*t).to_owned(), (*a).to_owned()))
        .collect()
}

/// The Node's taints as (key, effect).
fn taints(node: &Node) -> Vec<(String, String)> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t| {
            t.iter()
                .map(|t| (t.key.clone(), t.effect.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn labels(node: &Node) -> BTreeMap<String, String> {
    node.metadata.labels.clone().unwrap_or_default()
}

fn provider_id(node: &Node) -> Option<String> {
    node.spec.as_ref().and_then(|s| s.provider_id.clone())
}

/// The simulator's ID of the server named `name`.
async fn server_id(cluster: &Cluster, name: &str) -> u64 {
    cluster.server(name).await.id.0
}

/// Waits until the Node is initialized and its addresses are written (they go to the status
/// subresource right after the taint is removed); returns the Node.
async fn wait_initialized(cluster: &Cluster, name: &str) -> Node {
    eventually(&format!("{name} initialized"), CONVERGE, || async {
        cluster.node_initialized(name).await
            && cluster
                .node(name)
                .await
                .is_some_and(|n| !addresses(&n).is_empty())
    })
    .await;
    cluster.node(name).await.unwrap()
}

/// Registers a tainted, Ready Node that already carries `labels` (as one the original CCM, or
/// an administrator, labelled).
fn add_labeled_node(cluster: &Cluster, name: &str, labels: &[(&str, &str)]) {
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    cluster
        .api
        .store()
        .create(
            "nodes",
            None,
            json!({
                "metadata": {"name": name, "labels": labels},
                "spec": {"taints": [
                    {"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}
                ]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}
            }),
        )
        .unwrap();
}

// ---- matching ----

/// The usual case: the Node's name is the server's name.
#[test]
fn node_named_like_its_server_is_initialized_with_its_provider_id() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        let id = server_id(&cluster, "worker-1").await;
        cluster.add_node("worker-1");

        let node = wait_initialized(&cluster, "worker-1").await;
        assert_eq!(provider_id(&node), Some(format!("sakuracloud://{id}")));
        assert!(taints(&node).is_empty(), "{:?}", taints(&node));
        let note = cluster.wait_for_event("worker-1", "Synced").await;
        assert_eq!(note, "Node synced successfully");
        let events = cluster.events_about("worker-1").await;
        assert!(
            events
                .iter()
                .any(|(t, r, _)| t == "Normal" && r == "Synced"),
            "{events:?}"
        );
        assert!(
            events.iter().all(|(t, _, _)| t == "Normal"),
            "no warnings expected: {events:?}"
        );
    })
}

/// A Node the original CCM initialized keeps its provider ID; the server it names is used even
/// though the Node's name is not the server's (and matches no server at all).
#[test]
fn node_with_provider_id_is_initialized_from_that_server_whatever_its_name() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        let id = server_id(&cluster, "worker-2").await;
        let pid = format!("sakuracloud://{id}");
        cluster.add_node_with("legacy-node-a", Some(&pid), None);

        let node = wait_initialized(&cluster, "legacy-node-a").await;
        assert_eq!(provider_id(&node), Some(pid));
        assert_eq!(
            addresses(&node),
            pairs(&[
                ("InternalIP", "203.0.113.22"),
                ("ExternalIP", "203.0.113.22"),
                ("Hostname", "worker-2"),
            ])
        );
        let labels = labels(&node);
        assert_eq!(labels[LABEL_INSTANCE_TYPE], "1core-1gb");
        assert_eq!(labels[LABEL_ZONE], "is1a");
        assert_eq!(labels[LABEL_REGION], "is1");
        cluster.wait_for_event("legacy-node-a", "Synced").await;
        let events = cluster.events_about("legacy-node-a").await;
        assert!(
            !events.iter().any(|(_, r, _)| r == "ServerMatchedByNodeIP"),
            "{events:?}"
        );
    })
}

/// No server has the Node's name, but exactly one server owns its `--node-ip`: that server,
/// with a Normal event saying so.
#[test]
fn node_matched_by_its_unique_provided_node_ip() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        let id = server_id(&cluster, "worker-1").await;
        cluster.add_node_with("k8s-worker-a", None, Some("192.168.0.11"));

        let node = wait_initialized(&cluster, "k8s-worker-a").await;
        assert_eq!(provider_id(&node), Some(format!("sakuracloud://{id}")));
        // The kubelet's node IP is the InternalIP; the rest of the server's addresses follow.
        assert_eq!(
            addresses(&node),
            pairs(&[
                ("InternalIP", "192.168.0.11"),
                ("ExternalIP", "203.0.113.21"),
                ("Hostname", "worker-1"),
            ])
        );
        assert_eq!(labels(&node)[LABEL_INSTANCE_TYPE], "4core-8gb");

        let note = cluster
            .wait_for_event("k8s-worker-a", "ServerMatchedByNodeIP")
            .await;
        assert!(
            note.contains(&format!("\"worker-1\" (ID {id})")),
            "the note names the server: {note}"
        );
        assert!(note.contains("192.168.0.11"), "{note}");
        let events = cluster.events_about("k8s-worker-a").await;
        let matched: Vec<_> = events
            .iter()
            .filter(|(_, r, _)| r == "ServerMatchedByNodeIP")
            .collect();
        assert!(matched.iter().all(|(t, _, _)| t == "Normal"), "{events:?}");
        cluster.wait_for_event("k8s-worker-a", "Synced").await;
    })
}

/// Added to [`SCENARIO`]: a second private switch on which server `db-1` reuses worker-1's
/// private address (192.168.0.11), so that IP belongs to two servers.
const SHARED_IP_EXTRA: &str = r#"
zone: is1a
switches:
  - name: other-net
    network: 192.168.0.0/24
servers:
  - name: db-1
    nics:
      - switch: other-net
        ip: 192.168.0.11
        prefix_len: 24
"#;

/// The seed-000 trap: the Node `worker1` next to servers `worker-1`…: no match, so the Node
/// stays tainted without a provider ID and gets a Warning `ServerNotFound` that names the
/// closest servers and the kubelet flag to fix it. The node-IP fallback does not apply when
/// the IP belongs to two servers or to none.
#[test]
fn unmatched_node_stays_tainted_with_a_server_not_found_warning() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        cluster
            .sim
            .handle()
            .load_scenario(&sacloud_sim::Scenario::parse(SHARED_IP_EXTRA).unwrap())
            .unwrap();
        cluster.add_node("worker1");
        cluster.add_node_with("worker1-a", None, Some("192.168.0.11"));
        cluster.add_node_with("worker1-b", None, Some("10.9.9.9"));

        for (node, ip_part) in [
            ("worker1", None),
            (
                "worker1-a",
                Some("its node IP 192.168.0.11 belongs to 2 servers, not one"),
            ),
            ("worker1-b", Some("no server has its node IP 10.9.9.9")),
        ] {
            let note = cluster.wait_for_event(node, "ServerNotFound").await;
            for part in [
                &format!("no SAKURA Cloud server is named \"{node}\""),
                "closest server names: \"worker-1\", \"worker-2\", \"worker-3\"",
                "--hostname-override",
            ] {
                assert!(note.contains(part), "{part:?} not in {note}");
            }
            if let Some(ip_part) = ip_part {
                assert!(note.contains(ip_part), "{ip_part:?} not in {note}");
            }
            let events = cluster.events_about(node).await;
            assert!(
                events
                    .iter()
                    .filter(|(_, r, _)| r == "ServerNotFound")
                    .all(|(t, _, _)| t == "Warning"),
                "{events:?}"
            );
            assert!(
                !events
                    .iter()
                    .any(|(_, r, _)| r == "Synced" || r == "ServerMatchedByNodeIP"),
                "{events:?}"
            );
            // The attempt failed without writing anything.
            let n = cluster.node(node).await.unwrap();
            assert_eq!(provider_id(&n), None, "{node}");
            assert_eq!(
                taints(&n),
                vec![(TAINT_UNINITIALIZED.to_owned(), "NoSchedule".to_owned())],
                "{node}"
            );
            assert!(addresses(&n).is_empty(), "{node}");
            assert!(!labels(&n).contains_key(LABEL_INSTANCE_TYPE), "{node}");
        }
    })
}

// ---- what initialization writes ----

/// A cluster router (`@k8s`) and a plain switch: `multi-nic` has the router on NIC 0 and the
/// switch on NIC 1, `switch-first` the other way round, `router-only` just the router.
const MULTI_NIC_SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
switches:
  - name: private-net
    network: 192.168.0.0/24
servers:
  - name: multi-nic
    nics:
      - router: k8s-router
        ip: 203.0.113.20
      - switch: private-net
        ip: 192.168.0.10
        prefix_len: 24
  - name: switch-first
    nics:
      - switch: private-net
        ip: 192.168.0.11
        prefix_len: 24
      - router: k8s-router
        ip: 203.0.113.21
  - name: router-only
    nics:
      - router: k8s-router
        ip: 203.0.113.22
"#;

/// Every NIC counts: the plain-switch address is the InternalIP, the router's the ExternalIP,
/// then the host name, whatever the NIC order; a router-only server's global address is both.
#[test]
fn addresses_come_from_every_nic_internal_then_external_then_hostname() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(MULTI_NIC_SCENARIO).await;
        for name in ["multi-nic", "switch-first", "router-only"] {
            cluster.add_node(name);
        }
        let cases = [
            (
                "multi-nic",
                pairs(&[
                    ("InternalIP", "192.168.0.10"),
                    ("ExternalIP", "203.0.113.20"),
                    ("Hostname", "multi-nic"),
                ]),
            ),
            (
                "switch-first",
                pairs(&[
                    ("InternalIP", "192.168.0.11"),
                    ("ExternalIP", "203.0.113.21"),
                    ("Hostname", "switch-first"),
                ]),
            ),
            (
                "router-only",
                pairs(&[
                    ("InternalIP", "203.0.113.22"),
                    ("ExternalIP", "203.0.113.22"),
                    ("Hostname", "router-only"),
                ]),
            ),
        ];
        for (name, expected) in cases {
            let node = wait_initialized(&cluster, name).await;
            assert_eq!(addresses(&node), expected, "{name}");
        }
    })
}

/// Region, zone and instance type are set from the server; labels the Node already has (here
/// the original CCM's values) are kept.
#[test]
fn labels_are_set_from_the_server_without_overwriting_existing_ones() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        cluster.add_node("worker-1");
        add_labeled_node(
            &cluster,
            "control-plane-1",
            &[
                (LABEL_REGION, "is1a"),
                (LABEL_INSTANCE_TYPE, "cloud-plan-2core-4gb"),
                ("node-role.kubernetes.io/control-plane", ""),
            ],
        );

        let node = wait_initialized(&cluster, "worker-1").await;
        let worker = labels(&node);
        assert_eq!(worker[LABEL_REGION], "is1");
        assert_eq!(worker[LABEL_ZONE], "is1a");
        assert_eq!(worker[LABEL_INSTANCE_TYPE], "4core-8gb");

        let node = wait_initialized(&cluster, "control-plane-1").await;
        let cp = labels(&node);
        assert_eq!(cp[LABEL_REGION], "is1a", "existing label kept");
        assert_eq!(
            cp[LABEL_INSTANCE_TYPE], "cloud-plan-2core-4gb",
            "existing label kept"
        );
        assert_eq!(cp["node-role.kubernetes.io/control-plane"], "");
        assert_eq!(cp[LABEL_ZONE], "is1a", "a missing label is added");
        let id = server_id(&cluster, "control-plane-1").await;
        assert_eq!(provider_id(&node), Some(format!("sakuracloud://{id}")));
    })
}

// ---- lifecycle ----

/// A server removed in the cloud: its Node is deleted once NotReady; a Ready Node whose
/// server is gone too is left alone.
#[test]
fn node_of_a_deleted_server_is_deleted_once_not_ready() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        for name in ["worker-1", "worker-2", "worker-3"] {
            cluster.add_node(name);
        }
        for name in ["worker-1", "worker-2", "worker-3"] {
            wait_initialized(&cluster, name).await;
        }
        for name in ["worker-2", "worker-3"] {
            let id = server_id(&cluster, name).await;
            cluster.sim.handle().remove_server(id).unwrap();
        }

        cluster.set_node_ready("worker-3", false);
        eventually("worker-3 deleted", CONVERGE, || async {
            cluster.node("worker-3").await.is_none()
        })
        .await;
        let events = cluster.events_about("worker-3").await;
        assert!(
            events
                .iter()
                .any(|(t, r, _)| t == "Normal" && r == "DeletingNode"),
            "{events:?}"
        );
        // Gone is confirmed by reading the server by ID (a 404), not by a listing alone.
        assert!(cluster.sim.handle().count("GET", "server/{id}") >= 1);

        // A marker: worker-1 loses its server and goes NotReady only now, so the pass that deletes
        // it starts after the pass that deleted worker-3 has finished. Both passes saw worker-2
        // Ready with its server gone, and left it.
        let id = server_id(&cluster, "worker-1").await;
        cluster.sim.handle().remove_server(id).unwrap();
        cluster.set_node_ready("worker-1", false);
        eventually("worker-1 deleted", CONVERGE, || async {
            cluster.node("worker-1").await.is_none()
        })
        .await;
        assert!(cluster.node("worker-2").await.is_some());
        assert!(!cluster.has_event("worker-2", "DeletingNode").await);
    })
}

/// A powered-off server's NotReady Node gets the shutdown taint; powered on and Ready again,
/// the taint goes. The Node is never deleted meanwhile.
#[test]
fn powered_off_server_gets_the_shutdown_taint_until_ready_again() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        cluster.add_node("worker-1");
        wait_initialized(&cluster, "worker-1").await;
        let id = server_id(&cluster, "worker-1").await;
        let shutdown = (TAINT_SHUTDOWN.to_owned(), "NoSchedule".to_owned());

        cluster.sim.handle().set_server_power(id, false).unwrap();
        cluster.set_node_ready("worker-1", false);
        eventually("shutdown taint added", CONVERGE, || async {
            cluster
                .node("worker-1")
                .await
                .is_some_and(|n| taints(&n) == vec![shutdown.clone()])
        })
        .await;

        cluster.sim.handle().set_server_power(id, true).unwrap();
        cluster.set_node_ready("worker-1", true);
        eventually("shutdown taint removed", CONVERGE, || async {
            cluster
                .node("worker-1")
                .await
                .is_some_and(|n| taints(&n).is_empty())
        })
        .await;
        let node = cluster.node("worker-1").await.unwrap();
        assert_eq!(provider_id(&node), Some(format!("sakuracloud://{id}")));
        assert!(!cluster.has_event("worker-1", "DeletingNode").await);
    })
}

/// Without a provider ID the CCM cannot confirm a server gone (no ID to get a 404 for): a
/// NotReady Node that matches no server stays, pass after pass. A NotReady Node whose server
/// (by provider ID) is gone is deleted meanwhile, showing the lifecycle controller at work.
#[test]
fn not_ready_node_without_provider_id_is_never_deleted() {
    test_runtime::run_multi(async {
        let cluster = Cluster::start(SCENARIO).await;
        cluster.add_node("worker-3");
        wait_initialized(&cluster, "worker-3").await;
        cluster.add_node("worker1");
        cluster.wait_for_event("worker1", "ServerNotFound").await;

        let id = server_id(&cluster, "worker-3").await;
        cluster.sim.handle().remove_server(id).unwrap();
        cluster.set_node_ready("worker1", false);
        cluster.set_node_ready("worker-3", false);
        eventually("worker-3 deleted", CONVERGE, || async {
            cluster.node("worker-3").await.is_none()
        })
        .await;
        // That pass looked at worker1 as well and kept it.
        assert!(cluster.node("worker1").await.is_some());

        // Several more passes (every --node-monitor-period = 200 ms; each lists the servers for
        // worker1). The node controller's retries of worker1 back off (1 s, 2 s, 4 s, …), so most
        // of these listings are the lifecycle controller's.
        cluster.sim.handle().clear_counters();
        eventually(
            "the lifecycle controller ran several times",
            CONVERGE,
            || async { cluster.sim.handle().count("GET", "server") >= 10 },
        )
        .await;
        let node = cluster.node("worker1").await.expect("worker1 still exists");
        assert_eq!(provider_id(&node), None);
        assert!(!cluster.has_event("worker1", "DeletingNode").await);
    })
}

// ---- API cost ----

const MANY: usize = 30;

/// `MANY` servers on one private switch: `node-00` … `node-29` at 10.0.0.10 ….
fn many_servers_scenario() -> String {
    let mut yaml = String::from(
        "zone: is1a\nswitches:\n  - name: private-net\n    network: 10.0.0.0/24\nservers:\n",
    );
    for i in 0..MANY {
        write!(
            yaml,
            "  - name: node-{i:02}\n    nics:\n      - switch: private-net\n        ip: 10.0.0.{}\n        prefix_len: 24\n",
            10 + i
        )
        .unwrap();
    }
    yaml
}

/// Thirty Nodes registered at once are initialized from one zone listing (servers, plus the
/// `@k8s` switches and routers), shared by concurrent initializations, never with a read per
/// server. The provider keeps its listings as the binary does (`DEFAULT_MAX_AGE`, 10 s; the
/// harness's 100 ms would make the count depend on the machine's speed); five Nodes are
/// initialized at once (`--concurrent-node-syncs=5`) and all start on a cold cache.
#[test]
fn many_nodes_are_initialized_from_one_shared_listing() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(&many_servers_scenario()).await;
        let names: Vec<String> = (0..MANY).map(|i| format!("node-{i:02}")).collect();
        for name in &names {
            cluster.add_node(name);
        }
        cluster.sim.handle().clear_counters();
        let provider = SakuraCloud::from_parts(SakuraInstances::new(cluster.cloud.clone()), None);
        cluster
            .start_controller_with(&["--concurrent-node-syncs=5"], provider)
            .await;
        eventually("all nodes initialized", CONVERGE, || async {
            for name in &names {
                let done = cluster.node_initialized(name).await
                    && cluster
                        .node(name)
                        .await
                        .is_some_and(|n| !addresses(&n).is_empty());
                if !done {
                    return false;
                }
            }
            true
        })
        .await;
        let handle = cluster.sim.handle();
        assert_eq!(handle.count("GET", "server"), 1, "{:?}", handle.counters());
        assert_eq!(handle.count("GET", "switch"), 1);
        assert_eq!(handle.count("GET", "internet"), 1);
        assert_eq!(handle.count("GET", "server/{id}"), 0);
        assert_eq!(
            cluster.writes(),
            0,
            "initializing nodes writes nothing in the cloud"
        );
        for (i, name) in names.iter().enumerate() {
            let node = cluster.node(name).await.unwrap();
            let id = server_id(&cluster, name).await;
            assert_eq!(provider_id(&node), Some(format!("sakuracloud://{id}")));
            assert_eq!(
                addresses(&node),
                pairs(&[
                    ("InternalIP", &format!("10.0.0.{}", 10 + i)),
                    ("Hostname", name),
                ]),
                "{name}"
            );
        }
    })
}
