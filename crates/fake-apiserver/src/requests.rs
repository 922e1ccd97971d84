//! A record of the API calls clients made, in the terms RBAC authorizes them (verb, API group,
//! resource, subresource, namespace), so that a test can check a Role or ClusterRole against
//! what a controller really does. The fake itself authorizes nothing.
//!
//! Each distinct request kind is kept once, in the order first seen: memory stays bounded by
//! the number of kinds (object names are deliberately left out), so recording is always on,
//! also in long-running sandboxes.

use std::sync::{Arc, Mutex};

use axum::http::Method;

/// One kind of API request, as the Kubernetes authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordedRequest {
    /// RBAC verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or
    /// `deletecollection`.
    pub verb: String,
    /// API group; `""` for the core group.
    pub group: String,
    /// Resource (plural), without the subresource.
    pub resource: String,
    /// Subresource (`status`), if the request addressed one.
    pub subresource: Option<String>,
    /// Namespace, for requests scoped to one; `None` for cluster-scoped resources and for
    /// requests across all namespaces.
    pub namespace: Option<String>,
}

impl RecordedRequest {
    /// `resource` or `resource/subresource`, as written in RBAC rules.
    pub fn rbac_resource(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        }
    }
}

/// The RBAC verb of a request on a resource: how the API server's request-info resolver
/// names it. `named`: the URL names one object; `watching`: `?watch=true` or `/watch/`.
/// `None` for methods that address no verb (they fail before authorization matters).
pub(crate) fn rbac_verb(method: &Method, named: bool, watching: bool) -> Option<&'static str> {
    Some(match *method {
        Method::GET | Method::HEAD if watching => "watch",
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

/// Distinct requests in the order first seen; shared by the HTTP layer and the handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<RecordedRequest>>>);

impl Recorder {
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.contains(&request) {
            seen.push(request);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_the_request_info_resolver() {
        let cases = [
            (Method::GET, true, false, Some("get")),
            (Method::GET, false, false, Some("list")),
            (Method::GET, false, true, Some("watch")),
            (Method::GET, true, true, Some("watch")),
            (Method::HEAD, true, false, Some("get")),
            (Method::POST, false, false, Some("create")),
            (Method::PUT, true, false, Some("update")),
            (Method::PATCH, true, false, Some("patch")),
            (Method::DELETE, true, false, Some("delete")),
            (Method::DELETE, false, false, Some("deletecollection")),
            (Method::OPTIONS, true, false, None),
        ];
        for (method, named, watching, want) in cases {
            assert_eq!(
                rbac_verb(&method, named, watching),
                want,
                "{method} named={named} watching={watching}"
            );
        }
    }

    #[test]
    fn each_kind_is_kept_once_in_first_seen_order() {
        let r = Recorder::default();
        let req = |verb: &str, ns: Option<&str>| RecordedRequest {
            verb: verb.to_owned(),
            group: String::new(),
            resource: "services".to_owned(),
            subresource: None,
            namespace: ns.map(str::to_owned),
        };
        r.record(req("list", None));
        r.record(req("patch", Some("default")));
        r.record(req("list", None));
        assert_eq!(
            r.snapshot(),
            vec![req("list", None), req("patch", Some("default"))]
        );
        r.clear();
        assert!(r.snapshot().is_empty());
    }

    #[test]
    fn rbac_resource_joins_the_subresource() {
        let mut req = RecordedRequest {
            verb: "patch".to_owned(),
            group: String::new(),
            resource: "nodes".to_owned(),
            subresource: None,
            namespace: None,
        };
        assert_eq!(req.rbac_resource(), "nodes");
        req.subresource = Some("status".to_owned());
        assert_eq!(req.rbac_resource(), "nodes/status");
    }
}
