//! Hand-built facts for the checks' unit tests: Nodes, servers, routers, switches, Services,
//! appliances, events and the controller's workload, each as small as a check needs.

use std::collections::BTreeMap;

use cloud_provider::labels::TAINT_UNINITIALIZED;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use sacloud::{Internet, LoadBalancer, Server, Switch};
use serde_json::{Value, json};

use super::{Finding, FoundWorkload, Status, controller_workload};
use crate::doctor::facts::{ClusterFacts, EnhancedItem, Inventory, KubeFailure, Rbac, Workloads};

pub(super) fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

const NOW: &str = "2025-06-01T12:00:00Z";

pub(super) fn now() -> Timestamp {
    NOW.parse().unwrap()
}

/// A Node: `pid` provider ID, tainted or not, addresses.
pub(super) fn node(name: &str, pid: Option<&str>, tainted: bool, ips: &[&str]) -> Node {
    let taints = if tainted {
        json!([{"key": TAINT_UNINITIALIZED, "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    let addresses: Vec<Value> = ips
        .iter()
        .map(|ip| json!({"type": "InternalIP", "address": ip}))
        .collect();
    from(json!({
        "metadata": {"name": name, "creationTimestamp": "2025-06-01T10:00:00Z"},
        "spec": {"providerID": pid, "taints": taints},
        "status": {"addresses": addresses}
    }))
}

pub(super) fn router_nic(ip: &str) -> Value {
    json!({"UserIPAddress": ip, "Switch": {"ID": 10, "Scope": "user",
        "Subnet": {"NetworkAddress": "203.0.113.16", "NetworkMaskLen": 28}}})
}

pub(super) fn shared_nic(ip: &str) -> Value {
    json!({"IPAddress": ip, "Switch": {"ID": 99, "Scope": "shared",
        "Subnet": {"NetworkAddress": "100.64.0.0", "NetworkMaskLen": 18}}})
}

pub(super) fn server(id: u64, name: &str, nics: Vec<Value>) -> Server {
    from(json!({"ID": id, "Name": name, "Interfaces": nics}))
}

pub(super) fn router(id: u64, name: &str, tags: &[&str], network: &str) -> Internet {
    from(json!({"ID": id, "Name": name, "Tags": tags,
        "Switch": {"ID": id + 1000, "Subnets": [{"NetworkAddress": network, "NetworkMaskLen": 28}]}}))
}

pub(super) fn switch(id: u64, name: &str, tags: &[&str]) -> Switch {
    from(
        json!({"ID": id, "Name": name, "Tags": tags, "Scope": "user",
        "UserSubnet": {"DefaultRoute": "192.168.0.1", "NetworkMaskLen": 24}}),
    )
}

pub(super) fn lb_service(name: &str, ports: &[i32], annotations: Value, ingress: bool) -> Service {
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| json!({"port": p, "protocol": "TCP"}))
        .collect();
    let status = if ingress {
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.25"}]}})
    } else {
        json!({})
    };
    from(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": ports},
        "status": status
    }))
}

/// A Service of `load-balancer-type: enhanced` with node ports (30000 + port), ports named
/// `p<port>`, and `annotations` besides the type.
pub(super) fn enhanced_service(name: &str, ports: &[i32], annotations: Value) -> Service {
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| json!({"name": format!("p{p}"), "port": p, "protocol": "TCP", "nodePort": 30000 + p}))
        .collect();
    let mut all = json!({"k8s.usacloud.jp/load-balancer-type": "enhanced"});
    if let (Some(all), Some(extra)) = (all.as_object_mut(), annotations.as_object()) {
        all.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    from(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "annotations": all},
        "spec": {"type": "LoadBalancer", "ports": ports},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.19.0.5"}]}}
    }))
}

/// An initialized Node whose global address (`ExternalIP`) is `ip`.
pub(super) fn global_node(name: &str, ip: &str) -> Node {
    from(json!({
        "metadata": {"name": name, "creationTimestamp": "2025-06-01T10:00:00Z"},
        "spec": {"providerID": "sakuracloud://1"},
        "status": {"addresses": [
            {"type": "InternalIP", "address": ip},
            {"type": "ExternalIP", "address": ip}
        ]}
    }))
}

/// The Enhanced LB of this cluster (`c1`) for the Service `service` (UID `uid-<service>`), its
/// health reporting `servers` as (address, port, status), VIP 198.19.0.5; no certificate read.
pub(super) fn proxy_lb_item(id: u64, service: &str, servers: &[(&str, u16, &str)]) -> EnhancedItem {
    let health: Vec<Value> = servers
        .iter()
        .map(|(ip, port, status)| json!({"IPAddress": ip, "Port": port.to_string(), "Status": status}))
        .collect();
    EnhancedItem {
        item: from(json!({
            "ID": id, "Name": format!("a{service}"),
            "Tags": ["@k8s", "@k8s.ClusterID=c1", format!("@k8s.Service={service}"),
                     format!("@k8s.ServiceUID=uid-{service}")],
            "Settings": {"ProxyLB": {}}, "Status": {"Region": "is1"}
        })),
        health: Ok(from(json!({"CurrentVIP": "198.19.0.5", "Servers": health}))),
        certificate: None,
    }
}

pub(super) fn appliance(id: u64, tags: &[&str], availability: &str) -> LoadBalancer {
    from(
        json!({"ID": id, "Class": "loadbalancer", "Name": format!("lb-{id}"), "Tags": tags,
        "Availability": availability, "Instance": {"Status": "up"}}),
    )
}

pub(super) fn warning(kind: &str, name: &str, reason: &str, at: &str) -> Event {
    from(json!({
        "metadata": {"name": format!("{name}.{reason}"), "namespace": "default"},
        "eventTime": at,
        "regarding": {"kind": kind, "namespace": "default", "name": name},
        "type": "Warning", "reason": reason, "note": format!("note of {reason}")
    }))
}

pub(super) fn inventory(
    servers: Vec<Server>,
    routers: Vec<Internet>,
    switches: Vec<Switch>,
) -> Inventory {
    Inventory {
        servers,
        switches,
        routers,
        load_balancers: Vec::new(),
        zones: vec![sacloud::Zone::Is1a],
        elsewhere: Vec::new(),
        load_balancer_status: BTreeMap::new(),
    }
}

pub(super) fn healthy_inventory() -> Inventory {
    inventory(
        vec![
            server(1, "worker-1", vec![router_nic("203.0.113.21")]),
            server(2, "worker-2", vec![router_nic("203.0.113.22")]),
        ],
        vec![router(5, "k8s-router", &["@k8s"], "203.0.113.16")],
        vec![],
    )
}

pub(super) fn ok_failure(code: u16) -> KubeFailure {
    KubeFailure {
        code: Some(code),
        message: format!("HTTP {code}"),
    }
}

pub(super) fn deployment(tolerations: Value, args: &[&str], ready: Option<i32>) -> Deployment {
    let status = ready.map(|r| json!({"readyReplicas": r}));
    from(json!({
        "metadata": {"name": "sakura-cloud-controller-manager", "namespace": "kube-system"},
        "spec": {
            "replicas": 2,
            "selector": {},
            "template": {"spec": {
                "serviceAccountName": "ccm",
                "tolerations": tolerations,
                "containers": [{"name": "c", "image": "sakura-cloud-controller-manager:1",
                    "command": ["/sakura-cloud-controller-manager"], "args": args}]
            }}
        },
        "status": status
    }))
}

pub(super) fn lease(holder: &str, renewed: Option<&str>) -> Lease {
    from(json!({
        "metadata": {"name": "cloud-controller-manager", "namespace": "kube-system"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed}
    }))
}

pub(super) fn cluster() -> ClusterFacts {
    ClusterFacts {
        now: now(),
        namespace: "kube-system".into(),
        lease_name: "cloud-controller-manager".into(),
        core: Ok(Workloads::default()),
        warnings: Ok(Vec::new()),
        kube_proxy: Ok(None),
        deployments: Ok(vec![deployment(
            json!([{"key": TAINT_UNINITIALIZED, "effect": "NoSchedule"}]),
            &[],
            Some(2),
        )]),
        daemonsets: Ok(Vec::new()),
        lease: Ok(Some(lease("me", Some("2025-06-01T11:59:55.000000Z")))),
        rbac: Ok(Rbac::default()),
    }
}

pub(super) fn found() -> FoundWorkload {
    controller_workload(&cluster()).found.unwrap()
}

pub(super) fn ids_and_status(f: &Finding) -> (&str, Status) {
    (f.id, f.status)
}
