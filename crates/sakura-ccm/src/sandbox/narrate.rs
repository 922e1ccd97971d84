//! What the sandbox tells the user: the difference between two looks at the cluster and the
//! cloud, as plain lines.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use sacloud::LoadBalancer;

use crate::provider::load_balancers::appliance::{Phase, phase};

/// One look at everything the sandbox narrates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Node name → its line once initialized (`None` while not).
    pub nodes: BTreeMap<String, Option<String>>,
    /// Service `namespace/name` → its external IPs.
    pub services: BTreeMap<String, Vec<String>>,
    /// Appliance ID → (name, phase, VIPs, real servers).
    pub appliances: BTreeMap<u64, ApplianceView>,
    /// Events seen: (object, type, reason, note).
    pub events: BTreeSet<(String, String, String, String)>,
}

/// What the sandbox shows of an appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceView {
    /// Name.
    pub name: String,
    /// Phase, for messages.
    pub phase: String,
    /// VIPs.
    pub vips: Vec<String>,
    /// Real server addresses of the first port.
    pub real_servers: Vec<String>,
}

/// The line for an initialized Node, `None` while it is not.
pub fn node_line(node: &Node) -> Option<String> {
    let spec = node.spec.as_ref()?;
    let provider_id = spec.provider_id.as_deref()?;
    let tainted = spec
        .taints
        .iter()
        .flatten()
        .any(|t| t.key == cloud_provider::labels::TAINT_UNINITIALIZED);
    if tainted {
        return None;
    }
    let addresses: Vec<String> = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .map(|a| format!("{} {}", a.type_, a.address))
        .collect();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let label = |key: &str| labels.get(key).cloned().unwrap_or_else(|| "-".to_owned());
    Some(format!(
        "providerID {provider_id}; {}; region={} zone={} instance-type={}",
        addresses.join(", "),
        label("topology.kubernetes.io/region"),
        label("topology.kubernetes.io/zone"),
        label("node.kubernetes.io/instance-type"),
    ))
}

/// The external IPs of a Service.
pub fn service_ips(service: &Service) -> Vec<String> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone())
        .collect()
}

/// What the sandbox shows of an appliance.
pub fn appliance_view(lb: &LoadBalancer) -> ApplianceView {
    let phase = match phase(lb) {
        Phase::Creating => "creating",
        Phase::Up => "up",
        Phase::ShuttingDown => "shutting down",
        Phase::Down => "down",
        Phase::Failed => "failed",
    };
    ApplianceView {
        name: lb.name.clone(),
        phase: phase.to_owned(),
        vips: lb.virtual_ips().iter().map(ToString::to_string).collect(),
        real_servers: lb
            .settings
            .load_balancer
            .first()
            .map(|v| {
                v.servers
                    .iter()
                    .filter_map(|s| s.ip_address.map(|ip| ip.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The (object, type, reason, note) of an event.
pub fn event_key(event: &Event) -> (String, String, String, String) {
    let regarding = event.regarding.as_ref();
    let object = format!(
        "{} {}{}",
        regarding.and_then(|r| r.kind.clone()).unwrap_or_default(),
        regarding
            .and_then(|r| r.namespace.as_deref())
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default(),
        regarding.and_then(|r| r.name.clone()).unwrap_or_default(),
    );
    (
        object,
        event.type_.clone().unwrap_or_default(),
        event.reason.clone().unwrap_or_default(),
        event.note.clone().unwrap_or_default(),
    )
}

/// The lines that tell what changed from `before` to `now`.
pub fn narrate(before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, line) in &now.nodes {
        match (before.nodes.get(name), line) {
            (None, None) => lines.push(format!(
                "node {name}: registered by its kubelet, tainted uninitialized"
            )),
            (None | Some(None), Some(line)) => {
                lines.push(format!("node {name}: initialized: {line}"));
            }
            (Some(Some(old)), Some(line)) if old != line => {
                lines.push(format!("node {name}: updated: {line}"));
            }
            _ => {}
        }
    }
    for name in before.nodes.keys() {
        if !now.nodes.contains_key(name) {
            lines.push(format!("node {name}: deleted"));
        }
    }
    for (id, view) in &now.appliances {
        let old = before.appliances.get(id);
        if old.map(|o| &o.phase) != Some(&view.phase) {
            lines.push(format!(
                "appliance {} (ID {id}): {}{}",
                view.name,
                view.phase,
                if view.vips.is_empty() {
                    String::new()
                } else {
                    format!(", VIP {}", view.vips.join(", "))
                }
            ));
        }
        if old.map(|o| &o.real_servers) != Some(&view.real_servers) {
            lines.push(format!(
                "appliance {} (ID {id}): real servers {}",
                view.name,
                if view.real_servers.is_empty() {
                    "none".to_owned()
                } else {
                    view.real_servers.join(", ")
                }
            ));
        }
    }
    for (id, view) in &before.appliances {
        if !now.appliances.contains_key(id) {
            lines.push(format!("appliance {} (ID {id}): deleted", view.name));
        }
    }
    for event in now.events.difference(&before.events) {
        let (object, type_, reason, note) = event;
        lines.push(format!("event on {object}: {type_} {reason}: {note}"));
    }
    for (name, ips) in &now.services {
        if before.services.get(name) != Some(ips) && !ips.is_empty() {
            lines.push(format!(
                "service {name}: external IP assigned: {}",
                ips.join(", ")
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(phase: &str, servers: &[&str]) -> ApplianceView {
        ApplianceView {
            name: "a1".into(),
            phase: phase.into(),
            vips: vec!["203.0.113.25".into()],
            real_servers: servers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn tells_each_change_once() {
        let mut before = Snapshot::default();
        before.nodes.insert("worker-1".into(), None);
        let mut now = before.clone();
        now.nodes
            .insert("worker-1".into(), Some("providerID sakuracloud://1".into()));
        now.appliances
            .insert(9, view("creating", &["203.0.113.21"]));
        now.events.insert((
            "Service default/hello".into(),
            "Normal".into(),
            "EnsuringLoadBalancer".into(),
            "Ensuring load balancer".into(),
        ));
        let lines = narrate(&before, &now);
        assert_eq!(
            lines,
            vec![
                "node worker-1: initialized: providerID sakuracloud://1",
                "appliance a1 (ID 9): creating, VIP 203.0.113.25",
                "appliance a1 (ID 9): real servers 203.0.113.21",
                "event on Service default/hello: Normal EnsuringLoadBalancer: Ensuring load balancer",
            ]
        );
        assert!(
            narrate(&now, &now).is_empty(),
            "nothing changed, nothing said"
        );

        let mut later = now.clone();
        later.appliances.insert(9, view("up", &["203.0.113.21"]));
        later
            .services
            .insert("default/hello".into(), vec!["203.0.113.25".into()]);
        later.nodes.remove("worker-1");
        assert_eq!(
            narrate(&now, &later),
            vec![
                "node worker-1: deleted",
                "appliance a1 (ID 9): up, VIP 203.0.113.25",
                "service default/hello: external IP assigned: 203.0.113.25",
            ]
        );
    }
}
