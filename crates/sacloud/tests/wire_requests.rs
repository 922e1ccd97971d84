//! What the client puts on the wire: URLs, query encoding, headers and bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::net::Ipv4Addr;

use sacloud::api::load_balancer::LoadBalancerUpdate;
use sacloud::{
    Filter, HealthCheck, HealthCheckProtocol, Id, LoadBalancerCreate, LoadBalancerSettings,
    RealServer, StringFlag, StringNumber, VirtualIpAddress,
};
use serde_json::json;
use support::{MockApi, Reply};

fn lb_fixture(id: u64) -> serde_json::Value {
    json!({
        "ID": id, "Class": "loadbalancer", "Name": "a1b2", "Tags": ["@k8s"],
        "Availability": "migrating", "Instance": {"Status": "down"},
        "Plan": {"ID": 1}, "SettingsHash": "h1",
        "Settings": {"LoadBalancer": []},
        "Remark": {"Switch": {"ID": "112800442260"}, "VRRP": {"VRID": 1},
                   "Network": {"NetworkMaskLen": 28, "DefaultRoute": "203.0.113.17"},
                   "Servers": [{"IPAddress": "203.0.113.20"}], "Plan": {"ID": 1}}
    })
}

#[test]
fn every_request_carries_auth_and_api_headers() {
    test_runtime::run(async {
        let api =
            MockApi::start(|_, _| Reply::json(200, json!({"Server": {"ID": 1}, "is_ok": true})))
                .await;
        api.client().read_server(Id(1)).await.unwrap();
        let r = &api.requests()[0];
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/is1a/api/cloud/1.1/server/1");
        assert_eq!(r.raw_query, None);
        assert_eq!(r.header("x-sakura-bigint-as-int").as_deref(), Some("1"));
        assert_eq!(r.header("accept-language").as_deref(), Some("en"));
        assert_eq!(
            r.header("authorization").as_deref(),
            Some("Basic dGVzdC1hY2Nlc3MtdG9rZW46dGVzdC1zZWNyZXQtRE8tTk9ULUxFQUs=")
        );
        let ua = r.header("user-agent").unwrap();
        assert_eq!(ua, format!("sacloud-rs/{}", env!("CARGO_PKG_VERSION")));
    })
}

#[test]
fn user_agent_prefix_and_zone_in_path() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| Reply::json(200, json!({"Switch": {"ID": 2}}))).await;
        let mut config = api
            .config()
            .with_user_agent_prefix("sakura-cloud-controller-manager/9.9");
        config.zone = sacloud::Zone::Tk1b;
        sacloud::Client::new(config)
            .unwrap()
            .read_switch(Id(2))
            .await
            .unwrap();
        let r = &api.requests()[0];
        assert_eq!(r.path, "/tk1b/api/cloud/1.1/switch/2");
        assert!(
            r.header("user-agent")
                .unwrap()
                .starts_with("sakura-cloud-controller-manager/9.9 sacloud-rs/")
        );
    })
}

#[test]
fn find_sends_the_percent_encoded_json_query() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| {
            Reply::json(
                200,
                json!({"Total": 0, "From": 0, "Count": 0, "Internet": [], "is_ok": true}),
            )
        })
        .await;
        let routers = api
            .client()
            .find_internets(&Filter::new().tags_all(["@k8s", "prod"]).name("k8s router"))
            .await
            .unwrap();
        assert!(routers.is_empty());
        let r = &api.requests()[0];
        assert_eq!(r.path, "/is1a/api/cloud/1.1/internet");
        let raw = r.raw_query.clone().unwrap();
        assert!(raw.starts_with("%7B%22Count%22"), "{raw}");
        assert!(
            !raw.contains('+') && !raw.contains('"') && !raw.contains(' '),
            "{raw}"
        );
        assert_eq!(
            r.query_json(),
            json!({"Count": 1000, "From": 0,
               "Filter": {"Name": "k8s router", "Tags.Name": [["@k8s", "prod"]]}})
        );
    })
}

#[test]
fn load_balancer_find_forces_the_class() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| {
            Reply::json(
                200,
                json!({"Total": 1, "From": 0, "Count": 1, "Appliances": [lb_fixture(5)]}),
            )
        })
        .await;
        let lbs = api
            .client()
            .find_load_balancers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(lbs.len(), 1);
        let q = api.requests()[0].query_json();
        assert_eq!(
            q["Filter"],
            json!({"Class": "loadbalancer", "Tags.Name": [["@k8s"]]})
        );
    })
}

fn settings() -> LoadBalancerSettings {
    LoadBalancerSettings {
        load_balancer: vec![VirtualIpAddress {
            virtual_ip_address: Some(Ipv4Addr::new(203, 0, 113, 22)),
            port: StringNumber(80),
            delay_loop: StringNumber(10),
            sorry_server: String::new(),
            description: String::new(),
            servers: vec![RealServer {
                ip_address: Some(Ipv4Addr::new(203, 0, 113, 24)),
                port: StringNumber(80),
                health_check: HealthCheck {
                    protocol: HealthCheckProtocol::Http,
                    path: Some("/healthz".into()),
                    status: Some(StringNumber(200)),
                    port: Some(StringNumber(10256)),
                    ..HealthCheck::default()
                },
                enabled: StringFlag(true),
            }],
        }],
    }
}

#[test]
fn create_load_balancer_body_matches_the_api() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| {
        Reply::json(
            201,
            json!({"Appliance": lb_fixture(123456789012u64), "Success": "Accepted", "is_ok": true}),
        )
    })
    .await;
        let created = api
            .client()
            .create_load_balancer(&LoadBalancerCreate {
                name: "a1b2".into(),
                description: "svc default/web".into(),
                tags: vec!["@k8s".into(), "@k8s.ClusterID=prod".into()],
                plan_id: 2,
                switch_id: Id(112800442260),
                vrid: 3,
                network_mask_len: 28,
                default_route: Some(Ipv4Addr::new(203, 0, 113, 17)),
                ip_addresses: vec![
                    Ipv4Addr::new(203, 0, 113, 20),
                    Ipv4Addr::new(203, 0, 113, 21),
                ],
                settings: settings(),
            })
            .await
            .unwrap();
        assert_eq!(created.id, Id(123456789012));
        let r = &api.requests()[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/is1a/api/cloud/1.1/appliance");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(
            r.body_json(),
            json!({"Appliance": {
                "Class": "loadbalancer",
                "Name": "a1b2",
                "Description": "svc default/web",
                "Tags": ["@k8s", "@k8s.ClusterID=prod"],
                "Plan": {"ID": 2},
                "Remark": {
                    "Switch": {"ID": "112800442260"},
                    "VRRP": {"VRID": 3},
                    "Network": {"NetworkMaskLen": 28, "DefaultRoute": "203.0.113.17"},
                    "Servers": [{"IPAddress": "203.0.113.20"}, {"IPAddress": "203.0.113.21"}],
                    "Plan": {"ID": 2}
                },
                "Settings": {"LoadBalancer": [{
                    "VirtualIPAddress": "203.0.113.22", "Port": "80", "DelayLoop": "10",
                    "SorryServer": "", "Description": "",
                    "Servers": [{"IPAddress": "203.0.113.24", "Port": "80", "Enabled": "True",
                                 "HealthCheck": {"Protocol": "http", "Path": "/healthz",
                                                 "Status": "200", "Port": "10256"}}]
                }]}
            }})
        );
    })
}

#[test]
fn settings_update_config_power_delete_and_status() {
    test_runtime::run(async {
        let api = MockApi::start(|r, _| match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/is1a/api/cloud/1.1/appliance/7") => Reply::json(
                200,
                json!({"Appliance": lb_fixture(7), "Success": true, "is_ok": true}),
            ),
            ("DELETE", "/is1a/api/cloud/1.1/appliance/7") => {
                Reply::json(200, json!({"Appliance": lb_fixture(7), "is_ok": true}))
            }
            ("GET", "/is1a/api/cloud/1.1/appliance/7/status") => Reply::json(
                200,
                json!({
            "LoadBalancer": [{"VirtualIPAddress": "203.0.113.22", "Port": "80", "CPS": "3",
                "Servers": [{"IPAddress": "203.0.113.24", "Port": "80", "Status": "UP",
                             "ActiveConn": "2", "CPS": "1"}]}],
            "is_ok": true}),
            ),
            _ => Reply::json(200, json!({"Success": true, "is_ok": true})),
        })
        .await;
        let client = api.client();
        client
            .update_load_balancer_settings(Id(7), &settings(), Some("h1"))
            .await
            .unwrap();
        client
            .update_load_balancer(
                Id(7),
                &LoadBalancerUpdate {
                    tags: Some(vec!["@k8s".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        client.apply_load_balancer_config(Id(7)).await.unwrap();
        client.boot_load_balancer(Id(7)).await.unwrap();
        client.shutdown_load_balancer(Id(7), true).await.unwrap();
        client.delete_load_balancer(Id(7)).await.unwrap();
        let status = client.load_balancer_status(Id(7)).await.unwrap();
        assert_eq!(status[0].servers[0].status, "UP");
        assert_eq!(status[0].cps, StringNumber(3));

        let reqs = api.requests();
        let seen: Vec<(String, String)> = reqs
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.path.trim_start_matches("/is1a/api/cloud/1.1/").to_owned(),
                )
            })
            .collect();
        let expected = [
            ("PUT", "appliance/7"),
            ("PUT", "appliance/7"),
            ("PUT", "appliance/7/config"),
            ("PUT", "appliance/7/power"),
            ("DELETE", "appliance/7/power"),
            ("DELETE", "appliance/7"),
            ("GET", "appliance/7/status"),
        ];
        assert_eq!(
            seen,
            expected.map(|(m, p)| (m.to_owned(), p.to_owned())).to_vec()
        );
        let body = reqs[0].body_json();
        assert_eq!(body["Appliance"]["SettingsHash"], "h1");
        assert_eq!(
            body["Appliance"]["Settings"]["LoadBalancer"][0]["Port"],
            "80"
        );
        assert!(
            body["Appliance"].get("Name").is_none(),
            "only settings are sent: {body}"
        );
        assert_eq!(
            reqs[1].body_json(),
            json!({"Appliance": {"Tags": ["@k8s"]}})
        );
        assert!(reqs[2].body.is_empty());
        assert_eq!(reqs[4].body_json(), json!({"Force": true}));
    })
}
