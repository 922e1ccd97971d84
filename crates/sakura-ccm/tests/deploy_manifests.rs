//! The deployment files in `deploy/`: the Helm chart, the plain manifests rendered from it, and
//! the Containerfile.
//!
//! - The manifests are the chart rendered with its default values (and with `kind=DaemonSet` for
//!   the DaemonSet variant) in `kube-system`, compared as parsed YAML documents. `template` below renders the small subset of Helm's Go template
//!   language the chart is written in; a template using anything else fails to render here.
//!   To regenerate the manifests after changing the chart:
//!   `UPDATE_MANIFESTS=1 cargo test -p sakura-ccm --test deploy_manifests`.
//! - Every document, for the defaults and for each chart option, deserializes into its
//!   k8s-openapi type and serializes back unchanged (so no field is unknown or misplaced).
//! - The ClusterRole grants exactly `cloud_provider::access::REQUIRED_ACCESS`
//!   (`api_access.rs` checks that list against the calls the controller really makes).
//! - The container's arguments pass the binary's own flag parser and validation, and its
//!   environment is what the configuration loader reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use cloud_provider::access::REQUIRED_ACCESS;
use cloud_provider::options::ignored_flags_given;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Container, PodSpec, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use sakura_ccm::cli::Cli;
use sakura_ccm::config::ProviderConfig;
use serde_json::{Value, json};

const NAME: &str = "sakura-cloud-controller-manager";
const NAMESPACE: &str = "kube-system";
const MANIFEST: &str = "deploy/manifests/sakura-cloud-controller-manager.yaml";
const MANIFEST_DAEMONSET: &str = "deploy/manifests/sakura-cloud-controller-manager-daemonset.yaml";

/// Each plain manifest and the chart values it is rendered with (over the defaults).
fn manifest_files() -> [(&'static str, Value); 2] {
    [
        (MANIFEST, json!({})),
        (MANIFEST_DAEMONSET, json!({"kind": "DaemonSet"})),
    ]
}

const CHART: &str = "deploy/helm/sakura-cloud-controller-manager";

// ---- files --------------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_yaml(text: &str, what: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The documents of a multi-document YAML stream; documents holding only comments are skipped
/// (as kubectl does).
fn documents(text: &str, what: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let has_content = current
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if has_content {
            docs.push(parse_yaml(current, what));
        }
        current.clear();
    };
    for line in text.lines() {
        if line.trim_end() == "---" {
            flush(&mut current);
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&mut current);
    docs
}

fn key(doc: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    (
        s(&doc["kind"]),
        s(&doc["metadata"]["namespace"]),
        s(&doc["metadata"]["name"]),
    )
}

fn by_key(docs: Vec<Value>) -> BTreeMap<(String, String, String), Value> {
    let mut map = BTreeMap::new();
    for doc in docs {
        let k = key(&doc);
        assert!(map.insert(k.clone(), doc).is_none(), "two documents {k:?}");
    }
    map
}

// ---- the chart ----------------------------------------------------------------------------

/// The chart's values with `overrides` merged in (as `helm --set`/`-f` do).
fn values(overrides: Value) -> Value {
    let mut values = parse_yaml(&read(&format!("{CHART}/values.yaml")), "values.yaml");
    merge(&mut values, overrides);
    values
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (k, v) in overlay {
                match base.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        base.insert(k, v);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn chart_meta() -> Value {
    parse_yaml(&read(&format!("{CHART}/Chart.yaml")), "Chart.yaml")
}

fn template_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join(CHART).join("templates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".yaml") && !f.starts_with('_'))
        .collect();
    files.sort();
    files
}

/// `helm template` in `kube-system` with the chart's values and `overrides`: the rendered
/// stream, or the first template's error.
fn render(overrides: Value) -> Result<String, String> {
    let chart = chart_meta();
    let context = json!({
        "Values": values(overrides),
        "Release": {"Name": NAME, "Namespace": NAMESPACE, "Service": "Helm"},
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart["appVersion"],
        },
    });
    let mut out = String::new();
    for file in template_files() {
        let source = read(&format!("{CHART}/templates/{file}"));
        let rendered =
            template::render(&source, &context).map_err(|e| format!("templates/{file}: {e}"))?;
        if rendered.trim().is_empty() {
            continue;
        }
        out.push_str(&format!(
            "---\n# Source: {NAME}/templates/{file}\n{}\n",
            rendered.trim_matches('\n')
        ));
    }
    Ok(out)
}

fn render_docs(overrides: Value) -> BTreeMap<(String, String, String), Value> {
    let text = render(overrides.clone()).unwrap_or_else(|e| panic!("{overrides}: {e}"));
    by_key(documents(
        &text,
        &format!("the chart rendered with {overrides}"),
    ))
}

fn manifest_docs() -> BTreeMap<(String, String, String), Value> {
    manifest_docs_of(MANIFEST)
}

fn manifest_docs_of(path: &str) -> BTreeMap<(String, String, String), Value> {
    by_key(documents(&read(path), path))
}

/// The header of a generated manifest; `{values}` is replaced by the values it was rendered
/// with.
const MANIFEST_HEADER: &str = "\
# sakura-cloud-controller-manager for `kubectl apply -f`, in namespace kube-system.
#
# GENERATED from deploy/helm/sakura-cloud-controller-manager with its default values{values};
# do not edit. Change the chart, then regenerate:
#   UPDATE_MANIFESTS=1 cargo test -p sakura-ccm --test deploy_manifests
# (the test fails while this file and the chart differ).
#
# First create the Secret with the SAKURA Cloud API key and the zone (docs/deploy.md):
#   kubectl -n kube-system create secret generic sakuracloud-api-keys \\
#     --from-literal=access-token=<token> --from-literal=access-token-secret=<secret> \\
#     --from-literal=zone=<is1a|is1b|is1c|tk1a|tk1b|...> --from-literal=cluster-id=<id>
";

fn find<'a>(docs: &'a BTreeMap<(String, String, String), Value>, kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|((k, _, _), _)| k == kind)
        .map(|(_, v)| v)
        .collect()
}

fn one<'a>(docs: &'a BTreeMap<(String, String, String), Value>, kind: &str) -> &'a Value {
    let found = find(docs, kind);
    assert_eq!(found.len(), 1, "exactly one {kind}: {:?}", docs.keys());
    found[0]
}

/// The pod spec of the Deployment or DaemonSet.
fn pod_spec(docs: &BTreeMap<(String, String, String), Value>) -> PodSpec {
    let workloads: Vec<&Value> = find(docs, "Deployment")
        .into_iter()
        .chain(find(docs, "DaemonSet"))
        .collect();
    assert_eq!(workloads.len(), 1, "one workload: {:?}", docs.keys());
    serde_json::from_value(workloads[0]["spec"]["template"]["spec"].clone()).unwrap()
}

fn container(docs: &BTreeMap<(String, String, String), Value>) -> Container {
    let spec = pod_spec(docs);
    assert_eq!(spec.containers.len(), 1);
    spec.containers[0].clone()
}

// ---- type checks --------------------------------------------------------------------------

/// The first path where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(a), Some(b)) => first_difference(a, b, &format!("{path}.{k}")),
                (a, b) => Some(format!("{path}.{k}: {a:?} vs {b:?}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Deserializes into `T` and back: a field `T` does not know would be dropped, a field of the
/// wrong shape fails.
fn roundtrip<T: DeserializeOwned + Serialize>(doc: &Value) {
    let what = format!("{:?}", key(doc));
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    if let Some(diff) = first_difference(doc, &back, "") {
        panic!("{what}: not kept by the typed round trip (unknown or misplaced field?): {diff}");
    }
}

fn check_types(docs: &BTreeMap<(String, String, String), Value>) {
    for doc in docs.values() {
        match doc["kind"].as_str().unwrap_or("") {
            "ServiceAccount" => roundtrip::<ServiceAccount>(doc),
            "Secret" => roundtrip::<Secret>(doc),
            "ClusterRole" => roundtrip::<ClusterRole>(doc),
            "ClusterRoleBinding" => roundtrip::<ClusterRoleBinding>(doc),
            "Deployment" => roundtrip::<Deployment>(doc),
            "DaemonSet" => roundtrip::<DaemonSet>(doc),
            "PodDisruptionBudget" => roundtrip::<PodDisruptionBudget>(doc),
            "Service" => roundtrip::<Service>(doc),
            // A CRD (Prometheus Operator): no k8s-openapi type; its shape is checked in
            // `service_monitor_option_scrapes_every_replica_over_https`.
            "ServiceMonitor" => assert_eq!(doc["apiVersion"], "monitoring.coreos.com/v1"),
            other => panic!("unexpected kind {other:?} in {:?}", key(doc)),
        }
        let namespaced = !matches!(
            doc["kind"].as_str(),
            Some("ClusterRole" | "ClusterRoleBinding")
        );
        assert_eq!(
            doc["metadata"]["namespace"].as_str().is_some(),
            namespaced,
            "{:?}",
            key(doc)
        );
    }
}

/// Every option of the chart, each with what distinguishes it.
fn option_sets() -> Vec<Value> {
    vec![
        json!({}),
        json!({"kind": "DaemonSet"}),
        json!({"replicaCount": 1}),
        json!({"existingSecret": "my-keys"}),
        json!({"sacloud": {"accessToken": "tok", "accessTokenSecret": "sec", "zone": "is1b",
                           "clusterID": "prod"}}),
        json!({"serviceMonitor": {"enabled": true, "labels": {"release": "prom"}}}),
        json!({
            "extraArgs": ["--v=2", "--concurrent-service-syncs=2"],
            "extraEnv": [{"name": "SAKURACLOUD_API_REQUEST_RATE_LIMIT", "value": "2"}],
            "podLabels": {"team": "platform"},
            "podAnnotations": {"example.com/note": "x"},
            "imagePullSecrets": [{"name": "regcred"}],
            "nodeSelector": {"node-role.kubernetes.io/controlplane": "true"},
            "affinity": {},
            "image": {"tag": "dev"},
        }),
    ]
}

// ---- tests: manifests = chart -------------------------------------------------------------

#[test]
fn manifests_are_the_chart_rendered_with_default_values() {
    for (path, overrides) in manifest_files() {
        let rendered = render(overrides.clone()).unwrap();
        if std::env::var_os("UPDATE_MANIFESTS").is_some() {
            let values: String = overrides
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!(" --set {k}={}", v.as_str().unwrap_or_default()))
                .collect();
            let values = if values.is_empty() {
                values
            } else {
                format!(" and{values}")
            };
            let header = MANIFEST_HEADER.replace("{values}", &values);
            // Whole-file replacement: the other tests read the file concurrently.
            let tmp = repo().join(format!("{path}.tmp"));
            std::fs::write(&tmp, format!("{header}{rendered}")).unwrap();
            std::fs::rename(&tmp, repo().join(path)).unwrap();
        }
        let chart = by_key(documents(&rendered, "the rendered chart"));
        let manifests = manifest_docs_of(path);
        assert_eq!(
            chart.keys().collect::<Vec<_>>(),
            manifests.keys().collect::<Vec<_>>(),
            "{path}: the same objects; regenerate with UPDATE_MANIFESTS=1 (see this file's header)"
        );
        for (k, doc) in &chart {
            if let Some(diff) = first_difference(doc, &manifests[k], "") {
                panic!(
                    "{path} differs from the chart in {k:?} at {diff}; regenerate with \
                     UPDATE_MANIFESTS=1 cargo test -p sakura-ccm --test deploy_manifests"
                );
            }
        }
        // No credentials: applying a manifest never overwrites a user's Secret.
        assert!(find(&manifests, "Secret").is_empty(), "{path}");
    }
    // Every file in deploy/manifests/ is generated.
    let mut files: Vec<String> = std::fs::read_dir(repo().join("deploy/manifests"))
        .unwrap()
        .map(|e| {
            format!(
                "deploy/manifests/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    files.sort();
    let mut generated: Vec<String> = manifest_files()
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    generated.sort();
    assert_eq!(files, generated);
}

#[test]
fn every_document_is_a_valid_kubernetes_object_for_every_option() {
    for (path, _) in manifest_files() {
        check_types(&manifest_docs_of(path));
    }
    for overrides in option_sets() {
        check_types(&render_docs(overrides));
    }
}

// ---- tests: RBAC --------------------------------------------------------------------------

fn access_set() -> BTreeSet<(String, String, String)> {
    REQUIRED_ACCESS
        .iter()
        .flat_map(|a| {
            a.verbs
                .iter()
                .map(|v| (a.group.to_owned(), a.resource.to_owned(), (*v).to_owned()))
        })
        .collect()
}

/// The access a ClusterRole grants, checking there are no wildcards or duplicates.
fn granted_by(role: ClusterRole) -> BTreeSet<(String, String, String)> {
    let mut granted = BTreeSet::new();
    for rule in role.rules.unwrap_or_default() {
        for g in rule.api_groups.unwrap_or_default() {
            for r in rule.resources.clone().unwrap_or_default() {
                for v in &rule.verbs {
                    assert!(
                        granted.insert((g.clone(), r.clone(), v.clone())),
                        "granted twice: {g} {r} {v}"
                    );
                }
            }
        }
    }
    granted
}

#[test]
fn reading_certificate_secrets_is_granted_only_when_asked_for() {
    let on = render_docs(json!({"enhancedLoadBalancer": {"certificateSecrets": true}}));
    let role: ClusterRole = serde_json::from_value(one(&on, "ClusterRole").clone()).unwrap();
    let granted = granted_by(role);
    let mut expected = access_set();
    let secret = sakura_ccm::access::CERTIFICATE_SECRET_ACCESS;
    for v in secret.verbs {
        expected.insert((
            secret.group.to_owned(),
            secret.resource.to_owned(),
            (*v).to_owned(),
        ));
    }
    assert_eq!(granted, expected);
    let off = render_docs(json!({}));
    let role: ClusterRole = serde_json::from_value(one(&off, "ClusterRole").clone()).unwrap();
    assert!(
        !granted_by(role).iter().any(|(_, r, _)| r == "secrets"),
        "no Secrets by default"
    );
}

#[test]
fn cluster_role_grants_exactly_required_access() {
    let docs = manifest_docs();
    let role: ClusterRole = serde_json::from_value(one(&docs, "ClusterRole").clone()).unwrap();
    assert!(role.aggregation_rule.is_none());
    let mut granted = BTreeSet::new();
    for rule in role.rules.unwrap_or_default() {
        assert!(rule.resource_names.is_none(), "{rule:?}");
        assert!(rule.non_resource_urls.is_none(), "{rule:?}");
        let groups = rule.api_groups.unwrap_or_default();
        let resources = rule.resources.unwrap_or_default();
        for g in &groups {
            for r in &resources {
                for v in &rule.verbs {
                    for wild in [g, r, v] {
                        assert_ne!(wild, "*", "no wildcards: {g} {r} {v}");
                    }
                    assert!(
                        granted.insert((g.clone(), r.clone(), v.clone())),
                        "granted twice: {g} {r} {v}"
                    );
                }
            }
        }
    }
    let required = access_set();
    let missing: Vec<_> = required.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&required).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "ClusterRole vs REQUIRED_ACCESS: missing {missing:?}, extra {extra:?}"
    );
    // Nothing else grants anything: no Role, no other binding.
    for kind in ["Role", "RoleBinding"] {
        assert!(find(&docs, kind).is_empty(), "{kind}");
    }
}

#[test]
fn the_role_is_bound_to_the_service_account_the_pods_run_as() {
    for overrides in [json!({}), json!({"kind": "DaemonSet"})] {
        let docs = render_docs(overrides);
        let binding: ClusterRoleBinding =
            serde_json::from_value(one(&docs, "ClusterRoleBinding").clone()).unwrap();
        let role = one(&docs, "ClusterRole");
        assert_eq!(binding.role_ref.kind, "ClusterRole");
        assert_eq!(binding.role_ref.api_group, "rbac.authorization.k8s.io");
        assert_eq!(
            binding.role_ref.name,
            role["metadata"]["name"].as_str().unwrap()
        );
        let account = one(&docs, "ServiceAccount");
        let subjects = binding.subjects.unwrap();
        assert_eq!(subjects.len(), 1);
        assert_eq!(subjects[0].kind, "ServiceAccount");
        assert_eq!(
            subjects[0].name,
            account["metadata"]["name"].as_str().unwrap()
        );
        assert_eq!(subjects[0].namespace.as_deref(), Some(NAMESPACE));
        let spec = pod_spec(&docs);
        assert_eq!(
            spec.service_account_name.as_deref(),
            Some(subjects[0].name.as_str())
        );
        // The API token is mounted (the default), or the controller could not talk to the
        // API server.
        assert_ne!(spec.automount_service_account_token, Some(false));
    }
}

// ---- tests: the container -----------------------------------------------------------------

fn argv(container: &Container) -> Vec<String> {
    assert!(
        container.command.is_none(),
        "the image's entrypoint runs the binary; only args are given"
    );
    std::iter::once(NAME.to_owned())
        .chain(container.args.clone().unwrap_or_default())
        .collect()
}

#[test]
fn container_args_pass_the_binary_flag_parser_and_validation() {
    for overrides in option_sets() {
        let docs = render_docs(overrides.clone());
        let container = container(&docs);
        let args = argv(&container);
        let cli = Cli::try_parse_from(&args)
            .unwrap_or_else(|e| panic!("{overrides}: {args:?} rejected:\n{e}"));
        assert!(cli.command.is_none(), "runs the controller manager");
        let ccm = cli.ccm;
        ccm.validate()
            .unwrap_or_else(|problems| panic!("{overrides}: {problems:?}"));
        assert_eq!(ccm.cloud_provider, "sakuracloud");
        assert!(ccm.leader_elect, "leader election on: {args:?}");
        assert!(!ccm.allocate_node_cidrs);
        assert!(!ccm.configure_cloud_routes);
        let matches = Cli::command().try_get_matches_from(&args).unwrap();
        assert_eq!(
            ignored_flags_given(&matches),
            Vec::<&str>::new(),
            "the chart gives no flag that is only accepted for compatibility"
        );

        // Probes and the port reach what the binary serves: HTTPS on --secure-port.
        let ports = container.ports.clone().unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].container_port, i32::from(ccm.secure_port));
        let port_name = ports[0].name.clone().unwrap();
        for (probe, path) in [
            (container.liveness_probe.clone(), "/healthz"),
            (container.readiness_probe.clone(), "/readyz"),
        ] {
            let get = probe.and_then(|p| p.http_get).expect("HTTP probe");
            assert_eq!(get.path.as_deref(), Some(path));
            assert_eq!(get.scheme.as_deref(), Some("HTTPS"));
            assert_eq!(
                serde_json::to_value(&get.port).unwrap(),
                json!(port_name),
                "{path}"
            );
        }
    }
    let extra = render_docs(option_sets()[6].clone());
    let ccm = Cli::try_parse_from(argv(&container(&extra))).unwrap().ccm;
    assert_eq!(
        (ccm.v, ccm.concurrent_service_syncs),
        (2, 2),
        "extraArgs apply"
    );
}

/// The Secret the container reads: its name and, per variable, (key, optional).
fn secret_refs(container: &Container) -> (String, BTreeMap<String, (String, bool)>) {
    let mut name = None;
    let mut refs = BTreeMap::new();
    for var in container.env.clone().unwrap_or_default() {
        if let Some(r) = var.value_from.and_then(|f| f.secret_key_ref) {
            assert!(
                name.is_none() || name.as_deref() == Some(r.name.as_str()),
                "one Secret"
            );
            name = Some(r.name.clone());
            refs.insert(var.name.clone(), (r.key, r.optional.unwrap_or(false)));
        }
    }
    (name.expect("a Secret is read"), refs)
}

/// Resolves the provider configuration from the container's environment, with `secret` as
/// the referenced Secret's data; also returns every variable the loader looked up.
fn resolve_config(
    container: &Container,
    secret: &BTreeMap<&str, &str>,
) -> (Result<ProviderConfig, String>, BTreeSet<String>) {
    let mut env = BTreeMap::new();
    for var in container.env.clone().unwrap_or_default() {
        let value = match (&var.value, var.value_from.and_then(|f| f.secret_key_ref)) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(r)) => match secret.get(r.key.as_str()) {
                Some(v) => Some((*v).to_owned()),
                None if r.optional == Some(true) => None,
                None => panic!("the pod would not start: key {} missing", r.key),
            },
            (None, None) => panic!("{}: neither a value nor a Secret", var.name),
        };
        if let Some(value) = value {
            env.insert(var.name.clone(), value);
        }
    }
    let asked = std::sync::Mutex::new(BTreeSet::new());
    let result = ProviderConfig::resolve(
        None,
        |name| {
            asked.lock().unwrap().insert(name.to_owned());
            env.get(name).cloned()
        },
        |path| {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        },
    )
    .map_err(|e| e.to_string());
    (result, asked.into_inner().unwrap())
}

#[test]
fn container_env_is_what_the_configuration_loader_reads() {
    let docs = manifest_docs();
    let container = container(&docs);
    let (secret_name, refs) = secret_refs(&container);
    // The original CCM's Secret name and keys, plus zone and cluster-id.
    assert_eq!(secret_name, "sakuracloud-api-keys");
    let expected: BTreeMap<String, (String, bool)> = [
        ("SAKURACLOUD_ACCESS_TOKEN", "access-token", false),
        (
            "SAKURACLOUD_ACCESS_TOKEN_SECRET",
            "access-token-secret",
            false,
        ),
        ("SAKURACLOUD_ZONE", "zone", true),
        ("SAKURACLOUD_CLUSTER_ID", "cluster-id", true),
    ]
    .into_iter()
    .map(|(v, k, o)| (v.to_owned(), (k.to_owned(), o)))
    .collect();
    assert_eq!(refs, expected);

    let full = BTreeMap::from([
        ("access-token", "tok"),
        ("access-token-secret", "sec"),
        ("zone", "tk1b"),
        ("cluster-id", "prod"),
    ]);
    let (config, asked) = resolve_config(&container, &full);
    let config = config.unwrap();
    assert_eq!(config.api.zone.name(), "tk1b");
    assert_eq!(config.cluster_id.as_deref(), Some("prod"));
    for var in container.env.clone().unwrap_or_default() {
        assert!(
            asked.contains(&var.name),
            "{} is not read by the loader",
            var.name
        );
    }

    // The original's Secret (two keys): the pod starts, and the controller names what is
    // missing.
    let original = BTreeMap::from([("access-token", "tok"), ("access-token-secret", "sec")]);
    let err = resolve_config(&container, &original).0.unwrap_err();
    assert!(err.contains("SAKURACLOUD_ZONE"), "{err}");
}

#[test]
fn secret_comes_from_values_or_an_existing_secret() {
    // From values: the chart's Secret, with every key the container reads.
    let docs = render_docs(json!({"sacloud": {
        "accessToken": "tok", "accessTokenSecret": "s\"ec", "zone": "is1b", "clusterID": "prod"}}));
    let secret: Secret = serde_json::from_value(one(&docs, "Secret").clone()).unwrap();
    let c = container(&docs);
    let (name, _) = secret_refs(&c);
    assert_eq!(secret.metadata.name.as_deref(), Some(name.as_str()));
    let data = secret.string_data.unwrap();
    let data: BTreeMap<&str, &str> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(data["access-token-secret"], "s\"ec", "quoted as YAML");
    let config = resolve_config(&c, &data).0.unwrap();
    assert_eq!(config.api.zone.name(), "is1b");
    assert_eq!(config.cluster_id.as_deref(), Some("prod"));

    // An existing Secret: referenced, none created, even with values given.
    let docs = render_docs(json!({"existingSecret": "my-keys",
                                  "sacloud": {"accessToken": "tok", "zone": "is1a"}}));
    assert!(find(&docs, "Secret").is_empty());
    assert_eq!(secret_refs(&container(&docs)).0, "my-keys");

    // Incomplete values fail the install with a message naming the value.
    let err =
        render(json!({"sacloud": {"accessToken": "tok", "accessTokenSecret": "s"}})).unwrap_err();
    assert!(err.contains("sacloud.zone is required"), "{err}");
    let err = render(json!({"sacloud": {"accessToken": "tok", "zone": "is1a"}})).unwrap_err();
    assert!(
        err.contains("sacloud.accessTokenSecret is required"),
        "{err}"
    );
}

// ---- tests: placement, availability, security ---------------------------------------------

fn tolerates(spec: &PodSpec, key: &str, effect: &str) -> bool {
    spec.tolerations
        .clone()
        .unwrap_or_default()
        .iter()
        .any(|t| {
            t.key.as_deref() == Some(key)
                && t.effect.as_deref().is_none_or(|e| e == effect)
                && (t.operator.as_deref() == Some("Exists") || t.value.is_some())
        })
}

fn on_control_plane_nodes(spec: &PodSpec) -> bool {
    let terms = spec
        .affinity
        .clone()
        .and_then(|a| a.node_affinity)
        .and_then(|n| n.required_during_scheduling_ignored_during_execution)
        .map(|r| r.node_selector_terms)
        .unwrap_or_default();
    !terms.is_empty()
        && terms.iter().all(|t| {
            t.match_expressions
                .clone()
                .unwrap_or_default()
                .iter()
                .any(|e| e.key == "node-role.kubernetes.io/control-plane" && e.operator == "Exists")
        })
}

fn check_pod(spec: &PodSpec) {
    assert_eq!(spec.host_network, Some(true));
    assert_eq!(
        spec.dns_policy.as_deref(),
        Some("Default"),
        "DNS before CoreDNS runs"
    );
    assert_eq!(
        spec.priority_class_name.as_deref(),
        Some("system-cluster-critical")
    );
    for (key, effect) in [
        (
            "node.cloudprovider.kubernetes.io/uninitialized",
            "NoSchedule",
        ),
        ("CriticalAddonsOnly", "NoSchedule"),
        ("node-role.kubernetes.io/control-plane", "NoSchedule"),
    ] {
        assert!(tolerates(spec, key, effect), "tolerates {key}:{effect}");
    }
    assert!(on_control_plane_nodes(spec));

    let pod = spec.security_context.clone().unwrap();
    assert_eq!(pod.run_as_non_root, Some(true));
    assert_eq!(pod.run_as_user, Some(65532));
    assert_eq!(pod.run_as_group, Some(65532));
    assert_eq!(pod.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let c = &spec.containers[0];
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_owned()]));
    assert_ne!(sc.privileged, Some(true));
    let resources = c.resources.clone().unwrap();
    let requests = resources.requests.unwrap();
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));
    assert!(resources.limits.unwrap().contains_key("memory"));
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

#[test]
fn deployment_is_highly_available_and_locked_down() {
    let docs = manifest_docs();
    let deployment = one(&docs, "Deployment");
    assert!(find(&docs, "DaemonSet").is_empty());
    assert_eq!(deployment["spec"]["replicas"], 2);
    // One pod per node (hostNetwork + the port): replace without a surge pod.
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
        0
    );
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(labels_match(
        &deployment["spec"]["selector"]["matchLabels"],
        pod_labels
    ));
    check_pod(&pod_spec(&docs));

    let pdb = one(&docs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(labels_match(
        &pdb["spec"]["selector"]["matchLabels"],
        pod_labels
    ));

    // The image is this release's.
    let chart = chart_meta();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(chart["appVersion"], version);
    assert_eq!(chart["version"], version);
    let image = container(&docs).image.unwrap();
    assert_eq!(
        image,
        format!("ghcr.io/sakura-ccm/sakura-cloud-controller-manager:{version}")
    );

    // One replica: no PodDisruptionBudget, which would block every node drain.
    assert!(
        find(
            &render_docs(json!({"replicaCount": 1})),
            "PodDisruptionBudget"
        )
        .is_empty()
    );
}

#[test]
fn daemonset_option_runs_on_every_control_plane_node() {
    let docs = render_docs(json!({"kind": "DaemonSet"}));
    let daemonset = one(&docs, "DaemonSet");
    assert!(find(&docs, "Deployment").is_empty());
    assert!(find(&docs, "PodDisruptionBudget").is_empty());
    assert!(daemonset["spec"].get("replicas").is_none());
    assert!(labels_match(
        &daemonset["spec"]["selector"]["matchLabels"],
        &daemonset["spec"]["template"]["metadata"]["labels"]
    ));
    check_pod(&pod_spec(&docs));
    let args = argv(&container(&docs));
    assert!(args.contains(&"--leader-elect=true".to_owned()));

    let err = render(json!({"kind": "StatefulSet"})).unwrap_err();
    assert!(
        err.contains("kind must be Deployment or DaemonSet"),
        "{err}"
    );
}

#[test]
fn service_monitor_option_scrapes_every_replica_over_https() {
    assert!(
        find(&manifest_docs(), "ServiceMonitor").is_empty(),
        "off by default"
    );
    let docs = render_docs(json!({"serviceMonitor": {"enabled": true,
                                                     "labels": {"release": "prom"}}}));
    let service = one(&docs, "Service");
    let monitor = one(&docs, "ServiceMonitor");
    let workload = one(&docs, "Deployment");
    assert_eq!(service["spec"]["clusterIP"], "None");
    assert!(labels_match(
        &service["spec"]["selector"],
        &workload["spec"]["template"]["metadata"]["labels"]
    ));
    assert!(labels_match(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    ));
    assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(endpoint["scheme"], "https");
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(endpoint["tlsConfig"]["insecureSkipVerify"], true);
    let c = container(&docs);
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"],
        json!(c.ports.unwrap()[0].name)
    );
}

// ---- tests: documentation and the image ---------------------------------------------------

/// Value paths (`image.tag`) that carry a `# --` comment in values.yaml, for keys at the top
/// level and one level down.
fn documented_values(text: &str) -> BTreeSet<String> {
    let mut documented = BTreeSet::new();
    let mut pending = false;
    let mut parents: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("# --") {
            pending = true;
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let key = trimmed
            .split_once(':')
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()));
        match key {
            Some(key) if !trimmed.starts_with('-') => {
                parents.retain(|(i, _)| *i < indent);
                let path: Vec<&str> = parents
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .chain([key])
                    .collect();
                if pending && path.len() <= 2 {
                    documented.insert(path.join("."));
                }
                parents.push((indent, key.to_owned()));
            }
            _ => {}
        }
        pending = false;
    }
    documented
}

#[test]
fn every_value_is_documented_used_and_in_the_deploy_docs() {
    let text = read(&format!("{CHART}/values.yaml"));
    let documented = documented_values(&text);
    let values = parse_yaml(&text, "values.yaml");
    let mut undocumented = Vec::new();
    for (k, v) in values.as_object().unwrap() {
        if documented.contains(k) {
            continue;
        }
        match v.as_object() {
            Some(children) if !children.is_empty() => {
                for child in children.keys() {
                    let path = format!("{k}.{child}");
                    if !documented.contains(&path) {
                        undocumented.push(path);
                    }
                }
            }
            _ => undocumented.push(k.clone()),
        }
    }
    assert!(
        undocumented.is_empty(),
        "values without a `# --` comment: {undocumented:?}"
    );

    let templates: String = template_files()
        .iter()
        .map(|f| read(&format!("{CHART}/templates/{f}")))
        .collect();
    let deploy_doc = read("docs/deploy.md");
    for path in &documented {
        assert!(
            templates.contains(&format!(".Values.{path}")),
            "{path} is not used by any template"
        );
        assert!(
            deploy_doc.contains(&format!("`{path}`")),
            "{path} is missing from docs/deploy.md's values table"
        );
    }
}

#[test]
fn notes_render() {
    let chart = chart_meta();
    let notes = template::render(
        &read(&format!("{CHART}/templates/NOTES.txt")),
        &json!({"Values": values(json!({})), "Release": {"Namespace": NAMESPACE},
                "Chart": {"AppVersion": chart["appVersion"]}}),
    )
    .unwrap();
    assert!(notes.contains("kubectl -n kube-system get pods"), "{notes}");
}

#[test]
fn containerfile_builds_the_binary_ci_checks_and_runs_it_as_the_pods_user() {
    let file = read("deploy/Containerfile");
    // The same package, features and lock as `.ci/run`'s check, in release.
    assert!(
        file.contains("cargo build --release --locked --no-default-features -p sakura-ccm"),
        "Containerfile's cargo build"
    );
    assert!(
        read(".ci/run").contains("cargo check --locked --no-default-features -p sakura-ccm"),
        ".ci/run checks the image's build"
    );
    // cargo loads the whole workspace: every member's top directory must be copied in (and let
    // through the ignore file).
    let manifest = read("Cargo.toml");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap();
    let ignore = read("deploy/Containerfile.dockerignore");
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        let Some(top) = member.split('/').next().filter(|t| !t.is_empty()) else {
            continue;
        };
        assert!(
            file.contains(&format!("COPY {top} ./{top}")),
            "the Containerfile copies {top}/ (workspace member {member})"
        );
        assert!(
            ignore.contains(&format!("!{top}/")),
            "the ignore file lets {top}/ through"
        );
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_sakura-cloud-controller-manager"))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        file.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{bin}\"]")),
        "the entrypoint is the binary"
    );
    let user = file
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let spec = pod_spec(&manifest_docs());
    let pod = spec.security_context.unwrap();
    assert_eq!(
        user.trim(),
        format!("{}:{}", pod.run_as_user.unwrap(), pod.run_as_group.unwrap())
    );
    assert!(file.contains("EXPOSE 10258"));
    assert_eq!(
        spec.containers[0].ports.clone().unwrap()[0].container_port,
        10258
    );
}

// ---- the template renderer ----------------------------------------------------------------

/// Helm's Go templates, reduced to what the chart uses: text; actions with `{{-`/`-}}`
/// whitespace trimming; `{{/* comments */}}`; `if`/`else`/`else if`/`end`; pipelines of
/// fields (`.Values.a.b`), string and integer literals, parenthesized pipelines and the
/// functions `eq ne gt lt ge le and or not int quote default toYaml nindent indent fail`.
/// Missing map keys are empty, as in Helm (`<no value>` is printed as nothing); a field of an
/// empty value is an error, as in Go. Anything else is an error, so a template that works here
/// uses nothing Helm would render differently.
mod template {
    use serde_json::Value;

    #[derive(Debug, Clone)]
    enum Token {
        Field(Vec<String>),
        Str(String),
        Int(i64),
        Ident(String),
        Open,
        Close,
        Pipe,
    }

    #[derive(Debug, Clone)]
    enum Arg {
        Field(Vec<String>),
        Str(String),
        Int(i64),
        Bool(bool),
        Func(String),
        Sub(Vec<Vec<Arg>>),
    }

    type Pipeline = Vec<Vec<Arg>>;

    #[derive(Debug)]
    enum Node {
        Text(String),
        Output(Pipeline),
        If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    }

    enum Piece {
        Text(String),
        Action(String),
    }

    /// Splits the source into text and action bodies, applying the trim markers.
    fn pieces(src: &str) -> Result<Vec<Piece>, String> {
        let mut out = Vec::new();
        let mut rest = src;
        let mut trim_next = false;
        while let Some(start) = rest.find("{{") {
            let mut text = rest[..start].to_owned();
            if trim_next {
                text = text.trim_start().to_owned();
            }
            let mut body = &rest[start + 2..];
            if body.starts_with("- ") || body.starts_with("-\n") {
                text = text.trim_end().to_owned();
                body = &body[1..];
            }
            out.push(Piece::Text(text));
            let end = find_close(body).ok_or("unclosed action")?;
            let mut inner = &body[..end];
            trim_next = false;
            if inner.ends_with(" -") || inner.ends_with("\n-") {
                inner = &inner[..inner.len() - 1];
                trim_next = true;
            }
            out.push(Piece::Action(inner.trim().to_owned()));
            rest = &body[end + 2..];
        }
        let mut text = rest.to_owned();
        if trim_next {
            text = text.trim_start().to_owned();
        }
        out.push(Piece::Text(text));
        Ok(out)
    }

    /// Position of the `}}` closing an action, outside string literals.
    fn find_close(body: &str) -> Option<usize> {
        let bytes = body.as_bytes();
        let mut in_str = false;
        let mut i = 0;
        while i + 1 < bytes.len() {
            match bytes[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'}' if !in_str && bytes[i + 1] == b'}' => return Some(i),
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn tokens(s: &str) -> Result<Vec<Token>, String> {
        let chars: Vec<char> = s.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                c if c.is_whitespace() => i += 1,
                '(' => {
                    out.push(Token::Open);
                    i += 1;
                }
                ')' => {
                    out.push(Token::Close);
                    i += 1;
                }
                '|' => {
                    out.push(Token::Pipe);
                    i += 1;
                }
                '"' => {
                    let mut lit = String::new();
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(format!("unterminated string in {s:?}")),
                            Some('"') => break,
                            Some('\\') => {
                                i += 1;
                                lit.push(match chars.get(i) {
                                    Some('n') => '\n',
                                    Some('t') => '\t',
                                    Some('"') => '"',
                                    Some('\\') => '\\',
                                    other => return Err(format!("escape {other:?} in {s:?}")),
                                });
                            }
                            Some(c) => lit.push(*c),
                        }
                        i += 1;
                    }
                    i += 1;
                    out.push(Token::Str(lit));
                }
                '.' => {
                    let start = i;
                    i += 1;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                        i += 1;
                    }
                    let path: String = chars[start + 1..i].iter().collect();
                    let parts = if path.is_empty() {
                        Vec::new()
                    } else {
                        path.split('.').map(str::to_owned).collect()
                    };
                    if parts.iter().any(String::is_empty) {
                        return Err(format!("bad field in {s:?}"));
                    }
                    out.push(Token::Field(parts));
                }
                c if c.is_ascii_digit() || c == '-' => {
                    let start = i;
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let lit: String = chars[start..i].iter().collect();
                    out.push(Token::Int(
                        lit.parse().map_err(|_| format!("bad number {lit:?}"))?,
                    ));
                }
                c if c.is_alphabetic() => {
                    let start = i;
                    while i < chars.len() && chars[i].is_alphanumeric() {
                        i += 1;
                    }
                    out.push(Token::Ident(chars[start..i].iter().collect()));
                }
                other => return Err(format!("unsupported character {other:?} in {s:?}")),
            }
        }
        Ok(out)
    }

    fn parse_pipeline(toks: &[Token], pos: &mut usize) -> Result<Pipeline, String> {
        let mut pipeline = vec![parse_command(toks, pos)?];
        while let Some(Token::Pipe) = toks.get(*pos) {
            *pos += 1;
            pipeline.push(parse_command(toks, pos)?);
        }
        Ok(pipeline)
    }

    fn parse_command(toks: &[Token], pos: &mut usize) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        while let Some(tok) = toks.get(*pos) {
            let arg = match tok {
                Token::Pipe | Token::Close => break,
                Token::Field(p) => Arg::Field(p.clone()),
                Token::Str(s) => Arg::Str(s.clone()),
                Token::Int(n) => Arg::Int(*n),
                Token::Ident(id) if id == "true" || id == "false" => Arg::Bool(id == "true"),
                Token::Ident(id) => Arg::Func(id.clone()),
                Token::Open => {
                    *pos += 1;
                    let sub = parse_pipeline(toks, pos)?;
                    match toks.get(*pos) {
                        Some(Token::Close) => Arg::Sub(sub),
                        _ => return Err("unclosed (".to_owned()),
                    }
                }
            };
            args.push(arg);
            *pos += 1;
        }
        if args.is_empty() {
            return Err("empty command".to_owned());
        }
        Ok(args)
    }

    fn pipeline_of(src: &str) -> Result<Pipeline, String> {
        let toks = tokens(src)?;
        let mut pos = 0;
        let p = parse_pipeline(&toks, &mut pos)?;
        if pos != toks.len() {
            return Err(format!("unexpected tokens in {src:?}"));
        }
        Ok(p)
    }

    /// Parses nodes until `end`/`else` (returned as the terminator) or the end of input.
    fn parse_nodes(
        pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    ) -> Result<(Vec<Node>, Option<String>), String> {
        let mut nodes = Vec::new();
        while let Some(piece) = pieces.next() {
            match piece {
                Piece::Text(t) => nodes.push(Node::Text(t)),
                Piece::Action(a) if a.starts_with("/*") => {
                    if !a.ends_with("*/") {
                        return Err(format!("bad comment {a:?}"));
                    }
                }
                Piece::Action(a) if a == "end" || a == "else" || a.starts_with("else if ") => {
                    return Ok((nodes, Some(a)));
                }
                Piece::Action(a) if a.starts_with("if ") => {
                    let mut branches = Vec::new();
                    let mut cond = pipeline_of(&a[3..])?;
                    loop {
                        let (body, term) = parse_nodes(pieces)?;
                        branches.push((cond, body));
                        match term.as_deref() {
                            Some("end") => {
                                nodes.push(Node::If(branches, Vec::new()));
                                break;
                            }
                            Some("else") => {
                                let (otherwise, term) = parse_nodes(pieces)?;
                                if term.as_deref() != Some("end") {
                                    return Err("else without end".to_owned());
                                }
                                nodes.push(Node::If(branches, otherwise));
                                break;
                            }
                            Some(t) if t.starts_with("else if ") => {
                                cond = pipeline_of(&t[8..])?;
                            }
                            _ => return Err(format!("unterminated {a:?}")),
                        }
                    }
                }
                Piece::Action(a) => {
                    let first = a.split_whitespace().next().unwrap_or("");
                    if ["range", "with", "define", "template", "block", "include"].contains(&first)
                        || a.contains(":=")
                        || a.starts_with('$')
                    {
                        return Err(format!("{first:?} is not supported here: {a:?}"));
                    }
                    nodes.push(Node::Output(pipeline_of(&a)?));
                }
            }
        }
        Ok((nodes, None))
    }

    /// Renders `src` with `context` (`{"Values": ..., "Release": ..., "Chart": ...}`).
    pub fn render(src: &str, context: &Value) -> Result<String, String> {
        let mut it = pieces(src)?.into_iter().peekable();
        let (nodes, term) = parse_nodes(&mut it)?;
        if let Some(t) = term {
            return Err(format!("unexpected {{{{ {t} }}}}"));
        }
        let mut out = String::new();
        emit(&nodes, context, &mut out)?;
        Ok(out)
    }

    fn emit(nodes: &[Node], ctx: &Value, out: &mut String) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Output(p) => out.push_str(&print(&eval(p, ctx)?)?),
                Node::If(branches, otherwise) => {
                    let mut taken = false;
                    for (cond, body) in branches {
                        if truthy(&eval(cond, ctx)?) {
                            emit(body, ctx, out)?;
                            taken = true;
                            break;
                        }
                    }
                    if !taken {
                        emit(otherwise, ctx, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn print(v: &Value) -> Result<String, String> {
        Ok(match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("printing a map or list as text: {other}")),
        })
    }

    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    fn truthy(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }

    fn eval(p: &Pipeline, ctx: &Value) -> Result<Value, String> {
        let mut piped: Option<Value> = None;
        for cmd in p {
            let (func, rest) = match &cmd[0] {
                Arg::Func(f) => (Some(f.as_str()), &cmd[1..]),
                _ => (None, &cmd[..]),
            };
            let mut args = rest
                .iter()
                .map(|a| arg(a, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            args.extend(piped.take());
            piped = Some(match func {
                Some(f) => call(f, args)?,
                None if args.len() == 1 => args.remove(0),
                None => return Err(format!("can't give arguments to a non-function: {cmd:?}")),
            });
        }
        Ok(piped.unwrap_or(Value::Null))
    }

    fn arg(a: &Arg, ctx: &Value) -> Result<Value, String> {
        Ok(match a {
            Arg::Field(path) => {
                let mut v = ctx;
                for (i, part) in path.iter().enumerate() {
                    v = match v {
                        Value::Object(map) => map.get(part).unwrap_or(&Value::Null),
                        _ => {
                            return Err(format!(
                                "nil pointer evaluating .{} (at {part})",
                                path[..i].join(".")
                            ));
                        }
                    };
                }
                v.clone()
            }
            Arg::Str(s) => Value::String(s.clone()),
            Arg::Int(n) => Value::from(*n),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Sub(p) => eval(p, ctx)?,
            Arg::Func(f) => call(f, Vec::new())?,
        })
    }

    fn number(v: &Value) -> Result<f64, String> {
        v.as_f64().ok_or_else(|| format!("not a number: {v}"))
    }

    fn strval(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => print(other).unwrap_or_else(|_| other.to_string()),
        }
    }

    /// Go's `%q`.
    fn go_quote(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn indent(n: usize, s: &str) -> String {
        let pad = " ".repeat(n);
        format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
    }

    fn call(f: &str, args: Vec<Value>) -> Result<Value, String> {
        let need = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{f} takes {n} arguments, got {}", args.len()))
            }
        };
        Ok(match f {
            "eq" | "ne" => {
                if args.len() < 2 {
                    return Err(format!("{f} needs two arguments"));
                }
                let same = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                };
                let eq = args[1..].iter().any(|b| same(&args[0], b));
                Value::Bool(if f == "eq" { eq } else { !eq })
            }
            "gt" | "lt" | "ge" | "le" => {
                need(2)?;
                let (a, b) = (number(&args[0])?, number(&args[1])?);
                Value::Bool(match f {
                    "gt" => a > b,
                    "lt" => a < b,
                    "ge" => a >= b,
                    _ => a <= b,
                })
            }
            "and" => args
                .iter()
                .find(|v| !truthy(v))
                .or(args.last())
                .cloned()
                .ok_or("and needs arguments")?,
            "or" => args
                .iter()
                .find(|v| truthy(v))
                .or(args.last())
                .cloned()
                .ok_or("or needs arguments")?,
            "not" => {
                need(1)?;
                Value::Bool(!truthy(&args[0]))
            }
            "int" => {
                need(1)?;
                match &args[0] {
                    Value::Null => Value::from(0),
                    Value::String(s) => Value::from(s.parse::<i64>().unwrap_or(0)),
                    v => Value::from(number(v)? as i64),
                }
            }
            "quote" => Value::String(
                args.iter()
                    .filter(|v| !v.is_null())
                    .map(|v| go_quote(&strval(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            "default" => {
                need(2)?;
                if truthy(&args[1]) {
                    args[1].clone()
                } else {
                    args[0].clone()
                }
            }
            "toYaml" => {
                need(1)?;
                let yaml = serde_saphyr::to_string(&args[0]).map_err(|e| e.to_string())?;
                Value::String(yaml.trim_end_matches('\n').to_owned())
            }
            "nindent" | "indent" => {
                need(2)?;
                let n = number(&args[0])? as usize;
                let s = indent(n, &strval(&args[1]));
                Value::String(if f == "nindent" { format!("\n{s}") } else { s })
            }
            "fail" => {
                need(1)?;
                return Err(format!("fail: {}", strval(&args[0])));
            }
            other => return Err(format!("function {other:?} is not supported here")),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::render;
        use serde_json::json;

        #[test]
        fn go_template_subset() {
            let ctx = json!({"Values": {"a": {"b": 2, "s": "x\"y", "list": [1, {"k": "v"}]},
                                        "empty": "", "on": true}});
            let r = |src: &str| render(src, &ctx);
            assert_eq!(r("n: {{ .Values.a.b }}").unwrap(), "n: 2");
            assert_eq!(r("q: {{ .Values.a.s | quote }}").unwrap(), "q: \"x\\\"y\"");
            assert_eq!(r("{{ .Values.empty | default \"d\" }}").unwrap(), "d");
            assert_eq!(r("{{ .Values.missing }}").unwrap(), "");
            assert!(r("{{ .Values.missing.deeper }}").is_err());
            assert_eq!(
                r("a\n  {{- if .Values.on }}\nb\n{{- end }}").unwrap(),
                "a\nb"
            );
            assert_eq!(
                r("{{ if .Values.empty }}x{{ else }}y{{ end }}").unwrap(),
                "y"
            );
            assert_eq!(
                r("{{ if eq .Values.a.b 1 }}1{{ else if gt (int .Values.a.b) 1 }}big{{ end }}")
                    .unwrap(),
                "big"
            );
            assert_eq!(
                r("{{ and 1 0 2 }}|{{ or 0 \"\" 3 }}|{{ not 0 }}").unwrap(),
                "0|3|true"
            );
            assert_eq!(r("{{- /* gone */ -}}\n  x").unwrap(), "x");
            assert_eq!(
                r("l:{{ toYaml .Values.a.list | nindent 2 }}").unwrap(),
                "l:\n  - 1\n  - k: v"
            );
            assert!(r("{{ fail \"no\" }}").unwrap_err().contains("no"));
            assert!(r("{{ range .Values.a.list }}{{ end }}").is_err());
            assert!(r("{{ include \"x\" . }}").is_err());
            assert!(r("{{ if .Values.on }}").is_err());
        }
    }
}
