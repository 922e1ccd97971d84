//! SAKURA Cloud API failures as provider errors: one rule for every caller (the instances, the
//! load balancers, the shared listings).

use std::time::Duration;

use cloud_provider::provider::ProviderError;

/// A failed API call as the controllers should read it: busy with a `Retry-After` → ask again
/// then; anything else → a plain error. Never "not found": only a definitive answer is that.
pub fn map_api_error(
    status: Option<u16>,
    retry_after: Option<Duration>,
    message: impl Into<String>,
) -> ProviderError {
    match (status, retry_after) {
        (Some(429 | 503), Some(after)) => ProviderError::retry_after(after, message),
        _ => ProviderError::other(message),
    }
}

/// A failed API call, with what was being done. The message (an Event's note) leaves out the
/// API's per-request serial, so that repeated failures count up one Event series instead of
/// starting a new one each time; the serial is logged here, for support requests.
pub fn api_error(what: &str, err: &sacloud::Error) -> ProviderError {
    if let Some(serial) = err.serial() {
        tracing::warn!(serial, error = %err.summary(), "{what}");
    }
    map_api_error(
        err.status(),
        err.retry_after(),
        format!("{what}: {}", err.summary()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_provider::provider::ProviderErrorKind;

    #[test]
    fn api_errors_are_never_not_found() {
        let after = Some(Duration::from_secs(3));
        for (status, retry_after, kind) in [
            (
                Some(429),
                after,
                ProviderErrorKind::RetryAfter(Duration::from_secs(3)),
            ),
            (
                Some(503),
                after,
                ProviderErrorKind::RetryAfter(Duration::from_secs(3)),
            ),
            (Some(503), None, ProviderErrorKind::Other),
            (Some(500), after, ProviderErrorKind::Other),
            (Some(404), None, ProviderErrorKind::Other),
            (None, None, ProviderErrorKind::Other),
        ] {
            assert_eq!(
                map_api_error(status, retry_after, "x").kind,
                kind,
                "{status:?} {retry_after:?}"
            );
        }
    }
}
