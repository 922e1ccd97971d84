//! Bridges: zonal CRUD of a region-wide resource, switches joined across zones (one per zone),
//! and scenarios that declare them.

use crate::common::*;
use serde_json::json;

const TWO_ZONES: &str = "
switches:
  - {name: sw-a, zone: is1a}
  - {name: sw-b, zone: is1b}
  - {name: sw-a2, zone: is1a}
  - {name: sw-t, zone: tk1a}
";

fn switch_id(r: &Resp, name: &str) -> u64 {
    r.body["Switches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == name)
        .and_then(|s| s["ID"].as_u64())
        .unwrap()
}

#[test]
fn switches_of_two_zones_join_one_bridge() {
    test_runtime::run_multi(async {
        let s = start_scenario(TWO_ZONES).await;
        let a = switch_id(&s.call("GET", "is1a", "switch", None).await, "sw-a");
        let a2 = switch_id(&s.call("GET", "is1a", "switch", None).await, "sw-a2");
        let b = switch_id(&s.call("GET", "is1b", "switch", None).await, "sw-b");
        let t = switch_id(&s.call("GET", "tk1a", "switch", None).await, "sw-t");

        let created = s
            .call(
                "POST",
                "is1a",
                "bridge",
                Some(&json!({"Bridge": {"Name": "k8s", "Description": "cluster"}})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["Bridge"]["ID"].as_u64().unwrap();
        assert_eq!(created.body["Bridge"]["Region"]["ID"], 310);

        let put = |zone: &'static str, sw: u64| {
            let s = &s;
            async move {
                s.call("PUT", zone, &format!("switch/{sw}/to/bridge/{id}"), None)
                    .await
            }
        };
        assert_eq!(put("is1a", a).await.status, 200);
        // The bridge ID works from another zone of the region.
        assert_eq!(put("is1b", b).await.status, 200);
        let twice = put("is1a", a2).await;
        assert_eq!(twice.status, 409, "one switch per zone: {}", twice.text);
        assert!(twice.text.contains("already connected"), "{}", twice.text);
        // A switch must be in the URL's zone; a bridge is not seen from another region.
        assert_eq!(put("is1b", a2).await.status, 404);
        assert_eq!(put("tk1a", t).await.status, 404);

        let read = s.call("GET", "is1b", &format!("bridge/{id}"), None).await;
        let switches = read.body["Bridge"]["Info"]["Switches"].as_array().unwrap();
        assert_eq!(switches.len(), 2, "{}", read.text);
        assert_eq!(read.body["Bridge"]["SwitchInZone"]["ID"], b);
        let sw = s.call("GET", "is1a", &format!("switch/{a}"), None).await;
        assert_eq!(sw.body["Switch"]["Bridge"]["ID"], id, "{}", sw.text);
        let other = s.call("GET", "is1a", &format!("switch/{a2}"), None).await;
        assert!(other.body["Switch"]["Bridge"].is_null());

        let listed = s.call("GET", "is1c", "bridge", None).await;
        assert_eq!(listed.body["Total"], 1, "{}", listed.text);
        assert!(listed.body["Bridges"][0]["SwitchInZone"].is_null());
        assert_eq!(s.call("GET", "tk1a", "bridge", None).await.body["Total"], 0);

        let renamed = s
            .call(
                "PUT",
                "is1a",
                &format!("bridge/{id}"),
                Some(&json!({"Bridge": {"Name": "renamed"}})),
            )
            .await;
        assert_eq!(renamed.body["Bridge"]["Name"], "renamed");
        assert_eq!(renamed.body["Bridge"]["Description"], "cluster");

        assert_eq!(
            s.call("DELETE", "is1a", &format!("bridge/{id}"), None)
                .await
                .status,
            409,
            "switches still connected"
        );
        for (zone, sw) in [("is1a", a), ("is1b", b)] {
            let r = s
                .call("DELETE", zone, &format!("switch/{sw}/to/bridge"), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        assert_eq!(
            s.call("DELETE", "is1a", &format!("switch/{a}/to/bridge"), None)
                .await
                .status,
            409
        );
        assert_eq!(
            put("is1a", a2).await.status,
            200,
            "the zone's place is free"
        );
        s.call("DELETE", "is1a", &format!("switch/{a2}/to/bridge"), None)
            .await;
        assert_eq!(
            s.call("DELETE", "is1a", &format!("bridge/{id}"), None)
                .await
                .status,
            200
        );
        assert_eq!(
            s.call("GET", "is1a", &format!("bridge/{id}"), None)
                .await
                .status,
            404
        );
    })
}

#[test]
fn scenarios_place_resources_in_zones_and_bridge_switches() {
    test_runtime::run_multi(async {
        let s = start_scenario(
            "
zone: is1a
switches:
  - {name: k8s, network: 192.168.0.0/24}
  - {name: k8s, zone: is1b, network: 192.168.0.0/24}
servers:
  - {name: a1, nics: [{switch: k8s, ip: 192.168.0.11}]}
  - {name: b1, zone: is1b, nics: [{switch: k8s, ip: 192.168.0.21}]}
bridges:
  - name: k8s
    switches: [{name: k8s}, {name: k8s, zone: is1b}]
",
        )
        .await;
        let b = s.call("GET", "is1b", "switch", None).await;
        assert_eq!(b.body["Switches"][0]["Bridge"]["Name"], "k8s", "{}", b.text);
        let servers = s.call("GET", "is1b", "server", None).await;
        assert_eq!(servers.body["Total"], 1);
        assert_eq!(servers.body["Servers"][0]["Zone"]["Name"], "is1b");

        let bad = sacloud_sim::Scenario::parse(
            "switches: [{name: x}, {name: y}]\nbridges: [{name: b, switches: [{name: x}, {name: y}]}]",
        )
        .unwrap();
        let err = sacloud_sim::Simulator::builder()
            .scenario(bad)
            .start()
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("already connected"), "{err}");
    })
}
