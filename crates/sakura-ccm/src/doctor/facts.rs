//! What `doctor` reads, and the only place it does I/O: one snapshot of the SAKURA Cloud account
//! (GET requests only) and one of the cluster (reads only). The checks are pure functions of
//! these snapshots ([`super::checks`]).
//!
//! Every source is read on its own and keeps its own error: a key that may not read RBAC objects,
//! or a cluster without a `kube-proxy` ConfigMap, turns one check into "could not check" instead
//! of stopping the others.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, ListParams};
use std::collections::BTreeMap;

use sacloud::api::load_balancer::VirtualIpStatus;
use sacloud::api::proxy_lb::{ProxyLb, ProxyLbHealth, ProxyMode};
use sacloud::api::zone::ZoneInfo;
use sacloud::{AuthStatus, Filter, Internet, LoadBalancer, Server, Switch, Zone};

use super::DoctorOptions;
use super::checks::{appliance_of_this_cluster, of_this_cluster};
use crate::provider::load_balancers::appliance::{Phase, phase};
use crate::provider::load_balancers::zones::{appliance_zone, list_in_zones};

/// The namespace and name of kube-proxy's ConfigMap (kubeadm's).
pub const KUBE_PROXY_CONFIGMAP: (&str, &str) = ("kube-system", "kube-proxy");

/// A SAKURA Cloud API call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The HTTP status, when the API answered.
    pub status: Option<u16>,
    /// What went wrong (never a credential).
    pub message: String,
}

impl ApiFailure {
    fn of(what: &str, e: &sacloud::Error) -> Self {
        Self {
            status: e.status(),
            message: format!("{what}: {e}"),
        }
    }
}

/// Everything in the zone the checks look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Every server of the zone.
    pub servers: Vec<Server>,
    /// Every switch of the zone (tagged or not: near-miss tags are worth telling).
    pub switches: Vec<Switch>,
    /// Every switch+router of the zone.
    pub routers: Vec<Internet>,
    /// Every load-balancer appliance of the zone.
    pub load_balancers: Vec<LoadBalancer>,
    /// The configured zones (every listing above covers each of them).
    pub zones: Vec<Zone>,
    /// Servers of the region's zones that are not configured (a Node there is never found).
    pub elsewhere: Vec<Server>,
    /// `GET appliance/{id}/status` of each running appliance of this cluster, by appliance ID
    /// (empty when load balancers are off).
    pub load_balancer_status: BTreeMap<u64, Result<Vec<VirtualIpStatus>, ApiFailure>>,
}

/// The certificate an Enhanced Load Balancer serves, as far as the checks need it (never its
/// key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's common name.
    pub common_name: String,
    /// Its expiry, in the API's format.
    pub end_date: String,
}

/// An Enhanced Load Balancer of this cluster and what was read about it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnhancedItem {
    /// The item.
    pub item: ProxyLb,
    /// `GET commonserviceitem/{id}/health`: its VIP and each real server's health.
    pub health: Result<ProxyLbHealth, ApiFailure>,
    /// `GET commonserviceitem/{id}/proxylb/sslcertificate`, read only when it has Let's
    /// Encrypt on or an `https` port: the primary certificate (`None`: it has none).
    pub certificate: Option<Result<Option<CertificateInfo>, ApiFailure>>,
}

/// The SAKURA Cloud side.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudFacts {
    /// The configured zone.
    pub zone: Zone,
    /// The cluster ID the controller runs with (scopes appliance ownership).
    pub cluster_id: Option<String>,
    /// Whether the controller manages load balancers (`SAKURACLOUD_DISABLE_LOAD_BALANCER`).
    pub load_balancers: bool,
    /// The controller's cluster-wide annotation defaults (`SAKURACLOUD_LOAD_BALANCERS_*`,
    /// `loadBalancerDefaults`), by annotation.
    pub load_balancer_defaults: BTreeMap<String, String>,
    /// `GET auth-status`.
    pub auth: Result<AuthStatus, ApiFailure>,
    /// `GET zone/{id}`; `None` when the credentials were refused (not asked).
    pub zone_info: Option<Result<ZoneInfo, ApiFailure>>,
    /// The listings; `None` when the credentials were refused (not asked).
    pub inventory: Option<Result<Inventory, ApiFailure>>,
    /// The account's Enhanced Load Balancers of this cluster (by their tags); `None` when the
    /// credentials were refused or load balancers are off (not asked).
    pub enhanced: Option<Result<Vec<EnhancedItem>, ApiFailure>>,
}

/// A Kubernetes read that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeFailure {
    /// The HTTP status, when the API server answered (403: the user may not read it).
    pub code: Option<u16>,
    /// What went wrong.
    pub message: String,
}

impl KubeFailure {
    fn of(what: &str, e: &kube::Error) -> Self {
        let code = match e {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        };
        Self {
            code,
            message: format!("{what}: {e}"),
        }
    }

    /// Whether the user running `doctor` may not read it.
    pub fn forbidden(&self) -> bool {
        self.code == Some(403)
    }
}

/// Nodes and Services: without them there is nothing to check in the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workloads {
    /// Every Node.
    pub nodes: Vec<Node>,
    /// Every Service, all namespaces.
    pub services: Vec<Service>,
}

/// The cluster side.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterFacts {
    /// When the snapshot was taken (lease freshness, age of new Nodes).
    pub now: Timestamp,
    /// Where the controller runs.
    pub namespace: String,
    /// Its leader-election Lease.
    pub lease_name: String,
    /// Nodes and Services; an error here means the cluster could not be read at all.
    pub core: Result<Workloads, KubeFailure>,
    /// `events.k8s.io/v1` Warning events, all namespaces.
    pub warnings: Result<Vec<Event>, KubeFailure>,
    /// kube-proxy's ConfigMap, `None` when it does not exist.
    pub kube_proxy: Result<Option<ConfigMap>, KubeFailure>,
    /// Deployments in the controller's namespace.
    pub deployments: Result<Vec<Deployment>, KubeFailure>,
    /// DaemonSets in the controller's namespace.
    pub daemonsets: Result<Vec<DaemonSet>, KubeFailure>,
    /// The leader-election Lease, `None` when it does not exist.
    pub lease: Result<Option<Lease>, KubeFailure>,
    /// RBAC objects.
    pub rbac: Result<Rbac, KubeFailure>,
}

/// The RBAC objects that can grant the controller its access.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rbac {
    /// Every ClusterRole.
    pub cluster_roles: Vec<ClusterRole>,
    /// Every ClusterRoleBinding.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// Roles in the controller's namespace (a Lease may be granted there).
    pub roles: Vec<Role>,
    /// RoleBindings in the controller's namespace.
    pub role_bindings: Vec<RoleBinding>,
}

/// Both snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The account.
    pub cloud: CloudFacts,
    /// The cluster.
    pub cluster: ClusterFacts,
}

/// Reads the account: auth-status first; when the API refuses the credentials nothing else is
/// asked (every other call would fail the same way).
pub async fn gather_cloud(client: &sacloud::Client, options: &DoctorOptions) -> CloudFacts {
    let zone = client.config().zone;
    let cluster_id = options.cluster_id.clone();
    let auth = client
        .auth_status()
        .await
        .map_err(|e| ApiFailure::of("GET auth-status", &e));
    let (zone_info, inventory, enhanced) = if auth.is_err() {
        (None, None, None)
    } else {
        let zone_info = client
            .read_zone(sacloud::Id(zone.id()))
            .await
            .map_err(|e| ApiFailure::of(&format!("GET zone/{}", zone.id()), &e));
        let (inventory, enhanced) = tokio::join!(
            async {
                let zones = if options.zones.is_empty() {
                    vec![zone]
                } else {
                    options.zones.clone()
                };
                let mut inventory = inventory(client, &zones).await?;
                if options.load_balancers {
                    inventory.load_balancer_status =
                        appliance_status(client, &inventory.load_balancers, cluster_id.as_deref())
                            .await;
                }
                Ok(inventory)
            },
            async {
                if options.load_balancers {
                    Some(enhanced_items(client, cluster_id.as_deref()).await)
                } else {
                    None
                }
            }
        );
        (Some(zone_info), Some(inventory), enhanced)
    };
    CloudFacts {
        zone,
        cluster_id,
        load_balancers: options.load_balancers,
        load_balancer_defaults: options.load_balancer_defaults.clone(),
        auth,
        zone_info,
        inventory,
        enhanced,
    }
}

/// The Enhanced LBs of this cluster (every one of the account is listed, at zone `is1a`), each
/// with its health and, when it serves `https` or has Let's Encrypt on, its certificate.
async fn enhanced_items(
    client: &sacloud::Client,
    cluster_id: Option<&str>,
) -> Result<Vec<EnhancedItem>, ApiFailure> {
    let items = client
        .find_proxy_lbs(&Filter::new())
        .await
        .map_err(|e| ApiFailure::of("listing Enhanced Load Balancers", &e))?;
    let mut out = Vec::new();
    for item in items
        .into_iter()
        .filter(|i| of_this_cluster(&i.tags, cluster_id))
    {
        let health = client.proxy_lb_health(item.id).await.map_err(|e| {
            ApiFailure::of(
                &format!("reading the health of Enhanced Load Balancer {}", item.id),
                &e,
            )
        });
        let wants_certificate = item.settings.lets_encrypt.enabled
            || item
                .settings
                .bind_ports
                .iter()
                .any(|b| b.proxy_mode == ProxyMode::Https);
        let certificate = if wants_certificate {
            Some(
                client
                    .proxy_lb_certificates(item.id)
                    .await
                    .map(|c| {
                        c.primary.map(|p| CertificateInfo {
                            common_name: p.certificate_common_name.trim().to_owned(),
                            end_date: p.certificate_end_date.trim().to_owned(),
                        })
                    })
                    .map_err(|e| {
                        ApiFailure::of(
                            &format!(
                                "reading the certificates of Enhanced Load Balancer {}",
                                item.id
                            ),
                            &e,
                        )
                    }),
            )
        } else {
            None
        };
        out.push(EnhancedItem {
            item,
            health,
            certificate,
        });
    }
    out.sort_by_key(|i| i.item.id);
    Ok(out)
}

/// The real servers' health of each running appliance of this cluster: one call per appliance,
/// one after the other (a cluster has few, and doctor should not burst the API's rate limit).
async fn appliance_status(
    client: &sacloud::Client,
    load_balancers: &[LoadBalancer],
    cluster_id: Option<&str>,
) -> BTreeMap<u64, Result<Vec<VirtualIpStatus>, ApiFailure>> {
    let mut out = BTreeMap::new();
    for lb in load_balancers
        .iter()
        .filter(|lb| appliance_of_this_cluster(lb, cluster_id) && phase(lb) == Phase::Up)
    {
        let status = client
            .in_zone(appliance_zone(lb, client.zone()))
            .load_balancer_status(lb.id)
            .await
            .map_err(|e| {
                ApiFailure::of(
                    &format!("reading the status of load balancer {}", lb.id),
                    &e,
                )
            });
        out.insert(lb.id.0, status);
    }
    out
}

/// The listings of every configured zone, joined, and the servers of the region's other zones.
async fn inventory(client: &sacloud::Client, zones: &[Zone]) -> Result<Inventory, ApiFailure> {
    let others: Vec<Zone> = zones
        .first()
        .map(|first| {
            Zone::ALL
                .into_iter()
                .filter(|z| z.region().id == first.region().id && !zones.contains(z))
                .collect()
        })
        .unwrap_or_default();
    let failed = |what: &'static str| move |e: sacloud::Error| ApiFailure::of(what, &e);
    let (servers, switches, routers, load_balancers, elsewhere) = tokio::try_join!(
        async {
            list_in_zones(client, zones, |c| async move {
                c.find_servers(&Filter::new()).await
            })
            .await
            .map_err(failed("listing servers"))
        },
        async {
            list_in_zones(client, zones, |c| async move {
                c.find_switches(&Filter::new()).await
            })
            .await
            .map_err(failed("listing switches"))
        },
        async {
            list_in_zones(client, zones, |c| async move {
                c.find_internets(&Filter::new()).await
            })
            .await
            .map_err(failed("listing switch+routers"))
        },
        async {
            list_in_zones(client, zones, |c| async move {
                c.find_load_balancers(&Filter::new()).await
            })
            .await
            .map_err(failed("listing load balancers"))
        },
        async {
            list_in_zones(client, &others, |c| async move {
                c.find_servers(&Filter::new()).await
            })
            .await
            .map_err(failed("listing servers of the region's other zones"))
        },
    )?;
    Ok(Inventory {
        servers,
        switches,
        routers,
        load_balancers,
        zones: zones.to_vec(),
        elsewhere,
        load_balancer_status: BTreeMap::new(),
    })
}

async fn list<K>(api: Api<K>, what: &str, params: &ListParams) -> Result<Vec<K>, KubeFailure>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.list(params)
        .await
        .map(|l| l.items)
        .map_err(|e| KubeFailure::of(&format!("listing {what}"), &e))
}

async fn get_opt<K>(api: Api<K>, what: &str, name: &str) -> Result<Option<K>, KubeFailure>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name)
        .await
        .map_err(|e| KubeFailure::of(&format!("reading {what} {name}"), &e))
}

/// Reads the cluster (GET and LIST only).
pub async fn gather_cluster(
    client: &kube::Client,
    namespace: &str,
    lease_name: &str,
) -> ClusterFacts {
    let all = ListParams::default();
    let warning_only = ListParams::default().fields("type=Warning");
    let c = client.clone();
    let core = async {
        let (nodes, services) = tokio::try_join!(
            list(Api::<Node>::all(c.clone()), "nodes", &all),
            list(Api::<Service>::all(c.clone()), "services", &all),
        )?;
        Ok::<_, KubeFailure>(Workloads { nodes, services })
    };
    let rbac = async {
        let (cluster_roles, cluster_role_bindings, roles, role_bindings) = tokio::try_join!(
            list(Api::<ClusterRole>::all(c.clone()), "clusterroles", &all),
            list(
                Api::<ClusterRoleBinding>::all(c.clone()),
                "clusterrolebindings",
                &all
            ),
            list(Api::<Role>::namespaced(c.clone(), namespace), "roles", &all),
            list(
                Api::<RoleBinding>::namespaced(c.clone(), namespace),
                "rolebindings",
                &all
            ),
        )?;
        Ok::<_, KubeFailure>(Rbac {
            cluster_roles,
            cluster_role_bindings,
            roles,
            role_bindings,
        })
    };
    let (core, warnings, kube_proxy, deployments, daemonsets, lease, rbac) = tokio::join!(
        core,
        list(Api::<Event>::all(c.clone()), "events", &warning_only),
        get_opt(
            Api::<ConfigMap>::namespaced(c.clone(), KUBE_PROXY_CONFIGMAP.0),
            "configmap",
            KUBE_PROXY_CONFIGMAP.1
        ),
        list(
            Api::<Deployment>::namespaced(c.clone(), namespace),
            "deployments",
            &all
        ),
        list(
            Api::<DaemonSet>::namespaced(c.clone(), namespace),
            "daemonsets",
            &all
        ),
        get_opt(
            Api::<Lease>::namespaced(c.clone(), namespace),
            "lease",
            lease_name
        ),
        rbac,
    );
    ClusterFacts {
        now: Timestamp::now(),
        namespace: namespace.to_owned(),
        lease_name: lease_name.to_owned(),
        core,
        warnings,
        kube_proxy,
        deployments,
        daemonsets,
        lease,
        rbac,
    }
}
