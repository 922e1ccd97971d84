//! Following a watch: whole (re)lists and single changes, with a pause after every failure and
//! an end when the controller stops.

use std::fmt;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

/// A watch, simplified: a complete (re)list, or one object changed or deleted.
#[derive(Debug)]
pub enum Followed<K> {
    /// Every object, after a (re)list; what is missing was deleted meanwhile.
    Listed(Vec<K>),
    /// One object added or changed.
    Applied(K),
    /// One object deleted.
    Deleted(K),
}

/// The least time between a failed watch and the next try, whatever the watch's own backoff
/// says: a stream whose errors come back at once must not keep a core busy.
pub const PAUSE_AFTER_ERROR: Duration = Duration::from_millis(200);

/// Follows every object of `api` until `stop` turns true (or its sender is dropped),
/// reconnecting with client-go's backoff; a relist after a reconnect is delivered whole, so
/// the caller can tell what vanished meanwhile.
pub fn follow<K>(api: Api<K>, stop: watch::Receiver<bool>) -> impl Stream<Item = Followed<K>> + Send
where
    K: kube::Resource
        + Clone
        + fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned
        + Send
        + 'static,
{
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    follow_events(events, stop)
}

/// [`follow`] over any stream of watch events.
///
/// After a failure it always yields to the runtime and then waits at least
/// [`PAUSE_AFTER_ERROR`] or until `stop`: while a runtime shuts down, I/O fails and timers fire
/// at once, and a loop that retried straight away would never give its thread back, so the
/// runtime could never be dropped.
pub fn follow_events<K, S>(
    events: S,
    stop: watch::Receiver<bool>,
) -> impl Stream<Item = Followed<K>> + Send
where
    K: Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + Unpin + 'static,
{
    futures::stream::unfold(
        (events, None::<Vec<K>>, stop),
        |(mut events, mut relist, mut stop)| async move {
            loop {
                let next = tokio::select! {
                    biased;
                    () = stopped(&mut stop) => return None,
                    next = events.next() => next,
                };
                let event = match next? {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::warn!(%error, "watch failed; retrying");
                        if pause_after_error(&mut stop).await {
                            continue;
                        }
                        return None;
                    }
                };
                let out = match event {
                    watcher::Event::Init => {
                        relist = Some(Vec::new());
                        None
                    }
                    watcher::Event::InitApply(obj) => {
                        relist.get_or_insert_default().push(obj);
                        None
                    }
                    watcher::Event::InitDone => {
                        Some(Followed::Listed(relist.take().unwrap_or_default()))
                    }
                    watcher::Event::Apply(obj) => Some(Followed::Applied(obj)),
                    watcher::Event::Delete(obj) => Some(Followed::Deleted(obj)),
                };
                if let Some(out) = out {
                    return Some((out, (events, relist, stop)));
                }
            }
        },
    )
}

/// Completes once `stop` is true or can no longer change.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Yields, then waits [`PAUSE_AFTER_ERROR`]; false when asked to stop meanwhile.
async fn pause_after_error(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::task::yield_now().await;
    tokio::select! {
        biased;
        () = stopped(stop) => false,
        () = tokio::time::sleep(PAUSE_AFTER_ERROR) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    type Event = Result<watcher::Event<u32>, watcher::Error>;

    /// Errors that come back at once, for ever: a watch while its runtime shuts down.
    fn failing_at_once() -> impl Stream<Item = Event> + Send + Unpin + 'static {
        futures::stream::repeat_with(|| Err(watcher::Error::NoResourceVersion))
    }

    #[test]
    fn a_watch_failing_at_once_lets_its_runtime_drop() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (_stop_tx, stop) = watch::channel(false);
        let (polled_tx, polled) = tokio::sync::oneshot::channel::<()>();
        let mut polled_tx = Some(polled_tx);
        let events = failing_at_once().inspect(move |_| {
            if let Some(tx) = polled_tx.take() {
                let _ = tx.send(());
            }
        });
        runtime.spawn(async move { follow_events(events, stop).for_each(|_| async {}).await });
        // The follower is inside its retry loop before the runtime is dropped.
        runtime.block_on(polled).unwrap();

        let (dropped_tx, dropped) = mpsc::channel();
        std::thread::spawn(move || {
            drop(runtime);
            let _ = dropped_tx.send(());
        });
        assert!(
            dropped.recv_timeout(Duration::from_secs(10)).is_ok(),
            "the runtime did not drop within 10 s: the watch follower keeps its thread busy"
        );
    }

    #[test]
    fn stopping_ends_a_failing_watch() {
        test_runtime::run_paused(async {
            let (stop_tx, stop) = watch::channel(false);
            let mut followed = Box::pin(follow_events(failing_at_once(), stop));
            let next = tokio::spawn(async move { followed.next().await.is_none() });
            tokio::task::yield_now().await;
            stop_tx.send_replace(true);
            assert!(next.await.unwrap(), "a stopped follower ends its stream");
        })
    }

    #[test]
    fn dropping_the_stop_sender_ends_the_stream() {
        test_runtime::run_paused(async {
            let (stop_tx, stop) = watch::channel(false);
            drop(stop_tx);
            let mut followed = Box::pin(follow_events(failing_at_once(), stop));
            assert!(followed.next().await.is_none());
        })
    }

    #[test]
    fn failures_pause_and_then_the_list_comes_through() {
        test_runtime::run_paused(async {
            let (_stop_tx, stop) = watch::channel(false);
            let events: Vec<Event> = vec![
                Err(watcher::Error::NoResourceVersion),
                Err(watcher::Error::NoResourceVersion),
                Ok(watcher::Event::Init),
                Ok(watcher::Event::InitApply(1)),
                Ok(watcher::Event::InitApply(2)),
                Ok(watcher::Event::InitDone),
                Ok(watcher::Event::Apply(3)),
                Ok(watcher::Event::Delete(1)),
            ];
            let started = tokio::time::Instant::now();
            let followed: Vec<Followed<u32>> = follow_events(futures::stream::iter(events), stop)
                .collect()
                .await;
            assert!(started.elapsed() >= PAUSE_AFTER_ERROR * 2);
            assert!(matches!(&followed[..], [
                Followed::Listed(listed),
                Followed::Applied(3),
                Followed::Deleted(1),
            ] if listed == &vec![1, 2]));
        })
    }
}
