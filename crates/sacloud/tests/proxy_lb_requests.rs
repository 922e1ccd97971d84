//! What the Enhanced Load Balancer calls put on the wire, against a scriptable mock: the fixed
//! `is1a` zone, paths, the find filter, bodies, and decoding of the API's quirky answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::net::Ipv4Addr;

use sacloud::{
    BindPort, Client, Filter, Id, ProxyLbCertificate, ProxyLbCreate, ProxyLbPlan, ProxyLbRegion,
    ProxyLbServer, ProxyLbSettings, ProxyMode, Secret, ServerHealthStatus, Zone,
};
use serde_json::json;
use support::{MockApi, Reply};

const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTESTONLY\n-----END PRIVATE KEY-----\n";

fn item(id: u64) -> serde_json::Value {
    json!({"ID": id, "Name": "svc", "ServiceClass": "cloud/proxylb/plain/500",
           "Settings": {"ProxyLB": {"BindPorts": [{"ProxyMode": "tcp", "Port": "80"}]}},
           "SettingsHash": "h", "Status": {"Region": "is1"}})
}

/// Answers every path with something plausible.
fn answer(r: &support::Recorded) -> Reply {
    let p = r.path.as_str();
    if p.ends_with("/health") {
        Reply::json(
            200,
            json!({"ProxyLB": {"ActiveConn": "3", "CPS": "1.5", "CurrentVIP": "198.51.100.7",
            "Servers": [{"ActiveConn": 3, "Status": "UP", "IPAddress": "203.0.113.10", "Port": "30080", "CPS": 1.5}]}}),
        )
    } else if p.ends_with("/sslcertificate") {
        Reply::json(
            200,
            json!({"ProxyLB": {"PrimaryCert": {"ServerCertificate": "", "PrivateKey": ""}, "AdditionalCerts": ""}}),
        )
    } else if p.ends_with("/plan") {
        Reply::json(200, json!({"CommonServiceItem": item(222), "is_ok": true}))
    } else if r.method == "GET" && p.ends_with("/commonserviceitem") {
        Reply::json(
            200,
            json!({"Total": 1, "From": 0, "Count": 1, "CommonServiceItems": [item(111)]}),
        )
    } else {
        Reply::json(
            200,
            json!({"CommonServiceItem": item(111), "Success": true, "is_ok": true}),
        )
    }
}

fn tk1b(api: &MockApi) -> Client {
    let mut config = api.config();
    config.zone = Zone::Tk1b;
    Client::new(config).unwrap()
}

#[test]
fn every_call_goes_to_is1a_with_the_documented_shapes() {
    test_runtime::run(async {
        let api = MockApi::start(|r, _| answer(r)).await;
        let client = tk1b(&api);
        assert!(client.base_url().ends_with("/tk1b/api/cloud/1.1"));
        assert!(
            client
                .zone_base_url(Zone::GLOBAL)
                .ends_with("/is1a/api/cloud/1.1")
        );
        let id = Id(111);

        let found = client
            .find_proxy_lbs(&Filter::new().name("svc"))
            .await
            .unwrap();
        assert_eq!(found[0].plan(), Some(ProxyLbPlan::Cps500));
        let created = client
            .create_proxy_lb(&ProxyLbCreate {
                name: "svc".into(),
                region: ProxyLbRegion::Anycast,
                plan: ProxyLbPlan::Cps1000,
                settings: ProxyLbSettings {
                    bind_ports: vec![BindPort::new(ProxyMode::Tcp, 443)],
                    servers: vec![ProxyLbServer::new(Ipv4Addr::new(203, 0, 113, 10), 30443)],
                    ..ProxyLbSettings::default()
                },
                ..ProxyLbCreate::default()
            })
            .await
            .unwrap();
        assert_eq!(created.settings.bind_ports[0].port, 80, "string port read");
        client.read_proxy_lb(id).await.unwrap();
        client
            .update_proxy_lb_settings(id, &ProxyLbSettings::default(), "h")
            .await
            .unwrap();
        let moved = client
            .change_proxy_lb_plan(id, ProxyLbPlan::Cps5000, &ProxyLbRegion::Tk1)
            .await
            .unwrap();
        assert_eq!(moved.id, Id(222), "the plan change's new ID is returned");
        let health = client.proxy_lb_health(id).await.unwrap();
        assert_eq!((health.active_conn, health.cps), (3, 1.5));
        assert_eq!(health.current_vip, Some(Ipv4Addr::new(198, 51, 100, 7)));
        assert_eq!(health.servers[0].status, ServerHealthStatus::Up);
        assert_eq!(health.servers[0].port, 30080);
        let certs = client.proxy_lb_certificates(id).await.unwrap();
        assert!(certs.primary.is_none() && certs.additional.is_empty());
        let cert = ProxyLbCertificate::new("CERT", "", Secret::new(KEY));
        client
            .set_proxy_lb_certificates(id, &cert, &[])
            .await
            .unwrap();
        client.delete_proxy_lb_certificates(id).await.unwrap();
        client.renew_proxy_lb_lets_encrypt(id).await.unwrap();
        client.delete_proxy_lb(id).await.unwrap();

        let reqs = api.requests();
        let seen: Vec<(String, String)> = reqs
            .iter()
            .map(|r| (r.method.to_string(), r.path.clone()))
            .collect();
        let root = "/is1a/api/cloud/1.1/commonserviceitem";
        let want: Vec<(String, String)> = [
            ("GET", ""),
            ("POST", ""),
            ("GET", "/111"),
            ("PUT", "/111"),
            ("PUT", "/111/plan"),
            ("GET", "/111/health"),
            ("GET", "/111/proxylb/sslcertificate"),
            ("PUT", "/111/proxylb/sslcertificate"),
            ("DELETE", "/111/proxylb/sslcertificate"),
            ("PUT", "/111/proxylb/letsencryptrenew"),
            ("DELETE", "/111"),
        ]
        .iter()
        .map(|(m, p)| ((*m).to_owned(), format!("{root}{p}")))
        .collect();
        assert_eq!(seen, want);

        let q = reqs[0].query_json();
        assert_eq!(
            q["Filter"],
            json!({"Name": "svc", "Provider.Class": "proxylb"})
        );
        assert!(q["Count"].as_u64().unwrap() > 0);

        let create = reqs[1].body_json();
        let item = &create["CommonServiceItem"];
        assert_eq!(item["Provider"], json!({"Class": "proxylb"}));
        assert_eq!(item["ServiceClass"], "cloud/proxylb/anycast/1000");
        assert_eq!(
            item["Status"],
            json!({"UseVIPFailover": false, "Region": "anycast"})
        );
        let s = &item["Settings"]["ProxyLB"];
        assert_eq!(s["BindPorts"][0]["Port"], 443);
        assert_eq!(s["Servers"][0]["Port"], 30443);
        assert_eq!(s["Rules"], json!([]));
        assert_eq!(s["Syslog"], json!({"Server": "", "Port": 514}));
        assert_eq!(s["LetsEncrypt"]["SubjectAltNames"], "");

        let update = reqs[3].body_json();
        assert_eq!(update["CommonServiceItem"]["SettingsHash"], "h");
        assert_eq!(
            update["CommonServiceItem"]["Settings"]["ProxyLB"]["BindPorts"],
            json!([])
        );
        assert_eq!(
            update["CommonServiceItem"]["Settings"]["ProxyLB"]["Servers"],
            json!([])
        );
        assert_eq!(
            reqs[4].body_json(),
            json!({"CommonServiceItem": {"ServiceClass": "cloud/proxylb/plain/5000"}})
        );
        let upload = reqs[7].body_json();
        assert_eq!(upload["ProxyLB"]["PrimaryCert"]["PrivateKey"], KEY);
        assert_eq!(upload["ProxyLB"]["AdditionalCerts"], json!([]));
        assert!(reqs[9].body.is_empty(), "renew has no body");
    })
}

#[test]
fn certificate_responses_that_cannot_be_read_are_not_shown() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| Reply {
        status: 200,
        headers: vec![],
        body: format!(
            "{{\"ProxyLB\": {{\"PrimaryCert\": {{\"PrivateKey\": {KEY:?}}}, \"AdditionalCerts\": 7"
        ),
    })
    .await;
        let err = api.client().proxy_lb_certificates(Id(1)).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("TESTONLY"), "{text}");
        assert!(text.contains("withheld"), "{text}");

        let api = MockApi::start(|_, _| {
            Reply::json(
                200,
                json!({"ProxyLB": {"PrimaryCert": {"ServerCertificate": "C", "PrivateKey": KEY},
                                            "AdditionalCerts": {"odd": KEY}}}),
            )
        })
        .await;
        let err = api.client().proxy_lb_certificates(Id(1)).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("TESTONLY"), "{text}");
    })
}
