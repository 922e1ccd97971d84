//! Tables as kubectl v1.32 asks for them (`kubectl get`, `-o wide`, `-w`): upstream's columns,
//! the wide ones at priority 1, ages as durations, EXTERNAL-IP going from `<pending>` to the IP.

use fake_apiserver::Subresource;
use serde_json::{Value, json};

use crate::support::{KUBECTL_TABLE_ACCEPT, open_watch, send, start};

fn column_names(table: &Value) -> Vec<(String, u64)> {
    table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["priority"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn named(cols: &[(&str, u64)]) -> Vec<(String, u64)> {
    cols.iter().map(|(n, p)| (n.to_string(), *p)).collect()
}

/// A duration of a few seconds, as HumanDuration prints a fresh object's age.
fn is_fresh_age(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n < 60)
}

#[test]
fn kubectl_get_nodes_wide() {
    test_runtime::run(async {
        let (server, client) = start().await;
        server
            .store()
            .create(
                "nodes",
                None,
                json!({
                    "metadata": {"name": "control-plane-1",
                        "labels": {"node-role.kubernetes.io/control-plane": ""}},
                    "status": {
                        "conditions": [{"type": "Ready", "status": "True"}],
                        "addresses": [{"type": "InternalIP", "address": "192.168.0.10"},
                                      {"type": "ExternalIP", "address": "203.0.113.20"}],
                        "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Ubuntu 24.04.2 LTS",
                            "kernelVersion": "6.8.0-60-generic",
                            "containerRuntimeVersion": "containerd://1.7.27",
                            "architecture": "amd64", "operatingSystem": "linux"},
                    },
                }),
            )
            .unwrap();
        server
            .store()
            .create("nodes", None, json!({"metadata": {"name": "worker-1"}}))
            .unwrap();
        // `kubectl get nodes -o wide`
        let a = send(
            &client,
            "GET",
            "/api/v1/nodes?limit=500",
            &[("accept", KUBECTL_TABLE_ACCEPT)],
            Vec::new(),
        )
        .await;
        assert_eq!(a.code, 200);
        assert_eq!(a.body["kind"], "Table");
        assert_eq!(
            column_names(&a.body),
            named(&[
                ("Name", 0),
                ("Status", 0),
                ("Roles", 0),
                ("Age", 0),
                ("Version", 0),
                ("Internal-IP", 1),
                ("External-IP", 1),
                ("OS-Image", 1),
                ("Kernel-Version", 1),
                ("Container-Runtime", 1),
            ])
        );
        let cells = &a.body["rows"][0]["cells"];
        assert!(is_fresh_age(&cells[3]), "{cells}");
        assert_eq!(
            [
                &cells[0], &cells[1], &cells[2], &cells[4], &cells[5], &cells[6], &cells[7],
                &cells[8], &cells[9]
            ],
            [
                &json!("control-plane-1"),
                &json!("Ready"),
                &json!("control-plane"),
                &json!("v1.35.0"),
                &json!("192.168.0.10"),
                &json!("203.0.113.20"),
                &json!("Ubuntu 24.04.2 LTS"),
                &json!("6.8.0-60-generic"),
                &json!("containerd://1.7.27"),
            ]
        );
        let bare = &a.body["rows"][1]["cells"];
        assert_eq!(
            [&bare[1], &bare[2], &bare[5], &bare[7]],
            [
                &json!("Unknown"),
                &json!("<none>"),
                &json!("<none>"),
                &json!("<unknown>")
            ]
        );
        assert_eq!(a.body["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    })
}

#[test]
fn kubectl_get_svc_shows_pending_then_the_external_ip_also_over_watch() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let created = send(
            &client,
            "POST",
            "/api/v1/namespaces/default/services?fieldManager=kubectl-expose",
            &[("content-type", "application/json"), ("accept", "application/json, */*")],
            serde_json::to_vec(&json!({
                "kind": "Service", "apiVersion": "v1",
                "metadata": {"name": "load-balancer-example", "labels": {"app": "load-balancer-example"}},
                "spec": {"ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
                         "selector": {"app": "load-balancer-example"}, "type": "LoadBalancer"},
                "status": {"loadBalancer": {}},
            }))
            .unwrap(),
        )
        .await;
        assert_eq!(created.code, 201, "{}", created.body);
        let node_port = created.body["spec"]["ports"][0]["nodePort"]
            .as_u64()
            .unwrap();
        let cluster_ip = created.body["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .to_owned();
        let rv = created.body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap();

        // `kubectl get svc load-balancer-example`
        let get = || {
            send(
                &client,
                "GET",
                "/api/v1/namespaces/default/services/load-balancer-example",
                &[("accept", KUBECTL_TABLE_ACCEPT)],
                Vec::new(),
            )
        };
        let a = get().await;
        assert_eq!(
            column_names(&a.body),
            named(&[
                ("Name", 0),
                ("Type", 0),
                ("Cluster-IP", 0),
                ("External-IP", 0),
                ("Port(s)", 0),
                ("Age", 0),
                ("Selector", 1),
            ])
        );
        let cells = a.body["rows"][0]["cells"].as_array().unwrap().clone();
        assert_eq!(
            cells[..5],
            [
                json!("load-balancer-example"),
                json!("LoadBalancer"),
                json!(cluster_ip),
                json!("<pending>"),
                json!(format!("80:{node_port}/TCP")),
            ]
        );
        assert!(is_fresh_age(&cells[5]));
        assert_eq!(cells[6], "app=load-balancer-example");

        // `kubectl get svc -w`: the watch from the list's resourceVersion, with Tables.
        let mut watch = open_watch(
            &client,
            &format!("/api/v1/namespaces/default/services?resourceVersion={rv}&watch=true"),
            &[("accept", KUBECTL_TABLE_ACCEPT)],
        )
        .await;
        let mut svc = server
            .store()
            .get("services", Some("default"), "load-balancer-example")
            .unwrap();
        svc["status"] =
            json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.25", "ipMode": "VIP"}]}});
        server
            .store()
            .replace("services", Some("default"), svc, Subresource::Status)
            .unwrap();
        let ev = watch.next().await;
        assert_eq!(ev["type"], "MODIFIED");
        assert_eq!(ev["object"]["kind"], "Table");
        assert_eq!(ev["object"]["rows"][0]["cells"][3], "203.0.113.25");
        assert_eq!(get().await.body["rows"][0]["cells"][3], "203.0.113.25");
    })
}

#[test]
fn every_served_kind_prints_its_columns() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let store = server.store();
        store
            .create(
                "leases.coordination.k8s.io",
                Some("kube-system"),
                json!({"metadata": {"name": "cloud-controller-manager"},
                       "spec": {"holderIdentity": "cm-1"}}),
            )
            .unwrap();
        store
            .create(
                "deployments.apps",
                Some("default"),
                json!({"metadata": {"name": "web"}, "spec": {"replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}),
            )
            .unwrap();
        store
            .create(
                "configmaps",
                Some("default"),
                json!({"metadata": {"name": "c"}, "data": {"a": "1"}}),
            )
            .unwrap();
        let cases: [(&str, &[&str], &[Value]); 4] = [
            (
                "/apis/coordination.k8s.io/v1/leases?limit=500",
                &["Name", "Holder", "Age"],
                &[json!("cloud-controller-manager"), json!("cm-1")],
            ),
            (
                "/apis/apps/v1/namespaces/default/deployments?limit=500",
                &[
                    "Name",
                    "Ready",
                    "Up-to-date",
                    "Available",
                    "Age",
                    "Containers",
                    "Images",
                    "Selector",
                ],
                &[json!("web"), json!("0/2"), json!(0), json!(0)],
            ),
            (
                "/api/v1/namespaces?limit=500",
                &["Name", "Status", "Age"],
                &[json!("default"), json!("Active")],
            ),
            (
                "/api/v1/namespaces/default/configmaps?limit=500",
                &["Name", "Data", "Age"],
                &[json!("c"), json!(1)],
            ),
        ];
        for (path, columns, first_cells) in cases {
            let a = send(
                &client,
                "GET",
                path,
                &[("accept", KUBECTL_TABLE_ACCEPT)],
                Vec::new(),
            )
            .await;
            assert_eq!(a.code, 200, "{path}");
            let names: Vec<String> = column_names(&a.body).into_iter().map(|(n, _)| n).collect();
            assert_eq!(names, columns, "{path}");
            let cells = a.body["rows"][0]["cells"].as_array().unwrap();
            assert_eq!(&cells[..first_cells.len()], first_cells, "{path}");
        }
        // `kubectl get all` expands the `all` category from discovery.
        let core = send(&client, "GET", "/api/v1", &[], Vec::new()).await;
        let in_all: Vec<&str> = core.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["categories"]
                    .as_array()
                    .is_some_and(|c| c.contains(&json!("all")))
            })
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_all, ["services", "pods"]);
        // Pods are served (and empty: nothing runs the Deployment).
        let a = send(
            &client,
            "GET",
            "/api/v1/namespaces/default/pods?limit=500",
            &[("accept", KUBECTL_TABLE_ACCEPT)],
            Vec::new(),
        )
        .await;
        assert_eq!(
            (a.code, a.body["rows"].as_array().map(Vec::len)),
            (200, Some(0))
        );
    })
}
