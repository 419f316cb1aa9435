//! One API call through its attempts, as a sans-IO state machine that every transport runs.
//!
//! The machine owns every protocol decision: signing each attempt afresh, certificate
//! downloads, retries, the call's deadline, and the fate of each attempt. A transport only does
//! what each [`Next`] value says — send these bytes within this time, or sleep this long — and
//! hands the outcome to the value it got, which alone can take it: the order cannot be got
//! wrong, because each state is consumed by the step that leaves it.
//!
//! # The fate of an attempt
//!
//! | what came back | did it happen? | next step |
//! |---|---|---|
//! | verified 2xx | yes | done |
//! | 4xx other than 429, verified or not | no | stop with the error |
//! | 429 | no | wait `Retry-After` exactly (never shorter); if that passes the deadline, stop with the 429 |
//! | connect, DNS or TLS failure before the request was written | no | retry with backoff |
//! | timeout or connection loss once the request may have been written | unknown | the **check** |
//! | any 5xx (or 202), JSON or HTML | unknown | the **check**, after backoff |
//! | 2xx whose signature or body fails | unknown | the **check**, at once |
//!
//! The check ([`crate::Operation::check`], e.g. querying an after-sales order) decides:
//! a verified answer that matches the request (the same amount) is the operation's answer; one
//! that does not is [`crate::ErrorKind::Conflict`], never success; 404 `RESOURCE_NOT_EXISTS` /
//! `ORDER_NOT_EXIST` means it did not happen, and the operation is sent again at once; anything
//! else stops with the error, still of unknown fate ([`Error::is_fate_unknown`]). An operation
//! without a check is sent again after an unknown fate only if its method is safe (GET, HEAD):
//! a POST without a check is never sent blind. GETs are retried on 5xx, 429 and transport
//! failures. The check and every resend count as attempts of the [`RetryPolicy`].
//!
//! An answer signed with a serial no trusted key has, in platform-certificate mode, first
//! downloads the certificates (at most once per the keeper's gap), then goes on as above.
//!
//! ```
//! use wechatpay_core::call::{Call, Next};
//! # fn demo(client: wechatpay_core::Client, op: wechatpay_core::QueryAfterSalesOrder,
//! #         send: impl Fn(wechatpay_core::http::Request<Vec<u8>>, std::time::Duration) -> Result<wechatpay_core::http::Response<Vec<u8>>, wechatpay_core::Error>)
//! #         -> Result<wechatpay_core::AfterSalesOrder, wechatpay_core::Error> {
//! let started = std::time::Instant::now();
//! let mut next = Call::new(client, op).start();
//! loop {
//!     next = match next {
//!         Next::Send(send_step) => {
//!             let (request, timeout, awaiting) = send_step.into_parts();
//!             awaiting.receive(send(request, timeout), started.elapsed())
//!         }
//!         Next::Wait(wait) => {
//!             std::thread::sleep(wait.duration());
//!             wait.resume(started.elapsed())
//!         }
//!         Next::Done(result) => return result,
//!     }
//! }
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response};
use tracing::field::Empty;

use crate::certificates::{Lease, Plan, Refresh, RefreshPending};
use crate::operation::{Check, CheckPending, Operation};
use crate::retry::{Jitter, RetryPolicy};
use crate::{Client, Error, ErrorKind, Pending, TransportConfig};

/// How long a call that has nothing to verify with waits between looks at another call's
/// certificate download.
const DOWNLOAD_POLL: Duration = Duration::from_millis(20);

/// What the transport must do next.
#[must_use = "a step is an instruction to carry out"]
#[allow(
    clippy::large_enum_variant,
    reason = "one step per attempt, moved straight to the transport: boxing would only add an allocation"
)]
pub enum Next<O: Operation> {
    /// Send a request and report its outcome with [`Awaiting::receive`].
    Send(Send<O>),
    /// Sleep, then [`Wait::resume`].
    Wait(Wait<O>),
    /// The call is over.
    Done(Result<O::Output, Error>),
}

/// A request to send exactly as it is, within `timeout`.
#[must_use = "send the request and report the outcome"]
pub struct Send<O: Operation> {
    request: Request<Vec<u8>>,
    timeout: Duration,
    awaiting: Awaiting<O>,
}

impl<O: Operation> Send<O> {
    /// The signed request.
    pub fn request(&self) -> &Request<Vec<u8>> {
        &self.request
    }

    /// The time this attempt may take: the attempt timeout, or what is left of the deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The request, its timeout, and the one value that can take its outcome.
    pub fn into_parts(self) -> (Request<Vec<u8>>, Duration, Awaiting<O>) {
        (self.request, self.timeout, self.awaiting)
    }
}

/// A call waiting for the outcome of the request it handed out.
#[must_use = "report the outcome with receive()"]
pub struct Awaiting<O: Operation> {
    call: Call<O>,
    expect: Expect<O>,
}

impl<O: Operation> std::fmt::Debug for Awaiting<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Awaiting")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

enum Expect<O: Operation> {
    Operation(Pending<O>),
    Check(CheckPending<O::Output>),
    Certificates {
        pending: RefreshPending,
        needed: bool,
        then: Then,
    },
}

/// A call waiting out a backoff or `Retry-After`.
#[must_use = "sleep for duration(), then resume()"]
pub struct Wait<O: Operation> {
    duration: Duration,
    call: Call<O>,
    then: Then,
}

impl<O: Operation> Wait<O> {
    /// How long to sleep.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The next step, `elapsed` after the call started.
    pub fn resume(self, elapsed: Duration) -> Next<O> {
        self.call.advance(self.then, elapsed)
    }
}

/// What to send next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// Certificates first if due, then the operation.
    Start,
    Operation,
    Check,
}

/// Which request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Operation,
    Check,
}

/// A call that has not started: configure it, then [`Call::start`].
#[must_use = "start the call and drive it until Next::Done"]
pub struct Call<O: Operation> {
    client: Client,
    operation: O,
    check: Option<Check<O::Output>>,
    policy: RetryPolicy,
    jitter: Arc<dyn Jitter>,
    attempt_timeout: Duration,
    deadline: Duration,
    attempts: u32,
    last_error: Option<Error>,
    span: tracing::Span,
}

impl<O: Operation> Call<O> {
    /// A call with the default [`TransportConfig`].
    pub fn new(client: Client, operation: O) -> Self {
        Self::with_config(client, operation, &TransportConfig::default())
    }

    /// A call with the retry policy, attempt timeout and deadline of `config` (and the
    /// client's jitter).
    pub fn with_config(client: Client, operation: O, config: &TransportConfig) -> Self {
        // The path is recorded from the first signed request: no second path_and_query().
        let span = tracing::info_span!(
            "wechatpay.call",
            method = %operation.method(),
            path = Empty,
            attempt = Empty,
            status = Empty,
            request_id = Empty,
            elapsed_ms = Empty,
        );
        let check = operation.check();
        Self {
            jitter: Arc::clone(client.jitter()),
            client,
            operation,
            check,
            policy: config.retry,
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
            attempts: 0,
            last_error: None,
            span,
        }
    }

    /// The `wechatpay.call` tracing span (method, path, attempt, status, `Request-ID`,
    /// elapsed time): the transport runs the call inside it.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The first step; certificate downloads that are due come first.
    pub fn start(self) -> Next<O> {
        self.advance(Then::Start, Duration::ZERO)
    }

    /// The first step, and a certificate refresh that is due but not needed by this call (the
    /// key ring can verify without it), for the transport to run beside the call.
    pub fn start_detached(self) -> (Next<O>, Option<Refresh>) {
        let Some(certificates) = self.client.certificates() else {
            return (self.advance(Then::Operation, Duration::ZERO), None);
        };
        match certificates.plan(self.client.keys(), self.client.clock().now_unix()) {
            Plan::Download {
                lease,
                needed: false,
            } => {
                let refresh = Refresh::new(&self.client, lease).ok();
                (self.advance(Then::Operation, Duration::ZERO), refresh)
            }
            plan => (self.planned(plan, Duration::ZERO), None),
        }
    }

    fn advance(self, then: Then, elapsed: Duration) -> Next<O> {
        let Some(left) = self.deadline.checked_sub(elapsed).filter(|l| !l.is_zero()) else {
            return self.give_up("the call's overall deadline passed", elapsed);
        };
        let timeout = left.min(self.attempt_timeout);
        match then {
            Then::Start => match self.client.certificates() {
                Some(c) => {
                    let plan = c.plan(self.client.keys(), self.client.clock().now_unix());
                    self.planned(plan, elapsed)
                }
                None => self.advance(Then::Operation, elapsed),
            },
            Then::Operation => match self.client.prepare(&self.operation) {
                Ok((request, pending)) => self.send(request, timeout, Expect::Operation(pending)),
                Err(e) => self.done(Err(e), elapsed),
            },
            Then::Check => {
                let prepared = match &self.check {
                    Some(check) => check.prepare(&self.client),
                    None => Err(Error::config("the operation has no check")),
                };
                match prepared {
                    Ok((request, pending)) => self.send(request, timeout, Expect::Check(pending)),
                    Err(e) => self.done(Err(e.with_fate_unknown()), elapsed),
                }
            }
        }
    }

    fn planned(self, plan: Plan, elapsed: Duration) -> Next<O> {
        match plan {
            Plan::Ready => self.advance(Then::Operation, elapsed),
            Plan::Download { lease, needed } => {
                self.download(lease, needed, Then::Operation, elapsed)
            }
            Plan::WaitForOther => self.wait(DOWNLOAD_POLL, Then::Start, elapsed),
            Plan::Unavailable(e) => self.done(Err(e), elapsed),
        }
    }

    fn download(self, lease: Lease, needed: bool, then: Then, elapsed: Duration) -> Next<O> {
        let timeout = self
            .deadline
            .saturating_sub(elapsed)
            .min(self.attempt_timeout);
        match Refresh::new(&self.client, lease) {
            Ok(refresh) => {
                let (request, pending) = refresh.into_parts();
                let expect = Expect::Certificates {
                    pending,
                    needed,
                    then,
                };
                self.send(request, timeout, expect)
            }
            Err(e) if needed => self.done(Err(e), elapsed),
            Err(_) => self.advance(then, elapsed),
        }
    }

    fn send(mut self, request: Request<Vec<u8>>, timeout: Duration, expect: Expect<O>) -> Next<O> {
        if !matches!(expect, Expect::Certificates { .. }) {
            self.attempts += 1;
            self.span.record("attempt", self.attempts);
        }
        if self.attempts == 1 && matches!(expect, Expect::Operation(_)) {
            self.span
                .record("path", tracing::field::display(request.uri().path()));
        }
        Next::Send(Send {
            request,
            timeout,
            awaiting: Awaiting { call: self, expect },
        })
    }

    fn wait(self, duration: Duration, then: Then, elapsed: Duration) -> Next<O> {
        if elapsed.saturating_add(duration) >= self.deadline {
            return self.give_up(
                "the call's overall deadline would pass before the next attempt",
                elapsed,
            );
        }
        tracing::debug!(parent: &self.span, wait_ms = duration.as_millis() as u64, "retrying after a wait");
        Next::Wait(Wait {
            duration,
            call: self,
            then,
        })
    }

    fn done(self, result: Result<O::Output, Error>, elapsed: Duration) -> Next<O> {
        self.span.record("elapsed_ms", elapsed.as_millis() as u64);
        if let Err(e) = &result {
            tracing::warn!(parent: &self.span, error = %e, fate_unknown = e.is_fate_unknown(), "wechatpay call failed");
        }
        Next::Done(result)
    }

    /// Ends the call on its deadline with a retryable [`ErrorKind::Timeout`] that keeps the last
    /// failed attempt's status, `Request-ID` and fate, with that error as its source.
    fn give_up(mut self, what: &'static str, elapsed: Duration) -> Next<O> {
        let mut err = Error::timeout(what);
        if let Some(last) = self.last_error.take() {
            if let Some(status) = last.status() {
                err = err.with_response(status, last.request_id());
            }
            if last.is_fate_unknown() {
                err = err.with_fate_unknown();
            }
            err = err.with_source(last);
        }
        self.done(Err(err), elapsed)
    }

    fn failed(mut self, error: Error, sent: Sent, elapsed: Duration) -> Next<O> {
        let unknown_serial = error.kind() == ErrorKind::UnknownSerial;
        let safe = matches!(self.operation.method(), Method::GET | Method::HEAD);
        // What would come next if a certificate download can be had for an unknown serial.
        let after_download = match sent {
            Sent::Operation if error.is_fate_unknown() && self.check.is_some() => Some(Then::Check),
            Sent::Operation if !error.is_fate_unknown() || safe => Some(Then::Operation),
            Sent::Check => Some(Then::Check),
            Sent::Operation => None,
        };
        let then = match sent {
            Sent::Operation if error.is_fate_unknown() && self.check.is_some() => Some(Then::Check),
            Sent::Operation if error.is_fate_unknown() && !safe => None,
            Sent::Operation if error.is_retryable() => Some(Then::Operation),
            _ => None,
        };
        let error = match sent {
            Sent::Check if error.kind() != ErrorKind::Conflict => error.with_fate_unknown(),
            _ => error,
        };
        if error.kind() == ErrorKind::Conflict || self.attempts >= self.policy.max_attempts {
            return self.done(Err(error), elapsed);
        }
        if unknown_serial
            && let Some(then) = after_download
            && let Some(lease) = self
                .client
                .certificates()
                .and_then(|c| c.lease_for_unknown_serial(self.client.clock().now_unix()))
        {
            self.last_error = Some(error);
            return self.download(lease, false, then, elapsed);
        }
        let Some(then) = then else {
            return self.done(Err(error), elapsed);
        };
        let wait = if then == Then::Check && !error.is_retryable() {
            Duration::ZERO // an answer that did not verify: look now
        } else {
            self.policy.wait(self.attempts, &error, &*self.jitter)
        };
        if error.retry_after().is_some() && elapsed.saturating_add(wait) >= self.deadline {
            // WeChat Pay's wait is never shortened: stop with its answer.
            return self.done(Err(error), elapsed);
        }
        self.last_error = Some(error);
        if wait.is_zero() {
            self.advance(then, elapsed)
        } else {
            self.wait(wait, then, elapsed)
        }
    }
}

impl<O: Operation> Awaiting<O> {
    /// Reports the outcome of the request: the raw response, or the transport's error (built
    /// with [`Error::transport`] or [`Error::attempt_timeout`], saying whether it was sent).
    /// `elapsed` is the time since the call started.
    pub fn receive(self, outcome: Result<Response<Vec<u8>>, Error>, elapsed: Duration) -> Next<O> {
        let Self { mut call, expect } = self;
        if let Ok(response) = &outcome {
            call.span.record("status", response.status().as_u16());
            if let Some(id) = response
                .headers()
                .get(crate::verify::header::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
            {
                call.span.record("request_id", tracing::field::display(id));
            }
        }
        match expect {
            Expect::Operation(pending) => match outcome.and_then(|r| pending.finish(r)) {
                Ok(out) => call.done(Ok(out), elapsed),
                Err(e) => call.failed(e, Sent::Operation, elapsed),
            },
            Expect::Check(pending) => match outcome.and_then(|r| pending.finish(r)) {
                // It took effect the first time: that is the answer.
                Ok(Some(out)) => call.done(Ok(out), elapsed),
                // It did not: send the operation now, if an attempt is left.
                Ok(None) if call.attempts < call.policy.max_attempts => {
                    call.advance(Then::Operation, elapsed)
                }
                // It did not, and no attempt is left: the last error, whose fate is now known.
                Ok(None) => {
                    let e = call.last_error.take().map_or_else(
                        || Error::timeout("no attempt is left"),
                        Error::with_fate_known,
                    );
                    call.done(Err(e), elapsed)
                }
                Err(e) => call.failed(e, Sent::Check, elapsed),
            },
            Expect::Certificates {
                pending,
                needed,
                then,
            } => match pending.finish(outcome) {
                Err(e) if needed => call.done(Err(e), elapsed),
                // Held keys may still verify (a WeChat Pay public key): carry on.
                _ => call.advance(then, elapsed),
            },
        }
    }
}

impl<O: Operation> std::fmt::Debug for Call<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &std::any::type_name::<O>())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> std::fmt::Debug for Next<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(s) => f.debug_tuple("Send").field(s).finish(),
            Self::Wait(w) => f.debug_tuple("Wait").field(w).finish(),
            Self::Done(r) => f
                .debug_tuple("Done")
                .field(&r.as_ref().map(|_| "output"))
                .finish(),
        }
    }
}

impl<O: Operation> std::fmt::Debug for Send<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Send")
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> std::fmt::Debug for Wait<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}
