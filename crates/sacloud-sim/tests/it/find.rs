//! Find: filters, paging, sorting, projection, envelope keys.

use crate::common::*;
use serde_json::{Value, json};

const SCENARIO: &str = r#"
zone: is1a
routers:
  - {name: r-one, tags: ["@k8s", "blue"]}
  - {name: r-two, tags: ["@k8s"]}
  - {name: r-tk, tags: ["@k8s"], zone: tk1a}
switches:
  - {name: plain, tags: ["@k8s", "blue"]}
servers:
  - {name: k8s-worker-01, tags: ["@k8s", "blue"]}
  - {name: k8s-worker-02, tags: ["@k8s"]}
  - {name: k8s-master-01, tags: ["@k8s", "master"]}
  - {name: db-01, tags: ["db"]}
  - {name: k8s-worker-03, tags: ["@k8s"], zone: is1b}
"#;

fn names(r: &Resp, key: &str) -> Vec<String> {
    r.body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn name_filter_is_partial_and_anded() {
    test_runtime::run_multi(async {
        let s = start_scenario(SCENARIO).await;
        let r = s
            .find("server", &json!({"Filter": {"Name": "worker"}}))
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-worker-01", "k8s-worker-02"]);
        assert_eq!(r.body["Total"], 2);
        let r = s
            .find("server", &json!({"Filter": {"Name": "k8s 01"}}))
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-worker-01", "k8s-master-01"]);
        // A raw %20 in the query is how clients send the AND form.
        let raw_q = "%7B%22Filter%22%3A%7B%22Name%22%3A%22master%2001%22%7D%7D";
        let r = s
            .call("GET", "is1a", &format!("server?{raw_q}"), None)
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-master-01"]);
        // Partly encoded JSON (only the quotes escaped) works too: the whole query is decoded. Raw
        // `"` cannot be tested: the HTTP stack rejects it before the simulator sees it (documented).
        let r = s
            .call(
                "GET",
                "is1a",
                "server?{%22Filter%22:{%22Name%22:%22db%22}}",
                None,
            )
            .await;
        assert_eq!(names(&r, "Servers"), ["db-01"]);
    })
}

#[test]
fn tag_filters_string_any_all() {
    test_runtime::run_multi(async {
        let s = start_scenario(SCENARIO).await;
        let r = s
            .find("server", &json!({"Filter": {"Tags.Name": "@k8s"}}))
            .await;
        assert_eq!(r.body["Total"], 3);
        let r = s
            .find(
                "server",
                &json!({"Filter": {"Tags.Name": ["master", "db"]}}),
            )
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-master-01", "db-01"]);
        let r = s
            .find(
                "server",
                &json!({"Filter": {"Tags.Name": [["@k8s", "blue"]]}}),
            )
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-worker-01"]);
        let r = s
            .find(
                "internet",
                &json!({"Filter": {"Tags.Name": [["@k8s", "blue"]]}}),
            )
            .await;
        assert_eq!(names(&r, "Internet"), ["r-one"]);
        let r = s
            .find(
                "switch",
                &json!({"Filter": {"Tags.Name": [["@k8s", "blue"]]}}),
            )
            .await;
        assert_eq!(names(&r, "Switches"), ["r-one", "plain"]);
    })
}

#[test]
fn zone_scoping_ids_scope_and_time() {
    test_runtime::run_multi(async {
        let s = start_scenario(SCENARIO).await;
        assert_eq!(s.get("server").await.body["Total"], 4);
        assert_eq!(s.call("GET", "is1b", "server", None).await.body["Total"], 1);
        assert_eq!(
            s.call("GET", "tk1a", "internet", None).await.body["Total"],
            1
        );
        let all = s.get("server").await;
        let ids: Vec<u64> = all.body["Servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["ID"].as_u64().unwrap())
            .collect();
        let r = s
            .find(
                "server",
                &json!({"Filter": {"ID": [ids[1].to_string(), ids[3]]}}),
            )
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-worker-02", "db-01"]);
        let r = s
            .find("switch", &json!({"Filter": {"Scope": "user"}}))
            .await;
        assert_eq!(r.body["Total"], 3);
        let r = s
        .find(
            "server",
            &json!({"Filter": {"Zone.Name": "is1a", "CreatedAt>": "2000-01-01T00:00:00+09:00"}}),
        )
        .await;
        assert_eq!(r.body["Total"], 4);
        let r = s
            .find(
                "server",
                &json!({"Filter": {"CreatedAt<": "2000-01-01T00:00:00+09:00"}}),
            )
            .await;
        assert_eq!(r.body["Total"], 0);
        assert_eq!(r.body["Servers"], json!([]));
    })
}

#[test]
fn paging_sorting_projection() {
    test_runtime::run_multi(async {
        let s = start_scenario(SCENARIO).await;
        let r = s
            .find("server", &json!({"From": 1, "Count": 2, "Sort": ["Name"]}))
            .await;
        assert_eq!(
            (
                r.body["Total"].clone(),
                r.body["From"].clone(),
                r.body["Count"].clone()
            ),
            (json!(4), json!(1), json!(2))
        );
        assert_eq!(names(&r, "Servers"), ["k8s-master-01", "k8s-worker-01"]);
        let r = s.find("server", &json!({"From": 10, "Count": 2})).await;
        assert_eq!(
            (r.body["Total"].clone(), r.body["Count"].clone()),
            (json!(4), json!(0))
        );
        let r = s
            .find("server", &json!({"Sort": ["-Name"], "Count": 1}))
            .await;
        assert_eq!(names(&r, "Servers"), ["k8s-worker-02"]);
        let r = s
            .find("server", &json!({"Include": ["ID", "Name"], "Count": 1}))
            .await;
        let keys: Vec<&String> = r.body["Servers"][0].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2);
        let r = s
            .find("server", &json!({"Exclude": ["Interfaces"], "Count": 1}))
            .await;
        assert!(r.body["Servers"][0].get("Interfaces").is_none());
        assert!(r.body["Servers"][0].get("Name").is_some());
    })
}

#[test]
fn envelope_keys_per_resource() {
    test_runtime::run_multi(async {
        let s = start_scenario(SCENARIO).await;
        for (res, key) in [
            ("server", "Servers"),
            ("switch", "Switches"),
            ("internet", "Internet"),
            ("appliance", "Appliances"),
            ("zone", "Zones"),
        ] {
            let r = s.get(res).await;
            assert_eq!(r.status, 200);
            assert!(r.body[key].is_array(), "{res}: {}", r.text);
            assert_eq!(r.body["is_ok"], true);
            for k in ["Total", "From", "Count"] {
                assert!(r.body[k].is_u64(), "{res} {k}");
            }
        }
        // Single-object envelope uses the singular key, `Internet` for both.
        let id = s.get("internet").await.body["Internet"][0]["ID"].clone();
        let one = s.get(&format!("internet/{id}")).await;
        assert!(one.body["Internet"].is_object());
        assert_eq!(one.body["is_ok"], Value::Bool(true));
    })
}
