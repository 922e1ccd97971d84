//! What the bench's Nodes look like: small (name, one label, the taint, one condition) or
//! realistic (what a kubelet registers on a real cluster: ~40 images, managedFields, the usual
//! conditions, nodeInfo, capacity, labels and annotations; about 20–30 kB of JSON each).

use std::net::Ipv4Addr;

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::world::{TAINT_UNINITIALIZED, node_name};

/// The shape of the Nodes a scenario registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeShape {
    /// Name, hostname label, the `uninitialized` taint and a Ready condition (the shape of
    /// the benchmarks before 2026-12).
    Small,
    /// What a real kubelet registers (see the module's documentation).
    Realistic,
}

impl NodeShape {
    /// The name shown in results.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeShape::Small => "small",
            NodeShape::Realistic => "realistic",
        }
    }
}

/// Node `i` as the kubelet registers it (tainted, not yet initialized). `managedFields` are
/// not part of it: the API server ignores them on create (see [`managed_fields`]).
pub fn node(shape: NodeShape, i: usize, internal_ip: Ipv4Addr) -> Value {
    let name = node_name(i);
    let taints = json!([{"key": TAINT_UNINITIALIZED, "value": "true", "effect": "NoSchedule"}]);
    match shape {
        NodeShape::Small => json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        }),
        NodeShape::Realistic => realistic(i, &name, internal_ip, taints),
    }
}

const HEARTBEAT: &str = "2026-12-06T09:41:27Z";
const TRANSITION: &str = "2026-11-30T02:13:05Z";

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "lastHeartbeatTime": HEARTBEAT,
           "lastTransitionTime": TRANSITION, "reason": reason, "message": message})
}

/// A pseudo-random hex string of `len` digits derived from `seed` (stable across runs).
fn hex(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.push_str(&format!("{:016x}", x.wrapping_mul(0x2545_F491_4F6C_DD1D)));
    }
    out.truncate(len);
    out
}

/// The images a worker typically holds: the control plane's and add-ons' images, a CNI, CSI
/// sidecars and a few dozen application images, each under a tag and a digest.
fn images(i: usize) -> Vec<Value> {
    const REPOS: [&str; 40] = [
        "registry.k8s.io/kube-proxy",
        "registry.k8s.io/pause",
        "registry.k8s.io/coredns/coredns",
        "registry.k8s.io/metrics-server/metrics-server",
        "registry.k8s.io/sig-storage/csi-node-driver-registrar",
        "registry.k8s.io/sig-storage/livenessprobe",
        "registry.k8s.io/sig-storage/csi-provisioner",
        "registry.k8s.io/sig-storage/csi-attacher",
        "registry.k8s.io/sig-storage/csi-resizer",
        "registry.k8s.io/sig-storage/csi-snapshotter",
        "registry.k8s.io/ingress-nginx/controller",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics",
        "docker.io/calico/node",
        "docker.io/calico/cni",
        "docker.io/calico/kube-controllers",
        "docker.io/calico/typha",
        "quay.io/prometheus/node-exporter",
        "quay.io/prometheus/prometheus",
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "quay.io/jetstack/cert-manager-controller",
        "quay.io/jetstack/cert-manager-webhook",
        "quay.io/jetstack/cert-manager-cainjector",
        "docker.io/grafana/grafana",
        "docker.io/grafana/loki",
        "docker.io/grafana/promtail",
        "docker.io/library/nginx",
        "docker.io/library/redis",
        "docker.io/library/postgres",
        "docker.io/library/busybox",
        "docker.io/library/alpine",
        "ghcr.io/fluxcd/source-controller",
        "ghcr.io/fluxcd/kustomize-controller",
        "ghcr.io/fluxcd/helm-controller",
        "ghcr.io/example-corp/api-gateway",
        "ghcr.io/example-corp/orders-service",
        "ghcr.io/example-corp/payments-service",
        "ghcr.io/example-corp/catalog-service",
        "ghcr.io/example-corp/frontend",
        "ghcr.io/example-corp/worker",
        "ghcr.io/example-corp/batch-exporter",
    ];
    REPOS
        .iter()
        .enumerate()
        .map(|(k, repo)| {
            let seed = (i as u64) << 8 | k as u64;
            json!({
                "names": [
                    format!("{repo}@sha256:{}", hex(seed, 64)),
                    format!("{repo}:v1.{}.{}", k % 30, (i + k) % 10),
                ],
                "sizeBytes": 5_000_000 + (seed.wrapping_mul(7919) % 400_000_000),
            })
        })
        .collect()
}

/// Labels node-feature-discovery puts on a Node (a common add-on, e.g. with GPU operators).
const NFD_LABELS: [&str; 24] = [
    "cpu-cpuid.ADX",
    "cpu-cpuid.AESNI",
    "cpu-cpuid.AVX",
    "cpu-cpuid.AVX2",
    "cpu-cpuid.FMA3",
    "cpu-cpuid.SHA",
    "cpu-cpuid.VAES",
    "cpu-cpuid.VPCLMULQDQ",
    "cpu-hardware_multithreading",
    "cpu-model.family",
    "cpu-model.id",
    "cpu-model.vendor_id",
    "kernel-config.NO_HZ",
    "kernel-config.NO_HZ_IDLE",
    "kernel-version.full",
    "kernel-version.major",
    "kernel-version.minor",
    "kernel-version.revision",
    "pci-1af4.present",
    "storage-nonrotationaldisk",
    "system-os_release.ID",
    "system-os_release.VERSION_ID",
    "system-os_release.VERSION_ID.major",
    "system-os_release.VERSION_ID.minor",
];

fn realistic(i: usize, name: &str, internal_ip: Ipv4Addr, taints: Value) -> Value {
    let pod_cidr = format!("10.{}.{}.0/24", 64 + i / 256, i % 256);
    let mut labels = json!({
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/worker": "",
        "node.example.com/pool": format!("pool-{}", i % 4),
        "node.example.com/team": "platform",
    });
    for key in NFD_LABELS {
        labels[format!("feature.node.kubernetes.io/{key}")] = json!("true");
    }
    // A dozen CSI volumes attached and mounted.
    let volumes: Vec<String> = (0..12)
        .map(|v| {
            format!(
                "kubernetes.io/csi/csi.sakura.example^pvc-{}",
                hex((i as u64) << 4 | v, 32)
            )
        })
        .collect();
    json!({
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "nfd.node.kubernetes.io/feature-labels": NFD_LABELS.join(","),
                "nfd.node.kubernetes.io/worker.version": "v0.17.2",
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "csi.volume.kubernetes.io/nodeid": format!("{{\"csi.sakura.example\":\"{name}\"}}"),
                "projectcalico.org/IPv4Address": format!("{internal_ip}/16"),
                "projectcalico.org/IPv4VXLANTunnelAddr": format!("192.168.{}.{}", i / 250, 1 + i % 250),
            },
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr], "taints": taints},
        "status": {
            "capacity": {"cpu": "8", "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                         "hugepages-2Mi": "0", "memory": "32863520Ki", "pods": "110"},
            "allocatable": {"cpu": "7800m", "ephemeral-storage": "94580335255", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": "32146720Ki", "pods": "110"},
            "conditions": [
                condition("NetworkUnavailable", "False", "CalicoIsUp", "Calico is running on this node"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                // node-problem-detector's (e.g. on by default on GKE).
                condition("KernelDeadlock", "False", "KernelHasNoDeadlock", "kernel has no deadlock"),
                condition("ReadonlyFilesystem", "False", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
                condition("FrequentKubeletRestart", "False", "NoFrequentKubeletRestart", "kubelet is functioning properly"),
                condition("FrequentContainerdRestart", "False", "NoFrequentContainerdRestart", "containerd is functioning properly"),
                condition("FrequentUnregisterNetDevice", "False", "NoFrequentUnregisterNetDevice", "node is functioning properly"),
                condition("CorruptDockerOverlay2", "False", "NoCorruptDockerOverlay2", "docker overlay2 is functioning properly"),
            ],
            "addresses": [{"type": "InternalIP", "address": internal_ip.to_string()},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": hex(i as u64 ^ 0xA5A5, 32),
                "systemUUID": format!("{}-{}-{}-{}-{}", hex(i as u64, 8), hex(i as u64 + 1, 4),
                                      hex(i as u64 + 2, 4), hex(i as u64 + 3, 4), hex(i as u64 + 4, 12)),
                "bootID": format!("{}-{}-{}-{}-{}", hex(i as u64 + 5, 8), hex(i as u64 + 6, 4),
                                  hex(i as u64 + 7, 4), hex(i as u64 + 8, 4), hex(i as u64 + 9, 12)),
                "kernelVersion": "6.8.0-51-generic",
                "osImage": "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": "v1.35.0",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": images(i),
            "volumesInUse": volumes,
            "volumesAttached": volumes.iter().map(|v| json!({"name": v, "devicePath": ""})).collect::<Vec<_>>(),
            "runtimeHandlers": [
                {"name": "runc", "features": {"recursiveReadOnlyMounts": true, "userNamespaces": true}},
                {"name": "", "features": {"recursiveReadOnlyMounts": true, "userNamespaces": true}},
            ],
            "features": {"supplementalGroupsPolicy": true},
        },
    })
}

fn fields_entry(manager: &str, operation: &str, subresource: Option<&str>, fields: Value) -> Value {
    let mut entry = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "time": HEARTBEAT,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if let Some(sub) = subresource {
        entry["subresource"] = json!(sub);
    }
    entry
}

/// The `managedFields` a real Node carries: the kubelet's registration and status updates
/// (conditions, images, nodeInfo, …), the node IPAM controller's pod CIDR, the CNI's
/// annotations and the cloud-controller-manager's initialization and addresses.
pub fn managed_fields(node: &Value) -> Value {
    let keys = |v: &Value| -> Value {
        let map: serde_json::Map<String, Value> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| (format!("f:{k}"), json!({})))
            .collect();
        Value::Object(map)
    };
    let status = &node["status"];
    let conditions: serde_json::Map<String, Value> = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                format!(
                    "k:{{\"type\":\"{}\"}}",
                    c["type"].as_str().unwrap_or_default()
                ),
                json!({".": {}, "f:lastHeartbeatTime": {}, "f:lastTransitionTime": {},
                       "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {}}),
            )
        })
        .collect();
    let kubelet_meta = json!({
        "f:metadata": {
            "f:annotations": {".": {}, "f:kubeadm.alpha.kubernetes.io/cri-socket": {},
                              "f:volumes.kubernetes.io/controller-managed-attach-detach": {}},
            "f:labels": {".": {}, "f:beta.kubernetes.io/arch": {}, "f:beta.kubernetes.io/os": {},
                         "f:kubernetes.io/arch": {}, "f:kubernetes.io/hostname": {},
                         "f:kubernetes.io/os": {}, "f:node-role.kubernetes.io/worker": {},
                         "f:node.example.com/pool": {}, "f:node.example.com/team": {}},
        },
        "f:spec": {"f:taints": {}},
    });
    let kubelet_status = json!({
        "f:metadata": {"f:annotations": {"f:csi.volume.kubernetes.io/nodeid": {}}},
        "f:status": {
            "f:allocatable": keys(&status["allocatable"]),
            "f:capacity": keys(&status["capacity"]),
            "f:conditions": Value::Object(conditions),
            "f:daemonEndpoints": {"f:kubeletEndpoint": {"f:Port": {}}},
            "f:features": {".": {}, "f:supplementalGroupsPolicy": {}},
            "f:images": {},
            "f:nodeInfo": keys(&status["nodeInfo"]),
            "f:runtimeHandlers": {},
            "f:volumesInUse": {},
        },
    });
    json!([
        fields_entry("kubelet", "Update", None, kubelet_meta),
        fields_entry(
            "kube-controller-manager",
            "Update",
            None,
            json!({
                "f:metadata": {"f:annotations": {"f:node.alpha.kubernetes.io/ttl": {}}},
                "f:spec": {"f:podCIDR": {}, "f:podCIDRs": {".": {}, "v:\"10.64.0.0/24\"": {}}},
            })
        ),
        fields_entry(
            "calico-node",
            "Update",
            Some("status"),
            json!({
                "f:metadata": {"f:annotations": {"f:projectcalico.org/IPv4Address": {},
                                                 "f:projectcalico.org/IPv4VXLANTunnelAddr": {}}},
                "f:status": {"f:conditions": {"k:{\"type\":\"NetworkUnavailable\"}": {
                    ".": {}, "f:lastHeartbeatTime": {}, "f:lastTransitionTime": {}, "f:message": {},
                    "f:reason": {}, "f:status": {}, "f:type": {}}}},
            })
        ),
        fields_entry(
            "sakura-cloud-controller-manager",
            "Update",
            None,
            json!({
                "f:metadata": {"f:labels": {"f:node.kubernetes.io/instance-type": {},
                                            "f:topology.kubernetes.io/region": {},
                                            "f:topology.kubernetes.io/zone": {}}},
                "f:spec": {"f:providerID": {}},
            })
        ),
        fields_entry(
            "sakura-cloud-controller-manager",
            "Update",
            Some("status"),
            json!({
                "f:status": {"f:addresses": {"k:{\"type\":\"ExternalIP\"}": {".": {}, "f:address": {}, "f:type": {}},
                                             "k:{\"type\":\"Hostname\"}": {".": {}, "f:address": {}, "f:type": {}},
                                             "k:{\"type\":\"InternalIP\"}": {".": {}, "f:address": {}, "f:type": {}}}},
            })
        ),
        fields_entry("kubelet", "Update", Some("status"), kubelet_status),
    ])
}
