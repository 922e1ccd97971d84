//! The seeds' scenarios through real processes: seed 002's happy path, seed 000's name mismatch
//! and router traps.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use e2e::cloud::{ips, real_servers};
use e2e::cluster::TAINT_UNINITIALIZED;
use e2e::{CONVERGE, SCENARIO, World, eventually, wait_for};
use serde_json::json;

const BOOT: Duration = Duration::from_millis(500);

fn control_plane_labels() -> serde_json::Value {
    json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""})
}

/// Seed 002: Nodes registered by kubelets with `--cloud-provider=external` are initialized
/// (provider ID, addresses, labels, taint removed); a LoadBalancer Service gets an external IP
/// from the `@k8s` router's range and the appliance balances to the workers.
#[test]
fn happy_path_nodes_initialized_and_the_service_gets_an_external_ip() {
    e2e::scenario(async {
        let world = World::start("happy-path", SCENARIO, BOOT).await;
        let api = &world.api;
        api.register_node_labelled("control-plane-1", None, control_plane_labels())
            .await;
        for worker in ["worker-1", "worker-2", "worker-3"] {
            api.register_node(worker, None).await;
        }
        let _ccm = world.controller("ccm");

        api.wait_initialized(&["control-plane-1", "worker-1", "worker-2", "worker-3"])
            .await;
        let server = world.sim.server("worker-1").await;
        let node = api.node("worker-1").await.unwrap();
        assert_eq!(
            node.spec.as_ref().unwrap().provider_id.as_deref(),
            Some(format!("sakuracloud://{}", server.id).as_str())
        );
        let addresses: Vec<(String, String)> = node
            .status
            .unwrap()
            .addresses
            .unwrap()
            .into_iter()
            .map(|a| (a.type_, a.address))
            .collect();
        assert!(
            addresses.contains(&("InternalIP".to_owned(), "203.0.113.21".to_owned())),
            "{addresses:?}"
        );
        assert!(
            addresses.contains(&("Hostname".to_owned(), "worker-1".to_owned())),
            "{addresses:?}"
        );
        let labels = node.metadata.labels.unwrap();
        assert_eq!(
            labels
                .get("topology.kubernetes.io/zone")
                .map(String::as_str),
            Some("is1a")
        );
        assert_eq!(
            labels
                .get("topology.kubernetes.io/region")
                .map(String::as_str),
            Some("is1")
        );
        assert!(labels.contains_key("node.kubernetes.io/instance-type"));

        api.create_service("web", json!({}), &[80, 443]).await;
        // .20–.23 are the servers; the appliance takes .24, the VIP .25.
        assert_eq!(api.wait_for_ingress("web").await, "203.0.113.25");
        let lb = world.sim.the_load_balancer().await.unwrap();
        assert_eq!(
            real_servers(&lb),
            ips(&["203.0.113.21", "203.0.113.22", "203.0.113.23"])
        );
        assert_eq!(lb.settings.load_balancer.len(), 2, "one VIP entry per port");
        let finalizers = api.service("web").await.unwrap().metadata.finalizers;
        assert_eq!(
            finalizers,
            Some(vec![
                "service.kubernetes.io/load-balancer-cleanup".to_owned()
            ])
        );
        assert_eq!(world.sim.successful("POST", "appliance").await, 1);
    })
}

/// Seed 000: Node names that are not server names. The taint stays (pods would stay Pending)
/// and a Warning says why, naming the closest servers; a Node whose kubelet gave `--node-ip`
/// (unique among the servers) is matched by that address instead.
#[test]
fn node_names_that_are_not_server_names_warn_and_the_node_ip_rescues_one() {
    e2e::scenario(async {
        let world = World::start("name-mismatch", SCENARIO, BOOT).await;
        let api = &world.api;
        api.register_node("k8s-worker-1", None).await;
        api.register_node("k8s-worker-2", Some("203.0.113.22"))
            .await;
        let _ccm = world.controller("ccm");

        let note = api.wait_for_event("k8s-worker-1", "ServerNotFound").await;
        assert!(
            note.contains("worker-1"),
            "the closest names are suggested: {note}"
        );
        let events = api.events_about("k8s-worker-1").await;
        assert!(
            events
                .iter()
                .any(|(t, r, _)| t == "Warning" && r == "ServerNotFound"),
            "{events:?}"
        );
        assert!(
            api.node_has_taint("k8s-worker-1", TAINT_UNINITIALIZED)
                .await
        );
        assert!(
            api.node("k8s-worker-1")
                .await
                .unwrap()
                .spec
                .unwrap()
                .provider_id
                .is_none()
        );

        api.wait_initialized(&["k8s-worker-2"]).await;
        let server = world.sim.server("worker-2").await;
        assert_eq!(
            api.node("k8s-worker-2")
                .await
                .unwrap()
                .spec
                .unwrap()
                .provider_id,
            Some(format!("sakuracloud://{}", server.id))
        );
        api.wait_for_event("k8s-worker-2", "ServerMatchedByNodeIP")
            .await;
        // The unmatched Node is looked up again (the lifecycle controller too), and stays: never
        // initialized, never deleted.
        let listed = world.sim.successful("GET", "server").await;
        eventually("more server listings", CONVERGE, || async {
            world.sim.successful("GET", "server").await >= listed + 3
        })
        .await;
        assert!(api.node("k8s-worker-1").await.is_some());
        assert!(
            api.node_has_taint("k8s-worker-1", TAINT_UNINITIALIZED)
                .await
        );
    })
}

/// Seed 000: no router tagged `@k8s`: the Service stays pending with a Warning that says which
/// tag is missing, and nothing is created.
#[test]
fn without_a_k8s_router_the_service_stays_pending_with_a_warning() {
    e2e::scenario(async {
        let untagged = SCENARIO.replace(r#"tags: ["@k8s"]"#, r#"tags: ["prod"]"#);
        let world = World::start("no-router", &untagged, BOOT).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["worker-1"]).await;

        api.create_service("web", json!({}), &[80]).await;
        let note = api.wait_for_event("web", "NetworkNotFound").await;
        assert!(note.contains("@k8s"), "{note}");
        assert_eq!(api.ingress_ip("web").await, None);
        assert!(world.sim.load_balancers().await.is_empty());
        assert_eq!(world.sim.successful("POST", "appliance").await, 0);
    })
}

/// Seed 000: two routers tagged `@k8s`: a Warning naming both and the selector annotation, the
/// Service pending; with `k8s.usacloud.jp/router-selector` it gets an address from the chosen
/// router.
#[test]
fn two_k8s_routers_need_the_router_selector() {
    e2e::scenario(async {
        let scenario = r#"
zone: is1a
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
        let world = World::start("two-routers", scenario, BOOT).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        api.register_node("worker-2", None).await;
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["worker-1", "worker-2"]).await;

        api.create_service("web", json!({}), &[80]).await;
        let note = api.wait_for_event("web", "AmbiguousNetwork").await;
        for part in ["router-a", "router-b", "k8s.usacloud.jp/router-selector"] {
            assert!(note.contains(part), "{part} missing from: {note}");
        }
        assert_eq!(api.ingress_ip("web").await, None);
        assert!(world.sim.load_balancers().await.is_empty());

        api.patch_service(
            "web",
            json!({"metadata": {"annotations": {"k8s.usacloud.jp/router-selector": "staging"}}}),
        )
        .await;
        // router-b: .36 is worker-2's; the appliance takes .37, the VIP is .38.
        assert_eq!(api.wait_for_ingress("web").await, "203.0.113.38");
        let lb = wait_for("worker-2 is the real server", CONVERGE, || async {
            let lb = world.sim.the_load_balancer().await?;
            (real_servers(&lb) == ips(&["203.0.113.36"])).then_some(lb)
        })
        .await;
        assert_eq!(lb.settings.load_balancer.len(), 1);
    })
}

/// An API key that may only view: the controller refuses to start (exit 1) and says which
/// permission it needs and how to run without load balancers, instead of failing later on
/// every Service.
#[test]
fn a_view_only_api_key_stops_the_start_with_a_clear_message() {
    e2e::scenario(async {
        let world =
            World::start_with_sim_args("view-only", SCENARIO, BOOT, &["--permission=view"]).await;
        let mut ccm = world.controller("ccm");
        let status = ccm.process.wait_exit(CONVERGE);
        assert_eq!(status.code(), Some(1));
        let log = ccm.process.log_text();
        assert!(log.contains(r#"permission is "view""#), "{log}");
        assert!(log.contains("SAKURACLOUD_DISABLE_LOAD_BALANCER"), "{log}");
    })
}
