//! What the mock remembers: merchants, orders, planned outcomes, armed faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{Clock, Error, FailReason, PlatformCertificate, PrivateKey, PublicKey};

use crate::faults::{Armed, Fault, Route};
use crate::keys;
use crate::ledger::{Ledger, Processing, Settings};
use crate::notify::Deliveries;
use crate::reply::Signer;
use crate::rng::{Rng, Stream};
use crate::wire::{self, AfterSalesRequest};

/// A merchant the mock accepts requests from.
#[derive(Clone, Debug)]
pub(crate) struct Merchant {
    pub(crate) serial: String,
    pub(crate) public_key: PublicKey,
    /// The merchant's APIv3 key: encrypts its notifications (and, in certificate mode, its
    /// `/v3/certificates` downloads).
    pub(crate) apiv3: Apiv3,
    /// Whether `/v3/certificates` answers this merchant.
    pub(crate) certificate_mode: bool,
}

impl Merchant {
    /// A merchant in public-key mode, with an APIv3 key drawn from `rng`.
    pub(crate) fn new(serial: String, public_key: PublicKey, rng: &mut Rng) -> Self {
        Self {
            serial,
            public_key,
            apiv3: Apiv3::generated(rng),
            certificate_mode: false,
        }
    }
}

/// A merchant's APIv3 key, and its text when the mock knows it (generated here, or given as
/// text through the control API): the text is shown by `GET /mock/merchants`. Debug redacts.
#[derive(Clone)]
pub(crate) struct Apiv3 {
    pub(crate) key: ApiV3Key,
    pub(crate) text: Option<String>,
}

impl std::fmt::Debug for Apiv3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Apiv3(<redacted>)")
    }
}

impl Apiv3 {
    /// 32 letters and digits drawn from `rng`.
    pub(crate) fn generated(rng: &mut Rng) -> Self {
        let text = rng.alnum(32);
        match ApiV3Key::new(&text) {
            Ok(key) => Self {
                key,
                text: Some(text),
            },
            // 32 ASCII characters always make a key: failing here is a bug, not input.
            Err(e) => unreachable!("a generated APIv3 key must be 32 bytes: {e}"),
        }
    }

    /// A key given as text (checked: 32 bytes).
    pub(crate) fn from_text(text: &str) -> Result<Self, Error> {
        Ok(Self {
            key: ApiV3Key::new(text)?,
            text: Some(text.to_owned()),
        })
    }

    /// A key given as an [`ApiV3Key`]: its text stays unknown to the mock.
    pub(crate) fn given(key: ApiV3Key) -> Self {
        Self { key, text: None }
    }
}

/// A published platform certificate: the certificate, its PEM, and the key that signs with it.
#[derive(Clone, Debug)]
pub(crate) struct Platform {
    pub(crate) cert: PlatformCertificate,
    pub(crate) pem: String,
    pub(crate) signer: Signer,
}

impl Platform {
    /// A certificate and its private key, checked as WeChat Pay's own would be: RSA of 2048
    /// bits or more, and the key the certificate's. Its validity is not checked here (see
    /// [`Platform::validity_warning`]).
    pub(crate) fn load(certificate_pem: &str, private_key_pem: &str) -> Result<Self, Error> {
        static TEST: std::sync::OnceLock<Platform> = std::sync::OnceLock::new();
        let parse = || Self::parse(certificate_pem, private_key_pem);
        if certificate_pem == keys::TEST_PLATFORM_CERTIFICATE
            && private_key_pem == keys::TEST_PLATFORM_PRIVATE_KEY
        {
            return keys::once(&TEST, parse);
        }
        parse()
    }

    fn parse(certificate_pem: &str, private_key_pem: &str) -> Result<Self, Error> {
        let cert = PlatformCertificate::from_pem(certificate_pem)
            .map_err(|e| Error::invalid_input("certificate", e.to_string()))?;
        let key = keys::signing_key(private_key_pem)
            .map_err(|e| Error::invalid_input("private_key", e.to_string()))?;
        if key.bits() < 2048 || cert.public_key().bits() < 2048 {
            return Err(Error::invalid_input(
                "private_key",
                format!(
                    "RSA keys of 2048 bits or more only; the certificate's is {} bits, the private key {}",
                    cert.public_key().bits(),
                    key.bits()
                ),
            ));
        }
        let matches = match (
            key.public_key().and_then(|k| k.to_pem()),
            cert.public_key().to_pem(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !matches {
            return Err(Error::invalid_input(
                "private_key",
                format!(
                    "is not the key of certificate {}: answers signed with it would fail every client's verification",
                    cert.serial()
                ),
            ));
        }
        Ok(Self {
            signer: Signer {
                serial: cert.serial().to_owned(),
                key,
            },
            cert,
            pem: certificate_pem.to_owned(),
        })
    }
}

/// A receiver as the mock stores it (its name decrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredReceiver {
    /// The merchant that added it (the request's `mchid`).
    pub mchid: String,
    /// The app id it was added under.
    pub appid: String,
    /// `MERCHANT_ID` or `PERSONAL_OPENID`.
    #[serde(rename = "type")]
    pub receiver_type: String,
    /// The mchid or openid.
    pub account: String,
    /// How it relates to the merchant, e.g. `SUPPLIER`.
    pub relation_type: String,
    /// `custom_relation`, when sent.
    pub custom_relation: Option<String>,
    /// The name, decrypted from `encrypted_name`, when sent.
    pub name: Option<String>,
    /// The `Wechatpay-Serial` of the request: the key `encrypted_name` was decrypted with.
    pub serial: String,
    /// When it was (last) added, by the mock's clock (Unix seconds).
    pub added_at: i64,
}

impl StoredReceiver {
    pub(crate) fn key(&self) -> (String, String, String) {
        (
            self.mchid.clone(),
            self.receiver_type.clone(),
            self.account.clone(),
        )
    }
}

impl Platform {
    /// Why the certificate is not valid at `now`, if it is not: it is published anyway (to
    /// test how clients handle it), with this warning.
    pub(crate) fn validity_warning(&self, now: i64) -> Option<String> {
        if self.cert.is_valid_at(now) {
            return None;
        }
        let when = if now < self.cert.not_before().unix_timestamp() {
            "is not valid yet (notBefore"
        } else {
            "has expired (notAfter"
        };
        let at = if now < self.cert.not_before().unix_timestamp() {
            self.cert.not_before()
        } else {
            self.cert.not_after()
        };
        Some(format!(
            "certificate {} {when} {at}): clients will refuse answers it signs",
            self.cert.serial()
        ))
    }
}

/// The final result a test chose for an order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `SUCCESS` (the default).
    Success,
    /// `FAILED` with this reason.
    Failed(FailReason),
    /// `PROCESSING` for ever: the result never comes.
    StaysProcessing,
}

/// An order as the mock stores it.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    /// The request that created it, as received.
    pub request: AfterSalesRequest,
    /// The mock clock's time when it was created.
    pub created_at: i64,
    /// How many queries have been answered for it.
    pub queries: u32,
    /// When it became final (mock clock), once it has.
    pub finished_at: Option<i64>,
}

/// One answer the mock gave, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Answer {
    /// The request's method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The `Request-ID` answered.
    pub request_id: String,
}

/// An order's key: the merchant that created it, the sub-merchant, the transaction.
type Key = (String, String, String);
/// A planned outcome's key: the sub-merchant and the transaction (whichever merchant asks).
type PlanKey = (String, String);

/// Limits that keep the mock's memory flat however long it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// The most answers kept in the log (oldest dropped first).
    pub(crate) log: usize,
    /// The most orders kept (oldest created dropped first).
    pub(crate) orders: usize,
}

/// What the mock starts with, and what `reset` returns to.
#[derive(Clone)]
pub(crate) struct Start {
    pub(crate) merchants: HashMap<String, Merchant>,
    pub(crate) platforms: Vec<Platform>,
    /// The key that signs answers (every merchant's, unless one has its own).
    pub(crate) signer: Signer,
    pub(crate) public_key_signer: Signer,
    pub(crate) processing: Processing,
    pub(crate) settings: Settings,
    pub(crate) seed: u64,
}

/// What a reset keeps of the state built since the start.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keep {
    /// Merchants added since the start, and their keys.
    pub(crate) merchants: bool,
    /// Platform certificates published or retired, and which keys sign answers.
    pub(crate) certificates: bool,
    /// The settings changed since the start.
    pub(crate) settings: bool,
}

pub(crate) struct State {
    merchants: RwLock<HashMap<String, Merchant>>,
    platforms: RwLock<Vec<Platform>>,
    signer: RwLock<Signer>,
    /// Merchants whose answers another key signs (`sign-with` naming a merchant).
    merchant_signers: RwLock<HashMap<String, Signer>>,
    clock: Arc<dyn Clock>,
    orders: Mutex<Orders>,
    outcomes: Mutex<HashMap<PlanKey, (Outcome, Option<Processing>)>>,
    faults: Mutex<Vec<Armed>>,
    processing: Mutex<Processing>,
    answers: Mutex<VecDeque<Answer>>,
    bounds: Bounds,
    pub(crate) max_body: usize,
    pub(crate) log_to_stderr: bool,
    receivers: Mutex<ReceiverBook>,
    deliveries: Mutex<Deliveries>,
    primary: Option<String>,
    /// Multiplies the notification retry schedule.
    pub(crate) notify_time_scale: f64,
    /// Set when the in-process mock is dropped: its deliveries stop.
    pub(crate) stopped: std::sync::atomic::AtomicBool,
    /// Transactions, splits, finishes and returns.
    ledger: Mutex<Ledger>,
    /// Nonces, `Request-ID`s and generated keys; restarted from the seed by a reset.
    rng: Mutex<Rng>,
    /// Notification ids and nonces: a stream of their own, so that deliveries (timed by the
    /// deliverer) do not shift the answers' sequence; not restarted by a reset, so that a
    /// deliverer from before it can never find its id on a new notification.
    notify_rng: Mutex<Rng>,
    /// What the mock started with.
    start: Start,
}

/// A receiver's key: the merchant that added it, its type, its account.
type ReceiverKey = (String, String, String);

/// Receivers by key, and their keys in the order they were added (for eviction and listing).
#[derive(Default)]
struct ReceiverBook {
    by_key: HashMap<ReceiverKey, StoredReceiver>,
    added: VecDeque<ReceiverKey>,
}

/// Orders by key, and their keys in creation order (for eviction).
#[derive(Default)]
struct Orders {
    by_key: HashMap<Key, StoredOrder>,
    created: VecDeque<Key>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(
        start: Start,
        clock: Arc<dyn Clock>,
        max_body: usize,
        log_to_stderr: bool,
        bounds: Bounds,
        primary: Option<String>,
        notify_time_scale: f64,
    ) -> Self {
        Self {
            merchants: RwLock::new(start.merchants.clone()),
            platforms: RwLock::new(start.platforms.clone()),
            signer: RwLock::new(start.signer.clone()),
            merchant_signers: RwLock::new(HashMap::new()),
            clock,
            orders: Mutex::new(Orders::default()),
            outcomes: Mutex::new(HashMap::new()),
            faults: Mutex::new(Vec::new()),
            processing: Mutex::new(start.processing),
            answers: Mutex::new(VecDeque::new()),
            bounds,
            max_body,
            log_to_stderr,
            receivers: Mutex::new(ReceiverBook::default()),
            deliveries: Mutex::new(Deliveries::default()),
            primary,
            notify_time_scale,
            stopped: std::sync::atomic::AtomicBool::new(false),
            ledger: Mutex::new(Ledger::with(start.settings.clone(), start.seed)),
            rng: Mutex::new(Rng::stream(start.seed, Stream::Answers)),
            notify_rng: Mutex::new(Rng::stream(start.seed, Stream::Notifications)),
            start,
        }
    }

    /// The generator of nonces and ids. Held only to draw: never while signing.
    pub(crate) fn rng(&self) -> std::sync::MutexGuard<'_, Rng> {
        lock(&self.rng)
    }

    /// The generator of notification ids and nonces.
    pub(crate) fn notify_rng(&self) -> std::sync::MutexGuard<'_, Rng> {
        lock(&self.notify_rng)
    }

    /// The money of the profit-sharing family. Lock order: the ledger before the receivers.
    pub(crate) fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    /// How many orders (and splits, returns, transactions) are kept.
    pub(crate) fn order_bound(&self) -> usize {
        self.bounds.orders
    }

    /// How long new records stay processing, unless a plan says otherwise.
    pub(crate) fn processing(&self) -> Processing {
        *lock(&self.processing)
    }

    /// Whether merchant `mchid` added receiver (`receiver_type`, `account`).
    pub(crate) fn has_receiver(&self, mchid: &str, receiver_type: &str, account: &str) -> bool {
        lock(&self.receivers).by_key.contains_key(&(
            mchid.to_owned(),
            receiver_type.to_owned(),
            account.to_owned(),
        ))
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    pub(crate) fn merchant(&self, mchid: &str) -> Option<Merchant> {
        self.merchants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(mchid)
            .cloned()
    }

    /// Accepts requests from `mchid`; whether it replaced a merchant of that id.
    pub(crate) fn add_merchant(&self, mchid: String, merchant: Merchant) -> bool {
        self.merchants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(mchid, merchant)
            .is_some()
    }

    /// Puts merchant `mchid` in certificate mode with `key`; whether the merchant exists.
    pub(crate) fn set_apiv3(&self, mchid: &str, key: Apiv3) -> bool {
        let mut all = self
            .merchants
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(m) = all.get_mut(mchid) else {
            return false;
        };
        m.apiv3 = key;
        m.certificate_mode = true;
        true
    }

    /// Whether the mock knows merchant `mchid`.
    pub(crate) fn knows(&self, mchid: &str) -> bool {
        self.merchants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(mchid)
    }

    /// Whether `serial` signs anyone's answers: every merchant's, or a known merchant's own.
    pub(crate) fn signs_with(&self, serial: &str) -> bool {
        self.signer().serial == serial
            || self
                .merchant_signers
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|(mchid, s)| s.serial == serial && self.knows(mchid))
    }

    /// Every merchant, sorted by id.
    pub(crate) fn merchants(&self) -> Vec<(String, Merchant)> {
        let mut all: Vec<(String, Merchant)> = self
            .merchants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, m)| (id.clone(), m.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The merchant notifications go to when none is named: the builder's first.
    pub(crate) fn primary(&self) -> Option<&str> {
        self.primary.as_deref()
    }

    /// The private key of the WeChat Pay key named `serial` (the public key id, or a published
    /// platform certificate's serial): what decrypts a field encrypted for it.
    pub(crate) fn decrypting_key(&self, serial: &str) -> Option<PrivateKey> {
        if self.start.public_key_signer.serial == serial {
            return Some(self.start.public_key_signer.key.clone());
        }
        self.platforms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|p| p.cert.serial() == serial)
            .map(|p| p.signer.key.clone())
    }

    /// Adds or replaces a receiver of merchant `receiver.mchid`.
    pub(crate) fn add_receiver(&self, receiver: StoredReceiver) {
        let key = receiver.key();
        let mut book = lock(&self.receivers);
        if !book.by_key.contains_key(&key) {
            while book.by_key.len() >= self.bounds.orders.max(1) {
                let Some(oldest) = book.added.pop_front() else {
                    break;
                };
                book.by_key.remove(&oldest);
            }
            book.added.push_back(key.clone());
        }
        book.by_key.insert(key, receiver);
    }

    /// Removes a receiver; whether it existed.
    pub(crate) fn delete_receiver(&self, mchid: &str, receiver_type: &str, account: &str) -> bool {
        let key = (
            mchid.to_owned(),
            receiver_type.to_owned(),
            account.to_owned(),
        );
        let mut book = lock(&self.receivers);
        let existed = book.by_key.remove(&key).is_some();
        if existed {
            book.added.retain(|k| *k != key);
        }
        existed
    }

    /// The receivers of `mchid` (every merchant's when `None`), in the order they were added.
    pub(crate) fn receivers(&self, mchid: Option<&str>) -> Vec<StoredReceiver> {
        let book = lock(&self.receivers);
        book.added
            .iter()
            .filter(|k| mchid.is_none_or(|m| k.0 == m))
            .filter_map(|k| book.by_key.get(k).cloned())
            .collect()
    }

    /// The notification deliveries and the ids waiting for a deliverer.
    pub(crate) fn deliveries(&self) -> std::sync::MutexGuard<'_, Deliveries> {
        lock(&self.deliveries)
    }

    pub(crate) fn platforms(&self) -> Vec<Platform> {
        self.platforms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn platform_certificates(&self) -> Vec<PlatformCertificate> {
        self.platforms().into_iter().map(|p| p.cert).collect()
    }

    pub(crate) fn add_platform(&self, platform: Platform) {
        let mut all = self
            .platforms
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        all.retain(|p| p.cert.serial() != platform.cert.serial());
        all.push(platform);
    }

    pub(crate) fn retire_platform(&self, serial: &str) -> bool {
        let mut all = self
            .platforms
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let before = all.len();
        all.retain(|p| p.cert.serial() != serial);
        before != all.len()
    }

    /// The signer of platform certificate `serial`, or of the last one published.
    pub(crate) fn platform_signer(&self, serial: Option<&str>) -> Option<Signer> {
        let all = self
            .platforms
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match serial {
            Some(s) => all.iter().find(|p| p.cert.serial() == s),
            None => all.last(),
        }
        .map(|p| p.signer.clone())
    }

    /// The key that signs answers to merchants without a key of their own.
    pub(crate) fn signer(&self) -> Signer {
        self.signer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key that signs answers to merchant `mchid`.
    pub(crate) fn signer_for(&self, mchid: &str) -> Signer {
        self.merchant_signers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(mchid)
            .cloned()
            .unwrap_or_else(|| self.signer())
    }

    /// Signs every merchant's answers with `signer` (those with a key of their own too).
    pub(crate) fn set_signer(&self, signer: Signer) {
        *self.signer.write().unwrap_or_else(PoisonError::into_inner) = signer;
        self.merchant_signers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Signs merchant `mchid`'s answers with `signer`.
    pub(crate) fn set_merchant_signer(&self, mchid: &str, signer: Signer) {
        self.merchant_signers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(mchid.to_owned(), signer);
    }

    pub(crate) fn set_processing(&self, p: Processing) {
        *lock(&self.processing) = p;
    }

    /// Arms `fault` for the next `times` requests on `route` (1 or more: the steering checks).
    pub(crate) fn arm(&self, route: Route, fault: Fault, times: usize) {
        lock(&self.faults).push(Armed {
            route,
            fault,
            remaining: times,
        });
    }

    /// Takes the first armed fault that covers `route`, if any.
    pub(crate) fn take_fault(&self, route: Route) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let idx = faults.iter().position(|a| a.route.covers(route))?;
        let armed = &mut faults[idx];
        armed.remaining -= 1;
        let fault = armed.fault.clone();
        if armed.remaining == 0 {
            faults.remove(idx);
        }
        Some(fault)
    }

    pub(crate) fn record(&self, answer: Answer) {
        let mut log = lock(&self.answers);
        if log.len() >= self.bounds.log {
            log.pop_front();
        }
        if self.bounds.log > 0 {
            log.push_back(answer);
        }
    }

    pub(crate) fn answers(&self) -> Vec<Answer> {
        lock(&self.answers).iter().cloned().collect()
    }

    /// Back to the start: orders, planned outcomes, armed faults, the log, receivers,
    /// notification deliveries (those under way stop at their next attempt), transactions,
    /// splits, returns, notify URLs, the processing time and the generator's sequence; and,
    /// unless `keep` says otherwise, the merchants, the platform certificates, the signing
    /// keys and the settings.
    pub(crate) fn reset(&self, keep: Keep) {
        {
            let mut ledger = lock(&self.ledger);
            let settings = if keep.settings {
                ledger.settings.clone()
            } else {
                self.start.settings.clone()
            };
            *ledger = Ledger::with(settings, self.start.seed);
        }
        *lock(&self.orders) = Orders::default();
        lock(&self.outcomes).clear();
        lock(&self.faults).clear();
        lock(&self.answers).clear();
        *lock(&self.receivers) = ReceiverBook::default();
        *lock(&self.deliveries) = Deliveries::default();
        *lock(&self.rng) = Rng::stream(self.start.seed, Stream::Answers);
        *lock(&self.processing) = self.start.processing;
        if !keep.merchants {
            *self
                .merchants
                .write()
                .unwrap_or_else(PoisonError::into_inner) = self.start.merchants.clone();
        }
        if !keep.certificates {
            *self
                .platforms
                .write()
                .unwrap_or_else(PoisonError::into_inner) = self.start.platforms.clone();
            // Every merchant's own key goes too.
            self.set_signer(self.start.signer.clone());
        }
    }

    /// How the order ends, and (when given) how long it stays `PROCESSING` first.
    pub(crate) fn plan_with(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
        outcome: Outcome,
        processing: Option<Processing>,
    ) {
        let mut plans = lock(&self.outcomes);
        // Plans are kept as long as orders are: bounded the same way.
        if plans.len() >= self.bounds.orders.max(1) {
            plans.clear();
        }
        plans.insert(
            (sub_mchid.to_owned(), transaction_id.to_owned()),
            (outcome, processing),
        );
    }

    /// The key pair of the WeChat Pay public key.
    pub(crate) fn public_key_signer(&self) -> Signer {
        self.start.public_key_signer.clone()
    }

    /// The order (`sub_mchid`, `transaction_id`), whichever merchant created it.
    pub(crate) fn order(&self, sub_mchid: &str, transaction_id: &str) -> Option<StoredOrder> {
        lock(&self.orders)
            .by_key
            .iter()
            .find(|((_, s, t), _)| s == sub_mchid && t == transaction_id)
            .map(|(_, o)| o.clone())
    }

    pub(crate) fn order_count(&self) -> usize {
        lock(&self.orders).by_key.len()
    }

    /// Stores a new order, or says how an existing one compares.
    pub(crate) fn create(&self, mchid: &str, request: AfterSalesRequest, now: i64) -> Created {
        let key = (
            mchid.to_owned(),
            request.sub_mchid.clone(),
            request.transaction_id.clone(),
        );
        let mut orders = lock(&self.orders);
        match orders.by_key.get(&key) {
            Some(existing) if existing.request == request => Created::Repeat,
            Some(_) => Created::Conflict,
            None => {
                while orders.by_key.len() >= self.bounds.orders.max(1) {
                    let Some(oldest) = orders.created.pop_front() else {
                        break;
                    };
                    orders.by_key.remove(&oldest);
                }
                orders.created.push_back(key.clone());
                orders.by_key.insert(
                    key,
                    StoredOrder {
                        request,
                        created_at: now,
                        queries: 0,
                        finished_at: None,
                    },
                );
                Created::New
            }
        }
    }

    /// Answers a query: counts it, and moves the order to its final result once its
    /// processing time and query count have passed.
    /// Only the merchant that created an order sees it.
    pub(crate) fn query(
        &self,
        mchid: &str,
        sub_mchid: &str,
        transaction_id: &str,
        now: i64,
    ) -> Option<serde_json::Value> {
        let plan_key = (sub_mchid.to_owned(), transaction_id.to_owned());
        let key = (mchid.to_owned(), plan_key.0.clone(), plan_key.1.clone());
        let (outcome, processing) = match lock(&self.outcomes).get(&plan_key) {
            Some((outcome, Some(p))) => (outcome.clone(), *p),
            Some((outcome, None)) => (outcome.clone(), *lock(&self.processing)),
            None => (Outcome::Success, *lock(&self.processing)),
        };
        let mut orders = lock(&self.orders);
        let order = orders.by_key.get_mut(&key)?;
        order.queries = order.queries.saturating_add(1);
        if order.finished_at.is_none()
            && outcome != Outcome::StaysProcessing
            && order.queries > processing.queries
            && now.saturating_sub(order.created_at) >= processing.seconds
        {
            order.finished_at = Some(now);
        }
        let (result, fail_reason) = match (order.finished_at, &outcome) {
            (None, _) => ("PROCESSING", None),
            (Some(_), Outcome::Success) => ("SUCCESS", None),
            (Some(_), Outcome::Failed(r)) => ("FAILED", Some(r.as_str())),
            (Some(_), _) => ("PROCESSING", None),
        };
        let request = &order.request;
        Some(serde_json::json!(wire::AfterSalesOrder {
            sub_mchid: &request.sub_mchid,
            transaction_id: &request.transaction_id,
            amount: request.amount,
            result,
            fail_reason,
            finish_time: order.finished_at.map(wire::beijing),
        }))
    }
}

pub(crate) enum Created {
    New,
    Repeat,
    Conflict,
}
