//! Seed 000's shared-segment story through real processes: "the shared segment (共有セグメント)
//! is not supported". Nodes on the shared segment only: a Service of the default type gets the
//! `NetworkNotFound` Warning and no IP (what users of the original saw), and the Enhanced Load
//! Balancer (`load-balancer-type: enhanced`, per Service or as the cluster-wide default) serves
//! it, with the nodes' shared-segment addresses at the node ports as real servers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::net::Ipv4Addr;
use std::time::Duration;

use e2e::cloud::enhanced_real_servers;
use e2e::{CONVERGE, SHARED_SEGMENT, World, eventually, wait_for};
use serde_json::json;

const BOOT: Duration = Duration::from_millis(500);
const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];
/// The workers' shared-segment addresses (control-plane-1 is .10).
const WORKER_IPS: [&str; 3] = ["100.64.0.11", "100.64.0.12", "100.64.0.13"];

/// Registers the control plane (labelled as kubeadm does) and the workers.
async fn register_nodes(world: &World) {
    world
        .api
        .register_node_labelled(
            "control-plane-1",
            None,
            json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
        )
        .await;
    for worker in WORKERS {
        world.api.register_node(worker, None).await;
    }
}

/// The workers at each of `node_ports`, sorted as [`enhanced_real_servers`] sorts.
fn workers_at(node_ports: &[u16]) -> Vec<(Ipv4Addr, u16)> {
    let mut expected: Vec<(Ipv4Addr, u16)> = WORKER_IPS
        .iter()
        .flat_map(|ip| node_ports.iter().map(|p| (ip.parse().unwrap(), *p)))
        .collect();
    expected.sort();
    expected
}

/// The Node's `ExternalIP`s.
async fn external_ips(world: &World, name: &str) -> Vec<String> {
    world
        .api
        .node(name)
        .await
        .and_then(|n| n.status?.addresses)
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "ExternalIP")
        .map(|a| a.address)
        .collect()
}

/// Seed 000: a Service of the default type on shared-segment nodes gets `NetworkNotFound`
/// (which now names the Enhanced Load Balancer) and no IP, and nothing is created. Annotated
/// `load-balancer-type: enhanced`, the same Service gets an Enhanced LB whose real servers are
/// the workers' shared-segment addresses at its node port (the control plane left out), and
/// the Enhanced LB's VIP as its external IP. Deleting the Service deletes the Enhanced LB
/// before the finalizer goes.
#[test]
fn seed_000_shared_segment_nodes_get_an_enhanced_load_balancer() {
    e2e::scenario(async {
        let world = World::start("shared-segment", SHARED_SEGMENT, BOOT).await;
        let api = &world.api;
        register_nodes(&world).await;
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["control-plane-1", "worker-1", "worker-2", "worker-3"])
            .await;
        // The shared-segment address is each Node's global address (written just after the
        // taint goes; the Warning's hint below reads them).
        for (name, ip) in [("control-plane-1", "100.64.0.10")]
            .into_iter()
            .chain(WORKERS.into_iter().zip(WORKER_IPS))
        {
            eventually(&format!("{name} has {ip}"), CONVERGE, || async {
                external_ips(&world, name).await == [ip]
            })
            .await;
        }

        // What users saw before: a pending Service and a Warning.
        api.create_service("web", json!({}), &[80]).await;
        let note = api.wait_for_event("web", "NetworkNotFound").await;
        assert!(note.contains("@k8s"), "{note}");
        assert!(
            note.contains("shared segment") && note.contains("load-balancer-type: enhanced"),
            "the Warning points to the Enhanced Load Balancer: {note}"
        );
        assert_eq!(api.ingress_ip("web").await, None);
        assert!(world.sim.load_balancers().await.is_empty());
        assert!(world.sim.enhanced_load_balancers().await.is_empty());

        // The fix: the same Service asks for an Enhanced Load Balancer.
        api.patch_service(
            "web",
            json!({"metadata": {"annotations": {"k8s.usacloud.jp/load-balancer-type": "enhanced"}}}),
        )
        .await;
        let ip = api.wait_for_ingress("web").await;
        // The Service can be ensured before every Node's address is known: a node-set update
        // then follows (one settings update).
        let item = wait_for("the workers are the real servers", CONVERGE, || async {
            let item = world.sim.the_enhanced_load_balancer().await?;
            (enhanced_real_servers(&item) == workers_at(&[30080])).then_some(item)
        })
        .await;
        assert_eq!(
            world.sim.enhanced_vip(item.id).await.map(|v| v.to_string()),
            Some(ip.clone()),
            "the external IP is the Enhanced LB's VIP"
        );
        assert_eq!(item.settings.bind_ports.len(), 1);
        assert_eq!(item.settings.bind_ports[0].port, 80);
        let uid = api.service("web").await.unwrap().metadata.uid.unwrap();
        assert!(
            item.tags.contains(&format!("@k8s.ServiceUID={uid}")),
            "{:?}",
            item.tags
        );
        assert!(world.sim.load_balancers().await.is_empty(), "no appliance");
        assert_eq!(world.sim.successful("POST", "appliance").await, 0);
        assert_eq!(world.sim.successful("POST", "commonserviceitem").await, 1);
        let events = api.events_about("web").await;
        assert!(
            events.iter().any(|(t, r, n)| t == "Normal"
                && r == "LoadBalancerSettingsApplied"
                && n.contains("Enhanced Load Balancer")),
            "{events:?}"
        );

        api.delete_service("web").await;
        eventually("the Service is gone", CONVERGE, || async {
            api.service("web").await.is_none()
        })
        .await;
        assert!(
            world.sim.enhanced_load_balancers().await.is_empty(),
            "the finalizer goes only after the Enhanced LB"
        );
        assert_eq!(
            world
                .sim
                .successful("DELETE", "commonserviceitem/{id}")
                .await,
            1
        );
        // Told after the finalizer goes (as upstream does), so possibly a moment later.
        api.wait_for_event("web", "DeletedLoadBalancer").await;
    })
}

/// The cluster-wide default `SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE=enhanced` in the
/// controller's environment: a Service without annotations gets an Enhanced Load Balancer (two
/// ports: each worker at each node port) and never a `NetworkNotFound`; a Service's own
/// `load-balancer-type: internet` still wins (and, on the shared segment, gets the Warning).
#[test]
fn the_cluster_wide_enhanced_default_serves_unannotated_services() {
    e2e::scenario(async {
        let world = World::start("shared-segment-default", SHARED_SEGMENT, BOOT).await;
        let api = &world.api;
        register_nodes(&world).await;
        let _ccm = world.controller_with_env(
            "ccm",
            &[("SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE", "enhanced")],
        );
        api.wait_initialized(&["control-plane-1", "worker-1", "worker-2", "worker-3"])
            .await;

        api.create_service("web", json!({}), &[80, 443]).await;
        let ip = api.wait_for_ingress("web").await;
        let item = wait_for("the workers are the real servers", CONVERGE, || async {
            let item = world.sim.the_enhanced_load_balancer().await?;
            (enhanced_real_servers(&item) == workers_at(&[30080, 30443])).then_some(item)
        })
        .await;
        assert_eq!(
            world.sim.enhanced_vip(item.id).await.map(|v| v.to_string()),
            Some(ip)
        );
        let ports: Vec<u16> = item.settings.bind_ports.iter().map(|b| b.port).collect();
        assert_eq!(ports, [80, 443]);
        assert!(world.sim.load_balancers().await.is_empty());
        assert_eq!(world.sim.successful("POST", "commonserviceitem").await, 1);
        let reasons: Vec<String> = api
            .events_about("web")
            .await
            .into_iter()
            .map(|(_, r, _)| r)
            .collect();
        assert!(
            !reasons.iter().any(|r| r == "NetworkNotFound"),
            "{reasons:?}"
        );

        // A Service's own annotation wins over the default.
        api.create_service(
            "appliance",
            json!({"k8s.usacloud.jp/load-balancer-type": "internet"}),
            &[81],
        )
        .await;
        let note = api.wait_for_event("appliance", "NetworkNotFound").await;
        assert!(note.contains("@k8s"), "{note}");
        assert_eq!(api.ingress_ip("appliance").await, None);
        assert_eq!(
            world.sim.enhanced_load_balancers().await.len(),
            1,
            "no Enhanced LB for the Service that asked for an appliance"
        );
        assert_eq!(world.sim.successful("POST", "appliance").await, 0);
    })
}
