//! Golden tests: responses compared field by field with the reference fixtures
//! (`sakura-api.md` §2.2–2.4): every fixture field must exist with the same JSON type, and the
//! values the reference pins down (string numbers, "True", sorted tags, the /28 layout) must match.

use crate::common::*;
use serde_json::{Value, json};

/// Every key of `fixture` exists in `actual` with the same JSON type; recurses into objects and
/// the first element of arrays. `null` in the fixture matches anything (it is "absent" there).
#[track_caller]
fn assert_shape(fixture: &Value, actual: &Value, path: &str) {
    match (fixture, actual) {
        (Value::Null, _) => {}
        (Value::Object(f), Value::Object(a)) => {
            for (k, fv) in f {
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing in {actual}"));
                assert_shape(fv, av, &format!("{path}.{k}"));
            }
        }
        (Value::Array(f), Value::Array(a)) => {
            if let (Some(f0), Some(a0)) = (f.first(), a.first()) {
                assert_shape(f0, a0, &format!("{path}[0]"));
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("{path}: fixture {fixture} vs actual {actual}: different JSON types"),
    }
}

const SERVER_FIXTURE: &str = r#"{"ID":999999999999,"Name":"node-1","HostName":"node-1","Description":"","Tags":["@k8s"],
 "Availability":"available","ServiceClass":"cloud/plan/1core-1gb","InterfaceDriver":"virtio",
 "CreatedAt":"2016-04-25T21:36:47+09:00",
 "ServerPlan":{"ID":1001,"Name":"プラン/1Core-1GB","CPU":1,"MemoryMB":1024,"ServiceClass":"cloud/plan/1core-1gb","Generation":100,"Commitment":"standard"},
 "Zone":{"ID":31002,"Name":"is1b","Description":"石狩第2ゾーン","Region":{"ID":310,"Name":"石狩","NameServers":["133.242.0.3","133.242.0.4"]}},
 "Instance":{"Status":"up","BeforeStatus":"down","StatusChangedAt":"2016-04-25T21:36:47+09:00","Host":{"Name":"sac-is1b-sv053"}},
 "Disks":[],
 "Interfaces":[
   {"ID":112800430558,"MACAddress":"9C:A3:BA:30:E4:D0","IPAddress":"133.242.224.41","UserIPAddress":null,"HostName":null,
    "Switch":{"ID":1,"Scope":"shared","Subnet":{"NetworkAddress":"133.242.224.0","NetworkMaskLen":24,"DefaultRoute":"133.242.224.1"}}},
   {"ID":112800442276,"IPAddress":null,"UserIPAddress":"192.168.200.50",
    "Switch":{"ID":2,"Scope":"user","Subnet":null,"UserSubnet":{"DefaultRoute":"192.168.200.1","NetworkMaskLen":24}}}]}"#;

const ROUTER_SWITCH_FIXTURE: &str = r#"{"ID":123456789012,"Name":"ルータ","Scope":"user","UserSubnet":null,
 "Subnets":[{"ID":9999,"NetworkAddress":"133.242.253.96","NetworkMaskLen":28,"DefaultRoute":"133.242.253.97",
             "NextHop":null,"StaticRoute":null,"ServiceClass":"cloud/global-ipaddress-v4/28",
             "IPAddresses":{"Min":"133.242.253.100","Max":"133.242.253.110"},
             "Internet":{"ID":123456789012,"Name":"ルータ","BandWidthMbps":100,"ServiceClass":"cloud/internet/router/100m"}}],
 "IPv6Nets":[],
 "Internet":{"ID":123456789012,"Name":"ルータ","BandWidthMbps":100,"Scope":"user","ServiceClass":"cloud/internet/router/100m"},
 "Description":"","Tags":[],"ServerCount":0,"ApplianceCount":0,"ServiceClass":"cloud/switch/default","CreatedAt":"x","Zone":{"ID":31001,"Name":"is1a"}}"#;

const LB_FIXTURE: &str = r#"{"ID":123456789012,"Class":"loadbalancer","Name":"a1b2","Description":"","Tags":["@k8s"],
 "Plan":{"ID":1},"ServiceClass":"cloud/appliance/loadbalancer/1",
 "Availability":"available","Instance":{"Status":"up","StatusChangedAt":"2016-04-29T18:29:17+09:00"},
 "Settings":{"LoadBalancer":[
   {"VirtualIPAddress":"192.168.200.50","Port":"80","DelayLoop":"10","SorryServer":"","Description":"",
    "Servers":[{"IPAddress":"192.168.200.51","Port":"80","HealthCheck":{"Protocol":"http","Path":"/index.html","Status":"200"},
                "Enabled":"True"}]}]},
 "SettingsHash":"924521e812f96157a83d138c79d423fb",
 "Remark":{"Zone":{"ID":31002},"Switch":{"ID":"123456789012"},"VRRP":{"VRID":1},
           "Network":{"NetworkMaskLen":24,"DefaultRoute":"192.168.200.1"},
           "Servers":[{"IPAddress":"192.168.200.11"}],"Plan":{"ID":1}},
 "Switch":{"ID":112800442260,"Name":"x","Scope":"user","Internet":null,"Zone":{"ID":31002}},
 "Interfaces":[{"IPAddress":null,"UserIPAddress":"192.168.200.11","Switch":{"ID":1}}],
 "CreatedAt":"2016-04-29T18:27:18+09:00","Icon":null}"#;

const INTERNET_FIXTURE: &str = r#"{"ID":1,"Name":"r","Description":"","Tags":[],"Scope":"user","ServiceClass":"cloud/internet/router/100m",
 "BandWidthMbps":100,"NetworkMaskLen":28,"CreatedAt":"x","Zone":{"ID":31001,"Name":"is1a"},
 "Switch":{"ID":1,"Name":"r","Scope":"user","Subnets":[{"ID":1,"NetworkAddress":"x","NetworkMaskLen":28,"DefaultRoute":"x","NextHop":null,"StaticRoute":null}],"IPv6Nets":[]}}"#;

const AUTH_FIXTURE: &str = r#"{"Account":{"Class":"account","Code":"x","ID":1,"Name":"x"},"AuthClass":"account","AuthMethod":"apikey",
 "ExternalPermission":"none","IsAPIKey":true,"Member":{"Class":"member","Code":"x"},"OperationPenalty":"none","Permission":"create","is_ok":true}"#;

const GOLDEN_SCENARIO: &str = r#"
zone: is1b
routers:
  - name: ルータ
    network: 133.242.253.96/28
switches:
  - name: private
    network: 192.168.200.0/24
    default_route: 192.168.200.1
servers:
  - name: node-1
    tags: ["zeta", "@k8s", "alpha"]
    nics:
      - shared: true
      - switch: private
        ip: 192.168.200.50
        prefix_len: 24
        default_route: 192.168.200.1
"#;

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

async fn in_is1b(s: &Sim, path: &str) -> Resp {
    s.call("GET", "is1b", path, None).await
}

#[test]
fn server_matches_fixture() {
    test_runtime::run_multi(async {
        let s = start_scenario(GOLDEN_SCENARIO).await;
        let r = in_is1b(&s, "server").await;
        let srv = &r.body["Servers"][0];
        assert_shape(&parse(SERVER_FIXTURE), srv, "Server");
        assert_eq!(
            srv["Tags"],
            json!(["@k8s", "alpha", "zeta"]),
            "tags are sorted"
        );
        assert_eq!(srv["Zone"]["ID"], 31002);
        assert_eq!(srv["Zone"]["Region"]["ID"], 310);
        assert_eq!(srv["ServerPlan"]["ServiceClass"], "cloud/plan/1core-1gb");
        let shared = &srv["Interfaces"][0];
        assert_eq!(shared["Switch"]["Scope"], "shared");
        assert!(shared["IPAddress"].is_string() && shared["UserIPAddress"].is_null());
        let user = &srv["Interfaces"][1];
        assert_eq!(user["UserIPAddress"], "192.168.200.50");
        assert!(user["IPAddress"].is_null());
        assert_eq!(user["Switch"]["Scope"], "user");
        assert!(user["Switch"]["Subnet"].is_null());
        assert_eq!(
            user["Switch"]["UserSubnet"],
            json!({"DefaultRoute": "192.168.200.1", "NetworkMaskLen": 24})
        );
        assert!(srv["CreatedAt"].as_str().unwrap().ends_with("+09:00"));
        let one = in_is1b(&s, &format!("server/{}", srv["ID"])).await;
        assert_eq!(&one.body["Server"], srv);
        assert_eq!(one.body["is_ok"], true);
    })
}

#[test]
fn router_switch_and_internet_match_fixtures() {
    test_runtime::run_multi(async {
        let s = start_scenario(GOLDEN_SCENARIO).await;
        let sw = in_is1b(
            &s,
            &format!("switch?{}", q(&json!({"Filter": {"Name": "ルータ"}}))),
        )
        .await;
        let sw = &sw.body["Switches"][0];
        assert_shape(&parse(ROUTER_SWITCH_FIXTURE), sw, "Switch");
        let sub = &sw["Subnets"][0];
        assert_eq!(sub["NetworkAddress"], "133.242.253.96");
        assert_eq!(sub["DefaultRoute"], "133.242.253.97");
        assert_eq!(
            sub["IPAddresses"],
            json!({"Min": "133.242.253.100", "Max": "133.242.253.110"})
        );
        assert_eq!(sub["ServiceClass"], "cloud/global-ipaddress-v4/28");
        assert_eq!(sw["Internet"]["ServiceClass"], "cloud/internet/router/100m");

        let inet = in_is1b(&s, "internet").await;
        assert!(inet.body["Internet"].is_array());
        let r = &inet.body["Internet"][0];
        assert_shape(&parse(INTERNET_FIXTURE), r, "Internet");
        assert_eq!(r["Switch"]["ID"], sw["ID"]);
        assert!(
            r["Switch"]["Subnets"][0].get("IPAddresses").is_none(),
            "router's embedded subnets have no IPAddresses"
        );
        assert_eq!(r["NetworkMaskLen"], 28);

        let plain = in_is1b(
            &s,
            &format!("switch?{}", q(&json!({"Filter": {"Name": "private"}}))),
        )
        .await;
        let p = &plain.body["Switches"][0];
        assert_eq!(p["Subnets"], json!([]));
        assert_eq!(p["Internet"], Value::Null);
        assert_eq!(p["ServerCount"], 1);
    })
}

#[test]
fn load_balancer_matches_fixture() {
    test_runtime::run_multi(async {
        let s = start_scenario(GOLDEN_SCENARIO).await;
        let sw = in_is1b(
            &s,
            &format!("switch?{}", q(&json!({"Filter": {"Name": "private"}}))),
        )
        .await
        .body["Switches"][0]["ID"]
            .as_u64()
            .unwrap();
        let body = json!({"Appliance": {
            "Class": "loadbalancer", "Name": "a1b2", "Tags": ["@k8s"], "Plan": {"ID": 1},
            "Remark": {"Switch": {"ID": sw.to_string()}, "VRRP": {"VRID": 1}, "Network": {"NetworkMaskLen": 24, "DefaultRoute": "192.168.200.1"},
                       "Servers": [{"IPAddress": "192.168.200.11"}], "Plan": {"ID": 1}},
            "Settings": {"LoadBalancer": [{"VirtualIPAddress": "192.168.200.60", "Port": 80, "DelayLoop": 10,
                "Servers": [{"IPAddress": "192.168.200.50", "Port": 80, "HealthCheck": {"Protocol": "http", "Path": "/index.html", "Status": 200}, "Enabled": true}]}]},
        }});
        let created = s.call("POST", "is1b", "appliance", Some(&body)).await;
        assert_eq!(created.status, 202, "{}", created.text);
        let id = created.body["Appliance"]["ID"].clone();
        let a = in_is1b(&s, &format!("appliance/{id}")).await.body["Appliance"].clone();
        assert_shape(&parse(LB_FIXTURE), &a, "Appliance");
        let e = &a["Settings"]["LoadBalancer"][0];
        assert_eq!(
            (e["Port"].clone(), e["DelayLoop"].clone()),
            (json!("80"), json!("10")),
            "numbers are strings"
        );
        let srv = &e["Servers"][0];
        assert_eq!(srv["Enabled"], "True");
        assert_eq!(srv["Port"], "80");
        assert_eq!(
            srv["HealthCheck"],
            json!({"Protocol": "http", "Path": "/index.html", "Status": "200"})
        );
        assert_eq!(
            a["Remark"]["Switch"]["ID"],
            json!(sw.to_string()),
            "Remark.Switch.ID is a string even with bigint-as-int"
        );
        assert_eq!(a["Remark"]["Zone"]["ID"], 31002);
        assert_eq!(a["Interfaces"][0]["UserIPAddress"], "192.168.200.11");
        assert_eq!(a["Switch"]["ID"], sw);
        assert!(
            a["SettingsHash"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    })
}

#[test]
fn auth_status_and_error_envelope_match_fixtures() {
    test_runtime::run_multi(async {
        let s = start().await;
        let r = s.get("auth-status").await;
        assert_shape(&parse(AUTH_FIXTURE), &r.body, "auth-status");
        assert!(
            r.body.get("AuthStatus").is_none(),
            "auth-status is unwrapped"
        );
        let e = s.get("server/1").await;
        let keys: Vec<&String> = e.body.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["error_code", "error_msg", "is_fatal", "serial", "status"]
        );
    })
}
