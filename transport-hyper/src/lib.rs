//! Async transport for [`wechatpay_core`] on hyper 1: hyper-util's pooled client, HTTPS with
//! rustls (webpki roots).
//!
//! It only moves bytes: it sends exactly the request core's [`Call`] hands out, within the
//! timeout it names and under a body cap, sleeps when told, and hands back the raw answer.
//! Retries, the fate of each attempt, certificate downloads and tracing fields are core's. A
//! [`HyperClient`] is cheap to clone and safe to share between tasks; a certificate refresh
//! that is due while certificates are held runs in the background.
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

#![cfg_attr(docsrs, feature(doc_cfg))]

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
use wechatpay_core::call::{Call, Next};
use wechatpay_core::certificates::Refresh;
use wechatpay_core::http::{Request, Response};
use wechatpay_core::{Client, Delivery, Error, Operation};

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
        let sleep: Sleeper = Arc::new(|d| Box::pin(tokio::time::sleep(d)));
        Ok(Self {
            core,
            http,
            config,
            sleep,
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

    /// The core client that signs and verifies.
    pub fn core(&self) -> &Client {
        &self.core
    }

    /// Runs `operation` to its verified, typed answer, as core's [`Call`] decides.
    ///
    /// # Errors
    /// Core's errors: API answers, verification failures, conflicts, transport failures.
    pub async fn execute<O>(&self, operation: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send,
        O::Output: Send,
    {
        let call = Call::with_config(self.core.clone(), operation.clone(), &self.config);
        let span = call.span().clone();
        let started = Instant::now();
        let (mut next, refresh) = call.start_detached();
        if let Some(refresh) = refresh {
            let this = self.clone();
            tokio::spawn(async move { this.refresh(refresh).await }.in_current_span());
        }
        async move {
            loop {
                next = match next {
                    Next::Send(send) => {
                        let (request, timeout, awaiting) = send.into_parts();
                        awaiting.receive(self.send(request, timeout).await, started.elapsed())
                    }
                    Next::Wait(wait) => {
                        (self.sleep)(wait.duration()).await;
                        wait.resume(started.elapsed())
                    }
                    Next::Done(result) => return result,
                };
            }
        }
        .instrument(span)
        .await
    }

    /// Downloads the platform certificates now (client built with a certificate keeper);
    /// returns how many are trusted afterwards.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when not in certificate mode; the download's errors.
    pub async fn refresh_certificates(&self) -> Result<usize, Error> {
        self.refresh(self.core.refresh_certificates()?).await
    }

    async fn refresh(&self, refresh: Refresh) -> Result<usize, Error> {
        let (request, pending) = refresh.into_parts();
        pending.finish(self.send(request, self.config.attempt_timeout).await)
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
                let delivery = if e.is_connect() {
                    Delivery::NotSent
                } else {
                    Delivery::MaybeSent
                };
                Error::transport("the exchange with WeChat Pay failed", delivery, e)
            })?;
            let (parts, body) = response.into_parts();
            let cap = usize::try_from(self.config.max_body).unwrap_or(usize::MAX);
            let bytes = Limited::new(body, cap).collect().await.map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    Error::response_too_large(cap)
                } else {
                    Error::transport("reading the answer failed", Delivery::MaybeSent, e)
                }
                .with_head(parts.status, &parts.headers)
            })?;
            Ok(Response::from_parts(parts, bytes.to_bytes().to_vec()))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                let what = format!(
                    "no complete answer from WeChat Pay within {} ms",
                    timeout.as_millis()
                );
                Err(Error::attempt_timeout(what, Delivery::MaybeSent))
            })
    }
}
