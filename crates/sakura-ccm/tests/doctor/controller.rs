//! `controller.*`: the workload, its toleration, the leader Lease, RBAC.

use super::*;

// ---- controller ----

#[test]
fn a_controller_without_the_toleration_fails() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        add_deployment(&c, deployment(false, &[]), 0);
        add_lease(&c, &now());
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CONTROLLER_TOLERATIONS,
            Status::Fail,
            "does not tolerate node.cloudprovider.kubernetes.io/uninitialized",
        );
        assert_verdict(
            &report,
            ids::CONTROLLER_WORKLOAD,
            Status::Fail,
            "has no ready replica",
        );
    })
}

#[test]
fn an_expired_lease_fails_and_leader_election_off_passes() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.api
            .store()
            .patch(
                "leases.coordination.k8s.io",
                Some("kube-system"),
                "cloud-controller-manager",
                PatchType::Merge,
                &json!({"spec": {"renewTime": "2025-01-01T00:00:00.000000Z"}}),
                Subresource::Main,
            )
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CONTROLLER_LEADER,
            Status::Fail,
            "last holder \"cp-1_5d3c\"; the Lease expired",
        );

        let c = Cluster::without_controller(SCENARIO).await;
        add_deployment(&c, deployment(true, &["--leader-elect=false"]), 1);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CONTROLLER_LEADER,
            Status::Ok,
            "--leader-elect=false",
        );
    })
}

#[test]
fn a_missing_lease_fails() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        add_deployment(&c, deployment(true, &[]), 1);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CONTROLLER_LEADER,
            Status::Fail,
            "No leader Lease kube-system/cloud-controller-manager",
        );
    })
}

#[test]
fn missing_rbac_is_named_rule_by_rule() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        add_deployment(&c, deployment(true, &[]), 1);
        add_lease(&c, &now());
        add_rbac(&c, Some("/services/status"));
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CONTROLLER_RBAC,
            Status::Fail,
            "core services/status: patch",
        );
        assert_verdict(
            &report,
            ids::CONTROLLER_RBAC,
            Status::Fail,
            "kube-system/sakura-cloud-controller-manager",
        );
    })
}
