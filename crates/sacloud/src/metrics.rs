//! Per-request observations, for metrics.
//!
//! The client reports every HTTP attempt (retries included) to an optional
//! [`RequestObserver`]. Programs plug in their metrics system; [`PrometheusMetrics`] does it for
//! a `prometheus-client` registry.

use std::time::Duration;

/// One HTTP attempt, as reported to a [`RequestObserver`].
#[derive(Debug, Clone, Copy)]
pub struct RequestEvent<'a> {
    /// HTTP method.
    pub method: &'static str,
    /// The resource path template, e.g. `appliance/{id}/power` (IDs replaced, so the label set
    /// stays small).
    pub resource: &'a str,
    /// HTTP status, or `None` when the request did not complete.
    pub status: Option<u16>,
    /// Time from sending the request to having read the whole response.
    pub latency: Duration,
    /// 0 for the first attempt, 1 for the first retry, and so on.
    pub retry: u32,
    /// How long this attempt waited for the client-side rate limiter before it was sent.
    pub rate_limit_wait: Duration,
}

impl RequestEvent<'_> {
    /// `2xx`, `3xx`, `4xx`, `5xx`, or `error` for requests without an answer.
    pub fn status_class(&self) -> &'static str {
        match self.status {
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(500..=599) => "5xx",
            Some(_) | None => "error",
        }
    }
}

/// Receives one call per HTTP attempt. Must be cheap and must not block: it runs on the request
/// path.
pub trait RequestObserver: Send + Sync + 'static {
    /// Called after each attempt completes or fails.
    fn on_request(&self, event: &RequestEvent<'_>);
}

pub use prometheus::PrometheusMetrics;

mod prometheus {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
    use prometheus_client::registry::Registry;

    use super::{RequestEvent, RequestObserver};

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct RequestLabels {
        method: &'static str,
        resource: String,
        status_class: &'static str,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct LatencyLabels {
        method: &'static str,
        resource: String,
    }

    /// SAKURA Cloud API metrics for a `prometheus-client` registry:
    ///
    /// - `sakuracloud_api_requests_total{method,resource,status_class}`: HTTP attempts;
    /// - `sakuracloud_api_request_duration_seconds{method,resource}`: latency histogram;
    /// - `sakuracloud_api_retries_total{method,resource}`: attempts that were retries;
    /// - `sakuracloud_api_rate_limit_wait_seconds_total`: time spent waiting for the client-side
    ///   rate limiter.
    #[derive(Debug)]
    pub struct PrometheusMetrics {
        requests: Family<RequestLabels, Counter>,
        latency: Family<LatencyLabels, Histogram>,
        retries: Family<LatencyLabels, Counter>,
        rate_limit_wait: Counter<f64, std::sync::atomic::AtomicU64>,
    }

    impl PrometheusMetrics {
        /// Creates the metrics and registers them (names prefixed `sakuracloud_api_`).
        pub fn register(registry: &mut Registry) -> std::sync::Arc<Self> {
            let metrics = Self {
                requests: Family::default(),
                latency: Family::new_with_constructor(|| {
                    Histogram::new(exponential_buckets(0.01, 2.0, 12))
                }),
                retries: Family::default(),
                rate_limit_wait: Counter::default(),
            };
            let sub = registry.sub_registry_with_prefix("sakuracloud_api");
            sub.register(
                "requests",
                "SAKURA Cloud API HTTP attempts by method, resource and status class",
                metrics.requests.clone(),
            );
            sub.register(
                "request_duration_seconds",
                "SAKURA Cloud API request latency",
                metrics.latency.clone(),
            );
            sub.register(
                "retries",
                "SAKURA Cloud API attempts that were retries",
                metrics.retries.clone(),
            );
            sub.register(
                "rate_limit_wait_seconds",
                "Time spent waiting for the client-side SAKURA Cloud API rate limiter",
                metrics.rate_limit_wait.clone(),
            );
            std::sync::Arc::new(metrics)
        }
    }

    impl RequestObserver for PrometheusMetrics {
        fn on_request(&self, event: &RequestEvent<'_>) {
            self.requests
                .get_or_create(&RequestLabels {
                    method: event.method,
                    resource: event.resource.to_owned(),
                    status_class: event.status_class(),
                })
                .inc();
            let labels = LatencyLabels {
                method: event.method,
                resource: event.resource.to_owned(),
            };
            self.latency
                .get_or_create(&labels)
                .observe(event.latency.as_secs_f64());
            if event.retry > 0 {
                self.retries.get_or_create(&labels).inc();
            }
            if !event.rate_limit_wait.is_zero() {
                self.rate_limit_wait
                    .inc_by(event.rate_limit_wait.as_secs_f64());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        let mut e = RequestEvent {
            method: "GET",
            resource: "server",
            status: Some(200),
            latency: Duration::ZERO,
            retry: 0,
            rate_limit_wait: Duration::ZERO,
        };
        assert_eq!(e.status_class(), "2xx");
        e.status = Some(404);
        assert_eq!(e.status_class(), "4xx");
        e.status = Some(503);
        assert_eq!(e.status_class(), "5xx");
        e.status = None;
        assert_eq!(e.status_class(), "error");
    }

    #[test]
    fn prometheus_exposition() {
        let mut registry = prometheus_client::registry::Registry::default();
        let m = PrometheusMetrics::register(&mut registry);
        m.on_request(&RequestEvent {
            method: "GET",
            resource: "server",
            status: Some(200),
            latency: Duration::from_millis(30),
            retry: 1,
            rate_limit_wait: Duration::from_millis(200),
        });
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(
                r#"sakuracloud_api_requests_total{method="GET",resource="server",status_class="2xx"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("sakuracloud_api_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains(r#"sakuracloud_api_retries_total{method="GET",resource="server"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("sakuracloud_api_rate_limit_wait_seconds_total 0.2"),
            "{text}"
        );
    }
}
