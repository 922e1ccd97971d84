//! The one error type of this crate.

use std::time::Duration;

use serde::Deserialize;

/// The error envelope every SAKURA Cloud API error carries:
/// `{"is_fatal":true,"serial":"…","status":"404 Not Found","error_code":"not_found","error_msg":"…"}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ErrorEnvelope {
    /// Whether the API considers the failure fatal (not worth retrying as is).
    #[serde(default)]
    pub is_fatal: bool,
    /// The API's identifier of this failure; quote it to SAKURA support.
    #[serde(default)]
    pub serial: String,
    /// Status line, e.g. `"409 Conflict"`.
    #[serde(default)]
    pub status: String,
    /// Machine-readable code, e.g. `not_found`, `still_creating`.
    #[serde(default)]
    pub error_code: String,
    /// Human-readable message (English, because the client sends `Accept-Language: en`; some
    /// validation messages are Japanese regardless).
    #[serde(default)]
    pub error_msg: String,
}

/// An error answered by the API: a non-success HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP method of the failed request.
    pub method: &'static str,
    /// Request path below the API root, without the query string.
    pub path: String,
    /// HTTP status code.
    pub status: u16,
    /// The decoded error envelope. When the body was not an envelope (a proxy's HTML page, say),
    /// `error_msg` holds the start of the body and the other fields are empty.
    pub envelope: ErrorEnvelope,
    /// What the server's `Retry-After` header asked for, if anything.
    pub retry_after: Option<Duration>,
}

/// What went wrong talking to SAKURA Cloud. Never contains credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error status.
    #[error(
        "SAKURA Cloud API {method} {path}: {status} {code}: {msg} (serial {serial})",
        method = .0.method,
        path = .0.path,
        status = .0.status,
        code = .0.envelope.error_code,
        msg = .0.envelope.error_msg,
        serial = .0.envelope.serial
    )]
    Api(Box<ApiError>),
    /// The request did not complete: connection refused or reset, DNS, TLS, timeout.
    #[error("SAKURA Cloud API {method} {path}: request failed: {message}")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// Request path below the API root.
        path: String,
        /// What the transport reported.
        message: String,
        /// Whether the request timed out (as opposed to failing to connect or breaking off).
        timeout: bool,
    },
    /// The API answered with success but the body was not what this client understands.
    #[error("SAKURA Cloud API {method} {path}: unexpected response body: {message}")]
    Decode {
        /// HTTP method.
        method: &'static str,
        /// Request path below the API root.
        path: String,
        /// What did not fit.
        message: String,
    },
    /// The client was asked to build a request it cannot send (it never reached the network).
    #[error("invalid SAKURA Cloud API request: {0}")]
    InvalidRequest(String),
}

impl Error {
    /// The same error with `f` applied to every free-text part (the API's message and code,
    /// transport and decode messages), for removing sensitive text an answer echoed.
    pub(crate) fn map_text(self, f: impl Fn(String) -> String) -> Self {
        match self {
            Error::Api(mut e) => {
                e.envelope.error_msg = f(std::mem::take(&mut e.envelope.error_msg));
                e.envelope.error_code = f(std::mem::take(&mut e.envelope.error_code));
                e.envelope.status = f(std::mem::take(&mut e.envelope.status));
                Error::Api(e)
            }
            Error::Transport {
                method,
                path,
                message,
                timeout,
            } => Error::Transport {
                method,
                path,
                message: f(message),
                timeout,
            },
            Error::Decode {
                method,
                path,
                message,
            } => Error::Decode {
                method,
                path,
                message: f(message),
            },
            Error::InvalidRequest(message) => Error::InvalidRequest(f(message)),
        }
    }
}

/// Statuses the API uses for "busy, try again": 423 Locked, 429 Too Many Requests, 503.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 423 | 429 | 503)
}

impl Error {
    /// The error without the API's per-request `serial`: the same failure reads the same each
    /// time (Kubernetes events are counted by their text), while `Display` keeps the serial
    /// for logs and support requests.
    pub fn summary(&self) -> String {
        match self {
            Error::Api(e) => format!(
                "SAKURA Cloud API {} {}: {} {}: {}",
                e.method, e.path, e.status, e.envelope.error_code, e.envelope.error_msg
            ),
            other => other.to_string(),
        }
    }

    /// The API's `serial` of the failed request, for errors the API answered.
    pub fn serial(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(e.envelope.serial.as_str()),
            _ => None,
        }
    }

    /// The HTTP status, for errors the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            _ => None,
        }
    }

    /// The API's `error_code`, for errors the API answered.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(e.envelope.error_code.as_str()),
            _ => None,
        }
    }

    /// The API says definitively that the resource does not exist (HTTP 404).
    ///
    /// Transport and decode errors are never "not found": absence is only ever concluded from
    /// the API's own answer.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The resource is still being created (HTTP 409 with `error_code` `still_creating`); wait
    /// and try the operation again.
    pub fn is_still_creating(&self) -> bool {
        self.status() == Some(409) && self.error_code() == Some("still_creating")
    }

    /// HTTP 409 of any kind: a state conflict such as a stale `SettingsHash`, or powering an
    /// appliance that is already in the wanted state.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether trying the same request again later may succeed: busy statuses (423, 429, 503)
    /// and transport failures. Whether it is *safe* to repeat depends on the method too; the
    /// client only repeats GET, PUT and DELETE by itself.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => is_retryable_status(e.status),
            Error::Transport { .. } => true,
            Error::Decode { .. } | Error::InvalidRequest(_) => false,
        }
    }

    /// How long the API asked the caller to wait (`Retry-After`), if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(e) => e.retry_after,
            _ => None,
        }
    }
}

/// Parses a `Retry-After` value given in delta-seconds. HTTP dates are not accepted (the API is
/// not known to send them); such a header is ignored and normal backoff applies.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Builds an [`ApiError`] from a status and raw body, tolerating bodies that are not envelopes.
pub(crate) fn api_error(
    method: &'static str,
    path: String,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Error {
    let envelope = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .filter(|e| !e.error_code.is_empty() || !e.error_msg.is_empty() || !e.status.is_empty())
        .unwrap_or_else(|| ErrorEnvelope {
            error_msg: body_excerpt(body),
            ..ErrorEnvelope::default()
        });
    Error::Api(Box::new(ApiError {
        method,
        path,
        status,
        envelope,
        retry_after,
    }))
}

/// The first 200 characters of a body, for messages about bodies we could not decode.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    match trimmed.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> Error {
        api_error(
            "GET",
            "/is1a/api/cloud/1.1/server/1".into(),
            status,
            body.as_bytes(),
            None,
        )
    }

    #[test]
    fn decodes_the_envelope() {
        let e = err(
            409,
            r#"{"is_fatal":true,"serial":"0123456789abcdef0123456789abcdef","status":"409 Conflict","error_code":"still_creating","error_msg":"still creating"}"#,
        );
        assert!(e.is_still_creating());
        assert!(e.is_conflict());
        assert!(!e.is_not_found());
        assert!(!e.is_retryable());
        let text = e.to_string();
        assert!(text.contains("409"), "{text}");
        assert!(text.contains("still_creating"), "{text}");
        assert!(text.contains("0123456789abcdef0123456789abcdef"), "{text}");
        assert_eq!(e.serial(), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(
            e.summary(),
            "SAKURA Cloud API GET /is1a/api/cloud/1.1/server/1: 409 still_creating: still creating"
        );
    }

    #[test]
    fn tolerates_non_envelope_bodies() {
        let e = err(502, "<html>Bad Gateway</html>");
        match &e {
            Error::Api(a) => {
                assert_eq!(a.envelope.error_msg, "<html>Bad Gateway</html>");
                assert_eq!(a.envelope.error_code, "");
            }
            other => panic!("unexpected {other:?}"),
        }
        let long = "x".repeat(1000);
        match err(500, &long) {
            Error::Api(a) => assert!(a.envelope.error_msg.chars().count() <= 201),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_statuses() {
        assert!(err(404, "{}").is_not_found());
        for s in [423, 429, 503] {
            assert!(err(s, "{}").is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 500] {
            assert!(!err(s, "{}").is_retryable(), "{s}");
        }
        let t = Error::Transport {
            method: "GET",
            path: "/x".into(),
            message: "connection refused".into(),
            timeout: false,
        };
        assert!(t.is_retryable());
        assert!(!t.is_not_found(), "a transport error is never not-found");
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
