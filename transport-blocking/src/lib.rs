//! Blocking transport for [`wechatpay_core`] on a ureq 3 agent.
//!
//! It sends exactly the request core signed and hands core the raw answer; timeouts, a body
//! cap and retries (decided by core's [`wechatpay_core::call::Call`]) come on top.
//!
//! ```no_run
//! use wechatpay_core::{Client, CreateAfterSalesOrder, KeyRing, MerchantCredentials, Scene};
//! use wechatpay_transport_blocking::BlockingClient;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = MerchantCredentials::from_pem("1900000100", "3775B6A4…", &std::fs::read_to_string("apiclient_key.pem")?)?;
//! let keys = KeyRing::new().with_wechatpay_public_key_pem("PUB_KEY_ID_01…", &std::fs::read_to_string("pub_key.pem")?)?;
//! let client = BlockingClient::new(Client::builder(merchant, keys).build()?)?;
//! let op = CreateAfterSalesOrder::new("1900000109", "4208450740201411110007820472", 100,
//!     Scene::RefundTicket, "50000000382019052709732678859");
//! let accepted = client.execute(&op)?;
//! let order = client.execute(&op.query())?;
//! println!("{accepted:?} {:?}", order.result);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::Empty;
use wechatpay_core::call::{Call, Step};
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::http::{Request, Response};
use wechatpay_core::retry::{Jitter, SystemJitter};
use wechatpay_core::{Client, Error, ErrorKind, Operation};

/// The transport's limits: core's [`wechatpay_core::TransportConfig`].
pub use wechatpay_core::TransportConfig as Config;

type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;
type Observer = Arc<dyn Fn(Exchange<'_>) + Send + Sync>;

/// One side of an HTTP exchange, shown to an observer (see [`BlockingClient::with_observer`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Exchange<'a> {
    /// About to be sent, exactly as signed.
    Request(&'a Request<Vec<u8>>),
    /// Received, before verification.
    Response(&'a Response<Vec<u8>>),
}

/// A blocking WeChat Pay client: core's [`Client`] plus a pooled ureq agent.
///
/// Cheap to clone (the pool is shared); safe to use from many threads.
#[derive(Clone)]
pub struct BlockingClient {
    core: Client,
    agent: ureq::Agent,
    config: Config,
    sleep: Sleeper,
    jitter: Arc<dyn Jitter>,
    observer: Option<Observer>,
    certificates: Option<Arc<Mutex<CertificateKeeper>>>,
}

impl std::fmt::Debug for BlockingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingClient")
            .field("core", &self.core)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl BlockingClient {
    /// A client with the default [`Config`].
    ///
    /// # Errors
    /// As [`BlockingClient::with_config`].
    pub fn new(core: Client) -> Result<Self, Error> {
        Self::with_config(core, Config::default())
    }

    /// A client with chosen limits.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when [`Config::validate`] refuses the limits.
    pub fn with_config(core: Client, config: Config) -> Result<Self, Error> {
        config.validate()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // WeChat Pay's error code is in the body of 4xx/5xx answers: keep them.
            .http_status_as_error(false)
            // A redirect would change the signed URI: never follow one.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.attempt_timeout))
            .max_idle_age(config.idle_timeout)
            .max_idle_connections_per_host(32)
            .build()
            .into();
        Ok(Self {
            core,
            agent,
            config,
            sleep: Arc::new(std::thread::sleep),
            jitter: Arc::new(SystemJitter),
            observer: None,
            certificates: None,
        })
    }

    /// Replaces `std::thread::sleep` between attempts (tests make it instant and record it).
    #[must_use]
    pub fn with_sleeper(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Arc::new(sleep);
        self
    }

    /// Replaces the backoff jitter source.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Shows every request and raw response to `observe` (for a verbose log). The request
    /// carries the `Authorization` header: redact it with
    /// [`wechatpay_core::signing::redact_authorization`] before printing.
    #[must_use]
    pub fn with_observer(mut self, observe: impl Fn(Exchange<'_>) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observe));
        self
    }

    /// The core client that signs and verifies.
    pub fn core(&self) -> &Client {
        &self.core
    }

    /// Runs `operation` to its verified, typed answer, retrying as core's policy decides.
    ///
    /// # Errors
    /// Core's errors: API answers, verification failures, transport failures
    /// ([`wechatpay_core::ErrorKind::Transport`], [`wechatpay_core::ErrorKind::Timeout`],
    /// [`wechatpay_core::ErrorKind::ResponseTooLarge`]).
    pub fn execute<O: Operation + Clone>(&self, operation: &O) -> Result<O::Output, Error> {
        let path = operation.path_and_query().unwrap_or_default();
        let span = tracing::info_span!(
            "wechatpay.call",
            method = %O::METHOD,
            path = %path.split('?').next().unwrap_or(""),
            attempt = Empty,
            status = Empty,
            request_id = Empty,
            elapsed_ms = Empty,
        );
        let _entered = span.enter();
        self.ensure_certificates()?;
        let call = || {
            Call::with_config(
                self.core.clone(),
                operation.clone(),
                &self.config,
                Arc::clone(&self.jitter),
            )
        };
        match self.drive(call(), &span) {
            Err(e) if e.kind() == ErrorKind::UnknownSerial && self.refresh_for_unknown_serial() => {
                // The answer could not be verified, but the request may have taken effect:
                // check before sending it again.
                self.drive(call().check_first(), &span)
            }
            result => result,
        }
    }

    fn drive<O: Operation>(
        &self,
        mut call: Call<O>,
        span: &tracing::Span,
    ) -> Result<O::Output, Error> {
        let started = Instant::now();
        loop {
            match call.step(started.elapsed()) {
                Step::Send { request, timeout } => {
                    span.record("attempt", call.requests_sent());
                    if let Some(observe) = &self.observer {
                        observe(Exchange::Request(&request));
                    }
                    let outcome = self.send(request, timeout);
                    if let (Some(observe), Ok(response)) = (&self.observer, &outcome) {
                        observe(Exchange::Response(response));
                    }
                    if let Ok(response) = &outcome {
                        record_response(span, response);
                    }
                    call.receive(outcome);
                }
                Step::Wait(wait) => {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "retrying");
                    (self.sleep)(wait);
                }
                Step::Done => break,
            }
        }
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        let result = call.into_result();
        if let Err(e) = &result {
            tracing::warn!(error = %e, "wechatpay call failed");
        }
        result
    }

    /// Runs in platform-certificate mode: downloads WeChat Pay's certificates when due (on
    /// demand, before a call), and once more when an answer names an unknown serial (at most
    /// once per the keeper's interval).
    #[must_use]
    pub fn with_certificates(mut self, keeper: CertificateKeeper) -> Self {
        self.certificates = Some(Arc::new(Mutex::new(keeper)));
        self
    }

    /// Downloads the platform certificates now (in certificate mode); returns how many are
    /// trusted afterwards.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when not in certificate mode; the download's errors.
    pub fn refresh_certificates(&self) -> Result<usize, Error> {
        let keeper = self
            .certificates
            .as_ref()
            .ok_or_else(|| Error::config("not in certificate mode: use with_certificates"))?;
        let mut keeper = keeper.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh_locked(&mut keeper)
    }

    fn refresh_locked(&self, keeper: &mut CertificateKeeper) -> Result<usize, Error> {
        let now = self.core.clock().now_unix();
        let outcome = keeper.prepare(&self.core).and_then(|(request, pending)| {
            let response = self.send(request, self.config.attempt_timeout)?;
            pending.finish(response)
        });
        let held = keeper.finish(self.core.keys(), now, outcome)?;
        tracing::info!(certificates = held, "platform certificates refreshed");
        Ok(held)
    }

    fn ensure_certificates(&self) -> Result<(), Error> {
        let Some(keeper) = &self.certificates else {
            return Ok(());
        };
        let mut keeper = keeper.lock().unwrap_or_else(PoisonError::into_inner);
        let keys = self.core.keys();
        if !keeper.refresh_due(keys, self.core.clock().now_unix()) {
            return Ok(());
        }
        match self.refresh_locked(&mut keeper) {
            Ok(_) => Ok(()),
            // Certificates still held: carry on with them, the refresh is retried later.
            Err(e) if !keeper.refresh_required(keys) => {
                tracing::warn!(error = %e, "platform certificate refresh failed");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn refresh_for_unknown_serial(&self) -> bool {
        let Some(keeper) = &self.certificates else {
            return false;
        };
        let mut keeper = keeper.lock().unwrap_or_else(PoisonError::into_inner);
        if !keeper.should_refresh_for_unknown_serial(self.core.clock().now_unix()) {
            return false;
        }
        match self.refresh_locked(&mut keeper) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "platform certificate refresh failed");
                false
            }
        }
    }

    /// One exchange: the request exactly as signed, the raw answer back.
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        let response = self.agent.run(request).map_err(map_error)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(self.config.max_body)
            .read_to_vec()
            .map_err(|e| {
                let request_id = parts
                    .headers
                    .get("request-id")
                    .and_then(|v| v.to_str().ok());
                match e {
                    ureq::Error::BodyExceedsLimit(_) => Error::response_too_large(
                        usize::try_from(self.config.max_body).unwrap_or(usize::MAX),
                    )
                    .with_response(parts.status, request_id),
                    other => map_error(other).with_response(parts.status, request_id),
                }
            })?;
        Ok(Response::from_parts(parts, bytes))
    }
}

/// A ureq failure as core's error: retryable or not, and whether the request may have been
/// processed already.
fn map_error(e: ureq::Error) -> Error {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => {
            Error::timeout("connecting to WeChat Pay timed out").with_source(e)
        }
        ureq::Error::Timeout(_) => Error::timeout("the attempt timed out waiting for WeChat Pay")
            .with_fate_unknown()
            .with_source(e),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            Error::transport("cannot connect to WeChat Pay", true, e)
        }
        ureq::Error::Io(_) => {
            Error::transport("the connection failed during the exchange", true, e)
                .with_fate_unknown()
        }
        ureq::Error::Tls(_) => Error::transport("TLS with WeChat Pay failed", false, e),
        other => Error::transport("the HTTP exchange failed", false, other),
    }
}

/// Records an answer's status and `Request-ID` on the call's span.
fn record_response(span: &tracing::Span, response: &Response<Vec<u8>>) {
    span.record("status", response.status().as_u16());
    if let Some(id) = response
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
    {
        span.record("request_id", tracing::field::display(id));
    }
}
