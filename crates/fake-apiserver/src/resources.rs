//! The table of served resources and the discovery documents derived from it.
//!
//! The server is resource-agnostic: everything it knows about a kind (scope, subresources,
//! whether it tracks `generation`, which field selectors it accepts) comes from a [`ResourceDef`].

use serde_json::{Value, json};

use crate::errors::Subject;

/// Verbs advertised for every served resource.
const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// How the server treats `status` on create for a resource with a status subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOnCreate {
    /// `status` from the request is dropped (services, custom resources).
    Drop,
    /// `status` from the request is kept (nodes: the kubelet registers with status).
    Keep,
}

/// One served resource.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group, empty for the core (`/api/v1`) group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Service`.
    pub kind: String,
    /// Plural resource name used in URLs, e.g. `services`.
    pub plural: String,
    /// Singular name, used by discovery.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether `/status` exists and `status` is kept apart from the main resource.
    pub status_subresource: bool,
    /// What happens to `status` on create (only meaningful with `status_subresource`).
    pub status_on_create: StatusOnCreate,
    /// Whether `metadata.generation` is maintained (set to 1, bumped when anything outside
    /// `metadata` and `status` changes).
    pub tracks_generation: bool,
    /// Short names for discovery (kubectl uses them: `svc`, `no`, ...).
    pub short_names: Vec<String>,
    /// Field-selector paths accepted besides `metadata.name` and `metadata.namespace`.
    pub extra_field_selectors: Vec<String>,
    /// Discovery categories (`all`: what `kubectl get all` lists).
    pub categories: Vec<String>,
}

impl ResourceDef {
    /// A resource with no subresources, no generation tracking and no extra field selectors.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Self {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            singular: kind.to_ascii_lowercase(),
            namespaced,
            status_subresource: false,
            status_on_create: StatusOnCreate::Drop,
            tracks_generation: false,
            short_names: Vec::new(),
            extra_field_selectors: Vec::new(),
            categories: Vec::new(),
        }
    }

    /// Sets the discovery categories.
    pub fn with_categories(mut self, names: &[&str]) -> Self {
        self.categories = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Adds a `/status` subresource.
    pub fn with_status(mut self, on_create: StatusOnCreate) -> Self {
        self.status_subresource = true;
        self.status_on_create = on_create;
        self
    }

    /// Turns on `metadata.generation` tracking.
    pub fn with_generation(mut self) -> Self {
        self.tracks_generation = true;
        self
    }

    /// Sets the discovery short names.
    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Accepts these extra dotted paths in field selectors.
    pub fn with_field_selectors(mut self, paths: &[&str]) -> Self {
        self.extra_field_selectors = paths.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `services` or `leases.coordination.k8s.io`: the name [`crate::Store`] methods take.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The error subject for this resource.
    pub(crate) fn subject(&self) -> Subject<'_> {
        Subject {
            group: &self.group,
            plural: &self.plural,
            kind: &self.kind,
        }
    }
}

/// The resources a cloud-controller-manager touches, and those `doctor` reads (workloads and
/// RBAC, stored and served only: nothing runs Deployments or enforces RBAC), with upstream scope
/// and subresources.
///
/// None of the core resources tracks `generation` upstream (the real server leaves
/// `metadata.generation` unset on Services and Nodes), so neither does the fake; Deployments and
/// DaemonSets do, as upstream. Add your own
/// [`ResourceDef`] with [`ResourceDef::with_generation`] to model a CRD that does.
pub fn default_resources() -> Vec<ResourceDef> {
    vec![
        ResourceDef::new("", "v1", "Namespace", "namespaces", false)
            .with_status(StatusOnCreate::Drop)
            .with_short_names(&["ns"])
            .with_field_selectors(&["status.phase"]),
        ResourceDef::new("", "v1", "Node", "nodes", false)
            .with_status(StatusOnCreate::Keep)
            .with_short_names(&["no"])
            .with_field_selectors(&["spec.unschedulable"]),
        ResourceDef::new("", "v1", "Service", "services", true)
            .with_status(StatusOnCreate::Drop)
            .with_short_names(&["svc"])
            .with_categories(&["all"])
            .with_field_selectors(&["spec.clusterIP", "spec.type"]),
        ResourceDef::new("", "v1", "Event", "events", true)
            .with_short_names(&["ev"])
            .with_field_selectors(&[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ]),
        // Stored and served only: nothing schedules or runs them; kubectl lists them.
        ResourceDef::new("", "v1", "Pod", "pods", true)
            .with_status(StatusOnCreate::Drop)
            .with_short_names(&["po"])
            .with_categories(&["all"])
            .with_field_selectors(&["spec.nodeName", "status.phase"]),
        ResourceDef::new("", "v1", "ConfigMap", "configmaps", true).with_short_names(&["cm"]),
        ResourceDef::new("", "v1", "Secret", "secrets", true),
        ResourceDef::new("", "v1", "Endpoints", "endpoints", true).with_short_names(&["ep"]),
        ResourceDef::new("events.k8s.io", "v1", "Event", "events", true)
            .with_short_names(&["ev"])
            .with_field_selectors(&[
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "reason",
                "reportingController",
                "type",
            ]),
        ResourceDef::new("coordination.k8s.io", "v1", "Lease", "leases", true),
        ResourceDef::new("apps", "v1", "Deployment", "deployments", true)
            .with_status(StatusOnCreate::Drop)
            .with_generation()
            .with_short_names(&["deploy"])
            .with_categories(&["all"]),
        ResourceDef::new("apps", "v1", "DaemonSet", "daemonsets", true)
            .with_status(StatusOnCreate::Drop)
            .with_generation()
            .with_short_names(&["ds"])
            .with_categories(&["all"]),
        ResourceDef::new(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        ResourceDef::new(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        ResourceDef::new("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
        ResourceDef::new(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        ResourceDef::new(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
        ),
    ]
}

/// `/api`.
pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_versions(defs: &[ResourceDef], group: &str) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for d in defs.iter().filter(|d| d.group == group) {
        if !versions.contains(&d.version) {
            versions.push(d.version.clone());
        }
    }
    versions
}

fn api_group(defs: &[ResourceDef], group: &str) -> Value {
    let versions: Vec<Value> = group_versions(defs, group)
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": preferred,
    })
}

/// `/apis`.
pub(crate) fn api_group_list(defs: &[ResourceDef]) -> Value {
    let mut groups: Vec<&str> = Vec::new();
    for d in defs.iter().filter(|d| !d.group.is_empty()) {
        if !groups.contains(&d.group.as_str()) {
            groups.push(&d.group);
        }
    }
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = api_group(defs, g);
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            v
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, or `None` if no resource is in that group.
pub(crate) fn api_group_doc(defs: &[ResourceDef], group: &str) -> Option<Value> {
    if group.is_empty() || !defs.iter().any(|d| d.group == group) {
        return None;
    }
    Some(api_group(defs, group))
}

/// `/api/v1` or `/apis/{group}/{version}`, or `None` if nothing is served there.
pub(crate) fn api_resource_list(defs: &[ResourceDef], group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for d in defs
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        resources.push(json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": VERBS,
            "shortNames": d.short_names,
            "categories": d.categories,
        }));
        if d.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", d.plural),
                "singularName": "",
                "namespaced": d.namespaced,
                "kind": d.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

/// `/version`: a 1.35 server, marked as fake in `gitVersion`.
pub(crate) fn version_doc() -> Value {
    json!({
        "major": "1",
        "minor": "35",
        "gitVersion": "v1.35.0-fake-apiserver",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none (Rust test double)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_status_subresource_and_groups() {
        let defs = default_resources();
        let core = api_resource_list(&defs, "", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"services/status"));
        assert!(names.contains(&"nodes/status"));
        assert!(!names.contains(&"configmaps/status"));
        let groups = api_group_list(&defs);
        let gnames: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(
            gnames,
            vec![
                "events.k8s.io",
                "coordination.k8s.io",
                "apps",
                "rbac.authorization.k8s.io",
                "discovery.k8s.io"
            ]
        );
        assert!(api_group_doc(&defs, "nope.io").is_none());
        assert!(api_resource_list(&defs, "coordination.k8s.io", "v2").is_none());
    }
}
