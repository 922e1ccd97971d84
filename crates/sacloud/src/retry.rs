//! When a failed request is repeated, and after how long.
//!
//! Only requests that are safe to repeat are retried by the client itself: GET, PUT and DELETE.
//! They are repeated on 423 Locked, 429 Too Many Requests and 503 Service Unavailable, and on
//! transport failures (connection refused or reset, timeouts). A POST (create) is never
//! repeated: if its answer was lost, the resource may exist, and a second POST would create a
//! duplicate. Callers re-discover what they created by name or tag instead. For the same reason
//! the Enhanced Load Balancer's plan change (a PUT that moves the item to a new ID) is never
//! repeated either.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::RetryPolicy;
use crate::error::Error;

/// Whether requests with this HTTP method may be repeated without changing the outcome.
pub fn is_idempotent(method: &str) -> bool {
    matches!(method, "GET" | "PUT" | "DELETE" | "HEAD")
}

/// How long to wait before retry number `retries_done + 1`, or `None` to give up.
///
/// `jitter` in `[0, 1)` spreads clients out: the wait is between half and all of the
/// exponential backoff `min_wait * 2^retries_done` (capped at `max_wait`). A server's
/// `Retry-After` takes precedence over the backoff (capped at `max_wait` as well, so a
/// misbehaving server cannot park a controller for hours).
pub fn retry_delay(
    policy: &RetryPolicy,
    method: &str,
    retries_done: u32,
    error: &Error,
    jitter: f64,
) -> Option<Duration> {
    if retries_done >= policy.max_retries || !is_idempotent(method) || !error.is_retryable() {
        return None;
    }
    if let Some(asked) = error.retry_after() {
        return Some(asked.min(policy.max_wait));
    }
    let factor = 2u32.saturating_pow(retries_done.min(31));
    let backoff = policy.min_wait.saturating_mul(factor).min(policy.max_wait);
    let jitter = jitter.clamp(0.0, 1.0);
    Some(backoff.mul_f64(0.5 + jitter / 2.0))
}

/// A tiny, lock-free pseudo-random source for jitter (xorshift64*). Jitter needs spread, not
/// cryptographic quality, and this avoids a dependency.
#[derive(Debug)]
pub(crate) struct Jitter(AtomicU64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self(AtomicU64::new(seed | 1))
    }

    /// A value in `[0, 1)`.
    pub(crate) fn next(&self) -> f64 {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.store(x, Ordering::Relaxed);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::api_error;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(5),
        }
    }

    fn status(code: u16, retry_after: Option<Duration>) -> Error {
        api_error("GET", "/x".into(), code, b"{}", retry_after)
    }

    #[test]
    fn retries_busy_statuses_for_safe_methods_only() {
        for code in [423, 429, 503] {
            for method in ["GET", "PUT", "DELETE"] {
                assert!(
                    retry_delay(&policy(), method, 0, &status(code, None), 0.0).is_some(),
                    "{method} {code}"
                );
            }
            assert_eq!(
                retry_delay(&policy(), "POST", 0, &status(code, None), 0.0),
                None
            );
        }
        for code in [400, 401, 403, 404, 409, 500] {
            assert_eq!(
                retry_delay(&policy(), "GET", 0, &status(code, None), 0.0),
                None
            );
        }
    }

    #[test]
    fn exponential_with_cap_and_jitter_bounds() {
        let e = status(503, None);
        let at = |n, j| retry_delay(&policy(), "GET", n, &e, j).unwrap();
        assert_eq!(at(0, 0.0), Duration::from_millis(500));
        assert_eq!(at(0, 1.0), Duration::from_secs(1));
        assert_eq!(at(1, 1.0), Duration::from_secs(2));
        assert_eq!(at(2, 1.0), Duration::from_secs(4));
        assert_eq!(at(3, 1.0), Duration::from_secs(5), "capped at max_wait");
        assert_eq!(
            retry_delay(&policy(), "GET", 4, &e, 0.0),
            None,
            "budget spent"
        );
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let e = status(429, Some(Duration::from_secs(3)));
        assert_eq!(
            retry_delay(&policy(), "GET", 0, &e, 0.9),
            Some(Duration::from_secs(3))
        );
        let e = status(429, Some(Duration::from_secs(3600)));
        assert_eq!(
            retry_delay(&policy(), "GET", 0, &e, 0.9),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        let j = Jitter::new();
        for _ in 0..10_000 {
            let v = j.next();
            assert!((0.0..1.0).contains(&v), "{v}");
        }
    }
}
