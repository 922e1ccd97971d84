//! A `type: LoadBalancer` Service through its whole life, with the binary's controllers and
//! the SAKURA provider against the simulator and the fake API server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::sync::Arc;
use std::time::Duration;

use cloud_provider::provider::{InstancesV2 as _, LoadBalancer as _};
use sakura_ccm::provider::cloud_instances::SakuraInstances;
use sakura_ccm::provider::load_balancers::SakuraLoadBalancers;
use sakura_ccm::provider::servers::ServerListing;
use serde_json::json;
use support::{
    CLUSTER_ID, CONVERGE, Cluster, SCENARIO, eventually, ips, real_servers, start_with_nodes,
};

const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];

#[test]
fn create_update_resync_and_delete() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;

        // Create: the VIP is the first free address of the router's range after the servers'
        // (.20–.23) and the appliance's own (.24).
        let uid = cluster.add_service("web", &[], &[80]);
        let vip = cluster.wait_for_ingress("web").await;
        assert_eq!(vip, "203.0.113.25");
        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1);
        let lb = &lbs[0];
        let id = lb.id;
        assert!(
            lb.tags.contains(&format!("@k8s.ServiceUID={uid}")),
            "{:?}",
            lb.tags
        );
        assert!(lb.tags.contains(&format!("@k8s.ClusterID={CLUSTER_ID}")));
        assert_eq!(
            real_servers(lb),
            ips(&["203.0.113.21", "203.0.113.22", "203.0.113.23"])
        );
        let service = cluster.service("web").await.unwrap();
        assert!(
            service
                .metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"service.kubernetes.io/load-balancer-cleanup".to_owned())
        );

        // Ports change: one settings update and one config apply, same appliance and VIP.
        cluster.sim.handle().clear_counters();
        cluster.patch_service(
            "web",
            json!({"spec": {"ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}
            ]}}),
        );
        eventually("port 443 added", CONVERGE, || async {
            cluster.load_balancers().await[0]
                .settings
                .load_balancer
                .len()
                == 2
        })
        .await;
        eventually("the config applied", CONVERGE, || async {
            cluster.sim.handle().count("PUT", "appliance/{id}/config") == 1
        })
        .await;
        assert_eq!(cluster.sim.handle().count("PUT", "appliance/{id}"), 1);
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 0);

        // A node leaves, another joins: real servers follow; the VIP and appliance stay.
        cluster.delete_node("worker-3");
        eventually(
            "worker-3 removed from the real servers",
            CONVERGE,
            || async {
                real_servers(&cluster.load_balancers().await[0])
                    == ips(&["203.0.113.21", "203.0.113.22"])
            },
        )
        .await;
        cluster.add_node("worker-3");
        eventually("worker-3 back in the real servers", CONVERGE, || async {
            real_servers(&cluster.load_balancers().await[0])
                == ips(&["203.0.113.21", "203.0.113.22", "203.0.113.23"])
        })
        .await;
        let lbs = cluster.load_balancers().await;
        assert_eq!(lbs.len(), 1);
        assert_eq!(lbs[0].id, id);
        assert_eq!(cluster.ingress_ip("web").await.unwrap(), vip);
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 0);

        // Delete: shut down, deleted, finalizer released, nothing left in the simulator.
        cluster.delete_service("web");
        eventually("the Service is gone", CONVERGE, || async {
            cluster.service("web").await.is_none()
        })
        .await;
        assert!(cluster.load_balancers().await.is_empty());
        let deleted = cluster.events_about("web").await;
        assert!(
            deleted
                .iter()
                .any(|(_, reason, _)| reason == "DeletedLoadBalancer"),
            "{deleted:?}"
        );
    })
}

#[test]
fn a_resync_with_nothing_changed_writes_nothing() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        cluster
            .start_controller(&["--service-resync-period=300ms"])
            .await;
        for name in WORKERS {
            cluster.add_node(name);
        }
        cluster.add_service("web", &[], &[80, 443]);
        cluster.add_service("api", &[], &[8080]);
        cluster.wait_for_ingress("web").await;
        cluster.wait_for_ingress("api").await;
        eventually("all workers are real servers", CONVERGE, || async {
            cluster
                .load_balancers()
                .await
                .iter()
                .all(|lb| real_servers(lb).len() == 3)
        })
        .await;

        cluster.sim.handle().clear_counters();
        // Several resync periods and node-status periods pass.
        eventually("a few resyncs", CONVERGE, || async {
            cluster.sim.handle().count("GET", "appliance") >= 3
        })
        .await;
        assert_eq!(cluster.writes(), 0, "{:?}", cluster.sim.handle().counters());
    })
}

/// The node controllers and the load balancers read one listing of the servers (as the
/// binary wires them): a Service created while the Nodes' listing is fresh lists no servers of
/// its own; providers with listings of their own list twice.
#[test]
fn nodes_and_load_balancers_share_one_server_listing() {
    test_runtime::run_multi(async {
        let mut cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        cluster.stop_controller().await;
        let age = Duration::from_secs(60);
        let cloud = cluster.cloud.clone();

        let own = SakuraLoadBalancers::new(cloud.clone(), Some(CLUSTER_ID.to_owned()));
        let calls = server_listings_for_lookup_and_create(
            &cluster,
            "own",
            SakuraInstances::new(cloud.clone()).with_max_age(age),
            own.with_max_age(age),
        )
        .await;
        assert_eq!(calls, 2, "a listing each");

        let servers = Arc::new(ServerListing::new(cloud.clone(), &[], age));
        let shared = SakuraLoadBalancers::new(cloud.clone(), Some(CLUSTER_ID.to_owned()));
        let calls = server_listings_for_lookup_and_create(
            &cluster,
            "shared",
            SakuraInstances::new(cloud).with_server_listing(servers.clone()),
            shared.with_max_age(age).with_server_listing(servers),
        )
        .await;
        assert_eq!(calls, 1, "one listing for both");
        assert_eq!(cluster.load_balancers().await.len(), 2);
    })
}

/// Looks every Node up, then creates the load balancer of a new Service `name`; returns how
/// many server listings (`GET server`) that took.
async fn server_listings_for_lookup_and_create(
    cluster: &Cluster,
    name: &str,
    instances: SakuraInstances,
    balancers: SakuraLoadBalancers,
) -> u64 {
    cluster.add_service(name, &[], &[80]);
    let service = cluster.service(name).await.unwrap();
    let nodes = cluster.nodes().await;
    cluster.sim.handle().clear_counters();
    let looked_up = instances.instance_metadata_batch(&nodes).await;
    assert!(looked_up.iter().all(Result::is_ok), "{looked_up:?}");
    let created = balancers.ensure("kubernetes", &service, &nodes).await;
    assert!(
        created.is_err(),
        "the appliance is still booting: {created:?}"
    );
    cluster.sim.handle().count("GET", "server")
}
