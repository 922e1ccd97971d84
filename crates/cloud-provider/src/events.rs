//! Kubernetes Events the controllers emit: reasons as constants, one publishing helper.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// Normal: a Node was initialized (upstream reason and message).
pub const REASON_SYNCED: &str = "Synced";
/// Warning: initializing a Node failed; the message says why. The taint stays and the sync is
/// retried with backoff.
pub const REASON_SYNC_NODE_FAILED: &str = "SyncNodeFailed";

/// Normal: a Node is being deleted because its instance no longer exists (upstream).
pub const REASON_DELETING_NODE: &str = "DeletingNode";
/// Warning: deleting such a Node failed.
pub const REASON_DELETING_NODE_FAILED: &str = "DeletingNodeFailed";

/// Publishes events, logging (never failing) when the API refuses them: an event is a courtesy
/// to the operator, not part of the reconciliation.
#[derive(Clone)]
pub struct EventPublisher {
    recorder: Recorder,
}

impl EventPublisher {
    /// A publisher reporting as `component` (e.g. `cloud-node-controller`).
    pub fn new(client: kube::Client, component: &str) -> Self {
        Self {
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: component.to_owned(),
                    instance: std::env::var("HOSTNAME").ok(),
                },
            ),
        }
    }

    /// Publishes a Normal event about `object`.
    pub async fn normal<K>(&self, object: &K, reason: &str, action: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        self.publish(object, EventType::Normal, reason, action, note)
            .await;
    }

    /// Publishes a Warning event about `object`.
    pub async fn warning<K>(&self, object: &K, reason: &str, action: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        self.publish(object, EventType::Warning, reason, action, note)
            .await;
    }

    async fn publish<K>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let reference = object.object_ref(&());
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason, object = ?reference.name, "could not publish event");
        }
    }
}
