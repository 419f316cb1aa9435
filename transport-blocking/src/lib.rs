//! Blocking transport for [`wechatpay_core`] on a ureq 3 agent.
//!
//! It only moves bytes: it sends exactly the request core's [`Call`] hands out, within the
//! timeout it names and under a body cap, sleeps when told, and hands back the raw answer.
//! Retries, the fate of each attempt, certificate downloads and tracing fields are core's.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use wechatpay_core::call::{Call, Next};
use wechatpay_core::http::{Request, Response};
use wechatpay_core::{Client, Delivery, Error, Operation};

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

    /// Runs `operation` to its verified, typed answer, as core's [`Call`] decides.
    ///
    /// # Errors
    /// Core's errors: API answers, verification failures, conflicts, transport failures.
    pub fn execute<O: Operation + Clone>(&self, operation: &O) -> Result<O::Output, Error> {
        let call = Call::with_config(self.core.clone(), operation.clone(), &self.config);
        let _entered = call.span().clone().entered();
        let started = Instant::now();
        let mut next = call.start();
        loop {
            next = match next {
                Next::Send(send) => {
                    let (request, timeout, awaiting) = send.into_parts();
                    awaiting.receive(self.send(request, timeout), started.elapsed())
                }
                Next::Wait(wait) => {
                    (self.sleep)(wait.duration());
                    wait.resume(started.elapsed())
                }
                Next::Done(result) => return result,
            };
        }
    }

    /// Downloads the platform certificates now (client built with a certificate keeper);
    /// returns how many are trusted afterwards.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when not in certificate mode; the download's errors.
    pub fn refresh_certificates(&self) -> Result<usize, Error> {
        let (request, pending) = self.core.refresh_certificates()?.into_parts();
        pending.finish(self.send(request, self.config.attempt_timeout))
    }

    /// One exchange: the request exactly as signed, the raw answer back.
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        if let Some(observe) = &self.observer {
            observe(Exchange::Request(&request));
        }
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        let (parts, mut body) = self.agent.run(request).map_err(map_error)?.into_parts();
        let cap = self.config.max_body;
        let bytes = body.with_config().limit(cap).read_to_vec().map_err(|e| {
            match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    Error::response_too_large(usize::try_from(cap).unwrap_or(usize::MAX))
                }
                other => map_error(other),
            }
            .with_head(parts.status, &parts.headers)
        })?;
        let response = Response::from_parts(parts, bytes);
        if let Some(observe) = &self.observer {
            observe(Exchange::Response(&response));
        }
        Ok(response)
    }
}

/// A ureq failure as core's error: whether the request may have reached WeChat Pay.
fn map_error(e: ureq::Error) -> Error {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => {
            Error::attempt_timeout("connecting to WeChat Pay timed out", Delivery::NotSent)
                .with_source(e)
        }
        ureq::Error::Timeout(_) => Error::attempt_timeout(
            "the attempt timed out waiting for WeChat Pay",
            Delivery::MaybeSent,
        )
        .with_source(e),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            Error::transport("cannot connect to WeChat Pay", Delivery::NotSent, e)
        }
        ureq::Error::Io(_) => Error::transport(
            "the connection failed during the exchange",
            Delivery::MaybeSent,
            e,
        ),
        ureq::Error::Tls(_) => {
            Error::transport("TLS with WeChat Pay failed", Delivery::Unusable, e)
        }
        other => Error::transport("the HTTP exchange failed", Delivery::MaybeSent, other),
    }
}
