//! The request record (`RunningFakeApiServer::requests`): RBAC verbs, groups, subresources and
//! namespaces of what a kube-rs client really sends.

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use fake_apiserver::RecordedRequest;

use crate::support::start;

fn req(
    verb: &str,
    group: &str,
    resource: &str,
    sub: Option<&str>,
    ns: Option<&str>,
) -> RecordedRequest {
    RecordedRequest {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: resource.to_owned(),
        subresource: sub.map(str::to_owned),
        namespace: ns.map(str::to_owned),
    }
}

#[test]
fn every_verb_is_recorded_once_in_rbac_terms() {
    test_runtime::run(async {
        let (server, client) = start().await;
        // Seeding through the store bypasses HTTP: not a request.
        server
            .store()
            .create("nodes", None, json!({"metadata": {"name": "n1"}}))
            .unwrap();
        assert!(server.requests().is_empty());

        let nodes: Api<Node> = Api::all(client.clone());
        nodes.get("n1").await.unwrap();
        nodes.get("n1").await.unwrap();
        assert!(nodes.get_opt("missing").await.unwrap().is_none());
        nodes.list(&ListParams::default()).await.unwrap();
        nodes
            .patch_status(
                "n1",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Running"}})),
            )
            .await
            .unwrap();
        let mut watch = std::pin::pin!(watcher(nodes.clone(), watcher::Config::default()));
        // The first events come from the initial list; the watch request follows it and
        // delivers the next change.
        while let Some(event) = watch.next().await {
            if matches!(event.unwrap(), watcher::Event::InitDone) {
                break;
            }
        }
        server
            .store()
            .create("nodes", None, json!({"metadata": {"name": "n2"}}))
            .unwrap();
        let event = watch.next().await.unwrap().unwrap();
        assert!(matches!(event, watcher::Event::Apply(_)), "{event:?}");

        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
        let lease: Lease =
            serde_json::from_value(json!({"metadata": {"name": "l"}, "spec": {}})).unwrap();
        leases.create(&PostParams::default(), &lease).await.unwrap();
        let read = leases.get("l").await.unwrap();
        leases
            .replace("l", &PostParams::default(), &read)
            .await
            .unwrap();
        leases.delete("l", &DeleteParams::default()).await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client, "default");
        cms.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
            .unwrap();

        let coord = "coordination.k8s.io";
        let want = vec![
            req("get", "", "nodes", None, None),
            req("list", "", "nodes", None, None),
            req("patch", "", "nodes", Some("status"), None),
            req("watch", "", "nodes", None, None),
            req("create", coord, "leases", None, Some("kube-system")),
            req("get", coord, "leases", None, Some("kube-system")),
            req("update", coord, "leases", None, Some("kube-system")),
            req("delete", coord, "leases", None, Some("kube-system")),
            req("deletecollection", "", "configmaps", None, Some("default")),
        ];
        let got = server.requests();
        assert_eq!(got, want);
        assert_eq!(got[2].rbac_resource(), "nodes/status");

        server.clear_requests();
        assert!(server.requests().is_empty());
    })
}
