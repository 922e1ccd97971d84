//! Server read and power.

use crate::common::*;
use sacloud_sim::Simulator;
use serde_json::json;
use std::time::Duration;

#[test]
fn power_cycle_with_delays_and_advance_hook() {
    test_runtime::run_multi(async {
        let sc =
            sacloud_sim::Scenario::parse("servers: [{name: s1, nics: [{shared: true}]}]").unwrap();
        // Long delays: only the deterministic admin hook moves things on.
        let s = start_with(
            Simulator::builder()
                .boot_delay(Duration::from_secs(3600))
                .shutdown_delay(Duration::from_secs(3600))
                .scenario(sc),
        )
        .await;
        let id = s.get("server").await.body["Servers"][0]["ID"]
            .as_u64()
            .unwrap();
        let path = format!("server/{id}/power");
        let status = |r: &Resp| {
            r.body["Server"]["Instance"]["Status"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(status(&s.get(&format!("server/{id}")).await), "up");
        let r = s.put(&path, &json!({})).await;
        assert_error(
            &r,
            "409 Conflict",
            "conflict",
            &format!("Server[ID:{id}] is already running or booting"),
        );

        let r = s.delete(&path, Some(&json!({"Force": true}))).await;
        assert_eq!(
            (r.status, r.body.clone()),
            (200, json!({"Success": true, "is_ok": true}))
        );
        assert_eq!(status(&s.get(&format!("server/{id}")).await), "cleaning");
        assert_eq!(s.get(&path).await.body["Instance"]["Status"], "cleaning");
        let adv = s.admin("POST", "advance", Some(r#"{"ms": 3600000}"#)).await;
        assert_eq!(adv.body["completed"], 1, "{}", adv.text);
        let after = s.get(&format!("server/{id}")).await;
        assert_eq!(status(&after), "down");
        assert_eq!(after.body["Server"]["Instance"]["BeforeStatus"], "cleaning");
        let r = s.delete(&path, None).await;
        assert_error(
            &r,
            "409 Conflict",
            "conflict",
            &format!("Server[ID:{id}] is already stopped or shutting down"),
        );

        assert_eq!(s.put(&path, &json!({})).await.status, 200);
        assert_eq!(status(&s.get(&format!("server/{id}")).await), "down");
        assert_eq!(s.admin("POST", "advance", None).await.body["completed"], 1);
        assert_eq!(status(&s.get(&format!("server/{id}")).await), "up");
    })
}

#[test]
fn zero_delay_power_is_immediate_and_other_zone_is_404() {
    test_runtime::run_multi(async {
        let s = start_scenario("servers: [{name: s1}]").await;
        let id = s.get("server").await.body["Servers"][0]["ID"]
            .as_u64()
            .unwrap();
        assert_eq!(
            s.delete(&format!("server/{id}/power"), None).await.status,
            200
        );
        assert_eq!(
            s.get(&format!("server/{id}")).await.body["Server"]["Instance"]["Status"],
            "down"
        );
        let other = s.call("GET", "is1b", &format!("server/{id}"), None).await;
        assert_error(
            &other,
            "404 Not Found",
            "not_found",
            &format!("Server[ID:{id}] is not found"),
        );
    })
}
