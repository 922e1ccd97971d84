//! One Node cache for every controller: a single watch on Nodes, with the fields no controller
//! reads dropped as objects arrive, feeding one shared store and telling each subscriber what
//! changed.
//!
//! A real Node is 20–30 kB of JSON, most of it `status.images` and `metadata.managedFields`;
//! the controllers read its name, labels, one annotation, spec, addresses and the `Ready`
//! condition. Before this cache, the node, lifecycle and service controllers each watched
//! Nodes and kept whole copies. Now one watch keeps one pruned copy (see [`prune_node`]).
//!
//! Nothing is written back from the cache as it is: the node controllers write a Node with a
//! merge patch of only the fields they change (`super::patch`), so a field dropped here is
//! never erased on the API server.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus};
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use crate::labels::ANNOTATION_PROVIDED_NODE_IP;

/// The annotations a controller or provider reads from a Node; the others are dropped. (A
/// controller that starts reading another one adds it here.)
pub const KEPT_ANNOTATIONS: &[&str] = &[ANNOTATION_PROVIDED_NODE_IP];

/// Drops what no controller reads from a Node as it arrives: `metadata.managedFields`, the
/// annotations not in [`KEPT_ANNOTATIONS`], and from `status` everything but the addresses
/// and the `Ready` condition's type and status (images, nodeInfo, capacity, allocatable,
/// daemon endpoints, volumes, runtime handlers, features, other conditions, conditions'
/// messages and times).
///
/// Kept: the rest of `metadata` (name, UID, resourceVersion, every label: a Service's node
/// selector may name any of them, timestamps, owners, finalizers), all of `spec` (provider
/// ID, taints, pod CIDRs), `status.addresses`, and `Ready`.
pub fn prune_node(node: &mut Node) {
    node.metadata.managed_fields = None;
    if let Some(annotations) = node.metadata.annotations.as_mut() {
        annotations.retain(|k, _| KEPT_ANNOTATIONS.contains(&k.as_str()));
        if annotations.is_empty() {
            node.metadata.annotations = None;
        }
    }
    if let Some(status) = node.status.take() {
        let conditions = status.conditions.map(|conditions| {
            conditions
                .into_iter()
                .filter(|c| c.type_ == "Ready")
                .map(|c| NodeCondition {
                    type_: c.type_,
                    status: c.status,
                    ..NodeCondition::default()
                })
                .collect()
        });
        node.status = Some(NodeStatus {
            addresses: status.addresses,
            conditions,
            ..NodeStatus::default()
        });
    }
}

/// Nodes per list page. Each page is decoded whole before its Nodes are pruned, so a page of
/// client-go's 500 real Nodes (20–30 kB of JSON each, several times that decoded) sets the
/// process's memory high-water mark at start; 50 costs 20 requests per 1,000 Nodes instead of 2
/// (at 100, the first list was still the high-water mark of a 1,000-Node cluster's steady state).
pub const LIST_PAGE_SIZE: u32 = 50;

/// What changed in the cache, as told to each subscriber (after the store has it).
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// The Nodes were (re)listed; the store holds the new list. `previous` is what the store
    /// held before (empty on the first list), so a subscriber can tell what changed or
    /// vanished meanwhile.
    Listed {
        /// The store's content before the list.
        previous: Arc<Vec<Arc<Node>>>,
    },
    /// One Node added or changed.
    Applied {
        /// The Node as the store held it before, if it did.
        old: Option<Arc<Node>>,
        /// The Node as the store holds it now.
        new: Arc<Node>,
    },
    /// One Node deleted.
    Deleted(Arc<Node>),
}

/// Subscribers, and whether a list was already delivered (a late subscriber then gets one of
/// its own, so that nobody waits for a list that already happened).
#[derive(Default)]
struct Subscribers {
    senders: Vec<mpsc::UnboundedSender<NodeEvent>>,
    listed: bool,
}

/// The shared Node cache: one watch, one store of pruned Nodes, any number of subscribers.
pub struct NodeCache {
    api: Api<Node>,
    store: Store<Node>,
    writer: Mutex<Option<Writer<Node>>>,
    subscribers: Mutex<Subscribers>,
    /// Turns true with the first list. (The store's own `wait_until_ready` wakes only one of
    /// several tasks waiting at once, so shared readers wait on this instead.)
    listed: tokio::sync::watch::Sender<bool>,
}

impl NodeCache {
    /// A cache of every Node of `client`'s cluster; nothing is watched until [`NodeCache::run`].
    pub fn new(client: kube::Client) -> Arc<Self> {
        let writer = Writer::default();
        Arc::new(Self {
            api: Api::all(client),
            store: writer.as_reader(),
            writer: Mutex::new(Some(writer)),
            subscribers: Mutex::default(),
            listed: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Returns once the Nodes have been listed (the store is filled).
    pub async fn wait_until_listed(&self) {
        let mut listed = self.listed.subscribe();
        // The sender lives as long as `self`: this cannot fail while we wait.
        let _ = listed.wait_for(|l| *l).await;
    }

    /// The store (pruned Nodes), filled once the first list is in (see
    /// [`NodeCache::wait_until_listed`]).
    pub fn store(&self) -> Store<Node> {
        self.store.clone()
    }

    /// Every change from now on. If the Nodes were already listed, the first event is a
    /// [`NodeEvent::Listed`] with nothing `previous`.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<NodeEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subs = lock(&self.subscribers);
        if subs.listed {
            let _ = tx.send(NodeEvent::Listed {
                previous: Arc::default(),
            });
        }
        subs.senders.push(tx);
        rx
    }

    /// Watches Nodes until `stop` completes, reconnecting with client-go's backoff. Only the
    /// first call watches; later calls return at once (the cache is shared, and whoever
    /// built it runs it).
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()> + Send) {
        let Some(writer) = lock(&self.writer).take() else {
            return;
        };
        let config = watcher::Config::default().page_size(LIST_PAGE_SIZE);
        let events = watcher(self.api.clone(), config)
            .default_backoff()
            .modify(prune_node);
        let feed = self.feed(writer, events);
        tokio::select! {
            () = stop => {}
            () = feed => {}
        }
    }

    async fn feed(
        &self,
        mut writer: Writer<Node>,
        events: impl futures::Stream<Item = Result<watcher::Event<Node>, watcher::Error>>,
    ) {
        let mut events = std::pin::pin!(events);
        let mut previous: Option<Vec<Arc<Node>>> = None;
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, "node watch failed; retrying");
                    continue;
                }
            };
            let told = match &event {
                watcher::Event::Init => {
                    previous = Some(self.store.state());
                    None
                }
                watcher::Event::InitApply(_) => None,
                watcher::Event::InitDone => Some(NodeEvent::Listed {
                    previous: Arc::new(previous.take().unwrap_or_default()),
                }),
                watcher::Event::Apply(node) => {
                    let old = self.store.get(&ObjectRef::from_obj(node));
                    writer.apply_watcher_event(&event);
                    let new = self.store.get(&ObjectRef::from_obj(node));
                    new.map(|new| NodeEvent::Applied { old, new })
                }
                watcher::Event::Delete(node) => Some(NodeEvent::Deleted(Arc::new(node.clone()))),
            };
            if !matches!(event, watcher::Event::Apply(_)) {
                writer.apply_watcher_event(&event);
            }
            if let Some(told) = told {
                let mut subs = lock(&self.subscribers);
                if matches!(told, NodeEvent::Listed { .. }) {
                    subs.listed = true;
                    self.listed.send_replace(true);
                }
                // A subscriber that went away is forgotten.
                subs.senders.retain(|tx| tx.send(told.clone()).is_ok());
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values are replaced by single calls; a panicking holder leaves them whole.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerImage, NodeAddress, NodeSpec, NodeSystemInfo, Taint,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    use std::collections::BTreeMap;

    /// A Node with everything a kubelet and the controllers put on one.
    pub(crate) fn full_node() -> Node {
        let mut node = Node::default();
        node.metadata.name = Some("worker-1".into());
        node.metadata.uid = Some("uid-1".into());
        node.metadata.resource_version = Some("42".into());
        node.metadata.labels = Some(BTreeMap::from([
            ("kubernetes.io/hostname".into(), "worker-1".into()),
            (
                "node.kubernetes.io/exclude-from-external-load-balancers".into(),
                "false".into(),
            ),
        ]));
        node.metadata.annotations = Some(BTreeMap::from([(
            "alpha.kubernetes.io/provided-node-ip".into(),
            "10.0.1.1".into(),
        )]));
        node.metadata.finalizers = Some(vec!["example.com/keep".into()]);
        node.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubelet".into()),
            ..ManagedFieldsEntry::default()
        }]);
        node.spec = Some(NodeSpec {
            provider_id: Some("sakuracloud://1".into()),
            pod_cidr: Some("10.64.0.0/24".into()),
            pod_cidrs: Some(vec!["10.64.0.0/24".into()]),
            taints: Some(vec![Taint {
                key: "node.cloudprovider.kubernetes.io/uninitialized".into(),
                effect: "NoSchedule".into(),
                ..Taint::default()
            }]),
            unschedulable: Some(true),
            ..NodeSpec::default()
        });
        node.status = Some(NodeStatus {
            addresses: Some(vec![NodeAddress {
                type_: "InternalIP".into(),
                address: "10.0.1.1".into(),
            }]),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                message: Some("kubelet is posting ready status".into()),
                reason: Some("KubeletReady".into()),
                ..NodeCondition::default()
            }]),
            images: Some(vec![ContainerImage {
                names: Some(vec!["registry.k8s.io/pause:3.10".into()]),
                size_bytes: Some(300_000),
            }]),
            node_info: Some(NodeSystemInfo {
                kubelet_version: "v1.35.0".into(),
                ..NodeSystemInfo::default()
            }),
            capacity: Some(BTreeMap::from([("cpu".into(), Quantity("8".into()))])),
            ..NodeStatus::default()
        });
        node
    }

    #[test]
    fn pruning_drops_images_managed_fields_and_node_info() {
        let mut node = full_node();
        prune_node(&mut node);
        let status = node.status.as_ref().unwrap();
        assert!(node.metadata.managed_fields.is_none());
        assert!(status.images.is_none());
        assert!(status.node_info.is_none());
        assert!(status.capacity.is_none());
        let ready = &status.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (ready.message.as_ref(), ready.reason.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn pruning_keeps_only_the_ready_condition() {
        let mut node = full_node();
        let conditions = node.status.as_mut().unwrap().conditions.as_mut().unwrap();
        for type_ in ["MemoryPressure", "NetworkUnavailable"] {
            conditions.insert(
                0,
                NodeCondition {
                    type_: type_.into(),
                    status: "False".into(),
                    ..NodeCondition::default()
                },
            );
        }
        prune_node(&mut node);
        let kept: Vec<(&str, &str)> = node
            .status
            .as_ref()
            .unwrap()
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect();
        assert_eq!(kept, [("Ready", "True")]);
    }

    #[test]
    fn pruning_keeps_spec_labels_and_the_annotations_read() {
        let full = full_node();
        let mut node = full.clone();
        node.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("csi.volume.kubernetes.io/nodeid".into(), "{}".into());
        prune_node(&mut node);
        let mut expected_meta = full.metadata.clone();
        expected_meta.managed_fields = None;
        // Only the annotations read stay (the others are not written back: writes are patches).
        assert_eq!(node.metadata, expected_meta);
        assert_eq!(node.spec, full.spec);
        let mut unread = full.clone();
        unread.metadata.annotations = Some(BTreeMap::from([("a".into(), "b".into())]));
        prune_node(&mut unread);
        assert_eq!(unread.metadata.annotations, None);
    }

    #[test]
    fn pruning_keeps_what_the_node_controller_reads() {
        use crate::node::init::is_uninitialized;
        let full = full_node();
        let mut node = full.clone();
        prune_node(&mut node);
        assert!(is_uninitialized(&node));
        // The addresses (compared with the cloud's) and the provided node IP annotation.
        assert_eq!(
            node.status.as_ref().unwrap().addresses,
            full.status.as_ref().unwrap().addresses
        );
        assert_eq!(
            node.metadata.annotations.as_ref().unwrap()["alpha.kubernetes.io/provided-node-ip"],
            "10.0.1.1"
        );
        assert_eq!(
            node.metadata.creation_timestamp,
            full.metadata.creation_timestamp
        );
    }

    #[test]
    fn pruning_keeps_what_the_lifecycle_controller_reads() {
        use crate::node::lifecycle::{has_shutdown_taint, is_ready, with_shutdown_taint};
        let mut node = full_node();
        prune_node(&mut node);
        assert!(is_ready(&node));
        let tainted = with_shutdown_taint(&node, true).unwrap();
        let mut pruned_tainted = tainted.clone();
        prune_node(&mut pruned_tainted);
        assert!(has_shutdown_taint(&pruned_tainted));
        let mut not_ready = full_node();
        not_ready
            .status
            .as_mut()
            .unwrap()
            .conditions
            .as_mut()
            .unwrap()[0]
            .status = "False".into();
        prune_node(&mut not_ready);
        assert!(!is_ready(&not_ready));
    }

    #[test]
    fn pruning_keeps_what_the_service_controller_reads() {
        use crate::service::predicates::{load_balancer_node, node_eligible_for_load_balancers};
        let full = full_node();
        let mut node = full.clone();
        prune_node(&mut node);
        // Name, provider ID, addresses and labels: the load balancer identity, unchanged.
        assert_eq!(load_balancer_node(&node), load_balancer_node(&full));
        assert_eq!(
            node_eligible_for_load_balancers(&node),
            node_eligible_for_load_balancers(&full)
        );
        let mut excluded = full.clone();
        excluded.metadata.labels.as_mut().unwrap().insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            "true".into(),
        );
        prune_node(&mut excluded);
        assert!(!node_eligible_for_load_balancers(&excluded));
    }

    #[test]
    fn a_pruned_node_is_a_fraction_of_a_full_one() {
        let mut full = full_node();
        let status = full.status.as_mut().unwrap();
        status.images = Some(
            (0..40)
                .map(|i| ContainerImage {
                    names: Some(vec![
                        format!("registry.example/image-{i}@sha256:{}", "0".repeat(64)),
                        format!("registry.example/image-{i}:v1.{i}"),
                    ]),
                    size_bytes: Some(1_000_000),
                })
                .collect(),
        );
        let mut pruned = full.clone();
        prune_node(&mut pruned);
        let size = |n: &Node| serde_json::to_vec(n).map(|v| v.len()).unwrap_or(0);
        assert!(
            size(&pruned) * 5 < size(&full),
            "{} vs {}",
            size(&pruned),
            size(&full)
        );
    }
}
