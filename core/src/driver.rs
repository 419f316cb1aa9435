//! The drivers that run a [`Call`] to its end over any transport: [`run`] for a blocking one,
//! [`run_async`] for an async one on any runtime. A transport is only its [`Transport`] or
//! [`AsyncTransport`]: send bytes within a timeout and say which failures mean "not sent",
//! sleep, and tell the time. Everything else — retries, checks, certificate downloads,
//! deadlines, tracing — is the call machine's, the same for every transport.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use wechatpay_core::driver::{self, Transport};
//! use wechatpay_core::http::{Request, Response};
//! use wechatpay_core::call::Call;
//! use wechatpay_core::{Error, Fate, Generic};
//!
//! /// A transport that cannot reach anything.
//! struct Offline;
//! impl Transport for Offline {
//!     fn send(&self, _: Request<Vec<u8>>, _: Duration) -> Result<Response<Vec<u8>>, Error> {
//!         Err(Error::transport("offline", Fate::NotSent, std::io::Error::other("no network")))
//!     }
//!     fn sleep(&self, _: Duration) {} // a test needs no real waits
//!     fn now(&self) -> Instant { Instant::now() }
//! }
//!
//! # let client = wechatpay_core::Client::builder(
//! #     wechatpay_core::MerchantCredentials::from_pem("1900000100", "3775B6A45ACD588826D15E583A95F5DD00000001",
//! #         &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/merchant_private_key.pem")).unwrap())?,
//! #     wechatpay_core::KeyRing::new().with_wechatpay_public_key_pem("PUB_KEY_ID_0119000001002026112400000000000001",
//! #         &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wechatpay_public_key.pem")).unwrap())?,
//! # ).build()?;
//! let op: Generic = Generic::get("/v3/certificates");
//! let err = driver::run(Call::new(client, op), &Offline).unwrap_err();
//! assert!(err.is_retryable() && !err.is_fate_unknown()); // sent 3 times, never delivered
//! # Ok::<(), Error>(())
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::call::Call;
use crate::call::{DOWNLOAD_POLL, Next};
use crate::certificates::Refresh;
use crate::notification::{Notification, NotificationVerifier};
use crate::{Client, Error, Operation, TransportConfig};

/// A blocking transport: what [`run`] needs.
pub trait Transport {
    /// Sends `request` exactly as it is (never altering its URI or body) and returns the raw
    /// answer, all within `timeout`. A failure below HTTP is an [`Error::transport`] or
    /// [`Error::attempt_timeout`] saying whether the request may have been written
    /// ([`crate::Fate`]).
    ///
    /// # Errors
    /// Transport failures and timeouts.
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error>;

    /// Sleeps (a test may record the duration instead).
    fn sleep(&self, duration: Duration);

    /// A monotonic now (`Instant::now()`; a test may run a virtual clock).
    fn now(&self) -> Instant;
}

/// An async transport: what [`run_async`] needs.
pub trait AsyncTransport: Sync + Sized {
    /// As [`Transport::send`].
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, Error>> + Send;

    /// Sleeps on the runtime's timer.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;

    /// A monotonic now.
    fn now(&self) -> Instant;

    /// Runs a certificate refresh the call does not wait for ([`Next::Detach`]). The default
    /// runs it before the call goes on; a runtime that can spawn should run
    /// [`refresh_async`] in a task of its own and return at once.
    fn detach(&self, refresh: Refresh) -> impl Future<Output = ()> + Send {
        async move {
            // The refresh records its own failure; the call goes on with the keys it holds.
            let _ = refresh_async(refresh, self).await;
        }
    }
}

fn since(started: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(started)
}

/// Runs `call` to its end on a blocking transport, inside the call's tracing span. A
/// certificate refresh the call does not need runs first.
///
/// # Errors
/// The call's error: see [`crate::call`].
pub fn run<O: Operation>(call: Call<O>, transport: &impl Transport) -> Result<O::Output, Error> {
    let _entered = call.span().clone().entered();
    let started = transport.now();
    let mut next = call.start();
    loop {
        next = match next {
            Next::Send(outgoing) => {
                let (request, timeout, awaiting) = outgoing.into_parts();
                let outcome = transport.send(request, timeout);
                awaiting.receive(outcome, since(started, transport.now()))
            }
            Next::Wait(wait) => {
                transport.sleep(wait.duration());
                wait.resume(since(started, transport.now()))
            }
            Next::Detach(detach) => {
                let (refresh, resume) = detach.into_parts();
                // The refresh records its own failure; the call goes on with the keys it holds.
                let _ = refresh_blocking(refresh, transport);
                resume.resume(since(started, transport.now()))
            }
            Next::Done(result) => return result,
        };
    }
}

/// Runs `call` to its end on an async transport, inside the call's tracing span. A certificate
/// refresh the call does not need goes to [`AsyncTransport::detach`].
///
/// # Errors
/// The call's error: see [`crate::call`].
pub async fn run_async<O>(
    call: Call<O>,
    transport: &impl AsyncTransport,
) -> Result<O::Output, Error>
where
    O: Operation + Send,
    O::Output: Send,
{
    let span = call.span().clone();
    async move {
        let started = transport.now();
        let mut next = call.start();
        loop {
            next = match next {
                Next::Send(outgoing) => {
                    let (request, timeout, awaiting) = outgoing.into_parts();
                    let outcome = transport.send(request, timeout).await;
                    awaiting.receive(outcome, since(started, transport.now()))
                }
                Next::Wait(wait) => {
                    transport.sleep(wait.duration()).await;
                    wait.resume(since(started, transport.now()))
                }
                Next::Detach(detach) => {
                    let (refresh, resume) = detach.into_parts();
                    transport.detach(refresh).await;
                    resume.resume(since(started, transport.now()))
                }
                Next::Done(result) => return result,
            };
        }
    }
    .instrument(span)
    .await
}

/// Runs one certificate download on a blocking transport; returns how many certificates are
/// trusted afterwards.
///
/// # Errors
/// The transport's error, or [`crate::certificates::RefreshPending::finish`]'s.
pub fn refresh_blocking(refresh: Refresh, transport: &impl Transport) -> Result<usize, Error> {
    let (request, timeout, pending) = refresh.into_parts();
    pending.finish(transport.send(request, timeout))
}

/// Runs one certificate download on an async transport; returns how many certificates are
/// trusted afterwards.
///
/// # Errors
/// The transport's error, or [`crate::certificates::RefreshPending::finish`]'s.
pub async fn refresh_async(
    refresh: Refresh,
    transport: &impl AsyncTransport,
) -> Result<usize, Error> {
    let (request, timeout, pending) = refresh.into_parts();
    pending.finish(transport.send(request, timeout).await)
}

/// Downloads the platform certificates now, whatever the schedule, on a blocking transport:
/// waits (within `config`'s deadline) for a download of another call to end first, since a
/// client runs one at a time. Returns how many certificates are trusted afterwards.
///
/// # Errors
/// [`crate::ErrorKind::Config`] when the client is not in certificate mode;
/// [`crate::ErrorKind::Timeout`] when another download outlasts the deadline; the download's
/// errors.
pub fn refresh_certificates(
    client: &Client,
    transport: &impl Transport,
    config: &TransportConfig,
) -> Result<usize, Error> {
    let started = transport.now();
    loop {
        let left = config
            .deadline
            .saturating_sub(since(started, transport.now()));
        match client.refresh_certificates(config.attempt_timeout.min(left))? {
            Some(refresh) => return refresh_blocking(refresh, transport),
            None => transport.sleep(poll(config, since(started, transport.now()))?),
        }
    }
}

/// [`refresh_certificates`] on an async transport.
///
/// # Errors
/// As [`refresh_certificates`].
pub async fn refresh_certificates_async(
    client: &Client,
    transport: &impl AsyncTransport,
    config: &TransportConfig,
) -> Result<usize, Error> {
    let started = transport.now();
    loop {
        let left = config
            .deadline
            .saturating_sub(since(started, transport.now()));
        match client.refresh_certificates(config.attempt_timeout.min(left))? {
            Some(refresh) => return refresh_async(refresh, transport).await,
            None => {
                let wait = poll(config, since(started, transport.now()))?;
                transport.sleep(wait).await;
            }
        }
    }
}

/// The wait before looking again at another call's download, unless the deadline has come.
fn poll(config: &TransportConfig, elapsed: Duration) -> Result<Duration, Error> {
    if elapsed.saturating_add(DOWNLOAD_POLL) >= config.deadline {
        return Err(Error::timeout(
            "another certificate download did not end within the deadline",
        ));
    }
    Ok(DOWNLOAD_POLL)
}

/// Verifies a notification ([`NotificationVerifier::verify`]); when its serial is unknown and
/// `client` is in certificate mode (WeChat Pay rotated its certificate), downloads the platform
/// certificates on a blocking transport and verifies once more — at most once per the keeper's
/// `min_gap` (60 s by default), whatever the notifications name.
///
/// # Errors
/// As [`NotificationVerifier::verify`], or the download's errors.
pub fn verify_notification<T: DeserializeOwned, B: AsRef<[u8]>>(
    verifier: &NotificationVerifier,
    request: &Request<B>,
    client: &Client,
    transport: &impl Transport,
    config: &TransportConfig,
) -> Result<Notification<T>, Error> {
    match verifier.verify(request) {
        Err(e) => match unknown_serial_refresh(&e, client, config) {
            Some(refresh) => {
                refresh_blocking(refresh, transport)?;
                verifier.verify(request)
            }
            None => Err(e),
        },
        ok => ok,
    }
}

/// [`verify_notification`] on an async transport.
///
/// # Errors
/// As [`verify_notification`].
pub async fn verify_notification_async<T: DeserializeOwned, B: AsRef<[u8]>>(
    verifier: &NotificationVerifier,
    request: &Request<B>,
    client: &Client,
    transport: &impl AsyncTransport,
    config: &TransportConfig,
) -> Result<Notification<T>, Error> {
    match verifier.verify(request) {
        Err(e) => match unknown_serial_refresh(&e, client, config) {
            Some(refresh) => {
                refresh_async(refresh, transport).await?;
                verifier.verify(request)
            }
            None => Err(e),
        },
        ok => ok,
    }
}

/// The download an unknown serial calls for, if `client` is in certificate mode and its keeper
/// allows one now: at most one per `min_gap`, so notifications with made-up serials cannot
/// make the service call WeChat Pay once each.
fn unknown_serial_refresh(
    error: &Error,
    client: &Client,
    config: &TransportConfig,
) -> Option<Refresh> {
    if error.kind() != crate::ErrorKind::UnknownSerial {
        return None;
    }
    let lease = client
        .certificates()?
        .lease_for_unknown_serial(client.clock().now_unix())?;
    Refresh::new(client, lease, config.attempt_timeout).ok()
}
