//! `events.k8s.io/v1` Events kept as core `v1` Events: the store side of
//! [`crate::events`] (one store, two APIs).

use serde_json::{Value, json};

use super::{PatchType, Store, Subresource, apply_patch};
use crate::errors::ApiError;
use crate::{events, meta};

impl Store {
    /// The core `v1` Event resource when `res` is `events.k8s.io/v1` Events, which are kept as
    /// core Events (one store, two APIs, as on a real server).
    pub(crate) fn event_alias(&self, res: usize) -> Option<usize> {
        let def = self.def(res)?;
        if def.group == "events.k8s.io" && def.kind == "Event" {
            self.find("", "v1", "events")
        } else {
            None
        }
    }

    /// The resource whose objects and history hold `res`'s objects.
    pub(crate) fn storage_res(&self, res: usize) -> usize {
        self.event_alias(res).unwrap_or(res)
    }

    /// A patch of an `events.k8s.io/v1` Event applies to that API's form of the stored core
    /// Event. The read and the write are separate, so a concurrent write makes the write
    /// conflict; as the real server, it then tries again unless the patch named a
    /// resourceVersion itself.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn patch_event(
        &self,
        core: usize,
        ns: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        sub: Subresource,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let key_ns = self.key_ns(core, ns)?;
        let mut attempts = 0;
        loop {
            let current = self.get_at(core, ns, name).map_err(relabel_event_error)?;
            let old = events::to_events_v1(&current);
            let patched = apply_patch(&old, kind, patch, name, &key_ns)?;
            let pinned = meta::meta_str(&patched, "resourceVersion")
                != meta::meta_str(&old, "resourceVersion");
            match self.update_at(core, ns, name, events::to_core(&patched), sub, dry_run) {
                Err(e) if e.code == 409 && !pinned && attempts < 10 => attempts += 1,
                other => {
                    return other
                        .map(|v| events::to_events_v1(&v))
                        .map_err(relabel_event_error);
                }
            }
        }
    }
}

/// Errors about stored core Events, as the `events.k8s.io` API names its resource.
pub(super) fn relabel_event_error(mut e: ApiError) -> ApiError {
    e.message = e
        .message
        .replacen("events \"", "events.events.k8s.io \"", 1);
    if let Some(d) = e.details.as_mut().and_then(Value::as_object_mut)
        && d.get("kind").and_then(Value::as_str) == Some("events")
    {
        d.insert("group".into(), json!("events.k8s.io"));
    }
    e
}
