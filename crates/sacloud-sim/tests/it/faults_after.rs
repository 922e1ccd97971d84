//! Fault phase `after`: the simulator makes the change, then the client gets the error or a
//! dropped connection — a lost answer, the case that tests a client's idempotency on retry.

use crate::common::*;
use sacloud_sim::{ErrorRule, FaultPhase};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn post_appliance_rule(status: u16) -> ErrorRule {
    ErrorRule {
        status,
        rate: 1.0,
        count: Some(1),
        method: Some("POST".to_owned()),
        path_prefix: Some("appliance".to_owned()),
        retry_after: None,
        error_code: None,
        message: None,
    }
}

async fn load_balancers(s: &Sim) -> Vec<Value> {
    let r = s
        .find("appliance", &json!({"Filter": {"Class": "loadbalancer"}}))
        .await;
    r.body["Appliances"].as_array().unwrap().clone()
}

/// `POST appliance` as raw bytes; returns everything the server sent before closing.
async fn create_raw(s: &Sim, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    let req = format!(
        "POST /is1a/api/cloud/1.1/appliance HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        basic(TOKEN, SECRET),
        body.len()
    );
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // A reset instead of a clean close is a dropped connection too.
    let _ = stream.read_to_end(&mut buf).await;
    buf
}

#[test]
fn after_error_on_create_leaves_the_appliance_behind() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        s.sim
            .handle()
            .add_error_rule(post_appliance_rule(503).after())
            .unwrap();
        let body = lb_body(sw, "lb-1", &["203.0.113.102"], 1, "203.0.113.103", &[]);
        let r = s.post("appliance", &body).await;
        assert_error(
            &r,
            "503 Service Unavailable",
            "service_unavailable",
            "injected fault: 503 Service Unavailable",
        );
        let lbs = load_balancers(&s).await;
        assert_eq!(lbs.len(), 1, "the change was made");
        assert_eq!(lbs[0]["Name"], "lb-1");
        // The rule was a burst of one: a retry that does not look first makes a second one
        // (here refused, because the first one holds the addresses).
        let retry = s.post("appliance", &body).await;
        assert_eq!(retry.status, 400, "{}", retry.text);
        let log = s.sim.handle().request_log();
        let create = log
            .iter()
            .find(|e| e.method == "POST" && e.template == "appliance")
            .unwrap();
        assert_eq!((create.status, create.injected), (503, true));
    });
}

#[test]
fn after_drop_on_create_closes_the_connection_without_an_answer() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        s.sim
            .handle()
            .add_error_rule(post_appliance_rule(503).after().dropping())
            .unwrap();
        let body = lb_body(sw, "lb-1", &["203.0.113.102"], 1, "203.0.113.103", &[]);
        let got = create_raw(&s, &body).await;
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
        assert_eq!(load_balancers(&s).await.len(), 1);
        // The simulator keeps serving other connections.
        assert_eq!(s.get("zone").await.status, 200);
    });
}

#[test]
fn before_drop_changes_nothing() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        s.sim
            .handle()
            .add_error_rule(post_appliance_rule(503).dropping())
            .unwrap();
        let body = lb_body(sw, "lb-1", &["203.0.113.102"], 1, "203.0.113.103", &[]);
        assert!(create_raw(&s, &body).await.is_empty());
        assert!(load_balancers(&s).await.is_empty());
        assert!(s.sim.handle().faults().errors.is_empty());
    });
}

#[test]
fn after_rules_wait_for_a_successful_request() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        // Through the admin API, as JSON.
        let rule = r#"{"status": 500, "count": 1, "method": "POST", "path_prefix": "appliance", "phase": "after"}"#;
        assert_eq!(
            s.admin("POST", "faults/errors", Some(rule)).await.status,
            200
        );
        let listed = s.admin("GET", "faults", None).await;
        assert_eq!(
            listed.body["errors"][0]["phase"], "after",
            "{}",
            listed.text
        );
        // A refused request changes nothing, so the rule does not fire on it.
        let bad = lb_body(sw, "lb-1", &["203.0.113.102"], 1, "10.0.0.1", &[]);
        assert_eq!(s.post("appliance", &bad).await.status, 400);
        assert_eq!(s.sim.handle().faults().errors.len(), 1);
        let good = lb_body(sw, "lb-1", &["203.0.113.102"], 1, "203.0.113.103", &[]);
        assert_eq!(s.post("appliance", &good).await.status, 500);
        assert_eq!(load_balancers(&s).await.len(), 1);
        assert!(s.sim.handle().faults().errors.is_empty());

        // `PUT /_sim/faults` takes the phase too; an unknown phase is refused.
        let all = r#"{"errors": [{"status": 503, "phase": "after", "drop": true}]}"#;
        assert_eq!(s.admin("PUT", "faults", Some(all)).await.status, 200);
        let f = s.sim.handle().faults();
        assert_eq!(
            (f.errors[0].phase, f.errors[0].drop_connection),
            (FaultPhase::After, true)
        );
        let r = s
            .admin(
                "POST",
                "faults/errors",
                Some(r#"{"status": 503, "phase": "later"}"#),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
    });
}
