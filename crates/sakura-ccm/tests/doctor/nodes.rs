//! `nodes.*` and `network.kube_proxy`: Nodes against their servers, kubelets, node IPs, kube-proxy.

use super::*;

// ---- nodes ----

#[test]
fn a_node_named_unlike_its_server_fails_with_the_closest_names() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.add_node("wrker-2");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_UNMATCHED,
            Status::Fail,
            "wrker-2: no server has this name; closest server names: \"worker-2\"",
        );
        assert_verdict(
            &report,
            ids::NODES_UNMATCHED,
            Status::Fail,
            "--hostname-override",
        );
        assert_verdict(
            &report,
            ids::NODES_UNINITIALIZED,
            Status::Fail,
            "wrker-2: it matches no server",
        );
        assert_eq!(report.exit_code(), 1);
    })
}

#[test]
fn duplicate_server_names_fail_when_a_node_has_the_name() {
    test_runtime::run_multi(async {
        let scenario = format!(
            "{SCENARIO}  - name: worker-5\n    nics:\n      - router: k8s-router\n  - name: worker-5\n    nics:\n      - router: k8s-router\n"
        );
        let c = healthy(&scenario).await;
        c.add_node("worker-5");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_DUPLICATE_NAMES,
            Status::Fail,
            "\"worker-5\": servers",
        );
        assert_verdict(
            &report,
            ids::NODES_UNINITIALIZED,
            Status::Fail,
            "worker-5: several servers have its name",
        );
    })
}

#[test]
fn a_tainted_node_is_explained_by_its_last_warning() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        // worker-3 is re-registered by its kubelet: tainted, no provider ID, seconds old.
        c.delete_node("worker-3");
        c.add_node("worker-3");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_UNINITIALIZED,
            Status::Warn,
            "worker-3: it joined less than a minute ago",
        );
        assert_eq!(report.exit_code(), 0);
        // A Warning about it explains it, whatever its age.
        add_warning(
            &c,
            "Node",
            "default",
            "worker-3",
            "SyncNodeFailed",
            "listing servers: 503 Service Unavailable",
        );
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_UNINITIALIZED,
            Status::Fail,
            "worker-3: last Warning: SyncNodeFailed: listing servers: 503 Service Unavailable",
        );
    })
}

#[test]
fn a_tainted_node_without_a_controller_is_blamed_on_the_controller() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        c.add_node("worker-1");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_UNINITIALIZED,
            Status::Fail,
            "worker-1: no controller is running",
        );
        assert_verdict(
            &report,
            ids::CONTROLLER_WORKLOAD,
            Status::Fail,
            "No controller Deployment or DaemonSet in kube-system",
        );
    })
}

#[test]
fn a_kubelet_without_cloud_provider_external_fails() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.delete_node("worker-2");
        c.api
        .store()
        .create(
            "nodes",
            None,
            json!({"metadata": {"name": "worker-2"}, "status": {"addresses": [{"type": "InternalIP", "address": "203.0.113.22"}]}}),
        )
        .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_CLOUD_PROVIDER,
            Status::Fail,
            "worker-2: neither the node.cloudprovider.kubernetes.io/uninitialized taint nor a provider ID",
        );
        assert_verdict(
            &report,
            ids::NODES_CLOUD_PROVIDER,
            Status::Fail,
            "--cloud-provider=external",
        );
    })
}

#[test]
fn a_node_outside_every_tagged_network_fails() {
    test_runtime::run_multi(async {
        let scenario = format!(
            "{SCENARIO}  - name: worker-6\n    nics:\n      - switch: private-net\n        ip: 192.168.0.16\n        prefix_len: 24\n"
        );
        let c = healthy(&scenario).await;
        let id = c.server("worker-6").await.id.0;
        add_initialized_node(&c, "worker-6", id, "192.168.0.16");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NODES_NETWORK,
            Status::Fail,
            "worker-6: 192.168.0.16",
        );
        assert_verdict(
            &report,
            ids::NODES_NETWORK,
            Status::Fail,
            "networks: 203.0.113.16/28",
        );
        assert_verdict(
            &report,
            ids::NODES_NETWORK,
            Status::Fail,
            "同一ネットワーク",
        );
    })
}

// ---- networking ----

#[test]
fn ipvs_without_strict_arp_fails_and_a_missing_configmap_reminds() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.api
        .store()
        .patch(
            "configmaps",
            Some("kube-system"),
            "kube-proxy",
            PatchType::Merge,
            &json!({"data": {"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: false\n"}}),
            Subresource::Main,
        )
        .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NETWORK_KUBE_PROXY,
            Status::Fail,
            "strictARP: true",
        );

        c.api
            .store()
            .delete("configmaps", Some("kube-system"), "kube-proxy")
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::NETWORK_KUBE_PROXY,
            Status::Warn,
            "arp_ignore=1 and net.ipv4.conf.all.arp_announce=2",
        );
        assert_eq!(report.exit_code(), 0, "a reminder is not a failure");
    })
}
