#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

//! The Enhanced Load Balancer (`load-balancer-type: enhanced`) through the running controller
//! manager against the simulator and the fake API server: shared-segment nodes as real servers
//! at their node ports, port modes, node changes, resyncs, plan changes, limits, Let's Encrypt,
//! PROXY protocol, crash safety, deletion and the node selector.

mod support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use cloud_provider::provider::LoadBalancer as _;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use sacloud::{ProxyLb, ProxyMode};
use sakura_ccm::provider::load_balancers::SakuraLoadBalancers;
use serde_json::{Value, json};
use support::{CLUSTER_ID, CONVERGE, Cluster, eventually};

/// Nodes on the shared segment only (SAKURA's default network): no router, no switch. The
/// cluster seed 000 could not give a load balancer.
const SHARED: &str = r#"
zone: is1a
servers:
  - name: worker-1
    nics: [{shared: true}]
  - name: worker-2
    nics: [{shared: true}]
  - name: worker-3
    nics: [{shared: true}]
  - name: private-1
    nics: []
"#;

const WORKERS: [&str; 3] = ["worker-1", "worker-2", "worker-3"];
const ENHANCED: (&str, &str) = ("k8s.usacloud.jp/load-balancer-type", "enhanced");

/// Starts everything with the `nodes` registered and initialized.
async fn start(nodes: &[&str]) -> Cluster {
    let mut cluster = Cluster::without_controller(SHARED).await;
    cluster.start_controller(&[]).await;
    for name in nodes {
        cluster.add_node(name);
    }
    // Initialized and with the cloud's addresses (written just after the taint goes).
    eventually(
        "nodes initialized with their addresses",
        CONVERGE,
        || async {
            for name in nodes {
                if !cluster.node_initialized(name).await
                    || !has_cloud_addresses(&cluster, name).await
                {
                    return false;
                }
            }
            true
        },
    )
    .await;
    cluster
}

async fn has_cloud_addresses(cluster: &Cluster, name: &str) -> bool {
    let Some(node) = cluster.node(name).await else {
        return false;
    };
    node.status
        .and_then(|s| s.addresses)
        .is_some_and(|a| a.iter().any(|a| a.type_ == "Hostname"))
}

/// The global address the controller gave a Node.
async fn external_ip(cluster: &Cluster, name: &str) -> Ipv4Addr {
    let node = cluster.node(name).await.unwrap();
    node.status
        .unwrap()
        .addresses
        .unwrap()
        .into_iter()
        .find(|a| a.type_ == "ExternalIP")
        .unwrap()
        .address
        .parse()
        .unwrap()
}

/// The Service's node port for `port`.
async fn node_port(cluster: &Cluster, name: &str, port: i32) -> u16 {
    let svc = cluster.service(name).await.unwrap();
    let node_port = svc
        .spec
        .unwrap()
        .ports
        .unwrap()
        .into_iter()
        .find(|p| p.port == port)
        .unwrap()
        .node_port
        .unwrap();
    u16::try_from(node_port).unwrap()
}

/// This Service's Enhanced LB (by its UID tag).
async fn item_of(cluster: &Cluster, uid: &str) -> Option<ProxyLb> {
    let tag = format!("@k8s.ServiceUID={uid}");
    cluster
        .enhanced_load_balancers()
        .await
        .into_iter()
        .find(|i| i.tags.contains(&tag))
}

async fn wait_item(cluster: &Cluster, uid: &str) -> ProxyLb {
    eventually("the Enhanced Load Balancer", CONVERGE, || async {
        item_of(cluster, uid).await.is_some()
    })
    .await;
    item_of(cluster, uid).await.unwrap()
}

/// Waits until the Service's Enhanced LB has real servers satisfying `check` (the controller
/// may see the nodes' addresses a moment after the Service: a node-set update follows).
async fn wait_servers(
    cluster: &Cluster,
    uid: &str,
    check: impl Fn(&Vec<(Ipv4Addr, u16)>) -> bool,
) -> ProxyLb {
    let check = &check;
    eventually("the expected real servers", CONVERGE, || async move {
        item_of(cluster, uid)
            .await
            .is_some_and(|i| check(&servers(&i)))
    })
    .await;
    item_of(cluster, uid).await.unwrap()
}

/// Real servers as (address, port), sorted.
fn servers(item: &ProxyLb) -> Vec<(Ipv4Addr, u16)> {
    let mut out: Vec<(Ipv4Addr, u16)> = item
        .settings
        .servers
        .iter()
        .filter_map(|s| Some((s.ip_address?, s.port)))
        .collect();
    out.sort();
    out
}

fn ingress(cluster_service: &k8s_openapi::api::core::v1::Service) -> Value {
    serde_json::to_value(
        cluster_service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.clone())
            .unwrap_or_default(),
    )
    .unwrap()
}

/// Writes on Enhanced LBs (anything but GET on `commonserviceitem…`).
fn item_writes(cluster: &Cluster) -> Vec<String> {
    cluster
        .sim
        .handle()
        .request_log()
        .into_iter()
        .filter(|e| e.method != "GET" && e.path.starts_with("commonserviceitem"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Seed 000's first trap, solved: nodes on the shared segment get an Enhanced LB whose real
/// servers are their global addresses at the node port, and the Service its VIP and the
/// annotation naming the networks the proxy connects from.
#[test]
fn shared_segment_nodes_get_an_enhanced_load_balancer() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS).await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80]);
        let ip = cluster.wait_for_ingress("web").await;
        let node_port = node_port(&cluster, "web", 80).await;
        let mut expected = Vec::new();
        for name in WORKERS {
            expected.push((external_ip(&cluster, name).await, node_port));
        }
        expected.sort();
        let item = wait_servers(&cluster, &uid, |s| *s == expected).await;
        assert_eq!(item.settings.bind_ports.len(), 1);
        assert_eq!(item.settings.bind_ports[0].port, 80);
        assert_eq!(item.settings.bind_ports[0].proxy_mode, ProxyMode::Tcp);
        let health = cluster.cloud.proxy_lb_health(item.id).await.unwrap();
        assert_eq!(health.current_vip.map(|v| v.to_string()), Some(ip.clone()));

        let svc = cluster.service("web").await.unwrap();
        assert_eq!(ingress(&svc), json!([{"ip": ip, "ipMode": "VIP"}]));
        let networks =
            svc.metadata.annotations.unwrap()["k8s.usacloud.jp/enhanced-lb-source-networks"]
                .clone();
        assert_eq!(networks, item.status.proxy_networks.join(","));
        assert!(!networks.is_empty());
        assert!(
            cluster
                .has_event("web", "LoadBalancerSettingsApplied")
                .await
        );
        assert_eq!(cluster.load_balancers().await.len(), 0, "no appliance");
        assert_eq!(cluster.sim.handle().count("POST", "commonserviceitem"), 1);
    })
}

/// Seed 000's trap as it was: the default type on shared-segment nodes finds no network, and
/// the Warning says to use `enhanced`.
#[test]
fn the_appliance_on_shared_segment_nodes_points_to_enhanced() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS).await;
        cluster.add_service("web", &[], &[80]);
        // The first attempt may run before the controller has seen the nodes' addresses.
        eventually(
            "a NetworkNotFound Warning pointing to enhanced",
            CONVERGE,
            || async {
                cluster
                    .events_about("web")
                    .await
                    .iter()
                    .any(|(_, reason, note)| {
                        reason == "NetworkNotFound"
                            && note.contains("on the shared segment")
                            && note.contains("load-balancer-type: enhanced")
                    })
            },
        )
        .await;
        assert_eq!(cluster.ingress_ip("web").await, None);
    })
}

/// `enhanced-lb-port-modes` chooses http and https per port; the L7 switches apply to the
/// ports of their mode; Let's Encrypt is asked for the https certificate and reported until it
/// is issued.
#[test]
fn port_modes_and_lets_encrypt_from_request_to_certificate() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS).await;
        let uid = cluster.add_service_json(
            "site",
            &[
                ENHANCED,
                (
                    "k8s.usacloud.jp/enhanced-lb-port-modes",
                    "http=http,443=https",
                ),
                ("k8s.usacloud.jp/enhanced-lb-redirect-to-https", "true"),
                ("k8s.usacloud.jp/enhanced-lb-http2", "true"),
                (
                    "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
                    "www.example.com,example.com",
                ),
            ],
            &[80, 443],
            json!({"ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "https", "port": 443, "protocol": "TCP"}
            ]}),
        );
        cluster.wait_for_ingress("site").await;
        let item = wait_servers(&cluster, &uid, |s| s.len() == 6).await;
        let modes: Vec<(u16, ProxyMode, bool, bool)> = item
            .settings
            .bind_ports
            .iter()
            .map(|b| {
                (
                    b.port,
                    b.proxy_mode.clone(),
                    b.redirect_to_https,
                    b.support_http2,
                )
            })
            .collect();
        assert_eq!(
            modes,
            vec![
                (80, ProxyMode::Http, true, false),
                (443, ProxyMode::Https, false, true)
            ]
        );
        assert!(item.settings.lets_encrypt.enabled);
        assert_eq!(item.settings.lets_encrypt.common_name, "www.example.com");

        let requested = cluster.wait_for_event("site", "LetsEncryptRequested").await;
        assert!(
            requested.contains("www.example.com, example.com"),
            "{requested}"
        );
        let ready = cluster.wait_for_event("site", "CertificateReady").await;
        assert!(ready.contains("www.example.com"), "{ready}");
        let certificates = cluster.cloud.proxy_lb_certificates(item.id).await.unwrap();
        assert_eq!(
            certificates.primary.unwrap().certificate_common_name,
            "www.example.com"
        );
        assert_eq!(
            cluster
                .sim
                .handle()
                .count("PUT", "commonserviceitem/{id}/proxylb/letsencryptrenew"),
            1,
            "asked once"
        );
    })
}

/// A self-signed certificate and key (PEM) for `name`.
fn certificate(name: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A `kubernetes.io/tls` Secret in `default` (created, or replaced).
fn put_tls_secret(cluster: &Cluster, name: &str, common_name: &str) {
    let (crt, key) = certificate(common_name);
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(
            [
                (
                    "tls.crt".to_owned(),
                    k8s_openapi::ByteString(crt.into_bytes()),
                ),
                (
                    "tls.key".to_owned(),
                    k8s_openapi::ByteString(key.into_bytes()),
                ),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let body = serde_json::to_value(&secret).unwrap();
    let store = cluster.api.store();
    if store.get("secrets", Some("default"), name).is_ok() {
        store
            .replace(
                "secrets",
                Some("default"),
                body,
                fake_apiserver::Subresource::Main,
            )
            .unwrap();
    } else {
        store.create("secrets", Some("default"), body).unwrap();
    }
}

/// An https port with the certificate of a TLS Secret: uploaded, and uploaded again when the
/// Secret changes (a renewal); a missing Secret is a Warning saying what to do.
#[test]
fn a_tls_secret_is_uploaded_and_uploaded_again_when_it_changes() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..1]).await;
        put_tls_secret(&cluster, "web-tls", "a.example.com");
        let uid = cluster.add_service(
            "web",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https"),
                ("k8s.usacloud.jp/enhanced-lb-certificate-secret", "web-tls"),
            ],
            &[443],
        );
        cluster.wait_for_ingress("web").await;
        let id = wait_item(&cluster, &uid).await.id;
        let common_name = || async {
            cluster
                .cloud
                .proxy_lb_certificates(id)
                .await
                .ok()
                .and_then(|c| c.primary)
                .map(|p| p.certificate_common_name)
        };
        eventually("the Secret's certificate is uploaded", CONVERGE, || async {
            common_name().await.as_deref() == Some("a.example.com")
        })
        .await;
        let note = cluster.wait_for_event("web", "CertificateReady").await;
        assert!(note.contains("default/web-tls"), "{note}");

        put_tls_secret(&cluster, "web-tls", "b.example.com");
        eventually("the renewed certificate is uploaded", CONVERGE, || async {
            common_name().await.as_deref() == Some("b.example.com")
        })
        .await;
        let uploads = cluster
            .sim
            .handle()
            .count("PUT", "commonserviceitem/{id}/proxylb/sslcertificate");
        assert_eq!(uploads, 2, "one upload per certificate");

        cluster.add_service(
            "other",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https"),
                ("k8s.usacloud.jp/enhanced-lb-certificate-secret", "missing"),
            ],
            &[443],
        );
        let warning = cluster
            .wait_for_event("other", "CertificateSecretUnusable")
            .await;
        assert!(
            warning.contains("kubectl create secret tls missing"),
            "{warning}"
        );
    })
}

/// A Node joining or leaving is one settings update of the same Enhanced LB; a resync with
/// nothing changed writes nothing.
#[test]
fn node_changes_are_one_update_each_and_a_resync_writes_nothing() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..2]).await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80]);
        cluster.wait_for_ingress("web").await;
        let id = wait_item(&cluster, &uid).await.id;
        cluster.sim.handle().clear_counters();

        cluster.add_node("worker-3");
        eventually("worker-3 is a real server", CONVERGE, || async {
            item_of(&cluster, &uid)
                .await
                .is_some_and(|i| servers(&i).len() == 3)
        })
        .await;
        cluster.delete_node("worker-1");
        eventually("worker-1 is not", CONVERGE, || async {
            item_of(&cluster, &uid)
                .await
                .is_some_and(|i| servers(&i).len() == 2)
        })
        .await;
        let item = item_of(&cluster, &uid).await.unwrap();
        assert_eq!(item.id, id, "the same Enhanced LB");
        assert_eq!(
            cluster.sim.handle().count("PUT", "commonserviceitem/{id}"),
            2,
            "one settings update per change: {:?}",
            item_writes(&cluster)
        );
        assert_eq!(cluster.sim.handle().count("POST", "commonserviceitem"), 0);

        // A resync: the provider asked again with nothing changed.
        let provider = SakuraLoadBalancers::new(cluster.cloud.clone(), Some(CLUSTER_ID.to_owned()));
        let service = cluster.service("web").await.unwrap();
        let nodes = cluster.nodes().await;
        cluster.sim.handle().clear_counters();
        let outcome = provider
            .ensure("kubernetes", &service, &nodes)
            .await
            .unwrap();
        assert!(outcome.status.ingress.is_some());
        assert_eq!(cluster.writes(), 0, "{:?}", item_writes(&cluster));
    })
}

/// A plan change is made in place; the API gives the Enhanced LB a new ID, which the
/// controller follows: no second Enhanced LB, and later changes go to the new ID.
#[test]
fn a_plan_change_follows_the_new_id_and_creates_nothing() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..2]).await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80]);
        cluster.wait_for_ingress("web").await;
        let old = wait_item(&cluster, &uid).await;
        assert_eq!(old.plan().map(|p| p.cps()), Some(100));

        cluster.patch_service(
            "web",
            json!({"metadata": {"annotations": {"k8s.usacloud.jp/enhanced-lb-plan": "500"}}}),
        );
        let note = cluster
            .wait_for_event("web", "LoadBalancerPlanChanged")
            .await;
        let new = wait_item(&cluster, &uid).await;
        assert_ne!(new.id, old.id, "{note}");
        assert_eq!(new.plan().map(|p| p.cps()), Some(500));
        assert!(note.contains(&new.id.to_string()), "{note}");
        assert!(
            cluster.cloud.read_proxy_lb(old.id).await.is_err(),
            "the old ID is gone"
        );

        cluster.add_node("worker-3");
        eventually("the new ID is updated", CONVERGE, || async {
            item_of(&cluster, &uid)
                .await
                .is_some_and(|i| servers(&i).len() == 3)
        })
        .await;
        assert_eq!(cluster.enhanced_load_balancers().await.len(), 1);
        assert_eq!(cluster.sim.handle().count("POST", "commonserviceitem"), 1);
    })
}

/// What an Enhanced LB cannot serve is a Warning and nothing is written: more than two ports,
/// an https port without a certificate, a bad annotation (other Services unaffected); nodes
/// without a global address are left out with a Warning naming them.
#[test]
fn limits_and_bad_values_are_warnings_and_nodes_without_global_addresses_are_named() {
    test_runtime::run_multi(async {
        let cluster = start(&["worker-1", "worker-2", "private-1"]).await;
        cluster.add_service("three", &[ENHANCED], &[80, 443, 8080]);
        cluster.add_service(
            "nocert",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https"),
            ],
            &[443],
        );
        cluster.add_service(
            "bad",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-plan", "200"),
                ("k8s.usacloud.jp/enhanced-lb-timeout", "5"),
            ],
            &[80],
        );
        let good = cluster.add_service("good", &[ENHANCED], &[80]);

        let too_many = cluster.wait_for_event("three", "TooManyPorts").await;
        assert!(too_many.contains("at most 2"), "{too_many}");
        let missing = cluster.wait_for_event("nocert", "CertificateMissing").await;
        assert!(missing.contains("443"), "{missing}");
        let invalid = cluster.wait_for_event("bad", "InvalidAnnotation").await;
        assert!(
            invalid.contains("enhanced-lb-plan") && invalid.contains("enhanced-lb-timeout"),
            "{invalid}"
        );

        cluster.wait_for_ingress("good").await;
        let without = cluster
            .wait_for_event("good", "NodesWithoutGlobalAddress")
            .await;
        assert!(without.contains("private-1"), "{without}");
        wait_servers(&cluster, &good, |s| s.len() == 2).await;

        assert_eq!(
            cluster.enhanced_load_balancers().await.len(),
            1,
            "only the good one"
        );
        for name in ["three", "nocert", "bad"] {
            assert_eq!(cluster.ingress_ip(name).await, None, "{name}");
        }
    })
}

/// 21 nodes and two ports would be 42 real-server entries: the first 20 nodes by name are
/// registered on both ports (40 entries) and a Warning names the limit and the node left out.
#[test]
fn more_than_forty_entries_register_the_first_twenty_nodes_on_both_ports() {
    test_runtime::run_multi(async {
        let names: Vec<String> = (1..=21).map(|i| format!("node-{i:02}")).collect();
        let scenario = format!(
            "zone: is1a\nservers:\n{}",
            names
                .iter()
                .map(|n| format!("  - name: {n}\n    nics: [{{shared: true}}]\n"))
                .collect::<String>()
        );
        let mut cluster = Cluster::without_controller(&scenario).await;
        cluster.start_controller(&[]).await;
        for name in &names {
            cluster.add_node(name);
        }
        eventually("21 nodes with addresses", CONVERGE, || async {
            for name in &names {
                if !has_cloud_addresses(&cluster, name).await {
                    return false;
                }
            }
            true
        })
        .await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80, 443]);
        cluster.wait_for_ingress("web").await;
        let mut first_twenty = BTreeSet::new();
        for name in &names[..20] {
            first_twenty.insert(external_ip(&cluster, name).await);
        }
        // The controller may see the last addresses a moment after the Service.
        let item = wait_servers(&cluster, &uid, |s| {
            s.len() == 40 && s.iter().map(|(ip, _)| *ip).collect::<BTreeSet<_>>() == first_twenty
        })
        .await;
        let left_out = external_ip(&cluster, "node-21").await;
        assert!(servers(&item).iter().all(|(ip, _)| *ip != left_out));
        let note = cluster
            .wait_for_event("web", "RealServerLimitReached")
            .await;
        assert!(
            note.contains("node-21") && note.contains("at most 40"),
            "{note}"
        );
    })
}

/// PROXY protocol on: the real servers get the client's address in a PROXY v2 header, and the
/// status says `ipMode: Proxy` so that in-cluster clients also go through the load balancer.
/// With VIP failover the FQDN is published as the hostname.
#[test]
fn proxy_protocol_gives_ip_mode_proxy_and_vip_failover_a_hostname() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..1]).await;
        let uid = cluster.add_service(
            "web",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-proxy-protocol", "true"),
                ("k8s.usacloud.jp/enhanced-lb-vip-failover", "true"),
            ],
            &[80],
        );
        let ip = cluster.wait_for_ingress("web").await;
        let item = wait_item(&cluster, &uid).await;
        assert!(item.settings.proxy_protocol.enabled);
        assert!(!item.status.fqdn.is_empty());
        let svc = cluster.service("web").await.unwrap();
        assert_eq!(
            ingress(&svc),
            json!([{"ip": ip, "hostname": item.status.fqdn, "ipMode": "Proxy"}])
        );
    })
}

/// The provider creates the Enhanced LB and the process dies before the status is written:
/// the controller started afterwards finds it by its tags. Exactly one, the same ID.
#[test]
fn a_restart_after_create_finds_the_enhanced_load_balancer() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(SHARED).await;
        cluster.start_controller(&[]).await;
        cluster.add_node("worker-1");
        eventually("worker-1 initialized", CONVERGE, || async {
            cluster.node_initialized("worker-1").await
        })
        .await;
        cluster.stop_controller().await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80]);
        let service = cluster.service("web").await.unwrap();
        let nodes = cluster.nodes().await;
        let first = SakuraLoadBalancers::new(cluster.cloud.clone(), Some(CLUSTER_ID.to_owned()));
        first.ensure("kubernetes", &service, &nodes).await.unwrap();
        drop(first);
        let id = wait_item(&cluster, &uid).await.id;
        assert_eq!(
            cluster.ingress_ip("web").await,
            None,
            "the status was never written"
        );

        cluster.start_controller(&[]).await;
        cluster.wait_for_ingress("web").await;
        let items = cluster.enhanced_load_balancers().await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, id);
        assert_eq!(cluster.sim.handle().count("POST", "commonserviceitem"), 1);
    })
}

/// Deleting the Service deletes its Enhanced LB (one DELETE) before the finalizer goes; Enhanced
/// LBs of other Services and untagged ones are never touched.
#[test]
fn deleting_the_service_deletes_only_its_enhanced_load_balancer_first() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..1]).await;
        let web = cluster.add_service("web", &[ENHANCED], &[80]);
        let other = cluster.add_service("other", &[ENHANCED], &[80]);
        cluster.wait_for_ingress("web").await;
        cluster.wait_for_ingress("other").await;
        let web_id = wait_item(&cluster, &web).await.id;
        let other_id = wait_item(&cluster, &other).await.id;
        // An Enhanced LB of someone else, with the same name scheme but no tags.
        cluster
            .sim
            .handle()
            .load_scenario(
                &sacloud_sim::Scenario::parse(
                    &json!({"proxylbs": [{"name": "untagged", "tags": []}]}).to_string(),
                )
                .unwrap(),
            )
            .unwrap();

        cluster.delete_service("web");
        eventually("the Service is gone", CONVERGE, || async {
            cluster.service("web").await.is_none()
        })
        .await;
        let left: BTreeSet<String> = cluster
            .enhanced_load_balancers()
            .await
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.contains("untagged"));
        assert!(cluster.cloud.read_proxy_lb(web_id).await.is_err());
        assert!(cluster.cloud.read_proxy_lb(other_id).await.is_ok());
        assert_eq!(
            cluster
                .sim
                .handle()
                .count("DELETE", "commonserviceitem/{id}"),
            1
        );
    })
}

/// `node-selector` restricts the real servers, for the Enhanced LB and the appliance alike; a
/// bad selector is a Warning and changes nothing.
#[test]
fn the_node_selector_chooses_the_real_servers_for_both_types() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS).await;
        for name in ["worker-1", "worker-3"] {
            let node: Api<Node> = Api::all(cluster.kube.clone());
            node.patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"labels": {"role": "edge"}}})),
            )
            .await
            .unwrap();
        }
        let uid = cluster.add_service(
            "edge",
            &[ENHANCED, ("k8s.usacloud.jp/node-selector", "role=edge")],
            &[80],
        );
        cluster.wait_for_ingress("edge").await;
        let mut expected = vec![
            external_ip(&cluster, "worker-1").await,
            external_ip(&cluster, "worker-3").await,
        ];
        expected.sort();
        // The labels may reach the controller after the Service: then a node-set update
        // follows.
        eventually("the edge nodes are the real servers", CONVERGE, || async {
            item_of(&cluster, &uid).await.is_some_and(|i| {
                servers(&i)
                    .into_iter()
                    .map(|(ip, _)| ip)
                    .collect::<Vec<_>>()
                    == expected
            })
        })
        .await;

        // worker-2 becomes an edge node: it joins.
        Api::<Node>::all(cluster.kube.clone())
            .patch(
                "worker-2",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"labels": {"role": "edge"}}})),
            )
            .await
            .unwrap();
        eventually("worker-2 joins", CONVERGE, || async {
            item_of(&cluster, &uid)
                .await
                .is_some_and(|i| servers(&i).len() == 3)
        })
        .await;

        cluster.add_service(
            "bad",
            &[ENHANCED, ("k8s.usacloud.jp/node-selector", "role in edge")],
            &[80],
        );
        let note = cluster.wait_for_event("bad", "InvalidAnnotation").await;
        assert!(note.contains("node-selector"), "{note}");
        assert_eq!(cluster.ingress_ip("bad").await, None);
    })
}

/// The appliance honours `node-selector` too.
#[test]
fn the_node_selector_applies_to_the_appliance() {
    test_runtime::run_multi(async {
        let mut cluster = Cluster::without_controller(support::SCENARIO).await;
        cluster.start_controller(&[]).await;
        for name in WORKERS {
            cluster.add_node(name);
        }
        eventually("workers initialized", CONVERGE, || async {
            for name in WORKERS {
                if !cluster.node_initialized(name).await {
                    return false;
                }
            }
            true
        })
        .await;
        Api::<Node>::all(cluster.kube.clone())
            .patch(
                "worker-2",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"labels": {"lb": "yes"}}})),
            )
            .await
            .unwrap();
        cluster.add_service("web", &[("k8s.usacloud.jp/node-selector", "lb=yes")], &[80]);
        cluster.wait_for_ingress("web").await;
        let only_worker_2 = vec!["203.0.113.22".parse::<Ipv4Addr>().unwrap()];
        eventually("worker-2 is the only real server", CONVERGE, || async {
            let lbs = cluster.load_balancers().await;
            lbs.len() == 1
                && lbs[0].settings.load_balancer[0]
                    .servers
                    .iter()
                    .filter_map(|s| s.ip_address)
                    .collect::<Vec<_>>()
                    == only_worker_2
        })
        .await;
    })
}

/// A Service that asks for the other type later keeps the load balancer it has (its address
/// stays), with a Warning saying how to change the type.
#[test]
fn changing_the_type_keeps_the_existing_load_balancer_with_a_warning() {
    test_runtime::run_multi(async {
        let cluster = start(&WORKERS[..1]).await;
        let uid = cluster.add_service("web", &[ENHANCED], &[80]);
        let ip = cluster.wait_for_ingress("web").await;
        let id = wait_item(&cluster, &uid).await.id;
        cluster.patch_service(
            "web",
            json!({"metadata": {"annotations": {"k8s.usacloud.jp/load-balancer-type": "internet"}}}),
        );
        let note = cluster
            .wait_for_event("web", "ImmutableSettingChanged")
            .await;
        assert!(note.contains("re-create"), "{note}");
        assert_eq!(cluster.ingress_ip("web").await, Some(ip));
        assert_eq!(wait_item(&cluster, &uid).await.id, id);
        assert_eq!(cluster.load_balancers().await.len(), 0);
    })
}
