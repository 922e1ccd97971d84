//! Kubernetes `Status` errors.
//!
//! Clients (kube-rs, client-go, kubectl) branch on `reason` and `code`, not on the message, so
//! every failure the server can produce is built here with the reason string the real API server
//! uses for the same situation.

use serde_json::{Value, json};

/// A failed API call, rendered as a `meta/v1` `Status` object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code, mirrored in `Status.code`.
    pub code: u16,
    /// Machine-readable `Status.reason`, e.g. `NotFound`.
    pub reason: String,
    /// Human-readable `Status.message`.
    pub message: String,
    /// `Status.details`, when the real server would send them.
    pub details: Option<Value>,
}

/// Identifies the resource an error is about, for the message and `details`.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// API group, empty for the core group.
    pub group: &'a str,
    /// Plural resource name, e.g. `services`.
    pub plural: &'a str,
    /// Kind, e.g. `Service` (used by `Invalid`, which names the kind rather than the resource).
    pub kind: &'a str,
}

impl Subject<'_> {
    /// `services` or `leases.coordination.k8s.io`, the way the real server qualifies resources.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self, name: &str) -> Value {
        let mut d = json!({ "name": name, "kind": self.plural });
        if !self.group.is_empty() {
            d["group"] = json!(self.group);
        }
        d
    }
}

/// One entry of `Status.details.causes` for `Invalid` errors.
#[derive(Debug, Clone)]
pub struct Cause {
    /// e.g. `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`.
    pub reason: &'static str,
    /// Field path, e.g. `metadata.name`.
    pub field: String,
    /// Description of the problem.
    pub message: String,
}

impl ApiError {
    fn new(code: u16, reason: &str, message: impl Into<String>, details: Option<Value>) -> Self {
        Self {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details,
        }
    }

    /// 404 for a named object that does not exist.
    pub fn not_found(subject: Subject<'_>, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", subject.qualified(), name),
            Some(subject.details(name)),
        )
    }

    /// 404 for a URL the server does not serve at all.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        )
    }

    /// 409 on create when the name is taken.
    pub fn already_exists(subject: Subject<'_>, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", subject.qualified(), name),
            Some(subject.details(name)),
        )
    }

    /// 409 on an optimistic-concurrency failure (stale `resourceVersion` or UID precondition).
    pub fn conflict(subject: Subject<'_>, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                subject.qualified(),
                name,
                why
            ),
            Some(subject.details(name)),
        )
    }

    /// The `why` the real server uses for a stale `resourceVersion`.
    pub const STALE: &'static str = "the object has been modified; please apply your changes to the latest version and try again";

    /// 422 with field causes.
    pub fn invalid(subject: Subject<'_>, name: &str, causes: &[Cause]) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let message = format!(
            "{} \"{}\" is invalid: {}",
            subject.kind,
            name,
            if summary.len() == 1 {
                summary.join("")
            } else {
                format!("[{}]", summary.join(", "))
            }
        );
        let mut details = json!({
            "name": name,
            "kind": subject.kind,
            "causes": causes.iter().map(|c| json!({
                "reason": c.reason,
                "message": c.message,
                "field": c.field,
            })).collect::<Vec<_>>(),
        });
        if !subject.group.is_empty() {
            details["group"] = json!(subject.group);
        }
        Self::new(422, "Invalid", message, Some(details))
    }

    /// 422 for a patch that cannot be applied (failed JSON-patch `test`, missing path, ...),
    /// matching what the real server answers for such patches.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message, None)
    }

    /// 400 for malformed input.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message, None)
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        )
    }

    /// 410 when a watch or continue token refers to history that has been compacted away.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message, None)
    }

    /// 415 for a body or patch type the server does not accept.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message, None)
    }

    /// 406 when the client only accepts representations we cannot produce (e.g. protobuf only).
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message, None)
    }

    /// 500 for a bug in the fake itself; never expected.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message, None)
    }

    /// The `Status` object as JSON.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: Subject<'static> = Subject {
        group: "",
        plural: "services",
        kind: "Service",
    };
    const LEASE: Subject<'static> = Subject {
        group: "coordination.k8s.io",
        plural: "leases",
        kind: "Lease",
    };

    #[test]
    fn not_found_matches_real_server_shape() {
        let s = ApiError::not_found(SVC, "web").to_status();
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["message"], "services \"web\" not found");
        assert_eq!(s["details"], json!({"name": "web", "kind": "services"}));
        let s = ApiError::not_found(LEASE, "l").to_status();
        assert_eq!(s["message"], "leases.coordination.k8s.io \"l\" not found");
        assert_eq!(s["details"]["group"], "coordination.k8s.io");
    }

    #[test]
    fn invalid_lists_causes() {
        let e = ApiError::invalid(
            SVC,
            "x",
            &[Cause {
                reason: "FieldValueRequired",
                field: "metadata.name".into(),
                message: "Required value".into(),
            }],
        );
        let s = e.to_status();
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["kind"], "Service");
        assert_eq!(s["details"]["causes"][0]["field"], "metadata.name");
    }
}
