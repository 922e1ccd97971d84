//! Defaulting the real server's admission chain does for core kinds a CCM reads: Services get a
//! `type`, a cluster IP and node ports (a CCM targets node ports), Namespaces get their phase and
//! name label, Secrets their `Opaque` type. Only applied to core-group kinds, and only when enabled in the config.

use std::collections::HashSet;

use serde_json::{Value, json};

/// Allocation counters, kept in the store state so IPs and ports stay unique.
#[derive(Debug)]
pub(crate) struct Allocators {
    next_ip: u32,
    next_node_port: u16,
}

impl Allocators {
    pub(crate) fn new() -> Self {
        Self {
            next_ip: 10,
            next_node_port: 30000,
        }
    }

    fn cluster_ip(&mut self) -> String {
        // 10.96.0.0/12, as kubeadm's default service CIDR.
        let n = self.next_ip;
        self.next_ip = self.next_ip.wrapping_add(1) % (1 << 20);
        format!("10.{}.{}.{}", 96 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF)
    }

    /// Hands out only cluster IPs after the one of `index` (see [`cluster_ip_index`]).
    pub(crate) fn skip_cluster_ips_to(&mut self, index: u32) {
        self.next_ip = self.next_ip.max(index.wrapping_add(1) % (1 << 20));
    }

    fn node_port(&mut self, used: &HashSet<u64>) -> Option<u64> {
        for _ in 0..=2767 {
            let p = u64::from(self.next_node_port);
            self.next_node_port = if self.next_node_port >= 32767 {
                30000
            } else {
                self.next_node_port + 1
            };
            if !used.contains(&p) {
                return Some(p);
            }
        }
        None
    }
}

/// Node ports used by a Service object.
/// The allocator's index of a cluster IP it handed out (10.96.0.0/12), if it is one.
pub(crate) fn cluster_ip_index(ip: &str) -> Option<u32> {
    let octets: Vec<u32> = ip
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    match octets[..] {
        [10, b @ 96..=111, c @ 0..=255, d @ 0..=255] => Some(((b - 96) << 16) | (c << 8) | d),
        _ => None,
    }
}

pub(crate) fn node_ports_of(svc: &Value) -> impl Iterator<Item = u64> + '_ {
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("nodePort").and_then(Value::as_u64));
    let hc = svc
        .pointer("/spec/healthCheckNodePort")
        .and_then(Value::as_u64);
    ports.chain(hc)
}

/// Namespace defaults on create.
pub(crate) fn namespace_on_create(obj: &mut Value, name: &str) {
    if let Some(o) = obj.as_object_mut() {
        let status = o.entry("status").or_insert_with(|| json!({}));
        if let Some(s) = status.as_object_mut() {
            s.entry("phase").or_insert_with(|| json!("Active"));
        }
        let spec = o.entry("spec").or_insert_with(|| json!({}));
        if let Some(s) = spec.as_object_mut() {
            s.entry("finalizers")
                .or_insert_with(|| json!(["kubernetes"]));
        }
    }
    if let Some(meta) = crate::meta::meta_mut(obj) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
}

/// Secret defaults on create: `type: Opaque` when unset, as upstream's `SetDefaults_Secret`.
pub(crate) fn secret_on_create(obj: &mut Value) {
    if let Some(o) = obj.as_object_mut()
        && o.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
    {
        o.insert("type".into(), json!("Opaque"));
    }
}

/// Service defaults on create and update. `old` is the stored object on update, whose
/// allocated cluster IP and node ports carry over when the new spec omits them (as the real
/// server does for a PUT that leaves them out).
pub(crate) fn service(
    obj: &mut Value,
    old: Option<&Value>,
    alloc: &mut Allocators,
    used_node_ports: &HashSet<u64>,
) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    let spec = o.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let old_spec = old.and_then(|o| o.get("spec"));
    let ty = spec
        .entry("type")
        .or_insert_with(|| json!("ClusterIP"))
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    spec.entry("sessionAffinity")
        .or_insert_with(|| json!("None"));
    if ty == "ExternalName" {
        return;
    }
    spec.entry("internalTrafficPolicy")
        .or_insert_with(|| json!("Cluster"));
    let needs_node_ports = ty == "NodePort"
        || (ty == "LoadBalancer"
            && spec
                .get("allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false));
    if ty == "NodePort" || ty == "LoadBalancer" {
        spec.entry("externalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        spec.entry("allocateLoadBalancerNodePorts")
            .or_insert_with(|| json!(true));
    }
    let ip = match spec.get("clusterIP").and_then(Value::as_str) {
        Some(ip) if !ip.is_empty() => ip.to_string(),
        _ => old_spec
            .and_then(|s| s.get("clusterIP"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| alloc.cluster_ip()),
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.entry("clusterIPs").or_insert_with(|| json!([ip]));
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!("SingleStack"));
    let mut used = used_node_ports.clone();
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut() {
            let Some(p) = p.as_object_mut() else {
                continue;
            };
            p.entry("protocol").or_insert_with(|| json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                p.entry("targetPort").or_insert(port);
            }
            // 0 is "not set", as in Go, where the field is a plain int32.
            let given = p.get("nodePort").and_then(Value::as_u64).unwrap_or(0);
            if !needs_node_ports || given != 0 {
                continue;
            }
            let previous = old_spec
                .and_then(|s| s.get("ports"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|op| {
                    op.get("port") == p.get("port") && op.get("protocol") == p.get("protocol")
                })
                .and_then(|op| op.get("nodePort").and_then(Value::as_u64));
            if let Some(np) = previous.or_else(|| alloc.node_port(&used)) {
                used.insert(np);
                p.insert("nodePort".into(), json!(np));
            }
        }
    }
    let local = spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local");
    if ty == "LoadBalancer" && local && spec.get("healthCheckNodePort").is_none() {
        let previous = old_spec
            .and_then(|s| s.get("healthCheckNodePort"))
            .and_then(Value::as_u64);
        if let Some(np) = previous.or_else(|| alloc.node_port(&used)) {
            spec.insert("healthCheckNodePort".into(), json!(np));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_gets_ip_and_unique_node_ports() {
        let mut alloc = Allocators::new();
        let used: HashSet<u64> = [30000].into_iter().collect();
        let mut svc = json!({"spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
            "ports": [{"port": 80}, {"port": 443, "nodePort": 31000}]}});
        service(&mut svc, None, &mut alloc, &used);
        let ports = svc["spec"]["ports"].as_array().unwrap();
        assert_eq!(ports[0]["nodePort"], 30001);
        assert_eq!(ports[0]["protocol"], "TCP");
        assert_eq!(ports[0]["targetPort"], 80);
        assert_eq!(ports[1]["nodePort"], 31000);
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(svc["spec"]["healthCheckNodePort"], 30002);

        // A PUT without the allocated values keeps them.
        let mut again =
            json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]}});
        service(&mut again, Some(&svc), &mut alloc, &used);
        assert_eq!(again["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(again["spec"]["ports"][0]["nodePort"], 30001);

        let mut zero =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 0}]}});
        service(&mut zero, None, &mut alloc, &used);
        assert_eq!(zero["spec"]["ports"][0]["nodePort"], 30003);

        let mut plain = json!({"spec": {"ports": [{"port": 80}]}});
        service(&mut plain, None, &mut alloc, &used);
        assert_eq!(plain["spec"]["type"], "ClusterIP");
        assert!(plain["spec"]["ports"][0].get("nodePort").is_none());
    }
}
