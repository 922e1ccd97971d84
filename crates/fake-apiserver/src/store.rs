//! The object store: objects, the single `resourceVersion` counter, and the bounded event
//! history that watches replay from.
//!
//! Every write happens under one mutex, so a write and its history entry are atomic and
//! resourceVersions are handed out in the order events become visible, which is what lets a
//! watch resume from any retained resourceVersion without gaps or duplicates.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::defaults::{self, Allocators};
use crate::errors::{ApiError, Cause};
use crate::events;

mod event_alias;
mod saved;

use crate::meta::{self, Ids};
use crate::patch::{self, PatchError};
use crate::resources::{ResourceDef, StatusOnCreate};
use crate::selectors::{FieldSelector, LabelSelector};
use event_alias::relabel_event_error;

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The main resource: `status` in the request is ignored if a status subresource exists.
    Main,
    /// `/status`: everything but `status` in the request is ignored.
    Status,
}

/// Patch formats the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json` (approximated, see [`crate::patch`]).
    Strategic,
}

/// Kind of a watch event as stored in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Added,
    Modified,
    Deleted,
}

/// One committed change.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) rv: u64,
    pub(crate) res: usize,
    pub(crate) kind: EventKind,
    /// The object after the change (for deletions, the last state with the deletion's RV).
    pub(crate) object: Arc<Value>,
    /// The object before a modification, so selector-filtered watches can turn a change that
    /// leaves the selection into a DELETED event, as the real watch cache does.
    pub(crate) old: Option<Arc<Value>>,
}

type Key = (usize, String, String);

#[derive(Debug)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Arc<Event>>,
    /// Every event with `rv > history_start` is still in `history`.
    history_start: u64,
    ids: Ids,
    alloc: Allocators,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    resources: Vec<ResourceDef>,
    history_limit: usize,
    core_defaults: bool,
    notify: watch::Sender<u64>,
}

/// A handle to the object store; cheap to clone. Tests use it to seed and inspect objects
/// without going through HTTP; writes through it behave exactly like API writes (same
/// resourceVersions, same watch events).
///
/// Methods take the resource as `plural` for the core group or `plural.group` otherwise
/// (`"services"`, `"leases.coordination.k8s.io"`, `"events.events.k8s.io"`).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) items: Vec<Arc<Value>>,
    pub(crate) rv: u64,
    pub(crate) cont: Option<String>,
    pub(crate) remaining: Option<u64>,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(m) = meta::meta_mut(obj) {
        m.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

/// Everything outside `metadata`, `status`, `apiVersion` and `kind`: what `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            o.remove(k);
        }
    }
    v
}

/// A request body's `apiVersion` and `kind`, when given, must be the resource's.
fn check_type_meta(obj: &Value, def: &ResourceDef) -> Result<(), ApiError> {
    for (field, want) in [
        ("apiVersion", def.api_version()),
        ("kind", def.kind.clone()),
    ] {
        match obj.get(field).and_then(Value::as_str) {
            Some(got) if !got.is_empty() && got != want => {
                return Err(ApiError::bad_request(format!(
                    "the {field} in the data ({got}) does not match the expected {field} ({want})"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `patch` applied to a copy of `old`, which must keep its name and namespace.
fn apply_patch(
    old: &Value,
    kind: PatchType,
    patch: &Value,
    name: &str,
    key_ns: &str,
) -> Result<Value, ApiError> {
    let mut patched = old.clone();
    let result = match kind {
        PatchType::Merge => {
            patch::merge_patch(&mut patched, patch);
            Ok(())
        }
        PatchType::Json => patch::json_patch(&mut patched, patch),
        PatchType::Strategic => patch::strategic_merge_patch(&mut patched, patch),
    };
    match result {
        Ok(()) => {}
        Err(PatchError::Malformed(m)) => return Err(ApiError::bad_request(m)),
        Err(PatchError::Failed(m)) => return Err(ApiError::unprocessable(m)),
    }
    meta::check_shape(&patched).map_err(ApiError::bad_request)?;
    if meta::meta_str(&patched, "name") != name
        || (!key_ns.is_empty() && meta::meta_str(&patched, "namespace") != key_ns)
    {
        return Err(ApiError::bad_request(
            "a patch may not change metadata.name or metadata.namespace",
        ));
    }
    Ok(patched)
}

impl Store {
    pub(crate) fn new(
        resources: Vec<ResourceDef>,
        history_limit: usize,
        core_defaults: bool,
    ) -> Self {
        let (notify, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    rv: 0,
                    objects: BTreeMap::new(),
                    history: VecDeque::new(),
                    history_start: 0,
                    ids: Ids::new(),
                    alloc: Allocators::new(),
                }),
                resources,
                history_limit: history_limit.max(1),
                core_defaults,
                notify,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in the fake; keep serving regardless.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The served resources.
    pub fn resources(&self) -> &[ResourceDef] {
        &self.inner.resources
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// The lowest resourceVersion a watch can still start from; older ones get `410 Expired`.
    pub fn oldest_watchable_resource_version(&self) -> u64 {
        self.lock().history_start
    }

    pub(crate) fn def(&self, res: usize) -> Option<&ResourceDef> {
        self.inner.resources.get(res)
    }

    pub(crate) fn find(&self, group: &str, version: &str, plural: &str) -> Option<usize> {
        self.inner
            .resources
            .iter()
            .position(|d| d.group == group && d.version == version && d.plural == plural)
    }

    fn resolve(&self, resource: &str) -> Result<usize, ApiError> {
        self.inner
            .resources
            .iter()
            .position(|d| d.qualified_name() == resource)
            .ok_or_else(|| ApiError::bad_request(format!("resource {resource:?} is not served")))
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.notify.subscribe()
    }

    fn namespace_res(&self) -> Option<usize> {
        self.find("", "v1", "namespaces")
    }

    fn commit(&self, st: MutexGuard<'_, State>, ev: Event) {
        self.commit_many(st, vec![ev]);
    }

    /// Appends events (in resourceVersion order), trims history, then wakes watchers once.
    fn commit_many(&self, mut st: MutexGuard<'_, State>, events: Vec<Event>) {
        for ev in events {
            st.history.push_back(Arc::new(ev));
        }
        let rv = st.rv;
        while st.history.len() > self.inner.history_limit {
            if let Some(old) = st.history.pop_front() {
                st.history_start = old.rv;
            }
        }
        drop(st);
        self.inner.notify.send_replace(rv);
    }

    fn key_ns(&self, res: usize, ns: Option<&str>) -> Result<String, ApiError> {
        let def = self.def(res).ok_or_else(ApiError::no_route)?;
        match (def.namespaced, ns) {
            (true, Some(ns)) if !ns.is_empty() => Ok(ns.to_string()),
            (true, _) => Err(ApiError::bad_request(
                "a namespace is required for a namespaced resource",
            )),
            (false, _) => Ok(String::new()),
        }
    }

    // ---- public, test-facing API -------------------------------------------------------

    /// Creates an object, as `POST` would.
    pub fn create(
        &self,
        resource: &str,
        namespace: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let res = self.resolve(resource)?;
        self.create_at(res, namespace, obj, false)
    }

    /// Reads one object.
    pub fn get(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let res = self.resolve(resource)?;
        self.get_at(res, namespace, name).map(|v| (*v).clone())
    }

    /// All objects of a resource (in one namespace, or all when `namespace` is `None`), sorted
    /// by namespace then name.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let res = self.resolve(resource)?;
        let page = self.list_at(
            res,
            namespace,
            &LabelSelector::default(),
            &FieldSelector::default(),
            None,
            None,
        )?;
        Ok(page.items.iter().map(|v| (**v).clone()).collect())
    }

    /// Replaces an object (or only its status), as `PUT` would.
    pub fn replace(
        &self,
        resource: &str,
        namespace: Option<&str>,
        obj: Value,
        sub: Subresource,
    ) -> Result<Value, ApiError> {
        let res = self.resolve(resource)?;
        let name = meta::meta_str(&obj, "name").to_string();
        self.update_at(res, namespace, &name, obj, sub, false)
    }

    /// Patches an object, as `PATCH` would.
    pub fn patch(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        sub: Subresource,
    ) -> Result<Value, ApiError> {
        let res = self.resolve(resource)?;
        self.patch_at(res, namespace, name, kind, patch, sub, false)
    }

    /// Deletes an object, as `DELETE` would (finalizers are honoured).
    pub fn delete(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let res = self.resolve(resource)?;
        self.delete_at(res, namespace, name, None, false)
    }

    // ---- verbs -------------------------------------------------------------------------

    pub(crate) fn get_at(
        &self,
        res: usize,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        if let Some(core) = self.event_alias(res) {
            return self
                .get_at(core, ns, name)
                .map(|v| Arc::new(events::to_events_v1(&v)))
                .map_err(relabel_event_error);
        }
        let def = self.def(res).ok_or_else(ApiError::no_route)?;
        let ns = self.key_ns(res, ns)?;
        let st = self.lock();
        st.objects
            .get(&(res, ns, name.to_string()))
            .cloned()
            .ok_or_else(|| ApiError::not_found(def.subject(), name))
    }

    pub(crate) fn list_at(
        &self,
        res: usize,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        cont: Option<&str>,
    ) -> Result<ListPage, ApiError> {
        if let Some(core) = self.event_alias(res) {
            let fields = fields.clone().map_paths(events::core_field_path);
            let mut page = self.list_at(core, ns, labels, &fields, limit, cont)?;
            for item in &mut page.items {
                *item = Arc::new(events::to_events_v1(item));
            }
            return Ok(page);
        }
        let ns = match ns {
            Some(n) if !n.is_empty() => Some(n),
            _ => None,
        };
        let st = self.lock();
        let (rv, start) = match cont {
            None | Some("") => (st.rv, Bound::Included((res, String::new(), String::new()))),
            Some(token) => {
                let bad = || ApiError::bad_request("continue key is not valid: malformed token");
                let raw = unhex(token).ok_or_else(bad)?;
                let mut parts = raw.splitn(3, '/');
                let rv: u64 = parts.next().and_then(|r| r.parse().ok()).ok_or_else(bad)?;
                let kns = parts.next().ok_or_else(bad)?.to_string();
                let kname = parts.next().ok_or_else(bad)?.to_string();
                if rv < st.history_start {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ));
                }
                (rv, Bound::Excluded((res, kns, kname)))
            }
        };
        let mut matching = st
            .objects
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.0 == res)
            .filter(|(k, _)| ns.is_none_or(|n| k.1 == n))
            .filter(|(_, v)| {
                labels.matches(meta::meta(v).and_then(|m| m.get("labels"))) && fields.matches(v)
            });
        let limit = limit.filter(|l| *l > 0);
        let mut items = Vec::new();
        let mut last_key = None;
        while limit.is_none_or(|l| items.len() < l) {
            let Some((k, v)) = matching.next() else {
                break;
            };
            items.push(v.clone());
            last_key = Some(k);
        }
        let rest = matching.count() as u64;
        let (cont, remaining) = match last_key {
            Some((_, kns, kname)) if rest > 0 => {
                (Some(hex(&format!("{rv}/{kns}/{kname}"))), Some(rest))
            }
            _ => (None, None),
        };
        Ok(ListPage {
            items,
            rv,
            cont,
            remaining,
        })
    }

    pub(crate) fn create_at(
        &self,
        res: usize,
        ns: Option<&str>,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let def = self.def(res).ok_or_else(ApiError::no_route)?.clone();
        meta::check_shape(&obj).map_err(ApiError::bad_request)?;
        if let Some(core) = self.event_alias(res) {
            check_type_meta(&obj, &def)?;
            return self
                .create_at(core, ns, events::to_core(&obj), dry_run)
                .map(|v| events::to_events_v1(&v))
                .map_err(relabel_event_error);
        }
        let key_ns = self.key_ns(res, ns)?;
        check_type_meta(&obj, &def)?;
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        let body_ns = meta::meta_str(&obj, "namespace").to_string();
        if def.namespaced && !body_ns.is_empty() && body_ns != key_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if def.status_subresource
            && def.status_on_create == StatusOnCreate::Drop
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        let mut st = self.lock();
        let Some(m) = meta::meta_mut(&mut obj) else {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        };
        for owned in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            m.remove(owned);
        }
        if def.namespaced {
            m.insert("namespace".into(), json!(key_ns));
        } else {
            m.remove("namespace");
        }
        let mut name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            let prefix = m
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    def.subject(),
                    "",
                    &[Cause {
                        reason: "FieldValueRequired",
                        field: "metadata.name".into(),
                        message: "Required value: name or generateName is required".into(),
                    }],
                ));
            }
            loop {
                let candidate = format!("{prefix}{}", st.ids.name_suffix());
                if !st
                    .objects
                    .contains_key(&(res, key_ns.clone(), candidate.clone()))
                {
                    name = candidate;
                    break;
                }
            }
            m.insert("name".into(), json!(name));
        }
        meta::normalize(&mut obj);
        let causes = meta::validate(&obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(def.subject(), &name, &causes));
        }
        if def.namespaced
            && let Some(ns_res) = self.namespace_res()
            && !st
                .objects
                .contains_key(&(ns_res, String::new(), key_ns.clone()))
        {
            let ns_def = self.def(ns_res).ok_or_else(ApiError::no_route)?;
            return Err(ApiError::not_found(ns_def.subject(), &key_ns));
        }
        let key = (res, key_ns, name.clone());
        if st.objects.contains_key(&key) {
            return Err(ApiError::already_exists(def.subject(), &name));
        }
        if self.inner.core_defaults && def.group.is_empty() {
            match def.kind.as_str() {
                "Service" => {
                    let used = self.used_node_ports(&st, res, None);
                    defaults::service(&mut obj, None, &mut st.alloc, &used);
                }
                "Namespace" => defaults::namespace_on_create(&mut obj, &name),
                "Secret" => defaults::secret_on_create(&mut obj),
                _ => {}
            }
        }
        let uid = st.ids.uid();
        let rv = st.rv + 1;
        let Some(m) = meta::meta_mut(&mut obj) else {
            return Err(ApiError::internal("metadata vanished"));
        };
        m.insert("uid".into(), json!(uid));
        m.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
        if def.tracks_generation {
            m.insert("generation".into(), json!(1));
        }
        set_rv(&mut obj, rv);
        if dry_run {
            return Ok(obj);
        }
        st.rv = rv;
        let stored = Arc::new(obj);
        st.objects.insert(key, stored.clone());
        self.commit(
            st,
            Event {
                rv,
                res,
                kind: EventKind::Added,
                object: stored.clone(),
                old: None,
            },
        );
        Ok((*stored).clone())
    }

    fn used_node_ports(&self, st: &State, res: usize, except: Option<&Key>) -> HashSet<u64> {
        st.objects
            .range((res, String::new(), String::new())..)
            .take_while(|(k, _)| k.0 == res)
            .filter(|(k, _)| Some(*k) != except)
            .flat_map(|(_, v)| defaults::node_ports_of(v).collect::<Vec<_>>())
            .collect()
    }

    pub(crate) fn update_at(
        &self,
        res: usize,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Subresource,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        meta::check_shape(&obj).map_err(ApiError::bad_request)?;
        if let Some(core) = self.event_alias(res) {
            return self
                .update_at(core, ns, name, events::to_core(&obj), sub, dry_run)
                .map(|v| events::to_events_v1(&v))
                .map_err(relabel_event_error);
        }
        let body_name = meta::meta_str(&obj, "name");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let key_ns = self.key_ns(res, ns)?;
        let body_ns = meta::meta_str(&obj, "namespace");
        if !key_ns.is_empty() && !body_ns.is_empty() && body_ns != key_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let st = self.lock();
        let key = (res, key_ns, name.to_string());
        self.commit_update(st, key, obj, sub, dry_run)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn patch_at(
        &self,
        res: usize,
        ns: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        sub: Subresource,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let def = self.def(res).ok_or_else(ApiError::no_route)?;
        let key_ns = self.key_ns(res, ns)?;
        if kind != PatchType::Json && !patch.is_object() {
            return Err(ApiError::bad_request(
                "the patch must be a JSON object for merge and strategic merge patches",
            ));
        }
        if let Some(core) = self.event_alias(res) {
            return self.patch_event(core, ns, name, kind, patch, sub, dry_run);
        }
        let st = self.lock();
        let key = (res, key_ns.clone(), name.to_string());
        let Some(old) = st.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(def.subject(), name));
        };
        let patched = apply_patch(&old, kind, patch, name, &key_ns)?;
        self.commit_update(st, key, patched, sub, dry_run)
    }

    /// The shared tail of PUT and PATCH: preconditions, subresource separation, server-owned
    /// metadata, generation, no-op detection and finalizer-driven deletion.
    fn commit_update(
        &self,
        mut st: MutexGuard<'_, State>,
        key: Key,
        new: Value,
        sub: Subresource,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let res = key.0;
        let def = self.def(res).ok_or_else(ApiError::no_route)?;
        let name = key.2.clone();
        let Some(old) = st.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(def.subject(), &name));
        };
        let want_rv = meta::meta_str(&new, "resourceVersion");
        if !want_rv.is_empty() && want_rv != meta::meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(def.subject(), &name, ApiError::STALE));
        }
        let want_uid = meta::meta_str(&new, "uid");
        let old_uid = meta::meta_str(&old, "uid");
        if !want_uid.is_empty() && want_uid != old_uid {
            return Err(ApiError::conflict(
                def.subject(),
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {want_uid}, UID in object meta: {old_uid}"
                ),
            ));
        }
        let mut result = match sub {
            Subresource::Main => {
                let mut r = new;
                if def.status_subresource
                    && let Some(o) = r.as_object_mut()
                {
                    match old.get("status") {
                        Some(s) => o.insert("status".into(), s.clone()),
                        None => o.remove("status"),
                    };
                }
                r["apiVersion"] = json!(def.api_version());
                r["kind"] = json!(def.kind);
                let old_meta = meta::meta(&old).cloned().unwrap_or_default();
                if let Some(m) = meta::meta_mut(&mut r) {
                    for owned in [
                        "uid",
                        "creationTimestamp",
                        "deletionTimestamp",
                        "deletionGracePeriodSeconds",
                        "generation",
                        "resourceVersion",
                        "namespace",
                        "generateName",
                    ] {
                        match old_meta.get(owned) {
                            Some(v) => m.insert(owned.into(), v.clone()),
                            None => m.remove(owned),
                        };
                    }
                    m.remove("managedFields");
                }
                r
            }
            Subresource::Status => {
                let mut r = (*old).clone();
                if let Some(o) = r.as_object_mut() {
                    match new.get("status") {
                        Some(s) => o.insert("status".into(), s.clone()),
                        None => o.remove("status"),
                    };
                }
                r
            }
        };
        meta::normalize(&mut result);
        let mut causes = meta::validate(&result);
        let deleting = meta::meta(&old).is_some_and(|m| m.contains_key("deletionTimestamp"));
        if deleting {
            let before = meta::finalizers(&old);
            if meta::finalizers(&result)
                .iter()
                .any(|f| !before.contains(f))
            {
                causes.push(Cause {
                    reason: "FieldValueForbidden",
                    field: "metadata.finalizers".into(),
                    message:
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                });
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(def.subject(), &name, &causes));
        }
        if self.inner.core_defaults && def.group.is_empty() && def.kind == "Service" {
            let used = self.used_node_ports(&st, res, Some(&key));
            defaults::service(&mut result, Some(&old), &mut st.alloc, &used);
        }
        if def.tracks_generation && spec_part(&result) != spec_part(&old) {
            let g = meta::meta(&old)
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if let Some(m) = meta::meta_mut(&mut result) {
                m.insert("generation".into(), json!(g + 1));
            }
        }
        if result == *old {
            return Ok((*old).clone());
        }
        let rv = st.rv + 1;
        set_rv(&mut result, rv);
        if dry_run {
            return Ok(result);
        }
        st.rv = rv;
        let stored = Arc::new(result);
        let kind = if deleting && meta::finalizers(&stored).is_empty() {
            st.objects.remove(&key);
            EventKind::Deleted
        } else {
            st.objects.insert(key, stored.clone());
            EventKind::Modified
        };
        self.commit(
            st,
            Event {
                rv,
                res,
                kind,
                object: stored.clone(),
                old: Some(old),
            },
        );
        Ok((*stored).clone())
    }

    /// `preconditions` is `(uid, resourceVersion)` from `DeleteOptions`, either may be empty.
    pub(crate) fn delete_at(
        &self,
        res: usize,
        ns: Option<&str>,
        name: &str,
        preconditions: Option<(String, String)>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if let Some(core) = self.event_alias(res) {
            return self
                .delete_at(core, ns, name, preconditions, dry_run)
                .map(|v| events::to_events_v1(&v))
                .map_err(relabel_event_error);
        }
        let def = self.def(res).ok_or_else(ApiError::no_route)?;
        let key_ns = self.key_ns(res, ns)?;
        let mut st = self.lock();
        let key = (res, key_ns, name.to_string());
        let Some(old) = st.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(def.subject(), name));
        };
        if let Some((uid, rv)) = preconditions {
            let old_uid = meta::meta_str(&old, "uid");
            if !uid.is_empty() && uid != old_uid {
                return Err(ApiError::conflict(
                    def.subject(),
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {old_uid}"
                    ),
                ));
            }
            let old_rv = meta::meta_str(&old, "resourceVersion");
            if !rv.is_empty() && rv != old_rv {
                return Err(ApiError::conflict(
                    def.subject(),
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {old_rv}"
                    ),
                ));
            }
        }
        let rv = st.rv + 1;
        if !meta::finalizers(&old).is_empty() {
            if meta::meta(&old).is_some_and(|m| m.contains_key("deletionTimestamp")) {
                return Ok((*old).clone());
            }
            let mut marked = (*old).clone();
            if let Some(m) = meta::meta_mut(&mut marked) {
                m.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            set_rv(&mut marked, rv);
            if dry_run {
                return Ok(marked);
            }
            st.rv = rv;
            let stored = Arc::new(marked);
            st.objects.insert(key, stored.clone());
            self.commit(
                st,
                Event {
                    rv,
                    res,
                    kind: EventKind::Modified,
                    object: stored.clone(),
                    old: Some(old),
                },
            );
            return Ok((*stored).clone());
        }
        let mut gone = (*old).clone();
        set_rv(&mut gone, rv);
        if dry_run {
            return Ok(gone);
        }
        let cascade = Some(res) == self.namespace_res();
        st.objects.remove(&key);
        st.rv = rv;
        let gone = Arc::new(gone);
        let mut events = vec![Event {
            rv,
            res,
            kind: EventKind::Deleted,
            object: gone.clone(),
            old: Some(old),
        }];
        if cascade {
            // The real namespace controller empties a terminating namespace; do it at once.
            let doomed: Vec<Key> = st
                .objects
                .keys()
                .filter(|k| k.1 == name && self.def(k.0).is_some_and(|d| d.namespaced))
                .cloned()
                .collect();
            for k in doomed {
                if let Some(obj) = st.objects.remove(&k) {
                    st.rv += 1;
                    let mut last = (*obj).clone();
                    set_rv(&mut last, st.rv);
                    events.push(Event {
                        rv: st.rv,
                        res: k.0,
                        kind: EventKind::Deleted,
                        object: Arc::new(last),
                        old: Some(obj),
                    });
                }
            }
        }
        self.commit_many(st, events);
        Ok((*gone).clone())
    }

    // ---- watch support -----------------------------------------------------------------

    /// Objects of a resource (optionally in one namespace) and the resourceVersion they are
    /// consistent with, taken atomically.
    pub(crate) fn snapshot(&self, res: usize, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let st = self.lock();
        let items = st
            .objects
            .range((res, String::new(), String::new())..)
            .take_while(|(k, _)| k.0 == res)
            .filter(|(k, _)| ns.is_none_or(|n| k.1 == n))
            .map(|(_, v)| v.clone())
            .collect();
        (items, st.rv)
    }

    /// Events with `rv > after` and the current resourceVersion, or `Err(oldest)` when
    /// history no longer reaches back to `after`.
    pub(crate) fn events_after(&self, after: u64) -> Result<(Vec<Arc<Event>>, u64), u64> {
        let st = self.lock();
        if after < st.history_start {
            return Err(st.history_start);
        }
        let from = st.history.partition_point(|e| e.rv <= after);
        Ok((st.history.range(from..).cloned().collect(), st.rv))
    }
}
