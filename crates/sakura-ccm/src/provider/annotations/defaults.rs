//! Cluster-wide defaults for Service annotations, so that a cluster on the shared segment says
//! `enhanced` once instead of on every Service (as hcloud's `HCLOUD_LOAD_BALANCERS_*`).
//!
//! Each defaultable annotation `k8s.usacloud.jp/<name>` has the environment variable
//! `SAKURACLOUD_LOAD_BALANCERS_<NAME>` (upper case, `-` → `_`) and the `--cloud-config` key
//! `loadBalancerDefaults: {<name>: <value>}`. A Service's own annotation wins. A default that
//! does not apply to a Service's type is not reported as ignored on it.

use std::collections::BTreeMap;

use super::{
    ENHANCED_GZIP, ENHANCED_HTTP2, ENHANCED_PLAN, ENHANCED_PROXY_PROTOCOL,
    ENHANCED_REDIRECT_TO_HTTPS, ENHANCED_REGION, ENHANCED_SSL_POLICY, ENHANCED_STICKY_SESSION,
    ENHANCED_TIMEOUT, ENHANCED_VIP_FAILOVER, HEALTHZ_INTERVAL, HEALTHZ_PROTOCOL, HIGH_AVAILABILITY,
    LOAD_BALANCER_TYPE, NODE_SELECTOR, PLAN, PREFIX, ROUTER_SELECTOR, TrafficPolicy, parse,
};

/// Prefix of the environment variables.
pub const ENV_PREFIX: &str = "SAKURACLOUD_LOAD_BALANCERS_";

/// The `--cloud-config` key holding the defaults (a mapping of annotation names without the
/// prefix to values).
pub const CLOUD_CONFIG_KEY: &str = "loadBalancerDefaults";

/// The annotations that can have a cluster-wide default. Per-Service names (certificates,
/// port modes, addresses of the switch type) cannot.
pub const DEFAULTABLE: &[&str] = &[
    LOAD_BALANCER_TYPE,
    NODE_SELECTOR,
    HIGH_AVAILABILITY,
    PLAN,
    ROUTER_SELECTOR,
    HEALTHZ_PROTOCOL,
    HEALTHZ_INTERVAL,
    ENHANCED_PLAN,
    ENHANCED_REGION,
    ENHANCED_VIP_FAILOVER,
    ENHANCED_REDIRECT_TO_HTTPS,
    ENHANCED_HTTP2,
    ENHANCED_SSL_POLICY,
    ENHANCED_STICKY_SESSION,
    ENHANCED_GZIP,
    ENHANCED_TIMEOUT,
    ENHANCED_PROXY_PROTOCOL,
];

/// The environment variable of a defaultable annotation.
pub fn env_name(annotation: &str) -> String {
    let short = annotation.strip_prefix(PREFIX).unwrap_or(annotation);
    format!(
        "{ENV_PREFIX}{}",
        short.to_ascii_uppercase().replace('-', "_")
    )
}

/// The annotation of a `--cloud-config` `loadBalancerDefaults` key, if it is defaultable.
pub fn annotation_of_key(key: &str) -> Option<&'static str> {
    DEFAULTABLE
        .iter()
        .copied()
        .find(|a| a.strip_prefix(PREFIX) == Some(key))
}

/// The defaults found through `lookup` (an environment variable name → its value), checked as
/// annotations are; each problem names the variable.
pub fn from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut defaults = BTreeMap::new();
    for annotation in DEFAULTABLE {
        if let Some(value) = lookup(&env_name(annotation)).filter(|v| !v.trim().is_empty()) {
            defaults.insert((*annotation).to_owned(), value);
        }
    }
    // Only the defaults' own values are judged here (a switch-type default, say, needs
    // per-Service ranges that a default cannot give), as each type reads them: as given, and
    // with the type forced to each kind so that every value is read by the kind it is for.
    let mut problems: Vec<String> = Vec::new();
    for forced in [None, Some("internet"), Some("enhanced")] {
        let mut as_read = defaults.clone();
        if let Some(kind) = forced {
            as_read.insert(LOAD_BALANCER_TYPE.to_owned(), kind.to_owned());
        }
        let Err(errors) = parse(&as_read, None, TrafficPolicy::Cluster) else {
            continue;
        };
        for e in errors {
            let own =
                defaults.contains_key(e.key) && (forced.is_none() || e.key != LOAD_BALANCER_TYPE);
            let problem = format!("{}: {e}", env_name(e.key));
            if own && !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(defaults)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::annotations::{Requested, parse_service_with_defaults};
    use k8s_openapi::api::core::v1::Service;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn names() {
        assert_eq!(
            env_name(LOAD_BALANCER_TYPE),
            "SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE"
        );
        assert_eq!(
            env_name(ENHANCED_PLAN),
            "SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_PLAN"
        );
        assert_eq!(annotation_of_key("enhanced-lb-gzip"), Some(ENHANCED_GZIP));
        assert_eq!(annotation_of_key("enhanced-lb-lets-encrypt"), None);
    }

    #[test]
    fn bad_defaults_name_the_variable() {
        let problems = from_lookup(lookup(&[
            ("SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE", "proxy"),
            ("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_PLAN", "7"),
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("SAKURACLOUD_LOAD_BALANCERS_"));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("internet, switch or enhanced"))
        );
    }

    #[test]
    fn a_switch_default_is_fine_without_its_per_service_ranges() {
        let defaults = from_lookup(lookup(&[(
            "SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE",
            "switch",
        )]))
        .unwrap();
        assert_eq!(defaults.len(), 1);
    }

    #[test]
    fn services_take_the_defaults_and_their_own_annotations_win() {
        let defaults = from_lookup(lookup(&[
            ("SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE", "enhanced"),
            ("SAKURACLOUD_LOAD_BALANCERS_ENHANCED_LB_PLAN", "500"),
            ("SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_HA", "true"),
        ]))
        .unwrap();
        let plain = Service::default();
        let Requested::Enhanced(o) = parse_service_with_defaults(&plain, &defaults).unwrap() else {
            panic!("the default type is enhanced");
        };
        assert_eq!(o.plan.cps(), 500);
        assert!(
            o.ignored.is_empty(),
            "a default for the appliance is not reported on an enhanced Service: {:?}",
            o.ignored
        );

        let mut own = Service::default();
        own.metadata.annotations = Some(BTreeMap::from([(
            LOAD_BALANCER_TYPE.to_owned(),
            "internet".to_owned(),
        )]));
        let Requested::Appliance(o) = parse_service_with_defaults(&own, &defaults).unwrap() else {
            panic!("the Service's own type wins");
        };
        assert!(o.high_availability);
        assert!(o.ignored.is_empty(), "{:?}", o.ignored);
    }
}
