//! What the mock remembers: merchants, orders, planned outcomes, armed faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{
    AfterSalesOrder, Clock, CreateAfterSalesOrder, Error, FailReason, PlatformCertificate,
    PrivateKey, ProfitSharingResult, PublicKey,
};

use crate::faults::{Armed, Fault, Route};
use crate::ledger::{Ledger, Settings};
use crate::notify::Deliveries;
use crate::receivers::StoredReceiver;
use crate::reply::Signer;

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
    /// A merchant in public-key mode, with a freshly generated APIv3 key.
    pub(crate) fn new(serial: String, public_key: PublicKey) -> Self {
        Self {
            serial,
            public_key,
            apiv3: Apiv3::generated(),
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
    /// 32 random letters and digits.
    pub(crate) fn generated() -> Self {
        let text = crate::keys::random_alnum(32);
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
    pub(crate) fn load(certificate_pem: &str, private_key_pem: &str) -> Result<Self, Error> {
        let cert = PlatformCertificate::from_pem(certificate_pem)?;
        let key = PrivateKey::from_pem_with(private_key_pem, crate::fastest_backend())?;
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
    pub request: CreateAfterSalesOrder,
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

/// How long a new order stays `PROCESSING`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Processing {
    pub(crate) queries: u32,
    pub(crate) seconds: i64,
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

pub(crate) struct State {
    merchants: RwLock<HashMap<String, Merchant>>,
    platforms: RwLock<Vec<Platform>>,
    signer: RwLock<Signer>,
    clock: Arc<dyn Clock>,
    orders: Mutex<Orders>,
    outcomes: Mutex<HashMap<PlanKey, (Outcome, Option<Processing>)>>,
    public_key_signer: Signer,
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
    #[allow(
        clippy::too_many_arguments,
        reason = "called once, by the builder, with each of its settings"
    )]
    pub(crate) fn new(
        merchants: HashMap<String, Merchant>,
        platforms: Vec<Platform>,
        signer: Signer,
        public_key_signer: Signer,
        clock: Arc<dyn Clock>,
        processing: Processing,
        max_body: usize,
        log_to_stderr: bool,
        bounds: Bounds,
        primary: Option<String>,
        notify_time_scale: f64,
        settings: Settings,
    ) -> Self {
        Self {
            merchants: RwLock::new(merchants),
            platforms: RwLock::new(platforms),
            signer: RwLock::new(signer),
            clock,
            orders: Mutex::new(Orders::default()),
            outcomes: Mutex::new(HashMap::new()),
            public_key_signer,
            faults: Mutex::new(Vec::new()),
            processing: Mutex::new(processing),
            answers: Mutex::new(VecDeque::new()),
            bounds,
            max_body,
            log_to_stderr,
            receivers: Mutex::new(ReceiverBook::default()),
            deliveries: Mutex::new(Deliveries::default()),
            primary,
            notify_time_scale,
            stopped: std::sync::atomic::AtomicBool::new(false),
            ledger: Mutex::new(Ledger::with(settings)),
        }
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

    pub(crate) fn add_merchant(&self, mchid: String, merchant: Merchant) {
        self.merchants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(mchid, merchant);
    }

    pub(crate) fn set_apiv3_key(&self, mchid: &str, key: ApiV3Key) {
        if let Some(m) = self
            .merchants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(mchid)
        {
            m.apiv3 = Apiv3::given(key);
            m.certificate_mode = true;
        }
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
        if self.public_key_signer.serial == serial {
            return Some(self.public_key_signer.key.clone());
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

    pub(crate) fn signer(&self) -> Signer {
        self.signer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_signer(&self, signer: Signer) {
        *self.signer.write().unwrap_or_else(PoisonError::into_inner) = signer;
    }

    pub(crate) fn set_processing(&self, p: Processing) {
        *lock(&self.processing) = p;
    }

    pub(crate) fn arm(&self, route: Route, fault: Fault, times: usize) {
        if times > 0 {
            lock(&self.faults).push(Armed {
                route,
                fault,
                remaining: times,
            });
        }
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

    /// Forgets orders, planned outcomes, armed faults, the log, receivers, notification
    /// deliveries (deliveries under way stop at their next attempt), transactions, splits,
    /// returns and notify URLs; keeps the settings.
    pub(crate) fn reset(&self) {
        lock(&self.ledger).reset();
        *lock(&self.orders) = Orders::default();
        lock(&self.outcomes).clear();
        lock(&self.faults).clear();
        lock(&self.answers).clear();
        *lock(&self.receivers) = ReceiverBook::default();
        *lock(&self.deliveries) = Deliveries::default();
    }

    pub(crate) fn plan(&self, sub_mchid: &str, transaction_id: &str, outcome: Outcome) {
        self.plan_with(sub_mchid, transaction_id, outcome, None);
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
        self.public_key_signer.clone()
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
    pub(crate) fn create(&self, mchid: &str, request: CreateAfterSalesOrder) -> Created {
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
                        created_at: self.now(),
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
    ) -> Option<AfterSalesOrder> {
        let plan_key = (sub_mchid.to_owned(), transaction_id.to_owned());
        let key = (mchid.to_owned(), plan_key.0.clone(), plan_key.1.clone());
        let (outcome, processing) = match lock(&self.outcomes).get(&plan_key) {
            Some((outcome, Some(p))) => (outcome.clone(), *p),
            Some((outcome, None)) => (outcome.clone(), *lock(&self.processing)),
            None => (Outcome::Success, *lock(&self.processing)),
        };
        let now = self.now();
        let mut orders = lock(&self.orders);
        let order = orders.by_key.get_mut(&key)?;
        order.queries = order.queries.saturating_add(1);
        if order.finished_at.is_none()
            && outcome != Outcome::StaysProcessing
            && order.queries > processing.queries
            && now - order.created_at >= processing.seconds
        {
            order.finished_at = Some(now);
        }
        let (result, fail_reason) = match (order.finished_at, &outcome) {
            (None, _) => (ProfitSharingResult::Processing, None),
            (Some(_), Outcome::Success) => (ProfitSharingResult::Success, None),
            (Some(_), Outcome::Failed(r)) => (ProfitSharingResult::Failed, Some(r.clone())),
            (Some(_), _) => (ProfitSharingResult::Processing, None),
        };
        let beijing = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
        Some(AfterSalesOrder {
            sub_mchid: order.request.sub_mchid.clone(),
            transaction_id: order.request.transaction_id.clone(),
            amount: order.request.amount,
            result,
            fail_reason,
            finish_time: order.finished_at.and_then(|t| {
                time::OffsetDateTime::from_unix_timestamp(t)
                    .ok()
                    .map(|t| t.to_offset(beijing))
            }),
        })
    }
}

pub(crate) enum Created {
    New,
    Repeat,
    Conflict,
}
