//! Client configuration, from code or from the environment.

use std::time::Duration;

use crate::secret::Secret;
use crate::zone::Zone;

/// The public API root; the zone and `api/cloud/1.1` are appended to it.
pub const DEFAULT_API_ROOT_URL: &str = "https://secure.sakura.ad.jp/cloud/zone";

/// Everything a [`Client`](crate::Client) needs. Build with [`Config::new`] and adjust the public
/// fields, or read it from the environment with [`Config::from_env`].
///
/// `Debug` is safe to log: both credentials are [`Secret`]s.
#[derive(Debug, Clone)]
pub struct Config {
    /// API access token (the Basic-auth user name).
    pub access_token: Secret,
    /// API access token secret (the Basic-auth password).
    pub access_token_secret: Secret,
    /// The zone every request goes to.
    pub zone: Zone,
    /// API root URL without the zone, e.g. `https://secure.sakura.ad.jp/cloud/zone` or a
    /// simulator's `http://127.0.0.1:PORT`.
    pub api_root_url: String,
    /// Upper bound for one HTTP request, including reading the body.
    pub request_timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// Client-side request rate limit, shared by all clones of a client.
    pub rate_limit: RateLimit,
    /// `User-Agent` header. The default names this crate and its version; programs embedding it
    /// should prepend their own name (see [`Config::with_user_agent_prefix`]).
    pub user_agent: String,
    /// How many items to ask for per page when listing. Listings always return every match;
    /// this only trades request count against response size.
    pub page_size: u32,
}

/// Retries with exponential backoff and jitter. See [`crate::retry`] for what is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request may be repeated after the first attempt (0 disables retries).
    pub max_retries: u32,
    /// The first backoff; each further retry doubles it, up to `max_wait`.
    pub min_wait: Duration,
    /// The largest backoff, also the cap applied to a server's `Retry-After`.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(64),
        }
    }
}

/// A token bucket: on average `per_second` requests per second, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second. Zero or less disables the limiter.
    pub per_second: f64,
    /// How many requests may go out back to back after a quiet period.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 5.0,
            burst: 10,
        }
    }
}

impl Config {
    /// A configuration with the given credentials and zone and every default.
    pub fn new(
        access_token: impl Into<Secret>,
        access_token_secret: impl Into<Secret>,
        zone: Zone,
    ) -> Self {
        Self {
            access_token: access_token.into(),
            access_token_secret: access_token_secret.into(),
            zone,
            api_root_url: DEFAULT_API_ROOT_URL.to_owned(),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::default(),
            user_agent: default_user_agent(),
            page_size: 1000,
        }
    }

    /// Prepends `prefix` (e.g. `sakura-cloud-controller-manager/0.1.0`) to the User-Agent.
    pub fn with_user_agent_prefix(mut self, prefix: &str) -> Self {
        self.user_agent = format!("{prefix} {}", self.user_agent);
        self
    }

    /// Reads the configuration from the process environment. See [`Config::from_lookup`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    ///
    /// Variables (empty values count as unset):
    ///
    /// | variable | meaning | default |
    /// | --- | --- | --- |
    /// | `SAKURACLOUD_ACCESS_TOKEN` | access token | required |
    /// | `SAKURACLOUD_ACCESS_TOKEN_SECRET` | access token secret | required |
    /// | `SAKURACLOUD_ZONE` | zone | required |
    /// | `SAKURACLOUD_API_ROOT_URL` | API root URL | [`DEFAULT_API_ROOT_URL`] |
    /// | `SAKURACLOUD_API_REQUEST_TIMEOUT` | request timeout, seconds | 30 |
    /// | `SAKURACLOUD_API_REQUEST_RATE_LIMIT` | requests per second | 5 |
    /// | `SAKURACLOUD_API_REQUEST_RATE_BURST` | burst size | 10 |
    /// | `SAKURACLOUD_RETRY_MAX` | retries after the first attempt | 5 |
    /// | `SAKURACLOUD_RETRY_WAIT_MIN` (or the original CCM's `SAKURACLOUD_RETRY_INTERVAL_SEC`) | first backoff, seconds | 1 |
    /// | `SAKURACLOUD_RETRY_WAIT_MAX` | largest backoff, seconds | 64 |
    ///
    /// Every problem is reported at once, naming the variable; values of credentials never
    /// appear in the error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();

        let mut required = |name: &'static str| {
            let value = get(name);
            if value.is_none() {
                problems.push(format!("{name} is required but not set"));
            }
            value
        };
        let token = required("SAKURACLOUD_ACCESS_TOKEN");
        let secret = required("SAKURACLOUD_ACCESS_TOKEN_SECRET");
        let zone_raw = required("SAKURACLOUD_ZONE");

        let zone = zone_raw.and_then(|z| match z.parse::<Zone>() {
            Ok(zone) => Some(zone),
            Err(e) => {
                problems.push(format!("SAKURACLOUD_ZONE: {e}"));
                None
            }
        });

        let mut config = Config::new(
            token.unwrap_or_default(),
            secret.unwrap_or_default(),
            zone.unwrap_or(Zone::Is1a),
        );

        if let Some(url) = get("SAKURACLOUD_API_ROOT_URL") {
            match validate_root_url(&url) {
                Ok(url) => config.api_root_url = url,
                Err(e) => problems.push(format!("SAKURACLOUD_API_ROOT_URL: {e}")),
            }
        }

        let mut seconds = |name: &'static str, min: u64| -> Option<Duration> {
            let raw = get(name)?;
            match raw.trim().parse::<u64>() {
                Ok(v) if v >= min => Some(Duration::from_secs(v)),
                _ => {
                    problems.push(format!(
                        "{name}: expected a whole number of seconds >= {min}, got {raw:?}"
                    ));
                    None
                }
            }
        };
        if let Some(t) = seconds("SAKURACLOUD_API_REQUEST_TIMEOUT", 1) {
            config.request_timeout = t;
        }
        if let Some(t) = seconds("SAKURACLOUD_RETRY_INTERVAL_SEC", 0) {
            config.retry.min_wait = t;
        }
        if let Some(t) = seconds("SAKURACLOUD_RETRY_WAIT_MIN", 0) {
            config.retry.min_wait = t;
        }
        if let Some(t) = seconds("SAKURACLOUD_RETRY_WAIT_MAX", 0) {
            config.retry.max_wait = t;
        }

        let mut count = |name: &'static str| -> Option<u32> {
            let raw = get(name)?;
            match raw.trim().parse::<u32>() {
                Ok(v) => Some(v),
                Err(_) => {
                    problems.push(format!("{name}: expected a whole number, got {raw:?}"));
                    None
                }
            }
        };
        if let Some(n) = count("SAKURACLOUD_RETRY_MAX") {
            config.retry.max_retries = n;
        }
        if let Some(n) = count("SAKURACLOUD_API_REQUEST_RATE_BURST") {
            config.rate_limit.burst = n.max(1);
        }
        if let Some(raw) = get("SAKURACLOUD_API_REQUEST_RATE_LIMIT") {
            match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => config.rate_limit.per_second = v,
                _ => problems.push(format!(
                    "SAKURACLOUD_API_REQUEST_RATE_LIMIT: expected requests per second (a number >= 0), got {raw:?}"
                )),
            }
        }
        if config.retry.max_wait < config.retry.min_wait {
            problems.push(format!(
                "SAKURACLOUD_RETRY_WAIT_MAX ({}s) is smaller than SAKURACLOUD_RETRY_WAIT_MIN ({}s)",
                config.retry.max_wait.as_secs(),
                config.retry.min_wait.as_secs()
            ));
        }

        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// Checks an API root URL and strips trailing slashes.
pub(crate) fn validate_root_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "scheme must be http or https, got {}",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Credentials in the URL would end up in logs and errors.
        return Err("must not contain credentials; use the access token variables".to_owned());
    }
    if parsed.query().is_some() {
        return Err("must not have a query string".to_owned());
    }
    Ok(trimmed.to_owned())
}

/// The default `User-Agent`: this crate's name and version.
pub fn default_user_agent() -> String {
    format!("sacloud-rs/{}", env!("CARGO_PKG_VERSION"))
}

/// Every problem found in a configuration, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SAKURA Cloud configuration:\n  - {}", problems.join("\n  - "))]
pub struct ConfigError {
    /// One line per problem, each naming the variable.
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn minimal_env_gets_defaults() {
        let c = Config::from_lookup(lookup(&[
            ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
            ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "s3cr3t-value"),
            ("SAKURACLOUD_ZONE", "tk1b"),
        ]))
        .unwrap();
        assert_eq!(c.zone, Zone::Tk1b);
        assert_eq!(c.api_root_url, DEFAULT_API_ROOT_URL);
        assert_eq!(c.rate_limit, RateLimit::default());
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert!(c.user_agent.starts_with("sacloud-rs/"));
    }

    #[test]
    fn every_setting_is_read() {
        let c = Config::from_lookup(lookup(&[
            ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
            ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "sec"),
            ("SAKURACLOUD_ZONE", "is1c"),
            ("SAKURACLOUD_API_ROOT_URL", "http://127.0.0.1:8080/"),
            ("SAKURACLOUD_API_REQUEST_TIMEOUT", "9"),
            ("SAKURACLOUD_API_REQUEST_RATE_LIMIT", "2.5"),
            ("SAKURACLOUD_API_REQUEST_RATE_BURST", "3"),
            ("SAKURACLOUD_RETRY_MAX", "2"),
            ("SAKURACLOUD_RETRY_WAIT_MIN", "2"),
            ("SAKURACLOUD_RETRY_WAIT_MAX", "8"),
        ]))
        .unwrap();
        assert_eq!(c.zone, Zone::Is1c);
        assert_eq!(c.api_root_url, "http://127.0.0.1:8080");
        assert_eq!(c.request_timeout, Duration::from_secs(9));
        assert_eq!(c.rate_limit.per_second, 2.5);
        assert_eq!(c.rate_limit.burst, 3);
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.retry.min_wait, Duration::from_secs(2));
        assert_eq!(c.retry.max_wait, Duration::from_secs(8));
    }

    #[test]
    fn original_ccm_retry_interval_is_honoured() {
        let c = Config::from_lookup(lookup(&[
            ("SAKURACLOUD_ACCESS_TOKEN", "tok"),
            ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "sec"),
            ("SAKURACLOUD_ZONE", "is1a"),
            ("SAKURACLOUD_RETRY_INTERVAL_SEC", "3"),
        ]))
        .unwrap();
        assert_eq!(c.retry.min_wait, Duration::from_secs(3));
    }

    #[test]
    fn all_problems_reported_together_without_secret_values() {
        let err = Config::from_lookup(lookup(&[
            ("SAKURACLOUD_ACCESS_TOKEN_SECRET", "do-not-print-me"),
            ("SAKURACLOUD_ZONE", "mars1a"),
            ("SAKURACLOUD_API_ROOT_URL", "ftp://x"),
            ("SAKURACLOUD_API_REQUEST_TIMEOUT", "soon"),
            ("SAKURACLOUD_RETRY_MAX", "-1"),
            ("SAKURACLOUD_API_REQUEST_RATE_LIMIT", "fast"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        for needle in [
            "SAKURACLOUD_ACCESS_TOKEN is required",
            "SAKURACLOUD_ZONE",
            "mars1a",
            "is1a, is1b, is1c, tk1a, tk1b, tk1v",
            "SAKURACLOUD_API_ROOT_URL",
            "SAKURACLOUD_API_REQUEST_TIMEOUT",
            "SAKURACLOUD_RETRY_MAX",
            "SAKURACLOUD_API_REQUEST_RATE_LIMIT",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(err.problems.len(), 6, "{text}");
        assert!(!text.contains("do-not-print-me"));
    }

    #[test]
    fn root_url_with_credentials_is_refused() {
        assert!(validate_root_url("https://user:pw@example.com").is_err());
        assert_eq!(
            validate_root_url("https://secure.sakura.ad.jp/cloud/zone/").unwrap(),
            DEFAULT_API_ROOT_URL
        );
    }

    #[test]
    fn debug_redacts_credentials() {
        let c = Config::new("my-token-value", "my-secret-value", Zone::Is1a);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("my-secret-value"), "{dbg}");
        assert!(!dbg.contains("my-token-value"), "{dbg}");
    }
}
