//! Async transport for [`wechatpay_core`] on hyper 1: hyper-util's pooled client, HTTPS with
//! rustls (webpki roots).
//!
//! It sends exactly the request core signed and hands core the raw answer; timeouts, a body
//! cap and retries (decided by core's [`wechatpay_core::call::Call`]) come on top. A
//! [`HyperClient`] is cheap to clone and safe to share between tasks.
//!
//! ```no_run
//! use wechatpay_core::{Client, CreateAfterSalesOrder, KeyRing, MerchantCredentials, Scene};
//! use wechatpay_transport_hyper::HyperClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = MerchantCredentials::from_pem("1900000100", "3775B6A4…", &std::fs::read_to_string("apiclient_key.pem")?)?;
//! let keys = KeyRing::new().with_wechatpay_public_key_pem("PUB_KEY_ID_01…", &std::fs::read_to_string("pub_key.pem")?)?;
//! let client = HyperClient::new(Client::builder(merchant, keys).build()?)?;
//! let op = CreateAfterSalesOrder::new("1900000109", "4208450740201411110007820472", 100,
//!     Scene::RefundTicket, "50000000382019052709732678859");
//! let accepted = client.execute(&op).await?;
//! let order = client.execute(&op.query()).await?;
//! println!("{accepted:?} {:?}", order.result);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tracing::Instrument as _;
use tracing::field::Empty;
use wechatpay_core::call::{Call, Step};
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::http::{Request, Response};
use wechatpay_core::retry::{Jitter, SystemJitter};
use wechatpay_core::{Client, Error, ErrorKind, Operation};

/// The transport's limits: core's [`wechatpay_core::TransportConfig`].
pub use wechatpay_core::TransportConfig as Config;

type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Sleeper = Arc<dyn Fn(Duration) -> SleepFuture + Send + Sync>;

/// An async WeChat Pay client: core's [`Client`] plus a pooled hyper client.
#[derive(Clone)]
pub struct HyperClient {
    core: Client,
    http: PooledClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: Config,
    sleep: Sleeper,
    jitter: Arc<dyn Jitter>,
    certificates: Option<Arc<tokio::sync::Mutex<CertificateKeeper>>>,
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperClient")
            .field("core", &self.core)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HyperClient {
    /// A client with the default [`Config`].
    ///
    /// # Errors
    /// As [`HyperClient::with_config`].
    pub fn new(core: Client) -> Result<Self, Error> {
        Self::with_config(core, Config::default())
    }

    /// A client with chosen limits.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when [`Config::validate`] refuses the limits.
    pub fn with_config(core: Client, config: Config) -> Result<Self, Error> {
        config.validate()?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = PooledClient::builder(TokioExecutor::new())
            .pool_idle_timeout(config.idle_timeout)
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(64)
            .build(https);
        Ok(Self {
            core,
            http,
            config,
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            jitter: Arc::new(SystemJitter),
            certificates: None,
        })
    }

    /// Replaces `tokio::time::sleep` between attempts (tests make it instant and record it).
    #[must_use]
    pub fn with_sleeper<F>(mut self, sleep: impl Fn(Duration) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.sleep = Arc::new(move |d| Box::pin(sleep(d)));
        self
    }

    /// Replaces the backoff jitter source.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
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
    pub async fn execute<O>(&self, operation: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send,
        O::Output: Send,
    {
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
        let call = || {
            Call::with_config(
                self.core.clone(),
                operation.clone(),
                &self.config,
                Arc::clone(&self.jitter),
            )
        };
        async {
            self.ensure_certificates().await?;
            match self.drive(call(), &span).await {
                Err(e)
                    if e.kind() == ErrorKind::UnknownSerial
                        && self.refresh_for_unknown_serial().await =>
                {
                    // The answer could not be verified, but the request may have taken
                    // effect: check before sending it again.
                    self.drive(call().check_first(), &span).await
                }
                result => result,
            }
        }
        .instrument(span.clone())
        .await
    }

    /// Runs in platform-certificate mode: downloads WeChat Pay's certificates before the first
    /// call, refreshes them in the background when due (one refresh at a time, shared by all
    /// clones and tasks, callers never wait for it while certificates are held), and once more
    /// when an answer names an unknown serial (at most once per the keeper's interval).
    #[must_use]
    pub fn with_certificates(mut self, keeper: CertificateKeeper) -> Self {
        self.certificates = Some(Arc::new(tokio::sync::Mutex::new(keeper)));
        self
    }

    /// Downloads the platform certificates now (in certificate mode); returns how many are
    /// trusted afterwards.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when not in certificate mode; the download's errors.
    pub async fn refresh_certificates(&self) -> Result<usize, Error> {
        let keeper = self
            .certificates
            .as_ref()
            .ok_or_else(|| Error::config("not in certificate mode: use with_certificates"))?;
        let mut keeper = keeper.lock().await;
        self.refresh_locked(&mut keeper).await
    }

    async fn refresh_locked(&self, keeper: &mut CertificateKeeper) -> Result<usize, Error> {
        let now = self.core.clock().now_unix();
        let outcome = match keeper.prepare(&self.core) {
            Ok((request, pending)) => match self.send(request, self.config.attempt_timeout).await {
                Ok(response) => pending.finish(response),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let held = keeper.finish(self.core.keys(), now, outcome)?;
        tracing::info!(certificates = held, "platform certificates refreshed");
        Ok(held)
    }

    async fn ensure_certificates(&self) -> Result<(), Error> {
        let Some(keeper) = &self.certificates else {
            return Ok(());
        };
        let keys = self.core.keys();
        if !keys.has_platform_certificate() {
            // Nothing to verify with yet: every caller waits for the one download.
            let mut keeper = keeper.lock().await;
            if keeper.refresh_required(keys) {
                self.refresh_locked(&mut keeper).await?;
            }
            return Ok(());
        }
        // Certificates are held: refresh in the background if due and nobody else is.
        if let Ok(mut guard) = Arc::clone(keeper).try_lock_owned()
            && guard.refresh_due(keys, self.core.clock().now_unix())
        {
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.refresh_locked(&mut guard).await {
                    tracing::warn!(error = %e, "platform certificate refresh failed");
                }
            });
        }
        Ok(())
    }

    async fn refresh_for_unknown_serial(&self) -> bool {
        let Some(keeper) = &self.certificates else {
            return false;
        };
        let mut keeper = keeper.lock().await;
        if !keeper.should_refresh_for_unknown_serial(self.core.clock().now_unix()) {
            return false;
        }
        match self.refresh_locked(&mut keeper).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "platform certificate refresh failed");
                false
            }
        }
    }

    async fn drive<O>(&self, mut call: Call<O>, span: &tracing::Span) -> Result<O::Output, Error>
    where
        O: Operation + Send,
        O::Output: Send,
    {
        let started = Instant::now();
        loop {
            match call.step(started.elapsed()) {
                Step::Send { request, timeout } => {
                    span.record("attempt", call.requests_sent());
                    let outcome = self.send(request, timeout).await;
                    if let Ok(response) = &outcome {
                        record_response(span, response);
                    }
                    call.receive(outcome);
                }
                Step::Wait(wait) => {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "retrying");
                    (self.sleep)(wait).await;
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

    /// One exchange: the request exactly as signed, the raw answer back.
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        let request = request.map(|body| Full::new(Bytes::from(body)));
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                if e.is_connect() {
                    Error::transport("cannot connect to WeChat Pay", true, e)
                } else {
                    Error::transport("the connection failed during the exchange", true, e)
                        .with_fate_unknown()
                }
            })?;
            let (parts, body) = response.into_parts();
            let cap = usize::try_from(self.config.max_body).unwrap_or(usize::MAX);
            let bytes = Limited::new(body, cap).collect().await.map_err(|e| {
                let request_id = parts
                    .headers
                    .get("request-id")
                    .and_then(|v| v.to_str().ok());
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    Error::response_too_large(cap).with_response(parts.status, request_id)
                } else {
                    Error::transport("reading the answer failed", true, e)
                        .with_fate_unknown()
                        .with_response(parts.status, request_id)
                }
            })?;
            Ok(Response::from_parts(parts, bytes.to_bytes().to_vec()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::timeout(format!(
                "no complete answer from WeChat Pay within {} ms",
                timeout.as_millis()
            ))
            .with_fate_unknown()),
        }
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
