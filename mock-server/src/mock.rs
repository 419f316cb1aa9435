//! [`MockWechatPay`]: the in-process mock on wiremock, and the Rust calls that steer it (the
//! same operations as the control API, through [`crate::steer`]).

use std::time::Duration;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{
    AFTER_SALES_PATH, Client, ClientBuilder, Error, FailReason, KeyRing, MerchantCredentials,
    PlatformCertificate, PublicKey,
};
use wiremock::{MockServer, Request, ResponseTemplate};

use crate::builder::MockBuilder;
use crate::faults::RateLimitCode;
use crate::ledger::{NotifyUrl, Processing};
use crate::reply::{Reply, Stamp, render};
use crate::state::{Apiv3, Keep, Outcome, State};
use crate::steer::{self, Key, SettingsChange};
use crate::{
    Answer, Delivery, Fault, NotificationSpec, ReturnOutcome, Route, Settings, ShareOutcome,
    SignWith, Simulator, StoredOrder, StoredReceiver, StoredReturn, StoredSplit, StoredTransaction,
    keys,
};

/// A running local WeChat Pay. Stops when dropped.
pub struct MockWechatPay {
    server: MockServer,
    simulator: Simulator,
    wechatpay_public_key: (String, PublicKey),
    test_merchant: MerchantCredentials,
    /// The runtime `start` ran on: notification deliveries run there.
    runtime: Option<tokio::runtime::Handle>,
}

impl Drop for MockWechatPay {
    /// Stops the notification deliveries under way (at their next attempt).
    fn drop(&mut self) {
        self.state()
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

impl MockBuilder {
    /// Starts the mock on wiremock.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::Key`] or [`wechatpay_core::ErrorKind::Config`] for unusable
    /// keys or ids.
    pub async fn start(self) -> Result<MockWechatPay, Error> {
        let parts = self.parts()?;
        let (server, runtime) = crate::in_process::serve(&parts.simulator, parts.listener).await;
        MockWechatPay::new(server, parts.simulator, parts.wechatpay_public_key, runtime)
    }
}

impl MockWechatPay {
    /// The mock for a simulator served by `server`.
    pub(crate) fn new(
        server: MockServer,
        simulator: Simulator,
        wechatpay_public_key: (String, PublicKey),
        runtime: Option<tokio::runtime::Handle>,
    ) -> Result<Self, Error> {
        let test_merchant = MerchantCredentials::new(
            keys::TEST_MCHID,
            keys::TEST_MERCHANT_SERIAL,
            keys::test_merchant_key()?,
        )?;
        Ok(Self {
            server,
            simulator,
            wechatpay_public_key,
            test_merchant,
            runtime,
        })
    }

    fn state(&self) -> &State {
        &self.simulator.state
    }

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
        let stamp = Stamp::draw(&mut self.state().rng());
        crate::in_process::template(render(
            Reply::json(status, body),
            stamp,
            &self.state().signer(),
            self.state().now(),
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
        for cert in self.state().platform_certificates() {
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
        self.state().platform_certificates()
    }

    /// Rotation, step 1: publishes a new platform certificate (PEM) with its private key;
    /// returns its serial. Answers are still signed as before.
    ///
    /// A certificate that is not valid now is published all the same (to test how clients
    /// handle it), as `POST /mock/platform-certificates` does.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `certificate` or `private_key` for
    /// unusable PEM, a key shorter than 2048 bits, or a private key that is not the
    /// certificate's.
    pub fn add_platform_certificate(
        &self,
        certificate_pem: &str,
        private_key_pem: &str,
    ) -> Result<String, Error> {
        steer::publish(
            self.state(),
            certificate_pem,
            private_key_pem,
            self.state().now(),
        )
        .map(|p| p.serial)
        .map_err(Error::from)
    }

    /// Rotation, step 2: signs answers with the published certificate `serial`.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `serial` when no such certificate
    /// is published.
    pub fn sign_with_platform_certificate(&self, serial: &str) -> Result<(), Error> {
        steer::sign_with(self.state(), Key::Platform(Some(serial)), None)
            .map(drop)
            .map_err(Error::from)
    }

    /// Signs merchant `mchid`'s answers only with `which` (`serial`: a published platform
    /// certificate, else the last one published), as `POST /mock/sign-with` with `mchid` does.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `serial` or `mchid` when it names
    /// nothing the mock has.
    pub fn sign_with_for(
        &self,
        mchid: &str,
        which: SignWith,
        serial: Option<&str>,
    ) -> Result<String, Error> {
        let key = match which {
            SignWith::PublicKey => Key::PublicKey,
            SignWith::PlatformCertificate => Key::Platform(serial),
        };
        steer::sign_with(self.state(), key, Some(mchid)).map_err(Error::from)
    }

    /// Rotation, step 3: stops publishing certificate `serial`; whether it was published.
    pub fn retire_platform_certificate(&self, serial: &str) -> bool {
        steer::retire(self.state(), serial).is_ok()
    }

    /// Puts merchant `mchid` in certificate mode from now on (see [`MockBuilder::apiv3_key`]).
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `mchid` for a merchant the mock does
    /// not know.
    pub fn set_apiv3_key(&self, mchid: &str, key: ApiV3Key) -> Result<(), Error> {
        steer::set_apiv3_key(self.state(), mchid, Apiv3::given(key)).map_err(Error::from)
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

    /// Accepts requests from another merchant, from now on (with a generated APIv3 key), as
    /// `POST /mock/merchants` does.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `mchid` (1 to 32 digits), `serial`
    /// or `public_key` (2048 bits or more).
    pub fn add_merchant(
        &self,
        mchid: &str,
        serial: &str,
        public_key: PublicKey,
    ) -> Result<(), Error> {
        steer::add_merchant(self.state(), mchid, serial, public_key, None)
            .map(drop)
            .map_err(Error::from)
    }

    /// Merchant `mchid`'s APIv3 key: what decrypts its notifications (the test merchant's is
    /// [`keys::TEST_APIV3_KEY`] unless another was given).
    pub fn apiv3_key(&self, mchid: &str) -> Option<ApiV3Key> {
        self.simulator.apiv3_key(mchid)
    }

    /// The receivers merchant `mchid` has added (`receivers/add`), in the order they were
    /// added, their names decrypted.
    pub fn receivers(&self, mchid: &str) -> Vec<StoredReceiver> {
        self.state().receivers(Some(mchid))
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
        let now = self.state().now();
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
            .notification(spec, self.state().now())
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
        let id = self.simulator.notify(url, spec, self.state().now())?;
        if let Some(runtime) = &self.runtime {
            crate::delivery::start_new(&self.simulator, runtime);
        }
        Ok(id)
    }

    /// Every notification delivery kept, oldest first, with its attempts.
    pub fn notifications(&self) -> Vec<Delivery> {
        self.simulator.deliveries()
    }

    /// Switches the key that signs every merchant's answers (the last platform certificate
    /// published, for [`SignWith::PlatformCertificate`]), as `POST /mock/sign-with` does.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `serial` when asked for a platform
    /// certificate and none is published.
    pub fn sign_with(&self, which: SignWith) -> Result<(), Error> {
        let key = match which {
            SignWith::PublicKey => Key::PublicKey,
            SignWith::PlatformCertificate => Key::Platform(None),
        };
        steer::sign_with(self.state(), key, None)
            .map(drop)
            .map_err(Error::from)
    }

    /// Changes how long new and unfinished orders stay `PROCESSING` (see
    /// [`MockBuilder::processing`]).
    pub fn set_processing(&self, queries: u32, duration: Duration) {
        steer::set_processing(
            self.state(),
            Processing {
                queries,
                seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
            },
        );
    }

    /// Makes the order (`sub_mchid`, `transaction_id`) end `FAILED` with `reason`. May be
    /// called before the order exists.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `sub_mchid` (not digits) or
    /// `transaction_id` (empty, too long): no request could name that order.
    pub fn fail_order(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
        reason: FailReason,
    ) -> Result<(), Error> {
        steer::plan_order(
            self.state(),
            sub_mchid,
            transaction_id,
            Outcome::Failed(reason),
            None,
        )
        .map_err(Error::from)
    }

    /// Injects `fault` into the next `times` requests (at most 1,000,000), whatever their
    /// route; none when `times` is 0.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.inject_on(Route::Any, fault, times);
    }

    /// Injects `fault` into the next `times` requests (at most 1,000,000) on `route`; none
    /// when `times` is 0.
    pub fn inject_on(&self, route: Route, fault: Fault, times: usize) {
        // 0 is refused by the steering (nothing armed), as by `POST /mock/faults`.
        let _ = steer::arm(
            self.state(),
            route,
            fault,
            times.min(steer::MAX_FAULT_COUNT),
        );
    }

    /// Back to the state the mock started in, as `POST /mock/reset` does: orders, outcomes,
    /// faults, the log, receivers, deliveries, transactions, notify URLs and the generator's
    /// sequence forgotten; merchants, certificates, signing keys and settings as built.
    pub fn reset(&self) {
        steer::reset(self.state(), Keep::default());
    }

    /// The stored order, if it was created.
    pub fn order(&self, sub_mchid: &str, transaction_id: &str) -> Option<StoredOrder> {
        self.state().order(sub_mchid, transaction_id)
    }

    /// How many distinct orders exist.
    pub fn order_count(&self) -> usize {
        self.state().order_count()
    }

    /// Every answer given so far, in order (status and `Request-ID`).
    pub fn answers(&self) -> Vec<Answer> {
        self.state().answers()
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
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming the field for a `sub_mchid` that is
    /// not digits, an empty or over-long `transaction_id` or an amount that is not positive;
    /// [`wechatpay_core::ErrorKind::Config`] for a transaction already split with other values.
    pub fn declare_transaction(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
        amount: i64,
    ) -> Result<StoredTransaction, Error> {
        steer::declare_transaction(self.state(), sub_mchid, transaction_id, amount)
            .map_err(Error::from)
    }

    /// What may still be split of `transaction_id` (what `GET …/orders/{id}/amounts` answers),
    /// `None` for a transaction the sandbox does not keep (neither declared nor split).
    pub fn unsplit(&self, transaction_id: &str) -> Option<i64> {
        self.state()
            .ledger()
            .transaction(transaction_id)
            .map(|t| t.unsplit_amount)
    }

    /// The transaction's money as the sandbox keeps it.
    pub fn transaction(&self, transaction_id: &str) -> Option<StoredTransaction> {
        self.state().ledger().transaction(transaction_id)
    }

    /// The splits and finishes of `transaction_id`, oldest first.
    pub fn splits(&self, transaction_id: &str) -> Vec<StoredSplit> {
        self.state().ledger().splits(Some(transaction_id))
    }

    /// The returns from splits of `transaction_id`, oldest first.
    pub fn returns(&self, transaction_id: &str) -> Vec<StoredReturn> {
        self.state().ledger().returns(Some(transaction_id))
    }

    /// How the shares of split `out_order_no` end (of its receiver `account` only, when
    /// given), as `POST /mock/outcomes` with `out_order_no` does. May be called before the
    /// split exists.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `sub_mchid`, `out_order_no` or
    /// `receiver_account` when no request could name it.
    pub fn plan_share(
        &self,
        sub_mchid: &str,
        out_order_no: &str,
        account: Option<&str>,
        outcome: ShareOutcome,
    ) -> Result<(), Error> {
        steer::plan_share(
            self.state(),
            sub_mchid,
            out_order_no,
            account,
            outcome,
            None,
        )
        .map_err(Error::from)
    }

    /// How return `out_return_no` ends, as `POST /mock/outcomes` with `out_return_no` does.
    /// May be called before the return exists.
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `sub_mchid` or `out_return_no` when
    /// no request could name it.
    pub fn plan_return(
        &self,
        sub_mchid: &str,
        out_return_no: &str,
        outcome: ReturnOutcome,
    ) -> Result<(), Error> {
        steer::plan_return(self.state(), sub_mchid, out_return_no, outcome, None)
            .map_err(Error::from)
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
        let entry = NotifyUrl {
            account: account.to_owned(),
            url: url.to_owned(),
            mchid: None,
        };
        steer::set_notify_url(self.state(), entry)
            .map(drop)
            .map_err(Error::from)
    }

    /// The rules' switches now.
    pub fn settings(&self) -> Settings {
        self.state().ledger().settings.clone()
    }

    /// Switches strict transactions on or off (see [`MockBuilder::strict_transactions`]).
    pub fn set_strict_transactions(&self, on: bool) {
        self.change(SettingsChange {
            strict_transactions: Some(on),
            ..SettingsChange::default()
        });
    }

    /// Switches the documented split limits on or off (see [`MockBuilder::rate_limits`]).
    pub fn set_rate_limits(&self, on: bool) {
        self.change(SettingsChange {
            rate_limits: Some(on),
            ..SettingsChange::default()
        });
    }

    /// At most `per_second` requests a second from one merchant over every route (`None`:
    /// no limit, the default); see [`MockBuilder::frequency_limit`].
    pub fn set_frequency_limit(&self, per_second: Option<u32>) {
        self.change(SettingsChange {
            frequency_limit: Some(per_second.filter(|n| *n > 0)),
            ..SettingsChange::default()
        });
    }

    /// The code of every 429 (see [`MockBuilder::rate_limit_code`]).
    pub fn set_rate_limit_code(&self, code: RateLimitCode) {
        self.change(SettingsChange {
            rate_limit_code: Some(code),
            ..SettingsChange::default()
        });
    }

    /// Only these platform merchants may call; any other gets 403 `NO_AUTH` (empty: every
    /// merchant the mock knows). See [`MockBuilder::platform_mchids`].
    ///
    /// # Errors
    /// [`wechatpay_core::ErrorKind::InvalidInput`] naming `platform_mchids` for an id that is
    /// not digits.
    pub fn set_platform_mchids(&self, mchids: &[&str]) -> Result<(), Error> {
        steer::settings(
            self.state(),
            SettingsChange {
                platform_mchids: Some(mchids.iter().map(|m| (*m).to_owned()).collect()),
                ..SettingsChange::default()
            },
        )
        .map(drop)
        .map_err(Error::from)
    }

    /// A change of settings that cannot be refused.
    fn change(&self, change: SettingsChange) {
        let _ = steer::settings(self.state(), change);
    }
}
