//! Routing, auth, envelopes, zones.

use crate::common::*;
use serde_json::json;

#[test]
fn auth_is_required_and_checked() {
    test_runtime::run_multi(async {
        let s = start().await;
        let none = raw(s.addr(), "GET", "/is1a/api/cloud/1.1/zone", &[], None).await;
        let msg = "Authentication failed. Please check your API key (access token and secret).";
        assert_error(&none, "401 Unauthorized", "unauthorized", msg);
        let wrong = raw(
            s.addr(),
            "GET",
            "/is1a/api/cloud/1.1/zone",
            &[("Authorization", basic(TOKEN, "nope"))],
            None,
        )
        .await;
        assert_error(&wrong, "401 Unauthorized", "unauthorized", msg);
        let ok = s.get("auth-status").await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body["is_ok"], true);
        assert_eq!(ok.body["AuthMethod"], "apikey");
        assert_eq!(ok.body["IsAPIKey"], true);
        assert_eq!(ok.body["Permission"], "create");
    })
}

#[test]
fn both_url_forms_and_unknown_zone() {
    test_runtime::run_multi(async {
        let s = start().await;
        let h = [("Authorization", basic(TOKEN, SECRET))];
        let a = raw(
            s.addr(),
            "GET",
            "/cloud/zone/tk1b/api/cloud/1.1/auth-status",
            &h,
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let bad = raw(s.addr(), "GET", "/xx9z/api/cloud/1.1/server", &h, None).await;
        assert_error(
            &bad,
            "404 Not Found",
            "not_found",
            "zone \"xx9z\" does not exist",
        );
        let nopath = raw(s.addr(), "GET", "/is1a/api/cloud/1.1/nonsense", &h, None).await;
        assert_error(
            &nopath,
            "404 Not Found",
            "not_found",
            "nonsense is not a known API path",
        );
        let method = raw(
            s.addr(),
            "POST",
            "/is1a/api/cloud/1.1/server",
            &h,
            Some("{}"),
        )
        .await;
        assert_error(
            &method,
            "405 Method Not Allowed",
            "method_not_allowed",
            "POST is not allowed on server",
        );
        let missing = s.get("server/999999999999").await;
        assert_error(
            &missing,
            "404 Not Found",
            "not_found",
            "Server[ID:999999999999] is not found",
        );
    })
}

#[test]
fn zones_and_regions() {
    test_runtime::run_multi(async {
        let s = start().await;
        let r = s.get("zone").await;
        assert_eq!(r.body["Total"], 6);
        assert_eq!(r.body["Count"], 6);
        assert_eq!(r.body["From"], 0);
        let names: Vec<&str> = r.body["Zones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z["Name"].as_str().unwrap())
            .collect();
        for z in ["is1a", "is1b", "is1c", "tk1a", "tk1b", "tk1v"] {
            assert!(names.contains(&z), "{z}");
        }
        let one = s.get("zone/31002").await;
        assert_eq!(one.body["Zone"]["Name"], "is1b");
        assert_eq!(one.body["Zone"]["Region"]["ID"], 310);
        assert_eq!(
            one.body["Zone"]["Region"]["NameServers"],
            json!(["133.242.0.3", "133.242.0.4"])
        );
        assert_eq!(s.get("zone/21001").await.body["Zone"]["Region"]["ID"], 210);
        assert_eq!(s.get("zone/29001").await.body["Zone"]["IsDummy"], true);
    })
}

#[test]
fn ids_are_strings_without_bigint_header() {
    test_runtime::run_multi(async {
        let mut s = start_scenario(LB_SCENARIO).await;
        s.bigint = false;
        let r = s.get("server").await;
        let id = &r.body["Servers"][0]["ID"];
        assert!(id.is_string() && id.as_str().unwrap().len() == 12, "{id}");
        assert!(r.body["Servers"][0]["Interfaces"][0]["Switch"]["ID"].is_string());
        s.bigint = true;
        let r = s.get("server").await;
        assert!(r.body["Servers"][0]["ID"].is_u64());
    })
}

#[test]
fn malformed_bodies_and_queries_get_400_not_a_crash() {
    test_runtime::run_multi(async {
        let s = start().await;
        let h = [("Authorization", basic(TOKEN, SECRET))];
        let r = raw(
            s.addr(),
            "POST",
            "/is1a/api/cloud/1.1/appliance",
            &h,
            Some("{not json"),
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["error_code"], "bad_request");
        assert!(
            r.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("request body is not valid JSON")
        );
        let r = raw(
            s.addr(),
            "GET",
            "/is1a/api/cloud/1.1/server?%7Bnope",
            &h,
            None,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(
            r.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("invalid find query")
        );
        let r = s.post("appliance", &json!({"Server": {}})).await;
        assert_eq!(r.status, 400);
        // Still serving afterwards.
        assert_eq!(s.get("zone").await.status, 200);
    })
}
