//! `services.*`: pending Services, limits, leaked and failed appliances, real servers' health.

use super::*;

// ---- services ----

#[test]
fn a_pending_service_shows_its_last_warning() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.add_service("api", &[], &[443]);
        add_warning(
            &c,
            "Service",
            "default",
            "api",
            "AddressesExhausted",
            "no free address on switch+router \"k8s-router\"",
        );
        c.add_service("quiet", &[], &[8080]);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_PENDING,
            Status::Fail,
            "default/api: last Warning AddressesExhausted: no free address",
        );
        assert_verdict(
            &report,
            ids::SERVICES_PENDING,
            Status::Fail,
            "default/quiet: no Warning event",
        );
    })
}

#[test]
fn too_many_ports_fail_the_limits() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let ports: Vec<u16> = (8000..8021).collect();
        c.add_service("many", &[], &ports);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_LIMITS,
            Status::Fail,
            "default/many: 21 TCP ports; a SAKURA load balancer serves at most 20",
        );
    })
}

#[test]
fn an_appliance_whose_service_is_gone_is_leaked() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        add_appliance(&c, "0a1b2c3d-0000-4000-8000-000000000001", "old-web");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_LEAKED,
            Status::Warn,
            "was for Service old-web (UID 0a1b2c3d-0000-4000-8000-000000000001)",
        );
        assert_verdict(
            &report,
            ids::SERVICES_LEAKED,
            Status::Warn,
            "(tagged @k8s.ClusterID=test-cluster)",
        );
        // Not this cluster's: not ours to report.
        let other = "appliances:\n  - class: loadbalancer\n    name: other\n    router: k8s-router\n    tags: [\"@k8s\", \"@k8s.ClusterID=other\", \"@k8s.Service=x\"]\n";
        c.sim
            .handle()
            .load_scenario(&Scenario::parse(other).unwrap())
            .unwrap();
        let report = doctor(&c).await;
        let Some(doctor::Message::Services(doctor::ServiceMessage::Leaked { appliances, .. })) =
            report.finding(ids::SERVICES_LEAKED).map(|f| &f.message)
        else {
            panic!("{}", report.render_text(Lang::En));
        };
        assert_eq!(appliances.len(), 1);
    })
}

#[test]
fn a_failed_appliance_of_ours_fails() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let lb = c.load_balancers().await.into_iter().next().unwrap();
        set_availability(&c, lb.id.0, "failed");
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_FAILED,
            Status::Fail,
            &format!(
                "(ID {}) for Service default/web: Availability failed",
                lb.id
            ),
        );
    })
}

/// An appliance the controller made for a Service, with the workers as real servers: one
/// failing its health check warns and names the Node, all failing fails (the Service is
/// unreachable), and the fix names kube-proxy's port.
#[test]
fn real_servers_failing_the_appliance_health_check_are_named() {
    test_runtime::run_multi(async {
        let workers = ["worker-1", "worker-2", "worker-3"];
        let mut c = support::start_with_nodes(SCENARIO, &workers, &[]).await;
        c.add_service("web", &[], &[80]);
        c.wait_for_ingress("web").await;
        c.stop_controller().await;
        let id = c.load_balancers().await[0].id.0;

        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_HEALTH,
            Status::Ok,
            "3 real servers UP",
        );

        let worker_2 = "203.0.113.22".parse().unwrap();
        c.sim
            .handle()
            .set_lb_server_health(id, worker_2, None, Some("down"))
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_HEALTH,
            Status::Warn,
            &format!(
                "(ID {id}) for Service default/web: 1 of 3 real servers not UP: 203.0.113.22:"
            ),
        );
        assert_verdict(
            &report,
            ids::SERVICES_HEALTH,
            Status::Warn,
            "(worker-2) DOWN",
        );
        assert_verdict(&report, ids::SERVICES_HEALTH, Status::Warn, ":10256");

        for ip in ["203.0.113.21", "203.0.113.23"] {
            c.sim
                .handle()
                .set_lb_server_health(id, ip.parse().unwrap(), None, Some("down"))
                .unwrap();
        }
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::SERVICES_HEALTH,
            Status::Fail,
            "every real server is down: the Service is unreachable",
        );
        println!("{}", report.render_text(Lang::En));
    })
}
