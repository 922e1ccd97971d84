//! What the sandbox tells the user: the difference between two looks at the cluster and the
//! cloud, as plain lines.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use sacloud::{LoadBalancer, ProxyLb};

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
    /// Enhanced Load Balancer ID → (name, plan, VIP, ports, real servers).
    pub enhanced: BTreeMap<u64, EnhancedView>,
    /// Events seen: (object, type, reason, note) → when it first happened, if known.
    pub events: BTreeMap<EventKey, Option<Timestamp>>,
}

/// An event as the sandbox tells it: (object, type, reason, note).
pub type EventKey = (String, String, String, String);

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

/// What the sandbox shows of an Enhanced Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedView {
    /// Name.
    pub name: String,
    /// Plan and region, e.g. `100 CPS, region is1`.
    pub plan: String,
    /// The VIP, once known.
    pub vip: Option<String>,
    /// Listeners, e.g. `80/tcp`.
    pub ports: Vec<String>,
    /// Real servers as `address:port`, sorted.
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

/// What the sandbox shows of an Enhanced Load Balancer whose VIP is `vip` (its health
/// endpoint's `CurrentVIP`, if read).
pub fn enhanced_view(item: &ProxyLb, vip: Option<String>) -> EnhancedView {
    let mut real_servers: Vec<(std::net::Ipv4Addr, u16)> = item
        .settings
        .servers
        .iter()
        .filter_map(|s| Some((s.ip_address?, s.port)))
        .collect();
    real_servers.sort();
    EnhancedView {
        name: item.name.clone(),
        plan: format!(
            "{}, region {}",
            item.plan()
                .map(|p| format!("{} CPS", p.cps()))
                .unwrap_or_else(|| item.service_class.clone()),
            item.status.region
        ),
        vip: vip.or_else(|| item.status.virtual_ip_address.map(|v| v.to_string())),
        ports: item
            .settings
            .bind_ports
            .iter()
            .map(|b| format!("{}/{}", b.port, b.proxy_mode))
            .collect(),
        real_servers: real_servers
            .into_iter()
            .map(|(ip, port)| format!("{ip}:{port}"))
            .collect(),
    }
}

/// When an event first happened: its `eventTime`, else when it was stored.
pub fn event_time(event: &Event) -> Option<Timestamp> {
    event
        .event_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The (object, type, reason, note) of an event.
pub fn event_key(event: &Event) -> EventKey {
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
    narrate_enhanced(before, now, &mut lines);
    // New events in the order they happened (several can arrive between two looks).
    let mut new: Vec<(&Option<Timestamp>, &EventKey)> = now
        .events
        .iter()
        .filter(|(key, _)| !before.events.contains_key(*key))
        .map(|(key, at)| (at, key))
        .collect();
    new.sort();
    for (_, (object, type_, reason, note)) in new {
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

/// The Enhanced Load Balancers' part of [`narrate`]. A plan change moves an Enhanced LB to a
/// new ID: the same name under a new ID while the old one is gone is told as such.
fn narrate_enhanced(before: &Snapshot, now: &Snapshot, lines: &mut Vec<String>) {
    let gone: BTreeMap<&String, u64> = before
        .enhanced
        .iter()
        .filter(|(id, _)| !now.enhanced.contains_key(*id))
        .map(|(id, v)| (&v.name, *id))
        .collect();
    let mut moved: Vec<u64> = Vec::new();
    for (id, view) in &now.enhanced {
        let what = format!("enhanced load balancer {} (ID {id})", view.name);
        let mut old = before.enhanced.get(id);
        if old.is_none()
            && let Some(previous) = gone.get(&view.name)
        {
            moved.push(*previous);
            old = before.enhanced.get(previous);
            lines.push(format!(
                "enhanced load balancer {}: now ID {id} (was {previous}), {}",
                view.name, view.plan
            ));
        }
        match old {
            None => lines.push(format!(
                "{what}: created, {}{}, ports {}",
                view.plan,
                view.vip
                    .as_ref()
                    .map(|v| format!(", VIP {v}"))
                    .unwrap_or_default(),
                list_or_none(&view.ports)
            )),
            Some(old) => {
                if old.vip != view.vip
                    && let Some(vip) = &view.vip
                {
                    lines.push(format!("{what}: VIP {vip}"));
                }
                if old.ports != view.ports {
                    lines.push(format!("{what}: ports {}", list_or_none(&view.ports)));
                }
            }
        }
        if old.map(|o| &o.real_servers) != Some(&view.real_servers) {
            lines.push(format!(
                "{what}: real servers {}",
                list_or_none(&view.real_servers)
            ));
        }
    }
    for (id, view) in &before.enhanced {
        if !now.enhanced.contains_key(id) && !moved.contains(id) {
            lines.push(format!(
                "enhanced load balancer {} (ID {id}): deleted",
                view.name
            ));
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
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
        now.events.insert(
            (
                "Service default/hello".into(),
                "Normal".into(),
                "EnsuringLoadBalancer".into(),
                "Ensuring load balancer".into(),
            ),
            None,
        );
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

    fn enhanced(vip: Option<&str>, servers: &[&str]) -> EnhancedView {
        EnhancedView {
            name: "a2".into(),
            plan: "100 CPS, region is1".into(),
            vip: vip.map(str::to_owned),
            ports: vec!["80/tcp".into()],
            real_servers: servers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn tells_an_enhanced_load_balancer_from_creation_to_deletion() {
        let before = Snapshot::default();
        let mut now = before.clone();
        now.enhanced.insert(7, enhanced(None, &[]));
        assert_eq!(
            narrate(&before, &now),
            vec![
                "enhanced load balancer a2 (ID 7): created, 100 CPS, region is1, ports 80/tcp",
                "enhanced load balancer a2 (ID 7): real servers none",
            ]
        );
        let mut later = now.clone();
        later.enhanced.insert(
            7,
            enhanced(
                Some("198.19.0.1"),
                &["100.64.0.11:30000", "100.64.0.12:30000"],
            ),
        );
        assert_eq!(
            narrate(&now, &later),
            vec![
                "enhanced load balancer a2 (ID 7): VIP 198.19.0.1",
                "enhanced load balancer a2 (ID 7): real servers 100.64.0.11:30000, 100.64.0.12:30000",
            ]
        );
        assert!(narrate(&later, &later).is_empty());

        // A plan change: the same name under a new ID.
        let mut moved = Snapshot::default();
        let mut view = enhanced(
            Some("198.19.0.1"),
            &["100.64.0.11:30000", "100.64.0.12:30000"],
        );
        view.plan = "500 CPS, region is1".into();
        moved.enhanced.insert(8, view);
        assert_eq!(
            narrate(&later, &moved),
            vec!["enhanced load balancer a2: now ID 8 (was 7), 500 CPS, region is1"]
        );
        assert_eq!(
            narrate(&later, &Snapshot::default()),
            vec!["enhanced load balancer a2 (ID 7): deleted"]
        );
    }
}
