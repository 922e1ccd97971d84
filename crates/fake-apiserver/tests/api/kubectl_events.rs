//! One Event store, two APIs: what a controller publishes through `events.k8s.io/v1` is what
//! `kubectl get events` (core `v1`, Table) and `kubectl describe svc` (core `v1`, field selector
//! on `involvedObject`) show, and a watch on either API sees writes through the other.

use k8s_openapi::api::core::v1::{Event as CoreEvent, Service};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::support::{KUBECTL_TABLE_ACCEPT, open_watch, send, start};

async fn hello_with_events(client: &kube::Client) -> Service {
    let api: Api<Service> = Api::namespaced(client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "hello"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}))
    .unwrap();
    let svc = api.create(&PostParams::default(), &svc).await.unwrap();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "service-lb-controller".into(),
            instance: Some("cm-1".into()),
        },
    );
    let ensuring = Event {
        type_: EventType::Normal,
        reason: "EnsuringLoadBalancer".into(),
        note: Some("Ensuring load balancer".into()),
        action: "EnsureLoadBalancer".into(),
        secondary: None,
    };
    // Twice: the second publish patches the first into a series.
    for _ in 0..2 {
        recorder
            .publish(&ensuring, &svc.object_ref(&()))
            .await
            .unwrap();
    }
    let ensured = Event {
        reason: "EnsuredLoadBalancer".into(),
        note: Some("Ensured load balancer".into()),
        ..ensuring
    };
    recorder
        .publish(&ensured, &svc.object_ref(&()))
        .await
        .unwrap();
    svc
}

#[test]
fn core_v1_and_events_k8s_io_list_the_same_events() {
    test_runtime::run(async {
        let (server, client) = start().await;
        hello_with_events(&client).await;
        // One written through core/v1 too, as an older client would.
        let core_api: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
        let old: CoreEvent = serde_json::from_value(json!({
            "metadata": {"name": "hello.legacy"},
            "involvedObject": {"kind": "Service", "namespace": "default", "name": "hello"},
            "reason": "Legacy", "message": "from core/v1", "type": "Warning",
            "source": {"component": "old-controller"}, "count": 3,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z",
        }))
        .unwrap();
        core_api.create(&PostParams::default(), &old).await.unwrap();

        let lp = ListParams::default();
        let core = core_api.list(&lp).await.unwrap().items;
        let new = Api::<NewEvent>::namespaced(client.clone(), "default")
            .list(&lp)
            .await
            .unwrap()
            .items;
        let key = |name: String, reason: Option<String>, uid: Option<String>| (name, reason, uid);
        let mut a: Vec<_> = core
            .iter()
            .map(|e| key(e.name_any(), e.reason.clone(), e.uid()))
            .collect();
        let mut b: Vec<_> = new
            .iter()
            .map(|e| key(e.name_any(), e.reason.clone(), e.uid()))
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a.len(), 3);
        assert_eq!(a, b, "both APIs list the same objects");
        for (c, n) in core.iter().zip(&new) {
            assert_eq!(c.message, n.note, "note is message");
            assert_eq!(
                c.involved_object.name,
                n.regarding.as_ref().and_then(|r| r.name.clone())
            );
            assert_eq!(c.reporting_component, n.reporting_controller);
            assert_eq!(c.count, n.deprecated_count);
            assert_eq!(c.metadata.resource_version, n.metadata.resource_version);
        }
        let series = core
            .iter()
            .find(|e| e.reason.as_deref() == Some("EnsuringLoadBalancer"))
            .unwrap();
        assert_eq!(series.series.as_ref().and_then(|s| s.count), Some(2));
        assert_eq!(server.store().list("events", None).unwrap().len(), 3);
        assert_eq!(
            server
                .store()
                .list("events.events.k8s.io", None)
                .unwrap()
                .len(),
            3
        );
    })
}

#[test]
fn kubectl_get_events_and_describe_see_events_k8s_io_events() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let svc = hello_with_events(&client).await;
        // `kubectl get events -A`
        let a = send(
            &client,
            "GET",
            "/api/v1/events?limit=500",
            &[("accept", KUBECTL_TABLE_ACCEPT)],
            Vec::new(),
        )
        .await;
        assert_eq!(a.code, 200);
        let names: Vec<&str> = a.body["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Last Seen", "Type", "Reason", "Object", "Message"]);
        let rows = a.body["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let ensuring = rows
            .iter()
            .map(|r| r["cells"].as_array().unwrap())
            .find(|c| c[2] == "EnsuringLoadBalancer")
            .unwrap();
        assert_eq!(
            [
                &ensuring[1],
                &ensuring[3],
                &ensuring[5],
                &ensuring[6],
                &ensuring[8]
            ],
            [
                &json!("Normal"),
                &json!("service/hello"),
                &json!("service-lb-controller, cm-1"),
                &json!("Ensuring load balancer"),
                &json!(2),
            ]
        );
        // `kubectl describe svc hello`: core/v1, selected by involvedObject.
        let uid = svc.uid().unwrap();
        let a = send(
            &client,
            "GET",
            &format!("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dhello%2CinvolvedObject.namespace%3Ddefault%2CinvolvedObject.kind%3DService%2CinvolvedObject.uid%3D{uid}&limit=500"),
            &[("accept", "application/vnd.kubernetes.protobuf,application/json")],
            Vec::new(),
        )
        .await;
        assert_eq!((a.code, &a.body["kind"]), (200, &json!("EventList")));
        let items = a.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|e| e["apiVersion"] == "v1"
            && e["reportingComponent"] == "service-lb-controller"
            && e["involvedObject"]["uid"] == uid.as_str()
            && e.get("note").is_none()));
        // events.k8s.io field selectors on the same objects.
        let a = send(
            &client,
            "GET",
            "/apis/events.k8s.io/v1/events?fieldSelector=regarding.name%3Dhello%2Creason%3DEnsuredLoadBalancer",
            &[("accept", "application/json")],
            Vec::new(),
        )
        .await;
        assert_eq!(a.body["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(a.body["items"][0]["note"], "Ensured load balancer");
    })
}

#[test]
fn a_watch_on_either_api_sees_writes_through_the_other() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let rv = server.store().resource_version();
        let mut core_watch = open_watch(
            &client,
            &format!("/api/v1/namespaces/default/events?resourceVersion={rv}&watch=true"),
            &[("accept", "application/json")],
        )
        .await;
        let mut new_watch = open_watch(
            &client,
            &format!("/apis/events.k8s.io/v1/events?resourceVersion={rv}&watch=true"),
            &[("accept", KUBECTL_TABLE_ACCEPT)],
        )
        .await;
        let a = send(
            &client,
            "POST",
            "/apis/events.k8s.io/v1/namespaces/default/events",
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({
                "metadata": {"name": "n1"}, "eventTime": "2026-01-01T00:00:00.000000Z",
                "reportingController": "c", "reportingInstance": "i", "action": "A",
                "reason": "New", "note": "through events.k8s.io", "type": "Normal",
                "regarding": {"kind": "Node", "name": "worker-1"},
            }))
            .unwrap(),
        )
        .await;
        assert_eq!(a.code, 201, "{}", a.body);
        assert_eq!(a.body["apiVersion"], "events.k8s.io/v1");
        let ev = core_watch.next().await;
        assert_eq!(
            (&ev["type"], &ev["object"]["apiVersion"]),
            (&json!("ADDED"), &json!("v1"))
        );
        assert_eq!(ev["object"]["message"], "through events.k8s.io");
        let ev = new_watch.next().await;
        assert_eq!(ev["object"]["kind"], "Table");
        assert_eq!(ev["object"]["rows"][0]["cells"][3], "node/worker-1");

        server
            .store()
            .create(
                "events",
                Some("default"),
                json!({"metadata": {"name": "o1"}, "reason": "Old", "message": "through core",
                       "involvedObject": {"kind": "Service", "name": "hello"}}),
            )
            .unwrap();
        let ev = new_watch.next().await;
        assert_eq!(ev["object"]["rows"][0]["cells"][6], "through core");
        let ev = core_watch.next().await;
        assert_eq!(ev["object"]["reason"], "Old");
        // Not found is named as each API names it.
        let a = send(
            &client,
            "GET",
            "/apis/events.k8s.io/v1/namespaces/default/events/nope",
            &[],
            Vec::new(),
        )
        .await;
        assert_eq!(a.body["message"], "events.events.k8s.io \"nope\" not found");
    })
}
