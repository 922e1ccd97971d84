//! Framework metrics: what the controllers did, how long it took, how much work waits, how
//! long new Nodes wait for the cloud, and who leads.
//!
//! [`ControllerMetrics`] is a cheap, clonable handle: every clone updates the same series. Made
//! with [`ControllerMetrics::register`] the series appear on `/metrics` (see
//! [`crate::serving`]); made with `Default` they count all the same but are exported nowhere,
//! which is what tests and programs without a registry want. The names are documented in
//! `docs/observability.md`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How one reconcile ended; the `result` label of `cloud_provider_reconcile_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconcileOutcome {
    /// The object is as it should be.
    Success,
    /// The reconcile failed and will be retried with backoff.
    Error,
    /// The cloud asked to be asked again later (e.g. an operation still in progress, or rate
    /// limiting); not a failure.
    RetryAfter,
}

impl ReconcileOutcome {
    /// The label value: `success`, `error` or `retry_after`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::RetryAfter => "retry_after",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabel {
    name: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms doubling to about 65 s: a reconcile is one or a few API calls, a slow cloud operation
/// takes tens of seconds.
fn reconcile_duration_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 17)
}

fn reconcile_duration_histogram() -> Histogram {
    Histogram::new(reconcile_duration_buckets())
}

/// From 0.1 s (the Node was created with its instance already known) to 10 min (the cloud was
/// slow or the controller was failing): the upper buckets are what an alert watches.
const NODE_INITIALIZATION_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// The framework's metrics. Clones share their series.
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabel>,
    queue_depth: Family<ControllerLabel, Gauge>,
    node_initialization_delay: Histogram,
    leader: Family<LeaseLabel, Gauge>,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self {
            reconciles: Family::default(),
            reconcile_duration: Family::new_with_constructor(reconcile_duration_histogram),
            queue_depth: Family::default(),
            node_initialization_delay: Histogram::new(NODE_INITIALIZATION_BUCKETS),
            leader: Family::default(),
        }
    }
}

impl ControllerMetrics {
    /// Creates the metrics and registers them in `registry`. Register once per registry: a
    /// second registration would export every series twice.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        {
            let sub = registry.sub_registry_with_prefix("cloud_provider");
            sub.register(
                "reconcile",
                "Reconciles by controller and result (success, error, retry_after)",
                metrics.reconciles.clone(),
            );
            sub.register(
                "reconcile_duration_seconds",
                "Time one reconcile took, by controller",
                metrics.reconcile_duration.clone(),
            );
            sub.register(
                "queue_depth",
                "Objects waiting to be reconciled, by controller",
                metrics.queue_depth.clone(),
            );
            sub.register(
                "node_initialization_delay_seconds",
                "Time from a Node's creation to the removal of its uninitialized taint",
                metrics.node_initialization_delay.clone(),
            );
        }
        // client-go's name, so existing dashboards and alerts keep working.
        registry.register(
            "leader_election_master_status",
            "1 while this process holds the named lease, else 0",
            metrics.leader.clone(),
        );
        metrics
    }

    /// Counts one reconcile of `controller` (an upstream controller name such as
    /// `cloud-node-controller`) and records how long it took.
    pub fn observe_reconcile(
        &self,
        controller: &str,
        outcome: ReconcileOutcome,
        duration: Duration,
    ) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                controller: controller.to_owned(),
                result: outcome.as_str(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&ControllerLabel {
                controller: controller.to_owned(),
            })
            .observe(duration.as_secs_f64());
    }

    /// Sets how many objects wait for `controller`.
    pub fn set_queue_depth(&self, controller: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&ControllerLabel {
                controller: controller.to_owned(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Records the time from a Node's creation to the removal of its uninitialized taint.
    pub fn observe_node_initialization(&self, delay: Duration) {
        self.node_initialization_delay.observe(delay.as_secs_f64());
    }

    /// Sets whether this process holds the lease `lease_name`.
    pub fn set_leader(&self, lease_name: &str, leading: bool) {
        self.leader
            .get_or_create(&LeaseLabel {
                name: lease_name.to_owned(),
            })
            .set(i64::from(leading));
    }

    /// How many reconciles of `controller` ended with `outcome` so far; for tests and
    /// diagnostics (reads the same series the registry exports).
    pub fn reconcile_count(&self, controller: &str, outcome: ReconcileOutcome) -> u64 {
        self.reconciles
            .get(&ReconcileLabels {
                controller: controller.to_owned(),
                result: outcome.as_str(),
            })
            .map_or(0, |c| c.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    }

    #[test]
    fn outcome_label_values() {
        assert_eq!(ReconcileOutcome::Success.as_str(), "success");
        assert_eq!(ReconcileOutcome::Error.as_str(), "error");
        assert_eq!(ReconcileOutcome::RetryAfter.as_str(), "retry_after");
    }

    #[test]
    fn registered_metrics_are_exported_with_their_names_and_labels() {
        let mut registry = Registry::default();
        let metrics = ControllerMetrics::register(&mut registry);
        let clone = metrics.clone();
        metrics.observe_reconcile(
            "cloud-node-controller",
            ReconcileOutcome::Success,
            Duration::from_millis(3),
        );
        clone.observe_reconcile(
            "cloud-node-controller",
            ReconcileOutcome::Success,
            Duration::from_millis(5),
        );
        metrics.observe_reconcile(
            "service-lb-controller",
            ReconcileOutcome::RetryAfter,
            Duration::from_secs(2),
        );
        metrics.set_queue_depth("service-lb-controller", 7);
        metrics.observe_node_initialization(Duration::from_secs(4));
        metrics.set_leader("cloud-controller-manager", true);

        let text = encode(&registry);
        for line in [
            "# TYPE cloud_provider_reconcile counter",
            r#"cloud_provider_reconcile_total{controller="cloud-node-controller",result="success"} 2"#,
            r#"cloud_provider_reconcile_total{controller="service-lb-controller",result="retry_after"} 1"#,
            "# TYPE cloud_provider_reconcile_duration_seconds histogram",
            r#"cloud_provider_reconcile_duration_seconds_count{controller="cloud-node-controller"} 2"#,
            r#"cloud_provider_reconcile_duration_seconds_bucket{le="0.004",controller="cloud-node-controller"} 1"#,
            r#"cloud_provider_queue_depth{controller="service-lb-controller"} 7"#,
            "cloud_provider_node_initialization_delay_seconds_count 1",
            r#"cloud_provider_node_initialization_delay_seconds_bucket{le="5.0"} 1"#,
            r#"cloud_provider_node_initialization_delay_seconds_bucket{le="2.5"} 0"#,
            "# TYPE leader_election_master_status gauge",
            r#"leader_election_master_status{name="cloud-controller-manager"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }

        metrics.set_leader("cloud-controller-manager", false);
        assert!(
            encode(&registry)
                .contains(r#"leader_election_master_status{name="cloud-controller-manager"} 0"#)
        );
    }

    #[test]
    fn unregistered_metrics_still_count() {
        let metrics = ControllerMetrics::default();
        assert_eq!(
            metrics.reconcile_count("cloud-node-controller", ReconcileOutcome::Error),
            0
        );
        metrics.observe_reconcile(
            "cloud-node-controller",
            ReconcileOutcome::Error,
            Duration::ZERO,
        );
        metrics.clone().observe_reconcile(
            "cloud-node-controller",
            ReconcileOutcome::Error,
            Duration::ZERO,
        );
        assert_eq!(
            metrics.reconcile_count("cloud-node-controller", ReconcileOutcome::Error),
            2
        );
        assert_eq!(
            metrics.reconcile_count("cloud-node-controller", ReconcileOutcome::Success),
            0
        );
    }

    #[test]
    fn buckets_span_the_documented_ranges() {
        let reconcile: Vec<f64> = reconcile_duration_buckets().collect();
        assert_eq!(reconcile.first(), Some(&0.001));
        let last = *reconcile.last().unwrap();
        assert!((60.0..70.0).contains(&last), "{last}");
        assert_eq!(NODE_INITIALIZATION_BUCKETS.first(), Some(&0.1));
        assert_eq!(NODE_INITIALIZATION_BUCKETS.last(), Some(&600.0));
        assert!(NODE_INITIALIZATION_BUCKETS.is_sorted());
    }
}
