//! One API call through its attempts, as a sans-IO state machine.
//!
//! The machine owns every protocol decision: signing each attempt afresh, certificate
//! downloads, retries, checks, the call's deadline, and the fate of each attempt. Whoever
//! runs it only does what each [`Next`] value says — send these bytes within this time, sleep
//! this long, run this certificate refresh beside the call — and hands the outcome to the
//! value it got, which alone can take it: each state is consumed by the step that leaves it.
//! The drivers in [`crate::driver`] run it for any blocking or async transport.
//!
//! What follows each attempt is [`fate::decide`], the one fate table (its docs show it whole):
//! in short, an attempt whose fate is unknown (a timeout or lost connection after writing, a
//! 5xx, an unverifiable 2xx) is followed by the operation's [`Check`] when it has one, sent
//! again when it is safe to repeat ([`Repeat::Resend`]), and otherwise ends the call with
//! [`Error::is_fate_unknown`]. A check persists through its own transient failures (transport,
//! timeout, 5xx, 429, an unverifiable answer) with backoff.
//!
//! # Attempts
//!
//! The operation is sent at most [`RetryPolicy::max_attempts`] times in all (the first send
//! included) and checked at most [`RetryPolicy::max_checks`] times: the two are counted apart,
//! so checks never use up the operation's resends. Both stop at the call's deadline; a
//! certificate download is no attempt.
//!
//! ```
//! use wechatpay_core::call::{Call, Next};
//! # fn demo(client: wechatpay_core::Client, op: wechatpay_core::QueryAfterSalesOrder,
//! #         send: impl Fn(wechatpay_core::http::Request<Vec<u8>>, std::time::Duration) -> Result<wechatpay_core::http::Response<Vec<u8>>, wechatpay_core::Error>)
//! #         -> Result<wechatpay_core::AfterSalesOrder, wechatpay_core::Error> {
//! // What `wechatpay_core::driver::run` does, by hand.
//! let started = std::time::Instant::now();
//! let mut next = Call::new(client, op).start();
//! loop {
//!     next = match next {
//!         Next::Send(outgoing) => {
//!             let (request, timeout, awaiting) = outgoing.into_parts();
//!             awaiting.receive(send(request, timeout), started.elapsed())
//!         }
//!         Next::Wait(wait) => {
//!             std::thread::sleep(wait.duration());
//!             wait.resume(started.elapsed())
//!         }
//!         Next::Detach(detach) => {
//!             let (refresh, resume) = detach.into_parts();
//!             let (request, timeout, pending) = refresh.into_parts();
//!             let _ = pending.finish(send(request, timeout));
//!             resume.resume(started.elapsed())
//!         }
//!         Next::Done(result) => return result,
//!         _ => unreachable!("no other step in this version"),
//!     }
//! }
//! # }
//! ```

pub mod fate;

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use tracing::field::Empty;

use self::fate::{Action, Budget, Outcome, Sent, Stop, decide};
use crate::certificates::{Lease, Plan, Refresh, RefreshPending};
use crate::operation::{Check, CheckPending, Operation, Repeat};
use crate::retry::{Jitter, RetryPolicy};
use crate::{Client, Error, ErrorKind, Pending, TransportConfig};

/// How long a call that has nothing to verify with waits between looks at another call's
/// certificate download.
pub(crate) const DOWNLOAD_POLL: Duration = Duration::from_millis(20);

/// What the driver must do next.
#[must_use = "a step is an instruction to carry out"]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "one step per attempt, moved straight to the driver: boxing would only add an allocation"
)]
pub enum Next<O: Operation> {
    /// Send a request and report its outcome with [`Awaiting::receive`].
    Send(Outgoing<O>),
    /// Sleep, then [`Wait::resume`].
    Wait(Wait<O>),
    /// A certificate refresh is due but this call does not need it: run it beside the call (or
    /// first), and go on with the call.
    Detach(Detach<O>),
    /// The call is over.
    Done(Result<O::Output, Error>),
}

/// A request to send exactly as it is, within `timeout`.
#[must_use = "send the request and report the outcome"]
pub struct Outgoing<O: Operation> {
    request: Request<Vec<u8>>,
    timeout: Duration,
    awaiting: Awaiting<O>,
}

impl<O: Operation> Outgoing<O> {
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

enum Expect<O: Operation> {
    Operation(Pending<O>),
    Check(CheckPending<O::Output>, Check<O::Output>),
    Certificates {
        pending: RefreshPending,
        needed: bool,
        then: Then<O::Output>,
    },
}

/// A call waiting out a backoff or `Retry-After`.
#[must_use = "sleep for duration(), then resume()"]
pub struct Wait<O: Operation> {
    duration: Duration,
    call: Call<O>,
    then: Then<O::Output>,
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

/// A certificate refresh to run beside the call (or first), and the call to go on with.
#[must_use = "run the refresh and resume the call"]
pub struct Detach<O: Operation> {
    refresh: Refresh,
    call: Call<O>,
}

impl<O: Operation> Detach<O> {
    /// The refresh to run (its outcome goes to its own [`RefreshPending::finish`]; its timeout
    /// is within the call's deadline), and the call, to resume once the refresh is under way
    /// or done.
    pub fn into_parts(self) -> (Refresh, Resume<O>) {
        (self.refresh, Resume { call: self.call })
    }
}

/// A call to go on with after its [`Detach`].
#[must_use = "resume the call"]
pub struct Resume<O: Operation> {
    call: Call<O>,
}

impl<O: Operation> Resume<O> {
    /// The call's next step, `elapsed` after it started.
    pub fn resume(self, elapsed: Duration) -> Next<O> {
        self.call.advance(Then::Operation, elapsed)
    }
}

/// What to send next. A check is sent only from the value that carries it.
enum Then<T> {
    /// Certificates first if due, then the operation.
    Start,
    Operation,
    Check(Check<T>),
}

/// A call that has not started: configure it, then [`Call::start`].
#[must_use = "start the call and drive it until Next::Done"]
pub struct Call<O: Operation> {
    client: Client,
    operation: O,
    repeat: Repeat<Check<O::Output>>,
    policy: RetryPolicy,
    jitter: Arc<dyn Jitter>,
    attempt_timeout: Duration,
    deadline: Duration,
    sends: u32,
    checks: u32,
    /// The last failed attempt's error (operation or check): the source of a deadline's error.
    last_error: Option<Error>,
    /// The operation's last error: the call's error when a check finds it never happened.
    operation_error: Option<Error>,
    /// Whether an attempt of the operation may have taken effect and no check has said it did
    /// not: any error the call ends with then leaves the fate unknown.
    unresolved: bool,
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
        let repeat = operation.repeat();
        Self {
            jitter: Arc::clone(client.jitter()),
            client,
            operation,
            repeat,
            policy: config.retry,
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
            sends: 0,
            checks: 0,
            last_error: None,
            operation_error: None,
            unresolved: false,
            span,
        }
    }

    /// The `wechatpay.call` tracing span (method, path, attempt, status, `Request-ID`,
    /// elapsed time): the driver runs the call inside it.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The first step. A certificate download the call needs (nothing held can verify) comes
    /// first; one that is due but not needed is handed out as [`Next::Detach`].
    pub fn start(self) -> Next<O> {
        self.advance(Then::Start, Duration::ZERO)
    }

    fn advance(self, then: Then<O::Output>, elapsed: Duration) -> Next<O> {
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
                Err(e) => {
                    let unresolved = self.unresolved;
                    self.done(Err(e.with_fate(unresolved)), elapsed)
                }
            },
            Then::Check(check) => match check.prepare(&self.client) {
                Ok((request, pending)) => {
                    self.send(request, timeout, Expect::Check(pending, check))
                }
                Err(e) => self.done(Err(e.with_fate_unknown()), elapsed),
            },
        }
    }

    fn planned(self, plan: Plan, elapsed: Duration) -> Next<O> {
        match plan {
            Plan::Ready => self.advance(Then::Operation, elapsed),
            Plan::Download {
                lease,
                needed: false,
            } => match Refresh::new(&self.client, lease, self.time_for_one(elapsed)) {
                Ok(refresh) => Next::Detach(Detach {
                    refresh,
                    call: self,
                }),
                Err(_) => self.advance(Then::Operation, elapsed),
            },
            Plan::Download { lease, needed } => {
                self.download(lease, needed, Then::Operation, elapsed)
            }
            Plan::WaitForOther => self.wait(DOWNLOAD_POLL, Then::Start, elapsed),
            // Nothing was sent: the operation did not happen.
            Plan::Unavailable(e) => self.done(Err(e.with_fate(false)), elapsed),
        }
    }

    /// The time one request may take: the attempt timeout, or what is left of the deadline.
    fn time_for_one(&self, elapsed: Duration) -> Duration {
        self.deadline
            .saturating_sub(elapsed)
            .min(self.attempt_timeout)
    }

    fn download(
        self,
        lease: Lease,
        needed: bool,
        then: Then<O::Output>,
        elapsed: Duration,
    ) -> Next<O> {
        match Refresh::new(&self.client, lease, self.time_for_one(elapsed)) {
            Ok(refresh) => {
                let (request, timeout, pending) = refresh.into_parts();
                let expect = Expect::Certificates {
                    pending,
                    needed,
                    then,
                };
                self.send(request, timeout, expect)
            }
            Err(e) if needed => {
                let unresolved = self.unresolved;
                self.done(Err(e.with_fate(unresolved)), elapsed)
            }
            Err(_) => self.advance(then, elapsed),
        }
    }

    fn send(mut self, request: Request<Vec<u8>>, timeout: Duration, expect: Expect<O>) -> Next<O> {
        match expect {
            Expect::Operation(_) => self.sends += 1,
            Expect::Check(..) => self.checks += 1,
            Expect::Certificates { .. } => {}
        }
        self.span.record("attempt", self.sends + self.checks);
        if self.sends == 1 && self.checks == 0 && matches!(expect, Expect::Operation(_)) {
            self.span
                .record("path", tracing::field::display(request.uri().path()));
        }
        Next::Send(Outgoing {
            request,
            timeout,
            awaiting: Awaiting { call: self, expect },
        })
    }

    fn wait(self, duration: Duration, then: Then<O::Output>, elapsed: Duration) -> Next<O> {
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
    /// failed attempt's status and `Request-ID`, with that error as its source; its fate is
    /// the call's (unknown while an attempt may have taken effect unchecked).
    fn give_up(mut self, what: &'static str, elapsed: Duration) -> Next<O> {
        let mut err = Error::timeout(what).with_fate(self.unresolved);
        if let Some(last) = self.last_error.take() {
            if let Some(status) = last.status() {
                err = err.with_response(status, last.request_id());
            }
            err = err.with_source(last);
        }
        self.done(Err(err), elapsed)
    }

    /// What is left after a failed attempt.
    fn budget(&self, elapsed: Duration) -> Budget {
        Budget {
            sends_left: self.policy.max_attempts.saturating_sub(self.sends),
            checks_left: self.policy.max_checks.saturating_sub(self.checks),
            time_left: self.deadline.saturating_sub(elapsed),
            send_backoff: self.policy.backoff(self.sends, &*self.jitter),
            check_backoff: self.policy.backoff(self.checks + 1, &*self.jitter),
            earlier_unknown: self.unresolved,
        }
    }

    /// A failed attempt: the fate table decides what follows. An answer signed with an unknown
    /// serial first downloads the certificates when the keeper allows one now.
    fn failed(mut self, sent: Sent<Check<O::Output>>, error: Error, elapsed: Duration) -> Next<O> {
        let lease = (error.kind() == ErrorKind::UnknownSerial)
            .then(|| self.client.certificates())
            .flatten()
            .and_then(|c| c.lease_for_unknown_serial(self.client.clock().now_unix()));
        let outcome = match lease {
            Some(_) => Outcome::UnknownSerial,
            None => Outcome::of(&error),
        };
        let operation = matches!(sent, Sent::Operation(_));
        if operation {
            self.operation_error = Some(error.summary());
        }
        let action = decide(sent, outcome, &self.budget(elapsed));
        if operation && outcome.is_fate_unknown() {
            self.unresolved = true;
        }
        let then = match action {
            Action::Send { wait } => (Then::Operation, wait),
            Action::Check { check, wait } => (Then::Check(check), wait),
            Action::Stop { why, fate_unknown } => {
                let error = error.with_fate(fate_unknown);
                return match why {
                    Stop::Deadline => {
                        self.last_error = Some(error);
                        self.give_up(
                            "the call's overall deadline would pass before the next attempt",
                            elapsed,
                        )
                    }
                    _ => self.done(Err(error), elapsed),
                };
            }
            // An error is never a verified answer.
            Action::Finish => return self.done(Err(error), elapsed),
        };
        self.last_error = Some(error);
        self.proceed(then, lease, elapsed)
    }

    /// The check found nothing: the operation did not happen.
    fn not_found(mut self, check: Check<O::Output>, elapsed: Duration) -> Next<O> {
        self.unresolved = false;
        match decide(Sent::Check(check), Outcome::NotFound, &self.budget(elapsed)) {
            Action::Send { wait } => self.proceed((Then::Operation, wait), None, elapsed),
            _ => {
                let error = self.operation_error.take().map_or_else(
                    || Error::timeout("no attempt is left"),
                    |e| e.with_fate(false),
                );
                self.done(Err(error), elapsed)
            }
        }
    }

    fn proceed(
        self,
        (then, wait): (Then<O::Output>, Duration),
        lease: Option<Lease>,
        elapsed: Duration,
    ) -> Next<O> {
        match lease {
            Some(lease) => self.download(lease, false, then, elapsed),
            None if wait.is_zero() => self.advance(then, elapsed),
            None => self.wait(wait, then, elapsed),
        }
    }
}

impl<O: Operation> Awaiting<O> {
    /// Reports the outcome of the request: the raw response, or the transport's error (built
    /// with [`Error::transport`] or [`Error::attempt_timeout`], saying whether it was sent).
    /// `elapsed` is the time since the call started.
    pub fn receive(self, outcome: Result<Response<Vec<u8>>, Error>, elapsed: Duration) -> Next<O> {
        let Self { call, expect } = self;
        let outcome = outcome.map_err(Error::with_transport_default);
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
                Err(e) => {
                    let repeat = call.repeat.clone();
                    call.failed(Sent::Operation(repeat), e, elapsed)
                }
            },
            Expect::Check(pending, check) => match outcome.and_then(|r| pending.finish(r)) {
                // It took effect the first time: that is the answer.
                Ok(Some(out)) => call.done(Ok(out), elapsed),
                Ok(None) => call.not_found(check, elapsed),
                Err(e) => call.failed(Sent::Check(check), e, elapsed),
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
            .field("sends", &self.sends)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> std::fmt::Debug for Next<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(s) => f.debug_tuple("Send").field(s).finish(),
            Self::Wait(w) => f.debug_tuple("Wait").field(w).finish(),
            Self::Detach(d) => f.debug_tuple("Detach").field(d).finish(),
            Self::Done(r) => f
                .debug_tuple("Done")
                .field(&r.as_ref().map(|_| "output"))
                .finish(),
        }
    }
}

impl<O: Operation> std::fmt::Debug for Outgoing<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> std::fmt::Debug for Awaiting<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Awaiting")
            .field("call", &self.call)
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

impl<O: Operation> std::fmt::Debug for Resume<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resume")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl<O: Operation> std::fmt::Debug for Detach<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detach")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}
