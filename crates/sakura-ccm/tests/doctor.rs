#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
//! `doctor` against the simulator and the fake API server: a healthy cluster where every check
//! passes, then each trap of seed 000 (and the rest of issue 8) seeded on its own, asserting the
//! exact verdict. Every run also proves `doctor` read-only: no request but GET reached the
//! simulator and no resourceVersion moved in the API server.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use cloud_provider::access::REQUIRED_ACCESS;
use cloud_provider::labels::TAINT_UNINITIALIZED;
use fake_apiserver::{PatchType, Subresource};
use k8s_openapi::jiff::Timestamp;
use sacloud::{Config, Zone};
use sacloud_sim::{ErrorRule, Scenario};
use sakura_ccm::doctor::{self, DoctorOptions, Lang, Report, Status, ids};
use sakura_ccm::provider::naming::appliance_name;
use serde_json::{Value, json};
use support::{CLUSTER_ID, Cluster, SCENARIO};

const BINARY: &str = env!("CARGO_BIN_EXE_sakura-cloud-controller-manager");

fn options() -> DoctorOptions {
    DoctorOptions {
        cluster_id: Some(CLUSTER_ID.to_owned()),
        ..DoctorOptions::default()
    }
}

/// Runs doctor and checks that it wrote nothing, on either side.
async fn doctor_with(cluster: &Cluster, cloud: &sacloud::Client, opts: &DoctorOptions) -> Report {
    cluster.sim.handle().clear_counters();
    let rv = cluster.api.store().resource_version();
    let report = doctor::run(cloud, &cluster.kube, opts).await;
    assert_eq!(cluster.writes(), 0, "doctor sent a non-GET request");
    assert!(
        cluster
            .sim
            .handle()
            .counters()
            .iter()
            .all(|c| c.method == "GET"),
        "{:?}",
        cluster.sim.handle().counters()
    );
    assert_eq!(
        cluster.api.store().resource_version(),
        rv,
        "doctor changed the cluster"
    );
    report
}

async fn doctor(cluster: &Cluster) -> Report {
    doctor_with(cluster, &cluster.cloud, &options()).await
}

/// Asserts the verdict of `id` and that its English text contains `phrase`.
fn assert_verdict(report: &Report, id: &str, status: Status, phrase: &str) {
    let Some(f) = report.finding(id) else {
        panic!("no verdict {id}:\n{}", report.render_text(Lang::En));
    };
    let text = f.message.text(Lang::En);
    let all = format!("{}\n{}\n{}", text.title, text.detail, text.fix);
    assert_eq!(
        f.status,
        status,
        "{id}: {all}\n---\n{}",
        report.render_text(Lang::En)
    );
    assert!(all.contains(phrase), "{id}: {phrase:?} not in:\n{all}");
}

fn now() -> String {
    Timestamp::now().to_string()
}

// ---- seeding the Kubernetes side ----

/// A Node the controller initialized: provider ID, addresses, no taint.
fn add_initialized_node(c: &Cluster, name: &str, server_id: u64, ip: &str) {
    c.api
        .store()
        .create(
            "nodes",
            None,
            json!({
                "metadata": {"name": name},
                "spec": {"providerID": format!("sakuracloud://{server_id}")},
                "status": {
                    "addresses": [
                        {"type": "InternalIP", "address": ip},
                        {"type": "ExternalIP", "address": ip},
                        {"type": "Hostname", "address": name}
                    ],
                    "conditions": [{"type": "Ready", "status": "True"}]
                }
            }),
        )
        .unwrap();
}

/// The controller's Deployment as `deploy/` would install it.
fn deployment(tolerate: bool, extra_args: &[&str]) -> Value {
    let mut args = vec!["--cloud-provider=sakuracloud", "--leader-elect=true"];
    args.extend_from_slice(extra_args);
    let tolerations = if tolerate {
        json!([{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}])
    } else {
        json!([{"key": "CriticalAddonsOnly", "operator": "Exists"}])
    };
    json!({
        "metadata": {"name": "sakura-cloud-controller-manager", "namespace": "kube-system"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "sakura-ccm"}},
            "template": {
                "metadata": {"labels": {"app": "sakura-ccm"}},
                "spec": {
                    "serviceAccountName": "sakura-cloud-controller-manager",
                    "tolerations": tolerations,
                    "containers": [{
                        "name": "sakura-cloud-controller-manager",
                        "image": "ghcr.io/sakura-ccm/sakura-cloud-controller-manager:0.1.0",
                        "command": ["/usr/local/bin/sakura-cloud-controller-manager"],
                        "args": args
                    }]
                }
            }
        }
    })
}

fn add_deployment(c: &Cluster, deployment: Value, ready: i64) {
    c.api
        .store()
        .create("deployments.apps", Some("kube-system"), deployment)
        .unwrap();
    c.api
        .store()
        .patch(
            "deployments.apps",
            Some("kube-system"),
            "sakura-cloud-controller-manager",
            PatchType::Merge,
            &json!({"status": {"replicas": 2, "readyReplicas": ready}}),
            Subresource::Status,
        )
        .unwrap();
}

fn add_lease(c: &Cluster, renewed: &str) {
    c.api
        .store()
        .create(
            "leases.coordination.k8s.io",
            Some("kube-system"),
            json!({
                "metadata": {"name": "cloud-controller-manager", "namespace": "kube-system"},
                "spec": {
                    "holderIdentity": "cp-1_5d3c",
                    "leaseDurationSeconds": 15,
                    "renewTime": renewed
                }
            }),
        )
        .unwrap();
}

/// A ClusterRole with exactly `REQUIRED_ACCESS` minus `leave_out` (`group/resource`), bound
/// to the controller's ServiceAccount.
fn add_rbac(c: &Cluster, leave_out: Option<&str>) {
    let rules: Vec<Value> = REQUIRED_ACCESS
        .iter()
        .filter(|a| Some(format!("{}/{}", a.group, a.resource).as_str()) != leave_out)
        .map(|a| json!({"apiGroups": [a.group], "resources": [a.resource], "verbs": a.verbs}))
        .collect();
    c.api
        .store()
        .create(
            "clusterroles.rbac.authorization.k8s.io",
            None,
            json!({"metadata": {"name": "sakura-cloud-controller-manager"}, "rules": rules}),
        )
        .unwrap();
    c.api
        .store()
        .create(
            "clusterrolebindings.rbac.authorization.k8s.io",
            None,
            json!({
                "metadata": {"name": "sakura-cloud-controller-manager"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "sakura-cloud-controller-manager"
                },
                "subjects": [{
                    "kind": "ServiceAccount",
                    "name": "sakura-cloud-controller-manager",
                    "namespace": "kube-system"
                }]
            }),
        )
        .unwrap();
}

fn add_kube_proxy(c: &Cluster, config: &str) {
    c.api
        .store()
        .create(
            "configmaps",
            Some("kube-system"),
            json!({
                "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
                "data": {"config.conf": config}
            }),
        )
        .unwrap();
}

/// A Warning event (events.k8s.io/v1) about an object.
fn add_warning(c: &Cluster, kind: &str, namespace: &str, name: &str, reason: &str, note: &str) {
    c.api
        .store()
        .create(
            "events.events.k8s.io",
            Some(namespace),
            json!({
                "metadata": {"name": format!("{name}.{}", reason.to_ascii_lowercase()), "namespace": namespace},
                "eventTime": "2025-01-01T00:00:00.000000Z",
                "regarding": {"kind": kind, "namespace": namespace, "name": name},
                "type": "Warning",
                "reason": reason,
                "note": note,
                "action": "Sync",
                "reportingController": "cloud-node-controller",
                "reportingInstance": "cp-1"
            }),
        )
        .unwrap();
}

/// A LoadBalancer Service with its address and its appliance (as the controller leaves them).
async fn add_served_service(c: &Cluster, name: &str) -> String {
    let uid = c.add_service(name, &[], &[80]);
    c.api
        .store()
        .patch(
            "services",
            Some("default"),
            name,
            PatchType::Merge,
            &json!({"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.25"}]}}}),
            Subresource::Status,
        )
        .unwrap();
    add_appliance(c, &uid, name);
    uid
}

/// A load-balancer appliance of this cluster for the Service `service` with `uid`.
fn add_appliance(c: &Cluster, uid: &str, service: &str) {
    let yaml = format!(
        r#"
appliances:
  - class: loadbalancer
    name: {name}
    router: k8s-router
    tags: ["@k8s", "@k8s.ClusterID={CLUSTER_ID}", "@k8s.Service={service}", "@k8s.ServiceUID={uid}"]
"#,
        name = appliance_name(uid)
    );
    c.sim
        .handle()
        .load_scenario(&Scenario::parse(&yaml).unwrap())
        .unwrap();
}

/// Everything as it should be: four initialized Nodes, the controller's Deployment, a fresh
/// Lease, its RBAC, kube-proxy in IPVS mode with strictARP, one served Service.
async fn healthy(scenario: &str) -> Cluster {
    let c = Cluster::without_controller(scenario).await;
    for (name, ip) in [
        ("control-plane-1", "203.0.113.20"),
        ("worker-1", "203.0.113.21"),
        ("worker-2", "203.0.113.22"),
        ("worker-3", "203.0.113.23"),
    ] {
        if scenario.contains(&format!("name: {name}\n")) {
            let id = c.server(name).await.id.0;
            add_initialized_node(&c, name, id, ip);
        }
    }
    add_deployment(&c, deployment(true, &[]), 2);
    add_lease(&c, &now());
    add_rbac(&c, None);
    add_kube_proxy(&c, "mode: ipvs\nipvs:\n  strictARP: true\n");
    add_served_service(&c, "web").await;
    c
}

/// Sets an appliance's `Availability` through the simulator's admin API (`PUT /_sim/state`).
fn set_availability(c: &Cluster, id: u64, availability: &str) {
    let mut state = c.sim.handle().dump();
    state["appliances"][id.to_string()]["power"]["availability"] = json!(availability);
    let body = serde_json::to_vec(&state).unwrap();
    let mut stream = TcpStream::connect(c.sim.addr()).unwrap();
    write!(
        stream,
        "PUT /_sim/state HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

// ---- the healthy cluster ----

#[test]
fn a_healthy_cluster_passes_every_check() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let report = doctor(&c).await;
        let text = report.render_text(Lang::En);
        for f in &report.findings {
            assert_eq!(f.status, Status::Ok, "{}:\n{text}", f.id);
        }
        let ran: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
        for id in ids::ALL {
            if [ids::CLOUD_CONFIG, ids::CLUSTER_CONFIG, ids::CLOUD_INVENTORY].contains(&id) {
                assert!(!ran.contains(&id), "{id} only appears on failure");
            } else if ids::ENHANCED.contains(&id) {
                assert!(!ran.contains(&id), "{id} runs only with enhanced Services");
            } else {
                assert!(ran.contains(&id), "{id} did not run:\n{text}");
            }
        }
        assert_eq!(report.exit_code(), 0);
        assert!(
            text.contains("✓ controller.leader: A controller holds the leader Lease"),
            "{text}"
        );
        assert!(text.ends_with("\n23 ✓, 0 !, 0 ✗\n"), "{text}");
        println!("{text}");
    })
}

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

// ---- Enhanced Load Balancers ----

const ENHANCED: (&str, &str) = ("k8s.usacloud.jp/load-balancer-type", "enhanced");

/// `workers` servers `worker-01`... on the shared segment only (100.64.0.11...), and one server
/// only on a private switch: no switch+router, nothing tagged @k8s.
fn shared_segment_scenario(workers: usize) -> String {
    let mut s = String::from(
        "zone: is1a\nswitches:\n  - name: private-net\n    network: 192.168.0.0/24\nservers:\n",
    );
    for i in 1..=workers {
        s.push_str(&format!(
            "  - name: worker-{i:02}\n    nics: [{{shared: true, ip: 100.64.0.{}}}]\n",
            10 + i
        ));
    }
    s.push_str(
        "  - name: private-1\n    nics: [{switch: private-net, ip: 192.168.0.21, prefix_len: 24}]\n",
    );
    s
}

fn worker_ip(i: usize) -> String {
    format!("100.64.0.{}", 10 + i)
}

/// A cluster on the shared segment as the controller leaves it: `workers` initialized Nodes with
/// their global address, the controller's Deployment, Lease and RBAC, kube-proxy in iptables
/// mode. No Service yet.
async fn shared_segment_cluster(workers: usize) -> Cluster {
    let c = Cluster::without_controller(&shared_segment_scenario(workers)).await;
    for i in 1..=workers {
        let name = format!("worker-{i:02}");
        let id = c.server(&name).await.id.0;
        add_initialized_node(&c, &name, id, &worker_ip(i));
    }
    add_deployment(&c, deployment(true, &[]), 2);
    add_lease(&c, &now());
    add_rbac(&c, None);
    add_kube_proxy(&c, "mode: iptables\n");
    c
}

/// The Service's node ports, in port order.
async fn node_ports(c: &Cluster, name: &str) -> Vec<u16> {
    let svc = c.service(name).await.unwrap();
    svc.spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| u16::try_from(p.node_port.unwrap()).unwrap())
        .collect()
}

/// A LoadBalancer Service of `annotations` (the type too, if any) with its address and its
/// Enhanced LB as the controller leaves them: one listener per port (`modes`, `tcp` when
/// missing), the first `registered` workers at each node port, `lets_encrypt` on for that
/// common name. Returns the Enhanced LB's ID.
async fn add_enhanced_service(
    c: &Cluster,
    name: &str,
    annotations: &[(&str, &str)],
    ports: &[u16],
    registered: usize,
    lets_encrypt: Option<&str>,
) -> u64 {
    let uid = c.add_service(name, annotations, ports);
    c.api
        .store()
        .patch(
            "services",
            Some("default"),
            name,
            PatchType::Merge,
            &json!({"status": {"loadBalancer": {"ingress": [{"ip": "198.19.0.1"}]}}}),
            Subresource::Status,
        )
        .unwrap();
    let node_ports = node_ports(c, name).await;
    let bind_ports: Vec<Value> = ports
        .iter()
        .map(|p| {
            let mode = if *p == 443 && lets_encrypt.is_some() {
                "https"
            } else {
                "tcp"
            };
            json!({"ProxyMode": mode, "Port": p})
        })
        .collect();
    let servers: Vec<Value> = node_ports
        .iter()
        .flat_map(|np| {
            (1..=registered)
                .map(move |i| json!({"IPAddress": worker_ip(i), "Port": np, "Enabled": true}))
        })
        .collect();
    let mut settings = json!({
        "BindPorts": bind_ports,
        "Servers": servers,
        "HealthCheck": {"Protocol": "tcp", "DelayLoop": 10},
    });
    if let Some(cn) = lets_encrypt {
        settings["LetsEncrypt"] = json!({"Enabled": true, "CommonName": cn});
    }
    let scenario = json!({"proxylbs": [{
        "name": appliance_name(&uid),
        "tags": ["@k8s", format!("@k8s.ClusterID={CLUSTER_ID}"), format!("@k8s.Service={name}"),
                 format!("@k8s.ServiceUID={uid}")],
        "settings": settings,
    }]});
    let applied = c
        .sim
        .handle()
        .load_scenario(&Scenario::parse(&scenario.to_string()).unwrap())
        .unwrap();
    applied.proxylbs[0]
}

/// The shared segment is where the Enhanced LB is the only SAKURA load balancer: with every
/// Service `enhanced` (by annotation, or by the controller's default), `cloud.shared_segment`
/// and `cloud.network` pass and the enhanced checks run; one appliance Service fails it again.
#[test]
fn the_shared_segment_is_fine_for_enhanced_services() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(3).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 3, None).await;
        let report = doctor(&c).await;
        let text = report.render_text(Lang::En);
        for f in &report.findings {
            assert_eq!(f.status, Status::Ok, "{}:\n{text}", f.id);
        }
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "worker-01: server \"worker-01\"",
        );
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "the load-balancer appliance (types internet and switch) is unavailable on the shared segment",
        );
        assert_verdict(&report, ids::CLOUD_NETWORK, Status::Ok, "none is needed");
        assert!(report.finding(ids::NODES_NETWORK).is_none(), "{text}");
        assert_verdict(
            &report,
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            "kube-proxy needs no DSR settings",
        );
        for id in ids::ENHANCED {
            assert_verdict(&report, id, Status::Ok, "");
        }
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Ok,
            "3 real server(s) up",
        );
        assert_eq!(report.exit_code(), 0);
        println!("{text}");
        let ja = report.render_text(Lang::Ja);
        assert!(
            ja.contains("エンハンスドロードバランサなら問題ありません"),
            "{ja}"
        );

        // The type from the controller's defaults (SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE).
        let c = shared_segment_cluster(3).await;
        add_enhanced_service(&c, "web", &[], &[80], 3, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "Services using the load-balancer appliance: default/web",
        );
        assert_verdict(&report, ids::CLOUD_NETWORK, Status::Fail, "enhanced");
        let defaults = DoctorOptions {
            load_balancer_defaults: [(ENHANCED.0.to_owned(), ENHANCED.1.to_owned())].into(),
            ..options()
        };
        let report = doctor_with(&c, &c.cloud, &defaults).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "(the cluster default, SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE)",
        );
        assert_verdict(&report, ids::ENHANCED_HEALTH, Status::Ok, "up");
        assert_eq!(report.exit_code(), 0, "{}", report.render_text(Lang::En));

        // A Service that asks for the appliance after all: the shared segment fails for it.
        c.add_service(
            "api",
            &[("k8s.usacloud.jp/load-balancer-type", "internet")],
            &[443],
        );
        let report = doctor_with(&c, &c.cloud, &defaults).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "Services using the load-balancer appliance: default/api",
        );
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "k8s.usacloud.jp/load-balancer-type: enhanced",
        );
    })
}

#[test]
fn a_node_without_a_global_address_is_left_out_of_enhanced_load_balancers() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = c.server("private-1").await.id.0;
        c.api
            .store()
            .create(
                "nodes",
                None,
                json!({
                    "metadata": {"name": "private-1"},
                    "spec": {"providerID": format!("sakuracloud://{id}")},
                    "status": {"addresses": [
                        {"type": "InternalIP", "address": "192.168.0.21"},
                        {"type": "Hostname", "address": "private-1"}
                    ]}
                }),
            )
            .unwrap();
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_GLOBAL_ADDRESS,
            Status::Warn,
            "private-1: no ExternalIP: its server has no NIC on the shared segment or a switch+router; left out of default/web",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_GLOBAL_ADDRESS,
            Status::Warn,
            "k8s.usacloud.jp/node-selector",
        );
        assert_eq!(report.exit_code(), 0, "a Node left out is a warning");
    })
}

#[test]
fn an_enhanced_service_with_three_ports_fails() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        c.add_service("many", &[ENHANCED], &[80, 443, 8080]);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_PORTS,
            Status::Fail,
            "default/many: 3 TCP ports; an Enhanced Load Balancer serves at most 2",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_PORTS,
            Status::Fail,
            "split the ports over several Services",
        );
        // The appliance's limits (20 ports) do not judge it.
        assert_verdict(&report, ids::SERVICES_LIMITS, Status::Ok, "");
    })
}

#[test]
fn more_than_forty_real_server_entries_leave_nodes_out() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(21).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80, 443], 20, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_REAL_SERVERS,
            Status::Warn,
            "default/web: 21 Nodes × 2 ports = 42 real-server entries, at most 40: the first 20 Nodes by name are registered; left out: worker-21",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_REAL_SERVERS,
            Status::Warn,
            "k8s.usacloud.jp/node-selector",
        );
        // One port fits them all.
        let c = shared_segment_cluster(21).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 21, None).await;
        let report = doctor(&c).await;
        assert_verdict(&report, ids::ENHANCED_REAL_SERVERS, Status::Ok, "");
    })
}

#[test]
fn an_https_port_without_a_certificate_fails() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        c.add_service(
            "shop",
            &[
                ENHANCED,
                (
                    "k8s.usacloud.jp/enhanced-lb-port-modes",
                    "80=http,443=https",
                ),
            ],
            &[80, 443],
        );
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HTTPS,
            Status::Fail,
            "default/shop: port 443 is https (k8s.usacloud.jp/enhanced-lb-port-modes) but no certificate is named",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_HTTPS,
            Status::Fail,
            "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
        );
    })
}

#[test]
fn a_lets_encrypt_certificate_not_yet_issued_warns() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = add_enhanced_service(
            &c,
            "shop",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https"),
                (
                    "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
                    "www.example.com",
                ),
            ],
            &[443],
            2,
            Some("www.example.com"),
        )
        .await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            "default/shop: Let's Encrypt for www.example.com: no certificate yet on",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            &format!("(ID {id}); each name must resolve to"),
        );
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            "(A record)",
        );
        assert_verdict(&report, ids::ENHANCED_HTTPS, Status::Ok, "");
        assert_eq!(c.sim.handle().count("GET", "commonserviceitem"), 1);
        let ja = report.render_text(Lang::Ja);
        assert!(ja.contains("の証明書が"), "{ja}");
        assert!(ja.contains("にまだありません"), "{ja}");
    })
}

#[test]
fn real_servers_failing_the_health_check_are_named() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        let node_port = node_ports(&c, "web").await[0];
        let worker_2: std::net::Ipv4Addr = worker_ip(2).parse().unwrap();
        c.sim
            .handle()
            .set_proxylb_server_health(id, worker_2, None, Some("down"))
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Warn,
            &format!(
                "(ID {id}): 1 of 2 real servers not up: {worker_2}:{node_port} (worker-02) down"
            ),
        );
        assert_verdict(&report, ids::ENHANCED_HEALTH, Status::Warn, "kube-proxy");
        assert_eq!(report.exit_code(), 0);

        let worker_1: std::net::Ipv4Addr = worker_ip(1).parse().unwrap();
        c.sim
            .handle()
            .set_proxylb_server_health(id, worker_1, None, Some("down"))
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Fail,
            "every real server is down: the Service is unreachable",
        );
        assert_eq!(report.exit_code(), 1);
    })
}

// ---- output ----

#[test]
fn japanese_text() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.add_node("wrker-2");
        let report = doctor(&c).await;
        let text = report.render_text(Lang::Ja);
        assert!(
            text.contains("✗ nodes.unmatched: 1 個の Node に対応するサーバがありません"),
            "{text}"
        );
        assert!(
            text.contains("wrker-2: この名前のサーバはありません。近い名前: \"worker-2\""),
            "{text}"
        );
        assert!(
            text.contains("→ 対処: Node 名とサーバ名を一致させてください"),
            "{text}"
        );
        assert!(text.contains("結果: "), "{text}");
        let json: Value = serde_json::from_str(&report.render_json(Lang::Ja)).unwrap();
        let unmatched = json
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "nodes.unmatched")
            .unwrap();
        assert_eq!(unmatched["status"], "fail");
        assert!(
            unmatched["title"]
                .as_str()
                .unwrap()
                .contains("対応するサーバがありません")
        );
    })
}

/// The binary: same environment as the controller; exit 0 when healthy, 1 with a ✗, 2 when it
/// cannot start; JSON on stdout.
#[test]
fn the_binary_exits_0_1_2_and_prints_json() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let dir = std::env::temp_dir().join(format!("sakura-ccm-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, c.api.kubeconfig()).unwrap();
        let run = |extra: &[&str]| {
            let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
            let kubeconfig = kubeconfig.clone();
            let root = c.sim.base_url();
            tokio::task::spawn_blocking(move || {
                Command::new(BINARY)
                    .env_clear()
                    .env("SAKURACLOUD_ACCESS_TOKEN", "sim-token")
                    .env("SAKURACLOUD_ACCESS_TOKEN_SECRET", "sim-secret")
                    .env("SAKURACLOUD_ZONE", "is1a")
                    .env("SAKURACLOUD_API_ROOT_URL", root)
                    .env("SAKURACLOUD_CLUSTER_ID", CLUSTER_ID)
                    .env("SAKURACLOUD_API_REQUEST_RATE_LIMIT", "0")
                    .arg("doctor")
                    .arg(format!("--kubeconfig={}", kubeconfig.display()))
                    .args(extra)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap()
            })
        };

        let out = run(&["--output", "json"]).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let items = json.as_array().unwrap();
        assert!(items.len() >= 20, "{stdout}");
        for item in items {
            assert_eq!(item["status"], "ok", "{item}");
            for key in ["id", "title", "detail", "fix"] {
                assert!(item[key].is_string(), "{key} in {item}");
            }
        }

        // The controller's defaults from --cloud-config: the Service is judged as enhanced.
        let cloud_config = dir.join("cloud-config.yaml");
        std::fs::write(
            &cloud_config,
            "loadBalancerDefaults:\n  load-balancer-type: enhanced\n",
        )
        .unwrap();
        let flag = format!("--cloud-config={}", cloud_config.display());
        let out = run(&["--output", "json", &flag]).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        let json: Value = serde_json::from_str(&stdout).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "enhanced.ports" && f["status"] == "ok"),
            "{stdout}"
        );

        c.add_node("wrker-2");
        let out = run(&["--output", "json", "--lang", "ja"]).await.unwrap();
        assert_eq!(out.status.code(), Some(1));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "nodes.unmatched"
                    && f["status"] == "fail"
                    && f["title"].as_str().unwrap().contains("対応するサーバ"))
        );

        let out = run(&[]).await.unwrap();
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("✗ nodes.unmatched: 1 Node(s) match no server"),
            "{text}"
        );

        // No credentials at all: the ✗ line for it, exit 2.
        let out = tokio::task::spawn_blocking(move || {
            Command::new(BINARY)
                .env_clear()
                .arg("doctor")
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("✗ cloud.config:"), "{text}");
        assert!(text.contains("SAKURACLOUD_ACCESS_TOKEN"), "{text}");
        assert_eq!(c.writes(), 0);
    })
}

// ---- the shipped manifests ----

/// The objects of `deploy/manifests/sakura-cloud-controller-manager.yaml` that the fake API
/// server serves (ServiceAccount and PodDisruptionBudget are not among them).
fn shipped_objects() -> Vec<(String, Value)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/manifests/sakura-cloud-controller-manager.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    text.split("\n---")
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap())
        .filter_map(|obj| {
            let resource = match obj["kind"].as_str()? {
                "Deployment" => "deployments.apps",
                "ClusterRole" => "clusterroles.rbac.authorization.k8s.io",
                "ClusterRoleBinding" => "clusterrolebindings.rbac.authorization.k8s.io",
                _ => return None,
            };
            Some((resource.to_owned(), obj))
        })
        .collect()
}

/// Installed from `deploy/manifests/` as it ships, the controller passes doctor's controller
/// checks: its workload is found and tolerates the uninitialized taint, and its ClusterRole
/// grants everything the controller calls.
#[test]
fn the_shipped_manifests_pass_the_controller_checks() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        let objects = shipped_objects();
        assert_eq!(
            objects.len(),
            3,
            "Deployment, ClusterRole, ClusterRoleBinding"
        );
        for (resource, obj) in objects {
            let namespace = obj["metadata"]["namespace"].as_str().map(str::to_owned);
            let name = obj["metadata"]["name"].as_str().unwrap().to_owned();
            c.api
                .store()
                .create(&resource, namespace.as_deref(), obj)
                .unwrap();
            if resource == "deployments.apps" {
                c.api
                    .store()
                    .patch(
                        &resource,
                        namespace.as_deref(),
                        &name,
                        PatchType::Merge,
                        &json!({"status": {"replicas": 2, "readyReplicas": 2}}),
                        Subresource::Status,
                    )
                    .unwrap();
            }
        }
        add_lease(&c, &now());
        let report = doctor(&c).await;
        for id in [
            ids::CONTROLLER_WORKLOAD,
            ids::CONTROLLER_TOLERATIONS,
            ids::CONTROLLER_RBAC,
            ids::CONTROLLER_LEADER,
        ] {
            assert_verdict(&report, id, Status::Ok, "");
        }
    })
}
