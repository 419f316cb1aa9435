//! Timeouts, limits and retries of the blocking transport.

use std::time::Duration;

use wechatpay_core::retry::RetryPolicy;

/// Limits for [`crate::BlockingClient`]. The defaults suit WeChat Pay's production hosts.
///
/// ```
/// use std::time::Duration;
/// let config = wechatpay_transport_blocking::Config {
///     attempt_timeout: Duration::from_secs(5),
///     ..Default::default()
/// };
/// assert_eq!(config.max_body, 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Connection setup (DNS, TCP, TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// One attempt, from sending to the last body byte. Default 10 s.
    pub attempt_timeout: Duration,
    /// The whole call, retries and waits included. Default 30 s.
    pub deadline: Duration,
    /// Pooled connections idle longer than this are dropped. Default 5 s (WeChat Pay closes
    /// idle connections at about 8 s).
    pub idle_timeout: Duration,
    /// The largest response body accepted. Default 1 MiB.
    pub max_body: u64,
    /// When to retry.
    pub retry: RetryPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(5),
            max_body: 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}
