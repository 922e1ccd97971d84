//! Health checks and the Kubernetes-style aggregation of their results.

use std::collections::HashSet;
use std::sync::Arc;

/// A named check; `Err(reason)` means unhealthy.
///
/// Checks run on the request path of every probe, synchronously: they must be cheap and must
/// not block (read a flag or a timestamp; do not call an API).
pub trait HealthCheck: Send + Sync {
    /// The name shown in the probe output and used in the sub-path (`/healthz/<name>`): not
    /// empty, without `/`, unique among all checks, and not `ping` (built in).
    fn name(&self) -> &str;
    /// `Ok(())` when healthy, else why not.
    fn check(&self) -> Result<(), String>;
}

/// The checks the probe endpoints run, besides the built-in `ping`.
#[derive(Clone, Default)]
pub struct Checks {
    /// Run by `/healthz`, `/livez` and `/readyz`: a failure means "restart me".
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// Run by `/readyz` only: a failure means "do not count on me yet".
    pub ready: Vec<Arc<dyn HealthCheck>>,
}

impl Checks {
    /// No checks but the built-in `ping`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check to `/healthz`, `/livez` and `/readyz`.
    pub fn with_health(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.health.push(check);
        self
    }

    /// Adds a check to `/readyz` only.
    pub fn with_ready(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.ready.push(check);
        self
    }

    /// Every check name must be usable as a path segment and unique (including `ping`),
    /// or the per-check sub-paths would be ambiguous.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let mut seen: HashSet<&str> = HashSet::from([PING]);
        for check in self.health.iter().chain(&self.ready) {
            let name = check.name();
            if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
                return Err(format!(
                    "health check name {name:?}: must be non-empty, without '/' or spaces"
                ));
            }
            if !seen.insert(name) {
                return Err(format!("health check name {name:?} is used twice"));
            }
        }
        Ok(())
    }
}

/// A [`HealthCheck`] made from a name and a closure.
pub fn check_fn(
    name: impl Into<String>,
    check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
) -> Arc<dyn HealthCheck> {
    Arc::new(FnCheck {
        name: name.into(),
        check,
    })
}

struct FnCheck<F> {
    name: String,
    check: F,
}

impl<F: Fn() -> Result<(), String> + Send + Sync> HealthCheck for FnCheck<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), String> {
        (self.check)()
    }
}

/// The built-in check that always passes: it shows the server answers at all.
pub(crate) const PING: &str = "ping";

/// Which probe endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    Healthz,
    Livez,
    Readyz,
}

impl Probe {
    /// The word the aggregated body ends with (`healthz check failed`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Livez => "livez",
            Self::Readyz => "readyz",
        }
    }

    /// The checks this probe runs, in order.
    pub(crate) fn checks(self, checks: &Checks) -> Vec<&dyn HealthCheck> {
        let ready: &[Arc<dyn HealthCheck>] = match self {
            Self::Readyz => &checks.ready,
            Self::Healthz | Self::Livez => &[],
        };
        checks.health.iter().chain(ready).map(|c| &**c).collect()
    }
}

/// Runs `checks` (after `ping`) and aggregates them as Kubernetes' healthz handler does.
pub(crate) fn run_probe(probe: Probe, checks: &[&dyn HealthCheck], verbose: bool) -> (u16, String) {
    let results: Vec<(&str, Result<(), String>)> = std::iter::once((PING, Ok(())))
        .chain(checks.iter().map(|c| (c.name(), c.check())))
        .collect();
    let (status, body) = aggregate(probe.name(), &results, verbose);
    if status != 200 {
        let failed: Vec<String> = results
            .iter()
            .filter_map(|(name, r)| r.as_ref().err().map(|reason| format!("{name}: {reason}")))
            .collect();
        tracing::info!(probe = probe.name(), failed = ?failed, "health probe failed");
    }
    (status, body)
}

/// Status code and body for the named probe given each check's result: 200 `ok` when all
/// pass (or, when `verbose`, one `[+]name ok` line per check and `<probe> check passed`); else
/// 500 with `[+]name ok` / `[-]name failed: reason` lines and `<probe> check failed`.
///
/// Unlike upstream, which writes "reason withheld", the reason is shown: these endpoints serve
/// operators and probes of one component, and the reason is what they need to act.
pub(crate) fn aggregate(
    probe: &str,
    results: &[(&str, Result<(), String>)],
    verbose: bool,
) -> (u16, String) {
    let mut lines = String::new();
    let mut failed = false;
    for (name, result) in results {
        match result {
            Ok(()) => lines.push_str(&format!("[+]{name} ok\n")),
            Err(reason) => {
                failed = true;
                lines.push_str(&format!("[-]{name} failed: {}\n", one_line(reason)));
            }
        }
    }
    if failed {
        (500, format!("{lines}{probe} check failed\n"))
    } else if verbose {
        (200, format!("{lines}{probe} check passed\n"))
    } else {
        (200, "ok".to_owned())
    }
}

/// Status code and body for a single check's sub-path, as upstream's per-check handler.
pub(crate) fn single(result: Result<(), String>) -> (u16, String) {
    match result {
        Ok(()) => (200, "ok".to_owned()),
        Err(reason) => (
            500,
            format!("internal server error: {}\n", one_line(&reason)),
        ),
    }
}

/// The check named `name` that `probe` runs (`ping` included), if any.
pub(crate) fn run_one(probe: Probe, checks: &Checks, name: &str) -> Option<(u16, String)> {
    if name == PING {
        return Some(single(Ok(())));
    }
    probe
        .checks(checks)
        .into_iter()
        .find(|c| c.name() == name)
        .map(|c| single(c.check()))
}

/// Reasons go into a line-per-check format: a newline inside one would forge a line.
fn one_line(reason: &str) -> String {
    reason.replace(['\r', '\n'], " ")
}

/// Whether the raw query string has the key `key` (with or without a value), like Go's
/// `r.URL.Query()[key]` presence test: `?verbose`, `?verbose=1`, `?a=b&verbose`.
pub(crate) fn query_has(query: Option<&str>, key: &str) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next().is_some_and(|k| k == key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn all_passing_is_200_ok() {
        let results = [("ping", ok()), ("leader", ok())];
        assert_eq!(
            aggregate("healthz", &results, false),
            (200, "ok".to_owned())
        );
    }

    #[test]
    fn verbose_lists_every_check_on_success() {
        let results = [("ping", ok()), ("leader", ok())];
        assert_eq!(
            aggregate("readyz", &results, true),
            (
                200,
                "[+]ping ok\n[+]leader ok\nreadyz check passed\n".to_owned()
            )
        );
    }

    #[test]
    fn one_failure_is_500_with_every_line_verbose_or_not() {
        let results = [
            ("ping", ok()),
            ("leader", Err("lease not renewed for 40s".to_owned())),
            ("informers", ok()),
        ];
        let expected = "[+]ping ok\n[-]leader failed: lease not renewed for 40s\n[+]informers ok\nlivez check failed\n";
        assert_eq!(
            aggregate("livez", &results, false),
            (500, expected.to_owned())
        );
        assert_eq!(
            aggregate("livez", &results, true),
            (500, expected.to_owned())
        );
    }

    #[test]
    fn a_reason_cannot_forge_lines() {
        let results = [("x", Err("bad\n[+]y ok\r\n".to_owned()))];
        let (status, body) = aggregate("healthz", &results, false);
        assert_eq!(status, 500);
        assert_eq!(body, "[-]x failed: bad [+]y ok  \nhealthz check failed\n");
    }

    #[test]
    fn single_check_bodies() {
        assert_eq!(single(ok()), (200, "ok".to_owned()));
        assert_eq!(
            single(Err("down".to_owned())),
            (500, "internal server error: down\n".to_owned())
        );
    }

    #[test]
    fn probes_run_their_checks() {
        let checks = Checks::new()
            .with_health(check_fn("h", || Err("sick".to_owned())))
            .with_ready(check_fn("r", || Ok(())));
        let names = |p: Probe| -> Vec<String> {
            p.checks(&checks)
                .iter()
                .map(|c| c.name().to_owned())
                .collect()
        };
        assert_eq!(names(Probe::Healthz), ["h"]);
        assert_eq!(names(Probe::Livez), ["h"]);
        assert_eq!(names(Probe::Readyz), ["h", "r"]);

        let (status, body) = run_probe(Probe::Readyz, &Probe::Readyz.checks(&checks), false);
        assert_eq!(status, 500);
        assert_eq!(
            body,
            "[+]ping ok\n[-]h failed: sick\n[+]r ok\nreadyz check failed\n"
        );

        assert_eq!(
            run_one(Probe::Healthz, &checks, "ping"),
            Some((200, "ok".to_owned()))
        );
        assert_eq!(
            run_one(Probe::Readyz, &checks, "r"),
            Some((200, "ok".to_owned()))
        );
        assert_eq!(run_one(Probe::Healthz, &checks, "r"), None);
        assert_eq!(run_one(Probe::Livez, &checks, "nope"), None);
        assert_eq!(
            run_one(Probe::Livez, &checks, "h"),
            Some((500, "internal server error: sick\n".to_owned()))
        );
    }

    #[test]
    fn check_names_are_validated() {
        let good = Checks::new()
            .with_health(check_fn("leader-election", || Ok(())))
            .with_ready(check_fn("informer-sync", || Ok(())));
        assert_eq!(good.validate(), Ok(()));
        for bad in [
            Checks::new().with_health(check_fn("", || Ok(()))),
            Checks::new().with_health(check_fn("a/b", || Ok(()))),
            Checks::new().with_ready(check_fn("a b", || Ok(()))),
            Checks::new().with_health(check_fn("ping", || Ok(()))),
            Checks::new()
                .with_health(check_fn("x", || Ok(())))
                .with_ready(check_fn("x", || Ok(()))),
        ] {
            assert!(bad.validate().is_err());
        }
    }

    #[test]
    fn verbose_query_detection() {
        assert!(query_has(Some("verbose"), "verbose"));
        assert!(query_has(Some("verbose=false"), "verbose"));
        assert!(query_has(Some("exclude=x&verbose"), "verbose"));
        assert!(!query_has(Some("verbosely"), "verbose"));
        assert!(!query_has(Some("x=verbose"), "verbose"));
        assert!(!query_has(Some(""), "verbose"));
        assert!(!query_has(None, "verbose"));
    }
}
