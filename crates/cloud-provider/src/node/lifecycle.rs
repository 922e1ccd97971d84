//! The node lifecycle controller: deletes Nodes whose instance is gone and marks Nodes whose
//! instance is shut down (upstream `nodelifecycle`).
//!
//! Every `--node-monitor-period` (5 s) it looks at every Node. Ready Nodes lose the shutdown
//! taint. For the others the provider is asked whether the instance exists: only a definitive
//! "no" deletes the Node (an error never does: a cloud outage or a revoked key must not empty the
//! cluster); an existing but stopped instance gets the shutdown taint.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Taint};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, ResourceExt};

use super::cache::NodeCache;
use super::patch::node_patch;
use crate::events::{EventPublisher, REASON_DELETING_NODE, REASON_DELETING_NODE_FAILED};
use crate::labels::TAINT_SHUTDOWN;
use crate::metrics::{ControllerMetrics, ReconcileOutcome};
use crate::provider::InstancesV2;

/// What the Node's `Ready` condition says: `Some(true)` for `True`, `Some(false)` for `False`
/// or `Unknown`, `None` when there is no such condition (treated as not ready, as upstream).
pub fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// Whether the Node carries the shutdown taint.
pub fn has_shutdown_taint(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == TAINT_SHUTDOWN))
}

/// The Node with the shutdown taint added (`add`) or removed, or `None` when nothing changes.
pub fn with_shutdown_taint(node: &Node, add: bool) -> Option<Node> {
    if has_shutdown_taint(node) == add {
        return None;
    }
    let mut out = node.clone();
    let taints = out
        .spec
        .get_or_insert_with(Default::default)
        .taints
        .get_or_insert_with(Vec::new);
    if add {
        taints.push(Taint {
            key: TAINT_SHUTDOWN.to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        });
    } else {
        taints.retain(|t| t.key != TAINT_SHUTDOWN);
    }
    Some(out)
}

/// What one monitoring pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MonitorReport {
    /// Nodes deleted because their instance is gone.
    pub deleted: Vec<String>,
    /// Nodes that got the shutdown taint.
    pub tainted: Vec<String>,
    /// Nodes that lost the shutdown taint.
    pub untainted: Vec<String>,
    /// Nodes skipped because the provider or the API failed.
    pub errors: Vec<String>,
}

/// The node lifecycle controller.
pub struct NodeLifecycleController {
    nodes: Api<Node>,
    instances: Arc<dyn InstancesV2>,
    events: EventPublisher,
    period: Duration,
    metrics: ControllerMetrics,
    /// The Nodes, possibly shared with the other controllers (pruned as they arrive).
    node_cache: Arc<NodeCache>,
    /// Whether this controller built `node_cache` and so runs it.
    owns_node_cache: bool,
}

/// The controller's name in events, logs and metrics (upstream's).
pub const CONTROLLER_NAME: &str = "cloud-node-lifecycle-controller";

impl NodeLifecycleController {
    /// A controller that checks Nodes every `period` (`--node-monitor-period`, default 5 s).
    pub fn new(client: Client, instances: Arc<dyn InstancesV2>, period: Duration) -> Self {
        Self {
            nodes: Api::all(client.clone()),
            node_cache: NodeCache::new(client.clone()),
            owns_node_cache: true,
            events: EventPublisher::new(client, CONTROLLER_NAME),
            instances,
            period,
            metrics: ControllerMetrics::default(),
        }
    }

    /// Reports each monitoring pass to `metrics`.
    pub fn with_metrics(mut self, metrics: ControllerMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads Nodes from `cache`, shared with other controllers, instead of its own; whoever
    /// built the cache runs it.
    pub fn with_node_cache(mut self, cache: Arc<NodeCache>) -> Self {
        self.node_cache = cache;
        self.owns_node_cache = false;
        self
    }

    /// Publishes Events through `client` (one with a rate limit of its own, `--event-qps`).
    pub fn with_event_client(mut self, client: Client) -> Self {
        self.events = EventPublisher::new(client, CONTROLLER_NAME);
        self
    }

    /// Runs until `shutdown` completes, checking the Nodes of the (watch-fed) Node cache every
    /// period.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let store = self.node_cache.store();
        let feed = async {
            if self.owns_node_cache {
                self.node_cache.clone().run(std::future::pending()).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let monitor = async {
            let mut tick = tokio::time::interval(self.period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            self.node_cache.wait_until_listed().await;
            loop {
                tick.tick().await;
                // The cached Nodes as they are: a pass copies none of them.
                let nodes = store.state();
                let started = std::time::Instant::now();
                let report = self.monitor(&nodes).await;
                let outcome = if report.errors.is_empty() {
                    ReconcileOutcome::Success
                } else {
                    ReconcileOutcome::Error
                };
                self.metrics
                    .observe_reconcile(CONTROLLER_NAME, outcome, started.elapsed());
            }
        };
        tokio::select! {
            _ = shutdown => {}
            _ = feed => {}
            _ = monitor => {}
        }
    }

    /// One monitoring pass over `nodes`.
    pub async fn monitor<N>(&self, nodes: &[N]) -> MonitorReport
    where
        N: std::borrow::Borrow<Node> + Sync,
    {
        let mut report = MonitorReport::default();
        for node in nodes {
            let node: &Node = node.borrow();
            let name = node.name_any();
            if is_ready(node) {
                if let Some(updated) = with_shutdown_taint(node, false) {
                    match self.write(node, &updated).await {
                        Ok(()) => report.untainted.push(name),
                        Err(()) => report.errors.push(name),
                    }
                }
                continue;
            }
            match self.instances.instance_exists(node).await {
                Err(error) => {
                    tracing::warn!(node = %name, %error, "cannot tell whether the instance exists; leaving the node alone");
                    report.errors.push(name);
                }
                Ok(false) => {
                    self.events
                        .normal(
                            node,
                            REASON_DELETING_NODE,
                            "DeleteNode",
                            format!("Deleting node {name} because it does not exist in the cloud provider"),
                        )
                        .await;
                    match self.nodes.delete(&name, &DeleteParams::default()).await {
                        Ok(_) => report.deleted.push(name),
                        Err(error) => {
                            self.events
                                .warning(
                                    node,
                                    REASON_DELETING_NODE_FAILED,
                                    "DeleteNode",
                                    format!("Failed to delete node {name}: {error}"),
                                )
                                .await;
                            report.errors.push(name);
                        }
                    }
                }
                Ok(true) => match self.instances.instance_shutdown(node).await {
                    Ok(true) => {
                        if let Some(updated) = with_shutdown_taint(node, true) {
                            match self.write(node, &updated).await {
                                Ok(()) => report.tainted.push(name),
                                Err(()) => report.errors.push(name),
                            }
                        }
                    }
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(node = %name, %error, "cannot tell whether the instance is shut down");
                        report.errors.push(name);
                    }
                },
            }
        }
        report
    }

    /// Writes the taints of `updated` over those of `read`, pinned to the read
    /// `resourceVersion`; a conflict is left for the next pass, which sees the newer Node.
    async fn write(&self, read: &Node, updated: &Node) -> Result<(), ()> {
        let Some(patch) = node_patch(read, updated) else {
            return Ok(());
        };
        self.nodes
            .patch(
                &read.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .map(|_| ())
            .map_err(|error| {
                tracing::warn!(node = %read.name_any(), %error, "could not update node taints");
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node(ready: Option<&str>, shutdown_taint: bool) -> Node {
        let mut n = Node::default();
        if let Some(status) = ready {
            n.status = Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    ..NodeCondition::default()
                }]),
                ..NodeStatus::default()
            });
        }
        if shutdown_taint {
            n = with_shutdown_taint(&n, true).unwrap();
        }
        n
    }

    #[test]
    fn readiness() {
        assert!(is_ready(&node(Some("True"), false)));
        assert!(!is_ready(&node(Some("False"), false)));
        assert!(!is_ready(&node(Some("Unknown"), false)));
        assert!(!is_ready(&node(None, false)));
    }

    #[test]
    fn shutdown_taint_add_remove_idempotent() {
        let plain = node(None, false);
        assert!(with_shutdown_taint(&plain, false).is_none());
        let tainted = with_shutdown_taint(&plain, true).unwrap();
        assert!(has_shutdown_taint(&tainted));
        assert!(with_shutdown_taint(&tainted, true).is_none());
        let cleared = with_shutdown_taint(&tainted, false).unwrap();
        assert!(!has_shutdown_taint(&cleared));
        let t = &tainted.spec.unwrap().taints.unwrap()[0];
        assert_eq!(
            (t.key.as_str(), t.effect.as_str()),
            (TAINT_SHUTDOWN, "NoSchedule")
        );
    }
}
