//! Request counters (by method, resource path template and status) and a bounded request log, so
//! tests can assert how many calls a client made and which ones.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How many log entries are kept; older ones are dropped.
pub const LOG_CAPACITY: usize = 2000;

/// One counter row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterEntry {
    /// HTTP method.
    pub method: String,
    /// Path template such as `appliance/{id}/power`.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Number of requests.
    pub count: u64,
}

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Sequence number, starting at 1.
    pub seq: u64,
    /// Wall-clock unix ms when the request finished.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Zone from the URL (empty if none).
    pub zone: String,
    /// Concrete resource path, e.g. `appliance/900000000004/power`.
    pub path: String,
    /// Template, e.g. `appliance/{id}/power`.
    pub template: String,
    /// Response status.
    pub status: u16,
    /// Whether an injected fault produced the response.
    pub injected: bool,
}

/// Counters and log.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: BTreeMap<(String, String, u16), u64>,
    log: VecDeque<LogEntry>,
    seq: u64,
}

impl Metrics {
    /// Record a finished request.
    pub fn record(&mut self, mut entry: LogEntry) {
        *self
            .counters
            .entry((entry.method.clone(), entry.template.clone(), entry.status))
            .or_insert(0) += 1;
        self.seq += 1;
        entry.seq = self.seq;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// All counters, sorted by method, path, status.
    pub fn counters(&self) -> Vec<CounterEntry> {
        self.counters
            .iter()
            .map(|((method, path, status), count)| CounterEntry {
                method: method.clone(),
                path: path.clone(),
                status: *status,
                count: *count,
            })
            .collect()
    }

    /// The log, oldest first.
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.iter().cloned().collect()
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The template of a resource path: numeric segments become `{id}`.
pub fn template(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, template: &str, status: u16) -> LogEntry {
        LogEntry {
            seq: 0,
            at_ms: 0,
            method: method.into(),
            zone: "is1a".into(),
            path: template.into(),
            template: template.into(),
            status,
            injected: false,
        }
    }

    #[test]
    fn counts_by_method_template_status() {
        let mut m = Metrics::default();
        m.record(entry("GET", "server", 200));
        m.record(entry("GET", "server", 200));
        m.record(entry("GET", "server", 503));
        let c = m.counters();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].count, 2);
        assert_eq!(
            m.log().iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        m.clear();
        assert!(m.counters().is_empty());
    }

    #[test]
    fn templates() {
        assert_eq!(
            template(&["appliance", "900000000001", "power"]),
            "appliance/{id}/power"
        );
        assert_eq!(template(&["zone"]), "zone");
    }

    #[test]
    fn log_is_bounded() {
        let mut m = Metrics::default();
        for _ in 0..LOG_CAPACITY + 5 {
            m.record(entry("GET", "zone", 200));
        }
        let log = m.log();
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log[0].seq, 6);
    }
}
