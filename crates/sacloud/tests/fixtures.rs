//! Decoding realistic responses: the real-world fixtures from the API reference (string
//! numbers, `"True"`, IDs as numbers and strings, `Internet` as the list key, `null`s).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::net::Ipv4Addr;

use sacloud::api::common::Scope;
use sacloud::{
    Availability, Filter, HealthCheckProtocol, Id, InstanceStatus, NicConnection, StringNumber,
};
use serde_json::Value;
use support::{MockApi, Reply};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn serve(body: Value) -> MockApi {
    MockApi::start(move |_, _| Reply::json(200, body.clone())).await
}

#[test]
fn server_with_every_kind_of_nic() {
    test_runtime::run(async {
        let api = serve(fixture("server.json")).await;
        let s = api.client().read_server(Id(999999999999)).await.unwrap();
        assert_eq!(s.name, "node-1");
        assert_eq!(s.tags, ["@k8s"]);
        assert!(s.is_up());
        assert_eq!(s.availability, Some(Availability::Available));
        let plan = s.server_plan.as_ref().unwrap();
        assert_eq!((plan.cpu, plan.memory_mb), (1, 1024));
        assert_eq!(plan.service_class, "cloud/plan/1core-1gb");
        let zone = s.zone.as_ref().unwrap();
        assert_eq!(zone.name, "is1b");
        assert_eq!(zone.region.as_ref().unwrap().id, Id(310));

        let nics = &s.interfaces;
        assert_eq!(nics.len(), 4);
        assert_eq!(nics[0].connection(), NicConnection::SharedSegment);
        assert_eq!(nics[0].address(), Some(Ipv4Addr::new(133, 242, 224, 41)));
        assert_eq!(
            nics[0].switch.as_ref().unwrap().id,
            Id(112800430557),
            "string ID"
        );
        assert_eq!(nics[1].id, Id(112800442276), "string ID");
        assert_eq!(nics[1].connection(), NicConnection::Switch);
        assert_eq!(nics[1].address(), Some(Ipv4Addr::new(192, 168, 200, 50)));
        assert_eq!(
            nics[1]
                .switch
                .as_ref()
                .unwrap()
                .user_subnet
                .as_ref()
                .unwrap()
                .network_mask_len,
            Some(24)
        );
        assert_eq!(nics[2].connection(), NicConnection::Router);
        assert_eq!(nics[2].address(), Some(Ipv4Addr::new(133, 242, 253, 101)));
        assert_eq!(nics[3].connection(), NicConnection::Disconnected);
        assert_eq!(nics[3].address(), None);
    })
}

#[test]
fn router_switch_has_the_assignable_range() {
    test_runtime::run(async {
        let api = serve(fixture("switch_router.json")).await;
        let sw = api.client().read_switch(Id(123456789012)).await.unwrap();
        assert_eq!(sw.scope, Some(Scope::User));
        assert_eq!(sw.subnets.len(), 1);
        let subnet = &sw.subnets[0];
        assert_eq!(subnet.network_mask_len, Some(28));
        assert_eq!(subnet.default_route, Some(Ipv4Addr::new(133, 242, 253, 97)));
        assert_eq!(subnet.next_hop, None);
        let range = subnet.ip_addresses.unwrap();
        let all: Vec<_> = range.addresses().collect();
        assert_eq!(all.len(), 11);
        assert_eq!(all[0], Ipv4Addr::new(133, 242, 253, 100));
        assert_eq!(all[10], Ipv4Addr::new(133, 242, 253, 110));
        assert_eq!(sw.internet.as_ref().unwrap().band_width_mbps, 100);
    })
}

#[test]
fn internet_list_key_is_singular() {
    test_runtime::run(async {
        let api = serve(fixture("internet_find.json")).await;
        let routers = api
            .client()
            .find_internets(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(routers.len(), 1);
        let r = &routers[0];
        assert_eq!(r.id, Id(123456789012));
        assert_eq!(r.switch.id, Id(123456789013));
        assert_eq!(r.network_mask_len, Some(28));
        assert_eq!(
            r.switch.subnets[0].ip_addresses, None,
            "the router's view has no range"
        );
    })
}

#[test]
fn load_balancer_with_string_numbers_and_flags() {
    test_runtime::run(async {
        let api = serve(fixture("load_balancer.json")).await;
        let lb = api
            .client()
            .read_load_balancer(Id(123456789012))
            .await
            .unwrap();
        assert!(lb.is_ready());
        assert_eq!(lb.status(), Some(&InstanceStatus::Up));
        assert_eq!(lb.plan.unwrap().id, Id(1));
        assert_eq!(lb.settings_hash, "924521e812f96157a83d138c79d423fb");
        assert_eq!(lb.remark.switch.id, Id(123456789012));
        assert_eq!(lb.remark.vrrp.vrid, 1);
        assert_eq!(lb.remark.network.network_mask_len, 24);
        assert_eq!(
            lb.remark.servers[0].ip_address,
            Some(Ipv4Addr::new(192, 168, 200, 11))
        );
        assert_eq!(lb.virtual_ips(), [Ipv4Addr::new(192, 168, 200, 50)]);
        let vip = &lb.settings.load_balancer[0];
        assert_eq!(vip.port, StringNumber(80));
        assert_eq!(vip.delay_loop, StringNumber(10));
        let s0 = &vip.servers[0];
        assert!(s0.enabled.0);
        assert_eq!(s0.health_check.protocol, HealthCheckProtocol::Http);
        assert_eq!(s0.health_check.path.as_deref(), Some("/index.html"));
        assert_eq!(s0.health_check.status, Some(StringNumber(200)));
        // The server's read-only `"Status": "DOWN"` is in the fixture and not kept (it is
        // read from the status endpoint instead).
        assert_eq!(s0.ip_address, Some(Ipv4Addr::new(192, 168, 200, 51)));
        assert_eq!(
            vip.servers[1].health_check.protocol,
            HealthCheckProtocol::Ping
        );
        assert_eq!(
            lb.interfaces[0].user_ip_address,
            Some(Ipv4Addr::new(192, 168, 200, 11))
        );
    })
}

#[test]
fn auth_status_is_not_enveloped() {
    test_runtime::run(async {
        let api = serve(fixture("auth_status.json")).await;
        let status = api.client().auth_status().await.unwrap();
        assert_eq!(status.account.id, Id(123456789012));
        assert_eq!(status.account.name, "test-account");
        assert!(status.is_api_key);
        assert!(status.can_create());
        assert_eq!(status.operation_penalty, "none");
        assert_eq!(api.requests()[0].path, "/is1a/api/cloud/1.1/auth-status");
    })
}

#[test]
fn unknown_enum_values_are_kept() {
    test_runtime::run(async {
        let api = serve(serde_json::json!({"Server": {
        "ID": 1, "Availability": "reserved", "Instance": {"Status": "paused"}}}))
        .await;
        let s = api.client().read_server(Id(1)).await.unwrap();
        assert_eq!(s.availability, Some(Availability::Other("reserved".into())));
        assert_eq!(s.status(), Some(&InstanceStatus::Other("paused".into())));
        assert!(!s.is_up());
    })
}

#[test]
fn null_list_in_find_reads_as_empty() {
    test_runtime::run(async {
        let api =
            serve(serde_json::json!({"Total": 0, "From": 0, "Count": 0, "Servers": null})).await;
        assert!(
            api.client()
                .find_servers(&Filter::new())
                .await
                .unwrap()
                .is_empty()
        );
    })
}

#[test]
fn malformed_success_body_is_a_decode_error() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| Reply {
            status: 200,
            headers: vec![],
            body: "<html>maintenance</html>".into(),
        })
        .await;
        let err = api.client().read_server(Id(1)).await.unwrap_err();
        assert!(matches!(err, sacloud::Error::Decode { .. }), "{err:?}");
        assert!(err.to_string().contains("maintenance"), "{err}");
        let api = serve(serde_json::json!({"Switch": {"ID": 1}})).await;
        let err = api.client().read_server(Id(1)).await.unwrap_err();
        assert!(err.to_string().contains("no \"Server\" field"), "{err}");
    })
}
