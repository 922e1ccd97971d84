//! Status separation, patches, finalizers, no-op writes, generation.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Service};
use kube::ResourceExt;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use serde_json::json;

use fake_apiserver::{Config, ResourceDef, StatusOnCreate};

use crate::support::{api_error, eventually, start, start_with};

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}},
    }))
    .unwrap()
}

#[test]
fn status_subresource_is_kept_apart() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Service> = Api::namespaced(client, "default");
        let created = api
            .create(&PostParams::default(), &service("s"))
            .await
            .unwrap();
        // Status on create is dropped for services.
        assert!(
            created
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .is_none()
        );

        // A status write ignores spec and metadata changes.
        let mut st = created.clone();
        st.status = Some(
            serde_json::from_value(json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}))
                .unwrap(),
        );
        st.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
        st.metadata.labels = Some([("x".to_string(), "y".to_string())].into());
        let after_status = api
            .replace_status("s", &PostParams::default(), &st)
            .await
            .unwrap();
        assert_eq!(
            after_status.spec.as_ref().unwrap().type_.as_deref(),
            Some("LoadBalancer")
        );
        assert!(after_status.metadata.labels.is_none());
        assert_eq!(
            after_status
                .status
                .as_ref()
                .unwrap()
                .load_balancer
                .as_ref()
                .unwrap()
                .ingress
                .as_ref()
                .unwrap()[0]
                .ip
                .as_deref(),
            Some("1.2.3.4")
        );

        // A main-resource write ignores status.
        let mut main = after_status.clone();
        main.status = None;
        main.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        let after_main = api
            .replace("s", &PostParams::default(), &main)
            .await
            .unwrap();
        assert_eq!(after_main.status, after_status.status);
        assert_eq!(after_main.labels()["a"], "b");

        // A status patch cannot touch spec either.
        let patched = api
        .patch_status("s", &PatchParams::default(), &Patch::Merge(json!({"spec": {"type": "NodePort"}, "status": {"loadBalancer": {"ingress": null}}})))
        .await
        .unwrap();
        assert_eq!(patched.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));
        assert!(
            patched
                .status
                .unwrap()
                .load_balancer
                .unwrap()
                .ingress
                .is_none()
        );
    })
}

#[test]
fn noop_writes_bump_nothing_and_emit_no_event() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let created = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "n", "labels": {"a": "b"}}}))
                    .unwrap(),
            )
            .await
            .unwrap();
        let rv = created.resource_version().unwrap();
        let stream = api
            .watch(&WatchParams::default().timeout(10), &rv)
            .await
            .unwrap();
        let mut stream = stream.boxed();

        let same = api
            .patch(
                "n",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
            )
            .await
            .unwrap();
        assert_eq!(same.resource_version().unwrap(), rv);
        let same = api
            .replace("n", &PostParams::default(), &created)
            .await
            .unwrap();
        assert_eq!(same.resource_version().unwrap(), rv);
        let same = api
            .patch_status(
                "n",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": null})),
            )
            .await;
        // ConfigMaps have no status subresource.
        assert_eq!(api_error(same.unwrap_err()).code, 404);

        let changed = api
            .patch(
                "n",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"a": "c"}}})),
            )
            .await
            .unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match first {
            WatchEvent::Modified(cm) => {
                assert_eq!(cm.resource_version(), changed.resource_version())
            }
            other => panic!("expected the real change first, got {other:?}"),
        }
    })
}

#[test]
fn strategic_merge_patch_on_nodes() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Node> = Api::all(client);
        let node: Node = serde_json::from_value(json!({
        "metadata": {"name": "n1", "finalizers": ["a"]},
        "spec": {"taints": [
            {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true", "effect": "NoSchedule"},
            {"key": "other", "effect": "NoExecute"}
        ]},
        "status": {
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
            "conditions": [{"type": "Ready", "status": "False"}]
        }
    }))
    .unwrap();
        let created = api.create(&PostParams::default(), &node).await.unwrap();
        // Nodes keep status on create (the kubelet registers with it).
        assert_eq!(
            created
                .status
                .as_ref()
                .unwrap()
                .addresses
                .as_ref()
                .unwrap()
                .len(),
            2
        );

        let patched = api
        .patch_status(
            "n1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {
                "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}, {"type": "InternalIP", "$patch": "delete"}],
                "conditions": [{"type": "NetworkUnavailable", "status": "False"}]
            }})),
        )
        .await
        .unwrap();
        let st = patched.status.unwrap();
        let addrs: Vec<(String, String)> = st
            .addresses
            .unwrap()
            .into_iter()
            .map(|a| (a.type_, a.address))
            .collect();
        assert_eq!(
            addrs,
            [
                ("Hostname".to_string(), "n1".to_string()),
                ("ExternalIP".to_string(), "1.2.3.4".to_string())
            ]
        );
        assert_eq!(st.conditions.unwrap().len(), 2);

        // Taints are atomic upstream: the patch list replaces the old one.
        let patched = api
        .patch(
            "n1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"finalizers": ["b"]}, "spec": {"taints": [{"key": "other", "effect": "NoExecute"}]}})),
        )
        .await
        .unwrap();
        assert_eq!(patched.spec.unwrap().taints.unwrap().len(), 1);
        assert_eq!(patched.metadata.finalizers.unwrap(), ["a", "b"]);
    })
}

#[test]
fn json_patch_semantics_and_errors() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "j"}})).unwrap(),
        )
        .await
        .unwrap();
        let ops = |v: serde_json::Value| Patch::<()>::Json(serde_json::from_value(v).unwrap());
        // `test` of a missing path compares against null.
        let p = api
            .patch(
                "j",
                &PatchParams::default(),
                &ops(json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": null},
                    {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
                ])),
            )
            .await
            .unwrap();
        assert_eq!(p.finalizers(), ["f"]);
        let err = api_error(
            api.patch(
                "j",
                &PatchParams::default(),
                &ops(json!([{"op": "test", "path": "/metadata/finalizers", "value": null}])),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        // A patch carrying a stale resourceVersion is a conflict.
        let err = api_error(
            api.patch(
                "j",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "data": {"a": "b"}})),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(err.code, 409);
        // Patching a missing object is NotFound.
        assert_eq!(
            api_error(
                api.patch("ghost", &PatchParams::default(), &Patch::Merge(json!({})))
                    .await
                    .unwrap_err()
            )
            .code,
            404
        );
        // Server-side apply is refused with 415.
        let err = api_error(
            api.patch(
                "j",
                &PatchParams::apply("test"),
                &Patch::Apply(
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}),
                ),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(
            (err.code, err.reason.as_str()),
            (415, "UnsupportedMediaType")
        );
        assert!(err.message.contains("server-side apply"));
    })
}

#[test]
fn finalizer_guarded_deletion() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let created = api
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"metadata": {"name": "f", "finalizers": ["example.com/x"]}}),
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let rv = created.resource_version().unwrap();
        let mut events = api
            .watch(&WatchParams::default().timeout(10), &rv)
            .await
            .unwrap()
            .boxed();

        let res = api.delete("f", &DeleteParams::default()).await.unwrap();
        let marked = res.left().expect("object returned while finalizers remain");
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert!(
            api.get("f")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        );
        // Deleting again changes nothing.
        let again = api
            .delete("f", &DeleteParams::default())
            .await
            .unwrap()
            .left()
            .unwrap();
        assert_eq!(again.resource_version(), marked.resource_version());
        // No new finalizers while deleting.
        let err = api_error(
            api.patch(
                "f",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/x", "new"]}})),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(err.code, 422);

        let removed = api
            .patch(
                "f",
                &PatchParams::default(),
                &Patch::Json::<()>(
                    serde_json::from_value(json!([
                        {"op": "test", "path": "/metadata/finalizers/0", "value": "example.com/x"},
                        {"op": "remove", "path": "/metadata/finalizers/0"}
                    ]))
                    .unwrap(),
                ),
            )
            .await
            .unwrap();
        assert!(removed.finalizers().is_empty());
        assert_eq!(api_error(api.get("f").await.unwrap_err()).code, 404);

        let mut kinds = Vec::new();
        while kinds.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(5), events.try_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
            {
                WatchEvent::Modified(o) => {
                    kinds.push(("MODIFIED", o.metadata.deletion_timestamp.is_some()))
                }
                WatchEvent::Deleted(o) => {
                    kinds.push(("DELETED", o.metadata.deletion_timestamp.is_some()))
                }
                WatchEvent::Bookmark(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(kinds, [("MODIFIED", true), ("DELETED", true)]);
    })
}

#[test]
fn kube_runtime_finalizer_helper_works() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "h"}})).unwrap(),
        )
        .await
        .unwrap();
        let name = "example.com/cleanup";
        let run = |obj: ConfigMap| {
            let api = api.clone();
            async move {
                finalizer(&api, name, std::sync::Arc::new(obj), |ev| async move {
                    Ok::<_, std::convert::Infallible>(match ev {
                        FinalizerEvent::Apply(_) => Action::await_change(),
                        FinalizerEvent::Cleanup(_) => Action::await_change(),
                    })
                })
                .await
            }
        };
        // First call adds the finalizer (test of the missing path + add).
        run(api.get("h").await.unwrap()).await.unwrap();
        assert_eq!(api.get("h").await.unwrap().finalizers(), [name]);
        // Second call applies.
        run(api.get("h").await.unwrap()).await.unwrap();
        api.delete("h", &DeleteParams::default()).await.unwrap();
        // Cleanup removes the finalizer, which deletes the object.
        run(api.get("h").await.unwrap()).await.unwrap();
        eventually("object gone", Duration::from_secs(5), || {
            let api = api.clone();
            async move { api.get_opt("h").await.unwrap().is_none().then_some(()) }
        })
        .await;
    })
}

#[test]
fn generation_tracks_spec_changes_only() {
    test_runtime::run(async {
        let widgets = ResourceDef::new("example.com", "v1", "Widget", "widgets", true)
            .with_status(StatusOnCreate::Drop)
            .with_generation();
        let mut config = Config::default();
        config.resources.push(widgets);
        let (_server, client) = start_with(config).await;
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("example.com", "v1", "Widget"),
            "widgets",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
        let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}
    }))
    .unwrap();
        let w = api.create(&PostParams::default(), &obj).await.unwrap();
        assert_eq!(w.metadata.generation, Some(1));
        let pp = PatchParams::default();
        let w = api
            .patch(
                "w",
                &pp,
                &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
            )
            .await
            .unwrap();
        assert_eq!(w.metadata.generation, Some(1));
        let w = api
            .patch_status("w", &pp, &Patch::Merge(json!({"status": {"ready": true}})))
            .await
            .unwrap();
        assert_eq!(w.metadata.generation, Some(1));
        assert_eq!(w.data["status"]["ready"], true);
        let w = api
            .patch("w", &pp, &Patch::Merge(json!({"spec": {"size": 2}})))
            .await
            .unwrap();
        assert_eq!(w.metadata.generation, Some(2));
    })
}
