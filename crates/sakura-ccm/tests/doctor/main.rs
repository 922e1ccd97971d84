#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
//! `doctor` against the simulator and the fake API server: a healthy cluster where every check
//! passes, then each trap of seed 000 (and the rest of issue 8) seeded on its own, asserting the
//! exact verdict. Every run also proves `doctor` read-only: no request but GET reached the
//! simulator and no resourceVersion moved in the API server.

#[path = "../support/mod.rs"]
mod support;

mod cloud;
mod controller;
mod enhanced;
mod nodes;
mod output;
mod services;

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
