//! Watch streams: newline-delimited JSON events, replayed from store history then live.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::errors::ApiError;
use crate::meta;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, EventKind, Store};

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// Synthetic ADDED events for current objects first (resourceVersion unset or "0", or
    /// `sendInitialEvents=true`); `end_bookmark` adds the `initial-events-end` bookmark.
    Initial { end_bookmark: bool },
    /// Replay everything after this resourceVersion.
    After(u64),
}

/// Renders an object for the wire (identity, or a one-row Table for kubectl).
pub(crate) type Render = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// A parsed watch request.
pub(crate) struct WatchRequest {
    /// The resource whose stored objects are watched ([`Store::storage_res`]).
    pub(crate) res: usize,
    /// The resource asked for, whose kind and apiVersion bookmarks carry.
    pub(crate) shown: usize,
    pub(crate) ns: Option<String>,
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) start: Start,
    pub(crate) bookmarks: bool,
    pub(crate) bookmark_interval: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) render: Render,
}

struct WatchState {
    store: Store,
    req: WatchRequest,
    kind: String,
    api_version: String,
    last_rv: u64,
    started: bool,
    done: bool,
    pending: VecDeque<Bytes>,
    rx: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    deadline: Option<Instant>,
    next_bookmark: Instant,
}

fn line(ty: &str, object: Value) -> Bytes {
    let mut s = json!({"type": ty, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

impl WatchState {
    fn matches(&self, obj: &Value) -> bool {
        self.req
            .ns
            .as_deref()
            .is_none_or(|ns| meta::meta_str(obj, "namespace") == ns)
            && self
                .req
                .labels
                .matches(meta::meta(obj).and_then(|m| m.get("labels")))
            && self.req.fields.matches(obj)
    }

    fn push_event(&mut self, ev: &Event) {
        if ev.res != self.req.res {
            return;
        }
        let now = self.matches(&ev.object);
        let before = ev.old.as_deref().is_some_and(|o| self.matches(o));
        let ty = match ev.kind {
            EventKind::Added if now => "ADDED",
            EventKind::Deleted if now || before => "DELETED",
            EventKind::Modified if now && before => "MODIFIED",
            EventKind::Modified if now => "ADDED",
            EventKind::Modified if before => "DELETED",
            _ => return,
        };
        let obj = (self.req.render)(&ev.object);
        self.pending.push_back(line(ty, obj));
    }

    fn bookmark(&self, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            json!({"kind": self.kind, "apiVersion": self.api_version, "metadata": metadata}),
        )
    }

    fn start(&mut self) {
        self.started = true;
        match self.req.start {
            Start::After(rv) => self.last_rv = rv,
            Start::Initial { end_bookmark } => {
                let (items, rv) = self.store.snapshot(self.req.res, self.req.ns.as_deref());
                let lines: Vec<Bytes> = items
                    .iter()
                    .filter(|o| self.matches(o))
                    .map(|o| line("ADDED", (self.req.render)(o)))
                    .collect();
                self.pending.extend(lines);
                self.last_rv = rv;
                if end_bookmark {
                    let b = self.bookmark(true);
                    self.pending.push_back(b);
                }
            }
        }
    }

    fn poll_history(&mut self) {
        self.rx.borrow_and_update();
        match self.store.events_after(self.last_rv) {
            Ok((events, current)) => {
                for ev in &events {
                    self.push_event(ev);
                }
                self.last_rv = self.last_rv.max(current);
            }
            Err(oldest) => {
                let status = ApiError::expired(format!(
                    "too old resource version: {} ({})",
                    self.last_rv, oldest
                ))
                .to_status();
                self.pending.push_back(line("ERROR", status));
                self.done = true;
            }
        }
    }

    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some((Ok(b), self));
            }
            if self.done {
                return None;
            }
            if !self.started {
                self.start();
                continue;
            }
            self.poll_history();
            if !self.pending.is_empty() || self.done {
                continue;
            }
            let deadline = self.deadline;
            let bookmarks = self.req.bookmarks;
            let next_bookmark = self.next_bookmark;
            tokio::select! {
                changed = self.rx.changed() => {
                    if changed.is_err() {
                        self.done = true;
                    }
                }
                _ = self.shutdown.changed() => self.done = true,
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => self.done = true,
                _ = tokio::time::sleep_until(next_bookmark), if bookmarks => {
                    // Drain history first so the bookmark never claims an undelivered event.
                    self.poll_history();
                    if !self.done {
                        let b = self.bookmark(false);
                        self.pending.push_back(b);
                    }
                    self.next_bookmark = Instant::now() + self.req.bookmark_interval;
                }
            }
        }
    }
}

/// The response body stream for a watch.
pub(crate) fn stream(
    store: Store,
    req: WatchRequest,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let def = store.def(req.shown).cloned();
    let rx = store.subscribe();
    let now = Instant::now();
    let state = WatchState {
        kind: def.as_ref().map(|d| d.kind.clone()).unwrap_or_default(),
        api_version: def.as_ref().map(|d| d.api_version()).unwrap_or_default(),
        last_rv: 0,
        started: false,
        done: false,
        pending: VecDeque::new(),
        rx,
        shutdown,
        deadline: req.timeout.map(|t| now + t),
        next_bookmark: now + req.bookmark_interval,
        store,
        req,
    };
    futures::stream::unfold(state, WatchState::next)
}
