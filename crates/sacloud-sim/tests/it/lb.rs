//! Load-balancer appliance lifecycle: create, read, update, config, power, status, delete.

use crate::common::*;
use sacloud_sim::Simulator;
use serde_json::{Value, json};
use std::time::Duration;

async fn slow_sim() -> Sim {
    let sc = sacloud_sim::Scenario::parse(LB_SCENARIO).unwrap();
    start_with(
        Simulator::builder()
            .boot_delay(Duration::from_secs(3600))
            .shutdown_delay(Duration::from_secs(3600))
            .scenario(sc),
    )
    .await
}

fn state(r: &Resp) -> (String, String) {
    let a = &r.body["Appliance"];
    (
        a["Availability"].as_str().unwrap().to_owned(),
        a["Instance"]["Status"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn full_lifecycle() {
    test_runtime::run_multi(async {
        let s = slow_sim().await;
        let (sw, _) = switch_ids(&s).await;
        let created = s
            .post(
                "appliance",
                &lb_body(
                    sw,
                    "lb-1",
                    &["203.0.113.102", "203.0.113.103"],
                    1,
                    "203.0.113.104",
                    &["203.0.113.100", "203.0.113.101"],
                ),
            )
            .await;
        assert_eq!(created.status, 202, "{}", created.text);
        assert_eq!(created.body["Success"], "Accepted");
        assert_eq!(created.body["is_ok"], true);
        assert_eq!(state(&created), ("migrating".into(), "down".into()));
        let a = &created.body["Appliance"];
        let id = a["ID"].as_u64().unwrap();
        assert_eq!(id.to_string().len(), 12);
        assert_eq!(a["Tags"], json!(["@k8s", "z-tag"]));
        assert_eq!(a["ServiceClass"], "cloud/appliance/loadbalancer/1");
        assert_eq!(a["Switch"]["ID"], sw);
        assert_eq!(a["Switch"]["Internet"]["Name"], "k8s-router");
        assert_eq!(a["Interfaces"].as_array().unwrap().len(), 2);
        assert_eq!(a["Interfaces"][1]["UserIPAddress"], "203.0.113.103");
        let hash0 = a["SettingsHash"].as_str().unwrap().to_owned();
        assert_eq!(hash0.len(), 32);

        // Power operations and delete are refused while migrating.
        let msg = format!("Appliance[ID:{id}] is still being created. Please wait and try again.");
        assert_error(
            &s.put(&format!("appliance/{id}/power"), &json!({})).await,
            "409 Conflict",
            "still_creating",
            &msg,
        );
        assert_error(
            &s.delete(
                &format!("appliance/{id}/power"),
                Some(&json!({"Force": true})),
            )
            .await,
            "409 Conflict",
            "still_creating",
            &msg,
        );
        assert_error(
            &s.delete(&format!("appliance/{id}"), None).await,
            "409 Conflict",
            "still_creating",
            &msg,
        );

        // The deterministic hook finishes the boot.
        s.sim.handle().advance(Duration::from_secs(3600));
        assert_eq!(
            state(&s.get(&format!("appliance/{id}")).await),
            ("available".into(), "up".into())
        );
        assert_error(
            &s.put(&format!("appliance/{id}/power"), &json!({})).await,
            "409 Conflict",
            "conflict",
            &format!("Appliance[ID:{id}] is already running or booting"),
        );
        assert_error(
            &s.delete(&format!("appliance/{id}"), None).await,
            "409 Conflict",
            "conflict",
            &format!("Appliance[ID:{id}] must be stopped before it can be deleted"),
        );

        // Status: worker-1 (.100) is up, worker-2 (.101) is down.
        let st = s.get(&format!("appliance/{id}/status")).await;
        assert_eq!(st.status, 200, "{}", st.text);
        let lb0 = &st.body["LoadBalancer"][0];
        assert_eq!(
            (lb0["VirtualIPAddress"].clone(), lb0["Port"].clone()),
            (json!("203.0.113.104"), json!("80"))
        );
        assert_eq!(lb0["Servers"][0]["Status"], "UP");
        assert_eq!(lb0["Servers"][1]["Status"], "DOWN");

        // Update with the current hash, then a stale one is refused.
        let mut upd = lb_body(
            sw,
            "lb-1-renamed",
            &[],
            1,
            "203.0.113.104",
            &["203.0.113.100"],
        );
        upd["Appliance"]["SettingsHash"] = json!(hash0);
        let r = s.put(&format!("appliance/{id}"), &json!({"Appliance": {"Name": "lb-1-renamed", "Settings": upd["Appliance"]["Settings"], "SettingsHash": hash0}})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["Success"], true);
        assert_eq!(r.body["Appliance"]["Name"], "lb-1-renamed");
        let hash1 = r.body["Appliance"]["SettingsHash"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(hash0, hash1);
        let stale = s
            .put(
                &format!("appliance/{id}"),
                &json!({"Appliance": {"Description": "x", "SettingsHash": hash0}}),
            )
            .await;
        assert_error(
            &stale,
            "409 Conflict",
            "conflict",
            &format!(
                "SettingsHash {hash0} is stale: the settings of Appliance[ID:{id}] were changed by someone else (current {hash1})"
            ),
        );
        // Status still shows the applied (old) settings until config.
        assert_eq!(
            s.get(&format!("appliance/{id}/status")).await.body["LoadBalancer"][0]["Servers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let cfg = s.put(&format!("appliance/{id}/config"), &json!({})).await;
        assert_eq!(cfg.body, json!({"Success": true, "is_ok": true}));
        assert_eq!(
            s.get(&format!("appliance/{id}/status")).await.body["LoadBalancer"][0]["Servers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // Shutdown → cleaning → down, then delete.
        assert_eq!(
            s.delete(
                &format!("appliance/{id}/power"),
                Some(&json!({"Force": true}))
            )
            .await
            .status,
            200
        );
        assert_eq!(
            state(&s.get(&format!("appliance/{id}")).await).1,
            "cleaning"
        );
        assert_error(
            &s.delete(&format!("appliance/{id}/power"), None).await,
            "409 Conflict",
            "conflict",
            &format!("Appliance[ID:{id}] is already stopped or shutting down"),
        );
        s.sim.handle().complete_transitions();
        assert_eq!(state(&s.get(&format!("appliance/{id}")).await).1, "down");
        let del = s.delete(&format!("appliance/{id}"), None).await;
        assert_eq!(del.status, 200, "{}", del.text);
        assert_eq!(del.body["Appliance"]["ID"], id);
        assert_eq!(s.get(&format!("appliance/{id}")).await.status, 404);
    })
}

#[test]
fn zero_boot_delay_is_available_on_next_read_and_find_by_class() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        let created = s
            .post(
                "appliance",
                &lb_body(
                    sw,
                    "lb-0",
                    &["203.0.113.102"],
                    1,
                    "203.0.113.104",
                    &["203.0.113.100"],
                ),
            )
            .await;
        assert_eq!(state(&created), ("migrating".into(), "down".into()));
        let id = created.body["Appliance"]["ID"].as_u64().unwrap();
        eventually(|| {
            let s = &s;
            async move {
                state(&s.get(&format!("appliance/{id}")).await) == ("available".into(), "up".into())
            }
        })
        .await;
        let r = s
            .find(
                "appliance",
                &json!({"Filter": {"Class": "loadbalancer", "Tags.Name": [["@k8s"]]}}),
            )
            .await;
        assert_eq!(r.body["Total"], 1);
        assert_eq!(r.body["Appliances"][0]["ID"], json!(id));
        let r = s
            .find("appliance", &json!({"Filter": {"Class": "vpcrouter"}}))
            .await;
        assert_eq!(r.body["Appliances"], Value::Array(vec![]));
    })
}

#[test]
fn lb_on_plain_switch_uses_its_own_network() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (_, plain) = switch_ids(&s).await;
        let mut body = lb_body(
            plain,
            "lb-p",
            &["192.168.0.21"],
            1,
            "192.168.0.20",
            &["192.168.0.11"],
        );
        body["Appliance"]["Remark"]["Network"] =
            json!({"NetworkMaskLen": 24, "DefaultRoute": "192.168.0.1"});
        let r = s.post("appliance", &body).await;
        assert_eq!(r.status, 202, "{}", r.text);
        let a = &r.body["Appliance"];
        assert_eq!(a["Switch"]["Internet"], Value::Null);
        assert_eq!(a["Interfaces"][0]["Switch"]["Subnet"], Value::Null);
        assert_eq!(
            a["Interfaces"][0]["Switch"]["UserSubnet"]["NetworkMaskLen"],
            24
        );
        let st = s.get(&format!("appliance/{}/status", a["ID"])).await;
        assert_eq!(st.body["LoadBalancer"][0]["Servers"][0]["Status"], "UP");
    })
}
