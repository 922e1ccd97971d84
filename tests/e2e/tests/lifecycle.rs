//! Day-two operations through real processes: Nodes joining and leaving, a Service deleted, a
//! server deleted or powered off in the cloud.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use e2e::cloud::{ips, real_servers};
use e2e::cluster::TAINT_SHUTDOWN;
use e2e::{CONVERGE, SCENARIO, World, eventually, wait_for};
use serde_json::json;

const BOOT: Duration = Duration::from_millis(500);

/// Workers join and leave: the real servers follow, the VIP and the appliance stay (no second
/// create), and each change is one settings update.
#[test]
fn nodes_join_and_leave_and_the_real_servers_follow() {
    e2e::scenario(async {
        let world = World::start("join-leave", SCENARIO, BOOT).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["worker-1"]).await;
        api.create_service("web", json!({}), &[80]).await;
        let vip = api.wait_for_ingress("web").await;
        let first = world.sim.the_load_balancer().await.unwrap();
        assert_eq!(real_servers(&first), ips(&["203.0.113.21"]));

        api.register_node("worker-2", None).await;
        api.register_node("worker-3", None).await;
        let lb = wait_for("workers 2 and 3 join", CONVERGE, || async {
            let lb = world.sim.the_load_balancer().await?;
            (real_servers(&lb) == ips(&["203.0.113.21", "203.0.113.22", "203.0.113.23"]))
                .then_some(lb)
        })
        .await;
        assert_eq!(lb.id, first.id, "the same appliance");

        api.delete_node("worker-1").await;
        let lb = wait_for("worker-1 leaves", CONVERGE, || async {
            let lb = world.sim.the_load_balancer().await?;
            (real_servers(&lb) == ips(&["203.0.113.22", "203.0.113.23"])).then_some(lb)
        })
        .await;
        assert_eq!(lb.id, first.id, "the same appliance");
        assert_eq!(api.ingress_ip("web").await, Some(vip));
        assert_eq!(world.sim.successful("POST", "appliance").await, 1);
        assert_eq!(world.sim.successful("DELETE", "appliance/{id}").await, 0);
    })
}

/// Deleting the Service shuts the appliance down and deletes it, then removes the finalizer:
/// the Service is gone and nothing is left in the cloud.
#[test]
fn deleting_the_service_deletes_the_appliance_then_the_finalizer() {
    e2e::scenario(async {
        let world = World::start("service-delete", SCENARIO, BOOT).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["worker-1"]).await;
        api.create_service("web", json!({}), &[80]).await;
        api.wait_for_ingress("web").await;
        assert_eq!(world.sim.load_balancers().await.len(), 1);

        api.delete_service("web").await;
        eventually("the Service is gone", CONVERGE, || async {
            api.service("web").await.is_none()
        })
        .await;
        assert!(
            world.sim.load_balancers().await.is_empty(),
            "the finalizer goes only after the appliance"
        );
        assert_eq!(world.sim.successful("DELETE", "appliance/{id}").await, 1);
        // Told after the finalizer goes (as upstream does), so possibly a moment later.
        api.wait_for_event("web", "DeletedLoadBalancer").await;
    })
}

/// A server deleted in the cloud: its Node, once NotReady, is deleted. A server powered off:
/// its Node gets the shutdown taint (and keeps existing).
#[test]
fn a_deleted_server_deletes_its_node_and_a_stopped_one_taints_it() {
    e2e::scenario(async {
        let world = World::start("server-gone", SCENARIO, BOOT).await;
        let api = &world.api;
        for worker in ["worker-1", "worker-2", "worker-3"] {
            api.register_node(worker, None).await;
        }
        let _ccm = world.controller("ccm");
        api.wait_initialized(&["worker-1", "worker-2", "worker-3"])
            .await;

        world.sim.remove_server("worker-1").await;
        world.sim.power_off("worker-2").await;
        // The kubelets stop reporting; kube-controller-manager marks the Nodes NotReady.
        api.set_node_ready("worker-1", false).await;
        api.set_node_ready("worker-2", false).await;

        eventually("worker-1's Node is deleted", CONVERGE, || async {
            api.node("worker-1").await.is_none()
        })
        .await;
        eventually("worker-2 has the shutdown taint", CONVERGE, || async {
            api.node_has_taint("worker-2", TAINT_SHUTDOWN).await
        })
        .await;
        assert!(api.node("worker-2").await.is_some());
        assert!(!api.node_has_taint("worker-3", TAINT_SHUTDOWN).await);
        assert!(api.node("worker-3").await.is_some());
    })
}
