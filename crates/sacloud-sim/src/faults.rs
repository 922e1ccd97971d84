//! Fault injection: latency and error rules, and the pure decision of which applies to a request.
//!
//! Rules match on method and on a prefix of the resource path (the part after `api/cloud/1.1/`,
//! e.g. `appliance` or `server/900000000001/power`). Error rules fire with a probability (`rate`)
//! and/or for the next `count` matching requests (a "burst"), and can carry `Retry-After`.
//!
//! A rule answers in one of two phases: `before` (the default) fails the request before anything
//! happens; `after` lets the simulator make the change first and then answers with the error (or
//! drops the connection) — the lost-answer case that tests a client's idempotency on retry.

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

/// When an error rule answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultPhase {
    /// Before the request is served: nothing changes.
    #[default]
    Before,
    /// After the request was served successfully: the change is made, the answer is lost.
    After,
}

fn is_before(p: &FaultPhase) -> bool {
    *p == FaultPhase::Before
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An error rule with its phase and answer: what `/_sim/faults` stores. [`ErrorRule`] converts
/// into one (phase `before`, answered with the error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP status to answer with (e.g. 429, 503, 500, 423); logged for dropped connections.
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
    /// `before` (default) or `after` the request is served.
    #[serde(default, skip_serializing_if = "is_before")]
    pub phase: FaultPhase,
    /// Close the connection without any answer instead of sending the error.
    #[serde(default, rename = "drop", skip_serializing_if = "is_false")]
    pub drop_connection: bool,
}

impl From<ErrorRule> for FaultRule {
    fn from(r: ErrorRule) -> Self {
        Self {
            status: r.status,
            rate: r.rate,
            count: r.count,
            method: r.method,
            path_prefix: r.path_prefix,
            retry_after: r.retry_after,
            error_code: r.error_code,
            message: r.message,
            phase: FaultPhase::Before,
            drop_connection: false,
        }
    }
}

impl ErrorRule {
    /// Check the rule's own fields.
    pub fn validate(&self) -> Result<(), String> {
        FaultRule::from(self.clone()).validate()
    }

    /// The same rule in phase `after`: the request is served, then its answer is replaced.
    pub fn after(self) -> FaultRule {
        FaultRule {
            phase: FaultPhase::After,
            ..self.into()
        }
    }

    /// The same rule answering with a closed connection instead of the error.
    pub fn dropping(self) -> FaultRule {
        FaultRule::from(self).dropping()
    }
}

impl FaultRule {
    /// This rule in phase `after`.
    pub fn after(self) -> Self {
        Self {
            phase: FaultPhase::After,
            ..self
        }
    }

    /// This rule answering with a closed connection instead of the error.
    pub fn dropping(self) -> Self {
        Self {
            drop_connection: true,
            ..self
        }
    }
}

/// What a firing rule does to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// The error answer (its status is also what counters record for a dropped connection).
    pub error: ApiError,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
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
    /// Error rules, checked in order; the first of the request's phase that fires wins.
    #[serde(default)]
    pub errors: Vec<FaultRule>,
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

impl FaultRule {
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

    /// Decide whether this request fails in `phase`; consumes one unit of a burst when it does.
    /// Rules whose burst is used up are removed.
    pub fn decide_error(
        &mut self,
        method: &str,
        path: &str,
        phase: FaultPhase,
        rng: &mut XorShift,
    ) -> Option<Injected> {
        let idx = self.errors.iter().position(|r| {
            r.phase == phase
                && applies(&r.method, &r.path_prefix, method, path)
                && r.count != Some(0)
                && (r.rate >= 1.0 || rng.next_f64() < r.rate)
        })?;
        let rule = &mut self.errors[idx];
        let err = Injected {
            error: rule.to_error(),
            drop_connection: rule.drop_connection,
        };
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

    fn rule(status: u16) -> FaultRule {
        FaultRule {
            status,
            rate: 1.0,
            count: None,
            method: None,
            path_prefix: None,
            retry_after: None,
            error_code: None,
            message: None,
            phase: FaultPhase::Before,
            drop_connection: false,
        }
    }

    fn decide(f: &mut Faults, method: &str, path: &str, rng: &mut XorShift) -> Option<ApiError> {
        f.decide_error(method, path, FaultPhase::Before, rng)
            .map(|i| i.error)
    }

    #[test]
    fn burst_fails_exactly_n_then_expires() {
        let mut f = Faults {
            errors: vec![FaultRule {
                count: Some(2),
                ..rule(503)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(1);
        let e = decide(&mut f, "GET", "server", &mut rng).unwrap();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (503, "service_unavailable")
        );
        assert!(decide(&mut f, "GET", "server", &mut rng).is_some());
        assert!(decide(&mut f, "GET", "server", &mut rng).is_none());
        assert!(f.errors.is_empty());
    }

    #[test]
    fn method_and_prefix_filter() {
        let mut f = Faults {
            errors: vec![FaultRule {
                method: Some("put".into()),
                path_prefix: Some("/appliance".into()),
                retry_after: Some(3),
                ..rule(429)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(1);
        assert!(decide(&mut f, "GET", "appliance/1", &mut rng).is_none());
        assert!(decide(&mut f, "PUT", "server/1", &mut rng).is_none());
        let e = decide(&mut f, "PUT", "appliance/1/config", &mut rng).unwrap();
        assert_eq!(
            (e.status.as_u16(), e.retry_after, e.code.as_str()),
            (429, Some(3), "too_many_requests")
        );
    }

    #[test]
    fn rate_is_probabilistic_and_seeded() {
        let mut f = Faults {
            errors: vec![FaultRule {
                rate: 0.5,
                ..rule(500)
            }],
            latency: vec![],
        };
        let mut rng = XorShift::new(99);
        let fails = (0..1000)
            .filter(|_| decide(&mut f, "GET", "zone", &mut rng).is_some())
            .count();
        assert!((350..650).contains(&fails), "{fails}");
        f.errors[0].rate = 0.0;
        assert!((0..100).all(|_| decide(&mut f, "GET", "zone", &mut rng).is_none()));
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
    fn phases_are_separate_and_rules_convert() {
        let plain = ErrorRule {
            status: 500,
            rate: 1.0,
            count: Some(1),
            method: Some("POST".into()),
            path_prefix: Some("appliance".into()),
            retry_after: None,
            error_code: None,
            message: None,
        };
        assert_eq!(FaultRule::from(plain.clone()).phase, FaultPhase::Before);
        let mut f = Faults {
            errors: vec![plain.clone().after(), plain.dropping()],
            latency: vec![],
        };
        let mut rng = XorShift::new(1);
        let before = f
            .decide_error("POST", "appliance", FaultPhase::Before, &mut rng)
            .unwrap();
        assert!(before.drop_connection);
        let after = f
            .decide_error("POST", "appliance", FaultPhase::After, &mut rng)
            .unwrap();
        assert!(!after.drop_connection);
        assert_eq!(after.error.code, "internal_server_error");
        assert!(f.errors.is_empty());

        let json: FaultRule =
            serde_json::from_str(r#"{"status":503,"phase":"after","drop":true}"#).unwrap();
        assert_eq!(
            (json.phase, json.drop_connection),
            (FaultPhase::After, true)
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"status":503,"phase":"later"}"#).is_err());
        // Defaults stay out of the serialized form, so `GET /_sim/faults` reads as before.
        let text = serde_json::to_string(&rule(503)).unwrap();
        assert!(!text.contains("phase") && !text.contains("drop"), "{text}");
    }

    #[test]
    fn validation() {
        assert!(rule(503).validate().is_ok());
        assert!(rule(200).validate().is_err());
        assert!(
            FaultRule {
                rate: 1.5,
                ..rule(500)
            }
            .validate()
            .is_err()
        );
    }
}
