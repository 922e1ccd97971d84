//! Every validation rule, with the exact error envelope.

use crate::common::*;
use serde_json::{Value, json};

const BAD: &str = "400 Bad Request";

async fn setup() -> (Sim, u64) {
    let s = start_scenario(LB_SCENARIO).await;
    let (sw, _) = switch_ids(&s).await;
    (s, sw)
}

fn ok_body(sw: u64) -> Value {
    lb_body(
        sw,
        "lb",
        &["203.0.113.102"],
        1,
        "203.0.113.104",
        &["203.0.113.100"],
    )
}

async fn expect_400(s: &Sim, body: &Value, detail: &str) {
    let r = s.post("appliance", body).await;
    assert_error(&r, BAD, "bad_request", &improper(detail));
    // Nothing was created.
    assert_eq!(s.get("appliance").await.body["Total"], 0);
}

fn entry(vip: &str, port: u32, servers: usize) -> Value {
    json!({
        "VirtualIPAddress": vip, "Port": port.to_string(), "DelayLoop": "10",
        "Servers": (0..servers).map(|i| json!({"IPAddress": format!("203.0.113.{}", 96 + (i % 16)), "Port": port.to_string(), "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"})).collect::<Vec<_>>(),
    })
}

#[test]
fn at_most_20_vip_port_entries() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Settings"]["LoadBalancer"] = Value::Array(
            (0..21)
                .map(|i| entry("203.0.113.104", 1000 + i, 1))
                .collect(),
        );
        expect_400(
            &s,
            &b,
            "Settings.LoadBalancer: at most 20 VIP/port entries are allowed (got 21)",
        )
        .await;
        b["Appliance"]["Settings"]["LoadBalancer"] = Value::Array(
            (0..20)
                .map(|i| entry("203.0.113.104", 1000 + i, 1))
                .collect(),
        );
        assert_eq!(s.post("appliance", &b).await.status, 202);
    })
}

#[test]
fn at_most_40_real_servers() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Settings"]["LoadBalancer"] = json!([entry("203.0.113.104", 80, 41)]);
        expect_400(
            &s,
            &b,
            "LoadBalancer[0].Servers: at most 40 real servers are allowed (got 41)",
        )
        .await;
        b["Appliance"]["Settings"]["LoadBalancer"] = json!([entry("203.0.113.104", 80, 40)]);
        assert_eq!(s.post("appliance", &b).await.status, 202);
    })
}

#[test]
fn ports_must_be_1_to_65535() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        for (port, got) in [(json!("0"), "0"), (json!(65536), "65536")] {
            let mut b = ok_body(sw);
            b["Appliance"]["Settings"]["LoadBalancer"][0]["Port"] = port;
            expect_400(
                &s,
                &b,
                &format!("LoadBalancer[0].Port must be between 1 and 65535 (got {got})"),
            )
            .await;
        }
        let mut b = ok_body(sw);
        b["Appliance"]["Settings"]["LoadBalancer"][0]["Servers"][0]["Port"] = json!("70000");
        expect_400(
            &s,
            &b,
            "LoadBalancer[0].Servers[0].Port must be between 1 and 65535 (got 70000)",
        )
        .await;
    })
}

#[test]
fn delay_loop_at_least_10() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Settings"]["LoadBalancer"][0]["DelayLoop"] = json!("9");
        expect_400(
            &s,
            &b,
            "LoadBalancer[0].DelayLoop must be at least 10 (got \"9\")",
        )
        .await;
    })
}

#[test]
fn health_protocol_must_be_known() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Settings"]["LoadBalancer"][0]["Servers"][0]["HealthCheck"] =
            json!({"Protocol": "udp"});
        expect_400(&s, &b, "LoadBalancer[0].Servers[0].HealthCheck.Protocol must be one of http, https, tcp, ping (got \"udp\")").await;
        for p in ["http", "https", "tcp"] {
            let mut b = ok_body(sw);
            b["Appliance"]["Name"] = json!(format!("lb-{p}"));
            b["Appliance"]["Remark"]["VRRP"]["VRID"] = json!(match p {
                "http" => 2,
                "https" => 3,
                _ => 4,
            });
            b["Appliance"]["Remark"]["Servers"][0]["IPAddress"] = json!(match p {
                "http" => "203.0.113.105",
                "https" => "203.0.113.106",
                _ => "203.0.113.107",
            });
            b["Appliance"]["Settings"]["LoadBalancer"][0]["VirtualIPAddress"] = json!(match p {
                "http" => "203.0.113.108",
                "https" => "203.0.113.109",
                _ => "203.0.113.110",
            });
            b["Appliance"]["Settings"]["LoadBalancer"][0]["Servers"][0]["HealthCheck"] =
                json!({"Protocol": p, "Path": "/healthz", "Status": "200"});
            let r = s.post("appliance", &b).await;
            assert_eq!(r.status, 202, "{p}: {}", r.text);
        }
    })
}

#[test]
fn plan_must_be_1_or_2() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Plan"]["ID"] = json!(3);
        b["Appliance"]["Remark"]["Plan"]["ID"] = json!(3);
        expect_400(
            &s,
            &b,
            "Plan.ID must be 1 (standard) or 2 (highspec), got 3",
        )
        .await;
        b["Appliance"]["Plan"]["ID"] = json!(2);
        b["Appliance"]["Remark"]["Plan"]["ID"] = json!(2);
        let r = s.post("appliance", &b).await;
        assert_eq!(r.body["Appliance"]["Plan"]["ID"], 2, "{}", r.text);
    })
}

#[test]
fn one_or_two_appliance_ips() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let three = lb_body(
            sw,
            "lb",
            &["203.0.113.102", "203.0.113.103", "203.0.113.105"],
            1,
            "203.0.113.104",
            &[],
        );
        expect_400(
            &s,
            &three,
            "Remark.Servers must list 1 or 2 appliance IP addresses (got 3)",
        )
        .await;
        let none = lb_body(sw, "lb", &[], 1, "203.0.113.104", &[]);
        expect_400(
            &s,
            &none,
            "Remark.Servers must list 1 or 2 appliance IP addresses (got 0)",
        )
        .await;
    })
}

#[test]
fn addresses_inside_the_network_and_unused() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let outside_vip = lb_body(sw, "lb", &["203.0.113.102"], 1, "203.0.113.200", &[]);
        expect_400(
            &s,
            &outside_vip,
            "VirtualIPAddress 203.0.113.200 is outside the switch network 203.0.113.96/28",
        )
        .await;
        let outside_ip = lb_body(sw, "lb", &["10.0.0.5"], 1, "203.0.113.104", &[]);
        expect_400(
            &s,
            &outside_ip,
            "appliance IP address 10.0.0.5 is outside the switch network 203.0.113.96/28",
        )
        .await;
        let vip_on_server = lb_body(sw, "lb", &["203.0.113.102"], 1, "203.0.113.100", &[]);
        expect_400(
            &s,
            &vip_on_server,
            "VirtualIPAddress 203.0.113.100 is already in use",
        )
        .await;
        let ip_on_router = lb_body(sw, "lb", &["203.0.113.98"], 1, "203.0.113.104", &[]);
        expect_400(
            &s,
            &ip_on_router,
            "appliance IP address 203.0.113.98 is already in use",
        )
        .await;
        // A VPC router's addresses count as used too.
        let add = s.admin("POST", "appliances", Some(r#"{"class":"vpcrouter","name":"vpc","router":"k8s-router","ips":["203.0.113.105"],"extra_ips":["203.0.113.106"],"vrid":9}"#)).await;
        assert_eq!(add.status, 200, "{}", add.text);
        let on_vpc = lb_body(sw, "lb", &["203.0.113.102"], 5, "203.0.113.106", &[]);
        let r = s.post("appliance", &on_vpc).await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("VirtualIPAddress 203.0.113.106 is already in use"),
        );
        // And an existing load balancer's VIP.
        assert_eq!(s.post("appliance", &ok_body(sw)).await.status, 202);
        let clash = lb_body(sw, "lb2", &["203.0.113.103"], 2, "203.0.113.104", &[]);
        let r = s.post("appliance", &clash).await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("VirtualIPAddress 203.0.113.104 is already in use"),
        );
    })
}

#[test]
fn vrid_unique_per_switch() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        assert_eq!(s.post("appliance", &ok_body(sw)).await.status, 202);
        let dup = lb_body(sw, "lb2", &["203.0.113.103"], 1, "203.0.113.105", &[]);
        let r = s.post("appliance", &dup).await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper(&format!("VRID 1 is already used on switch {sw}")),
        );
    })
}

#[test]
fn name_1_to_64_characters() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let mut b = ok_body(sw);
        b["Appliance"]["Name"] = json!("a".repeat(65));
        expect_400(&s, &b, "Name must be 1-64 characters (got 65)").await;
        b["Appliance"]["Name"] = json!("");
        expect_400(&s, &b, "Name must be 1-64 characters (got 0)").await;
        b["Appliance"]["Name"] = json!("名".repeat(64));
        assert_eq!(s.post("appliance", &b).await.status, 202);
    })
}

#[test]
fn real_servers_outside_the_network_get_the_japanese_message() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let b = lb_body(
            sw,
            "lb",
            &["203.0.113.102"],
            1,
            "203.0.113.104",
            &["203.0.113.100", "192.168.0.11"],
        );
        let r = s.post("appliance", &b).await;
        let msg = "Improper request. The parameters of the specified error or input rule violation. Please check your entries.\n実サーバのIPアドレス(192.168.0.11)は同一ネットワークである必要があります";
        assert_error(&r, BAD, "bad_request", msg);
    })
}

#[test]
fn update_is_validated_too() {
    test_runtime::run_multi(async {
        let (s, sw) = setup().await;
        let id = s.post("appliance", &ok_body(sw)).await.body["Appliance"]["ID"]
            .as_u64()
            .unwrap();
        let settings = json!({"LoadBalancer": [{"VirtualIPAddress": "203.0.113.104", "Port": "80", "Servers": [{"IPAddress": "198.51.100.1", "Port": "80", "HealthCheck": {"Protocol": "tcp"}}]}]});
        let r = s
            .put(
                &format!("appliance/{id}"),
                &json!({"Appliance": {"Settings": settings}}),
            )
            .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("実サーバのIPアドレス(198.51.100.1)は同一ネットワークである必要があります"),
        );
        let r = s
            .put(
                &format!("appliance/{id}"),
                &json!({"Appliance": {"Name": "x".repeat(65)}}),
            )
            .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("Name must be 1-64 characters (got 65)"),
        );
        // Keeping its own VIP on update is fine (the appliance is excluded from "used").
        let keep = json!({"LoadBalancer": [{"VirtualIPAddress": "203.0.113.104", "Port": "443", "Servers": []}]});
        assert_eq!(
            s.put(
                &format!("appliance/{id}"),
                &json!({"Appliance": {"Settings": keep}})
            )
            .await
            .status,
            200
        );
    })
}
