//! The create path of a load-balancer appliance when the SAKURA Cloud API fails around it:
//! before the change (the create never happened) and after it (the appliance exists but the
//! answer is an error, or never arrives). Each must end with exactly one appliance, found again
//! by its tags, never a second one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::collections::BTreeSet;

use sacloud_sim::ErrorRule;
use support::{Cluster, SCENARIO, ips, real_servers, start_with_nodes};

const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];

/// One 503 on the first `POST appliance`.
fn create_fails_once() -> ErrorRule {
    ErrorRule {
        status: 503,
        rate: 1.0,
        count: Some(1),
        method: Some("POST".to_owned()),
        path_prefix: Some("appliance".to_owned()),
        retry_after: None,
        error_code: None,
        message: None,
    }
}

/// `(status, count)` of every `POST appliance` the simulator answered.
fn creates(cluster: &Cluster) -> Vec<(u16, u64)> {
    cluster
        .sim
        .handle()
        .counters()
        .iter()
        .filter(|c| c.method == "POST" && c.path == "appliance")
        .map(|c| (c.status, c.count))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The Service gets the VIP from exactly one appliance, tagged with its UID, whose real servers
/// are the workers.
async fn converges_to_one_appliance(cluster: &Cluster, uid: &str) {
    assert_eq!(cluster.wait_for_ingress("web").await, "203.0.113.25");
    let lbs = cluster.load_balancers().await;
    assert_eq!(lbs.len(), 1, "{lbs:#?}");
    assert!(lbs[0].tags.contains(&format!("@k8s.ServiceUID={uid}")));
    assert_eq!(
        real_servers(&lbs[0]),
        ips(&["203.0.113.21", "203.0.113.22", "203.0.113.23"])
    );
}

/// `POST appliance` answers 503 once, before creating anything: the create is retried into
/// exactly one appliance.
#[test]
fn a_failed_create_is_retried_into_exactly_one_appliance() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        cluster
            .sim
            .handle()
            .add_error_rule(create_fails_once())
            .unwrap();
        let uid = cluster.add_service("web", &[], &[80]);
        converges_to_one_appliance(&cluster, &uid).await;
        assert_eq!(creates(&cluster), vec![(202, 1), (503, 1)]);
    })
}

/// The appliance is created, then the answer is a 503 (fault phase "after"): the controller
/// must not create a second one. It finds the first by its tags on the next attempt.
#[test]
fn a_create_answered_with_an_error_after_it_succeeded_is_not_repeated() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        cluster
            .sim
            .handle()
            .add_error_rule(create_fails_once().after())
            .unwrap();
        let uid = cluster.add_service("web", &[], &[80]);
        converges_to_one_appliance(&cluster, &uid).await;
        let total: u64 = creates(&cluster).iter().map(|(_, n)| n).sum();
        assert_eq!(total, 1, "one create call only: {:?}", creates(&cluster));
    })
}

/// The appliance is created, then the connection is dropped before any answer: the client
/// cannot know whether it happened, and must not repeat the `POST` blindly.
#[test]
fn a_create_whose_answer_is_lost_is_not_repeated() {
    test_runtime::run_multi(async {
        let cluster = start_with_nodes(SCENARIO, &WORKERS, &[]).await;
        cluster
            .sim
            .handle()
            .add_error_rule(create_fails_once().after().dropping())
            .unwrap();
        let uid = cluster.add_service("web", &[], &[80]);
        converges_to_one_appliance(&cluster, &uid).await;
        assert_eq!(cluster.sim.handle().count("POST", "appliance"), 1);
    })
}
