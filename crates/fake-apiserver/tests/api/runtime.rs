//! kube-runtime end to end: Controller + finalizer + status + events::Recorder; discovery;
//! kubeconfig.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::support::{eventually, start};

const FINALIZER: &str = "example.com/lb";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(String);

struct Ctx {
    client: Client,
    recorder: Recorder,
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
    let reference = svc.object_ref(&());
    finalizer(&api, FINALIZER, svc.clone(), |ev| async {
        match ev {
            FinalizerEvent::Apply(svc) => {
                let name = svc.name_any();
                api.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(
                        json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}),
                    ),
                )
                .await
                .map_err(|e| ReconcileError(e.to_string()))?;
                ctx.recorder
                    .publish(
                        &Event {
                            type_: EventType::Normal,
                            reason: "EnsuredLoadBalancer".into(),
                            note: Some("ensured".into()),
                            action: "Ensure".into(),
                            secondary: None,
                        },
                        &reference,
                    )
                    .await
                    .map_err(|e| ReconcileError(e.to_string()))?;
                Ok::<Action, ReconcileError>(Action::await_change())
            }
            FinalizerEvent::Cleanup(_) => Ok::<Action, ReconcileError>(Action::await_change()),
        }
    })
    .await
    .map_err(|e| ReconcileError(e.to_string()))
}

#[test]
fn controller_with_finalizer_status_and_events() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Service> = Api::namespaced(client.clone(), "default");
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "test-ccm".into(),
                instance: None,
            },
        );
        let ctx = Arc::new(Ctx {
            client: client.clone(),
            recorder,
        });
        let controller = Controller::new(api.clone(), Default::default())
            .run(
                reconcile,
                |_, _, _| Action::requeue(Duration::from_secs(1)),
                ctx,
            )
            .for_each(|_| async {});
        let task = tokio::spawn(controller);

        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}
        }))
        .unwrap();
        api.create(&PostParams::default(), &svc).await.unwrap();
        eventually("status and finalizer set", Duration::from_secs(10), || {
            let api = api.clone();
            async move {
                let s = api.get("web").await.unwrap();
                let ip = s.status?.load_balancer?.ingress?.first()?.ip.clone()?;
                (ip == "192.0.2.1" && s.metadata.finalizers? == [FINALIZER]).then_some(())
            }
        })
        .await;
        let events: Api<K8sEvent> = Api::namespaced(client.clone(), "default");
        let evs = eventually("event recorded", Duration::from_secs(10), || {
            let events = events.clone();
            async move {
                let l = events.list(&ListParams::default()).await.unwrap().items;
                (!l.is_empty()).then_some(l)
            }
        })
        .await;
        assert_eq!(evs[0].reason.as_deref(), Some("EnsuredLoadBalancer"));
        assert_eq!(
            evs[0].regarding.as_ref().unwrap().name.as_deref(),
            Some("web")
        );

        api.delete("web", &DeleteParams::default()).await.unwrap();
        eventually(
            "service gone after cleanup",
            Duration::from_secs(10),
            || {
                let api = api.clone();
                async move { api.get_opt("web").await.unwrap().is_none().then_some(()) }
            },
        )
        .await;
        task.abort();
    })
}

#[test]
fn recorder_patches_repeated_events_into_a_series() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<Service> = Api::namespaced(client.clone(), "default");
        let svc: Service = serde_json::from_value(
            json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 1}]}}),
        )
        .unwrap();
        let svc = api.create(&PostParams::default(), &svc).await.unwrap();
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "c".into(),
                instance: None,
            },
        );
        let ev = Event {
            type_: EventType::Warning,
            reason: "Failed".into(),
            note: None,
            action: "Sync".into(),
            secondary: None,
        };
        recorder.publish(&ev, &svc.object_ref(&())).await.unwrap();
        recorder.publish(&ev, &svc.object_ref(&())).await.unwrap();
        let events: Api<K8sEvent> = Api::namespaced(client, "default");
        let list = events.list(&ListParams::default()).await.unwrap().items;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].series.as_ref().unwrap().count, 2);
    })
}

#[test]
fn discovery_and_version() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let v = client.apiserver_version().await.unwrap();
        assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "35"));
        let discovery = Discovery::new(client).run().await.unwrap();
        let mut found = Vec::new();
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                found.push(format!(
                    "{}/{}:{}",
                    ar.group,
                    ar.plural,
                    caps.scope == kube::discovery::Scope::Namespaced
                ));
            }
        }
        found.sort();
        for want in [
            "/nodes:false",
            "/services:true",
            "/namespaces:false",
            "/events:true",
            "/configmaps:true",
            "/endpoints:true",
            "coordination.k8s.io/leases:true",
            "discovery.k8s.io/endpointslices:true",
            "events.k8s.io/events:true",
        ] {
            assert!(
                found.iter().any(|f| f == want),
                "{want} missing from {found:?}"
            );
        }
    })
}

#[test]
fn kubeconfig_points_at_the_server() {
    test_runtime::run(async {
        let (server, _client) = start().await;
        let kc = Kubeconfig::from_yaml(&server.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        assert_eq!(config.default_namespace, "default");
        let client = Client::try_from(config).unwrap();
        let api: Api<Service> = Api::default_namespaced(client);
        assert!(
            api.list(&ListParams::default())
                .await
                .unwrap()
                .items
                .is_empty()
        );
    })
}
