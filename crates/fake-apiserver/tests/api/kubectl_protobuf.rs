//! Protobuf request bodies, as kubectl v1.32's generators send them (`kubectl create deployment`,
//! `kubectl create service loadbalancer`, `kubectl create configmap|secret|namespace`): the magic
//! `k8s\0` and a `runtime.Unknown` envelope, built here with kube-rs's k8s-pb types. The server
//! answers in JSON, which kubectl also accepts.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use crate::support::{Answer, send, start};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// kubectl's `Accept` on a create from a generator.
const KUBECTL_ACCEPT: &str = "application/vnd.kubernetes.protobuf,application/json";

/// What kubectl sends: `k8s\0` + `runtime.Unknown{typeMeta, raw}` (empty encoding and type).
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = b"k8s\0".to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// ObjectMeta as Go encodes it: every non-pointer string, empty or not.
fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        generate_name: Some(String::new()),
        namespace: Some(String::new()),
        self_link: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

async fn create(client: &kube::Client, path: &str, body: Vec<u8>) -> Answer {
    send(
        client,
        "POST",
        path,
        &[("content-type", PROTOBUF), ("accept", KUBECTL_ACCEPT)],
        body,
    )
    .await
}

#[test]
fn kubectl_create_service_loadbalancer_gets_a_cluster_ip_and_node_port() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        // `kubectl create service loadbalancer web --tcp=80:8080`
        let svc = core::Service {
            metadata: Some(meta("web", &[("app", "web")])),
            spec: Some(core::ServiceSpec {
                ports: vec![core::ServicePort {
                    name: Some("80-8080".into()),
                    protocol: Some("TCP".into()),
                    port: Some(80),
                    target_port: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(8080),
                        str_val: Some(String::new()),
                    }),
                    node_port: Some(0),
                    ..Default::default()
                }],
                selector: BTreeMap::from([("app".into(), "web".into())]),
                cluster_ip: Some(String::new()),
                r#type: Some("LoadBalancer".into()),
                session_affinity: Some(String::new()),
                load_balancer_ip: Some(String::new()),
                external_name: Some(String::new()),
                external_traffic_policy: Some(String::new()),
                health_check_node_port: Some(0),
                publish_not_ready_addresses: Some(false),
                ..Default::default()
            }),
            status: Some(core::ServiceStatus {
                load_balancer: Some(Default::default()),
                ..Default::default()
            }),
        };
        let a = create(
            &client,
            "/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict",
            envelope("v1", "Service", svc.encode_to_vec()),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        assert_eq!(a.headers["content-type"], "application/json");
        let spec = &a.body["spec"];
        assert_eq!(a.body["kind"], "Service");
        assert_eq!(a.body["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(spec["type"], "LoadBalancer");
        let ip = spec["clusterIP"].as_str().unwrap();
        assert!(ip.starts_with("10.9"), "{ip}");
        assert_eq!(spec["clusterIPs"], json!([ip]));
        let port = &spec["ports"][0];
        assert_eq!(
            (
                &port["name"],
                &port["port"],
                &port["targetPort"],
                &port["protocol"]
            ),
            (&json!("80-8080"), &json!(80), &json!(8080), &json!("TCP"))
        );
        let node_port = port["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&node_port), "{node_port}");
        assert!(spec.get("healthCheckNodePort").is_none());
        assert!(
            a.body.get("status").is_none(),
            "status is dropped on create"
        );
    })
}

#[test]
fn kubectl_create_deployment_stays_a_deployment() {
    test_runtime::run(async {
        let (server, client) = start().await;
        // `kubectl create deployment web --image=nginx:latest --replicas=2 --port=80`
        let labels = [("app", "web")];
        let dep = apps::Deployment {
            metadata: Some(meta("web", &labels)),
            spec: Some(apps::DeploymentSpec {
                replicas: Some(2),
                selector: Some(LabelSelector {
                    match_labels: BTreeMap::from([("app".into(), "web".into())]),
                    ..Default::default()
                }),
                template: Some(core::PodTemplateSpec {
                    metadata: Some(meta("", &labels)),
                    spec: Some(core::PodSpec {
                        containers: vec![core::Container {
                            name: Some("nginx".into()),
                            image: Some("nginx:latest".into()),
                            ports: vec![core::ContainerPort {
                                container_port: Some(80),
                                ..Default::default()
                            }],
                            resources: Some(Default::default()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                }),
                strategy: Some(Default::default()),
                min_ready_seconds: Some(0),
                paused: Some(false),
                ..Default::default()
            }),
            status: Some(Default::default()),
        };
        let a = create(
            &client,
            "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
            envelope("apps/v1", "Deployment", dep.encode_to_vec()),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        assert_eq!(
            a.body["spec"],
            json!({
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:latest",
                        "ports": [{"containerPort": 80}], "resources": {}}]},
                },
                "strategy": {},
            })
        );
        assert_eq!(a.body["metadata"]["generation"], 1);
        // Nothing runs it: no Pods appear.
        assert!(server.store().list("pods", None).unwrap().is_empty());
    })
}

#[test]
fn kubectl_create_configmap_secret_and_namespace() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        // `kubectl create configmap c --from-literal=a=1`
        let cm = core::ConfigMap {
            metadata: Some(meta("c", &[])),
            data: BTreeMap::from([("a".into(), "1".into())]),
            ..Default::default()
        };
        let a = create(
            &client,
            "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict",
            envelope("v1", "ConfigMap", cm.encode_to_vec()),
        )
        .await;
        assert_eq!((a.code, &a.body["data"]), (201, &json!({"a": "1"})));
        // `kubectl create secret generic s --from-literal=a=1`: bytes become base64; the
        // empty type is defaulted.
        let secret = core::Secret {
            metadata: Some(meta("s", &[])),
            data: BTreeMap::from([("a".into(), b"1".to_vec())]),
            r#type: Some(String::new()),
            ..Default::default()
        };
        let a = create(
            &client,
            "/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict",
            envelope("v1", "Secret", secret.encode_to_vec()),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        assert_eq!(
            (&a.body["data"], &a.body["type"]),
            (&json!({"a": "MQ=="}), &json!("Opaque"))
        );
        // `kubectl create namespace team`
        let ns = core::Namespace {
            metadata: Some(meta("team", &[])),
            spec: Some(Default::default()),
            status: Some(Default::default()),
        };
        let a = create(
            &client,
            "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
            envelope("v1", "Namespace", ns.encode_to_vec()),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        assert_eq!(a.body["status"]["phase"], "Active");
    })
}

#[test]
fn protobuf_only_clients_and_bad_bodies_get_statuses() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cm = core::ConfigMap {
            metadata: Some(meta("c", &[])),
            ..Default::default()
        };
        let body = envelope("v1", "ConfigMap", cm.encode_to_vec());
        let a = send(
            &client,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("content-type", PROTOBUF), ("accept", PROTOBUF)],
            body,
        )
        .await;
        assert_eq!((a.code, &a.body["reason"]), (406, &json!("NotAcceptable")));
        assert_eq!(a.body["kind"], "Status");

        let a = create(
            &client,
            "/api/v1/namespaces/default/configmaps",
            b"k8s\0\x0a\xff\xff".to_vec(),
        )
        .await;
        assert_eq!((a.code, &a.body["reason"]), (400, &json!("BadRequest")));
        let a = create(
            &client,
            "/api/v1/namespaces/default/configmaps",
            b"{\"not\": \"protobuf\"}".to_vec(),
        )
        .await;
        assert_eq!(a.code, 400);
    })
}
