//! Which router (type `internet`) or switch (type `switch`) a load balancer goes on.

use cloud_provider::provider::ProviderEvent;
use sacloud::{Id, Internet, Switch};

use crate::provider::annotations::{ROUTER_SELECTOR, SWITCH_SELECTOR};
use crate::provider::naming::TAG_K8S;
use crate::provider::reasons;
use crate::provider::text::join_list;

/// A router or switch a load balancer could go on.
pub trait NetworkCandidate {
    /// Its ID.
    fn id(&self) -> Id;
    /// Its name.
    fn name(&self) -> &str;
    /// Its tags.
    fn tags(&self) -> &[String];
    /// Whether it can hold this kind of load balancer at all.
    fn usable(&self) -> bool {
        true
    }
}

impl NetworkCandidate for Internet {
    fn id(&self) -> Id {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
}

impl NetworkCandidate for Switch {
    fn id(&self) -> Id {
        self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
    /// A switch-type load balancer needs a plain user switch: a router's switch carries global
    /// addresses (that is the internet type) and the shared segment is not the user's.
    fn usable(&self) -> bool {
        self.internet.is_none() && self.scope != Some(sacloud::Scope::Shared)
    }
}

/// What is being selected, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// A switch+router (load-balancer-type `internet`).
    Router,
    /// A plain switch (load-balancer-type `switch`).
    Switch,
}

impl NetworkKind {
    fn noun(self) -> &'static str {
        match self {
            NetworkKind::Router => "switch+router",
            NetworkKind::Switch => "switch",
        }
    }

    fn selector_annotation(self) -> &'static str {
        match self {
            NetworkKind::Router => ROUTER_SELECTOR,
            NetworkKind::Switch => SWITCH_SELECTOR,
        }
    }
}

/// Why no router or switch could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// Nothing carries the tags.
    #[error("{}", not_found_message(*kind, selector.as_deref()))]
    NotFound {
        /// What was looked for.
        kind: NetworkKind,
        /// The selector tag, if one was given.
        selector: Option<String>,
    },
    /// Several carry the tags.
    #[error("{}", ambiguous_message(*kind, selector.as_deref(), matches))]
    Ambiguous {
        /// What was looked for.
        kind: NetworkKind,
        /// The selector tag, if one was given.
        selector: Option<String>,
        /// Name and ID of each match, by ID.
        matches: Vec<(String, Id)>,
    },
}

impl SelectionError {
    /// The Warning event to publish on the Service.
    pub fn event(&self) -> ProviderEvent {
        let reason = match self {
            SelectionError::NotFound { .. } => reasons::NETWORK_NOT_FOUND,
            SelectionError::Ambiguous { .. } => reasons::AMBIGUOUS_NETWORK,
        };
        ProviderEvent::warning(reason, self.to_string())
    }
}

fn tags_phrase(selector: Option<&str>) -> String {
    match selector {
        Some(s) => format!("the tags {TAG_K8S} and {s}"),
        None => format!("the tag {TAG_K8S}"),
    }
}

fn not_found_message(kind: NetworkKind, selector: Option<&str>) -> String {
    let noun = kind.noun();
    let nodes = match kind {
        NetworkKind::Router => "the nodes' global addresses come from",
        NetworkKind::Switch => "the nodes are connected to",
    };
    format!(
        "no {noun} in this zone has {tags}; add {tags} to the {noun} {nodes}{shared}",
        tags = tags_phrase(selector),
        shared = match kind {
            NetworkKind::Router => {
                " (a load-balancer appliance cannot sit on the shared segment; nodes there use load-balancer-type enhanced)"
            }
            NetworkKind::Switch =>
                " (a router's switch does not count: use load-balancer-type internet for it)",
        }
    )
}

fn ambiguous_message(
    kind: NetworkKind,
    selector: Option<&str>,
    matches: &[(String, Id)],
) -> String {
    let listed: Vec<String> = matches
        .iter()
        .map(|(name, id)| format!("{name:?} (ID {id})"))
        .collect();
    format!(
        "{n} {noun}s have {tags}: {list}; add a tag only the one for this Service has and set the annotation {ann}: <that tag>",
        n = matches.len(),
        noun = kind.noun(),
        tags = tags_phrase(selector),
        list = join_list(&listed),
        ann = kind.selector_annotation(),
    )
}

/// Chooses the router (or switch) tagged `@k8s` and, when given, `selector`: exactly one must
/// match. Candidates may be a wider list; the tags are checked here.
pub fn select_network<'a, T: NetworkCandidate>(
    candidates: &'a [T],
    kind: NetworkKind,
    selector: Option<&str>,
) -> Result<&'a T, SelectionError> {
    let mut matches: Vec<&T> = candidates
        .iter()
        .filter(|c| c.usable())
        .filter(|c| {
            let tags = c.tags();
            tags.iter().any(|t| t == TAG_K8S)
                && selector.is_none_or(|s| tags.iter().any(|t| t == s))
        })
        .collect();
    matches.sort_by_key(|c| c.id());
    matches.dedup_by_key(|c| c.id());
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(SelectionError::NotFound {
            kind,
            selector: selector.map(str::to_owned),
        }),
        many => Err(SelectionError::Ambiguous {
            kind,
            selector: selector.map(str::to_owned),
            matches: many.iter().map(|c| (c.name().to_owned(), c.id())).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use sacloud::api::common::Scope;
    use sacloud::api::switch::InternetRef;

    #[test]
    fn selects_exactly_one_tagged_router() {
        let routers = vec![
            router(3, "r-prod", &["@k8s", "prod"]),
            router(1, "r-untagged", &["k8s"]),
            router(2, "r-staging", &["@k8s", "staging"]),
            router(4, "r-upper", &["@K8S", "prod"]),
        ];
        let pick =
            |sel: Option<&str>| select_network(&routers, NetworkKind::Router, sel).map(|r| r.id.0);
        assert_eq!(pick(Some("prod")), Ok(3));
        assert_eq!(pick(Some("staging")), Ok(2));
        assert_eq!(
            pick(Some("dev")),
            Err(SelectionError::NotFound {
                kind: NetworkKind::Router,
                selector: Some("dev".into())
            })
        );
        assert_eq!(
            pick(None),
            Err(SelectionError::Ambiguous {
                kind: NetworkKind::Router,
                selector: None,
                matches: vec![("r-staging".into(), Id(2)), ("r-prod".into(), Id(3))],
            })
        );
        let none: Vec<Internet> = vec![];
        assert!(matches!(
            select_network(&none, NetworkKind::Router, None),
            Err(SelectionError::NotFound { .. })
        ));
        // The same router listed twice (two pages raced) is still one router.
        let twice = vec![router(7, "r", &["@k8s"]), router(7, "r", &["@k8s"])];
        assert_eq!(
            select_network(&twice, NetworkKind::Router, None).map(|r| r.id),
            Ok(Id(7))
        );
    }

    #[test]
    fn switch_type_ignores_router_switches_and_the_shared_segment() {
        let mut behind_router = plain_switch(1, "router-sw", &["@k8s"]);
        behind_router.internet = Some(InternetRef::default());
        let mut shared = plain_switch(2, "shared", &["@k8s"]);
        shared.scope = Some(Scope::Shared);
        let private = plain_switch(3, "private", &["@k8s"]);
        let all = vec![behind_router.clone(), shared.clone(), private];
        assert_eq!(
            select_network(&all, NetworkKind::Switch, None).map(|s| s.id),
            Ok(Id(3))
        );
        let err = select_network(&[behind_router, shared], NetworkKind::Switch, None).unwrap_err();
        assert!(
            err.to_string().contains("load-balancer-type internet"),
            "{err}"
        );
    }

    #[test]
    fn selection_messages_say_what_to_do() {
        let not_found = SelectionError::NotFound {
            kind: NetworkKind::Router,
            selector: None,
        };
        let text = not_found.to_string();
        assert!(text.contains("no switch+router"), "{text}");
        assert!(text.contains("add the tag @k8s"), "{text}");
        assert_eq!(not_found.event().reason, reasons::NETWORK_NOT_FOUND);
        assert!(not_found.event().warning);

        let with_sel = SelectionError::NotFound {
            kind: NetworkKind::Switch,
            selector: Some("blue".into()),
        }
        .to_string();
        assert!(
            with_sel.contains("no switch in this zone has the tags @k8s and blue"),
            "{with_sel}"
        );

        let ambiguous = SelectionError::Ambiguous {
            kind: NetworkKind::Router,
            selector: None,
            matches: vec![
                ("a".into(), Id(111111111111)),
                ("b".into(), Id(222222222222)),
            ],
        };
        let text = ambiguous.to_string();
        for part in [
            "2 switch+routers have the tag @k8s",
            "\"a\" (ID 111111111111) and \"b\" (ID 222222222222)",
            "k8s.usacloud.jp/router-selector",
            "add a tag",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        assert_eq!(ambiguous.event().reason, reasons::AMBIGUOUS_NETWORK);
        let switch_text = SelectionError::Ambiguous {
            kind: NetworkKind::Switch,
            selector: Some("x".into()),
            matches: vec![("a".into(), Id(1)), ("b".into(), Id(2))],
        }
        .to_string();
        assert!(
            switch_text.contains("k8s.usacloud.jp/switch-selector"),
            "{switch_text}"
        );
    }
}
