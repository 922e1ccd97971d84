//! Admin API: scenario loading, seeding, faults, counters, request log, dump and reset.

use crate::common::*;
use serde_json::json;

#[test]
fn scenario_seed_remove_power_dump_reset() {
    test_runtime::run_multi(async {
        let s = start().await;
        let yaml = "zone: is1a\nrouters: [{name: r, tags: ['@k8s'], prefix_len: 27}]\nservers: [{name: w1, nics: [{router: r}]}]\n";
        let r = s.admin("POST", "scenario", Some(yaml)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);
        let json_sc = r#"{"servers":[{"name":"w2","status":"down","nics":[{"router":"r"}]}]}"#;
        assert_eq!(s.admin("POST", "scenario", Some(json_sc)).await.status, 200);
        let add = s
            .admin(
                "POST",
                "servers",
                Some(r#"[{"name":"w3","nics":[{"shared":true}]},{"name":"w4"}]"#),
            )
            .await;
        let ids: Vec<u64> = add.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(s.get("server").await.body["Total"], 4);
        let sw = s.get("internet").await.body["Internet"][0]["Switch"]["ID"]
            .as_u64()
            .unwrap();
        let detail = s.get(&format!("switch/{sw}")).await;
        assert_eq!(detail.body["Switch"]["ServerCount"], 2);
        assert_eq!(detail.body["Switch"]["Subnets"][0]["NetworkMaskLen"], 27);

        let p = s
            .admin(
                "PUT",
                &format!("servers/{}/power", ids[0]),
                Some(r#"{"status":"down"}"#),
            )
            .await;
        assert_eq!(p.status, 200, "{}", p.text);
        assert_eq!(
            s.get(&format!("server/{}", ids[0])).await.body["Server"]["Instance"]["Status"],
            "down"
        );
        assert_eq!(
            s.admin("DELETE", &format!("servers/{}", ids[1]), None)
                .await
                .status,
            200
        );
        assert_eq!(s.get(&format!("server/{}", ids[1])).await.status, 404);

        let bad = s
            .admin(
                "POST",
                "scenario",
                Some("servers: [{name: x, nics: [{router: missing}]}]"),
            )
            .await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.body["error_code"], "bad_request");
        assert!(
            bad.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("no router named \"missing\"")
        );
        assert_eq!(
            s.get("server").await.body["Total"],
            3,
            "a failed scenario changes nothing"
        );

        let dump = s.admin("GET", "state", None).await;
        assert_eq!(dump.body["servers"].as_object().unwrap().len(), 3);
        assert_eq!(s.admin("POST", "reset", None).await.status, 200);
        assert_eq!(s.get("server").await.body["Total"], 0);
        let restore = s.admin("PUT", "state", Some(&dump.text)).await;
        assert_eq!(restore.status, 200, "{}", restore.text);
        assert_eq!(s.get("server").await.body["Total"], 3);
        assert_eq!(s.admin("GET", "nope", None).await.status, 404);
    })
}

#[test]
fn burst_of_503_then_recovery_and_counters() {
    test_runtime::run_multi(async {
        let s = start().await;
        let rule = r#"{"status":503,"count":2,"path_prefix":"zone","retry_after":1}"#;
        assert_eq!(
            s.admin("POST", "faults/errors", Some(rule)).await.status,
            200
        );
        for _ in 0..2 {
            let r = s.get("zone").await;
            assert_error(
                &r,
                "503 Service Unavailable",
                "service_unavailable",
                "injected fault: 503 Service Unavailable",
            );
            assert_eq!(r.header("retry-after"), Some("1"));
        }
        assert_eq!(s.get("zone").await.status, 200);
        assert_eq!(
            s.get("auth-status").await.status,
            200,
            "other paths unaffected"
        );
        let c = s.admin("GET", "counters", None).await.body;
        let count = |path: &str, status: u16| {
            c.as_array()
                .unwrap()
                .iter()
                .find(|e| e["method"] == "GET" && e["path"] == path && e["status"] == status)
                .map_or(0, |e| e["count"].as_u64().unwrap())
        };
        assert_eq!(count("zone", 503), 2);
        assert_eq!(count("zone", 200), 1);
        assert_eq!(count("auth-status", 200), 1);
        assert_eq!(s.sim.handle().count("GET", "zone"), 3);
        let log = s.admin("GET", "requests", None).await.body;
        let log = log.as_array().unwrap();
        assert_eq!(log.len(), 4);
        assert_eq!(log[0]["injected"], true);
        assert_eq!(log[2]["injected"], false);
        assert_eq!(log[3]["path"], "auth-status");
        assert_eq!(s.admin("DELETE", "counters", None).await.status, 200);
        assert!(
            s.admin("GET", "counters", None)
                .await
                .body
                .as_array()
                .unwrap()
                .is_empty()
        );
    })
}

#[test]
fn rate_limited_429_per_method_and_path_templates() {
    test_runtime::run_multi(async {
        let s = start_scenario("servers: [{name: a}]").await;
        let id = s.get("server").await.body["Servers"][0]["ID"]
            .as_u64()
            .unwrap();
        let rule = r#"{"status":429,"method":"DELETE","path_prefix":"server","retry_after":7,"error_code":"too_many_requests","message":"slow down"}"#;
        assert_eq!(
            s.admin("POST", "faults/errors", Some(rule)).await.status,
            200
        );
        let r = s.delete(&format!("server/{id}/power"), None).await;
        assert_error(
            &r,
            "429 Too Many Requests",
            "too_many_requests",
            "slow down",
        );
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_eq!(
            s.get(&format!("server/{id}")).await.status,
            200,
            "GET is not affected"
        );
        assert_eq!(s.sim.handle().count("DELETE", "server/{id}/power"), 1);
        assert_eq!(s.sim.handle().count("GET", "server/{id}"), 1);
        let f = s.admin("GET", "faults", None).await.body;
        assert_eq!(f["errors"].as_array().unwrap().len(), 1);
        assert_eq!(s.admin("DELETE", "faults", None).await.status, 200);
        assert_eq!(
            s.delete(&format!("server/{id}/power"), None).await.status,
            200
        );
        let bad = s
            .admin("POST", "faults/errors", Some(r#"{"status":200}"#))
            .await;
        assert_eq!(bad.status, 400);
    })
}

#[test]
fn error_rate_and_latency() {
    test_runtime::run_multi(async {
        let s = start().await;
        // rate 0 never fires, rate 1 always does.
        assert_eq!(
            s.admin("POST", "faults/errors", Some(r#"{"status":500,"rate":0}"#))
                .await
                .status,
            200
        );
        for _ in 0..5 {
            assert_eq!(s.get("zone").await.status, 200);
        }
        let all = json!({"errors": [{"status": 500, "rate": 1.0, "path_prefix": "auth-status"}], "latency": [{"ms": 150, "path_prefix": "zone"}]});
        assert_eq!(
            s.admin("PUT", "faults", Some(&all.to_string()))
                .await
                .status,
            200
        );
        assert_eq!(s.get("auth-status").await.status, 500);
        let t = std::time::Instant::now();
        assert_eq!(s.get("zone").await.status, 200);
        assert!(
            t.elapsed() >= std::time::Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
    })
}
