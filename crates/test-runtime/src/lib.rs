//! Runs an async test body so that the test always ends, with a message that says why.
//!
//! `#[tokio::test]` waits without limit twice: for the body, and, after it, for the runtime to
//! drop, which waits for every task still running to yield. A task that never yields (a retry
//! loop whose errors come back at once) or a body that waits for something that never happens
//! turns one test into a CI run that never finishes. Here:
//!
//! - the body gets a deadline ([`Limits::body`]); past it the test fails naming the test and
//!   the limit, and the body's own deadlines say what it waited for;
//! - the runtime gets a bounded shutdown ([`Limits::shutdown`]); a task that is still running
//!   when it ends fails the test, since the same task would hang a runtime without the bound;
//! - a watchdog thread ends the whole process when neither can act (a task that spins on a
//!   single-threaded runtime blocks both), printing the test's name first.
//!
//! A test is a plain `#[test]` function whose body is handed over:
//!
//! ```
//! fn adds() {
//!     test_runtime::run(async {
//!         tokio::task::yield_now().await;
//!         assert_eq!(1 + 1, 2);
//!     })
//! }
//! # adds();
//! ```

use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for the body.
    pub body: Duration,
    /// Time for the runtime to stop the tasks left when the body ended.
    pub shutdown: Duration,
}

impl Default for Limits {
    /// Two minutes for a body (our slowest integration tests take seconds; end-to-end ones
    /// under a minute), five seconds for the tasks left behind.
    fn default() -> Self {
        Self {
            body: Duration::from_secs(120),
            shutdown: Duration::from_secs(5),
        }
    }
}

/// The runtime a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// One thread, as plain `#[tokio::test]`.
    CurrentThread,
    /// One thread with time paused (auto-advancing when idle), as `start_paused = true`.
    Paused,
    /// A multi-threaded runtime with this many workers.
    MultiThread(usize),
}

/// Runs `body` on a single-threaded runtime with the default limits.
pub fn run<F: Future>(body: F) -> F::Output {
    run_with(Flavor::CurrentThread, Limits::default(), body)
}

/// Runs `body` on a single-threaded runtime whose clock is paused.
pub fn run_paused<F: Future>(body: F) -> F::Output {
    run_with(Flavor::Paused, Limits::default(), body)
}

/// Runs `body` on a two-worker runtime with the default limits.
pub fn run_multi<F: Future>(body: F) -> F::Output {
    run_with(Flavor::MultiThread(2), Limits::default(), body)
}

/// Runs `body` on a runtime of `flavor` within `limits`; panics (fails the test) when the body
/// or the runtime's shutdown takes longer, and exits the process when a spinning task keeps
/// even that from happening.
pub fn run_with<F: Future>(flavor: Flavor, limits: Limits, body: F) -> F::Output {
    let name = test_name();
    let runtime = build(flavor)
        .unwrap_or_else(|error| panic!("test {name}: cannot build a Tokio runtime: {error}"));
    let watchdog = Watchdog::start(&name, limits.body + limits.shutdown + WATCHDOG_MARGIN);
    // Paused time would make a timer-based deadline meaningless; the watchdog measures wall time.
    let outcome = if flavor == Flavor::Paused {
        Ok(runtime.block_on(body))
    } else {
        runtime.block_on(async { tokio::time::timeout(limits.body, body).await })
    };
    let started = Instant::now();
    runtime.shutdown_timeout(limits.shutdown);
    let shutdown_took = started.elapsed();
    watchdog.finish();
    let output = outcome.unwrap_or_else(|_| {
        panic!(
            "test {name} did not finish within {:?}: it waited for something that never happened \
             (see its last log lines for what)",
            limits.body
        )
    });
    assert!(
        shutdown_took < limits.shutdown,
        "test {name}: tasks were still running {:?} after the test body ended; a task that never \
         yields (a retry loop without a pending await) keeps a runtime from shutting down",
        limits.shutdown
    );
    output
}

/// Beyond the body and shutdown limits, the time before the watchdog ends the process.
const WATCHDOG_MARGIN: Duration = Duration::from_secs(15);

fn build(flavor: Flavor) -> std::io::Result<tokio::runtime::Runtime> {
    match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Flavor::Paused => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build(),
        Flavor::MultiThread(workers) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .build(),
    }
}

/// libtest names each test's thread after the test.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned()
}

/// A thread that ends the process if the test has not finished by a deadline.
struct Watchdog {
    done: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(name: &str, limit: Duration) -> Self {
        let (done, finished) = mpsc::channel::<()>();
        let name = name.to_owned();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                eprintln!(
                    "test {name} is still running after {limit:?}, past its deadline, and no \
                     deadline inside it can fire (a task is spinning); ending the test process"
                );
                std::process::exit(101);
            }
        });
        Self { done }
    }

    fn finish(self) {
        let _ = self.done.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short() -> Limits {
        Limits {
            body: Duration::from_millis(300),
            shutdown: Duration::from_millis(300),
        }
    }

    #[test]
    fn returns_the_body_output() {
        assert_eq!(run(async { 7 }), 7);
        assert_eq!(run_multi(async { 8 }), 8);
    }

    #[test]
    fn paused_time_advances_without_waiting() {
        let started = Instant::now();
        run_paused(async { tokio::time::sleep(Duration::from_secs(3600)).await });
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_body_that_never_ends_fails_with_its_limit() {
        let result = std::panic::catch_unwind(|| {
            run_with(
                Flavor::MultiThread(1),
                short(),
                std::future::pending::<()>(),
            )
        });
        let message = panic_message(result.expect_err("a pending body must fail"));
        assert!(message.contains("did not finish within 300ms"), "{message}");
    }

    #[test]
    fn a_task_that_never_yields_fails_the_test_instead_of_hanging_it() {
        let result = std::panic::catch_unwind(|| {
            run_with(Flavor::MultiThread(2), short(), async {
                // A spawned task that never returns Pending: the shape of a retry loop whose
                // errors come back at once. It stops itself after a while so the test process
                // does not keep a spinning thread.
                tokio::spawn(async {
                    let until = Instant::now() + Duration::from_secs(2);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                });
                tokio::time::sleep(Duration::from_millis(50)).await;
            })
        });
        let message = panic_message(result.expect_err("a spinning task must fail the test"));
        assert!(message.contains("still running"), "{message}");
    }

    fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }
}
