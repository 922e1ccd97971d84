//! `cloud.*`: credentials, permission, zone, inventory, the `@k8s` network, the shared segment.

use super::*;

// ---- cloud ----

#[test]
fn refused_credentials_fail_and_nothing_else_is_asked() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let mut config = Config::new("sim-token", "wrong-secret", Zone::Is1a);
        config.api_root_url = c.sim.base_url();
        config.retry.max_retries = 0;
        let wrong = sacloud::Client::new(config).unwrap();
        let report = doctor_with(&c, &wrong, &options()).await;
        assert_verdict(
            &report,
            ids::CLOUD_CREDENTIALS,
            Status::Fail,
            "SAKURACLOUD_ACCESS_TOKEN_SECRET",
        );
        assert!(report.finding(ids::CLOUD_ZONE).is_none());
        assert!(report.finding(ids::NODES_UNMATCHED).is_none());
        assert_eq!(c.sim.handle().count("GET", "auth-status"), 1);
        assert_eq!(
            c.sim.handle().counters().len(),
            1,
            "only auth-status was asked: {:?}",
            c.sim.handle().counters()
        );
        // The cluster side still ran.
        assert_verdict(&report, ids::CONTROLLER_LEADER, Status::Ok, "holder");
        assert_eq!(report.exit_code(), 1);
    })
}

/// An API key that may only view (or arrange) cannot create load balancers: the controller
/// would refuse to start, and doctor says so.
#[test]
fn a_view_only_api_key_fails_the_permission_check() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let view_only = sacloud_sim::Simulator::builder()
            .credentials("sim-token", "sim-secret")
            .permission("view")
            .scenario(Scenario::parse(SCENARIO).unwrap())
            .start()
            .await
            .unwrap();
        let report = doctor::run(&support::cloud_client(&view_only), &c.kube, &options()).await;
        assert_verdict(
            &report,
            ids::CLOUD_PERMISSION,
            Status::Fail,
            "permission \"view\" is too low",
        );
        assert_eq!(report.exit_code(), 1);
        assert!(
            view_only
                .handle()
                .counters()
                .iter()
                .all(|c| c.method == "GET")
        );
    })
}

#[test]
fn an_unreadable_zone_fails() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.sim
            .handle()
            .add_error_rule(ErrorRule {
                status: 404,
                rate: 1.0,
                count: None,
                method: Some("GET".into()),
                path_prefix: Some("zone".into()),
                retry_after: None,
                error_code: None,
                message: None,
            })
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(&report, ids::CLOUD_ZONE, Status::Fail, "SAKURACLOUD_ZONE");
        assert_verdict(&report, ids::CLOUD_CREDENTIALS, Status::Ok, "accepts");
    })
}

#[test]
fn a_failed_listing_fails_inventory_and_skips_what_needs_it() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.sim
            .handle()
            .add_error_rule(ErrorRule {
                status: 500,
                rate: 1.0,
                count: None,
                method: Some("GET".into()),
                path_prefix: Some("server".into()),
                retry_after: None,
                error_code: None,
                message: None,
            })
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_INVENTORY,
            Status::Fail,
            "listing servers",
        );
        assert!(report.finding(ids::NODES_UNMATCHED).is_none());
        assert_verdict(&report, ids::NODES_CLOUD_PROVIDER, Status::Ok, "external");
    })
}

#[test]
fn a_forgotten_k8s_tag_fails_and_names_the_near_miss() {
    test_runtime::run_multi(async {
        let scenario = SCENARIO.replace(r#"tags: ["@k8s"]"#, r#"tags: ["k8s"]"#);
        let c = healthy(&scenario).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_NETWORK,
            Status::Fail,
            "\"k8s-router\": \"k8s\"",
        );
        assert_verdict(
            &report,
            ids::CLOUD_NETWORK,
            Status::Fail,
            "add the tag @k8s",
        );
    })
}

const TWO_ROUTERS: &str = r#"
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
  - name: second-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.48/28
servers:
  - name: worker-1
    nics:
      - router: k8s-router
        ip: 203.0.113.21
"#;

#[test]
fn several_tagged_routers_without_a_selector_fail_the_services() {
    test_runtime::run_multi(async {
        let c = healthy(TWO_ROUTERS).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Fail,
            "default/web: 2 switch+routers have the tag @k8s",
        );
        assert_verdict(
            &report,
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Fail,
            "k8s.usacloud.jp/router-selector",
        );
    })
}

#[test]
fn several_tagged_routers_without_their_own_tags_warn() {
    test_runtime::run_multi(async {
        let c = healthy(TWO_ROUTERS).await;
        c.patch_service(
        "web",
        json!({"metadata": {"annotations": {"k8s.usacloud.jp/router-selector": "nonexistent"}}}),
    );
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_NETWORK_AMBIGUOUS,
            Status::Warn,
            "no selector tag picks one of these alone",
        );
    })
}

#[test]
fn a_node_only_on_the_shared_segment_fails() {
    test_runtime::run_multi(async {
        let scenario = format!("{SCENARIO}  - name: worker-4\n    nics:\n      - shared: true\n");
        let c = healthy(&scenario).await;
        let server = c.server("worker-4").await;
        let ip = server.interfaces[0].ip_address.unwrap().to_string();
        add_initialized_node(&c, "worker-4", server.id.0, &ip);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "worker-4: server \"worker-4\"",
        );
        // The shared address is outside the @k8s network as well.
        assert_verdict(
            &report,
            ids::NODES_NETWORK,
            Status::Fail,
            &format!("worker-4: {ip}"),
        );
    })
}
