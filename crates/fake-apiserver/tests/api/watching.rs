//! Watch semantics: resume, expiry, bookmarks, timeouts, selectors, and kube-runtime's watcher.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;

use fake_apiserver::Config;

use crate::support::{eventually, start, start_with};

fn cm(name: &str, label: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"l": label}}})).unwrap()
}

async fn next_event<S>(s: &mut S) -> WatchEvent<ConfigMap>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(5), s.try_next())
        .await
        .expect("event within 5s")
        .expect("no stream error")
        .expect("stream not ended")
}

fn describe(ev: &WatchEvent<ConfigMap>) -> String {
    match ev {
        WatchEvent::Added(o) => format!("ADDED {}", o.name_any()),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.name_any()),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.name_any()),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[test]
fn watch_resumes_from_resource_version_without_gaps_or_duplicates() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        for i in 0..5 {
            api.create(&PostParams::default(), &cm(&format!("a{i}"), "x"))
                .await
                .unwrap();
        }
        let checkpoint = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        api.create(&PostParams::default(), &cm("b0", "x"))
            .await
            .unwrap();
        api.patch(
            "a1",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "v"}})),
        )
        .await
        .unwrap();
        api.delete("a2", &DeleteParams::default()).await.unwrap();

        // First watch from the checkpoint sees exactly the three later changes, in order.
        let mut s = api
            .watch(&WatchParams::default().timeout(10), &checkpoint)
            .await
            .unwrap()
            .boxed();
        let mut got = Vec::new();
        let mut last_rv = checkpoint.clone();
        for _ in 0..3 {
            let ev = next_event(&mut s).await;
            if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = &ev {
                last_rv = o.resource_version().unwrap();
            }
            got.push(describe(&ev));
        }
        assert_eq!(got, ["ADDED b0", "MODIFIED a1", "DELETED a2"]);
        drop(s);

        // Changes made while nobody watches are replayed when resuming from the last seen RV.
        api.create(&PostParams::default(), &cm("c0", "x"))
            .await
            .unwrap();
        let mut s = api
            .watch(&WatchParams::default().timeout(10), &last_rv)
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &cm("c1", "x"))
            .await
            .unwrap();
        assert_eq!(describe(&next_event(&mut s).await), "ADDED c0");
        assert_eq!(describe(&next_event(&mut s).await), "ADDED c1");
    })
}

#[test]
fn watch_from_zero_sends_current_objects_first() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        api.create(&PostParams::default(), &cm("x", "a"))
            .await
            .unwrap();
        let mut s = api
            .watch(&WatchParams::default().timeout(10), "0")
            .await
            .unwrap()
            .boxed();
        assert_eq!(describe(&next_event(&mut s).await), "ADDED x");
        api.create(&PostParams::default(), &cm("y", "a"))
            .await
            .unwrap();
        assert_eq!(describe(&next_event(&mut s).await), "ADDED y");
    })
}

#[test]
fn too_old_resource_version_is_410_expired_then_relist_recovers() {
    test_runtime::run(async {
        let config = Config {
            history_limit: 5,
            ..Config::default()
        };
        let (_server, client) = start_with(config).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let first = api
            .create(&PostParams::default(), &cm("old", "a"))
            .await
            .unwrap();
        for i in 0..10 {
            api.create(&PostParams::default(), &cm(&format!("n{i}"), "a"))
                .await
                .unwrap();
        }
        let mut s = api
            .watch(
                &WatchParams::default().timeout(10),
                &first.resource_version().unwrap(),
            )
            .await
            .unwrap()
            .boxed();
        match next_event(&mut s).await {
            WatchEvent::Error(e) => {
                assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
                assert!(
                    e.message.starts_with("too old resource version"),
                    "{}",
                    e.message
                );
            }
            other => panic!("expected 410, got {other:?}"),
        }
        assert!(
            s.try_next().await.unwrap().is_none(),
            "stream ends after the error"
        );

        // Re-list, then watch from the list's RV.
        let list = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 11);
        let mut s = api
            .watch(
                &WatchParams::default().timeout(10),
                &list.metadata.resource_version.unwrap(),
            )
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &cm("after", "a"))
            .await
            .unwrap();
        assert_eq!(describe(&next_event(&mut s).await), "ADDED after");
    })
}

#[test]
fn bookmarks_and_timeout() {
    test_runtime::run(async {
        let config = Config {
            bookmark_interval: Duration::from_millis(200),
            ..Config::default()
        };
        let (_server, client) = start_with(config).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let c = api
            .create(&PostParams::default(), &cm("b", "a"))
            .await
            .unwrap();
        let rv = c.resource_version().unwrap();
        let mut s = api
            .watch(&WatchParams::default().timeout(2), &rv)
            .await
            .unwrap()
            .boxed();
        match next_event(&mut s).await {
            WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
            other => panic!("expected a bookmark, got {other:?}"),
        }
        // timeoutSeconds=2 ends the stream.
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(ev) = s.try_next().await.unwrap() {
                assert!(matches!(ev, WatchEvent::Bookmark(_)));
            }
        })
        .await;
        assert!(ended.is_ok(), "stream ended by timeoutSeconds");

        // Without allowWatchBookmarks no bookmark is sent.
        let mut s = api
            .watch(&WatchParams::default().disable_bookmarks().timeout(1), &rv)
            .await
            .unwrap()
            .boxed();
        let first = tokio::time::timeout(Duration::from_secs(5), s.try_next())
            .await
            .unwrap()
            .unwrap();
        assert!(
            first.is_none(),
            "no events, no bookmarks, stream ended: {first:?}"
        );
    })
}

#[test]
fn selector_watch_turns_leaving_into_deleted() {
    test_runtime::run(async {
        let (_server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let c = api
            .create(&PostParams::default(), &cm("s", "in"))
            .await
            .unwrap();
        let mut s = api
            .watch(
                &WatchParams::default().labels("l=in").timeout(10),
                &c.resource_version().unwrap(),
            )
            .await
            .unwrap()
            .boxed();
        api.create(&PostParams::default(), &cm("other", "out"))
            .await
            .unwrap();
        api.patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"l": "out"}}})),
        )
        .await
        .unwrap();
        api.patch(
            "other",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"l": "in"}}})),
        )
        .await
        .unwrap();
        assert_eq!(describe(&next_event(&mut s).await), "DELETED s");
        assert_eq!(describe(&next_event(&mut s).await), "ADDED other");
    })
}

#[test]
fn runtime_watcher_and_reflector_follow_changes() {
    test_runtime::run(async {
        let (server, client) = start().await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let (reader, writer) = reflector::store();
        let stream = reflector(
            writer,
            watcher(api.clone(), watcher::Config::default().timeout(2)),
        )
        .applied_objects()
        .boxed();
        let task = tokio::spawn(stream.for_each(|_| async {}));
        reader.wait_until_ready().await.unwrap();
        for i in 0..20 {
            api.create(&PostParams::default(), &cm(&format!("r{i}"), "a"))
                .await
                .unwrap();
        }
        for i in 0..10 {
            api.delete(&format!("r{i}"), &DeleteParams::default())
                .await
                .unwrap();
        }
        api.create(&PostParams::default(), &cm("late", "a"))
            .await
            .unwrap();
        eventually(
            "reflector matches the server",
            Duration::from_secs(10),
            || {
                let mut want: Vec<(String, String)> = server
                    .store()
                    .list("configmaps", Some("default"))
                    .unwrap()
                    .iter()
                    .map(|o| {
                        (
                            o["metadata"]["name"].as_str().unwrap().to_string(),
                            o["metadata"]["resourceVersion"]
                                .as_str()
                                .unwrap()
                                .to_string(),
                        )
                    })
                    .collect();
                want.sort();
                let mut have: Vec<(String, String)> = reader
                    .state()
                    .iter()
                    .map(|o| (o.name_any(), o.resource_version().unwrap()))
                    .collect();
                have.sort();
                async move { (want == have).then_some(()) }
            },
        )
        .await;
        task.abort();
    })
}
