//! The Enhanced Load Balancer (`load-balancer-type: enhanced`): the I/O around the decisions in
//! [`super::enhanced_settings`].
//!
//! API cost: one listing of the account's Enhanced LBs answers every Service for a short time
//! (they are global items, always asked for at zone `is1a`), the VIP (from the health endpoint)
//! is read once a minute per load balancer, and only a difference is written: one settings
//! update carrying the `SettingsHash` that was read. A create costs the listing, the create and
//! one health read; a Let's Encrypt certificate one renew call and one certificate read per
//! check until it is issued.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex as StdMutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use cloud_provider::provider::{LoadBalancerOutcome, ProviderError, ProviderEvent};
use k8s_openapi::api::core::v1::{LoadBalancerStatus, Node, Secret as KubeSecret, Service};
use kube::api::Api;
use sacloud::api::proxy_lb::{ProxyLb, ProxyLbCertificate, ProxyLbCertificates, ProxyLbCreate};
use sacloud::{Client, Filter, Id};

use super::enhanced_settings::{
    describe_enhanced, desired_enhanced, enhanced_settings_equal, enhanced_status, global_targets,
    immutable_enhanced_changes,
};
use super::{identity, service_ports, tls_secret, upsert};
use crate::provider::annotations::{CertificateSource, ENHANCED_SOURCE_NETWORKS, EnhancedOptions};
use crate::provider::errors::api_error;
use crate::provider::listing::{Freshness, Listed, SharedListing};
use crate::provider::naming::{
    Ownership, ServiceIdentity, appliance_name, appliance_tags, owned_by_tags,
};
use crate::provider::reasons;

/// With VIP failover, how long a VIP read from the health endpoint is used before it is read
/// again (the VIP can move; the FQDN, also published, stays right meanwhile). Without failover
/// the VIP of an ID never changes and is read once.
pub const VIP_MAX_AGE: Duration = Duration::from_secs(60);
/// How often a certificate that Let's Encrypt is issuing is looked for by default.
pub const DEFAULT_CERTIFICATE_POLL: Duration = Duration::from_secs(30);
/// The least time between two looks at a certificate Secret (one Kubernetes GET each; the
/// cloud is asked only when the Secret changed).
pub const SECRET_RECHECK_MIN: Duration = Duration::from_millis(100);
/// How long after asking Let's Encrypt without a certificate it is asked again.
pub const LETS_ENCRYPT_RETRY: Duration = Duration::from_secs(600);

/// Where a Let's Encrypt certificate stands, per Enhanced LB.
#[derive(Debug, Clone)]
enum Certificate {
    /// Asked for these names at this time.
    Requested { names: Vec<String>, at: Instant },
    /// In place for these names.
    Ready { names: Vec<String> },
}

/// Enhanced Load Balancers as the service controller sees them.
#[derive(Debug)]
pub struct EnhancedLoadBalancers {
    client: Client,
    cluster_id: Option<String>,
    poll_interval: Duration,
    certificate_poll: Duration,
    /// Every Enhanced LB of the account.
    items: SharedListing<Vec<ProxyLb>>,
    /// VIPs by ID, with when they were read.
    vips: StdMutex<HashMap<Id, (Option<Ipv4Addr>, Instant)>>,
    /// Let's Encrypt progress by ID.
    certificates: StdMutex<HashMap<Id, Certificate>>,
    /// Fingerprints of the Secret certificates in place, by ID.
    uploaded: StdMutex<HashMap<Id, u64>>,
    /// The Kubernetes client, for certificate Secrets (set by `initialize`).
    kube: OnceLock<KubeClient>,
}

/// A Kubernetes client that can be part of a `Debug` struct.
struct KubeClient(kube::Client);

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("kube::Client")
    }
}

impl EnhancedLoadBalancers {
    /// Enhanced LBs for the cluster `cluster_id` (`None`: no cluster tag).
    pub fn new(client: Client, cluster_id: Option<String>) -> Self {
        Self {
            client,
            cluster_id: cluster_id.filter(|id| !id.is_empty()),
            poll_interval: super::appliance::DEFAULT_POLL_INTERVAL,
            certificate_poll: DEFAULT_CERTIFICATE_POLL,
            items: SharedListing::new(super::appliance::DEFAULT_MAX_AGE),
            vips: StdMutex::new(HashMap::new()),
            certificates: StdMutex::new(HashMap::new()),
            uploaded: StdMutex::new(HashMap::new()),
            kube: OnceLock::new(),
        }
    }

    /// The Kubernetes client certificate Secrets are read with (the first one set stays).
    pub fn set_kube_client(&self, client: kube::Client) {
        let _ = self.kube.set(KubeClient(client));
    }

    /// How long one listing answers Services.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.items = SharedListing::new(max_age);
        self
    }

    /// How soon a conflict or a vanished ID is looked at again.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How often a certificate being issued is looked for.
    pub fn with_certificate_poll(mut self, interval: Duration) -> Self {
        self.certificate_poll = interval;
        self
    }

    fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    async fn items(
        &self,
        freshness: Freshness,
    ) -> Result<Arc<Listed<Vec<ProxyLb>>>, ProviderError> {
        let all = Filter::new();
        self.items
            .get_or_list(freshness, "listing Enhanced Load Balancers", || {
                self.client.find_proxy_lbs(&all)
            })
            .await
    }

    /// This Service's Enhanced LBs (by tags; never one without this Service's UID tag), newest
    /// (highest ID) first: after a plan change the item under the new ID is the one to follow,
    /// should the old ID linger.
    fn ours<'a>(&self, items: &'a [ProxyLb], service: &ServiceIdentity) -> Vec<&'a ProxyLb> {
        let mut ours: Vec<&ProxyLb> = items
            .iter()
            .filter(|i| {
                owned_by_tags(&i.name, &i.tags, self.cluster_id(), service) == Ownership::Ours
            })
            .collect();
        ours.sort_by_key(|i| std::cmp::Reverse(i.id));
        ours
    }

    /// This Service's Enhanced LB, if there is one.
    pub(super) async fn find(
        &self,
        service: &ServiceIdentity,
        freshness: Freshness,
    ) -> Result<Option<ProxyLb>, ProviderError> {
        let listed = self.items(freshness).await?;
        Ok(self
            .ours(&listed.items, service)
            .first()
            .map(|i| (*i).clone()))
    }

    /// The status of this Service's Enhanced LB, if there is one.
    pub(super) async fn status(
        &self,
        service: &ServiceIdentity,
    ) -> Result<Option<LoadBalancerStatus>, ProviderError> {
        let Some(item) = self
            .find(service, Freshness::Within(self.poll_interval))
            .await?
        else {
            return Ok(None);
        };
        let vip = self.vip(&item).await?;
        Ok(Some(enhanced_status(
            vip,
            &item.status.fqdn,
            item.settings.proxy_protocol.enabled,
        )))
    }

    /// Creates or updates the Enhanced LB; `allow_create` is false for a node-set update.
    pub(super) async fn reconcile(
        &self,
        service: &Service,
        options: &EnhancedOptions,
        nodes: &[Arc<Node>],
        allow_create: bool,
        mut events: Vec<ProviderEvent>,
    ) -> Result<LoadBalancerOutcome, ProviderError> {
        let identity = identity(service)?;
        let listed = self.items(Freshness::MaxAge).await?;
        let found = self.pick(&listed.items, &identity, &mut events);
        let item = match found {
            Some(item) => {
                self.update(service, options, nodes, item, &mut events)
                    .await?
            }
            None if allow_create => {
                // Look again unless the listing is this fresh: a create must not repeat one.
                let listed = self.items(Freshness::Within(self.poll_interval)).await?;
                match self.pick(&listed.items, &identity, &mut events) {
                    Some(item) => {
                        self.update(service, options, nodes, item, &mut events)
                            .await?
                    }
                    None => {
                        self.create(service, &identity, options, nodes, &mut events)
                            .await?
                    }
                }
            }
            None => {
                return Err(ProviderError::other(format!(
                    "no Enhanced Load Balancer named {} with this Service's tags exists",
                    appliance_name(&identity.uid)
                )));
            }
        };
        let recheck_after = self
            .certificate(&item, &identity.namespace, options, &mut events)
            .await?;
        let vip = self.vip(&item).await?;
        let status = enhanced_status(vip, &item.status.fqdn, item.settings.proxy_protocol.enabled);
        let annotations = BTreeMap::from([(
            ENHANCED_SOURCE_NETWORKS.to_owned(),
            Some(item.status.proxy_networks.join(",")).filter(|n| !n.is_empty()),
        )]);
        Ok(LoadBalancerOutcome {
            status,
            events,
            annotations,
            recheck_after,
            changed: false,
        })
    }

    /// The Enhanced LB kept up to date: the newest, with a Warning when there are several.
    fn pick(
        &self,
        items: &[ProxyLb],
        service: &ServiceIdentity,
        events: &mut Vec<ProviderEvent>,
    ) -> Option<ProxyLb> {
        let ours = self.ours(items, service);
        if ours.len() > 1 {
            let names: Vec<String> = ours
                .iter()
                .map(|i| format!("{} (ID {})", i.name, i.id))
                .collect();
            events.push(ProviderEvent::warning(
                reasons::DUPLICATE_APPLIANCES,
                format!(
                    "{} Enhanced Load Balancers belong to this Service: {}; only ID {} is kept up to date, the others are deleted with the Service",
                    ours.len(),
                    names.join(", "),
                    ours[0].id
                ),
            ));
        }
        ours.first().map(|i| (*i).clone())
    }

    async fn create(
        &self,
        service: &Service,
        identity: &ServiceIdentity,
        options: &EnhancedOptions,
        nodes: &[Arc<Node>],
        events: &mut Vec<ProviderEvent>,
    ) -> Result<ProxyLb, ProviderError> {
        let desired = desired_enhanced(
            &service_ports(service),
            options,
            &global_targets(nodes),
            None,
        )
        .map_err(|e| ProviderError::from_event(e.event()))?;
        events.extend(desired.events.iter().cloned());
        let name = appliance_name(&identity.uid);
        let create = ProxyLbCreate {
            name: name.clone(),
            description: format!(
                "Kubernetes Service {}/{}{}",
                identity.namespace,
                identity.name,
                self.cluster_id()
                    .map(|c| format!(" (cluster {c})"))
                    .unwrap_or_default()
            ),
            tags: appliance_tags(self.cluster_id(), identity),
            plan: options.plan,
            region: options.region.clone(),
            use_vip_failover: options.vip_failover,
            settings: desired.settings.clone(),
        };
        tracing::info!(
            service = %format!("{}/{}", identity.namespace, identity.name),
            %name,
            "creating Enhanced Load Balancer"
        );
        let created = match self.client.create_proxy_lb(&create).await {
            Ok(created) => created,
            Err(e) => {
                // It may exist anyway (a lost response): the next attempt lists again and finds
                // it by its tags instead of creating another.
                self.items.invalidate().await;
                return Err(api_error(
                    &format!("creating Enhanced Load Balancer {name}"),
                    &e,
                ));
            }
        };
        self.items.record(|l| upsert(l, &created)).await;
        tracing::info!(item = %created.id, %name, "created Enhanced Load Balancer");
        events.push(ProviderEvent::normal(
            reasons::SETTINGS_APPLIED,
            format!(
                "created Enhanced Load Balancer {} (ID {}, plan {} CPS, region {}): {}",
                created.name,
                created.id,
                options.plan,
                options.region.as_str(),
                describe_enhanced(&desired.settings, &desired.real_servers)
            ),
        ));
        Ok(created)
    }

    /// Brings an existing Enhanced LB to the Service's plan and settings.
    async fn update(
        &self,
        service: &Service,
        options: &EnhancedOptions,
        nodes: &[Arc<Node>],
        mut item: ProxyLb,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<ProxyLb, ProviderError> {
        events.extend(immutable_enhanced_changes(&item, options));
        if item.plan() != Some(options.plan) {
            item = self.change_plan(&item, options, events).await?;
        }
        let desired = desired_enhanced(
            &service_ports(service),
            options,
            &global_targets(nodes),
            Some(&item.settings),
        )
        .map_err(|e| ProviderError::from_event(e.event()))?;
        events.extend(desired.events.iter().cloned());
        if enhanced_settings_equal(&desired.settings, &item.settings) {
            return Ok(item);
        }
        let updated = match self
            .client
            .update_proxy_lb_settings(item.id, &desired.settings, &item.settings_hash)
            .await
        {
            Ok(updated) => updated,
            Err(e) => {
                // A stale SettingsHash (someone else changed it) or a vanished ID (a plan
                // change elsewhere): list again next time.
                self.items.invalidate().await;
                let what = format!("updating Enhanced Load Balancer {} settings", item.id);
                if e.is_conflict() || e.is_not_found() {
                    return Err(ProviderError::retry_after(
                        self.poll_interval,
                        format!("{what}: {}; trying again shortly", e.summary()),
                    ));
                }
                return Err(api_error(&what, &e));
            }
        };
        self.items.record(|l| upsert(l, &updated)).await;
        events.push(ProviderEvent::normal(
            reasons::SETTINGS_APPLIED,
            format!(
                "Enhanced Load Balancer {} (ID {}) now serves {}",
                updated.name,
                updated.id,
                describe_enhanced(&desired.settings, &desired.real_servers)
            ),
        ));
        Ok(updated)
    }

    /// Changes the plan in place; the API answers with the item under a new ID, which is
    /// followed from then on (the listing forgets the old one).
    async fn change_plan(
        &self,
        item: &ProxyLb,
        options: &EnhancedOptions,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<ProxyLb, ProviderError> {
        let old = item.id;
        let changed = match self
            .client
            .change_proxy_lb_plan(old, options.plan, &item.status.region)
            .await
        {
            Ok(changed) => changed,
            Err(e) => {
                // The change may have happened with the answer lost: the next listing finds
                // the item under its new ID, by its tags.
                self.items.invalidate().await;
                return Err(api_error(
                    &format!("changing the plan of Enhanced Load Balancer {old}"),
                    &e,
                ));
            }
        };
        self.items
            .record(|l| {
                l.retain(|i| i.id != old);
                upsert(l, &changed);
            })
            .await;
        self.forget(old);
        tracing::info!(old = %old, new = %changed.id, plan = %options.plan, "changed Enhanced Load Balancer plan");
        events.push(ProviderEvent::normal(
            reasons::PLAN_CHANGED,
            format!(
                "Enhanced Load Balancer {} now has plan {} CPS (was {}); its ID changed from {old} to {}",
                changed.name,
                options.plan,
                item.plan()
                    .map(|p| format!("{p} CPS"))
                    .unwrap_or_else(|| item.service_class.clone()),
                changed.id
            ),
        ));
        Ok(changed)
    }

    /// The VIP to publish: `CurrentVIP` from the health endpoint, read once per ID (with VIP
    /// failover at most once per [`VIP_MAX_AGE`]); `Status.VirtualIPAddress` when the health
    /// endpoint has none.
    async fn vip(&self, item: &ProxyLb) -> Result<Option<Ipv4Addr>, ProviderError> {
        let cached = self
            .vips
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&item.id)
            .copied();
        if let Some((vip, at)) = cached
            && vip.is_some()
            && (!item.status.use_vip_failover || at.elapsed() < VIP_MAX_AGE)
        {
            return Ok(vip);
        }
        let health = self.client.proxy_lb_health(item.id).await.map_err(|e| {
            api_error(
                &format!("reading the health of Enhanced Load Balancer {}", item.id),
                &e,
            )
        })?;
        let vip = health.current_vip.or(item.status.virtual_ip_address);
        self.vips
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(item.id, (vip, Instant::now()));
        Ok(vip)
    }

    /// Drives the certificate of `https` ports; returns when to look again.
    async fn certificate(
        &self,
        item: &ProxyLb,
        namespace: &str,
        options: &EnhancedOptions,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<Option<Duration>, ProviderError> {
        match &options.certificate {
            Some(CertificateSource::LetsEncrypt(names)) => {
                self.lets_encrypt(item, names, events).await
            }
            Some(CertificateSource::Secret(name)) => {
                self.secret_certificate(item, namespace, name, events).await
            }
            None => Ok(None),
        }
    }

    /// Asks Let's Encrypt once, then looks for the certificate every certificate poll until it
    /// is there (asking again after [`LETS_ENCRYPT_RETRY`]).
    async fn lets_encrypt(
        &self,
        item: &ProxyLb,
        names: &[String],
        events: &mut Vec<ProviderEvent>,
    ) -> Result<Option<Duration>, ProviderError> {
        let state = self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&item.id)
            .cloned();
        let requested_at = match state {
            Some(Certificate::Ready { names: ready }) if ready == names => return Ok(None),
            Some(Certificate::Requested { names: asked, at }) if asked == names => Some(at),
            _ => None,
        };
        let current = self.certificates_of(item.id).await?;
        let primary = current.primary.as_ref();
        let common_name = primary
            .map(|p| p.certificate_common_name.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let end_date = primary
            .map(|p| p.certificate_end_date.trim().to_owned())
            .unwrap_or_default();
        if names.first() == Some(&common_name) {
            self.set_certificate(
                item.id,
                Certificate::Ready {
                    names: names.to_vec(),
                },
            );
            events.push(ProviderEvent::normal(
                reasons::CERTIFICATE_READY,
                format!(
                    "Let's Encrypt certificate for {} is in place{}",
                    names.join(", "),
                    Some(end_date)
                        .filter(|d| !d.is_empty())
                        .map(|d| format!(" (valid until {d})"))
                        .unwrap_or_default()
                ),
            ));
            return Ok(None);
        }
        if requested_at.is_some_and(|at| at.elapsed() < LETS_ENCRYPT_RETRY) {
            return Ok(Some(self.certificate_poll));
        }
        if let Err(e) = self.client.renew_proxy_lb_lets_encrypt(item.id).await {
            return Err(api_error(
                &format!(
                    "asking Let's Encrypt for Enhanced Load Balancer {}",
                    item.id
                ),
                &e,
            ));
        }
        self.set_certificate(
            item.id,
            Certificate::Requested {
                names: names.to_vec(),
                at: Instant::now(),
            },
        );
        let target = if item.status.fqdn.trim().is_empty() {
            "the load balancer's IP address (an A record)".to_owned()
        } else {
            format!("{} (a CNAME record)", item.status.fqdn.trim())
        };
        events.push(ProviderEvent::normal(
            reasons::LETS_ENCRYPT_REQUESTED,
            format!(
                "asked Let's Encrypt for a certificate for {}; it is issued once each name resolves to {target}",
                names.join(", ")
            ),
        ));
        Ok(Some(self.certificate_poll))
    }

    /// Uploads the certificate of a `kubernetes.io/tls` Secret when the load balancer does not
    /// have it yet, and looks at the Secret again every certificate poll, so that a renewed
    /// certificate (cert-manager) is uploaded again. Problems are Warnings; the load balancer
    /// keeps serving.
    async fn secret_certificate(
        &self,
        item: &ProxyLb,
        namespace: &str,
        name: &str,
        events: &mut Vec<ProviderEvent>,
    ) -> Result<Option<Duration>, ProviderError> {
        let recheck = Some(self.certificate_poll.max(SECRET_RECHECK_MIN));
        let Some(kube) = self.kube.get() else {
            events.push(ProviderEvent::warning(
                reasons::CERTIFICATE_SECRET_UNUSABLE,
                format!("the Secret {namespace}/{name} cannot be read: this controller was started without a Kubernetes client"),
            ));
            return Ok(None);
        };
        let secrets: Api<KubeSecret> = Api::namespaced(kube.0.clone(), namespace);
        let secret = match secrets.get(name).await {
            Ok(secret) => secret,
            Err(kube::Error::Api(status)) => {
                events.push(ProviderEvent::warning(
                    reasons::CERTIFICATE_SECRET_UNUSABLE,
                    tls_secret::unreadable(status.code, namespace, name),
                ));
                return Ok(recheck);
            }
            Err(e) => {
                return Err(ProviderError::other(format!(
                    "reading the Secret {namespace}/{name}: {e}"
                )));
            }
        };
        let pair = match tls_secret::tls_pair(&secret) {
            Ok(pair) => pair,
            Err(problem) => {
                events.push(ProviderEvent::warning(
                    reasons::CERTIFICATE_SECRET_UNUSABLE,
                    format!("the Secret {namespace}/{name} cannot be used: {problem}"),
                ));
                return Ok(recheck);
            }
        };
        let fingerprint = pair.fingerprint();
        if self
            .uploaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&item.id)
            == Some(&fingerprint)
        {
            return Ok(recheck);
        }
        let current = self.certificates_of(item.id).await?;
        let already = current.primary.as_ref().is_some_and(|p| {
            pair.same_certificate(&p.server_certificate, &p.intermediate_certificate)
        });
        if !already {
            let primary = ProxyLbCertificate::new(
                pair.server.clone(),
                pair.intermediate.clone(),
                pair.key.clone(),
            );
            let uploaded = self
                .client
                .set_proxy_lb_certificates(item.id, &primary, &[])
                .await
                .map_err(|e| {
                    api_error(
                        &format!(
                            "uploading the certificate of Secret {namespace}/{name} to Enhanced Load Balancer {}",
                            item.id
                        ),
                        &e,
                    )
                })?;
            let described = uploaded
                .primary
                .as_ref()
                .map(|p| {
                    let end = p.certificate_end_date.trim();
                    format!(
                        " (common name {}{})",
                        p.certificate_common_name.trim(),
                        if end.is_empty() {
                            String::new()
                        } else {
                            format!(", valid until {end}")
                        }
                    )
                })
                .unwrap_or_default();
            events.push(ProviderEvent::normal(
                reasons::CERTIFICATE_READY,
                format!(
                    "uploaded the certificate of Secret {namespace}/{name}{described} to Enhanced Load Balancer {}",
                    item.id
                ),
            ));
        }
        self.uploaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(item.id, fingerprint);
        Ok(recheck)
    }

    async fn certificates_of(&self, id: Id) -> Result<ProxyLbCertificates, ProviderError> {
        self.client.proxy_lb_certificates(id).await.map_err(|e| {
            api_error(
                &format!("reading the certificates of Enhanced Load Balancer {id}"),
                &e,
            )
        })
    }

    fn set_certificate(&self, id: Id, state: Certificate) {
        self.certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, state);
    }

    /// Forgets what is remembered about an ID that no longer exists.
    fn forget(&self, id: Id) {
        self.vips
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.uploaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Deletes every Enhanced LB of the Service (one DELETE each).
    pub(super) async fn delete(&self, service: &Service) -> Result<(), ProviderError> {
        let identity = identity(service)?;
        let listed = self.items(Freshness::Within(self.poll_interval)).await?;
        let ours: Vec<(Id, String)> = self
            .ours(&listed.items, &identity)
            .iter()
            .map(|i| (i.id, i.name.clone()))
            .collect();
        for (id, name) in ours {
            match self.client.delete_proxy_lb(id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    self.items.invalidate().await;
                    return Err(api_error(
                        &format!("deleting Enhanced Load Balancer {name} (ID {id})"),
                        &e,
                    ));
                }
            }
            self.items.record(|l| l.retain(|i| i.id != id)).await;
            self.forget(id);
            tracing::info!(item = %id, %name, "deleted Enhanced Load Balancer");
        }
        Ok(())
    }
}
