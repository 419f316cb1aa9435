//! A signature-true local WeChat Pay for tests, built on wiremock.
//!
//! It verifies the merchant's `Authorization` signature like WeChat Pay does, keeps
//! after-sales orders, answers `PROCESSING` and then a final result, keeps profit-sharing
//! receivers (decrypting their encrypted names with the key `Wechatpay-Serial` names), signs
//! every 2xx answer with a WeChat Pay key pair, sends webhook notifications (signed, encrypted
//! with the merchant's APIv3 key, retried on WeChat Pay's schedule), and injects faults on
//! demand. Run it in-process from Rust tests, or as the standalone `wechatpay-mock-server`
//! binary from any language.
//!
//! It keeps the money of the profit-sharing family consistent: a paid transaction
//! ([`MockWechatPay::declare_transaction`]) is split (`POST orders`) to receivers that were
//! added, never beyond what is left ([`MockWechatPay::unsplit`]); a finish (`finish: true`, or
//! `finish-order`) releases the rest and refuses further splits; a return never takes back
//! more than the split gave that receiver; one `out_order_no` / `out_return_no` is one request.
//! Shares and returns become final as planned ([`MockWechatPay::plan_share`],
//! [`MockWechatPay::plan_return`]), and a profit-sharing notification goes to the URL
//! registered for the receiver ([`MockWechatPay::set_notify_url`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechatpay_core::Error> {
//! use wechatpay_mock_server::MockWechatPay;
//!
//! let mock = MockWechatPay::start().await;
//! mock.declare_transaction("1900000109", "4208450740201411110007820472", 1000)?;
//! assert_eq!(mock.unsplit("4208450740201411110007820472"), Some(1000));
//! # Ok(()) }
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechatpay_core::Error> {
//! use wechatpay_mock_server::MockWechatPay;
//! use wechatpay_core::{CreateAfterSalesOrder, Scene};
//!
//! let mock = MockWechatPay::start().await;
//! let client = mock.client(); // a wechatpay_core::Client for the mock's test merchant
//! let (request, _pending) = client.prepare(&CreateAfterSalesOrder::new(
//!     "1900000109", "4208450740201411110007820472", 100, Scene::RefundTicket, "50000000382019052709732678859"))?;
//! assert!(request.uri().to_string().starts_with(&mock.base_url()));
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod after_sales;
mod auth;
mod certificates;
mod control;
mod delivery;
mod faults;
pub mod keys;
mod ledger;
mod notify;
mod profit_sharing;
mod receivers;
mod reply;
#[cfg(feature = "standalone")]
pub mod server;
mod simulator;
mod state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{
    AFTER_SALES_PATH, Client, ClientBuilder, Clock, Error, FailReason, KeyRing,
    MerchantCredentials, PlatformCertificate, PrivateKey, PublicKey, SystemClock,
};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The wiremock crate the in-process mock is built on: mount mocks of your own on
/// [`MockWechatPay::server`] with the same version.
pub use wiremock;

pub use faults::{Fault, Route};
pub use ledger::{
    LENIENT_PAID_AMOUNT, NotifyUrl, ReturnOutcome, ReturnResult, Settings, ShareOutcome,
    ShareResult, StoredReturn, StoredShare, StoredSplit, StoredTransaction,
};
pub use notify::{
    Attempt, AttemptResult, Delivery, MAX_DELIVERIES, NOTIFY_TIMEOUT, NextStep, NotificationSpec,
    OutgoingNotification, RETRY_SCHEDULE, acknowledges,
};
pub use receivers::StoredReceiver;
pub use reply::SimResponse;
pub use simulator::{CONTROL_PREFIX, SimRequest, Simulator};
pub use state::{Answer, Outcome, StoredOrder};

use reply::{Reply, Signer, render, request_id};
use state::{Apiv3, Bounds, Merchant, Platform, Processing, State};

/// How often the in-process mock and the standalone server make due results final without a
/// request ([`Simulator::advance`]).
pub const TICK: Duration = Duration::from_millis(200);

/// The default cap on request bodies: WeChat Pay's JSON requests are small.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// The default number of answers kept in the log.
pub const DEFAULT_MAX_LOG: usize = 10_000;
/// The default number of orders kept (the oldest is forgotten first).
pub const DEFAULT_MAX_ORDERS: usize = 100_000;

/// Which key signs the mock's answers.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignWith {
    /// The WeChat Pay public key pair (`Wechatpay-Serial: PUB_KEY_ID_…`).
    PublicKey,
    /// The platform certificate's key (`Wechatpay-Serial:` the certificate serial).
    PlatformCertificate,
}

/// Configures a [`MockWechatPay`]. Starts with the embedded test merchant and WeChat Pay keys
/// (see [`keys`]).
#[must_use = "call .start() to run the mock"]
pub struct MockBuilder {
    merchants: HashMap<String, Merchant>,
    wechatpay_public_key_id: String,
    wechatpay_private_key: String,
    platforms: Vec<(String, String)>,
    apiv3_keys: HashMap<String, ApiV3Key>,
    sign_with: SignWith,
    clock: Arc<dyn Clock>,
    processing: Processing,
    listener: Option<std::net::TcpListener>,
    max_body: usize,
    log_to_stderr: bool,
    bounds: Bounds,
    primary: Option<String>,
    notify_time_scale: f64,
    settings: Settings,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MockBuilder {
    /// The defaults: the test merchant (its APIv3 key [`keys::TEST_APIV3_KEY`], in public-key
    /// mode), the test WeChat Pay key, system clock, one `PROCESSING` answer per order before
    /// its final result, notifications retried on WeChat Pay's schedule in real time.
    pub fn new() -> Self {
        let mut merchants = HashMap::new();
        if let Ok(public_key) = keys::test_merchant_public_key() {
            let mut merchant = Merchant::new(keys::TEST_MERCHANT_SERIAL.to_owned(), public_key);
            if let Ok(apiv3) = Apiv3::from_text(keys::TEST_APIV3_KEY) {
                merchant.apiv3 = apiv3;
            }
            merchants.insert(keys::TEST_MCHID.to_owned(), merchant);
        }
        Self {
            merchants,
            wechatpay_public_key_id: keys::TEST_WECHATPAY_PUBLIC_KEY_ID.to_owned(),
            wechatpay_private_key: keys::TEST_WECHATPAY_PRIVATE_KEY.to_owned(),
            platforms: Vec::new(),
            apiv3_keys: HashMap::new(),
            sign_with: SignWith::PublicKey,
            clock: Arc::new(SystemClock),
            processing: Processing {
                queries: 1,
                seconds: 0,
            },
            listener: None,
            max_body: DEFAULT_MAX_BODY,
            log_to_stderr: false,
            bounds: Bounds {
                log: DEFAULT_MAX_LOG,
                orders: DEFAULT_MAX_ORDERS,
            },
            primary: Some(keys::TEST_MCHID.to_owned()),
            notify_time_scale: 1.0,
            settings: Settings::default(),
        }
    }

    /// Refuses splits, finishes and `amounts` of transactions nobody declared
    /// ([`MockWechatPay::declare_transaction`], `POST /mock/transactions`) with
    /// `400 INVALID_REQUEST "unknown transaction"`. Off by default: an undeclared transaction is
    /// taken as paid [`LENIENT_PAID_AMOUNT`].
    pub fn strict_transactions(mut self, on: bool) -> Self {
        self.settings.strict_transactions = on;
        self
    }

    /// Answers `429 FREQUENCY_LIMITED` (with `Retry-After: 1`) over WeChat Pay's documented
    /// limits for `POST orders`: one split a second for the same transaction, 30 a second
    /// naming the same receiver, 300 a second from the same merchant. Off by default.
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.settings.rate_limits = on;
        self
    }

    /// Keeps at most `answers` entries in the log (default [`DEFAULT_MAX_LOG`]; the oldest go
    /// first) and at most `orders` orders (default [`DEFAULT_MAX_ORDERS`]): memory stays flat.
    pub fn bounds(mut self, answers: usize, orders: usize) -> Self {
        self.bounds = Bounds {
            log: answers,
            orders,
        };
        self
    }

    /// Forgets the test merchant (add others with [`MockBuilder::merchant`]).
    pub fn without_test_merchant(mut self) -> Self {
        self.merchants.remove(keys::TEST_MCHID);
        if self.primary.as_deref() == Some(keys::TEST_MCHID) {
            self.primary = None;
        }
        self
    }

    /// Accepts requests from `mchid`, signed with the key of certificate `serial`. Its APIv3
    /// key is generated (see [`MockWechatPay::apiv3_key`]) unless [`MockBuilder::apiv3_key`]
    /// gives one. Without the test merchant, the first merchant added is the one notifications
    /// go to by default.
    pub fn merchant(mut self, mchid: &str, serial: &str, public_key: PublicKey) -> Self {
        self.merchants.insert(
            mchid.to_owned(),
            Merchant::new(serial.to_owned(), public_key),
        );
        if self.primary.is_none() {
            self.primary = Some(mchid.to_owned());
        }
        self
    }

    /// Multiplies the waits of WeChat Pay's notification retry schedule ([`RETRY_SCHEDULE`]):
    /// `0.001` turns 15 s into 15 ms. Default 1. Must be finite and not negative.
    pub fn notify_time_scale(mut self, scale: f64) -> Self {
        self.notify_time_scale = scale;
        self
    }

    /// The WeChat Pay public key pair: its id and the private key (PEM) that signs answers.
    pub fn wechatpay_key(mut self, id: &str, private_key_pem: &str) -> Self {
        self.wechatpay_public_key_id = id.to_owned();
        self.wechatpay_private_key = private_key_pem.to_owned();
        self
    }

    /// Adds a platform certificate and its private key (PEM): served by `/v3/certificates` and
    /// usable to sign answers. [`SignWith::PlatformCertificate`] signs with the last one added.
    pub fn platform_certificate(mut self, certificate_pem: &str, private_key_pem: &str) -> Self {
        self.platforms
            .push((certificate_pem.to_owned(), private_key_pem.to_owned()));
        self
    }

    /// Publishes the embedded test platform certificate ([`keys::TEST_PLATFORM_CERTIFICATE`]).
    pub fn test_platform_certificate(self) -> Self {
        self.platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE,
            keys::TEST_PLATFORM_PRIVATE_KEY,
        )
    }

    /// The test merchant in certificate mode: the test platform certificate is published and
    /// signs every answer, and `/v3/certificates` is encrypted with [`keys::TEST_APIV3_KEY`].
    pub fn test_certificate_mode(self) -> Self {
        self.test_platform_certificate()
            .sign_with(SignWith::PlatformCertificate)
            .apiv3_key(keys::TEST_MCHID, keys::test_apiv3_key())
    }

    /// Puts merchant `mchid` in certificate mode: `/v3/certificates` answers it, encrypted with
    /// this APIv3 key (which also encrypts its notifications). Merchants without a key given
    /// get 404 `RESOURCE_NOT_EXISTS` there.
    pub fn apiv3_key(mut self, mchid: &str, key: ApiV3Key) -> Self {
        self.apiv3_keys.insert(mchid.to_owned(), key);
        self
    }

    /// Which key signs answers. Default: [`SignWith::PublicKey`].
    pub fn sign_with(mut self, which: SignWith) -> Self {
        self.sign_with = which;
        self
    }

    /// The mock's clock (for request timestamps' skew and its own signatures). Put a
    /// [`wechatpay_core::FixedClock`] here to run it ahead of or behind its clients.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A new order answers `PROCESSING` to its first `queries` queries and for `duration` after
    /// creation (both must pass), then its final result. Default: 1 query, no duration. The
    /// same holds for a split's shares (`PENDING`) and a return (`PROCESSING`); with 0 queries
    /// they become final once `duration` passed, queried or not (checked at every request and
    /// every [`TICK`]).
    pub fn processing(mut self, queries: u32, duration: Duration) -> Self {
        self.processing = Processing {
            queries,
            seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        };
        self
    }

    /// Listens on this socket instead of a new one on `127.0.0.1:0`.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The largest request body accepted (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Logs one line per request to stderr.
    pub fn log_to_stderr(mut self, on: bool) -> Self {
        self.log_to_stderr = on;
        self
    }

    /// The simulator alone, without a server: for the standalone binary's own server, or to
    /// call [`Simulator::handle`] directly (a fuzzer, a test).
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Key`] or [`wechatpay_core::ErrorKind::Config`] for unusable
    /// keys or ids.
    pub fn simulator(self) -> Result<Simulator, Error> {
        self.parts().map(|p| p.simulator)
    }

    fn parts(self) -> Result<Parts, Error> {
        if !self.notify_time_scale.is_finite() || self.notify_time_scale < 0.0 {
            return Err(Error::config(
                "notify_time_scale must be a finite number, 0 or more",
            ));
        }
        let wechatpay_key =
            PrivateKey::from_pem_with(&self.wechatpay_private_key, fastest_backend())?;
        let wechatpay_public_key = wechatpay_key.public_key()?;
        // Checks the id's form.
        KeyRing::new().add_wechatpay_public_key(
            &self.wechatpay_public_key_id,
            wechatpay_public_key.clone(),
        )?;
        let public_key_signer = Signer {
            serial: self.wechatpay_public_key_id.clone(),
            key: wechatpay_key,
        };
        let platforms = self
            .platforms
            .iter()
            .map(|(cert, key)| Platform::load(cert, key))
            .collect::<Result<Vec<_>, Error>>()?;
        let signer = match (self.sign_with, platforms.last()) {
            (SignWith::PublicKey, _) => public_key_signer.clone(),
            (SignWith::PlatformCertificate, Some(p)) => p.signer.clone(),
            (SignWith::PlatformCertificate, None) => {
                return Err(Error::config(
                    "sign_with(PlatformCertificate) needs a platform certificate and its key",
                ));
            }
        };
        let mut merchants = self.merchants;
        for (mchid, key) in self.apiv3_keys {
            match merchants.get_mut(&mchid) {
                Some(m) => {
                    m.apiv3 = Apiv3::given(key);
                    m.certificate_mode = true;
                }
                None => {
                    return Err(Error::config(format!(
                        "apiv3_key names merchant {mchid}, which the mock does not know"
                    )));
                }
            }
        }
        let state = Arc::new(State::new(
            merchants,
            platforms,
            signer,
            public_key_signer,
            self.clock,
            self.processing,
            self.max_body,
            self.log_to_stderr,
            self.bounds,
            self.primary,
            self.notify_time_scale,
            self.settings,
        ));
        Ok(Parts {
            simulator: Simulator { state },
            wechatpay_public_key: (self.wechatpay_public_key_id, wechatpay_public_key),
            listener: self.listener,
        })
    }

    /// Starts the mock on wiremock.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Key`] or [`wechatpay_core::ErrorKind::Config`] for unusable
    /// keys or ids.
    pub async fn start(self) -> Result<MockWechatPay, Error> {
        let parts = self.parts()?;
        let server = match parts.listener {
            Some(l) => MockServer::builder().listener(l).start().await,
            None => MockServer::start().await,
        };
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let Some(runtime) = &runtime {
            runtime.spawn(tick(parts.simulator.clone(), runtime.clone()));
        }
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                simulator: parts.simulator.clone(),
                runtime: runtime.clone(),
            })
            .named("wechatpay")
            .mount(&server)
            .await;
        let test_merchant = MerchantCredentials::new(
            keys::TEST_MCHID,
            keys::TEST_MERCHANT_SERIAL,
            keys::test_merchant_key()?,
        )?;
        Ok(MockWechatPay {
            test_merchant,
            server,
            state: Arc::clone(&parts.simulator.state),
            simulator: parts.simulator,
            wechatpay_public_key: parts.wechatpay_public_key,
            runtime,
        })
    }
}

/// What a builder makes before any server runs.
struct Parts {
    simulator: Simulator,
    wechatpay_public_key: (String, PublicKey),
    listener: Option<std::net::TcpListener>,
}

/// A running local WeChat Pay. Stops when dropped.
pub struct MockWechatPay {
    server: MockServer,
    state: Arc<State>,
    simulator: Simulator,
    wechatpay_public_key: (String, PublicKey),
    test_merchant: MerchantCredentials,
    /// The runtime `start` ran on: notification deliveries run there.
    runtime: Option<tokio::runtime::Handle>,
}

impl Drop for MockWechatPay {
    /// Stops the notification deliveries under way (at their next attempt).
    fn drop(&mut self) {
        self.state
            .stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for MockWechatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockWechatPay")
            .field("base_url", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl MockWechatPay {
    /// Starts a mock with the defaults of [`MockBuilder::new`].
    pub async fn start() -> Self {
        match MockBuilder::new().start().await {
            Ok(m) => m,
            // The embedded keys are constants of this crate: failing to load them is a bug.
            Err(e) => unreachable!("the embedded test keys must load: {e}"),
        }
    }

    /// A builder for a configured mock.
    pub fn builder() -> MockBuilder {
        MockBuilder::new()
    }

    /// Where the mock listens, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        self.server.uri()
    }

    /// The simulator behind the server (its control API included).
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// The wiremock server, to mount mocks of your own beside WeChat Pay's rules (e.g. an
    /// endpoint the mock does not serve): give them `.with_priority(1)`, as the mock's own
    /// catch-all has wiremock's default priority 5. Answer them with
    /// [`MockWechatPay::signed_answer`].
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// A JSON answer signed as the mock signs its own (2xx answers carry the signature
    /// headers), with a fresh `Request-ID`: for mocks mounted on [`MockWechatPay::server`].
    pub fn signed_answer(&self, status: u16, body: &serde_json::Value) -> ResponseTemplate {
        template(render(
            Reply::json(status, body),
            &request_id(),
            &self.state.signer(),
            self.state.now(),
            None,
        ))
    }

    /// The socket address the mock listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        *self.server.address()
    }

    /// The keys that verify the mock's answers (WeChat Pay public key, and the platform
    /// certificate when configured): what a client should trust. A new ring on each call.
    pub fn trusted_keys(&self) -> KeyRing {
        let ring = KeyRing::new();
        // The id was accepted by the same check when the mock started.
        let _ = ring.add_wechatpay_public_key(
            &self.wechatpay_public_key.0,
            self.wechatpay_public_key.1.clone(),
        );
        for cert in self.state.platform_certificates() {
            ring.add_platform_certificate(cert);
        }
        ring
    }

    /// The WeChat Pay public key id and key the mock signs with in public-key mode.
    pub fn wechatpay_public_key(&self) -> (&str, &PublicKey) {
        (&self.wechatpay_public_key.0, &self.wechatpay_public_key.1)
    }

    /// The platform certificates served now, in the order they were added.
    pub fn platform_certificates(&self) -> Vec<PlatformCertificate> {
        self.state.platform_certificates()
    }

    /// Rotation, step 1: publishes a new platform certificate (PEM) with its private key;
    /// returns its serial. Answers are still signed as before.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Key`] for unusable PEM.
    pub fn add_platform_certificate(
        &self,
        certificate_pem: &str,
        private_key_pem: &str,
    ) -> Result<String, Error> {
        let platform = Platform::load(certificate_pem, private_key_pem)?;
        let serial = platform.cert.serial().to_owned();
        self.state.add_platform(platform);
        Ok(serial)
    }

    /// Rotation, step 2: signs answers with the published certificate `serial`.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when no such certificate is published.
    pub fn sign_with_platform_certificate(&self, serial: &str) -> Result<(), Error> {
        let signer = self.state.platform_signer(Some(serial)).ok_or_else(|| {
            Error::config(format!("no platform certificate {serial} is published"))
        })?;
        self.state.set_signer(signer);
        Ok(())
    }

    /// Rotation, step 3: stops publishing certificate `serial`; whether it was published.
    pub fn retire_platform_certificate(&self, serial: &str) -> bool {
        self.state.retire_platform(serial)
    }

    /// Puts merchant `mchid` in certificate mode from now on (see [`MockBuilder::apiv3_key`]).
    pub fn set_apiv3_key(&self, mchid: &str, key: ApiV3Key) {
        self.state.set_apiv3_key(mchid, key);
    }

    /// A client builder for `merchant`, pointed at the mock and trusting its keys.
    pub fn client_builder(&self, merchant: MerchantCredentials) -> ClientBuilder {
        Client::builder(merchant, self.trusted_keys()).base_url(self.base_url())
    }

    /// A ready client for the embedded test merchant.
    pub fn client(&self) -> Client {
        // The key was parsed once, at start; the ring holds at least the WeChat Pay key.
        match self.client_builder(self.test_merchant.clone()).build() {
            Ok(c) => c,
            Err(e) => unreachable!("a client for the embedded test merchant must build: {e}"),
        }
    }

    /// The embedded test merchant's credentials (parsed once, at start).
    pub fn test_merchant(&self) -> &MerchantCredentials {
        &self.test_merchant
    }

    /// Accepts requests from another merchant, from now on (with a generated APIv3 key).
    pub fn add_merchant(&self, mchid: &str, serial: &str, public_key: PublicKey) {
        self.state.add_merchant(
            mchid.to_owned(),
            Merchant::new(serial.to_owned(), public_key),
        );
    }

    /// Merchant `mchid`'s APIv3 key: what decrypts its notifications (the test merchant's is
    /// [`keys::TEST_APIV3_KEY`] unless another was given).
    pub fn apiv3_key(&self, mchid: &str) -> Option<ApiV3Key> {
        self.state.merchant(mchid).map(|m| m.apiv3.key)
    }

    /// The receivers merchant `mchid` has added (`receivers/add`), in the order they were
    /// added, their names decrypted.
    pub fn receivers(&self, mchid: &str) -> Vec<StoredReceiver> {
        self.state.receivers(Some(mchid))
    }

    /// A notification of `resource` to the test merchant (the mock's first merchant; one made
    /// without any is encrypted with [`keys::TEST_APIV3_KEY`]), as WeChat Pay delivers it:
    /// `POST /notify`, signed now with the key that signs answers, the resource encrypted
    /// with the merchant's APIv3 key; a profit-sharing notification (see
    /// [`NotificationSpec::new`]). Feed it to a handler under test.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wechatpay_core::Error> {
    /// use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
    /// use wechatpay_mock_server::{MockWechatPay, keys};
    ///
    /// let mock = MockWechatPay::start().await;
    /// let request = mock.notification_request(&serde_json::json!({
    ///     "sp_mchid": "1900000100", "sub_mchid": "1900000109",
    ///     "transaction_id": "4208450740201411110007820472",
    ///     "order_id": "3008450740201411110007820472", "out_order_no": "P20150806125346",
    ///     "receiver": {"type": "MERCHANT_ID", "account": "1900000110", "amount": 888,
    ///                  "description": "分给商户1900000110"},
    ///     "success_time": "2026-11-24T10:34:56+08:00"
    /// }));
    ///
    /// let key = mock.apiv3_key(keys::TEST_MCHID).expect("the test merchant's key");
    /// let verifier = NotificationVerifier::new(mock.trusted_keys(), key);
    /// let n = verifier.verify::<ProfitSharingNotification, _>(&request)?;
    /// assert_eq!(n.original_type, "profitsharing");
    /// assert_eq!(n.resource.receiver.amount, 888);
    /// # Ok(()) }
    /// ```
    pub fn notification_request(&self, resource: &serde_json::Value) -> http::Request<Vec<u8>> {
        let spec = NotificationSpec::new(resource.clone());
        let now = self.state.now();
        let built = self.simulator.notification(&spec, now).or_else(|_| {
            self.simulator
                .notification_with_key(&spec, &keys::test_apiv3_key(), now)
        });
        match built {
            Ok(n) => n.to_request(http::Uri::from_static("/notify")),
            // The default envelope fields are valid, a JSON value always serialises and the
            // nonce is 12 bytes: failing here is a bug.
            Err(e) => unreachable!("a default notification must build: {e}"),
        }
    }

    /// A notification of `spec` as WeChat Pay delivers it (`POST /notify`), for any merchant,
    /// event type or original type.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `mchid` for a merchant the mock does
    /// not know, or the envelope field that is empty, too long or holds control characters.
    pub fn notification_request_with(
        &self,
        spec: &NotificationSpec,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.simulator
            .notification(spec, self.state.now())
            .map(|n| n.to_request(http::Uri::from_static("/notify")))
    }

    /// Delivers a new notification of `spec` to `url` (`http://…`) from a task on the runtime
    /// the mock started on, on WeChat Pay's retry schedule (times [`MockBuilder::notify_time_scale`]),
    /// as `POST /mock/notifications` does. Returns its id; see [`MockWechatPay::notifications`].
    ///
    /// # Errors
    /// As [`MockWechatPay::notification_request_with`]; [`wechatpay_core::ErrorKind::InvalidInput`]
    /// naming `url` for a URL that is not `http://host[:port]/…`.
    pub fn notify(&self, url: &str, spec: &NotificationSpec) -> Result<String, Error> {
        let id = self.simulator.notify(url, spec, self.state.now())?;
        if let Some(runtime) = &self.runtime {
            delivery::start_new(&self.simulator, runtime);
        }
        Ok(id)
    }

    /// Every notification delivery kept, oldest first, with its attempts.
    pub fn notifications(&self) -> Vec<Delivery> {
        self.simulator.deliveries()
    }

    /// Switches the key that signs answers.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Config`] when asked for a platform certificate the mock
    /// was not given.
    pub fn sign_with(&self, which: SignWith) -> Result<(), Error> {
        let signer = match which {
            SignWith::PublicKey => self.state.public_key_signer(),
            SignWith::PlatformCertificate => self
                .state
                .platform_signer(None)
                .ok_or_else(|| Error::config("no platform certificate configured"))?,
        };
        self.state.set_signer(signer);
        Ok(())
    }

    /// Changes how long new and unfinished orders stay `PROCESSING` (see
    /// [`MockBuilder::processing`]).
    pub fn set_processing(&self, queries: u32, duration: Duration) {
        self.state.set_processing(Processing {
            queries,
            seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        });
    }

    /// Makes the order (`sub_mchid`, `transaction_id`) end `FAILED` with `reason`. May be
    /// called before the order exists.
    pub fn fail_order(&self, sub_mchid: &str, transaction_id: &str, reason: FailReason) {
        self.state
            .plan(sub_mchid, transaction_id, Outcome::Failed(reason));
    }

    /// Injects `fault` into the next `times` requests, whatever their route.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.state.arm(Route::Any, fault, times);
    }

    /// Injects `fault` into the next `times` requests on `route`.
    pub fn inject_on(&self, route: Route, fault: Fault, times: usize) {
        self.state.arm(route, fault, times);
    }

    /// The stored order, if it was created.
    pub fn order(&self, sub_mchid: &str, transaction_id: &str) -> Option<StoredOrder> {
        self.state.order(sub_mchid, transaction_id)
    }

    /// How many distinct orders exist.
    pub fn order_count(&self) -> usize {
        self.state.order_count()
    }

    /// Every answer given so far, in order (status and `Request-ID`).
    pub fn answers(&self) -> Vec<Answer> {
        self.state.answers()
    }

    /// Every request received so far, in order.
    pub async fn received_requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// How many requests with this method reached the after-sales path.
    pub async fn count_after_sales(&self, method: &http::Method) -> usize {
        self.count_requests(method, AFTER_SALES_PATH).await
    }

    /// How many requests with this method reached `path` (the path as sent, without the
    /// query), e.g. `/v3/ecommerce/profitsharing/orders`.
    pub async fn count_requests(&self, method: &http::Method, path: &str) -> usize {
        self.received_requests()
            .await
            .iter()
            .filter(|r| r.method == *method && r.url.path() == path)
            .count()
    }

    /// Declares a paid transaction of `amount` fen to `sub_mchid`, as `POST /mock/transactions`
    /// does: splits of it then never take more than `amount` in all. Declaring it again with
    /// the same values is harmless; with others, only while nothing was split or finished.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming the field for a `sub_mchid` that is not
    /// digits, an empty or over-long `transaction_id`, an amount that is not positive, or a
    /// transaction already split with other values.
    pub fn declare_transaction(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
        amount: i64,
    ) -> Result<StoredTransaction, Error> {
        if let Some(issue) = after_sales::id_problem(sub_mchid) {
            return Err(Error::invalid_input("sub_mchid", issue));
        }
        if let Some(issue) = after_sales::text_problem(transaction_id, after_sales::MAX_ID) {
            return Err(Error::invalid_input("transaction_id", issue));
        }
        if amount <= 0 {
            return Err(Error::invalid_input(
                "amount",
                format!("must be a positive number of fen, got {amount}"),
            ));
        }
        let bound = self.state.order_bound();
        self.state
            .ledger()
            .declare(sub_mchid, transaction_id, amount, bound)
            .map_err(|issue| Error::invalid_input("transaction_id", issue))
    }

    /// What may still be split of `transaction_id` (what `GET …/orders/{id}/amounts` answers),
    /// `None` for a transaction the sandbox does not keep (neither declared nor split).
    pub fn unsplit(&self, transaction_id: &str) -> Option<i64> {
        self.state
            .ledger()
            .transaction(transaction_id)
            .map(|t| t.unsplit_amount)
    }

    /// The transaction's money as the sandbox keeps it.
    pub fn transaction(&self, transaction_id: &str) -> Option<StoredTransaction> {
        self.state.ledger().transaction(transaction_id)
    }

    /// The splits and finishes of `transaction_id`, oldest first.
    pub fn splits(&self, transaction_id: &str) -> Vec<StoredSplit> {
        self.state.ledger().splits(Some(transaction_id))
    }

    /// The returns from splits of `transaction_id`, oldest first.
    pub fn returns(&self, transaction_id: &str) -> Vec<StoredReturn> {
        self.state.ledger().returns(Some(transaction_id))
    }

    /// How the shares of split `out_order_no` end (of its receiver `account` only, when
    /// given), as `POST /mock/outcomes` with `out_order_no` does. May be called before the
    /// split exists.
    pub fn plan_share(
        &self,
        sub_mchid: &str,
        out_order_no: &str,
        account: Option<&str>,
        outcome: ShareOutcome,
    ) {
        let bound = self.state.order_bound();
        self.state
            .ledger()
            .plan_share(sub_mchid, out_order_no, account, outcome, None, bound);
    }

    /// How return `out_return_no` ends, as `POST /mock/outcomes` with `out_return_no` does.
    /// May be called before the return exists.
    pub fn plan_return(&self, sub_mchid: &str, out_return_no: &str, outcome: ReturnOutcome) {
        let bound = self.state.order_bound();
        self.state
            .ledger()
            .plan_return(sub_mchid, out_return_no, outcome, None, bound);
    }

    /// Sends the profit-sharing notifications of receiver `account` (a share paid to it, a
    /// return from it) to `url` (`http://…`), as `POST /mock/notify-urls` does; encrypted with
    /// the APIv3 key of `account` when the mock knows it as a merchant, else of the merchant
    /// that made the split.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `url` for a URL that is not
    /// `http://host[:port]/…`.
    pub fn set_notify_url(&self, account: &str, url: &str) -> Result<(), Error> {
        notify::check_url(url).map_err(|issue| Error::invalid_input("url", issue))?;
        let bound = self.state.order_bound();
        self.state.ledger().set_notify_url(
            NotifyUrl {
                account: account.to_owned(),
                url: url.to_owned(),
                mchid: None,
            },
            bound,
        );
        Ok(())
    }

    /// The money rules' switches now.
    pub fn settings(&self) -> Settings {
        self.state.ledger().settings
    }

    /// Switches strict transactions on or off (see [`MockBuilder::strict_transactions`]).
    pub fn set_strict_transactions(&self, on: bool) {
        self.state.ledger().settings.strict_transactions = on;
    }

    /// Switches the frequency limits on or off (see [`MockBuilder::rate_limits`]).
    pub fn set_rate_limits(&self, on: bool) {
        self.state.ledger().settings.rate_limits = on;
    }
}

/// Every [`TICK`], makes due results final and starts their notifications' deliveries, until
/// the mock is dropped.
async fn tick(simulator: Simulator, runtime: tokio::runtime::Handle) {
    loop {
        tokio::time::sleep(TICK).await;
        if simulator
            .state
            .stopped
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        simulator.advance(simulator.now());
        delivery::start_new(&simulator, &runtime);
    }
}

/// The fastest RSA backend compiled in: the mock is test infrastructure, not the code under
/// test, so it should not be the bottleneck of a load test.
pub(crate) fn fastest_backend() -> wechatpay_core::Backend {
    wechatpay_core::Backend::all()
        .last()
        .copied()
        .unwrap_or_default()
}

/// The one wiremock responder: the simulator, fed wiremock's request.
struct Responder {
    simulator: Simulator,
    /// Where notification deliveries asked through the control API run.
    runtime: Option<tokio::runtime::Handle>,
}

/// wiremock's response for a simulator answer.
fn template(answer: SimResponse) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(answer.status);
    let mut content_type = "application/json".to_owned();
    for (name, value) in answer.headers {
        if name == "Content-Type" {
            content_type = value;
        } else {
            t = t.insert_header(name, value.as_str());
        }
    }
    if let Some(d) = answer.delay {
        t = t.set_delay(d);
    }
    t.set_body_raw(answer.body, &content_type)
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        // wiremock has parsed the target into a URL; in-process callers are this SDK's own
        // clients, whose targets are already normal. The standalone server passes the raw one.
        let target = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_owned(),
        };
        let request = SimRequest {
            method: req.method.as_str(),
            target: &target,
            headers: &req.headers,
            body: &req.body,
        };
        let answer = self.simulator.handle(&request, self.simulator.state.now());
        if let Some(runtime) = &self.runtime {
            delivery::start_new(&self.simulator, runtime);
        }
        template(answer)
    }
}
