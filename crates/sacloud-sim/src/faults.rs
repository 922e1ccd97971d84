//! Fault injection: latency and error rules, and the pure decision of which applies to a request.
//!
//! Rules match on method and on a prefix of the resource path (the part after `api/cloud/1.1/`,
//! e.g. `appliance` or `server/900000000001/power`). Error rules fire with a probability (`rate`)
//! and/or for the next `count` matching requests (a "burst"), and can carry `Retry-After`.

use crate::error::{ApiError, default_code};
use crate::rng::XorShift;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// An error rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// HTTP status to answer with (e.g. 429, 503, 500, 423).
    pub status: u16,
    /// Probability in `[0, 1]` that a matching request fails (default 1).
    #[serde(default = "one")]
    pub rate: f64,
    /// Fail only the next `count` matching requests, then the rule expires ("503 burst").
    #[serde(default)]
    pub count: Option<u64>,
    /// Only this method (`GET`, `PUT`, …); any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Only resource paths starting with this (e.g. `appliance`); any when absent.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// `Retry-After` seconds to send (useful with 429/503).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// `error_code` (default: the status text in snake case).
    #[serde(default)]
    pub error_code: Option<String>,
    /// `error_msg` (default: a generic text naming the injection).
    #[serde(default)]
    pub message: Option<String>,
}

/// A latency rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRule {
    /// Added delay in milliseconds.
    pub ms: u64,
    /// Extra uniformly random delay up to this many milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Only this method.
    #[serde(default)]
    pub method: Option<String>,
    /// Only resource paths starting with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// Active rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Error rules, checked in order; the first that fires wins.
    #[serde(default)]
    pub errors: Vec<ErrorRule>,
    /// Latency rules; delays of all matching rules add up.
    #[serde(default)]
    pub latency: Vec<LatencyRule>,
}

fn applies(method: &Option<String>, prefix: &Option<String>, req_method: &str, path: &str) -> bool {
    method
        .as_ref()
        .is_none_or(|m| m.eq_ignore_ascii_case(req_method))
        && prefix
            .as_ref()
            .is_none_or(|p| path.starts_with(p.trim_start_matches('/')))
}

impl ErrorRule {
    /// Check the rule's own fields.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(format!("rate must be between 0 and 1, got {}", self.rate));
        }
        match StatusCode::from_u16(self.status) {
            Ok(s) if s.is_client_error() || s.is_server_error() => Ok(()),
            _ => Err(format!(
                "status must be a 4xx or 5xx code, got {}",
                self.status
            )),
        }
    }

    fn to_error(&self) -> ApiError {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let code = self
            .error_code
            .clone()
            .unwrap_or_else(|| default_code(status));
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| format!("injected fault: {}", crate::error::status_line(status)));
        let mut e = ApiError::new(status, &code, message);
        e.retry_after = self.retry_after;
        e
    }
}

impl Faults {
    /// Total latency for a request.
    pub fn latency_ms(&self, method: &str, path: &str, rng: &mut XorShift) -> u64 {
        self.latency
            .iter()
            .filter(|l| applies(&l.method, &l.path_prefix, method, path))
            .map(|l| {
                let jitter = if l.jitter_ms > 0 {
                    rng.next_u64() % (l.jitter_ms + 1)
                } else {
                    0
                };
                l.ms.saturating_add(jitter)
            })
            .sum()
    }

    /// Decide whether this request fails; consumes one unit of a burst when it does. Rules whose
    /// burst is used up are removed.
    pub fn decide_error(
        &mut self,
        method: &str,
        path: &str,
        rng: &mut XorShift,
    ) -> Option<ApiError> {
        let idx = self.errors.iter().position(|r| {
            applies(&r.method, &r.path_prefix, method, path)
                && r.count != Some(0)
                && (r.rate >= 1.0 || rng.next_f64() < r.rate)
        })?;
        let rule = &mut self.errors[idx];
        let err = rule.to_error();
        if let Some(c) = rule.count.as_mut() {
            *c -= 1;
            if *c == 0 {
                self.errors.remove(idx);
            }
        }
        Some(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(status: u16) -> ErrorRule {
        ErrorRule {
            status,
            rate: 1.0,
            count: None,
            method: None,
            path_prefix: None,
            retry_after: None,
            error_code: None,
            message: None,
        }
    }

    #[test]
    fn burst_fails_exactly_n_then_expires() {
        let mut f = Faults {
            errors: vec![ErrorRule {
                count: Some(2),
                ..rule(503)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(1);
        let e = f.decide_error("GET", "server", &mut rng).unwrap();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (503, "service_unavailable")
        );
        assert!(f.decide_error("GET", "server", &mut rng).is_some());
        assert!(f.decide_error("GET", "server", &mut rng).is_none());
        assert!(f.errors.is_empty());
    }

    #[test]
    fn method_and_prefix_filter() {
        let mut f = Faults {
            errors: vec![ErrorRule {
                method: Some("put".into()),
                path_prefix: Some("/appliance".into()),
                retry_after: Some(3),
                ..rule(429)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(1);
        assert!(f.decide_error("GET", "appliance/1", &mut rng).is_none());
        assert!(f.decide_error("PUT", "server/1", &mut rng).is_none());
        let e = f
            .decide_error("PUT", "appliance/1/config", &mut rng)
            .unwrap();
        assert_eq!(
            (e.status.as_u16(), e.retry_after, e.code.as_str()),
            (429, Some(3), "too_many_requests")
        );
    }

    #[test]
    fn rate_is_probabilistic_and_seeded() {
        let mut f = Faults {
            errors: vec![ErrorRule {
                rate: 0.5,
                ..rule(500)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(99);
        let fails = (0..1000)
            .filter(|_| f.decide_error("GET", "zone", &mut rng).is_some())
            .count();
        assert!((350..650).contains(&fails), "{fails}");
        f.errors[0].rate = 0.0;
        assert!((0..100).all(|_| f.decide_error("GET", "zone", &mut rng).is_none()));
    }

    #[test]
    fn latency_adds_up_with_bounded_jitter() {
        let f = Faults {
            errors: vec![],
            latency: vec![
                LatencyRule {
                    ms: 10,
                    jitter_ms: 0,
                    method: None,
                    path_prefix: None,
                },
                LatencyRule {
                    ms: 5,
                    jitter_ms: 5,
                    method: Some("GET".into()),
                    path_prefix: Some("server".into()),
                },
            ],
        };
        let mut rng = XorShift::new(3);
        assert_eq!(f.latency_ms("PUT", "server", &mut rng), 10);
        let l = f.latency_ms("GET", "server/1", &mut rng);
        assert!((15..=20).contains(&l), "{l}");
    }

    #[test]
    fn validation() {
        assert!(rule(503).validate().is_ok());
        assert!(rule(200).validate().is_err());
        assert!(
            ErrorRule {
                rate: 1.5,
                ..rule(500)
            }
            .validate()
            .is_err()
        );
    }
}
