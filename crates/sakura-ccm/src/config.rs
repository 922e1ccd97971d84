//! The provider's configuration: environment variables (each also readable from a file named
//! by `<NAME>_FILE`, for mounted Secrets) and the original CCM's `--cloud-config` YAML, whose
//! values win over the environment as they did there. Every problem is reported at once,
//! naming the variable or key, never a secret's value.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use cloud_provider::options::parse_go_bool;

use crate::provider::annotations::defaults;
use crate::provider::naming::validate_cluster_id;

/// Cluster ID: scopes ownership of load balancers to this cluster (tag `@k8s.ClusterID=<id>`).
pub const ENV_CLUSTER_ID: &str = "SAKURACLOUD_CLUSTER_ID";
/// `true` turns the load-balancer controller off (e.g. when MetalLB serves Services).
pub const ENV_DISABLE_LOAD_BALANCER: &str = "SAKURACLOUD_DISABLE_LOAD_BALANCER";
/// The original CCM's request tracing switch; accepted, logged as ignored.
pub const ENV_TRACE_MODE: &str = "SAKURACLOUD_TRACE_MODE";
/// The zone of a one-zone cluster (the original CCM's variable).
pub const ENV_ZONE: &str = "SAKURACLOUD_ZONE";
/// The zones of a cluster spanning zones, comma-separated; the first is the client's own.
pub const ENV_ZONES: &str = "SAKURACLOUD_ZONES";

/// The original CCM's `--cloud-config` keys and the variables they stand for.
pub const CLOUD_CONFIG_KEYS: &[(&str, &str)] = &[
    ("accessToken", "SAKURACLOUD_ACCESS_TOKEN"),
    ("accessTokenSecret", "SAKURACLOUD_ACCESS_TOKEN_SECRET"),
    ("zone", ENV_ZONE),
    ("zones", ENV_ZONES),
    ("clusterID", ENV_CLUSTER_ID),
    ("retryMax", "SAKURACLOUD_RETRY_MAX"),
    ("retryIntervalSec", "SAKURACLOUD_RETRY_INTERVAL_SEC"),
    ("apiRootURL", "SAKURACLOUD_API_ROOT_URL"),
    ("traceMode", ENV_TRACE_MODE),
    ("disableLoadBalancer", ENV_DISABLE_LOAD_BALANCER),
];

/// Variables that may hold secrets: their values never appear in messages.
const SECRET_VARIABLES: &[&str] = &[
    "SAKURACLOUD_ACCESS_TOKEN",
    "SAKURACLOUD_ACCESS_TOKEN_SECRET",
];

/// Everything the SAKURA provider is configured with.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The API client's configuration (credentials, zone, URL, retries, rate limit). Its zone
    /// is the first of [`ProviderConfig::zones`].
    pub api: sacloud::Config,
    /// Every zone of the cluster, the client's own first; never empty, all of one region.
    pub zones: Vec<sacloud::Zone>,
    /// `SAKURACLOUD_CLUSTER_ID`, if set.
    pub cluster_id: Option<String>,
    /// `SAKURACLOUD_DISABLE_LOAD_BALANCER`.
    pub disable_load_balancer: bool,
    /// Cluster-wide Service annotation defaults (`SAKURACLOUD_LOAD_BALANCERS_*`, or the
    /// cloud-config's `loadBalancerDefaults`), by annotation.
    pub load_balancer_defaults: BTreeMap<String, String>,
}

/// The configuration could not be used; one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SAKURA Cloud configuration:\n  {}", .problems.join("\n  "))]
pub struct ConfigError {
    /// Each problem, naming the variable, key or file.
    pub problems: Vec<String>,
}

impl ProviderConfig {
    /// Reads the configuration from the process environment and, if given, the cloud-config
    /// file.
    pub fn load(cloud_config: Option<&Path>) -> Result<Self, ConfigError> {
        let yaml = match cloud_config {
            None => None,
            Some(path) => Some((
                path,
                std::fs::read_to_string(path).map_err(|e| ConfigError {
                    problems: vec![format!("--cloud-config {}: {e}", path.display())],
                })?,
            )),
        };
        Self::resolve(
            yaml.as_ref().map(|(p, text)| (*p, text.as_str())),
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path),
        )
    }

    /// Resolves the configuration from a cloud-config file's `(path, text)`, an environment
    /// lookup and a file reader (the last two injectable for tests).
    pub fn resolve(
        cloud_config: Option<(&Path, &str)>,
        env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let from_yaml = match cloud_config {
            Some((path, text)) => parse_cloud_config(path, text, &mut problems),
            None => BTreeMap::new(),
        };
        let mut resolved: BTreeMap<String, String> = BTreeMap::new();
        let names: Vec<String> = CLOUD_CONFIG_KEYS
            .iter()
            .map(|(_, v)| (*v).to_owned())
            .chain(sacloud_only_variables().map(str::to_owned))
            .chain(defaults::DEFAULTABLE.iter().map(|a| defaults::env_name(a)))
            .collect();
        for name in &names {
            if let Some(value) = from_yaml.get(name) {
                resolved.insert(name.clone(), value.clone());
                continue;
            }
            if let Some(value) = from_env(name, &env, &read_file, &mut problems) {
                resolved.insert(name.clone(), value);
            }
        }
        let load_balancer_defaults = defaults::from_lookup(|name| resolved.get(name).cloned())
            .unwrap_or_else(|defaults_problems| {
                problems.extend(defaults_problems);
                BTreeMap::new()
            });

        let zones = resolve_zones(
            resolved.get(ENV_ZONE).map(String::as_str),
            resolved.get(ENV_ZONES).map(String::as_str),
            &mut problems,
        );
        // The client's own zone is the first configured one; with SAKURACLOUD_ZONES alone, the
        // client reads it as SAKURACLOUD_ZONE.
        if let Some(first) = zones.first() {
            resolved.insert(ENV_ZONE.to_owned(), first.name().to_owned());
        } else if resolved.contains_key(ENV_ZONES) {
            resolved.remove(ENV_ZONE);
        }
        let api = sacloud::Config::from_lookup(|name| {
            // A bad SAKURACLOUD_ZONES is reported above; the client must not also say that
            // SAKURACLOUD_ZONE is missing.
            if name == ENV_ZONE && resolved.contains_key(ENV_ZONES) && zones.is_empty() {
                return Some(sacloud::Zone::Is1a.name().to_owned());
            }
            resolved.get(name).cloned()
        });
        let cluster_id = resolved.get(ENV_CLUSTER_ID).cloned();
        if let Some(id) = &cluster_id
            && let Err(e) = validate_cluster_id(id)
        {
            problems.push(format!("{ENV_CLUSTER_ID}: {e}"));
        }
        let disable_load_balancer = match resolved.get(ENV_DISABLE_LOAD_BALANCER) {
            None => false,
            Some(v) => parse_go_bool(v).unwrap_or_else(|_| {
                problems.push(format!(
                    "{ENV_DISABLE_LOAD_BALANCER}: {v:?} is not a boolean (true or false)"
                ));
                false
            }),
        };
        match api {
            Ok(api) if problems.is_empty() => Ok(Self {
                zones: if zones.is_empty() {
                    vec![api.zone]
                } else {
                    zones
                },
                api,
                cluster_id,
                disable_load_balancer,
                load_balancer_defaults,
            }),
            Ok(_) => Err(ConfigError { problems }),
            Err(e) => {
                let mut all = e.problems;
                all.extend(problems);
                Err(ConfigError { problems: all })
            }
        }
    }
}

/// The cluster's zones from `SAKURACLOUD_ZONE` and `SAKURACLOUD_ZONES`: the list when given
/// (duplicates dropped, order kept), else the one zone; empty when neither is usable (the
/// problem is recorded, or the client reports the missing zone). All must share a region.
pub fn resolve_zones(
    zone: Option<&str>,
    zones: Option<&str>,
    problems: &mut Vec<String>,
) -> Vec<sacloud::Zone> {
    let Some(list) = zones.filter(|z| !z.trim().is_empty()) else {
        return Vec::new();
    };
    let mut out: Vec<sacloud::Zone> = Vec::new();
    let mut bad = false;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<sacloud::Zone>() {
            Ok(z) if !out.contains(&z) => out.push(z),
            Ok(_) => {}
            Err(e) => {
                problems.push(format!("{ENV_ZONES}: {e}"));
                bad = true;
            }
        }
    }
    if bad {
        return Vec::new();
    }
    if out.is_empty() {
        problems.push(format!(
            "{ENV_ZONES}: {list:?} names no zone; give comma-separated zones such as is1a,is1b,is1c"
        ));
        return Vec::new();
    }
    if let Some(problem) = mixed_regions(&out) {
        problems.push(problem);
        return Vec::new();
    }
    if let Some(one) = zone.map(str::trim).filter(|z| !z.is_empty()) {
        match one.parse::<sacloud::Zone>() {
            Ok(z) if out.contains(&z) => {}
            Ok(z) => {
                problems.push(format!(
                    "{ENV_ZONE} is {z} but {ENV_ZONES} ({}) does not include it; set only {ENV_ZONES}, or add {z} to it",
                    names(&out)
                ));
                return Vec::new();
            }
            Err(e) => {
                problems.push(format!("{ENV_ZONE}: {e}"));
                return Vec::new();
            }
        }
    }
    out
}

/// A problem when `zones` are not all of one region: a cluster spans the zones of one region
/// (is1a/is1b/is1c, or tk1a/tk1b), and the Sandbox tk1v only alone.
pub fn mixed_regions(zones: &[sacloud::Zone]) -> Option<String> {
    let first = zones.first()?;
    if zones.iter().all(|z| z.region().id == first.region().id) {
        return None;
    }
    Some(format!(
        "{ENV_ZONES}: {} are in different regions; a cluster can span the zones of one region only (is1a, is1b, is1c in Ishikari, or tk1a, tk1b in Tokyo; the Sandbox tk1v alone), since only switches of one region can be bridged",
        names(zones)
    ))
}

fn names(zones: &[sacloud::Zone]) -> String {
    zones
        .iter()
        .map(|z| z.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Variables the API client reads that have no cloud-config key.
fn sacloud_only_variables() -> impl Iterator<Item = &'static str> {
    [
        "SAKURACLOUD_API_REQUEST_TIMEOUT",
        "SAKURACLOUD_API_REQUEST_RATE_LIMIT",
        "SAKURACLOUD_API_REQUEST_RATE_BURST",
        "SAKURACLOUD_RETRY_WAIT_MIN",
        "SAKURACLOUD_RETRY_WAIT_MAX",
    ]
    .into_iter()
}

/// `NAME`, or the contents of the file `NAME_FILE` names (trailing newline removed). Both
/// set is a problem: which one was meant is unknowable.
fn from_env(
    name: &str,
    env: &impl Fn(&str) -> Option<String>,
    read_file: &impl Fn(&Path) -> io::Result<String>,
    problems: &mut Vec<String>,
) -> Option<String> {
    let direct = env(name).filter(|v| !v.is_empty());
    let file_var = format!("{name}_FILE");
    let file = env(&file_var).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => {
            problems.push(format!("both {name} and {file_var} are set; set only one"));
            None
        }
        (Some(v), None) => Some(v),
        (None, Some(path)) => match read_file(Path::new(&path)) {
            Ok(text) => Some(text.trim_end_matches(['\n', '\r']).to_owned()),
            Err(e) => {
                problems.push(format!("{file_var}: cannot read {path}: {e}"));
                None
            }
        },
        (None, None) => None,
    }
}

/// The cloud-config file as variable name → value; problems for unknown keys and values that
/// are not scalars.
fn parse_cloud_config(
    path: &Path,
    text: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let shown = path.display();
    let mut out = BTreeMap::new();
    if text.trim().is_empty() {
        return out;
    }
    let doc: BTreeMap<String, serde_json::Value> = match serde_saphyr::from_str(text) {
        Ok(doc) => doc,
        Err(e) => {
            problems.push(format!(
                "--cloud-config {shown}: not a YAML mapping of the original keys: {}",
                first_line(&e.to_string())
            ));
            return out;
        }
    };
    for (key, value) in doc {
        if key == defaults::CLOUD_CONFIG_KEY {
            load_balancer_defaults(&shown.to_string(), value, &mut out, problems);
            continue;
        }
        let Some((_, name)) = CLOUD_CONFIG_KEYS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = CLOUD_CONFIG_KEYS.iter().map(|(k, _)| *k).collect();
            problems.push(format!(
                "--cloud-config {shown}: unknown key {key:?} (known: {})",
                known.join(", ")
            ));
            continue;
        };
        let scalar = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            // `zones: [is1a, is1b]` as well as `zones: is1a,is1b`.
            serde_json::Value::Array(items)
                if *name == ENV_ZONES && items.iter().all(serde_json::Value::is_string) =>
            {
                items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            }
            _ => {
                let shown_value = if SECRET_VARIABLES.contains(name) {
                    "(hidden)".to_owned()
                } else {
                    value.to_string()
                };
                problems.push(format!(
                    "--cloud-config {shown}: {key} must be a single value, not {shown_value}"
                ));
                continue;
            }
        };
        if !scalar.is_empty() {
            out.insert((*name).to_owned(), scalar);
        }
    }
    out
}

/// The cloud-config's `loadBalancerDefaults` (annotation name without the prefix → value) as
/// the variables they stand for.
fn load_balancer_defaults(
    shown: &str,
    value: serde_json::Value,
    out: &mut BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let key = defaults::CLOUD_CONFIG_KEY;
    let serde_json::Value::Object(map) = value else {
        problems.push(format!(
            "--cloud-config {shown}: {key} must be a mapping of annotation names (without k8s.usacloud.jp/) to values"
        ));
        return;
    };
    for (name, value) in map {
        let Some(annotation) = defaults::annotation_of_key(&name) else {
            let known: Vec<&str> = defaults::DEFAULTABLE
                .iter()
                .filter_map(|a| a.strip_prefix(crate::provider::annotations::PREFIX))
                .collect();
            problems.push(format!(
                "--cloud-config {shown}: {key}: {name:?} cannot have a default (these can: {})",
                known.join(", ")
            ));
            continue;
        };
        let scalar = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => continue,
            other => {
                problems.push(format!(
                    "--cloud-config {shown}: {key}.{name} must be a single value, not {other}"
                ));
                continue;
            }
        };
        out.insert(defaults::env_name(annotation), scalar);
    }
}

/// YAML errors can quote the document; the first line says what is wrong without leaking
/// values from further down.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&Path) -> io::Result<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |path| {
            map.get(path.to_str().unwrap_or_default())
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
        }
    }

    const BASE: &[(&str, &str)] = &[
        ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
        ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "s3cr3t-value"),
        ("SAKURACLOUD_ZONE", "is1a"),
    ];

    #[test]
    fn environment_alone() {
        let c = ProviderConfig::resolve(None, env(BASE), files(&[])).unwrap();
        assert_eq!(c.api.zone, sacloud::Zone::Is1a);
        assert_eq!(c.cluster_id, None);
        assert!(!c.disable_load_balancer);
    }

    #[test]
    fn secrets_from_files_without_trailing_newline() {
        let c = ProviderConfig::resolve(
            None,
            env(&[
                ("SAKURACLOUD_ACCESS_TOKEN_FILE", "/run/secrets/token"),
                (
                    "SAKURACLOUD_ACCESS_TOKEN_SECRET_FILE",
                    "/run/secrets/secret",
                ),
                ("SAKURACLOUD_ZONE", "tk1b"),
            ]),
            files(&[
                ("/run/secrets/token", "from-file\n"),
                ("/run/secrets/secret", "hidden\r\n"),
            ]),
        )
        .unwrap();
        assert_eq!(c.api.access_token.expose(), "from-file");
        assert_eq!(c.api.access_token_secret.expose(), "hidden");
    }

    #[test]
    fn load_balancer_defaults_come_from_the_environment_and_the_cloud_config() {
        let yaml =
            "loadBalancerDefaults:\n  load-balancer-type: enhanced\n  enhanced-lb-plan: 500\n";
        let config = ProviderConfig::resolve(
            Some((Path::new("/etc/ccm.yaml"), yaml)),
            env(&[
                ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
                ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "s3cr3t-value"),
                ("SAKURACLOUD_ZONE", "is1a"),
                ("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_PLAN", "1000"),
                ("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_GZIP", "true"),
            ]),
            files(&[]),
        )
        .unwrap();
        let d = &config.load_balancer_defaults;
        assert_eq!(
            d.get("k8s.usacloud.jp/load-balancer-type")
                .map(String::as_str),
            Some("enhanced")
        );
        assert_eq!(
            d.get("k8s.usacloud.jp/enhanced-lb-plan")
                .map(String::as_str),
            Some("500"),
            "the file wins"
        );
        assert_eq!(
            d.get("k8s.usacloud.jp/enhanced-lb-gzip")
                .map(String::as_str),
            Some("true")
        );

        let bad = ProviderConfig::resolve(
            Some((
                Path::new("/etc/ccm.yaml"),
                "loadBalancerDefaults:\n  enhanced-lb-lets-encrypt: a.example\n",
            )),
            env(&[
                ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
                ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "s3cr3t-value"),
                ("SAKURACLOUD_ZONE", "is1a"),
                ("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_TIMEOUT", "5"),
            ]),
            files(&[]),
        )
        .unwrap_err();
        let text = bad.to_string();
        assert!(text.contains("cannot have a default"), "{text}");
        assert!(
            text.contains("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_TIMEOUT"),
            "{text}"
        );
    }

    #[test]
    fn cloud_config_wins_over_the_environment_with_the_original_keys() {
        let yaml = "accessToken: yaml-token\nzone: tk1a\nclusterID: prod\ndisableLoadBalancer: true\nretryMax: 3\napiRootURL: http://127.0.0.1:9/cloud/zone\n";
        let c = ProviderConfig::resolve(
            Some((Path::new("/etc/sakura.yaml"), yaml)),
            env(BASE),
            files(&[]),
        )
        .unwrap();
        assert_eq!(c.api.access_token.expose(), "yaml-token");
        assert_eq!(
            c.api.access_token_secret.expose(),
            "s3cr3t-value",
            "env fills gaps"
        );
        assert_eq!(c.api.zone, sacloud::Zone::Tk1a);
        assert_eq!(c.cluster_id.as_deref(), Some("prod"));
        assert!(c.disable_load_balancer);
        assert_eq!(c.api.retry.max_retries, 3);
        assert_eq!(c.api.api_root_url, "http://127.0.0.1:9/cloud/zone");
    }

    #[test]
    fn every_problem_is_reported_at_once_without_secret_values() {
        let yaml = "accessTokenSecret: [s3cr3t-in-a-list]\nbogus: 1\nclusterID: a-cluster-id-far-too-long-for-tags\n";
        let err = ProviderConfig::resolve(
            Some((Path::new("/etc/sakura.yaml"), yaml)),
            env(&[
                ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
                ("SAKURACLOUD_ACCESS_TOKEN_FILE", "/x"),
                ("SAKURACLOUD_ZONE", "mars1a"),
                ("SAKURACLOUD_DISABLE_LOAD_BALANCER", "maybe"),
            ]),
            files(&[]),
        )
        .unwrap_err();
        let all = err.problems.join("\n");
        for needle in [
            "both SAKURACLOUD_ACCESS_TOKEN and SAKURACLOUD_ACCESS_TOKEN_FILE",
            "SAKURACLOUD_ACCESS_TOKEN_SECRET",
            "SAKURACLOUD_ZONE",
            "unknown key \"bogus\"",
            "accessTokenSecret must be a single value",
            "SAKURACLOUD_CLUSTER_ID",
            "SAKURACLOUD_DISABLE_LOAD_BALANCER",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(!all.contains("s3cr3t"), "a secret leaked:\n{all}");
    }

    #[test]
    fn unreadable_secret_file_is_named() {
        let err = ProviderConfig::resolve(
            None,
            env(&[
                ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
                ("SAKURACLOUD_ACCESS_TOKEN_SECRET_FILE", "/missing"),
                ("SAKURACLOUD_ZONE", "is1a"),
            ]),
            files(&[]),
        )
        .unwrap_err();
        assert!(
            err.problems.iter().any(
                |p| p.starts_with("SAKURACLOUD_ACCESS_TOKEN_SECRET_FILE: cannot read /missing")
            ),
            "{err}"
        );
    }

    #[test]
    fn zones_of_one_region() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all: Vec<(&str, &str)> = BASE[..2].to_vec();
            all.extend_from_slice(pairs);
            ProviderConfig::resolve(None, env(&all), files(&[]))
        };
        let one = with(&[("SAKURACLOUD_ZONE", "tk1a")]).unwrap();
        assert_eq!(one.zones, vec![sacloud::Zone::Tk1a]);
        assert_eq!(one.api.zone, sacloud::Zone::Tk1a);

        let three = with(&[("SAKURACLOUD_ZONES", "is1b, is1a,is1c,is1a")]).unwrap();
        use sacloud::Zone::{Is1a, Is1b, Is1c};
        assert_eq!(
            three.zones,
            vec![Is1b, Is1a, Is1c],
            "order kept, duplicates dropped"
        );
        assert_eq!(three.api.zone, Is1b, "the client's zone is the first");

        let both = with(&[
            ("SAKURACLOUD_ZONE", "is1c"),
            ("SAKURACLOUD_ZONES", "is1a,is1c"),
        ]);
        assert_eq!(both.unwrap().api.zone, Is1a);
        let outside = with(&[
            ("SAKURACLOUD_ZONE", "tk1a"),
            ("SAKURACLOUD_ZONES", "is1a,is1c"),
        ])
        .unwrap_err()
        .to_string();
        assert!(outside.contains("does not include it"), "{outside}");

        for mixed in ["is1a,tk1a", "tk1a,tk1v"] {
            let err = with(&[("SAKURACLOUD_ZONES", mixed)]).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{err}");
            assert!(err.problems[0].contains("different regions"), "{err}");
        }
        assert_eq!(
            with(&[("SAKURACLOUD_ZONES", "tk1v")]).unwrap().zones,
            vec![sacloud::Zone::Tk1v]
        );
        let unknown = with(&[("SAKURACLOUD_ZONES", "is1a,mars1a")]).unwrap_err();
        assert_eq!(unknown.problems.len(), 1, "{unknown}");
        assert!(
            unknown.problems[0].contains("SAKURACLOUD_ZONES"),
            "{unknown}"
        );

        let yaml = "zones: [tk1b, tk1a]\n";
        let from_file = ProviderConfig::resolve(
            Some((Path::new("/etc/ccm.yaml"), yaml)),
            env(&BASE[..2]),
            files(&[]),
        )
        .unwrap();
        assert_eq!(
            from_file.zones,
            vec![sacloud::Zone::Tk1b, sacloud::Zone::Tk1a]
        );
    }

    #[test]
    fn broken_yaml_is_one_clear_problem() {
        let err = ProviderConfig::resolve(
            Some((Path::new("/etc/sakura.yaml"), "accessToken: [unclosed")),
            env(BASE),
            files(&[]),
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(err.problems[0].starts_with("--cloud-config /etc/sakura.yaml:"));
    }
}
