//! The controller under duress, through real processes: killed right after creating an
//! appliance, two replicas with the leader killed or stopped, and an unreliable cloud API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use e2e::process::{LEASE_DURATION, RETRY_PERIOD, metric_sum};
use e2e::{CONVERGE, Controller, SCENARIO, World, eventually, wait_for};

/// Deadline for convergence through injected faults.
const FAULTY: Duration = Duration::from_secs(150);
use serde_json::json;

/// SIGKILL right after the appliance create call was answered, before the appliance is up:
/// the next controller process finds the appliance by its tags instead of creating another,
/// and the Service gets its IP.
#[test]
fn killed_right_after_the_create_call_one_appliance_exists_after_restart() {
    e2e::scenario(async {
        let world = World::start("sigkill-after-create", SCENARIO, Duration::from_secs(3)).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        let mut first = world.controller("ccm-1");
        api.wait_initialized(&["worker-1"]).await;
        api.create_service("web", json!({}), &[80]).await;

        eventually("the appliance create call", CONVERGE, || async {
            world.sim.successful("POST", "appliance").await == 1
        })
        .await;
        first.process.sigkill();
        assert_eq!(
            api.ingress_ip("web").await,
            None,
            "killed while the appliance boots"
        );

        let _second = world.controller("ccm-2");
        assert_eq!(api.wait_for_ingress("web").await, "203.0.113.25");
        assert_eq!(world.sim.load_balancers().await.len(), 1);
        assert_eq!(world.sim.successful("POST", "appliance").await, 1);
    })
}

/// The first of `replicas` that has logged "became leader", if any.
fn leader_index(replicas: &[&Controller]) -> Option<usize> {
    replicas.iter().position(|c| c.leads())
}

/// Two replicas: one leads. SIGKILL the leader: the other takes over within the lease duration
/// and keeps reconciling. SIGTERM the new leader: it releases the lease, exits 0, and a third
/// replica takes over within 2 s.
#[test]
fn the_standby_replica_takes_over_after_sigkill_and_at_once_after_sigterm() {
    e2e::scenario(async {
        let world = World::start("replicas", SCENARIO, Duration::from_millis(500)).await;
        let api = &world.api;
        api.register_node("worker-1", None).await;
        api.register_node("worker-2", None).await;
        let mut a = world.controller("ccm-a");
        let mut b = world.controller("ccm-b");
        let leader = wait_for("one replica leads", CONVERGE, || async {
            leader_index(&[&a, &b])
        })
        .await;
        api.wait_initialized(&["worker-1", "worker-2"]).await;
        api.create_service("web", json!({}), &[80]).await;
        api.wait_for_ingress("web").await;
        assert_eq!(
            [&a, &b].iter().filter(|c| c.leads()).count(),
            1,
            "exactly one replica leads"
        );
        let holder = api.lease_holder().await.unwrap();

        let (leader, standby) = if leader == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        leader.process.sigkill();
        let killed = Instant::now();
        eventually("the standby takes over", CONVERGE, || async {
            standby.leads()
        })
        .await;
        let takeover = killed.elapsed();
        assert_ne!(api.lease_holder().await.unwrap(), holder);
        assert!(
            takeover <= LEASE_DURATION + RETRY_PERIOD * 2,
            "took {takeover:?} with a lease of {LEASE_DURATION:?}"
        );
        eprintln!("takeover after SIGKILL: {takeover:?} (lease {LEASE_DURATION:?})");

        // The new leader reconciles: a second Service, a Node joining.
        api.create_service("api", json!({}), &[8080]).await;
        api.wait_for_ingress("api").await;
        api.register_node("worker-3", None).await;
        api.wait_initialized(&["worker-3"]).await;

        let third = world.controller("ccm-c");
        eventually("the third replica is up and waiting", CONVERGE, || async {
            third.metrics().await.is_some()
        })
        .await;
        let holder = api.lease_holder().await.unwrap();
        let stopping = Instant::now();
        let status = standby.process.sigterm(CONVERGE);
        assert!(status.success(), "SIGTERM exits 0: {status:?}");
        eventually("the third replica takes over", CONVERGE, || async {
            third.leads()
        })
        .await;
        let handover = stopping.elapsed();
        assert_ne!(api.lease_holder().await.unwrap(), holder);
        assert!(
            handover < Duration::from_secs(2),
            "takeover after SIGTERM took {handover:?}"
        );
        eprintln!("takeover after SIGTERM: {handover:?}");
        api.delete_service("web").await;
        eventually("the third replica reconciles", CONVERGE, || async {
            api.service("web").await.is_none()
        })
        .await;
    })
}

/// An unreliable cloud: 20 % of requests answered 503, a burst of 429, 300 ms latency on every
/// call, and the first create call failing. Everything converges, with no duplicate
/// appliances; the failures show as Warning events and in the API metrics. (A failed create is
/// never repeated by the client and each failed sync backs off exponentially from 5 s, as
/// upstream's service controller does: hence the longer deadline.)
#[test]
fn an_unreliable_cloud_api_converges_without_duplicates() {
    e2e::scenario(async {
        let world = World::start("faults", SCENARIO, Duration::from_millis(500)).await;
        let sim = &world.sim;
        // Rules are checked in order; the first that fires answers.
        sim.add_error_rule(
            json!({"status": 503, "method": "POST", "path_prefix": "appliance", "count": 1}),
        )
        .await;
        sim.add_error_rule(json!({"status": 429, "count": 5, "retry_after": 1}))
            .await;
        sim.add_error_rule(json!({"status": 503, "rate": 0.2}))
            .await;
        sim.add_latency_rule(json!({"ms": 300})).await;

        let api = &world.api;
        for worker in ["worker-1", "worker-2", "worker-3"] {
            api.register_node(worker, None).await;
        }
        let ccm = world.controller("ccm");
        api.create_service("web", json!({}), &[80]).await;
        api.create_service("api", json!({}), &[8080]).await;
        eventually("every Node initialized", FAULTY, || async {
            for worker in ["worker-1", "worker-2", "worker-3"] {
                if !api.node_initialized(worker).await {
                    return false;
                }
            }
            true
        })
        .await;
        let web = wait_for("web's IP", FAULTY, || api.ingress_ip("web")).await;
        let other = wait_for("api's IP", FAULTY, || api.ingress_ip("api")).await;
        assert_ne!(web, other);

        // Read the outcome on a healthy API.
        sim.clear_faults().await;
        assert_eq!(
            sim.load_balancers().await.len(),
            2,
            "one appliance per Service"
        );
        assert_eq!(sim.successful("POST", "appliance").await, 2);
        let injected = sim.requests().await.iter().filter(|r| r.3).count();
        assert!(injected > 2, "faults were injected: {injected}");

        let warnings: Vec<_> = [api.events_about("web").await, api.events_about("api").await]
            .concat()
            .into_iter()
            .filter(|(t, _, _)| t == "Warning")
            .collect();
        assert!(
            warnings.iter().any(|(_, _, note)| note.contains("503")),
            "a failed create is a Warning event: {warnings:?}"
        );
        let metrics = ccm.metrics().await.unwrap();
        let failed = metric_sum(
            &metrics,
            "sakuracloud_api_requests_total",
            "status_class=\"5xx\"",
        );
        let throttled = metric_sum(
            &metrics,
            "sakuracloud_api_requests_total",
            "status_class=\"4xx\"",
        );
        let retries = metric_sum(&metrics, "sakuracloud_api_retries_total", "");
        assert!(failed >= 2.0, "5xx answers counted: {failed}");
        assert!(throttled >= 1.0, "429 answers counted: {throttled}");
        assert!(retries >= 1.0, "retries counted: {retries}");
    })
}
