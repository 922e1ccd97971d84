//! `GET appliance/{id}/status` as the real API reports it, and failing real servers' health
//! checks through the admin API, the library handle and scenarios.

use crate::common::*;
use serde_json::{Value, json};

const W1: &str = "203.0.113.100";
const W2: &str = "203.0.113.101";

/// A load balancer with worker-1 (running) and worker-2 (stopped) behind ports 80 and 443.
async fn lb(s: &Sim) -> u64 {
    let (sw, _) = switch_ids(s).await;
    let mut body = lb_body(
        sw,
        "lb-1",
        &["203.0.113.102"],
        1,
        "203.0.113.103",
        &[W1, W2],
    );
    let mut https = body["Appliance"]["Settings"]["LoadBalancer"][0].clone();
    https["Port"] = json!("443");
    for srv in https["Servers"].as_array_mut().unwrap() {
        srv["Port"] = json!("443");
    }
    body["Appliance"]["Settings"]["LoadBalancer"]
        .as_array_mut()
        .unwrap()
        .push(https);
    let r = s.post("appliance", &body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    r.body["Appliance"]["ID"].as_u64().unwrap()
}

/// `[(VIP port, [(ip, port, status)])]`.
async fn statuses(s: &Sim, id: u64) -> Vec<(String, Vec<(String, String, String)>)> {
    let r = s.get(&format!("appliance/{id}/status")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["LoadBalancer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let servers = e["Servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let f = |k: &str| v[k].as_str().unwrap().to_owned();
                    (f("IPAddress"), f("Port"), f("Status"))
                })
                .collect();
            (e["Port"].as_str().unwrap().to_owned(), servers)
        })
        .collect()
}

fn row(ip: &str, port: &str, status: &str) -> (String, String, String) {
    (ip.to_owned(), port.to_owned(), status.to_owned())
}

#[test]
fn status_has_the_real_shape() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let id = lb(&s).await;
        let r = s.get(&format!("appliance/{id}/status")).await;
        assert_eq!(
            r.body,
            json!({"LoadBalancer": [
                {"VirtualIPAddress": "203.0.113.103", "Port": "80", "CPS": "0", "Servers": [
                    {"IPAddress": W1, "Port": "80", "Status": "UP", "ActiveConn": "0", "CPS": "0"},
                    {"IPAddress": W2, "Port": "80", "Status": "DOWN", "ActiveConn": "0", "CPS": "0"}]},
                {"VirtualIPAddress": "203.0.113.103", "Port": "443", "CPS": "0", "Servers": [
                    {"IPAddress": W1, "Port": "443", "Status": "UP", "ActiveConn": "0", "CPS": "0"},
                    {"IPAddress": W2, "Port": "443", "Status": "DOWN", "ActiveConn": "0", "CPS": "0"}]}],
              "is_ok": true})
        );
    });
}

#[test]
fn admin_marks_real_servers_down_and_up() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let id = lb(&s).await;
        let set = |body: Value| {
            let s = &s;
            async move {
                s.admin(
                    "PUT",
                    &format!("appliances/{id}/health"),
                    Some(&body.to_string()),
                )
                .await
            }
        };
        // worker-1 fails every health check; worker-2 passes on 443 although it is stopped.
        assert_eq!(set(json!({"ip": W1, "status": "down"})).await.status, 200);
        assert_eq!(
            set(json!({"ip": W2, "port": 443, "status": "UP"}))
                .await
                .status,
            200
        );
        assert_eq!(
            statuses(&s, id).await,
            vec![
                (
                    "80".into(),
                    vec![row(W1, "80", "DOWN"), row(W2, "80", "DOWN")]
                ),
                (
                    "443".into(),
                    vec![row(W1, "443", "DOWN"), row(W2, "443", "UP")]
                ),
            ]
        );
        // A port-specific setting wins over the address-wide one.
        set(json!({"ip": W1, "port": 80, "status": "up"})).await;
        assert_eq!(statuses(&s, id).await[0].1[0], row(W1, "80", "UP"));
        assert_eq!(statuses(&s, id).await[1].1[0], row(W1, "443", "DOWN"));
        // `null` returns an address (all its ports) to the health derived from power.
        set(json!({"ip": W1, "status": null})).await;
        set(json!({"ip": W2, "status": null})).await;
        assert_eq!(
            statuses(&s, id).await[1].1,
            vec![row(W1, "443", "UP"), row(W2, "443", "DOWN")]
        );

        // The library handle does the same.
        let h = s.sim.handle();
        h.set_lb_server_health(id, W1.parse().unwrap(), Some(443), Some("down"))
            .unwrap();
        assert_eq!(statuses(&s, id).await[1].1[0], row(W1, "443", "DOWN"));
        assert!(
            h.set_lb_server_health(1, W1.parse().unwrap(), None, Some("down"))
                .is_err()
        );

        // Errors use the envelope.
        let r = set(json!({"ip": W1, "status": "cleaning"})).await;
        assert_error(
            &r,
            "400 Bad Request",
            "bad_request",
            &improper("status must be up, down or null, got \"cleaning\""),
        );
        let r = s
            .admin(
                "PUT",
                "appliances/1/health",
                Some(r#"{"ip": "203.0.113.100", "status": "down"}"#),
            )
            .await;
        assert_error(
            &r,
            "404 Not Found",
            "not_found",
            "appliances/1 is not a load balancer",
        );
    });
}

#[test]
fn real_servers_down_by_power_and_when_not_a_server() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        let body = lb_body(
            sw,
            "lb-1",
            &["203.0.113.102"],
            1,
            "203.0.113.103",
            &[W1, "203.0.113.110"],
        );
        let id = s.post("appliance", &body).await.body["Appliance"]["ID"]
            .as_u64()
            .unwrap();
        let st = statuses(&s, id).await;
        assert_eq!(
            st[0].1,
            vec![row(W1, "80", "UP"), row("203.0.113.110", "80", "DOWN")]
        );
        // Powering worker-1 off takes it down.
        let workers = s
            .find("server", &json!({"Filter": {"Name": "worker-1"}}))
            .await;
        let w1 = workers.body["Servers"][0]["ID"].as_u64().unwrap();
        s.sim.handle().set_server_power(w1, false).unwrap();
        assert_eq!(statuses(&s, id).await[0].1[0], row(W1, "80", "DOWN"));
    });
}

#[test]
fn scenarios_can_fail_health_checks() {
    test_runtime::run_multi(async {
        let yaml = format!(
            "{LB_SCENARIO}appliances:
  - class: loadbalancer
    name: seeded-lb
    router: k8s-router
    ips: [203.0.113.104]
    server_health: {{\"{W1}\": down, \"{W2}:80\": up}}
    settings:
      LoadBalancer:
        - VirtualIPAddress: 203.0.113.105
          Port: \"80\"
          Servers:
            - {{IPAddress: {W1}, Port: \"80\", HealthCheck: {{Protocol: ping}}}}
            - {{IPAddress: {W2}, Port: \"80\", HealthCheck: {{Protocol: ping}}}}
"
        );
        let s = start_scenario(&yaml).await;
        let lbs = s
            .find("appliance", &json!({"Filter": {"Name": "seeded-lb"}}))
            .await;
        let id = lbs.body["Appliances"][0]["ID"].as_u64().unwrap();
        assert_eq!(
            statuses(&s, id).await[0].1,
            vec![row(W1, "80", "DOWN"), row(W2, "80", "UP")]
        );
        let bad = format!(
            "{LB_SCENARIO}appliances:\n  - {{class: loadbalancer, name: x, router: k8s-router, server_health: {{\"{W1}\": sick}}}}\n"
        );
        let r = s
            .admin("POST", "scenario", Some(&bad.replace(LB_SCENARIO, "")))
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("status must be up, down or null"),
            "{}",
            r.text
        );
    });
}
