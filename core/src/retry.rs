//! When to try again: a pure policy, shared by every transport.

use std::fmt;
use std::time::Duration;

use crate::Error;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Give up and return the error.
    Stop,
    /// Wait this long, then try again (signed afresh).
    RetryAfter(Duration),
}

/// Randomness for backoff, injected so that tests are deterministic.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// A duration between zero and `max`, inclusive.
    fn sample(&self, max: Duration) -> Duration;
}

/// Jitter from the operating system's random generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemJitter;

impl Jitter for SystemJitter {
    fn sample(&self, max: Duration) -> Duration {
        let mut b = [0u8; 4];
        if getrandom::fill(&mut b).is_err() {
            return max / 2;
        }
        let fraction = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
        max.mul_f64(fraction)
    }
}

/// No jitter at all: backoff is exactly half the exponential step (for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn sample(&self, _max: Duration) -> Duration {
        Duration::ZERO
    }
}

/// Exponential backoff with jitter over retryable errors.
///
/// Retries what [`Error::is_retryable`] says can help — connection failures, timeouts, 5xx, 429
/// and 202 — and nothing else (never another 4xx or a verification failure). A `Retry-After` on
/// the answer is honoured as given, never shortened: `max_delay` caps only the SDK's own
/// backoff, and a call whose deadline comes first stops with the 429 (see [`crate::call`]).
///
/// ```
/// use std::time::Duration;
/// use wechatpay_core::{Error, http::StatusCode};
/// use wechatpay_core::retry::{Decision, NoJitter, RetryPolicy};
///
/// let policy = RetryPolicy::default();
/// let e500 = Error::api(StatusCode::INTERNAL_SERVER_ERROR, b"{}", None);
/// assert_eq!(policy.decide(1, &e500, &NoJitter), Decision::RetryAfter(Duration::from_millis(100)));
/// assert_eq!(policy.decide(2, &e500, &NoJitter), Decision::RetryAfter(Duration::from_millis(200)));
/// assert_eq!(policy.decide(3, &e500, &NoJitter), Decision::Stop);
/// let e400 = Error::api(StatusCode::BAD_REQUEST, b"{}", None);
/// assert_eq!(policy.decide(1, &e400, &NoJitter), Decision::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts in all (1 = never retry).
    pub max_attempts: u32,
    /// The first backoff step; each further step doubles it.
    pub base_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms first step, 5 s cap.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`.
    ///
    /// The wait is [`RetryPolicy::wait`].
    pub fn decide(&self, attempt: u32, error: &Error, jitter: &dyn Jitter) -> Decision {
        if attempt >= self.max_attempts || !error.is_retryable() {
            return Decision::Stop;
        }
        Decision::RetryAfter(self.wait(attempt, error, jitter))
    }

    /// How long to wait after attempt number `attempt` (1-based) failed with `error`: the
    /// answer's `Retry-After` exactly; otherwise `step / 2 + jitter(step / 2)`, with
    /// `step = base_delay * 2^(attempt - 1)` capped at `max_delay`.
    pub fn wait(&self, attempt: u32, error: &Error, jitter: &dyn Jitter) -> Duration {
        if let Some(wait) = error.retry_after() {
            return wait;
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let step = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let half = step / 2;
        half + jitter.sample(half).min(half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[derive(Debug)]
    struct Full;
    impl Jitter for Full {
        fn sample(&self, max: Duration) -> Duration {
            max
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
        };
        let e = Error::timeout("t");
        let waits: Vec<_> = (1..6).map(|a| p.decide(a, &e, &Full)).collect();
        assert_eq!(
            waits,
            [1, 2, 4, 4, 4].map(|s| Decision::RetryAfter(Duration::from_secs(s)))
        );
        assert_eq!(p.decide(10, &e, &Full), Decision::Stop);
    }

    #[test]
    fn retry_after_is_honoured_and_never_shortened() {
        let p = RetryPolicy::default();
        let e = Error::api(StatusCode::TOO_MANY_REQUESTS, b"{}", None)
            .with_retry_after(Duration::from_secs(2));
        assert_eq!(
            p.decide(1, &e, &NoJitter),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        let e = e.with_retry_after(Duration::from_secs(600));
        assert_eq!(
            p.decide(1, &e, &NoJitter),
            Decision::RetryAfter(Duration::from_secs(600))
        );
    }

    #[test]
    fn verification_failures_and_4xx_never_retry() {
        let p = RetryPolicy::default();
        for status in [400, 401, 403, 404] {
            let e = Error::api(StatusCode::from_u16(status).expect("status"), b"{}", None);
            assert_eq!(p.decide(1, &e, &NoJitter), Decision::Stop, "{status}");
        }
        let e = Error::of_kind(crate::ErrorKind::SignatureMismatch, "x");
        assert_eq!(p.decide(1, &e, &NoJitter), Decision::Stop);
    }

    #[test]
    fn system_jitter_stays_in_range() {
        for _ in 0..100 {
            assert!(SystemJitter.sample(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
    }
}
