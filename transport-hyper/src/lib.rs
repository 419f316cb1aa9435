//! Async transport for [`wechatpay_core`] on hyper 1: hyper-util's pooled client, HTTPS with
//! rustls (webpki roots).
//!
//! It is a [`driver::AsyncTransport`]: it sends exactly the request core's call machine hands
//! out, within the timeout it names and under a body cap, says which failures mean "not
//! sent", and hands back the raw answer. Retries, checks, the fate of each attempt,
//! certificate downloads and tracing are core's ([`driver::run_async`]); a certificate refresh
//! a call does not need runs in a task of its own. A [`HyperClient`] is cheap to clone and safe
//! to share between tasks.
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

mod connection;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;
use wechatpay_core::call::Call;
use wechatpay_core::certificates::Refresh;
use wechatpay_core::driver::{self, AsyncTransport};
use wechatpay_core::http::{Request, Response};
use wechatpay_core::notification::{Notification, NotificationVerifier};
use wechatpay_core::serde::de::DeserializeOwned;
use wechatpay_core::{Client, Error, Operation, TransportConfig};

type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Sleeper = Arc<dyn Fn(Duration) -> SleepFuture + Send + Sync>;

/// An async WeChat Pay client: core's [`Client`] plus a pooled hyper client.
#[derive(Clone)]
pub struct HyperClient {
    core: Client,
    http: connection::Pooled,
    config: TransportConfig,
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
    /// A client with the default [`TransportConfig`].
    ///
    /// # Errors
    /// As [`HyperClient::with_config`].
    pub fn new(core: Client) -> Result<Self, Error> {
        Self::with_config(core, TransportConfig::default())
    }

    /// A client with chosen limits.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when [`TransportConfig::validate`] refuses them.
    pub fn with_config(core: Client, config: TransportConfig) -> Result<Self, Error> {
        config.validate()?;
        let http = connection::pooled(&config)?;
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

    /// Runs `operation` to its verified, typed answer ([`driver::run_async`]).
    ///
    /// # Errors
    /// Core's errors: API answers, verification failures, conflicts, transport failures.
    pub async fn execute<O>(&self, operation: &O) -> Result<O::Output, Error>
    where
        O: Operation + Clone + Send,
        O::Output: Send,
    {
        let call = Call::with_config(self.core.clone(), operation.clone(), &self.config);
        driver::run_async(call, self).await
    }

    /// Downloads the platform certificates now (client built with a certificate keeper);
    /// returns how many are trusted afterwards.
    ///
    /// # Errors
    /// As [`driver::refresh_certificates`].
    pub async fn refresh_certificates(&self) -> Result<usize, Error> {
        driver::refresh_certificates_async(&self.core, self, &self.config).await
    }

    /// Verifies a webhook notification; when its serial is new and the client is in
    /// certificate mode, downloads the certificates and verifies again.
    ///
    /// # Errors
    /// As [`driver::verify_notification_async`].
    pub async fn verify_notification<T: DeserializeOwned, B: AsRef<[u8]> + Sync>(
        &self,
        verifier: &NotificationVerifier,
        request: &Request<B>,
    ) -> Result<Notification<T>, Error> {
        driver::verify_notification_async(verifier, request, &self.core, self, &self.config).await
    }
}

impl AsyncTransport for HyperClient {
    /// One exchange: the request exactly as signed, the raw answer back.
    async fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        connection::exchange(&self.http, request, timeout, self.config.max_body).await
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        (self.sleep)(duration)
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// Runs the refresh in a task of its own: the call does not wait for it.
    fn detach(&self, refresh: Refresh) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        let task = async move {
            // The refresh records its own failure; calls go on with the keys held.
            let _ = driver::refresh_async(refresh, &this).await;
        };
        tokio::spawn(task.in_current_span());
        std::future::ready(())
    }
}
