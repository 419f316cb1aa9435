//! Time and randomness, injected: the core never reads the clock or draws random numbers on
//! its own, so every request it builds can be reproduced byte for byte.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::{Error, ErrorKind};

/// A source of the current time, in Unix seconds.
///
/// [`SystemClock`] is the default; [`FixedClock`] serves tests (and a mock server that must run
/// ahead of or behind its clients).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The operating system's wall clock. The only place in this crate that reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that reads the wall clock"
    )]
    fn now_unix(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock that says what it is told: for tests and reproducible requests.
///
/// ```
/// use wechatpay_core::{Clock, FixedClock};
/// let clock = FixedClock::new(1_554_208_460);
/// clock.advance(5);
/// assert_eq!(clock.now_unix(), 1_554_208_465);
/// ```
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `unix_seconds`.
    pub fn new(unix_seconds: i64) -> Self {
        Self(AtomicI64::new(unix_seconds))
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: i64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time by `seconds` (negative goes back).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_unix(&self) -> i64 {
        (**self).now_unix()
    }
}

/// A source of request nonces: 32 ASCII letters and digits each.
pub trait NonceSource: Send + Sync + fmt::Debug {
    /// A fresh nonce.
    ///
    /// # Errors
    /// When no randomness is available.
    fn nonce(&self) -> Result<String, Error>;
}

/// Nonces from the operating system's random number generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNonce;

/// The length of a nonce, as WeChat Pay's SDKs send it.
pub const NONCE_LEN: usize = 32;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random bytes from the operating system, drawn a page at a time per thread: a nonce is
/// public (it travels in the `Authorization` header), so holding the next ones in memory costs
/// nothing, and it saves a system call per request.
const POOL_LEN: usize = 4096;

thread_local! {
    static POOL: std::cell::RefCell<(usize, Box<[u8; POOL_LEN]>)> =
        std::cell::RefCell::new((POOL_LEN, Box::new([0; POOL_LEN])));
}

fn random_byte() -> Result<u8, Error> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (next, bytes) = &mut *pool;
        if *next >= POOL_LEN {
            getrandom::fill(&mut bytes[..]).map_err(|e| {
                Error::of_kind(ErrorKind::Config, "the system random generator failed")
                    .with_source(std::io::Error::other(e.to_string()))
            })?;
            *next = 0;
        }
        let b = bytes[*next];
        *next += 1;
        Ok(b)
    })
}

impl NonceSource for SystemNonce {
    fn nonce(&self) -> Result<String, Error> {
        let mut out = String::with_capacity(NONCE_LEN);
        // Rejection sampling: bytes >= 248 (= 4 * 62) would bias the alphabet.
        while out.len() < NONCE_LEN {
            let b = random_byte()?;
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
        Ok(out)
    }
}

/// Always the same nonce: for tests and known-answer vectors only.
#[derive(Debug, Clone)]
pub struct FixedNonce(String);

impl FixedNonce {
    /// A source that always answers `nonce`.
    pub fn new(nonce: impl Into<String>) -> Self {
        Self(nonce.into())
    }
}

impl NonceSource for FixedNonce {
    fn nonce(&self) -> Result<String, Error> {
        Ok(self.0.clone())
    }
}

impl<N: NonceSource + ?Sized> NonceSource for Arc<N> {
    fn nonce(&self) -> Result<String, Error> {
        (**self).nonce()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_nonces_are_32_alphanumerics_and_differ() {
        let a = SystemNonce.nonce().expect("nonce");
        let b = SystemNonce.nonce().expect("nonce");
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now_unix() > 1_704_067_200);
    }
}
