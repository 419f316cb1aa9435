//! `--rate`: a token bucket that holds one token and gains `per_second` tokens a second, kept
//! as the time the next token is due (virtual scheduling). Callers queue in the order they
//! reserve; nobody spins.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Requests at most `per_second` a second, at least `1 / per_second` apart.
pub(crate) struct Limiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    /// A limiter of `per_second` (> 0) requests a second.
    pub(crate) fn new(per_second: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(None),
        }
    }

    /// Waits for a token.
    pub(crate) fn take(&self) {
        #[allow(clippy::disallowed_methods, reason = "the CLI paces its own requests")]
        let now = Instant::now();
        let due = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            // The bucket holds one token: time unused before `now` is not saved up.
            let due = next.map_or(now, |n| n.max(now));
            *next = Some(due + self.interval);
            due
        };
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_one_interval_apart() {
        let limiter = Limiter::new(100.0);
        #[allow(clippy::disallowed_methods, reason = "a real-time test")]
        let started = Instant::now();
        for _ in 0..21 {
            limiter.take();
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_millis(400), "{took:?}");
    }
}
