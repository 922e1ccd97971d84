//! The Kubernetes client the controllers share: configured from `--kubeconfig`/`--master` (or
//! in-cluster), and limited to `--kube-api-qps`/`--kube-api-burst` like client-go's token
//! bucket, so a large cluster's start-up does not flood the API server.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower::{Layer, Service};

/// Why no Kubernetes client could be built.
#[derive(Debug, thiserror::Error)]
pub enum KubeClientError {
    /// The kubeconfig file could not be read or used.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file given with `--kubeconfig`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Neither in-cluster configuration nor a default kubeconfig was found.
    #[error(
        "no Kubernetes configuration: not running in a cluster and no kubeconfig found ({0}); pass --kubeconfig"
    )]
    Infer(String),
    /// `--master` is not a URL.
    #[error("--master {0:?} is not a valid URL")]
    Master(String),
    /// The client could not be built (e.g. TLS set-up).
    #[error("building the Kubernetes client: {0}")]
    Build(String),
}

/// Builds the client: `kubeconfig` if given, else in-cluster, else the default kubeconfig;
/// `master` overrides the server URL; requests are limited to `qps` with bursts of `burst`.
pub async fn build_client(
    kubeconfig: Option<&Path>,
    master: Option<&str>,
    qps: f32,
    burst: u32,
) -> Result<kube::Client, KubeClientError> {
    let mut config = match kubeconfig {
        Some(path) => {
            let shown = path.display().to_string();
            let file = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                KubeClientError::Kubeconfig {
                    path: shown.clone(),
                    message: e.to_string(),
                }
            })?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| KubeClientError::Kubeconfig {
                    path: shown,
                    message: e.to_string(),
                })?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| KubeClientError::Infer(e.to_string()))?,
    };
    if let Some(master) = master.filter(|m| !m.is_empty()) {
        config.cluster_url = master
            .parse()
            .map_err(|_| KubeClientError::Master(master.to_owned()))?;
    }
    client_from_config(config, qps, burst)
}

/// A rate-limited client from an explicit configuration.
pub fn client_from_config(
    config: kube::Config,
    qps: f32,
    burst: u32,
) -> Result<kube::Client, KubeClientError> {
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| KubeClientError::Build(e.to_string()))?;
    Ok(builder.with_layer(&RateLimitLayer::new(qps, burst)).build())
}

/// A token bucket that hands out reservations: a request may always reserve, and is told how
/// long to wait before it may go (the debt is paid back at `rate` per second).
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `qps` per second. `qps <= 0` means no
    /// limit.
    pub fn new(qps: f32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: f64::from(qps),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes one token at `now`; returns how long the caller must wait before using it.
    pub fn reserve(&self, now: Instant) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *st;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let available = (tokens + elapsed * self.rate).min(self.burst) - 1.0;
        *st = (available, now.max(last));
        if available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-available / self.rate)
        }
    }
}

/// A tower layer limiting requests with a shared [`TokenBucket`].
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<TokenBucket>,
}

impl RateLimitLayer {
    /// A layer allowing `qps` requests per second with bursts of `burst`.
    pub fn new(qps: f32, burst: u32) -> Self {
        Self {
            bucket: Arc::new(TokenBucket::new(qps, burst)),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            bucket: self.bucket.clone(),
            wait: None,
            permitted: false,
        }
    }
}

/// The service made by [`RateLimitLayer`]: not ready until a token is available. kube's
/// client drives it from one buffer worker, so the wait applies to all requests in order.
pub struct RateLimited<S> {
    inner: S,
    bucket: Arc<TokenBucket>,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
    permitted: bool,
}

impl<S, Req> Service<Req> for RateLimited<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.permitted {
            if self.wait.is_none() {
                let delay = self.bucket.reserve(Instant::now());
                if !delay.is_zero() {
                    self.wait = Some(Box::pin(tokio::time::sleep(delay)));
                }
            }
            if let Some(wait) = self.wait.as_mut() {
                if wait.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.wait = None;
            }
            self.permitted = true;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        self.permitted = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces_at_the_rate() {
        let bucket = TokenBucket::new(20.0, 30);
        let t0 = Instant::now();
        for _ in 0..30 {
            assert_eq!(bucket.reserve(t0), Duration::ZERO);
        }
        // The 31st waits one token's time (50 ms), the 32nd two.
        assert_eq!(bucket.reserve(t0), Duration::from_millis(50));
        assert_eq!(bucket.reserve(t0), Duration::from_millis(100));
        // A second later 20 tokens came back, paying the debt of 2 first.
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..18 {
            assert_eq!(bucket.reserve(t1), Duration::ZERO);
        }
        assert!(bucket.reserve(t1) > Duration::ZERO);
    }

    #[test]
    fn a_long_idle_refills_only_up_to_the_burst() {
        let bucket = TokenBucket::new(1.0, 2);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::from_secs(1));
    }

    #[test]
    fn zero_qps_means_unlimited() {
        let bucket = TokenBucket::new(0.0, 1);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(bucket.reserve(t0), Duration::ZERO);
        }
    }

    #[test]
    fn the_layer_delays_requests_beyond_the_burst() {
        test_runtime::run_paused(async {
            use tower::ServiceExt;
            let layer = RateLimitLayer::new(10.0, 2);
            let mut svc = layer.layer(tower::service_fn(|x: u32| async move {
                Ok::<_, std::convert::Infallible>(x)
            }));
            let start = Instant::now();
            for i in 0..4 {
                let out = svc.ready().await.unwrap().call(i).await.unwrap();
                assert_eq!(out, i);
            }
            // Two free, then 100 ms each.
            assert_eq!(Instant::now() - start, Duration::from_millis(200));
        })
    }
}
