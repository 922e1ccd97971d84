//! Per-kind Table columns, as upstream's printers (`pkg/printers/internalversion/printers.go`)
//! print them: column definitions, and one row of cells per object. The server prints every
//! column, the `priority: 1` ones too (kubectl shows those with `-o wide`), as the real server
//! does. Ages are durations (`5s`, `3m20s`, `2d`) by upstream's `HumanDuration`.
//!
//! Pure functions of the object and the current time, so each kind's cells are unit-tested.

use serde_json::{Value, json};

/// One column: name, type, priority, format (`name` for the name column).
pub(crate) type Column = (&'static str, &'static str, u8, &'static str);

const NAME: Column = ("Name", "string", 0, "name");
const AGE: Column = ("Age", "string", 0, "");

/// The columns for a kind (`group` empty for the core group).
pub(crate) fn columns(group: &str, kind: &str) -> Vec<Column> {
    let s = |n: &'static str, p: u8| (n, "string", p, "");
    let i = |n: &'static str, p: u8| (n, "integer", p, "");
    match (group, kind) {
        ("", "Node") => vec![
            NAME,
            s("Status", 0),
            s("Roles", 0),
            AGE,
            s("Version", 0),
            s("Internal-IP", 1),
            s("External-IP", 1),
            s("OS-Image", 1),
            s("Kernel-Version", 1),
            s("Container-Runtime", 1),
        ],
        ("", "Service") => vec![
            NAME,
            s("Type", 0),
            s("Cluster-IP", 0),
            s("External-IP", 0),
            s("Port(s)", 0),
            AGE,
            s("Selector", 1),
        ],
        ("" | "events.k8s.io", "Event") => vec![
            s("Last Seen", 0),
            s("Type", 0),
            s("Reason", 0),
            s("Object", 0),
            s("Subobject", 1),
            s("Source", 1),
            s("Message", 0),
            s("First Seen", 1),
            s("Count", 1),
            ("Name", "string", 1, "name"),
        ],
        ("", "Namespace") => vec![NAME, s("Status", 0), AGE],
        ("", "ConfigMap") => vec![NAME, i("Data", 0), AGE],
        ("", "Secret") => vec![NAME, s("Type", 0), i("Data", 0), AGE],
        ("", "Endpoints") => vec![NAME, s("Endpoints", 0), AGE],
        ("", "Pod") => vec![
            NAME,
            s("Ready", 0),
            s("Status", 0),
            s("Restarts", 0),
            AGE,
            s("IP", 1),
            s("Node", 1),
            s("Nominated Node", 1),
            s("Readiness Gates", 1),
        ],
        ("coordination.k8s.io", "Lease") => vec![NAME, s("Holder", 0), AGE],
        ("apps", "Deployment") => vec![
            NAME,
            s("Ready", 0),
            i("Up-to-date", 0),
            i("Available", 0),
            AGE,
            s("Containers", 1),
            s("Images", 1),
            s("Selector", 1),
        ],
        ("apps", "DaemonSet") => vec![
            NAME,
            i("Desired", 0),
            i("Current", 0),
            i("Ready", 0),
            i("Up-to-date", 0),
            i("Available", 0),
            s("Node Selector", 0),
            AGE,
            s("Containers", 1),
            s("Images", 1),
            s("Selector", 1),
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            vec![NAME, ("Created At", "date", 0, "")]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            NAME,
            s("Role", 0),
            AGE,
            s("Users", 1),
            s("Groups", 1),
            s("ServiceAccounts", 1),
        ],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            NAME,
            s("AddressType", 0),
            s("Ports", 0),
            s("Endpoints", 0),
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

/// The Table's `columnDefinitions` for a kind.
pub(crate) fn column_definitions(group: &str, kind: &str) -> Value {
    columns(group, kind)
        .into_iter()
        .map(|(name, ty, priority, format)| {
            json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
        })
        .collect()
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2026-01-02T03:04:05Z`, with or without
/// a fraction), as the server writes them.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant), the inverse of meta::rfc3339.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Upstream's `duration.HumanDuration`.
pub(crate) fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `translateTimestampSince`: `<unknown>` for a missing time.
fn since(t: Option<&Value>, now: i64) -> String {
    match t.and_then(Value::as_str).and_then(parse_rfc3339) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn int_at(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn or(s: &str, default: &str) -> String {
    if s.is_empty() { default } else { s }.to_owned()
}

fn items<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `labels.FormatLabels`: `k=v,k2=v2` sorted, `<none>` when empty.
fn format_labels(m: Option<&Value>) -> String {
    let pairs: Vec<String> = m
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// `metav1.FormatLabelSelector`.
fn format_label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return "<none>".into();
    };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    for e in items(sel, "/matchExpressions") {
        let key = str_at(e, "/key");
        let values: Vec<&str> = items(e, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match str_at(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

fn node_status(node: &Value) -> String {
    let mut status: Vec<String> = items(node, "/status/conditions")
        .iter()
        .filter(|c| str_at(c, "/type") == "Ready")
        .take(1)
        .map(|c| {
            if str_at(c, "/status") == "True" {
                "Ready".to_owned()
            } else {
                "NotReady".to_owned()
            }
        })
        .collect();
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    status.join(",")
}

fn node_roles(node: &Value) -> String {
    let mut roles: Vec<String> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| {
                    if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                        (!role.is_empty()).then(|| role.to_owned())
                    } else if k == "kubernetes.io/role" {
                        v.as_str().filter(|v| !v.is_empty()).map(str::to_owned)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn node_address(node: &Value, ty: &str) -> String {
    items(node, "/status/addresses")
        .iter()
        .find(|a| str_at(a, "/type") == ty)
        .map(|a| str_at(a, "/address").to_owned())
        .unwrap_or_else(|| "<none>".into())
}

fn node_cells(node: &Value, now: i64) -> Vec<Value> {
    let info = |f: &str| or(str_at(node, &format!("/status/nodeInfo/{f}")), "<unknown>");
    vec![
        json!(node_status(node)),
        json!(node_roles(node)),
        json!(since(node.pointer("/metadata/creationTimestamp"), now)),
        json!(str_at(node, "/status/nodeInfo/kubeletVersion")),
        json!(node_address(node, "InternalIP")),
        json!(node_address(node, "ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// `loadBalancerStatusStringer` with `wide` (the server prints wide).
fn load_balancer_ips(svc: &Value) -> Vec<String> {
    items(svc, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, "/ip");
            let host = str_at(i, "/hostname");
            if !ip.is_empty() {
                Some(ip.to_owned())
            } else if !host.is_empty() {
                Some(host.to_owned())
            } else {
                None
            }
        })
        .collect()
}

/// `getServiceExternalIP`.
pub(crate) fn service_external_ip(svc: &Value) -> String {
    let external: Vec<String> = items(svc, "/spec/externalIPs")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    match str_at(svc, "/spec/type") {
        "ClusterIP" | "NodePort" | "" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" | "" => "<none>".into(),
        "LoadBalancer" => {
            let mut all = load_balancer_ips(svc);
            all.extend(external);
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    }
}

/// `makePortString`: `80:31234/TCP,443/TCP`.
pub(crate) fn service_ports(svc: &Value) -> String {
    let ports: Vec<String> = items(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let port = int_at(p, "/port");
            let proto = or(str_at(p, "/protocol"), "TCP");
            match int_at(p, "/nodePort") {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn service_cells(svc: &Value, now: i64) -> Vec<Value> {
    let cluster_ip = items(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| "<none>".into());
    vec![
        json!(str_at(svc, "/spec/type")),
        json!(cluster_ip),
        json!(service_external_ip(svc)),
        json!(service_ports(svc)),
        json!(since(svc.pointer("/metadata/creationTimestamp"), now)),
        json!(format_labels(svc.pointer("/spec/selector"))),
    ]
}

/// `printEvent`, for a core `v1` Event (events.k8s.io ones are converted first).
fn event_cells(ev: &Value, now: i64) -> Vec<Value> {
    let first = match ev.get("firstTimestamp").filter(|t| t.is_string()) {
        Some(t) => since(Some(t), now),
        None => since(ev.get("eventTime"), now),
    };
    let mut last = match ev.get("lastTimestamp").filter(|t| t.is_string()) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(ev, "/count");
    if ev.get("series").is_some_and(Value::is_object) {
        last = since(ev.pointer("/series/lastObservedTime"), now);
        count = int_at(ev, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(ev, "/involvedObject/kind").to_ascii_lowercase();
    let name = str_at(ev, "/involvedObject/name");
    let target = if name.is_empty() {
        kind
    } else {
        format!("{kind}/{name}")
    };
    let component = or(
        str_at(ev, "/source/component"),
        str_at(ev, "/reportingComponent"),
    );
    let instance = or(str_at(ev, "/source/host"), str_at(ev, "/reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(str_at(ev, "/type")),
        json!(str_at(ev, "/reason")),
        json!(target),
        json!(str_at(ev, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(ev, "/message").trim()),
        json!(first),
        json!(count),
        json!(str_at(ev, "/metadata/name")),
    ]
}

fn containers_and_images(pod_spec_ptr: &str, obj: &Value) -> (String, String) {
    let cs = items(obj, &format!("{pod_spec_ptr}/containers"));
    let names: Vec<&str> = cs.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn pod_cells(pod: &Value, now: i64) -> Vec<Value> {
    let total = items(pod, "/spec/containers").len();
    let statuses = items(pod, "/status/containerStatuses");
    let ready = statuses
        .iter()
        .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = statuses.iter().map(|s| int_at(s, "/restartCount")).sum();
    let reason = or(
        str_at(pod, "/status/reason"),
        &or(str_at(pod, "/status/phase"), "Pending"),
    );
    let gates = items(pod, "/spec/readinessGates").len();
    vec![
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        json!(since(pod.pointer("/metadata/creationTimestamp"), now)),
        json!(or(str_at(pod, "/status/podIP"), "<none>")),
        json!(or(str_at(pod, "/spec/nodeName"), "<none>")),
        json!(or(str_at(pod, "/status/nominatedNodeName"), "<none>")),
        json!(if gates == 0 {
            "<none>".to_owned()
        } else {
            format!("0/{gates}")
        }),
    ]
}

fn subjects(binding: &Value, kind: &str) -> String {
    items(binding, "/subjects")
        .iter()
        .filter(|s| str_at(s, "/kind") == kind)
        .map(|s| {
            let ns = str_at(s, "/namespace");
            if kind == "ServiceAccount" {
                format!("{ns}/{}", str_at(s, "/name"))
            } else {
                str_at(s, "/name").to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `formatEndpoints`-like: up to three `ip:port`, then ` + N more...`.
fn first_three(all: Vec<String>, empty: &str) -> String {
    match all.len() {
        0 => empty.to_owned(),
        n if n > 3 => format!("{} + {} more...", all[..3].join(","), n - 3),
        _ => all.join(","),
    }
}

fn endpoints_cells(ep: &Value) -> String {
    let mut all = Vec::new();
    for subset in items(ep, "/subsets") {
        for port in items(subset, "/ports") {
            for addr in items(subset, "/addresses") {
                all.push(format!("{}:{}", str_at(addr, "/ip"), int_at(port, "/port")));
            }
        }
        if items(subset, "/ports").is_empty() {
            all.extend(
                items(subset, "/addresses")
                    .iter()
                    .map(|a| str_at(a, "/ip").to_owned()),
            );
        }
    }
    first_three(all, "<none>")
}

/// The cells of one object's row, after its name (or all of them for Events, which print the
/// name last).
pub(crate) fn cells(group: &str, kind: &str, obj: &Value, now: i64) -> Vec<Value> {
    let name = json!(str_at(obj, "/metadata/name"));
    let age = json!(since(obj.pointer("/metadata/creationTimestamp"), now));
    let rest = match (group, kind) {
        ("", "Event") => return event_cells(obj, now),
        ("events.k8s.io", "Event") => return event_cells(&crate::events::to_core(obj), now),
        ("", "Node") => node_cells(obj, now),
        ("", "Service") => service_cells(obj, now),
        ("", "Namespace") => vec![json!(str_at(obj, "/status/phase")), age],
        ("", "ConfigMap") => {
            let n = |p| obj.get(p).and_then(Value::as_object).map_or(0, |m| m.len());
            vec![json!(n("data") + n("binaryData")), age]
        }
        ("", "Secret") => {
            let n = obj
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len());
            vec![json!(str_at(obj, "/type")), json!(n), age]
        }
        ("", "Endpoints") => vec![json!(endpoints_cells(obj)), age],
        ("", "Pod") => pod_cells(obj, now),
        ("coordination.k8s.io", "Lease") => vec![json!(str_at(obj, "/spec/holderIdentity")), age],
        ("apps", "Deployment") => {
            let (containers, images) = containers_and_images("/spec/template/spec", obj);
            let desired = obj
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            vec![
                json!(format!(
                    "{}/{desired}",
                    int_at(obj, "/status/readyReplicas")
                )),
                json!(int_at(obj, "/status/updatedReplicas")),
                json!(int_at(obj, "/status/availableReplicas")),
                age,
                json!(containers),
                json!(images),
                json!(format_label_selector(obj.pointer("/spec/selector"))),
            ]
        }
        ("apps", "DaemonSet") => {
            let (containers, images) = containers_and_images("/spec/template/spec", obj);
            let st = |f: &str| json!(int_at(obj, &format!("/status/{f}")));
            vec![
                st("desiredNumberScheduled"),
                st("currentNumberScheduled"),
                st("numberReady"),
                st("updatedNumberScheduled"),
                st("numberAvailable"),
                json!(format_labels(
                    obj.pointer("/spec/template/spec/nodeSelector")
                )),
                age,
                json!(containers),
                json!(images),
                json!(format_label_selector(obj.pointer("/spec/selector"))),
            ]
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            vec![json!(str_at(obj, "/metadata/creationTimestamp"))]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            json!(format!(
                "{}/{}",
                str_at(obj, "/roleRef/kind"),
                str_at(obj, "/roleRef/name")
            )),
            age,
            json!(subjects(obj, "User")),
            json!(subjects(obj, "Group")),
            json!(subjects(obj, "ServiceAccount")),
        ],
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = items(obj, "/ports")
                .iter()
                .map(|p| int_at(p, "/port").to_string())
                .collect();
            let addrs: Vec<String> = items(obj, "/endpoints")
                .iter()
                .flat_map(|e| items(e, "/addresses"))
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            vec![
                json!(str_at(obj, "/addressType")),
                json!(if ports.is_empty() {
                    "<unset>".to_owned()
                } else {
                    ports.join(",")
                }),
                json!(first_three(addrs, "<unset>")),
                age,
            ]
        }
        _ => vec![age],
    };
    std::iter::once(name).chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn ago(secs: i64) -> String {
        crate::meta::rfc3339((NOW - secs) as u64)
    }

    #[test]
    fn human_duration_follows_upstream() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (8 * 86400, "8d"),
            (2 * 365 * 86400, "2y"),
            (2 * 365 * 86400 + 86400, "2y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}s");
        }
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(
            parse_rfc3339("2026-01-01T00:00:00.123456Z"),
            Some(1_767_225_600)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn nodes_print_status_roles_version_and_wide_columns() {
        let node = json!({
            "metadata": {"name": "cp-1", "creationTimestamp": ago(300),
                "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp-1"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.0.10"}, {"type": "Hostname", "address": "cp-1"}],
                "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Ubuntu 24.04.2 LTS",
                    "kernelVersion": "6.8.0-60-generic", "containerRuntimeVersion": "containerd://1.7.27"},
            },
        });
        assert_eq!(
            cells("", "Node", &node, NOW),
            vec![
                json!("cp-1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane"),
                json!("5m"),
                json!("v1.32.4"),
                json!("192.168.0.10"),
                json!("<none>"),
                json!("Ubuntu 24.04.2 LTS"),
                json!("6.8.0-60-generic"),
                json!("containerd://1.7.27"),
            ]
        );
        assert_eq!(
            columns("", "Node").len(),
            cells("", "Node", &node, NOW).len()
        );
        let bare = json!({"metadata": {"name": "w"}});
        let c = cells("", "Node", &bare, NOW);
        assert_eq!(
            (&c[1], &c[2], &c[3]),
            (&json!("Unknown"), &json!("<none>"), &json!("<unknown>"))
        );
    }

    #[test]
    fn services_print_pending_then_the_ip_and_node_ports() {
        let mut svc = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(5)},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "selector": {"app": "web", "tier": "front"},
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31234}, {"port": 53, "protocol": "UDP"}]},
        });
        assert_eq!(
            cells("", "Service", &svc, NOW),
            vec![
                json!("web"),
                json!("LoadBalancer"),
                json!("10.96.0.10"),
                json!("<pending>"),
                json!("80:31234/TCP,53/UDP"),
                json!("5s"),
                json!("app=web,tier=front"),
            ]
        );
        svc["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.25"}]}});
        assert_eq!(service_external_ip(&svc), "203.0.113.25");
        let plain = json!({"spec": {"type": "ClusterIP", "ports": []}});
        assert_eq!(service_external_ip(&plain), "<none>");
        assert_eq!(service_ports(&plain), "<none>");
        let named = json!({"spec": {"type": "ExternalName", "externalName": "example.com"}});
        assert_eq!(service_external_ip(&named), "example.com");
    }

    #[test]
    fn events_print_like_kubectl_get_events() {
        let ev = json!({
            "metadata": {"name": "hello.1"},
            "eventTime": format!("{}", ago(65).replace('Z', ".000000Z")),
            "reportingComponent": "sakura-cloud-controller-manager", "reportingInstance": "cm-1",
            "involvedObject": {"kind": "Service", "name": "hello"},
            "reason": "EnsuringLoadBalancer", "type": "Normal", "message": "Ensuring load balancer\n",
        });
        assert_eq!(
            cells("", "Event", &ev, NOW),
            vec![
                json!("65s"),
                json!("Normal"),
                json!("EnsuringLoadBalancer"),
                json!("service/hello"),
                json!(""),
                json!("sakura-cloud-controller-manager, cm-1"),
                json!("Ensuring load balancer"),
                json!("65s"),
                json!(1),
                json!("hello.1"),
            ]
        );
        let series = json!({"series": {"count": 4, "lastObservedTime": ago(2)},
            "firstTimestamp": ago(600), "count": 9});
        let c = cells("", "Event", &series, NOW);
        assert_eq!(
            (&c[0], &c[7], &c[8]),
            (&json!("2s"), &json!("10m"), &json!(4))
        );
    }

    #[test]
    fn workloads_config_and_rbac() {
        let dep = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(30)},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        });
        assert_eq!(
            cells("apps", "Deployment", &dep, NOW),
            vec![
                json!("web"),
                json!("0/1"),
                json!(0),
                json!(0),
                json!("30s"),
                json!("nginx"),
                json!("nginx"),
                json!("app=web")
            ]
        );
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!(cells("", "ConfigMap", &cm, NOW)[1], json!(3));
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!(
            cells("", "Secret", &secret, NOW)[1..3],
            [json!("Opaque"), json!(1)]
        );
        let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}});
        assert_eq!(
            cells("coordination.k8s.io", "Lease", &lease, NOW)[1],
            json!("me")
        );
        let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "namespace": "kube-system", "name": "ccm"}, {"kind": "User", "name": "alice"}]});
        assert_eq!(
            cells("rbac.authorization.k8s.io", "RoleBinding", &rb, NOW)[1..],
            [
                json!("ClusterRole/view"),
                json!("<unknown>"),
                json!("alice"),
                json!(""),
                json!("kube-system/ccm")
            ]
        );
        let ns = json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}});
        assert_eq!(cells("", "Namespace", &ns, NOW)[1], json!("Active"));
        for (g, k) in [
            ("", "Pod"),
            ("apps", "DaemonSet"),
            ("", "Endpoints"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("example.com", "Widget"),
        ] {
            assert_eq!(
                columns(g, k).len(),
                cells(g, k, &json!({}), NOW).len(),
                "{k}"
            );
        }
    }
}
