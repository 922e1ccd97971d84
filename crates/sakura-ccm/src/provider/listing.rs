//! One cloud listing shared by every caller for a short time.
//!
//! The controllers ask about many objects in bursts (a cluster starting, a periodic resync of
//! every Service); answering each from its own API call would hit the API's rate limit. A
//! [`SharedListing`] keeps the last listing, lets concurrent callers share one in-flight fetch,
//! and lets a caller that needs something newer than what is cached ask for it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloud_provider::provider::ProviderError;
use tokio::sync::Mutex;

use super::errors::api_error;

/// How fresh a listing a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// At most the listing's configured age.
    MaxAge,
    /// At most this old (for callers polling for a change, e.g. an appliance booting).
    Within(Duration),
    /// Fetched after this instant (e.g. after the caller's call began or a lock was taken).
    StartedAfter(Instant),
}

/// Whether a listing that started at `started` serves a caller needing `freshness`.
pub fn is_fresh(started: Instant, now: Instant, max_age: Duration, freshness: Freshness) -> bool {
    match freshness {
        Freshness::MaxAge => now.saturating_duration_since(started) < max_age,
        Freshness::Within(age) => now.saturating_duration_since(started) < age.min(max_age),
        Freshness::StartedAfter(t) => started >= t,
    }
}

/// A listing and when its fetch started (not ended: anything created after may be missing).
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// When the fetch started.
    pub started: Instant,
    /// What was listed.
    pub items: T,
}

#[derive(Debug)]
struct State<T> {
    last: Option<Arc<Listed<T>>>,
    /// The last failed fetch and when it started: callers that were already waiting for it
    /// share its error instead of each repeating a request the API just refused.
    failed: Option<(Instant, ProviderError)>,
}

/// The last listing of something, shared by concurrent callers.
#[derive(Debug)]
pub struct SharedListing<T> {
    max_age: Duration,
    state: Mutex<State<T>>,
}

impl<T> SharedListing<T> {
    /// A listing that serves [`Freshness::MaxAge`] callers for `max_age` (zero: never).
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            state: Mutex::new(State {
                last: None,
                failed: None,
            }),
        }
    }

    /// How long a listing serves [`Freshness::MaxAge`] callers.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// A listing at least as fresh as asked, fetched with `fetch` when the cached one is not.
    /// The lock is held across the fetch, so concurrent callers share one request.
    pub async fn get<F, Fut>(
        &self,
        freshness: Freshness,
        fetch: F,
    ) -> Result<Arc<Listed<T>>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let arrived = Instant::now();
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some(last) = &state.last
            && is_fresh(last.started, now, self.max_age, freshness)
        {
            return Ok(Arc::clone(last));
        }
        if let Some((started, err)) = &state.failed
            && *started >= arrived
        {
            return Err(err.clone());
        }
        // The stale listing is let go before the new one is fetched: nobody is served from it
        // any more, and a listing of thousands of servers held twice would double the peak.
        state.last = None;
        let started = Instant::now();
        match fetch().await {
            Ok(items) => {
                let listed = Arc::new(Listed { started, items });
                state.last = Some(Arc::clone(&listed));
                state.failed = None;
                Ok(listed)
            }
            Err(err) => {
                state.failed = Some((started, err.clone()));
                Err(err)
            }
        }
    }

    /// [`SharedListing::get`] for one SAKURA Cloud call: its error becomes a provider error
    /// saying what was being listed.
    pub async fn get_or_list<F, Fut>(
        &self,
        freshness: Freshness,
        what: &str,
        list: F,
    ) -> Result<Arc<Listed<T>>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, sacloud::Error>>,
    {
        self.get(freshness, || async {
            list().await.map_err(|e| api_error(what, &e))
        })
        .await
    }

    /// Applies a change this process just made in the cloud to the cached listing (if any), so
    /// the next caller sees it without listing again. `change` must be idempotent: the cached
    /// listing may already contain it. The listing is changed in place unless a caller still
    /// holds it (then it is copied, so that caller's view does not change under it): copying
    /// every appliance with its real servers on each create was most of a resync's garbage.
    pub async fn record(&self, change: impl FnOnce(&mut T))
    where
        T: Clone,
    {
        let mut state = self.state.lock().await;
        if let Some(last) = state.last.as_mut() {
            change(&mut Arc::make_mut(last).items);
        }
    }

    /// Forgets the cached listing: the next caller lists again. For when the cloud may have
    /// changed in a way this process does not know (an ambiguous failure of a write).
    pub async fn invalidate(&self) {
        self.state.lock().await.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn freshness() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        let ten = Duration::from_secs(10);
        assert!(is_fresh(t0, later, ten, Freshness::MaxAge));
        assert!(!is_fresh(t0, t0 + ten, ten, Freshness::MaxAge));
        assert!(
            !is_fresh(t0, t0, Duration::ZERO, Freshness::MaxAge),
            "zero: always list again"
        );
        assert!(!is_fresh(t0, later, ten, Freshness::StartedAfter(later)));
        assert!(is_fresh(later, later, ten, Freshness::StartedAfter(t0)));
        let two = Duration::from_secs(2);
        assert!(is_fresh(
            t0,
            t0 + Duration::from_secs(1),
            ten,
            Freshness::Within(two)
        ));
        assert!(!is_fresh(t0, t0 + two, ten, Freshness::Within(two)));
        assert!(
            !is_fresh(t0, later, Duration::from_secs(3), Freshness::Within(ten)),
            "never older than the configured age"
        );
    }

    #[test]
    fn a_refresh_lets_go_of_the_stale_listing_before_fetching() {
        test_runtime::run(async {
            let listing: SharedListing<Vec<u32>> = SharedListing::new(Duration::from_secs(60));
            let first = listing
                .get(Freshness::MaxAge, || async { Ok(vec![1]) })
                .await
                .unwrap();
            let stale = Arc::downgrade(&first);
            drop(first);
            let second = listing
                .get(Freshness::StartedAfter(Instant::now()), || async {
                    // Were the old listing still held, both would be alive at this point.
                    assert!(stale.upgrade().is_none(), "the stale listing is still held");
                    Ok(vec![2])
                })
                .await
                .unwrap();
            assert_eq!(second.items, [2]);
        })
    }

    #[test]
    fn concurrent_callers_share_one_fetch_and_see_recorded_changes() {
        test_runtime::run(async {
            let listing: SharedListing<Vec<u32>> = SharedListing::new(Duration::from_secs(60));
            let fetches = AtomicUsize::new(0);
            let fetch = || async {
                fetches.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(vec![1, 2])
            };
            let (a, b) = tokio::join!(
                listing.get(Freshness::MaxAge, fetch),
                listing.get(Freshness::MaxAge, fetch)
            );
            assert_eq!(a.unwrap().items, vec![1, 2]);
            assert_eq!(b.unwrap().items, vec![1, 2]);
            assert_eq!(fetches.load(Ordering::SeqCst), 1);

            listing.record(|items| items.push(3)).await;
            let c = listing.get(Freshness::MaxAge, fetch).await.unwrap();
            assert_eq!(c.items, vec![1, 2, 3]);
            assert_eq!(fetches.load(Ordering::SeqCst), 1);

            let newer = listing
                .get(Freshness::StartedAfter(Instant::now()), fetch)
                .await
                .unwrap();
            assert_eq!(newer.items, vec![1, 2]);
            assert_eq!(fetches.load(Ordering::SeqCst), 2);

            listing.invalidate().await;
            listing.get(Freshness::MaxAge, fetch).await.unwrap();
            assert_eq!(fetches.load(Ordering::SeqCst), 3);
        })
    }

    #[test]
    fn a_failure_is_shared_only_with_callers_that_waited_for_it() {
        test_runtime::run(async {
            let listing: SharedListing<u32> = SharedListing::new(Duration::from_secs(60));
            let err = listing
                .get(Freshness::MaxAge, || async {
                    Err(ProviderError::other("503"))
                })
                .await;
            assert!(err.is_err());
            let ok = listing.get(Freshness::MaxAge, || async { Ok(7) }).await;
            assert_eq!(ok.unwrap().items, 7, "a later caller fetches again");
        })
    }
}
