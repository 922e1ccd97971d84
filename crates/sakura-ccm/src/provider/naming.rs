//! Names and tags of load-balancer appliances, and whether an appliance is ours.
//!
//! The name is the original CCM's (`"a"` + the Service UID without dashes, cut to 32
//! characters), so an appliance it created is found and adopted with its VIP. Ownership is
//! proven by tags, never by the name alone: an appliance without `@k8s` (and, when a cluster ID
//! is configured, without that cluster's tag) is never ours, whatever its name.

use k8s_openapi::api::core::v1::Service;
use sacloud::LoadBalancer;

/// Tag every resource the CCM uses or creates carries (routers and switches are found by it).
pub const TAG_K8S: &str = "@k8s";
/// Prefix of the cluster tag: `@k8s.ClusterID=<id>`.
pub const TAG_CLUSTER_ID_PREFIX: &str = "@k8s.ClusterID=";
/// Prefix of the Service-name tag the original CCM wrote: `@k8s.Service=<name, ≤18 chars>`.
pub const TAG_SERVICE_PREFIX: &str = "@k8s.Service=";
/// Prefix of the Service-UID tag this CCM adds: `@k8s.ServiceUID=<uid>`.
pub const TAG_SERVICE_UID_PREFIX: &str = "@k8s.ServiceUID=";
/// Longest cluster ID (the original's limit, kept so its clusters keep their tag).
pub const MAX_CLUSTER_ID_LEN: usize = 18;
/// The original cut Service names to this many characters in its tag.
pub const SERVICE_TAG_NAME_LEN: usize = 18;
/// Appliance names are cut to this many characters (upstream `DefaultLoadBalancerName`).
pub const MAX_NAME_LEN: usize = 32;

/// The Service a load balancer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceIdentity {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID, as Kubernetes writes it (with dashes).
    pub uid: String,
}

impl ServiceIdentity {
    /// The identity of `service`; `None` when it has no name or UID (it was never stored).
    pub fn of(service: &Service) -> Option<Self> {
        let m = &service.metadata;
        Some(Self {
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().filter(|n| !n.is_empty())?,
            uid: m.uid.clone().filter(|u| !u.is_empty())?,
        })
    }
}

/// Why a cluster ID is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterIdError {
    /// Longer than [`MAX_CLUSTER_ID_LEN`].
    #[error(
        "SAKURACLOUD_CLUSTER_ID {0:?} is longer than 18 characters (the limit the original CCM set; its tag must stay the same)"
    )]
    TooLong(String),
    /// Contains whitespace, which the API's tag search splits on.
    #[error("SAKURACLOUD_CLUSTER_ID {0:?} contains whitespace; use letters, digits, - or _")]
    Whitespace(String),
}

/// Checks a configured cluster ID (empty means "none").
pub fn validate_cluster_id(id: &str) -> Result<(), ClusterIdError> {
    if id.chars().count() > MAX_CLUSTER_ID_LEN {
        return Err(ClusterIdError::TooLong(id.to_owned()));
    }
    if id.chars().any(char::is_whitespace) {
        return Err(ClusterIdError::Whitespace(id.to_owned()));
    }
    Ok(())
}

/// The appliance name: `"a"` + the UID without dashes, cut to 32 characters (upstream
/// `cloudprovider.DefaultLoadBalancerName`, as the original CCM named them).
pub fn appliance_name(service_uid: &str) -> String {
    let mut name: String = std::iter::once('a')
        .chain(service_uid.chars().filter(|c| *c != '-'))
        .collect();
    if let Some((cut, _)) = name.char_indices().nth(MAX_NAME_LEN) {
        name.truncate(cut);
    }
    name
}

/// The cluster tag for a configured cluster ID.
pub fn cluster_tag(cluster_id: &str) -> String {
    format!("{TAG_CLUSTER_ID_PREFIX}{cluster_id}")
}

/// The Service-name tag, as the original CCM wrote it.
pub fn service_tag(service_name: &str) -> String {
    let short: String = service_name.chars().take(SERVICE_TAG_NAME_LEN).collect();
    format!("{TAG_SERVICE_PREFIX}{short}")
}

/// The Service-UID tag.
pub fn service_uid_tag(uid: &str) -> String {
    format!("{TAG_SERVICE_UID_PREFIX}{uid}")
}

/// The tags an appliance we create carries, sorted as the API returns them.
pub fn appliance_tags(cluster_id: Option<&str>, service: &ServiceIdentity) -> Vec<String> {
    let mut tags = vec![
        TAG_K8S.to_owned(),
        service_tag(&service.name),
        service_uid_tag(&service.uid),
    ];
    if let Some(id) = cluster_id.filter(|id| !id.is_empty()) {
        tags.push(cluster_tag(id));
    }
    tags.sort();
    tags
}

/// The tags an adopted (or our own) appliance should carry: its current tags plus ours, so
/// tags a user added stay. Equal to `current` (modulo order) when nothing needs writing.
pub fn tags_after_adoption(
    current: &[String],
    cluster_id: Option<&str>,
    service: &ServiceIdentity,
) -> Vec<String> {
    let mut tags: Vec<String> = current.to_vec();
    tags.extend(appliance_tags(cluster_id, service));
    tags.sort();
    tags.dedup();
    tags
}

/// Whether an appliance belongs to this CCM and this Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Our tags, this Service's UID tag: ours to change and delete.
    Ours,
    /// Created by the original CCM for this Service (its name, `@k8s`, the cluster tag when
    /// one is configured, no UID tag): adopt it by adding our tags, keep its VIP.
    AdoptableFromOriginal,
    /// Not ours: never modify or delete it.
    NotOurs(NotOurs),
}

/// Why an appliance is not ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOurs {
    /// No `@k8s` tag.
    #[error("it has no @k8s tag")]
    NoK8sTag,
    /// A cluster ID is configured and the appliance lacks its tag.
    #[error("it lacks the tag {expected} of this cluster")]
    MissingClusterTag {
        /// The tag it should have.
        expected: String,
    },
    /// It carries a cluster tag of another cluster (or one when none is configured).
    #[error("it belongs to another cluster ({found})")]
    OtherCluster {
        /// The cluster tag it has.
        found: String,
    },
    /// Its UID tag names another Service.
    #[error("it belongs to another Service (UID {uid})")]
    OtherService {
        /// The UID in its tag.
        uid: String,
    },
    /// No UID tag and the name is not this Service's.
    #[error("its name {name:?} is not {expected:?}")]
    NameMismatch {
        /// Its name.
        name: String,
        /// The name this Service's appliance has.
        expected: String,
    },
    /// No UID tag, the right name, but the original's Service tag names another Service.
    #[error("its tag {found} does not name Service {expected}")]
    ServiceTagMismatch {
        /// The Service tag it has.
        found: String,
        /// The Service name expected in it.
        expected: String,
    },
}

/// Decides whether `appliance` is the load balancer of `service` in this cluster.
///
/// In order: `@k8s` must be there; the cluster tags must be exactly the configured cluster's
/// (none when no cluster ID is configured); then a UID tag decides; without one, the original
/// CCM's name (and its Service tag, when present) makes it adoptable.
pub fn owned_by(
    appliance: &LoadBalancer,
    cluster_id: Option<&str>,
    service: &ServiceIdentity,
) -> Ownership {
    owned_by_tags(&appliance.name, &appliance.tags, cluster_id, service)
}

/// [`owned_by`] for any tagged item (an appliance or an Enhanced Load Balancer) by its name
/// and tags.
pub fn owned_by_tags(
    name: &str,
    tags: &[String],
    cluster_id: Option<&str>,
    service: &ServiceIdentity,
) -> Ownership {
    if !tags.iter().any(|t| t == TAG_K8S) {
        return Ownership::NotOurs(NotOurs::NoK8sTag);
    }
    let cluster_id = cluster_id.filter(|id| !id.is_empty());
    let expected_cluster = cluster_id.map(cluster_tag);
    if let Some(found) = tags
        .iter()
        .find(|t| t.starts_with(TAG_CLUSTER_ID_PREFIX) && Some(*t) != expected_cluster.as_ref())
    {
        return Ownership::NotOurs(NotOurs::OtherCluster {
            found: found.clone(),
        });
    }
    if let Some(expected) = expected_cluster
        && !tags.contains(&expected)
    {
        return Ownership::NotOurs(NotOurs::MissingClusterTag { expected });
    }
    let uids: Vec<&str> = tags
        .iter()
        .filter_map(|t| t.strip_prefix(TAG_SERVICE_UID_PREFIX))
        .collect();
    if let Some(other) = uids.iter().find(|u| **u != service.uid) {
        return Ownership::NotOurs(NotOurs::OtherService {
            uid: (*other).to_owned(),
        });
    }
    if !uids.is_empty() {
        return Ownership::Ours;
    }
    let expected = appliance_name(&service.uid);
    if name != expected {
        return Ownership::NotOurs(NotOurs::NameMismatch {
            name: name.to_owned(),
            expected,
        });
    }
    let expected_service_tag = service_tag(&service.name);
    if let Some(found) = tags
        .iter()
        .find(|t| t.starts_with(TAG_SERVICE_PREFIX) && **t != expected_service_tag)
    {
        return Ownership::NotOurs(NotOurs::ServiceTagMismatch {
            found: found.clone(),
            expected: service.name.clone(),
        });
    }
    Ownership::AdoptableFromOriginal
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use sacloud::Id;

    const UID: &str = "3f2a6c1e-9b7d-4e21-8c3a-5d6e7f809a1b";
    const OTHER_UID: &str = "00000000-1111-2222-3333-444444444444";

    fn svc() -> ServiceIdentity {
        ServiceIdentity {
            namespace: "default".into(),
            name: "my-web-frontend-service".into(),
            uid: UID.into(),
        }
    }

    fn lb(name: &str, tags: &[&str]) -> LoadBalancer {
        LoadBalancer {
            id: Id(113000000001),
            class: "loadbalancer".into(),
            name: name.into(),
            description: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            plan: None,
            service_class: String::new(),
            availability: None,
            instance: None,
            settings: Default::default(),
            settings_hash: String::new(),
            remark: Default::default(),
            switch: None,
            interfaces: vec![],
            created_at: String::new(),
        }
    }

    #[test]
    fn name_is_the_originals() {
        assert_eq!(appliance_name(UID), "a3f2a6c1e9b7d4e218c3a5d6e7f809a1");
        assert_eq!(appliance_name(UID).len(), 32);
        assert_eq!(appliance_name("abc"), "aabc");
        assert_eq!(appliance_name(""), "a");
    }

    #[test]
    fn tags() {
        assert_eq!(
            appliance_tags(Some("prod"), &svc()),
            vec![
                "@k8s",
                "@k8s.ClusterID=prod",
                "@k8s.Service=my-web-frontend-se",
                "@k8s.ServiceUID=3f2a6c1e-9b7d-4e21-8c3a-5d6e7f809a1b",
            ]
        );
        assert_eq!(
            appliance_tags(None, &svc()),
            appliance_tags(Some(""), &svc()),
            "an empty cluster ID is no cluster ID"
        );
        assert_eq!(appliance_tags(None, &svc()).len(), 3);
        assert_eq!(service_tag("short"), "@k8s.Service=short");
        assert_eq!(
            service_tag("exactly-eighteen-c"),
            "@k8s.Service=exactly-eighteen-c"
        );
    }

    #[test]
    fn adoption_keeps_user_tags_and_adds_ours() {
        let current = vec![
            "@k8s".to_string(),
            "team-a".into(),
            "@k8s.Service=my-web-frontend-se".into(),
        ];
        let after = tags_after_adoption(&current, Some("prod"), &svc());
        assert_eq!(
            after,
            vec![
                "@k8s",
                "@k8s.ClusterID=prod",
                "@k8s.Service=my-web-frontend-se",
                "@k8s.ServiceUID=3f2a6c1e-9b7d-4e21-8c3a-5d6e7f809a1b",
                "team-a",
            ]
        );
        assert_eq!(
            tags_after_adoption(&after, Some("prod"), &svc()),
            after,
            "idempotent"
        );
    }

    #[test]
    fn cluster_id_validation() {
        assert_eq!(validate_cluster_id(""), Ok(()));
        assert_eq!(validate_cluster_id("default"), Ok(()));
        assert_eq!(validate_cluster_id(&"x".repeat(18)), Ok(()));
        assert_eq!(
            validate_cluster_id(&"x".repeat(19)),
            Err(ClusterIdError::TooLong("x".repeat(19)))
        );
        assert_eq!(
            validate_cluster_id("a b"),
            Err(ClusterIdError::Whitespace("a b".into()))
        );
        assert!(
            validate_cluster_id(&"x".repeat(19))
                .unwrap_err()
                .to_string()
                .contains("18")
        );
    }

    #[test]
    fn service_identity() {
        let s = Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                uid: Some(UID.into()),
                ..ObjectMeta::default()
            },
            ..Service::default()
        };
        assert_eq!(
            ServiceIdentity::of(&s),
            Some(ServiceIdentity {
                namespace: "shop".into(),
                name: "web".into(),
                uid: UID.into()
            })
        );
        let mut no_uid = s.clone();
        no_uid.metadata.uid = None;
        assert_eq!(ServiceIdentity::of(&no_uid), None);
        let mut empty_name = s;
        empty_name.metadata.name = Some(String::new());
        assert_eq!(ServiceIdentity::of(&empty_name), None);
    }

    /// (what, appliance name, appliance tags, configured cluster ID, expected).
    type OwnershipCase<'a> = (&'a str, &'a str, Vec<&'a str>, Option<&'a str>, Ownership);

    #[test]
    fn ownership_table() {
        let name = appliance_name(UID);
        let uid_tag = service_uid_tag(UID);
        let other_uid_tag = service_uid_tag(OTHER_UID);
        let svc_tag = service_tag("my-web-frontend-service");
        use self::NotOurs as N;
        use Ownership::{AdoptableFromOriginal, Ours};
        let cases: Vec<OwnershipCase> = vec![
            // What we create.
            (
                "ours, no cluster",
                &name,
                vec!["@k8s", &svc_tag, &uid_tag],
                None,
                Ours,
            ),
            (
                "ours, with cluster",
                &name,
                vec!["@k8s", "@k8s.ClusterID=prod", &svc_tag, &uid_tag],
                Some("prod"),
                Ours,
            ),
            (
                "ours even renamed: the UID tag decides",
                "renamed-by-user",
                vec!["@k8s", &uid_tag],
                None,
                Ours,
            ),
            (
                "empty cluster ID means none",
                &name,
                vec!["@k8s", &uid_tag],
                Some(""),
                Ours,
            ),
            // What the original created.
            (
                "original, no cluster",
                &name,
                vec!["@k8s", &svc_tag],
                None,
                AdoptableFromOriginal,
            ),
            (
                "original, with cluster",
                &name,
                vec!["@k8s", "@k8s.ClusterID=prod", &svc_tag],
                Some("prod"),
                AdoptableFromOriginal,
            ),
            (
                "original without its service tag",
                &name,
                vec!["@k8s"],
                None,
                AdoptableFromOriginal,
            ),
            // Never ours.
            (
                "no tags at all",
                &name,
                vec![],
                None,
                Ownership::NotOurs(N::NoK8sTag),
            ),
            (
                "right name and UID tag but no @k8s",
                &name,
                vec![&uid_tag, "@k8s.ClusterID=prod"],
                Some("prod"),
                Ownership::NotOurs(N::NoK8sTag),
            ),
            (
                "cluster configured, appliance has none",
                &name,
                vec!["@k8s", &uid_tag],
                Some("prod"),
                Ownership::NotOurs(N::MissingClusterTag {
                    expected: "@k8s.ClusterID=prod".into(),
                }),
            ),
            (
                "original's appliance of an unscoped cluster, we are scoped",
                &name,
                vec!["@k8s", &svc_tag],
                Some("prod"),
                Ownership::NotOurs(N::MissingClusterTag {
                    expected: "@k8s.ClusterID=prod".into(),
                }),
            ),
            (
                "another cluster",
                &name,
                vec!["@k8s", "@k8s.ClusterID=staging", &uid_tag],
                Some("prod"),
                Ownership::NotOurs(N::OtherCluster {
                    found: "@k8s.ClusterID=staging".into(),
                }),
            ),
            (
                "a cluster's appliance, we have no cluster ID",
                &name,
                vec!["@k8s", "@k8s.ClusterID=staging", &uid_tag],
                None,
                Ownership::NotOurs(N::OtherCluster {
                    found: "@k8s.ClusterID=staging".into(),
                }),
            ),
            (
                "ours plus a second cluster tag",
                &name,
                vec!["@k8s", "@k8s.ClusterID=prod", "@k8s.ClusterID=x", &uid_tag],
                Some("prod"),
                Ownership::NotOurs(N::OtherCluster {
                    found: "@k8s.ClusterID=x".into(),
                }),
            ),
            (
                "another Service's appliance",
                &name,
                vec!["@k8s", &other_uid_tag],
                None,
                Ownership::NotOurs(N::OtherService {
                    uid: OTHER_UID.into(),
                }),
            ),
            (
                "two UID tags",
                &name,
                vec!["@k8s", &uid_tag, &other_uid_tag],
                None,
                Ownership::NotOurs(N::OtherService {
                    uid: OTHER_UID.into(),
                }),
            ),
            (
                "@k8s but another name, no UID tag",
                "my-own-lb",
                vec!["@k8s"],
                None,
                Ownership::NotOurs(N::NameMismatch {
                    name: "my-own-lb".into(),
                    expected: name.clone(),
                }),
            ),
            (
                "original's name, another Service's tag",
                &name,
                vec!["@k8s", "@k8s.Service=someone-else"],
                None,
                Ownership::NotOurs(N::ServiceTagMismatch {
                    found: "@k8s.Service=someone-else".into(),
                    expected: "my-web-frontend-service".into(),
                }),
            ),
            (
                "tag matching is exact: @K8S is not @k8s",
                &name,
                vec!["@K8S", &uid_tag],
                None,
                Ownership::NotOurs(N::NoK8sTag),
            ),
        ];
        for (what, name, tags, cluster, want) in cases {
            assert_eq!(owned_by(&lb(name, &tags), cluster, &svc()), want, "{what}");
        }
    }

    #[test]
    fn not_ours_messages_say_why() {
        let cases = [
            (NotOurs::NoK8sTag, "no @k8s tag"),
            (
                NotOurs::MissingClusterTag {
                    expected: "@k8s.ClusterID=prod".into(),
                },
                "lacks the tag @k8s.ClusterID=prod",
            ),
            (
                NotOurs::OtherCluster {
                    found: "@k8s.ClusterID=x".into(),
                },
                "another cluster (@k8s.ClusterID=x)",
            ),
            (
                NotOurs::OtherService {
                    uid: OTHER_UID.into(),
                },
                OTHER_UID,
            ),
        ];
        for (reason, text) in cases {
            assert!(reason.to_string().contains(text), "{reason}");
        }
    }
}
