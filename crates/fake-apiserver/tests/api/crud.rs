//! Create / get / list / replace / delete through kube-rs `Api`, and their errors.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServicePort, ServiceSpec};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use serde_json::json;

use crate::support::{api_error, start};

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
        ..Default::default()
    }
}

#[test]
fn crud_roundtrip_sets_server_owned_metadata() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let created = api
            .create(&PostParams::default(), &cm("a", &[]))
            .await
            .unwrap();
        let m = &created.metadata;
        assert_eq!(m.uid.as_ref().unwrap().len(), 36);
        assert!(m.creation_timestamp.is_some());
        assert_eq!(m.namespace.as_deref(), Some("default"));
        let rv1: u64 = m.resource_version.as_ref().unwrap().parse().unwrap();

        let got = api.get("a").await.unwrap();
        assert_eq!(got, created);

        let mut changed = got.clone();
        changed.data = Some(BTreeMap::from([("k".to_string(), "w".to_string())]));
        let replaced = api
            .replace("a", &PostParams::default(), &changed)
            .await
            .unwrap();
        let rv2: u64 = replaced
            .metadata
            .resource_version
            .as_ref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv2 > rv1);
        assert_eq!(replaced.metadata.uid, created.metadata.uid);
        assert_eq!(
            replaced.metadata.creation_timestamp,
            created.metadata.creation_timestamp
        );

        let list = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 1);
        let list_rv: u64 = list.metadata.resource_version.unwrap().parse().unwrap();
        assert!(list_rv >= rv2);

        api.delete("a", &DeleteParams::default()).await.unwrap();
        let err = api_error(api.get("a").await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
        assert_eq!(err.message, "configmaps \"a\" not found");
        let details = err.details.unwrap();
        assert_eq!(details.name, "a");
        assert_eq!(details.kind, "configmaps");
        assert!(
            server
                .store()
                .get("configmaps", Some("default"), "a")
                .is_err()
        );
    })
}

#[test]
fn create_existing_name_is_already_exists() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(&PostParams::default(), &cm("dup", &[]))
            .await
            .unwrap();
        let err = api_error(
            api.create(&PostParams::default(), &cm("dup", &[]))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(err.details.unwrap().name, "dup");
    })
}

#[test]
fn stale_replace_is_conflict_and_changes_nothing() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Lease> = Api::namespaced(client, "kube-system");
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some("ccm".into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some("a".into()),
                ..Default::default()
            }),
        };
        let v1 = api.create(&PostParams::default(), &lease).await.unwrap();
        let mut mine = v1.clone();
        mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
        let v2 = api
            .replace("ccm", &PostParams::default(), &mine)
            .await
            .unwrap();
        // `mine` still carries v1's resourceVersion.
        mine.spec.as_mut().unwrap().holder_identity = Some("c".into());
        let err = api_error(
            api.replace("ccm", &PostParams::default(), &mine)
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert!(
            err.message.contains("the object has been modified"),
            "{}",
            err.message
        );
        assert_eq!(err.details.unwrap().group, "coordination.k8s.io");
        assert_eq!(api.get("ccm").await.unwrap(), v2);
    })
}

#[test]
fn replace_of_missing_object_is_not_found() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let err = api_error(
            api.replace("ghost", &PostParams::default(), &cm("ghost", &[]))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 404);
    })
}

#[test]
fn generate_name_and_invalid_names() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let mut obj = cm("", &[]);
        obj.metadata.name = None;
        obj.metadata.generate_name = Some("gen-".into());
        let a = api.create(&PostParams::default(), &obj).await.unwrap();
        let b = api.create(&PostParams::default(), &obj).await.unwrap();
        let (an, bn) = (a.metadata.name.unwrap(), b.metadata.name.unwrap());
        assert!(an.starts_with("gen-") && an.len() == 9, "{an}");
        assert_ne!(an, bn);

        obj.metadata.generate_name = None;
        let err = api_error(api.create(&PostParams::default(), &obj).await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert_eq!(err.details.unwrap().causes[0].field, "metadata.name");

        let err = api_error(
            api.create(&PostParams::default(), &cm("Not_Valid", &[]))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    })
}

#[test]
fn namespaces_exist_at_start_and_are_required() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let ns: Api<Namespace> = Api::all(client.clone());
        let names: Vec<String> = ns
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        assert_eq!(names, vec!["default", "kube-public", "kube-system"]);
        let default = ns.get("default").await.unwrap();
        assert_eq!(default.status.unwrap().phase.as_deref(), Some("Active"));

        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "nope");
        let err = api_error(
            api.create(&PostParams::default(), &cm("a", &[]))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 404);
        assert_eq!(err.message, "namespaces \"nope\" not found");

        // Deleting a namespace removes its contents.
        let mut n = Namespace::default();
        n.metadata.name = Some("tmp".into());
        ns.create(&PostParams::default(), &n).await.unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "tmp");
        api.create(&PostParams::default(), &cm("a", &[]))
            .await
            .unwrap();
        ns.delete("tmp", &DeleteParams::default()).await.unwrap();
        assert_eq!(api_error(api.get("a").await.unwrap_err()).code, 404);
    })
}

#[test]
fn label_field_selectors_and_pagination() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        for i in 0..7 {
            let tier = if i % 2 == 0 { "even" } else { "odd" };
            api.create(
                &PostParams::default(),
                &cm(&format!("c{i}"), &[("tier", tier), ("app", "x")]),
            )
            .await
            .unwrap();
        }
        api.create(&PostParams::default(), &cm("other", &[]))
            .await
            .unwrap();
        let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
            l.items
                .into_iter()
                .filter_map(|c| c.metadata.name)
                .collect()
        };
        let lp = |s: &str| ListParams::default().labels(s);
        assert_eq!(
            names(api.list(&lp("tier=odd")).await.unwrap()),
            ["c1", "c3", "c5"]
        );
        assert_eq!(names(api.list(&lp("tier!=odd")).await.unwrap()).len(), 5);
        assert_eq!(
            names(api.list(&lp("tier in (even),app")).await.unwrap()).len(),
            4
        );
        assert_eq!(
            names(api.list(&lp("tier notin (even,odd)")).await.unwrap()),
            ["other"]
        );
        assert_eq!(names(api.list(&lp("!app")).await.unwrap()), ["other"]);
        let fp = ListParams::default().fields("metadata.name=c3");
        assert_eq!(names(api.list(&fp).await.unwrap()), ["c3"]);
        let fp = ListParams::default().fields("metadata.namespace=default,metadata.name!=c3");
        assert_eq!(names(api.list(&fp).await.unwrap()).len(), 7);

        let err = api_error(api.list(&lp("tier in (")).await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
        let err = api_error(
            api.list(&ListParams::default().fields("data.k=v"))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 400);

        // Pages of 3 with continue tokens; every page reports the first page's resourceVersion.
        let mut seen = Vec::new();
        let mut lp = ListParams::default().limit(3);
        let mut rvs = Vec::new();
        loop {
            let page = api.list(&lp).await.unwrap();
            rvs.push(page.metadata.resource_version.clone());
            let cont = page.metadata.continue_.clone();
            seen.extend(names(page));
            match cont {
                Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
                _ => break,
            }
        }
        assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "other"]);
        assert_eq!(rvs.len(), 3);
        assert!(rvs.windows(2).all(|w| w[0] == w[1]));
        let err = api_error(
            api.list(&ListParams::default().continue_token("zz"))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 400);

        // Listing across namespaces.
        let all: Api<ConfigMap> = Api::all(client);
        assert_eq!(
            all.list(&ListParams::default()).await.unwrap().items.len(),
            8
        );
    })
}

#[test]
fn services_get_cluster_ip_and_node_ports() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Service> = Api::namespaced(client, "default");
        let svc = Service {
            metadata: ObjectMeta {
                name: Some("lb".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                ports: Some(vec![ServicePort {
                    port: 80,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = api.create(&PostParams::default(), &svc).await.unwrap();
        let spec = created.spec.unwrap();
        assert!(spec.cluster_ip.unwrap().starts_with("10."));
        let np = spec.ports.unwrap()[0].node_port.unwrap();
        assert!((30000..=32767).contains(&np));
        assert!(
            created.metadata.generation.is_none(),
            "core Services have no generation upstream"
        );
    })
}

#[test]
fn store_handle_seeds_and_inspects() {
    test_runtime::run(async {
        let (server, client) = start().await;
        server
            .store()
            .create(
                "configmaps",
                Some("default"),
                json!({"metadata": {"name": "seeded"}, "data": {"a": "b"}}),
            )
            .unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let got = api.get("seeded").await.unwrap();
        assert_eq!(got.data.unwrap()["a"], "b");
        api.create(&PostParams::default(), &cm("via-api", &[]))
            .await
            .unwrap();
        let listed = server.store().list("configmaps", Some("default")).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(server.store().list("nope", None).is_err());
        server.shutdown().await;
    })
}
