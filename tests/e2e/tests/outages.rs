//! Outages, through real processes: the Kubernetes API server gone for a while (with and
//! without leader election), the SAKURA Cloud API failing or hanging for a while, and SIGTERM in
//! the middle of a load-balancer create. What the controller must do in each is written down in
//! docs/failure-modes.md; these tests keep it so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use e2e::process::metric_sum;
use e2e::{CONVERGE, SCENARIO, World, eventually, scenario, wait_for};
use serde_json::json;

/// How long each outage lasts. Long enough for every retry loop to go round many times.
const OUTAGE: Duration = Duration::from_secs(8);

/// A controller without leader election over an API-server outage: it uses (next to) no CPU
/// while the server is gone, needs no restart when it is back (a Service created afterwards
/// gets its IP, a Node joining is initialized), and SIGTERM during an outage ends it at once.
#[test]
fn an_apiserver_outage_costs_no_cpu_and_heals_without_a_restart() {
    scenario(async {
        let mut world =
            World::start("apiserver-outage", SCENARIO, Duration::from_millis(300)).await;
        world.api.register_node("worker-1", None).await;
        let mut ccm = world.controller_with("ccm", &["--leader-elect=false"]);
        world.api.wait_initialized(&["worker-1"]).await;
        world.api.create_service("web", json!({}), &[80]).await;
        let web = world.api.wait_for_ingress("web").await;

        world.api.stop();
        let cpu_before = ccm.process.cpu_time();
        let started = Instant::now();
        // The outage itself: nothing to wait for but time.
        tokio::time::sleep(OUTAGE).await;
        let used = ccm.process.cpu_time() - cpu_before;
        let share = used.as_secs_f64() / started.elapsed().as_secs_f64();
        eprintln!(
            "CPU during the API server outage: {used:?} ({:.2} % of a core)",
            share * 100.0
        );
        assert!(
            share < 0.02,
            "the controller used {used:?} of CPU in {OUTAGE:?} of outage"
        );

        world.api.start_again();
        world.api.create_service("api", json!({}), &[8080]).await;
        world.api.register_node("worker-2", None).await;
        let api_ip = world.api.wait_for_ingress("api").await;
        assert_ne!(api_ip, web);
        world.api.wait_initialized(&["worker-2"]).await;
        assert_eq!(
            world.api.ingress_ip("web").await.as_deref(),
            Some(web.as_str())
        );
        assert_eq!(world.sim.load_balancers().await.len(), 2);

        world.api.stop();
        let stopping = Instant::now();
        let status = ccm.process.sigterm(Duration::from_secs(10));
        let took = stopping.elapsed();
        assert!(
            status.success(),
            "SIGTERM during an outage exits 0: {status:?}"
        );
        assert!(
            took < Duration::from_secs(2),
            "SIGTERM during an outage took {took:?}"
        );
        eprintln!("exit after SIGTERM during an outage: {took:?}");
    })
}

/// With leader election, a leader that cannot renew its lease within the renew deadline stops
/// its controllers and exits non-zero, as upstream does (a supervisor restarts it and it
/// campaigns again): it never goes on acting without a lease.
#[test]
fn a_leader_that_cannot_renew_stops_its_controllers_and_exits() {
    scenario(async {
        let mut world = World::start("leader-outage", SCENARIO, Duration::from_millis(300)).await;
        world.api.register_node("worker-1", None).await;
        let mut ccm = world.controller("ccm");
        eventually("the replica leads", CONVERGE, || async { ccm.leads() }).await;
        world.api.wait_initialized(&["worker-1"]).await;

        world.api.stop();
        let stopped = Instant::now();
        let status = ccm.process.wait_exit(Duration::from_secs(15));
        let took = stopped.elapsed();
        assert!(
            !status.success(),
            "losing the lease is an error exit: {status:?}"
        );
        let log = ccm.process.log_text();
        assert!(
            log.contains("leader election lost"),
            "the log says why it stopped: {log}"
        );
        // Renew deadline 3 s, plus the stop grace for the controllers.
        assert!(
            took < Duration::from_secs(8),
            "exited {took:?} after the outage began"
        );
        eprintln!("leader exited {took:?} after the API server went away");
    })
}

/// Every SAKURA Cloud call failing for a stretch: nothing is deleted (not even the Node whose
/// kubelet stopped reporting meanwhile), Nodes stay initialized, no appliance is created twice,
/// the failures are Warning Events counted up in one series per object and in the metrics, and
/// a change made during the outage is applied after it.
#[test]
fn a_cloud_outage_deletes_nothing_and_catches_up_afterwards() {
    scenario(async {
        let world = World::start("cloud-outage", SCENARIO, Duration::from_millis(300)).await;
        let (api, sim) = (&world.api, &world.sim);
        for worker in ["worker-1", "worker-2"] {
            api.register_node(worker, None).await;
        }
        // One retry per call (the default is five, over about a minute), so that failures add
        // up within the test's time.
        let ccm = e2e::Controller::start_with_env(
            &world.dir,
            "ccm",
            sim,
            api,
            &["--leader-elect=false"],
            &[("SAKURACLOUD_RETRY_MAX", "1")],
        );
        api.wait_initialized(&["worker-1", "worker-2"]).await;
        api.create_service("web", json!({}), &[80]).await;
        let web = api.wait_for_ingress("web").await;

        sim.add_error_rule(json!({"status": 503, "rate": 1.0}))
            .await;
        let outage = Instant::now();
        // During the outage: a kubelet stops reporting, a Node joins, a Service comes.
        api.set_node_ready("worker-2", false).await;
        api.register_node("worker-3", None).await;
        api.create_service("api", json!({}), &[8080]).await;
        eventually("Warning events about the new Service", CONVERGE, || async {
            api.warning_series("api")
                .await
                .iter()
                .map(|(_, n)| n)
                .sum::<i32>()
                >= 2
        })
        .await;
        if let Some(rest) = OUTAGE.checked_sub(outage.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        assert!(
            api.node("worker-2").await.is_some(),
            "a NotReady Node is kept while the cloud cannot answer"
        );
        assert!(api.node_initialized("worker-1").await && api.node_initialized("worker-2").await);
        assert_eq!(api.ingress_ip("web").await.as_deref(), Some(web.as_str()));
        let series = api.warning_series("api").await;
        eprintln!("Warning series about the Service during the outage: {series:?}");
        assert!(
            series.len() <= 2,
            "repeated failures count up one series per reason, not one Event each: {series:?}"
        );
        let metrics = ccm.metrics().await.unwrap();
        let failed = metric_sum(
            &metrics,
            "sakuracloud_api_requests_total",
            "status_class=\"5xx\"",
        );
        assert!(failed >= 2.0, "failed calls are counted: {failed}");

        sim.clear_faults().await;
        let api_ip = wait_for(
            "the Service made during the outage gets its IP",
            CONVERGE,
            || api.ingress_ip("api"),
        )
        .await;
        assert_ne!(api_ip, web);
        api.wait_initialized(&["worker-3"]).await;
        assert!(
            api.node("worker-2").await.is_some(),
            "its server exists: the Node stays"
        );
        assert_eq!(
            sim.load_balancers().await.len(),
            2,
            "one appliance per Service"
        );
        assert_eq!(
            sim.successful("POST", "appliance").await,
            2,
            "none created twice"
        );
        assert_eq!(
            sim.successful("DELETE", "appliance/{id}").await,
            0,
            "none deleted"
        );
    })
}

/// Every SAKURA Cloud call hanging past the client's timeout for a stretch: the same outcome as
/// failing calls, and the controller stays responsive (SIGTERM in the middle exits at once).
#[test]
fn a_hanging_cloud_api_is_timed_out_and_caught_up_with() {
    scenario(async {
        let world = World::start("cloud-hangs", SCENARIO, Duration::from_millis(300)).await;
        let (api, sim) = (&world.api, &world.sim);
        api.register_node("worker-1", None).await;
        let ccm = e2e::Controller::start_with_env(
            &world.dir,
            "ccm",
            sim,
            api,
            &["--leader-elect=false"],
            &[("SAKURACLOUD_API_REQUEST_TIMEOUT", "1")],
        );
        api.wait_initialized(&["worker-1"]).await;

        sim.add_latency_rule(json!({"ms": 3000})).await;
        api.register_node("worker-2", None).await;
        api.create_service("web", json!({}), &[80]).await;
        api.wait_for_event("web", "SyncLoadBalancerFailed").await;
        tokio::time::sleep(OUTAGE / 2).await;
        assert!(api.node("worker-2").await.is_some());
        assert_eq!(api.ingress_ip("web").await, None);
        let metrics = ccm.metrics().await.unwrap();
        assert!(
            metrics.contains("sakuracloud_api_requests_total"),
            "{metrics}"
        );

        sim.clear_faults().await;
        api.wait_for_ingress("web").await;
        api.wait_initialized(&["worker-2"]).await;
        assert_eq!(sim.load_balancers().await.len(), 1);
        assert_eq!(sim.successful("POST", "appliance").await, 1);
    })
}

/// SIGTERM while the appliance create call is on its way: the process exits within 2 s, and the
/// next start finds the appliance (if the cloud made it) instead of creating a second one.
#[test]
fn sigterm_in_the_middle_of_a_create_exits_at_once_and_leaves_one_appliance() {
    scenario(async {
        let world = World::start("sigterm-create", SCENARIO, Duration::from_millis(300)).await;
        let (api, sim) = (&world.api, &world.sim);
        api.register_node("worker-1", None).await;
        let mut first = world.controller_with("ccm-1", &["--leader-elect=false"]);
        api.wait_initialized(&["worker-1"]).await;
        sim.add_latency_rule(json!({"ms": 4000, "method": "POST", "path_prefix": "appliance"}))
            .await;
        api.create_service("web", json!({}), &[80]).await;
        eventually("the create call is on its way", CONVERGE, || async {
            first.process.log_text().contains("creating load balancer")
        })
        .await;

        let stopping = Instant::now();
        let status = first.process.sigterm(Duration::from_secs(10));
        let took = stopping.elapsed();
        assert!(status.success(), "{status:?}");
        assert!(
            took < Duration::from_secs(2),
            "SIGTERM in the middle of a create took {took:?}"
        );
        eprintln!("exit after SIGTERM during a create: {took:?}");

        sim.clear_faults().await;
        let _second = world.controller_with("ccm-2", &["--leader-elect=false"]);
        api.wait_for_ingress("web").await;
        assert_eq!(sim.load_balancers().await.len(), 1, "exactly one appliance");
    })
}
