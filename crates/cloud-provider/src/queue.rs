//! A work queue with client-go's semantics: a key is queued at most once, is never handed to
//! two workers at the same time, can be added after a delay, and backs off exponentially per
//! key after failures.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Per-key exponential backoff: `base * 2^(failures-1)`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after the `failures`-th consecutive failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exponent)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// A shared work queue; clones refer to the same queue.
pub struct WorkQueue<K> {
    state: Arc<Mutex<State<K>>>,
    notify: Arc<Notify>,
    backoff: Backoff,
}

impl<K> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            notify: self.notify.clone(),
            backoff: self.backoff,
        }
    }
}

struct State<K> {
    queue: VecDeque<K>,
    /// Keys waiting to be processed (queued, or re-added while processing).
    dirty: HashSet<K>,
    processing: HashSet<K>,
    /// Delayed keys by due time; `seq` keeps entries for equal instants distinct.
    waiting: BTreeSet<(Instant, u64, K)>,
    waiting_due: HashMap<K, (Instant, u64)>,
    seq: u64,
    failures: HashMap<K, u32>,
    shut_down: bool,
}

impl<K: Clone + Eq + Hash + Ord + Send + 'static> WorkQueue<K> {
    /// An empty queue whose [`WorkQueue::add_rate_limited`] uses `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                waiting: BTreeSet::new(),
                waiting_due: HashMap::new(),
                seq: 0,
                failures: HashMap::new(),
                shut_down: false,
            })),
            notify: Arc::new(Notify::new()),
            backoff,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K>> {
        // A panic while holding the lock leaves consistent data (every mutation is a single
        // collection call), so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `key` now, unless it is already queued. A key being processed is queued again
    /// once its worker calls [`WorkQueue::done`].
    pub fn add(&self, key: K) {
        let mut st = self.lock();
        if st.shut_down {
            return;
        }
        if let Some(due) = st.waiting_due.remove(&key) {
            st.waiting.remove(&(due.0, due.1, key.clone()));
        }
        if !st.dirty.insert(key.clone()) {
            return;
        }
        if !st.processing.contains(&key) {
            st.queue.push_back(key);
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`. If it is already waiting with an earlier due time, that one
    /// stands.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let due = Instant::now() + delay;
        let mut st = self.lock();
        if st.shut_down {
            return;
        }
        if let Some(&(existing, seq)) = st.waiting_due.get(&key) {
            if existing <= due {
                return;
            }
            st.waiting.remove(&(existing, seq, key.clone()));
        }
        st.seq += 1;
        let seq = st.seq;
        st.waiting.insert((due, seq, key.clone()));
        st.waiting_due.insert(key, (due, seq));
        drop(st);
        // Wake a sleeping worker so it recomputes the earliest due time.
        self.notify.notify_one();
    }

    /// Records a failure of `key` and queues it after its backoff delay; returns the delay.
    pub fn add_rate_limited(&self, key: K) -> Duration {
        let failures = {
            let mut st = self.lock();
            let n = st.failures.entry(key.clone()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let delay = self.backoff.delay(failures);
        self.add_after(key, delay);
        delay
    }

    /// Forgets `key`'s failures, so its next failure starts the backoff afresh.
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// How many consecutive failures `key` has had.
    pub fn failures(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Keys ready to be processed now (the queue depth).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no key is ready now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next key to process, waiting for one; `None` once the queue is shut down. The
    /// caller must call [`WorkQueue::done`] with the key when finished.
    pub async fn get(&self) -> Option<K> {
        loop {
            // Registered before looking at the state, so an add or shut-down between the look
            // and the wait still wakes this worker.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_due = {
                let mut st = self.lock();
                if st.shut_down {
                    return None;
                }
                promote_due(&mut st, Instant::now());
                if let Some(key) = st.queue.pop_front() {
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    return Some(key);
                }
                st.waiting.first().map(|(due, _, _)| *due)
            };
            match next_due {
                Some(due) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(due) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks `key` as processed; if it was added meanwhile, it is queued again.
    pub fn done(&self, key: &K) {
        let mut st = self.lock();
        st.processing.remove(key);
        if st.dirty.contains(key) && !st.shut_down {
            st.queue.push_back(key.clone());
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Stops the queue: [`WorkQueue::get`] returns `None` from now on, to every worker.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.notify.notify_waiters();
    }
}

/// Moves delayed keys whose time has come into the queue.
fn promote_due<K: Clone + Eq + Hash + Ord>(st: &mut State<K>, now: Instant) {
    while let Some((due, _, _)) = st.waiting.first() {
        if *due > now {
            break;
        }
        let Some((_, _, key)) = st.waiting.pop_first() else {
            break;
        };
        st.waiting_due.remove(&key);
        if st.dirty.insert(key.clone()) && !st.processing.contains(&key) {
            st.queue.push_back(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> WorkQueue<String> {
        WorkQueue::new(Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(300),
        })
    }

    #[test]
    fn backoff_doubles_from_five_seconds_to_five_minutes() {
        let b = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(300),
        };
        let secs: Vec<u64> = (1..=8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn a_key_is_queued_once_and_requeued_if_added_while_processing() {
        test_runtime::run(async {
            let q = queue();
            q.add("a".to_owned());
            q.add("a".to_owned());
            q.add("b".to_owned());
            assert_eq!(q.len(), 2);
            let a = q.get().await.unwrap();
            assert_eq!(a, "a");
            q.add("a".to_owned());
            // Not handed out again while processing.
            assert_eq!(q.get().await.unwrap(), "b");
            assert!(q.is_empty());
            q.done(&"b".to_owned());
            q.done(&a);
            assert_eq!(q.get().await.unwrap(), "a");
        })
    }

    #[test]
    fn delayed_keys_come_due_and_the_earliest_due_time_wins() {
        test_runtime::run_paused(async {
            let q = queue();
            let start = Instant::now();
            q.add_after("a".to_owned(), Duration::from_secs(30));
            q.add_after("a".to_owned(), Duration::from_secs(10));
            q.add_after("a".to_owned(), Duration::from_secs(20));
            assert!(q.is_empty());
            assert_eq!(q.get().await.unwrap(), "a");
            assert_eq!(Instant::now() - start, Duration::from_secs(10));
            q.done(&"a".to_owned());
            // The later entries were folded into the first.
            let waited = tokio::time::timeout(Duration::from_secs(60), q.get()).await;
            assert!(waited.is_err());
        })
    }

    #[test]
    fn add_now_overrides_a_pending_delay() {
        test_runtime::run_paused(async {
            let q = queue();
            q.add_after("a".to_owned(), Duration::from_secs(100));
            q.add("a".to_owned());
            assert_eq!(q.get().await.unwrap(), "a");
            q.done(&"a".to_owned());
            assert!(
                tokio::time::timeout(Duration::from_secs(200), q.get())
                    .await
                    .is_err()
            );
        })
    }

    #[test]
    fn rate_limited_adds_back_off_until_forgotten() {
        test_runtime::run_paused(async {
            let q = queue();
            let key = "a".to_owned();
            assert_eq!(q.add_rate_limited(key.clone()), Duration::from_secs(5));
            let start = Instant::now();
            assert_eq!(q.get().await.unwrap(), key);
            assert_eq!(Instant::now() - start, Duration::from_secs(5));
            q.done(&key);
            assert_eq!(q.add_rate_limited(key.clone()), Duration::from_secs(10));
            assert_eq!(q.failures(&key), 2);
            q.forget(&key);
            assert_eq!(q.failures(&key), 0);
            assert_eq!(q.add_rate_limited(key.clone()), Duration::from_secs(5));
        })
    }

    #[test]
    fn shut_down_releases_every_waiting_worker() {
        test_runtime::run(async {
            let q = queue();
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let q = q.clone();
                    tokio::spawn(async move { q.get().await })
                })
                .collect();
            tokio::task::yield_now().await;
            q.shut_down();
            for w in workers {
                assert_eq!(w.await.unwrap(), None);
            }
            q.add("late".to_owned());
            assert_eq!(q.get().await, None);
        })
    }
}
