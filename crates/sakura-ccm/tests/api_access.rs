//! The Kubernetes API calls the controller manager really makes are exactly what
//! `cloud_provider::access::REQUIRED_ACCESS` (and so the deployment's ClusterRole, see
//! `deploy_manifests.rs`) allows: the fake API server records every request in RBAC terms while
//! the binary's controllers, with leader election on, go through node initialization, a
//! LoadBalancer Service's create/update/delete, a node shutdown and a node deletion.
//!
//! The test drives and observes the cluster through the fake's store only (never through
//! HTTP), so every recorded request is the controller's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::collections::BTreeSet;

use cloud_provider::access::REQUIRED_ACCESS;
use cloud_provider::labels::{FINALIZER_LB_CLEANUP, TAINT_SHUTDOWN, TAINT_UNINITIALIZED};
use fake_apiserver::RecordedRequest;
use serde_json::{Value, json};
use support::{CONVERGE, Cluster, SCENARIO, eventually};

const LEASES: &str = "leases.coordination.k8s.io";
const LEASE: &str = "cloud-controller-manager";
const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];

/// Access in `REQUIRED_ACCESS` that this scenario cannot be made to exercise on demand, each
/// with the code path that needs it. Anything else granted but unused fails the test, so the
/// list cannot silently grow stale.
const RARELY_USED: &[(&str, &str, &str, &str)] = &[
    (
        "",
        "nodes",
        "get",
        "node controller: re-reads a Node after a 409 Conflict on its initializing update \
         (initialize)",
    ),
    (
        "",
        "services",
        "get",
        "service controller: re-reads a Service after a 409 Conflict on its finalizer patch \
         (patch_finalizers)",
    ),
    (
        "events.k8s.io",
        "events",
        "patch",
        "event publisher: counts a repeat of the same event within the series window \
         (create_or_continue)",
    ),
];

fn stored(cluster: &Cluster, resource: &str, ns: Option<&str>, name: &str) -> Option<Value> {
    cluster.api.store().get(resource, ns, name).ok()
}

fn taint_keys(node: &Value) -> Vec<String> {
    node["spec"]["taints"]
        .as_array()
        .map(|taints| {
            taints
                .iter()
                .filter_map(|t| t["key"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn initialized(cluster: &Cluster, name: &str) -> bool {
    stored(cluster, "nodes", None, name).is_some_and(|n| {
        n["spec"]["providerID"].is_string()
            && !taint_keys(&n).iter().any(|k| k == TAINT_UNINITIALIZED)
            && n["status"]["addresses"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
    })
}

fn lease_holder(cluster: &Cluster) -> Option<String> {
    stored(cluster, LEASES, Some("kube-system"), LEASE)
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_owned))
}

fn ingress_ip(cluster: &Cluster, name: &str) -> Option<String> {
    stored(cluster, "services", Some("default"), name).and_then(|s| {
        s["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(str::to_owned)
    })
}

/// Whether `REQUIRED_ACCESS` allows the request.
fn allowed(request: &RecordedRequest) -> bool {
    REQUIRED_ACCESS.iter().any(|a| {
        a.group == request.group
            && a.resource == request.rbac_resource()
            && a.verbs.contains(&request.verb.as_str())
    })
}

#[test]
fn every_api_call_of_the_controller_manager_is_in_required_access() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SCENARIO).await;
        // A lease a previous leader still holds: the candidate watches it, waits for it to
        // expire, then takes it over (get, list, watch, update).
        cluster
            .api
            .store()
            .create(
                LEASES,
                Some("kube-system"),
                json!({
                    "metadata": {"name": LEASE, "namespace": "kube-system"},
                    "spec": {"holderIdentity": "previous-leader", "leaseDurationSeconds": 1}
                }),
            )
            .unwrap();
        cluster
            .start_controller(&[
                "--leader-elect=true",
                "--leader-elect-lease-duration=4s",
                "--leader-elect-renew-deadline=3s",
                "--leader-elect-retry-period=500ms",
            ])
            .await;
        eventually("the lease taken over", CONVERGE, || async {
            lease_holder(&cluster).is_some_and(|h| !h.is_empty() && h != "previous-leader")
        })
        .await;
        let me = lease_holder(&cluster).unwrap();

        // Node initialization.
        for name in WORKERS {
            cluster.add_node(name);
        }
        eventually("workers initialized", CONVERGE, || async {
            WORKERS.iter().all(|n| initialized(&cluster, n))
        })
        .await;

        // A LoadBalancer Service: created, its ports changed, deleted.
        cluster.add_service("web", &[], &[80]);
        eventually("web gets an external IP", CONVERGE, || async {
            ingress_ip(&cluster, "web").is_some()
        })
        .await;
        cluster.patch_service(
            "web",
            json!({"spec": {"ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}
            ]}}),
        );
        eventually("port 443 on the appliance", CONVERGE, || async {
            cluster
                .load_balancers()
                .await
                .first()
                .is_some_and(|lb| lb.settings.load_balancer.len() == 2)
        })
        .await;
        let finalized = stored(&cluster, "services", Some("default"), "web").unwrap();
        assert!(
            finalized["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == FINALIZER_LB_CLEANUP)),
            "{finalized}"
        );
        cluster.delete_service("web");
        eventually("web deleted with its appliance", CONVERGE, || async {
            stored(&cluster, "services", Some("default"), "web").is_none()
                && cluster.load_balancers().await.is_empty()
        })
        .await;

        // Node lifecycle: a powered-off server's NotReady Node is tainted, a removed server's
        // NotReady Node is deleted.
        let id = cluster.server("worker-1").await.id.0;
        cluster.sim.handle().set_server_power(id, false).unwrap();
        cluster.set_node_ready("worker-1", false);
        eventually("worker-1 gets the shutdown taint", CONVERGE, || async {
            stored(&cluster, "nodes", None, "worker-1")
                .is_some_and(|n| taint_keys(&n).iter().any(|k| k == TAINT_SHUTDOWN))
        })
        .await;
        let id = cluster.server("worker-3").await.id.0;
        cluster.sim.handle().remove_server(id).unwrap();
        cluster.set_node_ready("worker-3", false);
        eventually("worker-3 deleted", CONVERGE, || async {
            stored(&cluster, "nodes", None, "worker-3").is_none()
        })
        .await;

        // The lease vanishes under the leader: the next renewal creates it again (create).
        cluster
            .api
            .store()
            .delete(LEASES, Some("kube-system"), LEASE)
            .unwrap();
        eventually("the lease re-created by the leader", CONVERGE, || async {
            lease_holder(&cluster).as_deref() == Some(me.as_str())
        })
        .await;

        // Stopping releases the lease (get, update).
        cluster.stop_controller().await;
        assert_eq!(lease_holder(&cluster).as_deref(), Some(""));
        assert!(
            !cluster
                .api
                .store()
                .list("events.events.k8s.io", None)
                .unwrap()
                .is_empty(),
            "the controller published events"
        );

        let recorded = cluster.api.requests();
        let denied: Vec<&RecordedRequest> = recorded.iter().filter(|r| !allowed(r)).collect();
        assert!(
            denied.is_empty(),
            "calls that REQUIRED_ACCESS (and so the ClusterRole) does not allow: {denied:#?}"
        );

        // Nothing more: every granted verb was used here, or is a known rare path.
        let used: BTreeSet<(String, String, String)> = recorded
            .iter()
            .map(|r| (r.group.clone(), r.rbac_resource(), r.verb.clone()))
            .collect();
        let unused: Vec<(&str, &str, &str)> = REQUIRED_ACCESS
            .iter()
            .flat_map(|a| a.verbs.iter().map(move |v| (a.group, a.resource, *v)))
            .filter(|(g, r, v)| {
                !used.contains(&((*g).to_owned(), (*r).to_owned(), (*v).to_owned()))
                    && !RARELY_USED
                        .iter()
                        .any(|(rg, rr, rv, _)| (rg, rr, rv) == (g, r, v))
            })
            .collect();
        assert!(
            unused.is_empty(),
            "granted in REQUIRED_ACCESS but never used: {unused:?}; recorded: {recorded:#?}"
        );

        // Lease calls stay in the lease's namespace: a Role there would do as well as the
        // ClusterRole (see docs/deploy.md).
        for r in recorded.iter().filter(|r| r.resource == "leases") {
            assert_eq!(r.namespace.as_deref(), Some("kube-system"), "{r:?}");
        }
    })
}
