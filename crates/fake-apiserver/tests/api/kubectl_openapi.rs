//! What `kubectl apply -f` (v1.32, validation on) fetches and sends: `/openapi/v3`, the
//! group-version document it names, where a PATCH operation for the kind takes
//! `fieldValidation`, and then the write with `fieldValidation=Strict`; plus Warn and Ignore.

use serde_json::{Value, json};

use crate::support::{send, start};

fn svc_with_unknown_fields() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "bad", "namespace": "default",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"foo": 1, "ports": [{"port": 80, "bar": "x"}]},
    }))
    .unwrap()
}

const APPLY: &str = "/api/v1/namespaces/default/services?fieldManager=kubectl-client-side-apply";

#[test]
fn kubectl_finds_server_side_field_validation_in_openapi_v3() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let index = send(
            &client,
            "GET",
            "/openapi/v3?timeout=32s",
            &[("accept", "application/json, */*")],
            Vec::new(),
        )
        .await;
        assert_eq!(index.code, 200);
        for gv in [
            "api/v1",
            "apis/apps/v1",
            "apis/events.k8s.io/v1",
            "apis/coordination.k8s.io/v1",
            "apis/rbac.authorization.k8s.io/v1",
            "apis/discovery.k8s.io/v1",
        ] {
            let url = index.body["paths"][gv]["serverRelativeURL"]
                .as_str()
                .unwrap_or_else(|| panic!("{gv} in {}", index.body));
            let doc = send(
                &client,
                "GET",
                &format!("{url}&timeout=32s"),
                &[("accept", "application/json")],
                Vec::new(),
            )
            .await;
            assert_eq!(doc.code, 200, "{url}");
            assert_eq!(doc.body["openapi"], "3.0.0");
            // As kubectl's QueryParamVerifierV3: some PATCH operation for each kind has the
            // fieldValidation query parameter.
            let patches: Vec<&Value> = doc.body["paths"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|p| p.get("patch"))
                .collect();
            assert!(!patches.is_empty(), "{gv}");
            for op in patches {
                let gvk = &op["x-kubernetes-group-version-kind"];
                assert!(gvk["kind"].is_string(), "{gv}");
                assert!(
                    op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"),
                    "{gv} {gvk}"
                );
            }
        }
        let doc = send(
            &client,
            "GET",
            "/openapi/v3/apis/apps/v1",
            &[("accept", "application/json")],
            Vec::new(),
        )
        .await;
        let dep = &doc.body["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
        let pod_spec = &doc.body["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"];
        assert_eq!(pod_spec["properties"]["containers"]["type"], "array");
        // No v2 document: kubectl only falls back to it when v3 is missing.
        let v2 = send(&client, "GET", "/openapi/v2?timeout=32s", &[], Vec::new()).await;
        assert_eq!(v2.code, 404);
        let none = send(
            &client,
            "GET",
            "/openapi/v3/apis/nope.io/v1",
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(none.code, 404);
    })
}

#[test]
fn strict_field_validation_refuses_unknown_fields_as_upstream() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let a = send(
            &client,
            "POST",
            &format!("{APPLY}&fieldValidation=Strict"),
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            svc_with_unknown_fields(),
        )
        .await;
        assert_eq!((a.code, &a.body["reason"]), (400, &json!("BadRequest")));
        assert_eq!(
            a.body["message"],
            r#"Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo", unknown field "spec.ports[0].bar""#
        );
        assert!(
            server
                .store()
                .get("services", Some("default"), "bad")
                .is_err()
        );
        let bad = send(
            &client,
            "POST",
            &format!("{APPLY}&fieldValidation=strict"),
            &[("content-type", "application/json")],
            svc_with_unknown_fields(),
        )
        .await;
        assert_eq!(bad.code, 400);
    })
}

#[test]
fn warn_and_ignore_drop_unknown_fields() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let a = send(
            &client,
            "POST",
            &format!("{APPLY}&fieldValidation=Warn"),
            &[("content-type", "application/json")],
            svc_with_unknown_fields(),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        let warnings: Vec<&str> = a
            .headers
            .get_all("warning")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            warnings,
            [
                r#"299 - "unknown field \"spec.foo\"""#,
                r#"299 - "unknown field \"spec.ports[0].bar\"""#
            ]
        );
        let stored = server
            .store()
            .get("services", Some("default"), "bad")
            .unwrap();
        assert!(stored["spec"].get("foo").is_none());
        assert!(stored["spec"]["ports"][0].get("bar").is_none());

        // Ignore: dropped without a word. A merge patch is validated the same way.
        let a = send(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/services/bad?fieldValidation=Ignore",
            &[("content-type", "application/merge-patch+json")],
            br#"{"spec": {"sessionAffinity": "ClientIP", "nope": 1}}"#.to_vec(),
        )
        .await;
        assert_eq!(a.code, 200, "{}", a.body);
        assert!(a.headers.get("warning").is_none());
        assert_eq!(a.body["spec"]["sessionAffinity"], "ClientIP");
        assert!(a.body["spec"].get("nope").is_none());
        let a = send(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/services/bad?fieldValidation=Strict",
            &[("content-type", "application/strategic-merge-patch+json")],
            br#"{"spec": {"nope": 1}}"#.to_vec(),
        )
        .await;
        assert_eq!(a.code, 400);
    })
}
