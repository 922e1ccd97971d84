//! A client-side token bucket, so one process never exceeds the API's rate limit by itself.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::RateLimit;

/// Token bucket shared by every clone of a client.
///
/// Callers reserve a token even when none is available (the balance goes negative) and then sleep
/// until their reservation is due. That keeps callers in arrival order and needs no retry loop.
/// Time comes from `tokio::time`, so tests can run it on a paused clock.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(limit.burst.max(1)),
                updated: Instant::now(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.limit.per_second > 0.0 && self.limit.per_second.is_finite()
    }

    /// Takes one token, waiting as long as needed. Returns how long it waited.
    pub(crate) async fn acquire(&self) -> Duration {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// Reserves one token at `now` and returns how long the caller must wait before using it.
    fn reserve(&self, now: Instant) -> Duration {
        if !self.enabled() {
            return Duration::ZERO;
        }
        let rate = self.limit.per_second;
        let capacity = f64::from(self.limit.burst.max(1));
        // A poisoned lock only means another caller panicked mid-update; the bucket is still a
        // plain pair of numbers, so keep using it.
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        test_runtime::run_paused(async {
            let limiter = RateLimiter::new(RateLimit {
                per_second: 5.0,
                burst: 10,
            });
            let start = Instant::now();
            for _ in 0..10 {
                limiter.acquire().await;
            }
            assert_eq!(
                start.elapsed(),
                Duration::ZERO,
                "the burst goes out at once"
            );
            for _ in 0..20 {
                limiter.acquire().await;
            }
            // 20 requests beyond the burst at 5/s need 4 s.
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_secs(4), "{elapsed:?}");
            assert!(elapsed < Duration::from_millis(4100), "{elapsed:?}");
        })
    }

    #[test]
    fn refills_while_idle_but_not_beyond_burst() {
        test_runtime::run_paused(async {
            let limiter = RateLimiter::new(RateLimit {
                per_second: 2.0,
                burst: 3,
            });
            for _ in 0..3 {
                limiter.acquire().await;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
            let start = Instant::now();
            for _ in 0..3 {
                limiter.acquire().await;
            }
            assert_eq!(start.elapsed(), Duration::ZERO);
            limiter.acquire().await;
            assert_eq!(start.elapsed(), Duration::from_millis(500));
        })
    }

    #[test]
    fn concurrent_callers_share_one_bucket() {
        test_runtime::run_paused(async {
            let limiter = std::sync::Arc::new(RateLimiter::new(RateLimit {
                per_second: 10.0,
                burst: 1,
            }));
            let start = Instant::now();
            let tasks: Vec<_> = (0..11)
                .map(|_| {
                    let l = limiter.clone();
                    tokio::spawn(async move { l.acquire().await })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert!(
                start.elapsed() >= Duration::from_secs(1),
                "{:?}",
                start.elapsed()
            );
        })
    }

    #[test]
    fn zero_rate_disables() {
        test_runtime::run_paused(async {
            let limiter = RateLimiter::new(RateLimit {
                per_second: 0.0,
                burst: 1,
            });
            let start = Instant::now();
            for _ in 0..100 {
                limiter.acquire().await;
            }
            assert_eq!(start.elapsed(), Duration::ZERO);
        })
    }
}
