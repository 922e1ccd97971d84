//! The controllers of a cloud-controller-manager and upstream's `--controllers` rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// A controller this framework runs, named as upstream names it (k8s.io/cloud-provider `names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ControllerName {
    /// `cloud-node-controller` (alias `cloud-node`): initializes Nodes and keeps their addresses.
    CloudNode,
    /// `service-lb-controller` (alias `service`): load balancers for `type: LoadBalancer` Services.
    ServiceLb,
    /// `node-route-controller` (alias `route`): cloud routes to the Pod CIDRs of the Nodes.
    NodeRoute,
    /// `cloud-node-lifecycle-controller` (alias `cloud-node-lifecycle`): deletes Nodes whose
    /// instance is gone and taints shut-down ones.
    CloudNodeLifecycle,
}

impl ControllerName {
    /// Every controller, in the order upstream lists them.
    pub const ALL: [ControllerName; 4] = [
        ControllerName::CloudNode,
        ControllerName::ServiceLb,
        ControllerName::NodeRoute,
        ControllerName::CloudNodeLifecycle,
    ];

    /// The canonical upstream name, e.g. `cloud-node-controller`.
    pub fn name(self) -> &'static str {
        match self {
            ControllerName::CloudNode => "cloud-node-controller",
            ControllerName::ServiceLb => "service-lb-controller",
            ControllerName::NodeRoute => "node-route-controller",
            ControllerName::CloudNodeLifecycle => "cloud-node-lifecycle-controller",
        }
    }

    /// The short alias upstream also accepts, e.g. `cloud-node`.
    pub fn alias(self) -> &'static str {
        match self {
            ControllerName::CloudNode => "cloud-node",
            ControllerName::ServiceLb => "service",
            ControllerName::NodeRoute => "route",
            ControllerName::CloudNodeLifecycle => "cloud-node-lifecycle",
        }
    }

    /// The controller called `name` (canonical name or alias).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name || c.alias() == name)
    }
}

impl fmt::Display for ControllerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ControllerName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| {
            format!(
                "unknown controller {s:?}; known: {}",
                known_controllers_list()
            )
        })
    }
}

fn known_controllers_list() -> String {
    ControllerName::ALL
        .iter()
        .map(|c| format!("{} ({})", c.name(), c.alias()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The controllers a `--controllers` list enables, by upstream's rules: `*` enables every
/// controller; `name` enables and `-name` disables one (canonical name or alias); the first
/// item naming a controller decides for it, whatever its position relative to `*`; without `*`
/// only the named controllers run. Empty items are skipped (`--controllers=` enables nothing).
///
/// Unknown names are an error that names all of them and lists the valid ones.
pub fn resolve_controllers(items: &[String]) -> Result<BTreeSet<ControllerName>, String> {
    let mut star = false;
    let mut decided: BTreeMap<ControllerName, bool> = BTreeMap::new();
    let mut unknown = Vec::new();
    for item in items.iter().map(String::as_str) {
        if item.is_empty() {
            continue;
        }
        if item == "*" {
            star = true;
            continue;
        }
        let (enable, name) = match item.strip_prefix('-') {
            Some(name) => (false, name),
            None => (true, item),
        };
        match ControllerName::from_name(name) {
            Some(c) => {
                decided.entry(c).or_insert(enable);
            }
            None => unknown.push(format!("{name:?}")),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "--controllers: unknown controller(s) {}; known: * (all), {}; prefix a name with - to disable it",
            unknown.join(", "),
            known_controllers_list()
        ));
    }
    Ok(ControllerName::ALL
        .into_iter()
        .filter(|c| decided.get(c).copied().unwrap_or(star))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ControllerName::*;

    fn resolve(items: &[&str]) -> Result<BTreeSet<ControllerName>, String> {
        resolve_controllers(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn set(cs: &[ControllerName]) -> BTreeSet<ControllerName> {
        cs.iter().copied().collect()
    }

    #[test]
    fn names_and_aliases_round_trip() {
        for c in ControllerName::ALL {
            assert_eq!(ControllerName::from_name(c.name()), Some(c));
            assert_eq!(ControllerName::from_name(c.alias()), Some(c));
            assert_eq!(c.to_string().parse::<ControllerName>(), Ok(c));
        }
        assert_eq!(ControllerName::from_name("nodeipam"), None);
        assert!(
            "x".parse::<ControllerName>()
                .unwrap_err()
                .contains("cloud-node-controller")
        );
    }

    #[test]
    fn star_enables_all() {
        assert_eq!(resolve(&["*"]), Ok(set(&ControllerName::ALL)));
    }

    #[test]
    fn minus_disables_by_name_or_alias() {
        let want = set(&[CloudNode, ServiceLb, CloudNodeLifecycle]);
        assert_eq!(resolve(&["*", "-node-route-controller"]), Ok(want.clone()));
        assert_eq!(resolve(&["*", "-route"]), Ok(want.clone()));
        assert_eq!(resolve(&["-route", "*"]), Ok(want));
        assert_eq!(
            resolve(&["*", "-service", "-cloud-node-lifecycle"]),
            Ok(set(&[CloudNode, NodeRoute]))
        );
    }

    #[test]
    fn bare_names_enable_only_themselves() {
        assert_eq!(
            resolve(&["cloud-node", "service-lb-controller"]),
            Ok(set(&[CloudNode, ServiceLb]))
        );
        assert_eq!(resolve(&["-route"]), Ok(set(&[])));
        assert_eq!(resolve(&[]), Ok(set(&[])));
        assert_eq!(resolve(&[""]), Ok(set(&[])));
    }

    #[test]
    fn the_first_mention_wins() {
        assert_eq!(resolve(&["route", "-route"]), Ok(set(&[NodeRoute])));
        assert_eq!(
            resolve(&["-route", "*", "node-route-controller"]),
            Ok(set(&[CloudNode, ServiceLb, CloudNodeLifecycle]))
        );
    }

    #[test]
    fn unknown_names_are_all_reported_with_the_valid_ones() {
        let err = resolve(&["*", "-nodeipam", "bogus", "route"]).unwrap_err();
        assert!(err.contains("\"nodeipam\""), "{err}");
        assert!(err.contains("\"bogus\""), "{err}");
        for c in ControllerName::ALL {
            assert!(err.contains(c.name()) && err.contains(c.alias()), "{err}");
        }
        // Like upstream, "-*" is not a way to disable everything.
        assert!(resolve(&["-*"]).is_err());
    }
}
