//! The Enhanced Load Balancer (`commonserviceitem`, ProxyLB): wire shapes of raw requests, every
//! validation rule with its envelope, find filters, plan change, health, the admin API, faults,
//! counters and persistence. Certificates and Let's Encrypt: `proxylb_certs`.

use crate::common::*;
use sacloud_sim::Simulator;
use serde_json::{Value, json};
use std::time::Duration;

pub const BAD: &str = "400 Bad Request";

/// `openssl req -x509 -newkey ec … -subj "/O=sacloud-sim test/CN=www.example.com"
/// -addext "subjectAltName=DNS:www.example.com,DNS:example.com"`; a throwaway test key.
pub const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIB5zCCAY6gAwIBAgIUVH9o7e3fFGRJ9CyRMt7hgB5uQMYwCgYIKoZIzj0EAwIw
NTEZMBcGA1UECgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1w
bGUuY29tMB4XDTI2MTIwNjEwMDgzN1oXDTM2MTIwMzEwMDgzN1owNTEZMBcGA1UE
CgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG/zdjnPOopE88/4OpL0i6NAW1ER6Uzvj
o8lrM7j46P/sGuAX7eYBYOOT+kqJnonB5WWGWHatIEOTqeQlppDv1qN8MHowHQYD
VR0OBBYEFKWV//3D2vwvfa0wm8hR0P/8NuRRMB8GA1UdIwQYMBaAFKWV//3D2vwv
fa0wm8hR0P/8NuRRMA8GA1UdEwEB/wQFMAMBAf8wJwYDVR0RBCAwHoIPd3d3LmV4
YW1wbGUuY29tggtleGFtcGxlLmNvbTAKBggqhkjOPQQDAgNHADBEAiAGC9W61LuH
ms/zqhTo+Y6+/dmXpXwSNqTNCKlSi2WLbQIgbhbFdx8Ri/6ZO0yPDJJOjxl8HRQV
RSO8wGZQhSgY/c8=
-----END CERTIFICATE-----
";
pub const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgF/5FUs8Zb8cF2+15
Q/Yszk+tdDWqMthD+2m7vnJAZ1GhRANCAAQb/N2Oc86ikTzz/g6kvSLo0BbURHpT
O+OjyWszuPjo/+wa4Bft5gFg45P6SomeicHlZYZYdq0gQ5Op5CWmkO/W
-----END PRIVATE KEY-----
";

/// The create example of the reference (`enhanced-lb.md` §1.2), verbatim.
pub fn example() -> Value {
    json!({"CommonServiceItem": {
      "Name": "svc-abc", "Description": "", "Tags": ["k8s-cluster=foo"],
      "Provider": {"Class": "proxylb"},
      "ServiceClass": "cloud/proxylb/plain/100",
      "Settings": {"ProxyLB": {
        "HealthCheck": {"Protocol": "http", "Path": "/healthz", "Host": "example.com", "DelayLoop": 10},
        "SorryServer": {"IPAddress": "", "Port": null},
        "BindPorts": [
          {"ProxyMode": "http",  "Port": 80,  "RedirectToHttps": true, "SupportHttp2": false,
           "AddResponseHeader": [{"Header": "Cache-Control", "Value": "public, max-age=60"}]},
          {"ProxyMode": "https", "Port": 443, "RedirectToHttps": false, "SupportHttp2": true, "SSLPolicy": "TLS-1-3-2021-06"}],
        "Servers": [{"IPAddress": "203.0.113.10", "Port": 30080, "ServerGroup": "", "Enabled": true, "ProxySSL": false}],
        "Rules": [],
        "LetsEncrypt": {"Enabled": false},
        "StickySession": {"Enabled": false},
        "Timeout": {"InactiveSec": 10},
        "Gzip": {"Enabled": false},
        "BackendHttpKeepAlive": {"Mode": "safe"},
        "MonitoringSuiteLog": {"Enabled": false},
        "ProxyProtocol": {"Enabled": false},
        "Syslog": {"Server": "", "Port": 514}
      }},
      "Status": {"UseVIPFailover": true, "Region": "is1"}
    }})
}

/// The same body as an older client writes it: every number a string.
const EXAMPLE_WITH_STRING_NUMBERS: &str = r#"{"CommonServiceItem": {
  "Name": "svc-strings", "Description": "", "Tags": ["k8s-cluster=foo"],
  "Provider": {"Class": "proxylb"},
  "ServiceClass": "cloud/proxylb/plain/100",
  "Settings": {"ProxyLB": {
    "HealthCheck": {"Protocol": "http", "Path": "/healthz", "Host": "example.com", "DelayLoop": "10"},
    "SorryServer": {"IPAddress": "", "Port": null},
    "BindPorts": [
      {"ProxyMode": "http",  "Port": "80",  "RedirectToHttps": true, "SupportHttp2": false,
       "AddResponseHeader": [{"Header": "Cache-Control", "Value": "public, max-age=60"}]},
      {"ProxyMode": "https", "Port": "443", "RedirectToHttps": false, "SupportHttp2": true, "SSLPolicy": "TLS-1-3-2021-06"}],
    "Servers": [{"IPAddress": "203.0.113.10", "Port": "30080", "ServerGroup": "", "Enabled": true, "ProxySSL": false}],
    "Rules": [],
    "LetsEncrypt": {"Enabled": false},
    "StickySession": {"Enabled": false},
    "Timeout": {"InactiveSec": "10"},
    "Gzip": {"Enabled": false},
    "BackendHttpKeepAlive": {"Mode": "safe"},
    "MonitoringSuiteLog": {"Enabled": false},
    "ProxyProtocol": {"Enabled": false},
    "Syslog": {"Server": "", "Port": "514"}
  }},
  "Status": {"UseVIPFailover": true, "Region": "is1"}
}}"#;

async fn post_raw(s: &Sim, text: &str) -> Resp {
    raw(
        s.addr(),
        "POST",
        "/is1a/api/cloud/1.1/commonserviceitem",
        &[
            ("Authorization", basic(TOKEN, SECRET)),
            ("X-Sakura-Bigint-As-Int", "1".to_owned()),
        ],
        Some(text),
    )
    .await
}

async fn current_vip(s: &Sim, id: &Value) -> Value {
    s.get(&format!("commonserviceitem/{id}/health")).await.body["ProxyLB"]["CurrentVIP"].clone()
}

/// The health document and each real server's status.
async fn health(s: &Sim, id: u64) -> (Value, Vec<String>) {
    let h = s.get(&format!("commonserviceitem/{id}/health")).await.body["ProxyLB"].clone();
    let list = h["Servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Status"].as_str().unwrap().to_owned())
        .collect();
    (h, list)
}

async fn set_health(s: &Sim, id: u64, body: &str) -> u16 {
    s.admin("PUT", &format!("proxylbs/{id}/health"), Some(body))
        .await
        .status
}

pub async fn create(s: &Sim, body: &Value) -> u64 {
    let r = s.post("commonserviceitem", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["CommonServiceItem"]["ID"].as_u64().unwrap()
}

fn with_name(name: &str, tags: &[&str]) -> Value {
    let mut b = example();
    b["CommonServiceItem"]["Name"] = json!(name);
    b["CommonServiceItem"]["Tags"] = json!(tags);
    b
}

#[test]
fn the_reference_create_example_and_its_string_number_form() {
    test_runtime::run_multi(async {
        let s = start().await;
        for text in [
            example().to_string(),
            EXAMPLE_WITH_STRING_NUMBERS.to_owned(),
        ] {
            let r = post_raw(&s, &text).await;
            assert_eq!(r.status, 201, "{}", r.text);
            assert_eq!(
                (r.body["is_ok"].clone(), r.body["Success"].clone()),
                (json!(true), json!(true))
            );
            let item = &r.body["CommonServiceItem"];
            assert_eq!(item["ID"].as_u64().unwrap().to_string().len(), 12);
            assert_eq!(item["Availability"], "available");
            assert_eq!(item["ServiceClass"], "cloud/proxylb/plain/100");
            assert_eq!(
                item["Provider"],
                json!({"ID": 9_100_001, "Class": "proxylb", "Name": "proxylb1", "ServiceClass": "cloud/proxylb"})
            );
            assert_eq!(item["SettingsHash"].as_str().unwrap().len(), 32);
            assert!(item["CreatedAt"].as_str().unwrap().ends_with("+09:00"));
            assert!(item["ModifiedAt"].is_string());
            let st = &item["Status"];
            assert_eq!(
                (st["UseVIPFailover"].clone(), st["Region"].clone()),
                (json!(true), json!("is1"))
            );
            assert_eq!(st["ProxyNetworks"], json!(["198.19.128.0/28"]));
            let fqdn = st["FQDN"].as_str().unwrap();
            assert!(
                fqdn.starts_with("site-") && fqdn.ends_with(".sakura.ne.jp"),
                "{fqdn}"
            );
            assert!(
                st.get("VirtualIPAddress").is_none(),
                "the VIP comes from /health"
            );
            // Settings come back with JSON numbers and the API's defaults.
            let p = &item["Settings"]["ProxyLB"];
            assert_eq!(p["BindPorts"][0]["Port"], 80);
            assert_eq!(p["BindPorts"][1]["SSLPolicy"], "TLS-1-3-2021-06");
            assert_eq!(
                p["BindPorts"][0]["AddResponseHeader"][0]["Value"],
                "public, max-age=60"
            );
            assert_eq!(
                p["Servers"][0],
                json!({"IPAddress": "203.0.113.10", "Port": 30080, "ServerGroup": "", "Enabled": true, "ProxySSL": false})
            );
            assert_eq!(p["HealthCheck"]["DelayLoop"], 10);
            assert_eq!(p["Timeout"], json!({"InactiveSec": 10}));
            assert_eq!(p["SorryServer"], json!({"IPAddress": null, "Port": null}));
            assert_eq!(p["Syslog"], json!({"Server": "", "Port": 514}));
            assert_eq!(p["Rules"], json!([]));
        }
        // Two items, different VIPs; the hash is a digest of the settings (same settings, same hash).
        let list = s.get("commonserviceitem").await;
        let items = list.body["CommonServiceItems"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["SettingsHash"], items[1]["SettingsHash"]);
        assert_ne!(
            current_vip(&s, &items[0]["ID"]).await,
            current_vip(&s, &items[1]["ID"]).await
        );
        // Without failover: no FQDN; IDs as strings without the bigint header.
        let mut no_fqdn = with_name("no-failover", &[]);
        no_fqdn["CommonServiceItem"]["Status"] = json!({"UseVIPFailover": false, "Region": "tk1"});
        let r = Sim {
            sim: s.sim,
            bigint: false,
        }
        .post("commonserviceitem", &no_fqdn)
        .await;
        assert!(r.body["CommonServiceItem"]["ID"].is_string(), "{}", r.text);
        assert!(r.body["CommonServiceItem"]["Status"].get("FQDN").is_none());
        assert_eq!(
            r.body["CommonServiceItem"]["Status"]["ProxyNetworks"],
            json!(["198.19.128.16/28"])
        );
    })
}

/// One broken rule per case: path into `CommonServiceItem`, value, and the exact detail.
fn invalid_cases() -> Vec<(Vec<&'static str>, Value, &'static str)> {
    let ports = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"ProxyMode": "tcp", "Port": 1000 + i}))
            .collect()
    };
    let servers: Value = (0..41)
        .map(|i| json!({"IPAddress": format!("203.0.113.{i}"), "Port": 30080}))
        .collect();
    let tags: Value = (0..11).map(|i| format!("t{i}")).collect();
    vec![
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            ports(0),
            "Settings.ProxyLB.BindPorts: 1 or 2 listeners are required (got 0)",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            ports(3),
            "Settings.ProxyLB.BindPorts: 1 or 2 listeners are required (got 3)",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            Value::Null,
            "Settings.ProxyLB.BindPorts must be a list; send [] rather than null",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            json!([{"ProxyMode": "tcp", "Port": 0}]),
            "Settings.ProxyLB.BindPorts[0].Port must be 1-65535 (got 0)",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            json!([{"ProxyMode": "tcp", "Port": "65536"}]),
            "Settings.ProxyLB.BindPorts[0].Port must be 1-65535 (got \"65536\")",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            json!([{"ProxyMode": "udp", "Port": 53}]),
            "Settings.ProxyLB.BindPorts[0].ProxyMode must be one of http, https, tcp (got \"udp\")",
        ),
        (
            vec!["Settings", "ProxyLB", "BindPorts"],
            json!([{"ProxyMode": "https", "Port": 443, "SSLPolicy": "TLS-1-0"}]),
            "Settings.ProxyLB.BindPorts[0].SSLPolicy must be one of TLS-1-2-2019-04, TLS-1-2-2021-06, TLS-1-3-2021-06 (got \"TLS-1-0\")",
        ),
        (
            vec!["Settings", "ProxyLB", "Servers"],
            servers,
            "Settings.ProxyLB.Servers: at most 40 real servers are allowed (got 41)",
        ),
        (
            vec!["Settings", "ProxyLB", "Servers"],
            json!([{"IPAddress": "203.0.113.10", "Port": 70000}]),
            "Settings.ProxyLB.Servers[0].Port must be 1-65535 (got 70000)",
        ),
        (
            vec!["Settings", "ProxyLB", "Servers"],
            Value::Null,
            "Settings.ProxyLB.Servers must be a list; send [] rather than null",
        ),
        (
            vec!["Settings", "ProxyLB", "HealthCheck", "DelayLoop"],
            json!(9),
            "Settings.ProxyLB.HealthCheck.DelayLoop must be 10-60 (got 9)",
        ),
        (
            vec!["Settings", "ProxyLB", "HealthCheck", "DelayLoop"],
            json!("61"),
            "Settings.ProxyLB.HealthCheck.DelayLoop must be 10-60 (got \"61\")",
        ),
        (
            vec!["Settings", "ProxyLB", "HealthCheck", "Protocol"],
            json!("ping"),
            "Settings.ProxyLB.HealthCheck.Protocol must be one of http, tcp (got \"ping\")",
        ),
        (
            vec!["Settings", "ProxyLB", "Timeout", "InactiveSec"],
            json!(9),
            "Settings.ProxyLB.Timeout.InactiveSec must be 10-600 (got 9)",
        ),
        (
            vec!["Settings", "ProxyLB", "Timeout", "InactiveSec"],
            json!(601),
            "Settings.ProxyLB.Timeout.InactiveSec must be 10-600 (got 601)",
        ),
        (
            vec!["Settings", "ProxyLB", "Syslog"],
            json!({"Server": "", "Port": null}),
            "Settings.ProxyLB.Syslog: an empty syslog (no Server, no Port) is refused; send Port 514",
        ),
        (
            vec!["ServiceClass"],
            json!("cloud/proxylb/plain/200"),
            "the plan must be one of 100, 500, 1000, 5000, 10000, 50000, 100000, 400000 CPS (got 200)",
        ),
        (
            vec!["ServiceClass"],
            json!("cloud/proxylb/anycast/100"),
            "ServiceClass cloud/proxylb/anycast/100 does not fit region is1 (use cloud/proxylb/plain/…)",
        ),
        (
            vec!["Status", "Region"],
            json!("us1"),
            "Status.Region must be one of is1, tk1, anycast (got \"us1\")",
        ),
        (
            vec!["Tags"],
            tags,
            "Tags: at most 10 tags are allowed (got 11)",
        ),
        (
            vec!["Name"],
            json!(""),
            "Name must be 1-64 characters (got 0)",
        ),
        (
            vec!["Name"],
            json!("n".repeat(65)),
            "Name must be 1-64 characters (got 65)",
        ),
        (
            vec!["Provider", "Class"],
            json!("dns"),
            "Provider.Class must be \"proxylb\" (the simulator serves no other common service), got \"dns\"",
        ),
    ]
}

fn set(v: &mut Value, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().unwrap();
    let mut cur = v;
    for p in parents {
        cur = &mut cur[*p];
    }
    cur[*last] = value;
}

#[test]
fn every_limit_is_a_400_envelope_on_create_and_update() {
    test_runtime::run_multi(async {
        let s = start().await;
        for (path, value, detail) in invalid_cases() {
            let mut b = example();
            set(&mut b["CommonServiceItem"], &path, value);
            let r = s.post("commonserviceitem", &b).await;
            assert_error(&r, BAD, "bad_request", &improper(detail));
        }
        assert_eq!(
            s.get("commonserviceitem").await.body["Total"],
            0,
            "nothing was created"
        );

        // The same settings rules on update; the item stays as it was.
        let id = create(&s, &example()).await;
        let before = s.get(&format!("commonserviceitem/{id}")).await.body;
        for (path, value, detail) in invalid_cases() {
            if path[0] != "Settings" {
                continue;
            }
            let mut b = json!({"CommonServiceItem": {"Settings": example()["CommonServiceItem"]["Settings"].clone()}});
            set(&mut b["CommonServiceItem"], &path, value);
            let r = s.put(&format!("commonserviceitem/{id}"), &b).await;
            assert_error(&r, BAD, "bad_request", &improper(detail));
        }
        assert_eq!(s.get(&format!("commonserviceitem/{id}")).await.body, before);
    })
}

#[test]
fn find_by_provider_class_name_and_tags_with_paging_in_any_zone() {
    test_runtime::run_multi(async {
        let s = start().await;
        let a = create(&s, &with_name("web-frontend", &["@k8s", "cluster=a"])).await;
        let b = create(&s, &with_name("web-backend", &["@k8s", "cluster=b"])).await;
        let c = create(&s, &with_name("api", &["cluster=a"])).await;
        let ids = |r: &Resp| -> Vec<u64> {
            r.body["CommonServiceItems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["ID"].as_u64().unwrap())
                .collect()
        };
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Provider.Class": "proxylb"}}),
            )
            .await;
        assert_eq!(ids(&r), [a, b, c]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Provider.Class": "dns"}}),
            )
            .await;
        assert_eq!((r.body["Total"].clone(), ids(&r)), (json!(0), vec![]));
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Provider.Class": "proxylb", "Name": "web"}}),
            )
            .await;
        assert_eq!(ids(&r), [a, b]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Name": "web front"}}),
            )
            .await;
        assert_eq!(ids(&r), [a]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Tags.Name": [["@k8s", "cluster=a"]]}}),
            )
            .await;
        assert_eq!(ids(&r), [a]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Tags.Name": ["cluster=b", "cluster=a"]}}),
            )
            .await;
        assert_eq!(ids(&r), [a, b, c]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"Tags.Name": "cluster=a"}, "Count": 1, "From": 1}),
            )
            .await;
        assert_eq!(
            (
                r.body["Total"].clone(),
                r.body["From"].clone(),
                r.body["Count"].clone()
            ),
            (json!(2), json!(1), json!(1))
        );
        assert_eq!(ids(&r), [c]);
        let r = s
            .find(
                "commonserviceitem",
                &json!({"Filter": {"ID": b}, "Include": ["ID", "Name"]}),
            )
            .await;
        assert_eq!(
            r.body["CommonServiceItems"],
            json!([{"ID": b, "Name": "web-backend"}])
        );
        // Global: every zone's URL serves the same items.
        for zone in ["tk1b", "is1c"] {
            let r = s
                .call("GET", zone, &format!("commonserviceitem/{a}"), None)
                .await;
            assert_eq!(
                r.body["CommonServiceItem"]["Name"], "web-frontend",
                "{zone}"
            );
        }
        // 405 for a known path with another method, 404 for an unknown one.
        let r = s.post(&format!("commonserviceitem/{a}"), &json!({})).await;
        assert_eq!(
            (r.status, r.body["error_code"].clone()),
            (405, json!("method_not_allowed"))
        );
        let r = s
            .get(&format!("commonserviceitem/{a}/proxylb/nothing"))
            .await;
        assert_eq!(r.status, 404);
    })
}

#[test]
fn update_with_hash_conflict_plan_change_and_delete() {
    test_runtime::run_multi(async {
        let s = start().await;
        let id = create(&s, &example()).await;
        let read =
            s.get(&format!("commonserviceitem/{id}")).await.body["CommonServiceItem"].clone();
        let hash = read["SettingsHash"].as_str().unwrap().to_owned();

        // Settings are replaced wholesale.
        let mut settings = read["Settings"].clone();
        settings["ProxyLB"]["Servers"] =
            json!([{"IPAddress": "203.0.113.11", "Port": "31080", "Enabled": true}]);
        settings["ProxyLB"].as_object_mut().unwrap().remove("Gzip");
        let r = s
            .put(
                &format!("commonserviceitem/{id}"),
                &json!({"CommonServiceItem": {"Settings": settings, "SettingsHash": hash}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let updated = &r.body["CommonServiceItem"];
        assert_ne!(updated["SettingsHash"], json!(hash));
        assert_eq!(updated["Settings"]["ProxyLB"]["Servers"][0]["Port"], 31080);
        assert_eq!(
            updated["Settings"]["ProxyLB"]["Gzip"],
            json!({"Enabled": false})
        );

        let r = s
            .put(
                &format!("commonserviceitem/{id}"),
                &json!({"CommonServiceItem": {"Settings": read["Settings"], "SettingsHash": hash}}),
            )
            .await;
        assert_eq!(
            (r.status, r.body["error_code"].clone()),
            (409, json!("conflict")),
            "{}",
            r.text
        );
        assert!(r.body["error_msg"].as_str().unwrap().contains("is stale"));

        // Name, description and tags without settings keep the settings and their hash.
        let r = s
            .put(
                &format!("commonserviceitem/{id}"),
                &json!({"CommonServiceItem": {"Description": "d", "Tags": ["z", "a"]}}),
            )
            .await;
        assert_eq!(r.body["CommonServiceItem"]["Tags"], json!(["a", "z"]));
        assert_eq!(
            r.body["CommonServiceItem"]["SettingsHash"],
            updated["SettingsHash"]
        );
        for (body, detail) in [
            (
                json!({"Status": {"Region": "tk1"}}),
                "Status.Region cannot change after creation (it is is1, got tk1)",
            ),
            (
                json!({"Status": {"UseVIPFailover": false}}),
                "Status.UseVIPFailover cannot change after creation (it is true)",
            ),
            (
                json!({"ServiceClass": "cloud/proxylb/plain/500"}),
                "the plan cannot change in an update; use PUT commonserviceitem/{id}/plan",
            ),
        ] {
            let r = s
                .put(
                    &format!("commonserviceitem/{id}"),
                    &json!({"CommonServiceItem": body}),
                )
                .await;
            assert_error(&r, BAD, "bad_request", &improper(detail));
        }

        // Plan change: a new ID with the same VIP, FQDN, networks, settings and tags.
        let before =
            s.get(&format!("commonserviceitem/{id}")).await.body["CommonServiceItem"].clone();
        let vip =
            s.get(&format!("commonserviceitem/{id}/health")).await.body["ProxyLB"]["CurrentVIP"]
                .clone();
        let r = s
            .put(
                &format!("commonserviceitem/{id}/plan"),
                &json!({"CommonServiceItem": {"ServiceClass": "cloud/proxylb/plain/5000"}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let moved = r.body["CommonServiceItem"].clone();
        let new_id = moved["ID"].as_u64().unwrap();
        assert_ne!(new_id, id);
        assert_eq!(moved["ServiceClass"], "cloud/proxylb/plain/5000");
        for key in ["Name", "Tags", "SettingsHash", "Settings"] {
            assert_eq!(moved[key], before[key], "{key}");
        }
        assert_eq!(moved["Status"]["FQDN"], read["Status"]["FQDN"]);
        assert_eq!(
            moved["Status"]["ProxyNetworks"],
            read["Status"]["ProxyNetworks"]
        );
        assert_eq!(
            s.get(&format!("commonserviceitem/{new_id}/health"))
                .await
                .body["ProxyLB"]["CurrentVIP"],
            vip
        );
        let old = s.get(&format!("commonserviceitem/{id}")).await;
        assert_error(
            &old,
            "404 Not Found",
            "not_found",
            &format!("CommonServiceItem[ID:{id}] is not found"),
        );
        let r = s
            .put(
                &format!("commonserviceitem/{new_id}/plan"),
                &json!({"CommonServiceItem": {"ServiceClass": "cloud/proxylb/plain/5000"}}),
            )
            .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper(&format!(
                "CommonServiceItem[ID:{new_id}] already has plan 5000"
            )),
        );
        // `Plan` as a string number is accepted as well.
        let r = s
            .put(
                &format!("commonserviceitem/{new_id}/plan"),
                &json!({"CommonServiceItem": {"Plan": {"ID": "400000"}}}),
            )
            .await;
        assert_eq!(
            r.body["CommonServiceItem"]["ServiceClass"], "cloud/proxylb/plain/400000",
            "{}",
            r.text
        );
        let last = r.body["CommonServiceItem"]["ID"].as_u64().unwrap();

        assert_eq!(
            s.delete(&format!("commonserviceitem/{last}"), None)
                .await
                .status,
            200
        );
        for path in ["", "/health", "/proxylb/sslcertificate"] {
            assert_eq!(
                s.get(&format!("commonserviceitem/{last}{path}"))
                    .await
                    .status,
                404,
                "{path}"
            );
        }
    })
}

#[test]
fn health_follows_settings_admin_overrides_and_stopped_servers() {
    test_runtime::run_multi(async {
        let s =
            start_scenario("servers: [{name: node-1, status: down, nics: [{shared: true}]}]").await;
        let node_ip = s.get("server").await.body["Servers"][0]["Interfaces"][0]["IPAddress"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut b = example();
        b["CommonServiceItem"]["Settings"]["ProxyLB"]["Servers"] = json!([
            {"IPAddress": "203.0.113.10", "Port": 30080, "Enabled": true},
            {"IPAddress": "203.0.113.10", "Port": 30443, "Enabled": true},
            {"IPAddress": node_ip, "Port": 30080, "Enabled": true},
        ]);
        let id = create(&s, &b).await;
        let (h, list) = health(&s, id).await;
        assert_eq!(
            list,
            ["up", "up", "down"],
            "a stopped simulated server is down"
        );
        assert_eq!(h["Servers"][0]["Port"], "30080", "Port is a string");
        assert_eq!(
            (h["ActiveConn"].clone(), h["CPS"].clone()),
            (json!(20), json!(20.0))
        );
        assert!(h["CurrentVIP"].as_str().unwrap().starts_with("198.19."));

        let set = r#"{"ip": "203.0.113.10", "port": 30443, "status": "down"}"#;
        assert_eq!(set_health(&s, id, set).await, 200);
        assert_eq!(health(&s, id).await.1, ["up", "down", "down"]);
        assert_eq!(
            set_health(&s, id, r#"{"ip": "203.0.113.10", "status": "cleaning"}"#).await,
            200
        );
        assert_eq!(
            health(&s, id).await.1,
            ["cleaning", "down", "down"],
            "port-specific wins"
        );
        assert_eq!(
            set_health(&s, id, r#"{"ip": "203.0.113.10", "status": null}"#).await,
            200
        );
        assert_eq!(health(&s, id).await.1, ["up", "up", "down"]);
        let bad = r#"{"ip": "203.0.113.10", "status": "sideways"}"#;
        assert_eq!(set_health(&s, id, bad).await, 400);
        assert_eq!(
            s.admin(
                "PUT",
                "proxylbs/1/health",
                Some(r#"{"ip": "203.0.113.10", "status": "down"}"#)
            )
            .await
            .status,
            404
        );
        let server_id = s.get("server").await.body["Servers"][0]["ID"]
            .as_u64()
            .unwrap();
        s.sim.handle().set_server_power(server_id, true).unwrap();
        assert_eq!(health(&s, id).await.1, ["up", "up", "up"]);
        s.sim
            .handle()
            .set_proxylb_server_health(
                id,
                "203.0.113.10".parse().unwrap(),
                Some(30080),
                Some("down"),
            )
            .unwrap();
        assert_eq!(health(&s, id).await.1, ["down", "up", "up"]);

        // Health is rebuilt from the settings.
        let hash =
        s.get(&format!("commonserviceitem/{id}")).await.body["CommonServiceItem"]["SettingsHash"]
            .clone();
        let mut settings = b["CommonServiceItem"]["Settings"].clone();
        settings["ProxyLB"]["Servers"] = json!([{"IPAddress": "203.0.113.20", "Port": 30080}]);
        s.put(
            &format!("commonserviceitem/{id}"),
            &json!({"CommonServiceItem": {"Settings": settings, "SettingsHash": hash}}),
        )
        .await;
        let (h, list) = health(&s, id).await;
        assert_eq!(
            (list, h["Servers"][0]["IPAddress"].clone()),
            (vec!["up".to_owned()], json!("203.0.113.20"))
        );
    })
}

#[test]
fn faults_counters_scenario_and_state_file_cover_proxylbs() {
    test_runtime::run_multi(async {
        let dir =
            std::env::temp_dir().join(format!("sacloud-sim-it-proxylb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("state.json");
        let _ = std::fs::remove_file(&file);
        let yaml = "proxylbs:\n  - {name: seeded, tags: ['@k8s'], plan: 1000, region: anycast, vip_failover: true}\n";
        let sc = sacloud_sim::Scenario::parse(yaml).unwrap();
        let builder = || {
            Simulator::builder()
                .boot_delay(Duration::ZERO)
                .state_file(&file)
        };
        let s = start_with(builder().scenario(sc)).await;
        let list = s.get("commonserviceitem").await;
        let seeded = list.body["CommonServiceItems"][0].clone();
        assert_eq!(seeded["ServiceClass"], "cloud/proxylb/anycast/1000");
        assert_eq!(
            seeded["Settings"]["ProxyLB"]["BindPorts"],
            json!([{"ProxyMode": "tcp", "Port": 80, "RedirectToHttps": false, "SupportHttp2": false, "AddResponseHeader": []}])
        );
        let added = s
            .admin("POST", "proxylbs", Some(r#"{"name": "added", "plan": 7}"#))
            .await;
        assert_eq!(added.status, 400, "{}", added.text);
        let added = s
            .admin("POST", "proxylbs", Some(r#"[{"name": "added"}]"#))
            .await;
        let added_id = added.body["proxylbs"][0].as_u64().unwrap();

        s.sim.handle().clear_counters();
        let rule =
            r#"{"status": 503, "count": 1, "path_prefix": "commonserviceitem", "retry_after": 1}"#;
        assert_eq!(
            s.admin("POST", "faults/errors", Some(rule)).await.status,
            200
        );
        let r = s.get(&format!("commonserviceitem/{added_id}/health")).await;
        assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
        assert_eq!(
            s.get(&format!("commonserviceitem/{added_id}/health"))
                .await
                .status,
            200
        );
        assert_eq!(
            s.sim.handle().count("GET", "commonserviceitem/{id}/health"),
            2
        );
        assert!(
            s.sim
                .handle()
                .request_log()
                .iter()
                .any(|e| e.injected && e.template == "commonserviceitem/{id}/health")
        );

        assert_eq!(
            s.admin("DELETE", &format!("proxylbs/{added_id}"), None)
                .await
                .status,
            200
        );
        assert_eq!(
            s.get(&format!("commonserviceitem/{added_id}")).await.status,
            404
        );
        let id = seeded["ID"].as_u64().unwrap();
        let cert = json!({"ServerCertificate": CERT, "PrivateKey": KEY});
        s.put(
            &format!("commonserviceitem/{id}/proxylb/sslcertificate"),
            &json!({"ProxyLB": {"PrimaryCert": cert}}),
        )
        .await;
        s.sim.shutdown().await;

        let s2 = start_with(builder()).await;
        let again =
            s2.get(&format!("commonserviceitem/{id}")).await.body["CommonServiceItem"].clone();
        assert_eq!(again, seeded, "the item survives a restart");
        let certs = s2
            .get(&format!("commonserviceitem/{id}/proxylb/sslcertificate"))
            .await;
        assert_eq!(
            certs.body["ProxyLB"]["PrimaryCert"]["CertificateCommonName"],
            "www.example.com"
        );
        let dump = s2.admin("GET", "state", None).await;
        assert_eq!(dump.body["proxylbs"].as_object().unwrap().len(), 1);
        assert!(!dump.text.contains("PRIVATE KEY"), "keys are not kept");
        assert!(
            !std::fs::read_to_string(&file)
                .unwrap()
                .contains("PRIVATE KEY")
        );
        s2.sim.shutdown().await;
        std::fs::remove_dir_all(&dir).unwrap();
    })
}
