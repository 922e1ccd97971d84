//! Saving the objects and loading them into a new server: what `--state-file` does across a
//! restart.

use fake_apiserver::{Config, FakeApiServer};
use serde_json::json;

#[test]
fn a_loaded_server_has_the_objects_and_continues_their_resource_versions() {
    test_runtime::run(async {
        let first = FakeApiServer::start(Config::default()).await.unwrap();
        let store = first.store();
        let svc = store
            .create(
                "services",
                Some("default"),
                json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
            )
            .unwrap();
        store
            .create("nodes", None, json!({"metadata": {"name": "worker-1"}}))
            .unwrap();
        let saved = store.save();
        let rv = store.resource_version();
        first.shutdown().await;

        let second = FakeApiServer::start(Config::default()).await.unwrap();
        let store = second.store();
        store.load(&saved).unwrap();
        assert_eq!(store.resource_version(), rv);
        assert_eq!(store.oldest_watchable_resource_version(), rv);
        let again = store.get("services", Some("default"), "web").unwrap();
        assert_eq!(again, svc, "the object comes back unchanged");
        assert_eq!(store.list("nodes", None).unwrap().len(), 1);

        // New objects get newer resourceVersions and cluster IPs nobody has.
        let other = store
            .create(
                "services",
                Some("default"),
                json!({"metadata": {"name": "api"}, "spec": {"ports": [{"port": 80}]}}),
            )
            .unwrap();
        let rv_of = |o: &serde_json::Value| {
            o["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        assert!(rv_of(&other) > rv);
        assert_ne!(other["spec"]["clusterIP"], svc["spec"]["clusterIP"]);
    })
}

#[test]
fn loading_something_else_is_an_error_and_changes_nothing() {
    test_runtime::run(async {
        let server = FakeApiServer::start(Config::default()).await.unwrap();
        let store = server.store();
        let before = store.save();
        assert!(store.load(&json!({"objects": []})).is_err());
        assert!(
            store
                .load(&json!({"resourceVersion": 3, "objects": [{"resource": "widgets", "object": {}}]}))
                .is_err()
        );
        assert_eq!(store.save(), before);
    })
}
