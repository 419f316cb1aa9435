//! One API call through its attempts, as a sans-IO state machine that every transport runs:
//! the transport only sends requests, sleeps and reports what happened.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};

use crate::operation::{Operation, RecoveryPending};
use crate::retry::{Decision, Jitter, RetryPolicy, SystemJitter};
use crate::{Client, Error, Pending, TransportConfig};

/// What the transport must do next for a [`Call`].
#[derive(Debug)]
#[must_use = "a step is an instruction to carry out"]
#[allow(
    clippy::large_enum_variant,
    reason = "one step per attempt, moved straight to the transport: boxing would only add an allocation"
)]
pub enum Step {
    /// Send this request (exactly as it is), giving up on it after `timeout`, and report with
    /// [`Call::receive`].
    Send {
        /// The signed request.
        request: Request<Vec<u8>>,
        /// The time this attempt may take: the per-attempt timeout, or what is left of the
        /// call's deadline if that is less.
        timeout: Duration,
    },
    /// Sleep this long, then ask for the next step.
    Wait(Duration),
    /// Finished: take the result with [`Call::into_result`].
    Done,
}

enum State<O: Operation> {
    Ready,
    Main(Pending<O>),
    Probe(RecoveryPending<O::Output>),
    Waiting(Duration),
    Done(Result<O::Output, Error>),
    Taken,
}

/// A call in progress: attempts, retries, the call's deadline and, for an operation that must
/// not run twice, the check that comes before sending it again after an attempt of unknown fate.
///
/// The transport reports how long the call has been running at each [`Call::step`] (core reads
/// no clock), and the call ends with a [`crate::ErrorKind::Timeout`] when a send or a wait would
/// pass the deadline.
///
/// ```
/// use wechatpay_core::call::{Call, Step};
/// # fn demo(client: wechatpay_core::Client, op: wechatpay_core::QueryAfterSalesOrder,
/// #         send: impl Fn(wechatpay_core::http::Request<Vec<u8>>) -> Result<wechatpay_core::http::Response<Vec<u8>>, wechatpay_core::Error>)
/// #         -> Result<wechatpay_core::AfterSalesOrder, wechatpay_core::Error> {
/// let mut call = Call::new(client, op);
/// let started = std::time::Instant::now();
/// loop {
///     match call.step(started.elapsed()) {
///         Step::Send { request, timeout: _ } => call.receive(send(request)),
///         Step::Wait(d) => std::thread::sleep(d),
///         Step::Done => break,
///     }
/// }
/// call.into_result()
/// # }
/// ```
#[must_use = "drive the call with step() until Done"]
pub struct Call<O: Operation> {
    client: Client,
    operation: O,
    policy: RetryPolicy,
    jitter: Arc<dyn Jitter>,
    attempt_timeout: Duration,
    deadline: Duration,
    failures: u32,
    sends: u32,
    probe_next: bool,
    last_error: Option<Error>,
    state: State<O>,
}

impl<O: Operation> Call<O> {
    /// A call with the default [`TransportConfig`] and system jitter.
    pub fn new(client: Client, operation: O) -> Self {
        Self::with_config(
            client,
            operation,
            &TransportConfig::default(),
            Arc::new(SystemJitter),
        )
    }

    /// A call with the retry policy, attempt timeout and deadline of `config`, and a jitter
    /// source.
    pub fn with_config(
        client: Client,
        operation: O,
        config: &TransportConfig,
        jitter: Arc<dyn Jitter>,
    ) -> Self {
        Self {
            client,
            operation,
            policy: config.retry,
            jitter,
            attempt_timeout: config.attempt_timeout,
            deadline: config.deadline,
            failures: 0,
            sends: 0,
            probe_next: false,
            last_error: None,
            state: State::Ready,
        }
    }

    /// Starts with the operation's recovery check, when it has one: for running an operation
    /// again after an answer that could not be verified (it may have taken effect).
    pub fn check_first(mut self) -> Self {
        self.probe_next = self.operation.recovery().is_some();
        self
    }

    /// The next thing to do, `elapsed` after the call started.
    pub fn step(&mut self, elapsed: Duration) -> Step {
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Ready => match self.deadline.checked_sub(elapsed) {
                Some(left) if !left.is_zero() => self.send_next(left.min(self.attempt_timeout)),
                _ => self.give_up_now("the call's overall deadline passed"),
            },
            State::Waiting(d) => {
                if elapsed.saturating_add(d) >= self.deadline {
                    return self.give_up_now(
                        "the call's overall deadline would pass before the next attempt",
                    );
                }
                self.state = State::Ready;
                Step::Wait(d)
            }
            s @ State::Done(_) => {
                self.state = s;
                Step::Done
            }
            s @ (State::Main(_) | State::Probe(_)) => {
                // Asked for a step while a response is due: the transport lost it.
                self.state = s;
                self.receive(Err(Error::transport(
                    "the transport asked for the next step without reporting the response",
                    false,
                    std::io::Error::other("protocol misuse"),
                )));
                self.step(elapsed)
            }
            State::Taken => Step::Done,
        }
    }

    fn give_up_now(&mut self, what: &'static str) -> Step {
        let err = self.timeout_error(what);
        self.finish(Err(err))
    }

    fn send_next(&mut self, timeout: Duration) -> Step {
        self.sends += 1;
        if self.probe_next
            && let Some(recovery) = self.operation.recovery()
        {
            match recovery.prepare(&self.client) {
                Ok((request, pending)) => {
                    self.state = State::Probe(pending);
                    return Step::Send { request, timeout };
                }
                Err(e) => return self.finish(Err(e)),
            }
        }
        match self.client.prepare(&self.operation) {
            Ok((request, pending)) => {
                self.state = State::Main(pending);
                Step::Send { request, timeout }
            }
            Err(e) => self.finish(Err(e)),
        }
    }

    fn finish(&mut self, result: Result<O::Output, Error>) -> Step {
        self.state = State::Done(result);
        Step::Done
    }

    /// Reports the outcome of the last [`Step::Send`]: the raw response, or the transport's error.
    pub fn receive(&mut self, outcome: Result<Response<Vec<u8>>, Error>) {
        let state = std::mem::replace(&mut self.state, State::Taken);
        match state {
            State::Main(pending) => match outcome.and_then(|r| pending.finish(r)) {
                Ok(out) => self.state = State::Done(Ok(out)),
                Err(e) => self.failed(e),
            },
            State::Probe(pending) => match outcome.and_then(|r| pending.finish(r)) {
                // It took effect the first time: that is the answer.
                Ok(Some(out)) => self.state = State::Done(Ok(out)),
                // It did not: send the operation itself now, without waiting.
                Ok(None) => {
                    self.probe_next = false;
                    self.state = State::Ready;
                }
                Err(e) => self.failed(e),
            },
            other => self.state = other,
        }
    }

    fn failed(&mut self, error: Error) {
        self.failures += 1;
        match self.policy.decide(self.failures, &error, &*self.jitter) {
            Decision::Stop => self.state = State::Done(Err(error)),
            Decision::RetryAfter(d) => {
                if error.is_fate_unknown() && self.operation.recovery().is_some() {
                    self.probe_next = true;
                }
                self.last_error = Some(error);
                self.state = State::Waiting(d);
            }
        }
    }

    /// A retryable [`crate::ErrorKind::Timeout`] for the deadline that keeps the last failed
    /// attempt's status and `Request-ID`, with that error as its source.
    fn timeout_error(&mut self, what: &'static str) -> Error {
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
        err
    }

    /// How many requests have been handed out so far.
    pub fn requests_sent(&self) -> u32 {
        self.sends
    }

    /// The result, once [`Call::step`] said [`Step::Done`].
    ///
    /// # Errors
    /// The call's final error; or [`crate::ErrorKind::Transport`] if the call is not finished.
    pub fn into_result(self) -> Result<O::Output, Error> {
        match self.state {
            State::Done(result) => result,
            _ => Err(Error::transport(
                "the call was not driven to completion",
                false,
                std::io::Error::other("unfinished call"),
            )),
        }
    }
}

impl<O: Operation> std::fmt::Debug for Call<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &std::any::type_name::<O>())
            .field("failures", &self.failures)
            .field("requests_sent", &self.sends)
            .finish_non_exhaustive()
    }
}
