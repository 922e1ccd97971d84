//! Kubernetes Events the controllers emit: reasons as constants, one publishing helper.
//!
//! Events are `events.k8s.io/v1`, aggregated into series like client-go does, except that the
//! note is part of the identity: an error that changes its message shows the new message at
//! once instead of counting under the first one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::provider::{ProviderError, ProviderEvent};

/// Normal: a Node was initialized (upstream reason and message).
pub const REASON_SYNCED: &str = "Synced";
/// Warning: initializing a Node failed; the message says why. The taint stays and the sync is
/// retried with backoff.
pub const REASON_SYNC_NODE_FAILED: &str = "SyncNodeFailed";

/// Normal: a Node is being deleted because its instance no longer exists (upstream).
pub const REASON_DELETING_NODE: &str = "DeletingNode";
/// Warning: deleting such a Node failed.
pub const REASON_DELETING_NODE_FAILED: &str = "DeletingNodeFailed";

/// Normal: the service controller is creating or updating a Service's load balancer (also
/// repeated, with the provider's explanation, while the cloud is still working on it).
pub const REASON_ENSURING_LOAD_BALANCER: &str = "EnsuringLoadBalancer";
/// Normal: the Service's load balancer is in place.
pub const REASON_ENSURED_LOAD_BALANCER: &str = "EnsuredLoadBalancer";
/// Warning: creating, updating or deleting the load balancer failed; retried with backoff.
pub const REASON_SYNC_LOAD_BALANCER_FAILED: &str = "SyncLoadBalancerFailed";
/// Warning: no Node may back the load balancer.
pub const REASON_UNAVAILABLE_LOAD_BALANCER: &str = "UnAvailableLoadBalancer";
/// Normal: the load balancer now points at a changed set of Nodes.
pub const REASON_UPDATED_LOAD_BALANCER: &str = "UpdatedLoadBalancer";
/// Warning: pointing the load balancer at a changed set of Nodes failed.
pub const REASON_UPDATE_LOAD_BALANCER_FAILED: &str = "UpdateLoadBalancerFailed";
/// Normal: the load balancer is being deleted.
pub const REASON_DELETING_LOAD_BALANCER: &str = "DeletingLoadBalancer";
/// Normal: the load balancer is gone and the finalizer removed.
pub const REASON_DELETED_LOAD_BALANCER: &str = "DeletedLoadBalancer";
/// Warning: deleting the load balancer of a Service that vanished without our finalizer
/// failed.
pub const REASON_DELETE_LOAD_BALANCER_FAILED: &str = "DeleteLoadBalancerFailed";

/// How long a published event may be continued as a series instead of created anew.
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// The most series a publisher remembers; past it, the one seen longest ago is forgotten (its
/// next occurrence starts a new Event). client-go's correlator keeps an LRU of 4,096; a
/// controller of a 5,000-Node cluster publishes one `Synced` per Node within the window, so
/// without a bound the table would grow with the cluster.
pub const MAX_SERIES: usize = 1024;

/// The API rejects notes over 1 kB; keep the start, which says what happened.
const MAX_NOTE_BYTES: usize = 1024;

fn truncate_note(mut note: String) -> String {
    if note.len() > MAX_NOTE_BYTES {
        let mut cut = MAX_NOTE_BYTES - '…'.len_utf8();
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push('…');
    }
    note
}

/// Whether an event is informational or asks for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// What makes two events "the same" for a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    type_: EventType,
    reason: String,
    action: String,
    note: String,
    kind: String,
    namespace: String,
    name: String,
    uid: String,
}

struct SeriesEntry {
    event_name: String,
    event_namespace: String,
    count: i32,
    last_seen: Instant,
}

/// Publishes events, logging (never failing) when the API refuses them: an event is a courtesy
/// to the operator, not part of the reconciliation.
#[derive(Clone)]
pub struct EventPublisher {
    client: kube::Client,
    controller: String,
    instance: String,
    series: Arc<Mutex<HashMap<SeriesKey, SeriesEntry>>>,
}

impl EventPublisher {
    /// A publisher reporting as `component` (e.g. `cloud-node-controller`).
    pub fn new(client: kube::Client, component: &str) -> Self {
        Self {
            client,
            controller: component.to_owned(),
            instance: std::env::var("HOSTNAME").unwrap_or_else(|_| component.to_owned()),
            series: Arc::default(),
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

    /// Publishes the Warning for a failed sync: under the provider's own reason and message when
    /// the failure is a [`ProviderError`] that names one, else under `reason` with `note`.
    pub async fn failure<K>(
        &self,
        object: &K,
        reason: &str,
        action: &str,
        note: String,
        provider_error: Option<&ProviderError>,
    ) where
        K: Resource<DynamicType = ()>,
    {
        match provider_error.and_then(|e| e.reason.as_deref().map(|r| (r, e))) {
            Some((own_reason, error)) => {
                self.warning(object, own_reason, action, error.message.clone())
                    .await
            }
            None => self.warning(object, reason, action, note).await,
        }
    }

    /// Publishes an event a provider asked for.
    pub async fn provider_event<K>(&self, object: &K, action: &str, event: &ProviderEvent)
    where
        K: Resource<DynamicType = ()>,
    {
        let type_ = if event.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        self.publish(object, type_, &event.reason, action, event.message.clone())
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
        let regarding = object.object_ref(&());
        let note = truncate_note(note);
        let key = SeriesKey {
            type_,
            reason: reason.to_owned(),
            action: action.to_owned(),
            note: note.clone(),
            kind: regarding.kind.clone().unwrap_or_default(),
            namespace: regarding.namespace.clone().unwrap_or_default(),
            name: regarding.name.clone().unwrap_or_default(),
            uid: regarding.uid.clone().unwrap_or_default(),
        };
        if let Err(error) = self.create_or_continue(key, &regarding).await {
            tracing::warn!(%error, reason, object = ?regarding.name, "could not publish event");
        }
    }

    async fn create_or_continue(
        &self,
        key: SeriesKey,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Instant::now();
        let continued = {
            let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
            series.retain(|_, e| now.duration_since(e.last_seen) < SERIES_WINDOW);
            series.get_mut(&key).map(|e| {
                e.count += 1;
                e.last_seen = now;
                (e.event_name.clone(), e.event_namespace.clone(), e.count)
            })
        };
        if let Some((name, namespace, count)) = continued {
            let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
            let patch = serde_json::json!({
                "series": EventSeries {
                    count,
                    last_observed_time: MicroTime(Timestamp::now()),
                }
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Expired or deleted: start a new event below.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        // Events about cluster-scoped objects (Nodes) go to `default`, as client-go does.
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let now_ts = Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now_ts.as_nanosecond()
                )),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now_ts)),
            type_: Some(key.type_.as_str().to_owned()),
            reason: Some(key.reason.clone()),
            action: Some(key.action.clone()),
            note: Some(key.note.clone()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let created = api.create(&PostParams::default(), &event).await?;
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        remember(
            &mut series,
            key,
            SeriesEntry {
                event_name: created.metadata.name.unwrap_or_default(),
                event_namespace: namespace,
                count: 1,
                last_seen: now,
            },
        );
        Ok(())
    }
}

/// Records a new series, forgetting the one seen longest ago when [`MAX_SERIES`] are held.
fn remember<K: Eq + std::hash::Hash + Clone>(
    series: &mut HashMap<K, SeriesEntry>,
    key: K,
    entry: SeriesEntry,
) {
    if series.len() >= MAX_SERIES && !series.contains_key(&key) {
        let oldest = series
            .iter()
            .min_by_key(|(_, e)| e.last_seen)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            series.remove(&oldest);
        }
    }
    series.insert(key, entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(last_seen: Instant) -> SeriesEntry {
        SeriesEntry {
            event_name: "e".into(),
            event_namespace: "default".into(),
            count: 1,
            last_seen,
        }
    }

    #[test]
    fn the_series_table_is_bounded_and_forgets_the_oldest() {
        let t0 = Instant::now();
        let mut series = HashMap::new();
        for i in 0..MAX_SERIES + 10 {
            remember(&mut series, i, entry(t0 + Duration::from_millis(i as u64)));
        }
        assert_eq!(series.len(), MAX_SERIES);
        // The ten seen first are the ten forgotten.
        assert!((0..10).all(|i| !series.contains_key(&i)));
        assert!(series.contains_key(&10) && series.contains_key(&(MAX_SERIES + 9)));
        // Continuing a known series never evicts another.
        remember(&mut series, 10, entry(t0 + Duration::from_secs(60)));
        assert_eq!(series.len(), MAX_SERIES);
        assert!(series.contains_key(&11));
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_note("short".to_owned()), "short");
        let long = "あ".repeat(600);
        let cut = truncate_note(long);
        assert!(cut.len() <= MAX_NOTE_BYTES);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("あああ"));
    }
}
