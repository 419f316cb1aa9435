//! Blocking transport for [`wechatpay_core`] on a ureq 3 agent.
//!
//! It is a [`driver::Transport`]: it sends exactly the request core's call machine hands out,
//! within the timeout it names and under a body cap, says which failures mean "not sent", and
//! hands back the raw answer. Retries, checks, the fate of each attempt, certificate downloads
//! and tracing are core's ([`driver::run`]).
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

#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod observe;

pub use observe::Exchange;
use observe::Observer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wechatpay_core::call::Call;
use wechatpay_core::driver::{self, Transport};
use wechatpay_core::http::{Request, Response};
use wechatpay_core::notification::{Notification, NotificationVerifier};
use wechatpay_core::serde::de::DeserializeOwned;
use wechatpay_core::{Client, Error, Operation, TransportConfig};

type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// A blocking WeChat Pay client: core's [`Client`] plus a pooled ureq agent.
///
/// Cheap to clone (the pool is shared); safe to use from many threads.
#[derive(Clone)]
pub struct BlockingClient {
    core: Client,
    agent: ureq::Agent,
    config: TransportConfig,
    sleep: Sleeper,
    observer: Option<Observer>,
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
    /// A client with the default [`TransportConfig`].
    ///
    /// # Errors
    /// As [`BlockingClient::with_config`].
    pub fn new(core: Client) -> Result<Self, Error> {
        Self::with_config(core, TransportConfig::default())
    }

    /// A client with chosen limits.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when [`TransportConfig::validate`] refuses them.
    pub fn with_config(core: Client, config: TransportConfig) -> Result<Self, Error> {
        config.validate()?;
        let agent = connection::agent(&config)?;
        let sleep = Arc::new(std::thread::sleep);
        Ok(Self {
            core,
            agent,
            config,
            sleep,
            observer: None,
        })
    }

    /// Replaces `std::thread::sleep` between attempts (tests make it instant and record it).
    #[must_use]
    pub fn with_sleeper(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Arc::new(sleep);
        self
    }

    /// Shows every request (certificate downloads included) and raw response to `observe`
    /// (for a verbose log). The request carries the `Authorization` header: redact it with
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

    /// The transport settings (timeouts, deadline, retries, proxy, roots) its calls run with.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Runs `operation` to its verified, typed answer ([`driver::run`]).
    ///
    /// # Errors
    /// Core's errors: API answers, verification failures, conflicts, transport failures.
    pub fn execute<O: Operation + Clone>(&self, operation: &O) -> Result<O::Output, Error> {
        let call = Call::with_config(self.core.clone(), operation.clone(), &self.config);
        driver::run(call, self)
    }

    /// Downloads the platform certificates now (client built with a certificate keeper);
    /// returns how many are trusted afterwards.
    ///
    /// # Errors
    /// As [`driver::refresh_certificates`].
    pub fn refresh_certificates(&self) -> Result<usize, Error> {
        driver::refresh_certificates(&self.core, self, &self.config)
    }

    /// Verifies a webhook notification; when its serial is new and the client is in
    /// certificate mode, downloads the certificates and verifies again.
    ///
    /// # Errors
    /// As [`driver::verify_notification`].
    pub fn verify_notification<T: DeserializeOwned, B: AsRef<[u8]>>(
        &self,
        verifier: &NotificationVerifier,
        request: &Request<B>,
    ) -> Result<Notification<T>, Error> {
        driver::verify_notification(verifier, request, &self.core, self, &self.config)
    }
}

impl Transport for BlockingClient {
    /// One exchange: the request exactly as signed, the raw answer back.
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        if let Some(observe) = &self.observer {
            observe(Exchange::Request(&request));
        }
        let response = connection::exchange(&self.agent, request, timeout, self.config.max_body)?;
        if let Some(observe) = &self.observer {
            observe(Exchange::Response(&response));
        }
        Ok(response)
    }

    fn sleep(&self, duration: Duration) {
        (self.sleep)(duration);
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}
