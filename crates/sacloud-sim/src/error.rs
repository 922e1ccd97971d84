//! The SAKURA error envelope and the library's own error type.
//!
//! Every API failure leaves the simulator as `{"is_fatal":true,"serial":…,"status":…,
//! "error_code":…,"error_msg":…}` — the shape clients parse — so handlers return [`ApiError`] and
//! never panic on client input.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// Prefix of the real API's 400 messages; kept verbatim because users search for it.
pub const IMPROPER_REQUEST: &str = "Improper request. The parameters of the specified error or input rule violation. Please check your entries.";

/// An API error, rendered as the SAKURA error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error_code` field (e.g. `not_found`, `still_creating`).
    pub code: String,
    /// `error_msg` field.
    pub message: String,
    /// `Retry-After` header in seconds, for injected 429/503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Error with an explicit status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 for a rule violation; the message carries the real API's fixed prefix.
    pub fn invalid(detail: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{IMPROPER_REQUEST}\n{}", detail.as_ref()),
        )
    }

    /// 400 for a request that cannot even be parsed.
    pub fn malformed(detail: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{IMPROPER_REQUEST}\n{}", detail.as_ref()),
        )
    }

    /// 404 for an absent resource or path.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 with a given code.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 401 for missing or wrong credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication failed. Please check your API key (access token and secret).",
        )
    }

    /// 405 for a known path with the wrong verb.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )
    }

    /// The envelope body, with the given serial.
    pub fn envelope(&self, serial: &str) -> Value {
        json!({
            "is_fatal": true,
            "serial": serial,
            "status": status_line(self.status),
            "error_code": self.code,
            "error_msg": self.message,
        })
    }
}

/// `"404 Not Found"`-style status text as the real API writes it.
pub fn status_line(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    )
}

/// Default `error_code` for an injected status: the status text in snake case, as SAKUMOCK does.
pub fn default_code(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Failures of the library API (start-up, scenario and state files).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A scenario document could not be parsed or applied.
    #[error("scenario: {0}")]
    Scenario(String),
    /// The state file could not be read, parsed or written.
    #[error("state file {path}: {message}")]
    StateFile {
        /// Path of the state file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Any other I/O failure.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_the_real_shape() {
        let e = ApiError::not_found("Server[ID:1] is not found");
        let v = e.envelope("0123456789abcdef0123456789abcdef");
        assert_eq!(v["is_fatal"], true);
        assert_eq!(v["status"], "404 Not Found");
        assert_eq!(v["error_code"], "not_found");
        assert_eq!(v["serial"], "0123456789abcdef0123456789abcdef");
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn default_codes_follow_status_text() {
        assert_eq!(
            default_code(StatusCode::SERVICE_UNAVAILABLE),
            "service_unavailable"
        );
        assert_eq!(
            default_code(StatusCode::TOO_MANY_REQUESTS),
            "too_many_requests"
        );
        assert_eq!(status_line(StatusCode::LOCKED), "423 Locked");
    }
}
