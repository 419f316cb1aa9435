//! Timeouts, limits and retries shared by the transports (plain data: core still does no IO).

use std::time::Duration;

use crate::Error;
use crate::retry::RetryPolicy;

/// Limits a transport applies around core's calls. The defaults suit WeChat Pay's production
/// hosts.
///
/// ```
/// use std::time::Duration;
/// let config = wechatpay_core::TransportConfig {
///     attempt_timeout: Duration::from_secs(5),
///     ..Default::default()
/// };
/// assert_eq!(config.max_body, 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
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

impl Default for TransportConfig {
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

impl TransportConfig {
    /// Checks that every limit is usable.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] for a zero timeout, deadline or body cap, or a retry policy
    /// with no attempt.
    pub fn validate(&self) -> Result<(), Error> {
        if self.connect_timeout.is_zero()
            || self.attempt_timeout.is_zero()
            || self.deadline.is_zero()
            || self.max_body == 0
        {
            return Err(Error::config(
                "timeouts, the deadline and the body cap must be greater than zero",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config(
                "the retry policy must allow at least one attempt",
            ));
        }
        Ok(())
    }
}
