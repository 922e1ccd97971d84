//! Saved state: a restart that keeps its objects, as etcd keeps a real server's.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Store;
use crate::{defaults, meta};

impl Store {
    /// Every object and the current resourceVersion, as JSON.
    pub fn save(&self) -> Value {
        let st = self.lock();
        let objects: Vec<Value> = st
            .objects
            .iter()
            .filter_map(|((res, _, _), obj)| {
                let def = self.def(*res)?;
                Some(json!({"resource": def.qualified_name(), "object": obj.as_ref()}))
            })
            .collect();
        json!({"resourceVersion": st.rv, "objects": objects})
    }

    /// Replaces every object with those of `saved` (from [`Store::save`]). Watches cannot
    /// resume from before the load: they get `410 Expired` and relist, as after a real
    /// server's watch cache is lost.
    pub fn load(&self, saved: &Value) -> Result<(), String> {
        let rv = saved
            .get("resourceVersion")
            .and_then(Value::as_u64)
            .ok_or("saved state without a resourceVersion")?;
        let mut objects = BTreeMap::new();
        let mut max_ip = None;
        for entry in saved
            .get("objects")
            .and_then(Value::as_array)
            .ok_or("saved state without objects")?
        {
            let resource = entry
                .get("resource")
                .and_then(Value::as_str)
                .ok_or("a saved object without its resource")?;
            let res = self.resolve(resource).map_err(|e| e.to_string())?;
            let object = entry
                .get("object")
                .cloned()
                .ok_or("a saved entry without its object")?;
            let ns = meta::meta_str(&object, "namespace").to_string();
            let name = meta::meta_str(&object, "name").to_string();
            if let Some(ip) = object.pointer("/spec/clusterIP").and_then(Value::as_str) {
                max_ip = max_ip.max(defaults::cluster_ip_index(ip));
            }
            objects.insert((res, ns, name), Arc::new(object));
        }
        let mut st = self.lock();
        st.objects = objects;
        st.rv = rv;
        st.history.clear();
        st.history_start = rv;
        if let Some(index) = max_ip {
            st.alloc.skip_cluster_ips_to(index);
        }
        drop(st);
        self.inner.notify.send_replace(rv);
        Ok(())
    }
}
