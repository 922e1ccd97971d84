//! The controller itself: `controller.workload` (its Deployment or DaemonSet),
//! `controller.tolerations` (of the `uninitialized` taint), `controller.leader` (a fresh
//! leader-election Lease) and `controller.rbac` (every permission it needs).

use cloud_provider::access::{ApiAccess, REQUIRED_ACCESS};
use cloud_provider::labels::TAINT_UNINITIALIZED;
use cloud_provider::options::parse_go_bool;
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::jiff::Timestamp;

use super::{Finding, Status, finding, ids};
use crate::doctor::facts::{ClusterFacts, KubeFailure, Rbac};
use crate::doctor::messages::{ControllerMessage, Message, WorkloadRef};

/// The name the controller's image, command and workload carry.
pub const BINARY_NAME: &str = "sakura-cloud-controller-manager";

/// The controller's workload as found.
#[derive(Debug, Clone)]
pub struct FoundWorkload {
    /// Which one.
    pub workload: WorkloadRef,
    /// Its Pod template.
    pub pod: PodSpec,
    /// Ready and desired replicas, when the status says.
    pub ready: Option<(i32, i32)>,
}

impl FoundWorkload {
    /// The controller container's command line after the binary (command, then args).
    pub fn arguments(&self) -> Vec<String> {
        let Some(c) = self.pod.containers.iter().find(|c| runs_controller(c)) else {
            return Vec::new();
        };
        let all: Vec<String> = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .cloned()
            .collect();
        match all.iter().position(|a| a.contains(BINARY_NAME)) {
            Some(i) => all[i + 1..].to_vec(),
            None => all,
        }
    }

    /// Whether it runs with `--leader-elect=false` (Go bool spellings; last one wins).
    pub fn leader_election_off(&self) -> bool {
        let args = self.arguments();
        let mut off = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].trim_start_matches('-');
            if args[i].starts_with('-') {
                if let Some(v) = a.strip_prefix("leader-elect=") {
                    off = parse_go_bool(v) == Ok(false);
                } else if a == "leader-elect" {
                    match args.get(i + 1).map(|v| parse_go_bool(v)) {
                        Some(Ok(v)) => {
                            off = !v;
                            i += 1;
                        }
                        _ => off = false,
                    }
                }
            }
            i += 1;
        }
        off
    }

    /// Its ServiceAccount (`default` when the template names none).
    pub fn service_account(&self) -> String {
        self.pod
            .service_account_name
            .clone()
            .or_else(|| self.pod.service_account.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }
}

fn runs_controller(c: &k8s_openapi::api::core::v1::Container) -> bool {
    c.image.as_deref().is_some_and(|i| i.contains(BINARY_NAME))
        || c.command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|a| a.contains(BINARY_NAME))
}

fn pod_runs_controller(pod: &PodSpec) -> bool {
    pod.containers.iter().any(runs_controller)
}

/// The controller's workload and its verdicts.
#[derive(Debug, Clone)]
pub struct ControllerWorkload {
    /// The workload, when found.
    pub found: Option<FoundWorkload>,
    /// `controller.workload`.
    pub findings: Vec<Finding>,
}

/// `controller.workload`: a Deployment or DaemonSet in the namespace whose Pods run the
/// controller (by image or command), Deployments first, by name.
pub fn controller_workload(cluster: &ClusterFacts) -> ControllerWorkload {
    // (kind, name, Pod template, (ready, desired)) of every workload, per listing.
    type Candidate<'a> = (
        &'static str,
        Option<&'a String>,
        Option<&'a PodTemplateSpec>,
        Option<(i32, i32)>,
    );
    let deployments: Result<Vec<Candidate<'_>>, &KubeFailure> =
        cluster.deployments.as_ref().map(|list| {
            list.iter()
                .map(|d| {
                    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    let ready = d
                        .status
                        .as_ref()
                        .map(|s| (s.ready_replicas.unwrap_or(0), desired));
                    (
                        "Deployment",
                        d.metadata.name.as_ref(),
                        d.spec.as_ref().map(|s| &s.template),
                        ready,
                    )
                })
                .collect()
        });
    let daemonsets: Result<Vec<Candidate<'_>>, &KubeFailure> =
        cluster.daemonsets.as_ref().map(|list| {
            list.iter()
                .map(|d| {
                    let ready = d
                        .status
                        .as_ref()
                        .map(|s| (s.number_ready, s.desired_number_scheduled));
                    (
                        "DaemonSet",
                        d.metadata.name.as_ref(),
                        d.spec.as_ref().map(|s| &s.template),
                        ready,
                    )
                })
                .collect()
        });
    let mut found: Vec<FoundWorkload> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for listing in [deployments, daemonsets] {
        match listing {
            Ok(candidates) => {
                for (kind, name, template, ready) in candidates {
                    let Some(pod) = template
                        .and_then(|t| t.spec.clone())
                        .filter(pod_runs_controller)
                    else {
                        continue;
                    };
                    found.push(FoundWorkload {
                        workload: WorkloadRef {
                            kind: kind.to_owned(),
                            namespace: cluster.namespace.clone(),
                            name: name.cloned().unwrap_or_default(),
                        },
                        pod,
                        ready,
                    });
                }
            }
            Err(e) => errors.push(e.message.clone()),
        }
    }
    let first = found.into_iter().next();
    let f = match &first {
        None if !errors.is_empty() => finding(
            ids::CONTROLLER_WORKLOAD,
            Status::Warn,
            Message::Controller(ControllerMessage::WorkloadUnreadable {
                error: errors.join("; "),
            }),
        ),
        None => finding(
            ids::CONTROLLER_WORKLOAD,
            Status::Fail,
            Message::Controller(ControllerMessage::WorkloadMissing {
                namespace: cluster.namespace.clone(),
            }),
        ),
        Some(w) => match w.ready {
            Some((0, desired)) if desired > 0 => finding(
                ids::CONTROLLER_WORKLOAD,
                Status::Fail,
                Message::Controller(ControllerMessage::WorkloadNotReady {
                    workload: w.workload.clone(),
                    desired,
                }),
            ),
            ready => finding(
                ids::CONTROLLER_WORKLOAD,
                Status::Ok,
                Message::Controller(ControllerMessage::WorkloadFound {
                    workload: w.workload.clone(),
                    ready,
                }),
            ),
        },
    };
    ControllerWorkload {
        found: first,
        findings: vec![f],
    }
}

/// `controller.tolerations`: the Pods tolerate the `uninitialized` taint (or every taint).
pub fn tolerations(found: &FoundWorkload) -> Finding {
    let tolerates = found.pod.tolerations.iter().flatten().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == "NoSchedule");
        let exists = t.operator.as_deref() == Some("Exists");
        let key = t.key.as_deref().unwrap_or_default();
        effect_ok && ((key.is_empty() && exists) || key == TAINT_UNINITIALIZED)
    });
    if tolerates {
        finding(
            ids::CONTROLLER_TOLERATIONS,
            Status::Ok,
            Message::Controller(ControllerMessage::TolerationOk {
                workload: found.workload.clone(),
            }),
        )
    } else {
        finding(
            ids::CONTROLLER_TOLERATIONS,
            Status::Fail,
            Message::Controller(ControllerMessage::TolerationMissing {
                workload: found.workload.clone(),
            }),
        )
    }
}

/// How the leader Lease stands: `Ok(secs since renewal)` when fresh, `Err(expired secs ago)`
/// otherwise (`None`: released or never renewed).
fn lease_state(
    lease: &k8s_openapi::api::coordination::v1::Lease,
    now: Timestamp,
) -> (String, Result<i64, Option<i64>>) {
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.unwrap_or_default();
    let Some(renewed) = spec.renew_time.map(|t| t.0) else {
        return (holder, Err(None));
    };
    if holder.is_empty() {
        return (holder, Err(None));
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let since = now.as_second() - renewed.as_second();
    if since <= duration {
        (holder, Ok(since.max(0)))
    } else {
        (holder, Err(Some(since - duration)))
    }
}

/// Whether a controller seems to run: a workload was found (or could not be looked for) and
/// the Lease is fresh (or leader election is off, or the Lease could not be read).
pub(super) fn controller_running(cluster: &ClusterFacts, found: Option<&FoundWorkload>) -> bool {
    let workload_known_missing =
        found.is_none() && cluster.deployments.is_ok() && cluster.daemonsets.is_ok();
    if workload_known_missing {
        return false;
    }
    if found.is_some_and(FoundWorkload::leader_election_off) {
        return true;
    }
    match &cluster.lease {
        Ok(Some(lease)) => lease_state(lease, cluster.now).1.is_ok(),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// `controller.leader`.
pub fn leader(cluster: &ClusterFacts, found: &FoundWorkload) -> Finding {
    if found.leader_election_off() {
        return finding(
            ids::CONTROLLER_LEADER,
            Status::Ok,
            Message::Controller(ControllerMessage::LeaderElectionOff {
                workload: found.workload.clone(),
            }),
        );
    }
    match &cluster.lease {
        Err(e) => finding(
            ids::CONTROLLER_LEADER,
            Status::Warn,
            Message::Controller(ControllerMessage::LeaseUnreadable {
                error: e.message.clone(),
            }),
        ),
        Ok(None) => finding(
            ids::CONTROLLER_LEADER,
            Status::Fail,
            Message::Controller(ControllerMessage::LeaseMissing {
                lease: format!("{}/{}", cluster.namespace, cluster.lease_name),
            }),
        ),
        Ok(Some(lease)) => match lease_state(lease, cluster.now) {
            (holder, Ok(renewed_secs_ago)) => finding(
                ids::CONTROLLER_LEADER,
                Status::Ok,
                Message::Controller(ControllerMessage::LeaseFresh {
                    holder,
                    renewed_secs_ago,
                }),
            ),
            (holder, Err(expired_secs_ago)) => finding(
                ids::CONTROLLER_LEADER,
                Status::Fail,
                Message::Controller(ControllerMessage::LeaseExpired {
                    holder,
                    expired_secs_ago,
                }),
            ),
        },
    }
}

fn rule_covers(rule: &PolicyRule, access: &ApiAccess, verb: &str, lease_name: &str) -> bool {
    let any = |list: &Option<Vec<String>>, want: &str| {
        list.iter().flatten().any(|v| v == "*" || v == want)
    };
    let group_ok = any(&rule.api_groups, access.group);
    let resource_ok = rule.resources.iter().flatten().any(|r| {
        r == "*"
            || r == access.resource
            || access
                .resource
                .split_once('/')
                .is_some_and(|(_, sub)| r.strip_prefix("*/") == Some(sub))
    });
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || v == verb);
    // A rule limited to names only serves reads and writes of those objects: the Lease's
    // get/update (never create, list or watch).
    let names_ok = match rule.resource_names.as_deref() {
        None | Some([]) => true,
        Some(names) => {
            access.resource == "leases"
                && names.iter().any(|n| n == lease_name)
                && !matches!(verb, "create" | "list" | "watch")
        }
    };
    group_ok && resource_ok && verb_ok && names_ok
}

/// Whether an access may be granted in the controller's namespace only (the Lease lives
/// there); everything else is cluster-wide.
fn namespaced_ok(access: &ApiAccess) -> bool {
    access.group == "coordination.k8s.io" && access.resource == "leases"
}

fn subject_is(
    subjects: Option<&Vec<k8s_openapi::api::rbac::v1::Subject>>,
    namespace: &str,
    name: &str,
) -> bool {
    subjects
        .into_iter()
        .flatten()
        .any(|s| match s.kind.as_str() {
            "ServiceAccount" => s.name == name && s.namespace.as_deref() == Some(namespace),
            "Group" => {
                s.name == "system:serviceaccounts"
                    || s.name == format!("system:serviceaccounts:{namespace}")
            }
            "User" => s.name == format!("system:serviceaccount:{namespace}:{name}"),
            _ => false,
        })
}

/// `controller.rbac`: the rules bound to the controller's ServiceAccount grant every verb of
/// [`REQUIRED_ACCESS`] (ClusterRoles through ClusterRoleBindings; the Lease may also be granted
/// by a Role or ClusterRole bound in the namespace).
pub fn rbac(
    rbac: &Result<Rbac, KubeFailure>,
    found: &FoundWorkload,
    lease_name: &str,
) -> Option<Finding> {
    let namespace = &found.workload.namespace;
    let sa = found.service_account();
    let sa_label = format!("{namespace}/{sa}");
    let rbac = match rbac {
        Ok(r) => r,
        Err(e) => {
            return Some(finding(
                ids::CONTROLLER_RBAC,
                Status::Warn,
                Message::Controller(ControllerMessage::RbacUnknown {
                    why: e.message.clone(),
                }),
            ));
        }
    };
    let cluster_role = |name: &str| {
        rbac.cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name))
    };
    let mut cluster_rules: Vec<&PolicyRule> = Vec::new();
    for b in rbac
        .cluster_role_bindings
        .iter()
        .filter(|b| subject_is(b.subjects.as_ref(), namespace, &sa))
        .filter(|b| b.role_ref.kind == "ClusterRole")
    {
        if let Some(r) = cluster_role(&b.role_ref.name) {
            cluster_rules.extend(r.rules.iter().flatten());
        }
    }
    let mut namespace_rules: Vec<&PolicyRule> = Vec::new();
    for b in rbac
        .role_bindings
        .iter()
        .filter(|b| subject_is(b.subjects.as_ref(), namespace, &sa))
    {
        let rules = match b.role_ref.kind.as_str() {
            "ClusterRole" => cluster_role(&b.role_ref.name).and_then(|r| r.rules.as_ref()),
            "Role" => rbac
                .roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(b.role_ref.name.as_str()))
                .and_then(|r| r.rules.as_ref()),
            _ => None,
        };
        namespace_rules.extend(rules.into_iter().flatten());
    }
    let mut missing: Vec<String> = Vec::new();
    for access in REQUIRED_ACCESS {
        let lacking: Vec<&str> = access
            .verbs
            .iter()
            .copied()
            .filter(|verb| {
                let covered = |rules: &[&PolicyRule]| {
                    rules
                        .iter()
                        .any(|r| rule_covers(r, access, verb, lease_name))
                };
                !(covered(&cluster_rules) || (namespaced_ok(access) && covered(&namespace_rules)))
            })
            .collect();
        if !lacking.is_empty() {
            let group = if access.group.is_empty() {
                "core"
            } else {
                access.group
            };
            missing.push(format!(
                "{group} {}: {}",
                access.resource,
                lacking.join(", ")
            ));
        }
    }
    Some(if missing.is_empty() {
        finding(
            ids::CONTROLLER_RBAC,
            Status::Ok,
            Message::Controller(ControllerMessage::RbacOk {
                service_account: sa_label,
            }),
        )
    } else {
        finding(
            ids::CONTROLLER_RBAC,
            Status::Fail,
            Message::Controller(ControllerMessage::RbacMissing {
                service_account: sa_label,
                missing,
            }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::*;
    use k8s_openapi::api::apps::v1::DaemonSet;
    use serde_json::{Value, json};

    #[test]
    fn workload_verdicts() {
        let c = cluster();
        let w = controller_workload(&c);
        assert!(matches!(
            &w.findings[0].message,
            Message::Controller(ControllerMessage::WorkloadFound {
                ready: Some((2, 2)),
                ..
            })
        ));
        let mut c = cluster();
        c.deployments = Ok(vec![deployment(json!([]), &[], Some(0))]);
        assert_eq!(controller_workload(&c).findings[0].status, Status::Fail);
        c.deployments = Ok(vec![]);
        let w = controller_workload(&c);
        assert!(w.found.is_none());
        assert_eq!(w.findings[0].status, Status::Fail);
        c.deployments = Err(ok_failure(403));
        assert_eq!(controller_workload(&c).findings[0].status, Status::Warn);
        let ds: DaemonSet = from(json!({
            "metadata": {"name": "ccm"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [
                {"name": "c", "image": "example/sakura-cloud-controller-manager:2"}]}}},
            "status": {"numberReady": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "numberMisscheduled": 0}
        }));
        c.daemonsets = Ok(vec![ds]);
        let w = controller_workload(&c);
        assert_eq!(w.found.unwrap().workload.kind, "DaemonSet");
        assert!(matches!(
            &w.findings[0].message,
            Message::Controller(ControllerMessage::WorkloadFound {
                ready: Some((1, 3)),
                ..
            })
        ));
        // Something else in the namespace is not the controller.
        let mut c = cluster();
        let mut other = deployment(json!([]), &[], Some(1));
        if let Some(spec) = other.spec.as_mut()
            && let Some(pod) = spec.template.spec.as_mut()
        {
            pod.containers[0].image = Some("coredns:1".into());
            pod.containers[0].command = None;
        }
        c.deployments = Ok(vec![other]);
        assert!(controller_workload(&c).found.is_none());
    }

    #[test]
    fn toleration_verdicts() {
        assert_eq!(tolerations(&found()).status, Status::Ok);
        let mut f = found();
        f.pod.tolerations = Some(vec![from(json!({"operator": "Exists"}))]);
        assert_eq!(tolerations(&f).status, Status::Ok, "tolerates everything");
        f.pod.tolerations = Some(vec![from(
            json!({"key": TAINT_UNINITIALIZED, "effect": "NoExecute"}),
        )]);
        assert_eq!(tolerations(&f).status, Status::Fail);
        f.pod.tolerations = None;
        assert_eq!(tolerations(&f).status, Status::Fail);
    }

    #[test]
    fn leader_verdicts() {
        let mut c = cluster();
        let verdict = |c: &ClusterFacts, f: &FoundWorkload| {
            let v = leader(c, f);
            (v.status, v.message)
        };
        assert_eq!(
            verdict(&c, &found()),
            (
                Status::Ok,
                Message::Controller(ControllerMessage::LeaseFresh {
                    holder: "me".into(),
                    renewed_secs_ago: 5
                })
            )
        );
        c.lease = Ok(Some(lease("me", Some("2025-06-01T11:59:00.000000Z"))));
        assert_eq!(
            verdict(&c, &found()),
            (
                Status::Fail,
                Message::Controller(ControllerMessage::LeaseExpired {
                    holder: "me".into(),
                    expired_secs_ago: Some(45)
                })
            )
        );
        c.lease = Ok(Some(lease("", Some("2025-06-01T11:59:59.000000Z"))));
        assert_eq!(verdict(&c, &found()).0, Status::Fail, "released");
        c.lease = Ok(None);
        assert_eq!(verdict(&c, &found()).0, Status::Fail);
        c.lease = Err(ok_failure(403));
        assert_eq!(verdict(&c, &found()).0, Status::Warn);
        for args in [
            &["--leader-elect=false"][..],
            &["--leader-elect", "false"],
            &["--leader-elect=0", "-v=2"],
        ] {
            c.deployments = Ok(vec![deployment(json!([]), args, Some(1))]);
            let f = controller_workload(&c).found.unwrap();
            assert!(f.leader_election_off(), "{args:?}");
            assert_eq!(verdict(&c, &f).0, Status::Ok);
        }
        c.deployments = Ok(vec![deployment(
            json!([]),
            &["--leader-elect=false", "--leader-elect=true"],
            Some(1),
        )]);
        assert!(
            !controller_workload(&c).found.unwrap().leader_election_off(),
            "last wins"
        );
    }

    fn binding(kind: &str, name: &str, role_kind: &str, role: &str) -> Value {
        json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"kind": kind, "name": "ccm", "namespace": "kube-system"}]
        })
    }

    fn role_rules(skip_leases: bool) -> Vec<Value> {
        REQUIRED_ACCESS
            .iter()
            .filter(|a| !(skip_leases && a.resource == "leases"))
            .map(|a| json!({"apiGroups": [a.group], "resources": [a.resource], "verbs": a.verbs}))
            .collect()
    }

    #[test]
    fn rbac_verdicts() {
        let f = found();
        let full = Rbac {
            cluster_roles: vec![from(
                json!({"metadata": {"name": "ccm"}, "rules": role_rules(false)}),
            )],
            cluster_role_bindings: vec![from(binding(
                "ServiceAccount",
                "ccm",
                "ClusterRole",
                "ccm",
            ))],
            ..Rbac::default()
        };
        let v = rbac(&Ok(full.clone()), &f, "cloud-controller-manager").unwrap();
        assert_eq!(
            v.message,
            Message::Controller(ControllerMessage::RbacOk {
                service_account: "kube-system/ccm".into()
            })
        );
        // Bound to another ServiceAccount: nothing counts.
        let mut other = full.clone();
        other.cluster_role_bindings = vec![from(json!({
            "metadata": {"name": "x"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ccm"},
            "subjects": [{"kind": "ServiceAccount", "name": "ccm", "namespace": "default"}]
        }))];
        let v = rbac(&Ok(other), &f, "cloud-controller-manager").unwrap();
        let Message::Controller(ControllerMessage::RbacMissing { missing, .. }) = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing.len(), REQUIRED_ACCESS.len());
        assert!(missing.contains(&"core nodes: delete, get, list, patch, watch".to_owned()));
        // Leases granted by a Role in the namespace (limited to the Lease's name for get and
        // update, and create/list/watch without names).
        let split = Rbac {
            cluster_roles: vec![from(
                json!({"metadata": {"name": "ccm"}, "rules": role_rules(true)}),
            )],
            roles: vec![from(json!({"metadata": {"name": "lease"}, "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "list", "watch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "update"],
                 "resourceNames": ["cloud-controller-manager"]}
            ]}))],
            role_bindings: vec![from(binding("ServiceAccount", "lease", "Role", "lease"))],
            ..full.clone()
        };
        let v = rbac(&Ok(split.clone()), &f, "cloud-controller-manager").unwrap();
        assert_eq!(v.status, Status::Ok, "{v:?}");
        let v = rbac(&Ok(split), &f, "another-lease").unwrap();
        let Message::Controller(ControllerMessage::RbacMissing { missing, .. }) = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing, &["coordination.k8s.io leases: get, update"]);
        // A Role cannot grant cluster-wide access.
        let namespaced_only = Rbac {
            roles: vec![from(
                json!({"metadata": {"name": "all"}, "rules": role_rules(false)}),
            )],
            role_bindings: vec![from(binding("ServiceAccount", "all", "Role", "all"))],
            ..Rbac::default()
        };
        let v = rbac(&Ok(namespaced_only), &f, "cloud-controller-manager").unwrap();
        let Message::Controller(ControllerMessage::RbacMissing { missing, .. }) = &v.message else {
            panic!("{v:?}")
        };
        assert_eq!(missing.len(), REQUIRED_ACCESS.len() - 1);
        // Wildcards.
        let star = Rbac {
            cluster_roles: vec![from(json!({"metadata": {"name": "admin"}, "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))],
            cluster_role_bindings: vec![from(binding(
                "ServiceAccount",
                "b",
                "ClusterRole",
                "admin",
            ))],
            ..Rbac::default()
        };
        assert_eq!(rbac(&Ok(star), &f, "x").unwrap().status, Status::Ok);
        assert_eq!(
            rbac(&Err(ok_failure(403)), &f, "x").unwrap().status,
            Status::Warn
        );
    }
}
