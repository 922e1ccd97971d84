//! `SakuraInstances` against the simulator: matching, the shared listing (request counts),
//! existence only on definitive answers, power state, error mapping.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cloud_provider::provider::{InstancesV2, ProviderErrorKind};
use k8s_openapi::api::core::v1::{Node, NodeSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sacloud::{Client, Filter, Server};
use sacloud_sim::ErrorRule;
use sakura_ccm::provider::cloud_instances::SakuraInstances;

const SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s"]
    prefix_len: 28
    network: 203.0.113.16/28
switches:
  - name: private-net
    tags: ["@k8s"]
    network: 192.168.0.0/24
servers:
  - name: control-plane-1
    plan: { cpu: 2, memory_gb: 4 }
    nics:
      - router: k8s-router
      - switch: private-net
        ip: 192.168.0.10
        prefix_len: 24
  - name: worker-1
    plan: { cpu: 4, memory_gb: 8 }
    nics:
      - router: k8s-router
      - switch: private-net
        ip: 192.168.0.11
        prefix_len: 24
  - name: worker-2
    nics:
      - switch: private-net
        ip: 192.168.0.12
        prefix_len: 24
  - name: worker-10
    nics:
      - switch: private-net
        ip: 192.168.0.20
        prefix_len: 24
"#;

use support::{cloud_client as client_for, simulator as start};

fn node(name: &str, provider_id: Option<&str>, provided_ip: Option<&str>) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: provided_ip.map(|ip| {
                BTreeMap::from([(
                    "alpha.kubernetes.io/provided-node-ip".to_owned(),
                    ip.to_owned(),
                )])
            }),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            provider_id: provider_id.map(Into::into),
            ..NodeSpec::default()
        }),
        ..Node::default()
    }
}

async fn server_named(client: &Client, name: &str) -> Server {
    client
        .find_servers(&Filter::new())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

fn addrs(meta: &cloud_provider::provider::InstanceMetadata) -> Vec<(String, String)> {
    meta.node_addresses
        .iter()
        .map(|a| (a.type_.clone(), a.address.clone()))
        .collect()
}

#[test]
fn metadata_by_name_provider_id_and_provided_ip() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let worker = server_named(&client, "worker-1").await;
        let instances = SakuraInstances::new(client);

        let by_name = instances
            .instance_metadata(&node("worker-1", None, None))
            .await
            .unwrap();
        assert_eq!(by_name.provider_id, format!("sakuracloud://{}", worker.id));
        assert_eq!(by_name.instance_type, "4core-8gb");
        assert_eq!(
            (by_name.zone.as_str(), by_name.region.as_str()),
            ("is1a", "is1")
        );
        let addresses = addrs(&by_name);
        assert_eq!(
            addresses[0],
            ("InternalIP".into(), "192.168.0.11".into()),
            "{addresses:?}"
        );
        assert_eq!(addresses[1].0, "ExternalIP", "{addresses:?}");
        assert_eq!(
            addresses.last().unwrap(),
            &("Hostname".to_owned(), "worker-1".to_owned())
        );

        let pid = format!("sakuracloud://{}", worker.id);
        let by_id = instances
            .instance_metadata(&node("renamed-node", Some(&pid), None))
            .await
            .unwrap();
        assert_eq!(by_id, by_name);

        let by_ip = instances
            .instance_metadata(&node("k8s-worker-1", None, Some("192.168.0.11")))
            .await
            .unwrap();
        assert_eq!(by_ip.provider_id, pid);

        let err = instances
            .instance_metadata(&node("worker-3", None, None))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        for part in [
            "\"worker-1\"",
            "\"worker-2\"",
            "\"worker-10\"",
            "--hostname-override",
            "--node-name",
        ] {
            assert!(
                err.message.contains(part),
                "{part:?} not in {}",
                err.message
            );
        }

        let err = instances
            .instance_metadata(&node("worker-1", Some("aws://i-1"), None))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ProviderErrorKind::Other, "{err:?}");
    })
}

#[test]
fn duplicate_names_are_an_error_not_not_found() {
    test_runtime::run(async {
        let sim = start(&format!(
            "{SCENARIO}  - name: worker-1\n    nics:\n      - shared: true\n"
        ))
        .await;
        let instances = SakuraInstances::new(client_for(&sim));
        let err = instances
            .instance_metadata(&node("worker-1", None, None))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ProviderErrorKind::Other, "{err:?}");
        assert!(err.message.contains("rename"), "{}", err.message);
        assert!(
            instances
                .instance_exists(&node("worker-1", None, None))
                .await
                .unwrap()
        );
    })
}

fn many_servers(n: usize) -> String {
    let mut yaml = String::from("zone: is1a\nservers:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - name: node-{i}\n    nics:\n      - shared: true\n"
        ));
    }
    yaml
}

#[test]
fn two_hundred_nodes_cost_one_listing() {
    test_runtime::run_multi(async {
        let sim = start(&many_servers(200)).await;
        let nodes: Vec<Arc<Node>> = (0..200)
            .map(|i| Arc::new(node(&format!("node-{i}"), None, None)))
            .collect();

        let instances = SakuraInstances::new(client_for(&sim));
        sim.handle().clear_counters();
        let batch = instances.instance_metadata_batch(&nodes).await;
        assert_eq!(batch.len(), 200);
        for (i, meta) in batch.iter().enumerate() {
            let meta = meta.as_ref().unwrap();
            assert_eq!(
                addrs(meta).last().unwrap().1,
                format!("node-{i}"),
                "same order as asked"
            );
        }
        let listings = sim.handle().count("GET", "server");
        assert!(
            listings <= 2,
            "{listings} server listings for a batch of 200"
        );
        assert_eq!(sim.handle().count("GET", "server/{id}"), 0);

        // A fresh provider, so nothing is cached: 200 concurrent callers share the listing.
        let instances = Arc::new(SakuraInstances::new(client_for(&sim)));
        sim.handle().clear_counters();
        let calls = nodes.iter().cloned().map(|n| {
            let instances = Arc::clone(&instances);
            tokio::spawn(async move { instances.instance_metadata(&n).await })
        });
        let results = futures_join_all(calls).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let listings = sim.handle().count("GET", "server");
        assert!(
            listings <= 2,
            "{listings} server listings for 200 concurrent calls"
        );
    })
}

async fn futures_join_all<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let handles: Vec<_> = handles.collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[test]
fn a_deleted_server_does_not_exist_after_a_404() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let worker = server_named(&client, "worker-2").await;
        let pid = format!("sakuracloud://{}", worker.id);
        let instances = SakuraInstances::new(client).with_max_age(Duration::ZERO);
        let by_id = node("worker-2", Some(&pid), None);
        let by_name = node("worker-2", None, None);

        assert!(instances.instance_exists(&by_id).await.unwrap());
        assert!(instances.instance_exists(&by_name).await.unwrap());

        sim.handle().remove_server(worker.id.0).unwrap();
        sim.handle().clear_counters();
        assert!(!instances.instance_exists(&by_id).await.unwrap());
        assert_eq!(
            sim.handle().count("GET", "server/{id}"),
            1,
            "the missing ID is confirmed by a read"
        );
        let err = instances.instance_exists(&by_name).await.unwrap_err();
        assert!(
            !err.is_not_found() && err.reason.as_deref() == Some("ServerNotFound"),
            "a Node without a provider ID is never confirmed gone (no ID to read): {err:?}"
        );
        let err = instances.instance_metadata(&by_id).await.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    })
}

#[test]
fn api_errors_are_never_a_missing_instance() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let instances = SakuraInstances::new(client_for(&sim)).with_max_age(Duration::ZERO);
        let n = node("worker-1", None, None);
        assert!(instances.instance_exists(&n).await.unwrap());

        let rule = |retry_after| ErrorRule {
            status: 503,
            rate: 1.0,
            count: None,
            method: Some("GET".into()),
            path_prefix: Some("server".into()),
            retry_after,
            error_code: None,
            message: None,
        };
        sim.handle().add_error_rule(rule(None)).unwrap();
        let err = instances.instance_exists(&n).await.unwrap_err();
        assert_eq!(err.kind, ProviderErrorKind::Other, "{err:?}");
        let err = instances.instance_metadata(&n).await.unwrap_err();
        assert!(!err.is_not_found(), "{err:?}");
        let batch = instances
            .instance_metadata_batch(&[Arc::new(n.clone())])
            .await;
        assert!(!batch[0].as_ref().unwrap_err().is_not_found());

        sim.handle().set_faults(Default::default());
        sim.handle().add_error_rule(rule(Some(7))).unwrap();
        let err = instances.instance_shutdown(&n).await.unwrap_err();
        assert_eq!(
            err.kind,
            ProviderErrorKind::RetryAfter(Duration::from_secs(7)),
            "{err:?}"
        );

        sim.handle().set_faults(Default::default());
        assert!(instances.instance_exists(&n).await.unwrap());
    })
}

#[test]
fn shutdown_follows_the_power_state() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let client = client_for(&sim);
        let worker = server_named(&client, "worker-1").await;
        let instances = SakuraInstances::new(client).with_max_age(Duration::ZERO);
        let n = node("worker-1", None, None);
        assert!(!instances.instance_shutdown(&n).await.unwrap());
        sim.handle().set_server_power(worker.id.0, false).unwrap();
        assert!(instances.instance_shutdown(&n).await.unwrap());
        assert!(
            instances.instance_exists(&n).await.unwrap(),
            "down is not gone"
        );
        sim.handle().set_server_power(worker.id.0, true).unwrap();
        assert!(!instances.instance_shutdown(&n).await.unwrap());
    })
}

#[test]
fn a_fresh_listing_is_reused_within_its_max_age() {
    test_runtime::run(async {
        let sim = start(SCENARIO).await;
        let instances =
            SakuraInstances::new(client_for(&sim)).with_max_age(Duration::from_secs(60));
        sim.handle().clear_counters();
        for name in ["worker-1", "worker-2", "control-plane-1"] {
            instances
                .instance_metadata(&node(name, None, None))
                .await
                .unwrap();
        }
        assert_eq!(sim.handle().count("GET", "server"), 1);
        // A name the cached listing lacks is looked up in a new listing before "not found".
        let err = instances
            .instance_metadata(&node("nobody", None, None))
            .await
            .unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(sim.handle().count("GET", "server"), 2);
    })
}
