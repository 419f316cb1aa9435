//! When to try again: a pure policy, shared by every transport.

use std::fmt;
use std::time::Duration;

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

/// How many attempts a call may make, and the exponential backoff with jitter between them.
///
/// Whether an attempt is followed by another at all is the fate table's
/// ([`crate::call::fate::decide`]): it retries what can help — connection failures, timeouts,
/// 5xx, 429 and 202, for a non-idempotent operation through its check — and nothing else
/// (never another 4xx, never a forged answer blind). A `Retry-After` on the answer is honoured
/// as given, never shortened: `max_delay` caps only the SDK's own backoff, and a call whose
/// deadline comes first stops with the 429.
///
/// ```
/// use std::time::Duration;
/// use wechatpay_core::retry::{NoJitter, RetryPolicy};
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.backoff(1, &NoJitter), Duration::from_millis(100));
/// assert_eq!(policy.backoff(2, &NoJitter), Duration::from_millis(200));
/// assert_eq!(policy.backoff(9, &NoJitter), Duration::from_millis(2500)); // capped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times the operation may be sent in all, the first time included (1 = never
    /// again).
    pub max_attempts: u32,
    /// How many checks may follow attempts of unknown fate, in all (see [`crate::call`]). Checks
    /// are counted apart from `max_attempts`: a check never uses up a resend.
    pub max_checks: u32,
    /// The first backoff step; each further step doubles it.
    pub base_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 5 checks, 200 ms first step, 5 s cap.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_checks: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One request: never sent again, never checked (an attempt of unknown fate ends the call).
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            max_checks: 0,
            ..Self::default()
        }
    }

    /// The backoff after the `attempt`-th send or check (1-based): `step / 2 + jitter(step / 2)`,
    /// with `step = base_delay * 2^(attempt - 1)` capped at `max_delay`.
    pub fn backoff(&self, attempt: u32, jitter: &dyn Jitter) -> Duration {
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
            max_checks: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
        };
        let waits: Vec<_> = (1..6).map(|a| p.backoff(a, &Full)).collect();
        assert_eq!(waits, [1, 2, 4, 4, 4].map(Duration::from_secs));
        assert_eq!(p.backoff(u32::MAX, &Full), Duration::from_secs(4));
    }

    #[test]
    fn system_jitter_stays_in_range() {
        for _ in 0..100 {
            assert!(SystemJitter.sample(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
    }
}
