//! Paging, retries, errors, secrets and metrics, at the HTTP level.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sacloud::{Client, Error, Filter, Id, RequestEvent, RequestObserver, RetryPolicy};
use serde_json::json;
use support::{MockApi, Recorded, Reply, SECRET};

/// Serves `total` servers tagged `@k8s` among `total * 2` servers, honouring From/Count but
/// never returning more than `cap` per page (as a real API with a lower maximum would).
fn paged_servers(total: u64, cap: u64) -> impl Fn(&Recorded, usize) -> Reply {
    move |r, _| {
        let q = r.query_json();
        assert_eq!(q["Filter"]["Tags.Name"], json!([["@k8s"]]));
        let from = q["From"].as_u64().unwrap();
        let count = q["Count"].as_u64().unwrap().min(cap);
        let items: Vec<_> = (from..(from + count).min(total))
            .map(|i| json!({"ID": 100000000000u64 + i, "Name": format!("node-{i}"), "Tags": ["@k8s"]}))
            .collect();
        Reply::json(
            200,
            json!({"Total": total, "From": from, "Count": items.len(), "Servers": items, "is_ok": true}),
        )
    }
}

#[test]
fn listing_returns_all_250_across_pages() {
    test_runtime::run(async {
        let api = MockApi::start(paged_servers(250, u64::MAX)).await;
        let mut config = api.config();
        config.page_size = 100;
        let servers = Client::new(config)
            .unwrap()
            .find_servers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(servers.len(), 250);
        let mut ids: Vec<u64> = servers.iter().map(|s| s.id.0).collect();
        ids.dedup();
        assert_eq!(ids.len(), 250);
        let froms: Vec<u64> = api
            .requests()
            .iter()
            .map(|r| r.query_json()["From"].as_u64().unwrap())
            .collect();
        assert_eq!(froms, [0, 100, 200]);
    })
}

#[test]
fn listing_with_default_page_size_is_one_request() {
    test_runtime::run(async {
        let api = MockApi::start(paged_servers(250, u64::MAX)).await;
        let servers = api
            .client()
            .find_servers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(servers.len(), 250);
        assert_eq!(api.requests().len(), 1);
    })
}

#[test]
fn listing_survives_a_server_that_caps_page_size() {
    test_runtime::run(async {
        let api = MockApi::start(paged_servers(250, 40)).await;
        let servers = api
            .client()
            .find_servers(&Filter::new().tags_all(["@k8s"]))
            .await
            .unwrap();
        assert_eq!(servers.len(), 250);
        assert_eq!(api.requests().len(), 7, "ceil(250 / 40) pages");
    })
}

fn fail_then_succeed(
    failures: usize,
    failure: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded, usize) -> Reply {
    move |_, i| {
        if i < failures {
            failure()
        } else {
            Reply::json(200, json!({"Server": {"ID": 1}, "is_ok": true}))
        }
    }
}

#[test]
fn retries_503_and_423_then_succeeds() {
    test_runtime::run(async {
        for status in [503, 423] {
            let api = MockApi::start(fail_then_succeed(2, move || {
                Reply::error(status, "busy", "try again")
            }))
            .await;
            api.client().read_server(Id(1)).await.unwrap();
            assert_eq!(api.requests().len(), 3, "status {status}");
        }
    })
}

#[test]
fn honours_retry_after_on_429() {
    test_runtime::run(async {
        let api = MockApi::start(fail_then_succeed(1, || {
            Reply::error(429, "too_many_requests", "slow down").with_header("Retry-After", "1")
        }))
        .await;
        let mut config = api.config();
        config.retry.max_wait = Duration::from_secs(5);
        let started = Instant::now();
        Client::new(config)
            .unwrap()
            .read_server(Id(1))
            .await
            .unwrap();
        assert_eq!(api.requests().len(), 2);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    })
}

#[test]
fn retry_after_is_reported_on_the_error() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| {
            Reply::error(429, "too_many_requests", "slow down").with_header("Retry-After", "7")
        })
        .await;
        let mut config = api.config();
        config.retry.max_retries = 0;
        let err = Client::new(config)
            .unwrap()
            .read_server(Id(1))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(429));
        assert!(err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    })
}

#[test]
fn gives_up_after_max_retries() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| Reply::error(503, "service_unavailable", "down")).await;
        let err = api.client().read_server(Id(1)).await.unwrap_err();
        assert_eq!(err.status(), Some(503));
        assert_eq!(api.requests().len(), 4, "1 attempt + 3 retries");
    })
}

#[test]
fn does_not_retry_400_or_404() {
    test_runtime::run(async {
        for (status, code) in [(400, "bad_request"), (404, "not_found")] {
            let api = MockApi::start(move |_, _| Reply::error(status, code, "no")).await;
            let err = api.client().read_server(Id(1)).await.unwrap_err();
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.error_code(), Some(code));
            assert_eq!(api.requests().len(), 1, "status {status}");
            assert_eq!(err.is_not_found(), status == 404);
        }
    })
}

#[test]
fn never_retries_a_create() {
    test_runtime::run(async {
        for status in [503, 423, 429] {
            let api = MockApi::start(move |_, _| Reply::error(status, "busy", "busy")).await;
            let create = sacloud::LoadBalancerCreate {
                name: "a".into(),
                description: String::new(),
                tags: vec![],
                plan_id: 1,
                switch_id: Id(1),
                vrid: 1,
                network_mask_len: 28,
                default_route: None,
                ip_addresses: vec![],
                settings: Default::default(),
            };
            let err = api
                .client()
                .create_load_balancer(&create)
                .await
                .unwrap_err();
            assert_eq!(err.status(), Some(status));
            assert_eq!(
                api.requests().len(),
                1,
                "POST must not be repeated on {status}"
            );
        }
    })
}

#[test]
fn still_creating_is_recognised_and_not_retried() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| {
            Reply::error(409, "still_creating", "appliance is still creating")
        })
        .await;
        let err = api.client().boot_load_balancer(Id(5)).await.unwrap_err();
        assert!(err.is_still_creating());
        assert_eq!(api.requests().len(), 1);
    })
}

#[test]
fn connection_errors_are_retried_for_gets_and_never_not_found() {
    test_runtime::run(async {
        // A port with nothing listening: bind, learn the port, close.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mut config = sacloud::Config::new(support::TOKEN, SECRET, sacloud::Zone::Is1a);
        config.api_root_url = format!("http://{addr}");
        config.rate_limit.per_second = 0.0;
        config.retry = RetryPolicy {
            max_retries: 2,
            min_wait: Duration::from_millis(1),
            max_wait: Duration::from_millis(2),
        };
        let events = Arc::new(Recorder::default());
        let client = Client::with_observer(config, events.clone()).unwrap();
        let err = client.read_server(Id(1)).await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(err.is_retryable());
        assert!(!err.is_not_found());
        assert_eq!(events.0.lock().unwrap().len(), 3, "1 attempt + 2 retries");
        assert!(!err.to_string().contains(SECRET));
    })
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    test_runtime::run(async {
        let api =
            MockApi::start(|_, _| Reply::error(401, "unauthorized", "invalid credentials")).await;
        let client = api.client();
        let err = client.auth_status().await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        for text in [
            err.to_string(),
            format!("{err:?}"),
            format!("{client:?}"),
            format!("{:?}", client.config()),
        ] {
            assert!(!text.contains(SECRET), "secret leaked: {text}");
            assert!(!text.contains(support::TOKEN), "token leaked: {text}");
        }
    })
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String, &'static str, u32)>>);

impl RequestObserver for Recorder {
    fn on_request(&self, e: &RequestEvent<'_>) {
        self.0.lock().unwrap().push((
            e.method.to_owned(),
            e.resource.to_owned(),
            e.status_class(),
            e.retry,
        ));
    }
}

#[test]
fn observer_sees_every_attempt_with_templated_resource() {
    test_runtime::run(async {
        let api = MockApi::start(fail_then_succeed(1, || Reply::error(503, "busy", "busy"))).await;
        let events = Arc::new(Recorder::default());
        let client = Client::with_observer(api.config(), events.clone()).unwrap();
        client.read_server(Id(123456789012)).await.unwrap();
        let seen = events.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                ("GET".to_owned(), "server".to_owned(), "5xx", 0),
                ("GET".to_owned(), "server".to_owned(), "2xx", 1),
            ]
        );
    })
}

#[test]
fn clones_share_the_rate_limiter() {
    test_runtime::run(async {
        let api = MockApi::start(|_, _| Reply::json(200, json!({"Server": {"ID": 1}}))).await;
        let mut config = api.config();
        config.rate_limit = sacloud::RateLimit {
            per_second: 20.0,
            burst: 1,
        };
        let client = Client::new(config).unwrap();
        let started = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.read_server(Id(1)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // 1 immediately, then 4 more at 20/s: at least 200 ms however the clones interleave.
        assert!(
            started.elapsed() >= Duration::from_millis(195),
            "{:?}",
            started.elapsed()
        );
    })
}
