//! Wire-level checks kube-rs does not expose: Status bodies for bad input, discovery documents,
//! Table output for kubectl, deletecollection, streaming initial events.

use serde_json::json;

use crate::support::{raw, start};

const JSON: Option<&str> = Some("application/json");

/// (method, path, content type, body, expected code, expected reason)
type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, u16, &'a str);

#[test]
fn bad_input_gets_status_errors_never_a_crash() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let cases: &[Case<'_>] = &[
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                "{not json",
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                "[1,2]",
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                r#"{"metadata": 7}"#,
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                r#"{"metadata": {"name": "a", "labels": {"x": 1}}}"#,
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                r#"{"kind": "Secret", "metadata": {"name": "a"}}"#,
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                r#"{"metadata": {"name": "a", "namespace": "other"}}"#,
                400,
                "BadRequest",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                Some("application/yaml"),
                "metadata: {}",
                415,
                "UnsupportedMediaType",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps?limit=abc",
                None,
                "",
                400,
                "BadRequest",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps?watch=maybe",
                None,
                "",
                400,
                "BadRequest",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc",
                None,
                "",
                400,
                "BadRequest",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(",
                None,
                "",
                400,
                "BadRequest",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/widgets",
                None,
                "",
                404,
                "NotFound",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps/a/status",
                None,
                "",
                404,
                "NotFound",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps/a/b/c",
                None,
                "",
                404,
                "NotFound",
            ),
            ("GET", "/apis/nope.example.com", None, "", 404, "NotFound"),
            ("GET", "/nothing/here", None, "", 404, "NotFound"),
            (
                "PUT",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                "{}",
                405,
                "MethodNotAllowed",
            ),
            (
                "POST",
                "/api/v1/namespaces/default/configmaps/a",
                JSON,
                "{}",
                405,
                "MethodNotAllowed",
            ),
            (
                "POST",
                "/api/v1/configmaps",
                JSON,
                r#"{"metadata": {"name": "a"}}"#,
                405,
                "MethodNotAllowed",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/default/configmaps/a",
                Some("text/plain"),
                "{}",
                415,
                "UnsupportedMediaType",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/default/configmaps/a",
                Some("application/merge-patch+json"),
                "{",
                400,
                "BadRequest",
            ),
            (
                "DELETE",
                "/api/v1/namespaces/default/configmaps/a",
                JSON,
                "{oops",
                400,
                "BadRequest",
            ),
            (
                "GET",
                "/api/v1/namespaces/default/configmaps?dryRun=Some",
                None,
                "",
                400,
                "BadRequest",
            ),
        ];
        for (method, path, ct, body, code, reason) in cases {
            let (got, status) = raw(&client, method, path, *ct, None, body).await;
            assert_eq!(got, *code, "{method} {path} {body}: {status}");
            assert_eq!(status["kind"], "Status", "{method} {path}");
            assert_eq!(status["reason"], *reason, "{method} {path}: {status}");
            assert_eq!(status["code"], *code);
        }
        // JSON patch failures: malformed → 400, does not apply → 422.
        raw(
            &client,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            JSON,
            None,
            r#"{"metadata": {"name": "a"}}"#,
        )
        .await;
        let (code, _) = raw(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/json-patch+json"),
            None,
            r#"{"op": "add"}"#,
        )
        .await;
        assert_eq!(code, 400);
        let (code, s) = raw(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/json-patch+json"),
            None,
            r#"[{"op": "remove", "path": "/data/x"}]"#,
        )
        .await;
        assert_eq!((code, s["reason"].as_str()), (422, Some("Invalid")));
        let (code, _) = raw(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/merge-patch+json"),
            None,
            r#"{"metadata": {"name": "b"}}"#,
        )
        .await;
        assert_eq!(code, 400);
        let (code, _) = raw(
            &client,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/merge-patch+json"),
            None,
            r#"{"metadata": {"labels": 5}}"#,
        )
        .await;
        assert_eq!(code, 400);
        let (code, _) = raw(
            &client,
            "PUT",
            "/api/v1/namespaces/default/configmaps/a",
            JSON,
            None,
            r#"{"metadata": {"name": "zzz"}}"#,
        )
        .await;
        assert_eq!(code, 400);
        // Delete preconditions.
        let (code, s) = raw(
            &client,
            "DELETE",
            "/api/v1/namespaces/default/configmaps/a",
            JSON,
            None,
            r#"{"preconditions": {"uid": "nope"}}"#,
        )
        .await;
        assert_eq!((code, s["reason"].as_str()), (409, Some("Conflict")));
        // dryRun creates nothing.
        let (code, _) = raw(
            &client,
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            JSON,
            None,
            r#"{"metadata": {"name": "dry"}}"#,
        )
        .await;
        assert_eq!(code, 201);
        let (code, _) = raw(
            &client,
            "GET",
            "/api/v1/namespaces/default/configmaps/dry",
            None,
            None,
            "",
        )
        .await;
        assert_eq!(code, 404);
    })
}

#[test]
fn discovery_documents() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let (_, api) = raw(&client, "GET", "/api", None, None, "").await;
        assert_eq!(api["versions"], json!(["v1"]));
        assert_eq!(
            api["serverAddressByClientCIDRs"][0]["serverAddress"],
            server.addr().to_string()
        );
        let (_, core) = raw(&client, "GET", "/api/v1", None, None, "").await;
        assert_eq!(core["kind"], "APIResourceList");
        let (_, group) = raw(&client, "GET", "/apis/coordination.k8s.io", None, None, "").await;
        assert_eq!(
            group["preferredVersion"]["groupVersion"],
            "coordination.k8s.io/v1"
        );
        let (_, gv) = raw(&client, "GET", "/apis/events.k8s.io/v1", None, None, "").await;
        assert_eq!(gv["resources"][0]["name"], "events");
        let (code, _) = raw(&client, "GET", "/openapi/v2", None, None, "").await;
        assert_eq!(code, 404);
        let (code, _) = raw(&client, "GET", "/", None, None, "").await;
        assert_eq!(code, 200);
    })
}

#[test]
fn kubectl_table_output_and_deletecollection() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        for n in ["t1", "t2"] {
            let body = json!({"metadata": {"name": n, "labels": {"g": "x"}}}).to_string();
            raw(
                &client,
                "POST",
                "/api/v1/namespaces/default/configmaps",
                JSON,
                None,
                &body,
            )
            .await;
        }
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let (code, t) = raw(
            &client,
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
            Some(accept),
            "",
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["rows"].as_array().unwrap().len(), 2);
        assert_eq!(t["rows"][0]["cells"][0], "t1");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "default");
        let (_, one) = raw(
            &client,
            "GET",
            "/api/v1/namespaces/default/configmaps/t2?includeObject=Object",
            None,
            Some(accept),
            "",
        )
        .await;
        assert_eq!(one["rows"][0]["object"]["kind"], "ConfigMap");

        let (code, deleted) = raw(
            &client,
            "DELETE",
            "/api/v1/namespaces/default/configmaps?labelSelector=g%3Dx",
            None,
            None,
            "",
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(deleted["items"].as_array().unwrap().len(), 2);
        let (_, list) = raw(
            &client,
            "GET",
            "/api/v1/namespaces/default/configmaps",
            None,
            None,
            "",
        )
        .await;
        assert!(list["items"].as_array().unwrap().is_empty());
    })
}

#[test]
fn send_initial_events_ends_with_marked_bookmark() {
    test_runtime::run(async {
        let (server, _client) = start().await;
        server
            .store()
            .create(
                "configmaps",
                Some("default"),
                json!({"metadata": {"name": "i"}}),
            )
            .unwrap();
        // Read the raw stream with a timeout so the body is finite.
        let client = crate::support::client_for(&server);
        let req = axum::http::Request::get(
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    )
    .body(Vec::new())
    .unwrap();
        let text = client.request_text(req.map(Into::into)).await.unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "ADDED");
        assert_eq!(lines[0]["object"]["metadata"]["name"], "i");
        assert_eq!(lines[1]["type"], "BOOKMARK");
        assert_eq!(
            lines[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert_eq!(lines[1]["object"]["kind"], "ConfigMap");
    })
}
