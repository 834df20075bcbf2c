//! The shared SDK configuration: loaded once per container, with a deliberate retry and timeout
//! policy.
//!
//! * Retries: the SDK's standard mode (exponential backoff with full jitter, a retry-token
//!   bucket), 3 attempts in all, backoff starting at 200 ms and capped at 2 s. Throttling,
//!   5xx responses, connection errors and timeouts are retried; other errors are not.
//! * Timeouts: 2 s to connect, 4 s per attempt, 10 s per operation (all attempts together). A
//!   remediation plus its notification therefore ends well inside the function timeout
//!   (30 s in infra/), so a stuck call becomes a reported failure, not a killed sandbox.
//!
//! * TLS: rustls with ring as its crypto provider, set here for every client
//!   ([`http_client`]), in place of the SDK's default provider, aws-lc. aws-lc made the
//!   functions' binary megabytes larger (bench/README.md, "TLS with ring"). What ring lacks is
//!   the post-quantum hybrid key exchange that aws-lc prefers; the SDK's calls still use TLS 1.3
//!   or 1.2 with ECDHE, and the certificates are checked against the system's roots as before.
//!
//! `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`) is honoured by the SDK itself: tests
//! point it at a local emulator with no code change.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub const MAX_ATTEMPTS: u32 = 3;
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The HTTPS client of every SDK client: rustls with ring (module docs). The SDK crates are
/// built without their default client, so a configuration without this one cannot send.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the SDK configuration from the environment (region, credentials, endpoint URL).
pub async fn load() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    // Shows as `app/mamoru` in the user agent CloudTrail records, for people reading the trail.
    // (Never trusted for loop prevention: anyone can set a user agent.)
    if let Ok(name) = aws_config::AppName::new("mamoru") {
        loader = loader.app_name(name);
    }
    loader.load().await
}
