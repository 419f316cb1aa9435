//! The sandbox's money: paid transactions, the splits that move their funds to receivers, the
//! finishes that release the rest, and the returns that bring funds back
//! (SPEC-profitsharing §A). Sans-IO: every change takes `now`; what becomes final is handed
//! back as [`Notice`]s for the simulator to turn into notifications.
//!
//! The rules, each refused with a message that names it:
//!
//! - a split never takes more than is left: the transaction's paid amount, minus the shares of
//!   earlier splits that are `PENDING` or `SUCCESS` (a `CLOSED` share comes back);
//!   `400 NOT_ENOUGH`;
//! - a finished transaction (`finish: true` on a split, or `finish-order`) refuses splits and
//!   a second finish; its unsplit amount is 0 (`400 INVALID_REQUEST`);
//! - a return never takes more from a receiver than that split gave it (its share, once
//!   `SUCCESS`) minus earlier returns that are `PROCESSING` or `SUCCESS` (`400 NOT_ENOUGH`);
//!   a `return_mchid` the split gave nothing is `400 INVALID_REQUEST`;
//! - one `out_order_no` / `out_return_no` again with the same body answers the same record;
//!   with another body it is refused (`400 INVALID_REQUEST`);
//! - a receiver must have been added (`receivers/add`) by the merchant before its split names
//!   it (`400 INVALID_REQUEST`).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;

use serde::Serialize;
use serde_json::{Value, json};

use crate::faults::RateLimitCode;
use crate::reply::Reply;
use crate::rng::{Rng, Stream};
use crate::wire::beijing;

/// How long a new record stays processing (an order `PROCESSING`, a share `PENDING`): for
/// `queries` queries and `seconds` after it was made, both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Processing {
    pub(crate) queries: u32,
    pub(crate) seconds: i64,
}

/// What a transaction nobody declared is taken to have paid, in fen (one billion yuan), unless
/// the sandbox is strict about transactions (`--strict-transactions`).
pub const LENIENT_PAID_AMOUNT: i64 = 100_000_000_000;

/// A paid transaction, as the sandbox keeps its money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredTransaction {
    /// WeChat Pay's transaction id.
    pub transaction_id: String,
    /// The sub-merchant that was paid.
    pub sub_mchid: String,
    /// What was paid, in fen.
    pub amount: i64,
    /// Whether it was declared (`POST /mock/transactions`); `false`: taken as paid
    /// [`LENIENT_PAID_AMOUNT`] because a split named it.
    pub declared: bool,
    /// The shares of its splits that are `PENDING` or `SUCCESS`, in fen.
    pub split_amount: i64,
    /// The shares of its splits that are `SUCCESS`, in fen.
    pub succeeded_amount: i64,
    /// Funds returned from receivers (returns that are `SUCCESS`), in fen.
    pub returned_amount: i64,
    /// Whether splitting is over (`finish: true` on a split, or `finish-order`).
    pub finished: bool,
    /// What the finish released to the sub-merchant, in fen.
    pub finish_amount: Option<i64>,
    /// What may still be split, in fen: `amount − split_amount`, or 0 once finished.
    pub unsplit_amount: i64,
}

impl StoredTransaction {
    fn new(sub_mchid: &str, transaction_id: &str, amount: i64, declared: bool) -> Self {
        Self {
            transaction_id: transaction_id.to_owned(),
            sub_mchid: sub_mchid.to_owned(),
            amount,
            declared,
            split_amount: 0,
            succeeded_amount: 0,
            returned_amount: 0,
            finished: false,
            finish_amount: None,
            unsplit_amount: amount,
        }
    }

    fn refresh(&mut self) {
        self.unsplit_amount = if self.finished {
            0
        } else {
            self.amount.saturating_sub(self.split_amount).max(0)
        };
    }
}

/// Where one receiver's share of a split stands.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShareResult {
    /// Not yet paid.
    Pending,
    /// Paid to the receiver.
    Success,
    /// Closed unpaid: the amount may be split again.
    Closed,
}

impl ShareResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
        }
    }
}

/// One receiver's share of a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredShare {
    /// `MERCHANT_ID` or `PERSONAL_OPENID`.
    #[serde(rename = "type")]
    pub receiver_type: String,
    /// The mchid or openid.
    pub account: String,
    /// In fen.
    pub amount: i64,
    /// What it is for.
    pub description: String,
    /// The name, decrypted from `receiver_name`, when sent.
    pub name: Option<String>,
    /// WeChat Pay's number for this share.
    pub detail_id: String,
    /// Where it stands.
    pub result: ShareResult,
    /// Why it closed.
    pub fail_reason: Option<String>,
    /// When it became final (Unix seconds).
    pub finish_time: Option<i64>,
    /// Returns from this share that are `PROCESSING` or `SUCCESS`, in fen.
    pub returned: i64,
}

/// A split (or a finish, made by `finish-order`) as the sandbox records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredSplit {
    /// The merchant that asked for it (the service provider).
    pub mchid: String,
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The paid order.
    pub transaction_id: String,
    /// The merchant's number.
    pub out_order_no: String,
    /// WeChat Pay's number.
    pub order_id: String,
    /// `finish: true` on the split, or made by `finish-order`.
    pub finish: bool,
    /// Made by `finish-order` (no receivers).
    pub finish_order: bool,
    /// The receivers' shares.
    pub receivers: Vec<StoredShare>,
    /// What the finish released to the sub-merchant, in fen.
    pub finish_amount: Option<i64>,
    /// The finish's description (`finish-order`).
    pub finish_description: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// How many queries have been answered for it.
    pub queries: u32,
    /// `appid`, when sent.
    #[serde(skip)]
    pub(crate) appid: Option<String>,
}

impl StoredSplit {
    /// `PROCESSING` while a share is `PENDING`, else `FINISHED`.
    pub fn status(&self) -> &'static str {
        if self
            .receivers
            .iter()
            .any(|r| r.result == ShareResult::Pending)
        {
            "PROCESSING"
        } else {
            "FINISHED"
        }
    }

    /// Whether `other` is the same request: the same transaction, receivers (names compared
    /// decrypted: each encryption of a name differs), `finish` and finish description.
    fn same_request(&self, other: &Self) -> bool {
        let shares = |s: &Self| -> Vec<(String, String, i64, String, Option<String>)> {
            s.receivers
                .iter()
                .map(|r| {
                    (
                        r.receiver_type.clone(),
                        r.account.clone(),
                        r.amount,
                        r.description.clone(),
                        r.name.clone(),
                    )
                })
                .collect()
        };
        self.transaction_id == other.transaction_id
            && self.appid == other.appid
            && self.finish == other.finish
            && self.finish_order == other.finish_order
            && self.finish_description == other.finish_description
            && shares(self) == shares(other)
    }

    fn total(&self) -> i64 {
        self.receivers
            .iter()
            .fold(0i64, |sum, r| sum.saturating_add(r.amount))
    }
}

/// Where a return stands.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnResult {
    /// Not yet final.
    Processing,
    /// Returned.
    Success,
    /// Failed: nothing came back.
    Fail,
}

impl ReturnResult {
    fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Fail => "FAIL",
        }
    }
}

/// A return as the sandbox records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredReturn {
    /// The merchant that asked for it.
    pub mchid: String,
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The split's WeChat Pay number.
    pub order_id: String,
    /// The split's merchant number.
    pub out_order_no: String,
    /// The paid order of the split.
    pub transaction_id: String,
    /// The merchant's number for the return.
    pub out_return_no: String,
    /// WeChat Pay's number for the return.
    pub return_no: String,
    /// The receiver the funds come back from.
    pub return_mchid: String,
    /// In fen.
    pub amount: i64,
    /// Why.
    pub description: String,
    /// Where it stands.
    pub result: ReturnResult,
    /// Why it failed.
    pub fail_reason: Option<String>,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it became final (Unix seconds).
    pub finish_time: Option<i64>,
    /// How many queries have been answered for it.
    pub queries: u32,
    /// The split reference as sent: `order_id`, `out_order_no`, `transaction_id`.
    #[serde(skip)]
    pub(crate) asked: (Option<String>, Option<String>, Option<String>),
}

/// How a split's share ends (see [`crate::MockWechatPay::plan_share`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareOutcome {
    /// `SUCCESS` (the default): paid to the receiver, notified.
    Success,
    /// `CLOSED` with this `fail_reason` (e.g. `NO_RELATION`): the amount may be split again.
    Closed(String),
    /// `PENDING` for ever.
    Pending,
}

/// How a return ends (see [`crate::MockWechatPay::plan_return`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// `SUCCESS` (the default): the funds are back, notified.
    Success,
    /// `FAIL` with this `fail_reason` (e.g. `ACCOUNT_ABNORMAL`): nothing came back.
    Fail(String),
    /// `PROCESSING` for ever.
    Processing,
}

/// A notification to send: a share paid or a return made, to the URL registered for the
/// receiver's account.
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub(crate) url: String,
    /// Whose APIv3 key encrypts, when the registration named one.
    pub(crate) mchid: Option<String>,
    /// The receiver's account.
    pub(crate) account: String,
    /// The merchant that made the split.
    pub(crate) sp_mchid: String,
    pub(crate) summary: &'static str,
    pub(crate) resource: Value,
}

/// Where a receiver's notifications go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NotifyUrl {
    /// The receiver's account (mchid or openid).
    pub account: String,
    /// Where its notifications are POSTed.
    pub url: String,
    /// Whose APIv3 key encrypts them; `None`: the account's own when the sandbox knows it as a
    /// merchant, else the key of the merchant that made the split.
    pub mchid: Option<String>,
}

/// Switches of the sandbox's rules: the money rules, the frequency limits and who may call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Settings {
    /// Refuse splits, finishes and `amounts` of transactions nobody declared
    /// (`400 INVALID_REQUEST "unknown transaction"`) instead of taking them as paid
    /// [`LENIENT_PAID_AMOUNT`].
    pub strict_transactions: bool,
    /// Answer `429 FREQUENCY_LIMITED` (with `Retry-After`) over WeChat Pay's documented limits
    /// for `POST orders`: one a second for the same transaction, 30 a second naming the same
    /// receiver, 300 a second from the same merchant.
    pub rate_limits: bool,
    /// At most this many requests a second from one merchant, over every route (`None`, the
    /// default: no limit); beyond it, 429 with [`Settings::rate_limit_code`] and
    /// `Retry-After: 1`.
    pub frequency_limit: Option<u32>,
    /// The code of every 429 the sandbox answers (limits and the injected
    /// `frequency_limited` fault). Default `FREQUENCY_LIMITED`.
    pub rate_limit_code: RateLimitCode,
    /// The platform merchants (服务商) allowed to call; any other merchant, even one the
    /// sandbox knows, gets 403 `NO_AUTH`. Empty, the default: every merchant it knows.
    pub platform_mchids: Vec<String>,
}

/// A value kept in insertion order, the oldest forgotten first beyond a bound.
struct Book<K, V> {
    by_key: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for Book<K, V> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, V> Book<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.by_key.get(key)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.by_key.get_mut(key)
    }

    /// Inserts (or replaces); returns the values forgotten to stay within `bound`.
    fn insert(&mut self, key: K, value: V, bound: usize) -> Vec<V> {
        let mut dropped = Vec::new();
        if !self.by_key.contains_key(&key) {
            while self.by_key.len() >= bound.max(1) {
                let Some(oldest) = self.order.pop_front() else {
                    break;
                };
                dropped.extend(self.by_key.remove(&oldest));
            }
            self.order.push_back(key.clone());
        }
        self.by_key.insert(key, value);
        dropped
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.order.iter().filter_map(|k| self.by_key.get(k))
    }
}

/// A split's key: the merchant that made it, the sub-merchant, `out_order_no`.
pub(crate) type SplitKey = (String, String, String);
/// A return's key: the merchant that made it, the sub-merchant, `out_return_no`.
pub(crate) type ReturnKey = (String, String, String);

/// A planned outcome and how long it stays processing first (`None`: the sandbox's default).
type Plan<T> = (T, Option<Processing>);

/// Rate-limit windows: (limit kind, key) → (second, count).
type Windows = HashMap<(&'static str, String), (i64, u32)>;

/// The sandbox's money, behind one lock.
#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) settings: Settings,
    transactions: Book<String, StoredTransaction>,
    splits: Book<SplitKey, StoredSplit>,
    order_ids: HashMap<String, SplitKey>,
    returns: Book<ReturnKey, StoredReturn>,
    /// Sorted: what a sweep settles first, and so the order of its notifications, does not
    /// depend on a hash seed.
    pending_splits: BTreeSet<SplitKey>,
    pending_returns: BTreeSet<ReturnKey>,
    /// (sub_mchid, out_order_no, receiver account or every receiver).
    share_plans: HashMap<(String, String, Option<String>), Plan<ShareOutcome>>,
    /// (sub_mchid, out_return_no).
    return_plans: HashMap<(String, String), Plan<ReturnOutcome>>,
    notify_urls: HashMap<String, NotifyUrl>,
    windows: Windows,
    /// Order, detail and return numbers: the seed's ledger stream.
    rng: Rng,
}

/// A split as asked: what [`Ledger::split`] needs beyond the merchant.
pub(crate) struct SplitAsk {
    pub(crate) appid: Option<String>,
    pub(crate) sub_mchid: String,
    pub(crate) transaction_id: String,
    pub(crate) out_order_no: String,
    /// (type, account, amount, description, name).
    pub(crate) receivers: Vec<(String, String, i64, String, Option<String>)>,
    pub(crate) finish: bool,
}

/// A finish as asked.
pub(crate) struct FinishAsk {
    pub(crate) sub_mchid: String,
    pub(crate) transaction_id: String,
    pub(crate) out_order_no: String,
    pub(crate) description: String,
}

/// What settling records needs: the time, the processing that applies without a plan, and
/// where the notifications of money moved go.
pub(crate) struct Settle<'a> {
    pub(crate) now: i64,
    pub(crate) default: Processing,
    pub(crate) notices: &'a mut Vec<Notice>,
}

/// A return as asked.
pub(crate) struct ReturnAsk {
    pub(crate) sub_mchid: String,
    pub(crate) order_id: Option<String>,
    pub(crate) out_order_no: Option<String>,
    pub(crate) transaction_id: Option<String>,
    pub(crate) out_return_no: String,
    pub(crate) return_mchid: String,
    pub(crate) amount: i64,
    pub(crate) description: String,
}

fn invalid(message: impl Into<String>) -> Reply {
    Reply::error(400, "INVALID_REQUEST", message)
}

/// Whether a record asked at `created_at`, queried `queries` times, is due for its outcome at
/// `now`: it answered "processing" to its first `p.queries` queries, and `p.seconds` passed.
fn due(queries: u32, created_at: i64, now: i64, p: Processing) -> bool {
    queries >= p.queries && now.saturating_sub(created_at) >= p.seconds
}

impl Ledger {
    /// An empty ledger with these settings, its numbers drawn from `seed`'s own stream (they
    /// do not depend on how many nonces answers drew).
    pub(crate) fn with(settings: Settings, seed: u64) -> Self {
        Self {
            settings,
            rng: Rng::stream(seed, Stream::Ledger),
            ..Self::default()
        }
    }

    /// Declares (or re-declares, while nothing was split) a paid transaction.
    pub(crate) fn declare(
        &mut self,
        sub_mchid: &str,
        transaction_id: &str,
        amount: i64,
        bound: usize,
    ) -> Result<StoredTransaction, String> {
        if let Some(existing) = self.transactions.get(&transaction_id.to_owned()) {
            let same =
                existing.declared && existing.sub_mchid == sub_mchid && existing.amount == amount;
            let untouched =
                existing.split_amount == 0 && existing.succeeded_amount == 0 && !existing.finished;
            if same {
                return Ok(existing.clone());
            }
            if !untouched {
                return Err(format!(
                    "transaction {transaction_id} is already declared ({} fen to {}) and has splits or a finish: reset, or use another transaction_id",
                    existing.amount, existing.sub_mchid
                ));
            }
        }
        let tx = StoredTransaction::new(sub_mchid, transaction_id, amount, true);
        self.transactions
            .insert(transaction_id.to_owned(), tx.clone(), bound);
        Ok(tx)
    }

    /// Every transaction, in the order they were declared (or first split).
    pub(crate) fn transactions(&self) -> Vec<StoredTransaction> {
        self.transactions.values().cloned().collect()
    }

    pub(crate) fn transaction(&self, transaction_id: &str) -> Option<StoredTransaction> {
        self.transactions.get(&transaction_id.to_owned()).cloned()
    }

    /// What may still be split of `transaction_id`.
    pub(crate) fn unsplit(&self, transaction_id: &str) -> Result<i64, Reply> {
        match self.transactions.get(&transaction_id.to_owned()) {
            Some(tx) => Ok(tx.unsplit_amount),
            None if self.settings.strict_transactions => Err(unknown_transaction(transaction_id)),
            None => Ok(LENIENT_PAID_AMOUNT),
        }
    }

    /// The splits of `transaction_id` (every one's with `None`), oldest first.
    pub(crate) fn splits(&self, transaction_id: Option<&str>) -> Vec<StoredSplit> {
        self.splits
            .values()
            .filter(|s| transaction_id.is_none_or(|t| s.transaction_id == t))
            .cloned()
            .collect()
    }

    /// The returns of `transaction_id` (every one's with `None`), oldest first.
    pub(crate) fn returns(&self, transaction_id: Option<&str>) -> Vec<StoredReturn> {
        self.returns
            .values()
            .filter(|r| transaction_id.is_none_or(|t| r.transaction_id == t))
            .cloned()
            .collect()
    }

    pub(crate) fn set_notify_url(&mut self, entry: NotifyUrl, bound: usize) {
        if !self.notify_urls.contains_key(&entry.account) && self.notify_urls.len() >= bound.max(1)
        {
            self.notify_urls.clear();
        }
        self.notify_urls.insert(entry.account.clone(), entry);
    }

    pub(crate) fn notify_urls(&self) -> Vec<NotifyUrl> {
        let mut all: Vec<NotifyUrl> = self.notify_urls.values().cloned().collect();
        all.sort_by(|a, b| a.account.cmp(&b.account));
        all
    }

    pub(crate) fn plan_share(
        &mut self,
        sub_mchid: &str,
        out_order_no: &str,
        account: Option<&str>,
        outcome: ShareOutcome,
        processing: Option<Processing>,
        bound: usize,
    ) {
        if self.share_plans.len() >= bound.max(1) {
            self.share_plans.clear();
        }
        self.share_plans.insert(
            (
                sub_mchid.to_owned(),
                out_order_no.to_owned(),
                account.map(str::to_owned),
            ),
            (outcome, processing),
        );
    }

    pub(crate) fn plan_return(
        &mut self,
        sub_mchid: &str,
        out_return_no: &str,
        outcome: ReturnOutcome,
        processing: Option<Processing>,
        bound: usize,
    ) {
        if self.return_plans.len() >= bound.max(1) {
            self.return_plans.clear();
        }
        self.return_plans.insert(
            (sub_mchid.to_owned(), out_return_no.to_owned()),
            (outcome, processing),
        );
    }

    /// Forgets the windows of past seconds once there are many (memory stays flat).
    fn prune_windows(&mut self, now: i64) {
        if self.windows.len() > 10_000 {
            self.windows.retain(|_, (second, _)| *second == now);
        }
    }

    /// Counts a request of merchant `mchid` at `now` against [`Settings::frequency_limit`]:
    /// the 429 when it is over.
    pub(crate) fn frequency_check(&mut self, now: i64, mchid: &str) -> Option<Reply> {
        let limit = self.settings.frequency_limit?;
        self.prune_windows(now);
        let window = self
            .windows
            .entry(("any route", mchid.to_owned()))
            .or_insert((now, 0));
        if window.0 != now {
            *window = (now, 0);
        }
        if window.1 >= limit {
            return Some(Reply::rate_limited(
                self.settings.rate_limit_code,
                format!("频率超限: at most {limit} requests a second from merchant {mchid}"),
                Some(1),
            ));
        }
        window.1 += 1;
        None
    }

    /// With rate limits on: 429 when this split is over a limit (it then does not count); else
    /// it is counted.
    pub(crate) fn rate_check(&mut self, now: i64, mchid: &str, ask: &SplitAsk) -> Option<Reply> {
        if !self.settings.rate_limits {
            return None;
        }
        self.prune_windows(now);
        let mut keys: Vec<(&'static str, String, u32, String)> = vec![
            (
                "transaction",
                ask.transaction_id.clone(),
                1,
                format!(
                    "对同笔订单分账频率过高: at most one split a second for transaction {}",
                    ask.transaction_id
                ),
            ),
            (
                "merchant",
                mchid.to_owned(),
                300,
                format!("at most 300 splits a second from merchant {mchid}"),
            ),
        ];
        for (_, account, ..) in &ask.receivers {
            if !keys.iter().any(|k| k.0 == "receiver" && k.1 == *account) {
                keys.push((
                    "receiver",
                    account.clone(),
                    30,
                    format!("at most 30 splits a second to receiver {account}"),
                ));
            }
        }
        for (kind, key, limit, message) in &keys {
            if let Some((second, count)) = self.windows.get(&(*kind, key.clone()))
                && *second == now
                && *count >= *limit
            {
                return Some(Reply::rate_limited(
                    self.settings.rate_limit_code,
                    message.clone(),
                    Some(1),
                ));
            }
        }
        for (kind, key, ..) in keys {
            let entry = self.windows.entry((kind, key)).or_insert((now, 0));
            if entry.0 != now {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
        None
    }

    /// The transaction a split or finish names: known (and paid to this sub-merchant), or
    /// taken as paid [`LENIENT_PAID_AMOUNT`] unless strict.
    fn transaction_for(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
    ) -> Result<StoredTransaction, Reply> {
        match self.transactions.get(&transaction_id.to_owned()) {
            Some(tx) if tx.sub_mchid != sub_mchid => Err(invalid(format!(
                "transaction {transaction_id} was paid to sub_mchid {}, not {sub_mchid}",
                tx.sub_mchid
            ))),
            Some(tx) => Ok(tx.clone()),
            None if self.settings.strict_transactions => Err(unknown_transaction(transaction_id)),
            None => Ok(StoredTransaction::new(
                sub_mchid,
                transaction_id,
                LENIENT_PAID_AMOUNT,
                false,
            )),
        }
    }

    /// `POST orders` by `mchid`: the record (new, or the same request's), or the refusal.
    /// `added(type, account)` says whether `mchid` added that receiver.
    pub(crate) fn split(
        &mut self,
        mchid: &str,
        ask: SplitAsk,
        now: i64,
        bound: usize,
        added: impl Fn(&str, &str) -> bool,
    ) -> Result<StoredSplit, Reply> {
        let key = (
            mchid.to_owned(),
            ask.sub_mchid.clone(),
            ask.out_order_no.clone(),
        );
        let candidate = StoredSplit {
            mchid: mchid.to_owned(),
            sub_mchid: ask.sub_mchid.clone(),
            transaction_id: ask.transaction_id.clone(),
            out_order_no: ask.out_order_no.clone(),
            order_id: format!("30{}", self.rng.digits(26)),
            finish: ask.finish,
            finish_order: false,
            receivers: ask
                .receivers
                .into_iter()
                .map(
                    |(receiver_type, account, amount, description, name)| StoredShare {
                        receiver_type,
                        account,
                        amount,
                        description,
                        name,
                        detail_id: format!("36{}", self.rng.digits(26)),
                        result: ShareResult::Pending,
                        fail_reason: None,
                        finish_time: None,
                        returned: 0,
                    },
                )
                .collect(),
            finish_amount: None,
            finish_description: None,
            created_at: now,
            queries: 0,
            appid: ask.appid,
        };
        if let Some(existing) = self.splits.get(&key) {
            return if existing.same_request(&candidate) {
                Ok(existing.clone())
            } else {
                Err(reused(
                    "out_order_no",
                    &ask.out_order_no,
                    "a split or finish",
                ))
            };
        }
        let mut tx = self.transaction_for(&ask.sub_mchid, &ask.transaction_id)?;
        if tx.finished {
            return Err(invalid(format!(
                "transaction {} is finished (finish: true, or finish-order): a finished order refuses splits",
                ask.transaction_id
            )));
        }
        for (i, r) in candidate.receivers.iter().enumerate() {
            if !added(&r.receiver_type, &r.account) {
                return Err(invalid(format!(
                    "receivers[{i}]: receiver {} {} has not been added by merchant {mchid}: add it with receivers/add before a split names it",
                    r.receiver_type, r.account
                )));
            }
        }
        let total = candidate.total();
        if total > tx.unsplit_amount {
            return Err(Reply::error(
                400,
                "NOT_ENOUGH",
                format!(
                    "分账金额不足: the split's receivers add up to {total} fen, more than the {} fen left of transaction {} (paid {} fen, minus {} fen of earlier splits)",
                    tx.unsplit_amount, tx.transaction_id, tx.amount, tx.split_amount
                ),
            ));
        }
        let mut split = candidate;
        tx.split_amount = tx.split_amount.saturating_add(total);
        tx.refresh();
        if split.finish {
            split.finish_amount = Some(tx.unsplit_amount);
            tx.finish_amount = Some(tx.unsplit_amount);
            tx.finished = true;
            tx.refresh();
        }
        self.transactions
            .insert(tx.transaction_id.clone(), tx, bound);
        self.store_split(key.clone(), split.clone(), bound);
        self.pending_splits.insert(key);
        Ok(split)
    }

    fn store_split(&mut self, key: SplitKey, split: StoredSplit, bound: usize) {
        self.order_ids.insert(split.order_id.clone(), key.clone());
        for dropped in self.splits.insert(key, split, bound) {
            self.order_ids.remove(&dropped.order_id);
        }
    }

    /// `POST finish-order` by `mchid`: releases what is left; the finish's record.
    pub(crate) fn finish(
        &mut self,
        mchid: &str,
        ask: FinishAsk,
        now: i64,
        bound: usize,
    ) -> Result<StoredSplit, Reply> {
        let FinishAsk {
            sub_mchid,
            transaction_id,
            out_order_no,
            description,
        } = ask;
        let (sub_mchid, transaction_id, out_order_no, description) = (
            sub_mchid.as_str(),
            transaction_id.as_str(),
            out_order_no.as_str(),
            description.as_str(),
        );
        let key = (
            mchid.to_owned(),
            sub_mchid.to_owned(),
            out_order_no.to_owned(),
        );
        let mut record = StoredSplit {
            mchid: mchid.to_owned(),
            sub_mchid: sub_mchid.to_owned(),
            transaction_id: transaction_id.to_owned(),
            out_order_no: out_order_no.to_owned(),
            order_id: format!("30{}", self.rng.digits(26)),
            finish: true,
            finish_order: true,
            receivers: Vec::new(),
            finish_amount: None,
            finish_description: Some(description.to_owned()),
            created_at: now,
            queries: 0,
            appid: None,
        };
        if let Some(existing) = self.splits.get(&key) {
            return if existing.same_request(&record) {
                Ok(existing.clone())
            } else {
                Err(reused("out_order_no", out_order_no, "a split or finish"))
            };
        }
        let mut tx = self.transaction_for(sub_mchid, transaction_id)?;
        if tx.finished {
            return Err(invalid(format!(
                "transaction {transaction_id} is already finished: it released {} fen",
                tx.finish_amount.unwrap_or(0)
            )));
        }
        let released = tx.unsplit_amount;
        tx.finished = true;
        tx.finish_amount = Some(released);
        tx.refresh();
        record.finish_amount = Some(released);
        self.transactions
            .insert(transaction_id.to_owned(), tx, bound);
        self.store_split(key, record.clone(), bound);
        Ok(record)
    }

    /// `GET orders` by `mchid`: counts the query, makes the shares final when due.
    pub(crate) fn query_split(
        &mut self,
        mchid: &str,
        sub_mchid: &str,
        transaction_id: &str,
        out_order_no: &str,
        settle: Settle<'_>,
    ) -> Option<StoredSplit> {
        let key = (
            mchid.to_owned(),
            sub_mchid.to_owned(),
            out_order_no.to_owned(),
        );
        if self.splits.get(&key)?.transaction_id != transaction_id {
            return None;
        }
        self.settle_split(&key, settle.now, settle.default, settle.notices);
        let split = self.splits.get_mut(&key)?;
        split.queries = split.queries.saturating_add(1);
        Some(split.clone())
    }

    /// `POST returnorders` by `mchid`.
    pub(crate) fn give_back(
        &mut self,
        mchid: &str,
        ask: ReturnAsk,
        now: i64,
        bound: usize,
    ) -> Result<StoredReturn, Reply> {
        let key = (
            mchid.to_owned(),
            ask.sub_mchid.clone(),
            ask.out_return_no.clone(),
        );
        let asked = (
            ask.order_id.clone(),
            ask.out_order_no.clone(),
            ask.transaction_id.clone(),
        );
        if let Some(existing) = self.returns.get(&key) {
            let same = existing.asked == asked
                && existing.return_mchid == ask.return_mchid
                && existing.amount == ask.amount
                && existing.description == ask.description;
            return if same {
                Ok(existing.clone())
            } else {
                Err(reused("out_return_no", &ask.out_return_no, "a return"))
            };
        }
        let split_key = self.split_of(mchid, &ask)?;
        let split = self
            .splits
            .get(&split_key)
            .ok_or_else(|| invalid("the split is no longer kept"))?;
        if split.finish_order {
            return Err(invalid(format!(
                "{} is a finish (finish-order): it gave no receiver anything to return",
                split.out_order_no
            )));
        }
        if let Some(t) = &ask.transaction_id
            && *t != split.transaction_id
        {
            return Err(invalid(format!(
                "transaction_id {t} is not the split's ({})",
                split.transaction_id
            )));
        }
        let Some(share) = split
            .receivers
            .iter()
            .find(|r| r.receiver_type == "MERCHANT_ID" && r.account == ask.return_mchid)
        else {
            return Err(invalid(format!(
                "return_mchid {} received nothing from split {}: a return comes back from a merchant the split paid",
                ask.return_mchid, split.out_order_no
            )));
        };
        let given = if share.result == ShareResult::Success {
            share.amount
        } else {
            0
        };
        let left = given.saturating_sub(share.returned);
        if ask.amount > left {
            let why = if share.result == ShareResult::Success {
                format!(
                    "the split gave {} {given} fen, and earlier returns take back {} fen",
                    ask.return_mchid, share.returned
                )
            } else {
                format!(
                    "the split's share to {} is {}: nothing was given yet",
                    ask.return_mchid,
                    share.result.as_str()
                )
            };
            return Err(Reply::error(
                400,
                "NOT_ENOUGH",
                format!(
                    "回退金额不足: a return of {} fen exceeds the {left} fen that may come back ({why})",
                    ask.amount
                ),
            ));
        }
        let record = StoredReturn {
            mchid: mchid.to_owned(),
            sub_mchid: ask.sub_mchid,
            order_id: split.order_id.clone(),
            out_order_no: split.out_order_no.clone(),
            transaction_id: split.transaction_id.clone(),
            out_return_no: ask.out_return_no,
            return_no: format!("20{}", self.rng.digits(26)),
            return_mchid: ask.return_mchid,
            amount: ask.amount,
            description: ask.description,
            result: ReturnResult::Processing,
            fail_reason: None,
            created_at: now,
            finish_time: None,
            queries: 0,
            asked,
        };
        if let Some(split) = self.splits.get_mut(&split_key)
            && let Some(share) = split
                .receivers
                .iter_mut()
                .find(|r| r.receiver_type == "MERCHANT_ID" && r.account == record.return_mchid)
        {
            share.returned = share.returned.saturating_add(record.amount);
        }
        self.returns.insert(key.clone(), record.clone(), bound);
        self.pending_returns.insert(key);
        Ok(record)
    }

    /// The split a return names, by `order_id` or `out_order_no` (both: the same one).
    fn split_of(&self, mchid: &str, ask: &ReturnAsk) -> Result<SplitKey, Reply> {
        let by_id = match &ask.order_id {
            Some(id) => match self.order_ids.get(id) {
                Some(k) if k.0 == mchid && k.1 == ask.sub_mchid => Some(k.clone()),
                _ => {
                    return Err(invalid(format!(
                        "no split with order_id {id} for sub_mchid {}",
                        ask.sub_mchid
                    )));
                }
            },
            None => None,
        };
        let by_no = match &ask.out_order_no {
            Some(no) => {
                let k = (mchid.to_owned(), ask.sub_mchid.clone(), no.clone());
                if self.splits.get(&k).is_none() {
                    return Err(invalid(format!(
                        "no split with out_order_no {no} for sub_mchid {}",
                        ask.sub_mchid
                    )));
                }
                Some(k)
            }
            None => None,
        };
        match (by_id, by_no) {
            (Some(a), Some(b)) if a != b => {
                Err(invalid("order_id and out_order_no name different splits"))
            }
            (Some(k), _) | (None, Some(k)) => Ok(k),
            (None, None) => Err(invalid("order_id or out_order_no is required")),
        }
    }

    /// `GET returnorders` by `mchid`: counts the query, makes the return final when due.
    pub(crate) fn query_return(
        &mut self,
        mchid: &str,
        sub_mchid: &str,
        order_id: Option<&str>,
        out_order_no: Option<&str>,
        out_return_no: &str,
        settle: Settle<'_>,
    ) -> Option<StoredReturn> {
        let key = (
            mchid.to_owned(),
            sub_mchid.to_owned(),
            out_return_no.to_owned(),
        );
        let found = self.returns.get(&key)?;
        let matches = order_id.is_none_or(|id| id == found.order_id)
            && out_order_no.is_none_or(|no| no == found.out_order_no);
        if !matches {
            return None;
        }
        self.settle_return(&key, settle.now, settle.default, settle.notices);
        let record = self.returns.get_mut(&key)?;
        record.queries = record.queries.saturating_add(1);
        Some(record.clone())
    }

    /// Makes every split share and return that is due final.
    pub(crate) fn sweep(&mut self, now: i64, default: Processing, notices: &mut Vec<Notice>) {
        for key in std::mem::take(&mut self.pending_splits) {
            self.settle_split(&key, now, default, notices);
        }
        for key in std::mem::take(&mut self.pending_returns) {
            self.settle_return(&key, now, default, notices);
        }
    }

    /// Settles the due shares of split `key`; keeps it pending while a share is.
    fn settle_split(
        &mut self,
        key: &SplitKey,
        now: i64,
        default: Processing,
        notices: &mut Vec<Notice>,
    ) {
        let Some(split) = self.splits.get(key) else {
            self.pending_splits.remove(key);
            return;
        };
        let mut outcomes = Vec::new();
        for (i, share) in split.receivers.iter().enumerate() {
            if share.result != ShareResult::Pending {
                continue;
            }
            let plan = self
                .share_plans
                .get(&(
                    split.sub_mchid.clone(),
                    split.out_order_no.clone(),
                    Some(share.account.clone()),
                ))
                .or_else(|| {
                    self.share_plans.get(&(
                        split.sub_mchid.clone(),
                        split.out_order_no.clone(),
                        None,
                    ))
                });
            let (outcome, processing) = match plan {
                Some((o, p)) => (o.clone(), p.unwrap_or(default)),
                None => (ShareOutcome::Success, default),
            };
            if outcome != ShareOutcome::Pending
                && due(split.queries, split.created_at, now, processing)
            {
                outcomes.push((i, outcome));
            }
        }
        let Some(split) = self.splits.get_mut(key) else {
            return;
        };
        let mut moved = (0i64, 0i64);
        for (i, outcome) in outcomes {
            let Some(share) = split.receivers.get_mut(i) else {
                continue;
            };
            share.finish_time = Some(now);
            match outcome {
                ShareOutcome::Closed(reason) => {
                    share.result = ShareResult::Closed;
                    share.fail_reason = Some(reason);
                    moved.0 = moved.0.saturating_add(share.amount);
                }
                _ => {
                    share.result = ShareResult::Success;
                    moved.1 = moved.1.saturating_add(share.amount);
                    if let Some(url) = self.notify_urls.get(&share.account) {
                        notices.push(Notice {
                            url: url.url.clone(),
                            mchid: url.mchid.clone(),
                            account: share.account.clone(),
                            sp_mchid: split.mchid.clone(),
                            summary: "分账",
                            resource: json!({
                                "sp_mchid": split.mchid,
                                "sub_mchid": split.sub_mchid,
                                "transaction_id": split.transaction_id,
                                "order_id": split.order_id,
                                "out_order_no": split.out_order_no,
                                "receiver": {
                                    "type": share.receiver_type,
                                    "account": share.account,
                                    "amount": share.amount,
                                    "description": share.description,
                                },
                                "success_time": beijing(now),
                            }),
                        });
                    }
                }
            }
        }
        let still_pending = split
            .receivers
            .iter()
            .any(|r| r.result == ShareResult::Pending);
        let transaction_id = split.transaction_id.clone();
        if still_pending {
            self.pending_splits.insert(key.clone());
        } else {
            self.pending_splits.remove(key);
        }
        if moved != (0, 0)
            && let Some(tx) = self.transactions.get_mut(&transaction_id)
        {
            // A closed share comes back: it may be split again (until the finish).
            tx.split_amount = tx.split_amount.saturating_sub(moved.0);
            tx.succeeded_amount = tx.succeeded_amount.saturating_add(moved.1);
            tx.refresh();
        }
    }

    /// Settles return `key` when due; keeps it pending otherwise.
    fn settle_return(
        &mut self,
        key: &ReturnKey,
        now: i64,
        default: Processing,
        notices: &mut Vec<Notice>,
    ) {
        let Some(record) = self.returns.get(key) else {
            self.pending_returns.remove(key);
            return;
        };
        if record.result != ReturnResult::Processing {
            self.pending_returns.remove(key);
            return;
        }
        let (outcome, processing) = match self
            .return_plans
            .get(&(record.sub_mchid.clone(), record.out_return_no.clone()))
        {
            Some((o, p)) => (o.clone(), p.unwrap_or(default)),
            None => (ReturnOutcome::Success, default),
        };
        if outcome == ReturnOutcome::Processing
            || !due(record.queries, record.created_at, now, processing)
        {
            self.pending_returns.insert(key.clone());
            return;
        }
        self.pending_returns.remove(key);
        let Some(record) = self.returns.get_mut(key) else {
            return;
        };
        record.finish_time = Some(now);
        let split_key = (
            record.mchid.clone(),
            record.sub_mchid.clone(),
            record.out_order_no.clone(),
        );
        match outcome {
            ReturnOutcome::Fail(reason) => {
                record.result = ReturnResult::Fail;
                record.fail_reason = Some(reason);
                let (from, amount) = (record.return_mchid.clone(), record.amount);
                if let Some(split) = self.splits.get_mut(&split_key)
                    && let Some(share) = split
                        .receivers
                        .iter_mut()
                        .find(|r| r.receiver_type == "MERCHANT_ID" && r.account == from)
                {
                    share.returned = share.returned.saturating_sub(amount);
                }
            }
            _ => {
                record.result = ReturnResult::Success;
                let record = record.clone();
                if let Some(tx) = self.transactions.get_mut(&record.transaction_id) {
                    tx.returned_amount = tx.returned_amount.saturating_add(record.amount);
                }
                if let Some(url) = self.notify_urls.get(&record.return_mchid) {
                    notices.push(Notice {
                        url: url.url.clone(),
                        mchid: url.mchid.clone(),
                        account: record.return_mchid.clone(),
                        sp_mchid: record.mchid.clone(),
                        summary: "分账回退",
                        resource: json!({
                            "sp_mchid": record.mchid,
                            "sub_mchid": record.sub_mchid,
                            "transaction_id": record.transaction_id,
                            "order_id": record.order_id,
                            "out_order_no": record.out_order_no,
                            "receiver": {
                                "type": "MERCHANT_ID",
                                "account": record.return_mchid,
                                "amount": record.amount,
                                "description": record.description,
                            },
                            "success_time": beijing(now),
                        }),
                    });
                }
            }
        }
    }
}

fn unknown_transaction(transaction_id: &str) -> Reply {
    invalid(format!(
        "unknown transaction {transaction_id}: the sandbox is strict about transactions; declare it with POST /mock/transactions"
    ))
}

fn reused(field: &str, value: &str, what: &str) -> Reply {
    invalid(format!(
        "{field} {value} is already used by {what} with other parameters: the same number must carry the same body"
    ))
}

/// The answer to `POST orders` and `GET orders`: the record in SPEC-profitsharing §B's shape.
pub(crate) fn split_json(s: &StoredSplit) -> Value {
    let receivers: Vec<Value> = s
        .receivers
        .iter()
        .map(|r| {
            let mut v = json!({
                "amount": r.amount,
                "description": r.description,
                "result": r.result.as_str(),
                "type": r.receiver_type,
                "receiver_account": r.account,
                "detail_id": r.detail_id,
            });
            if let Some(map) = v.as_object_mut() {
                if let Some(t) = r.finish_time {
                    map.insert("finish_time".into(), beijing(t).into());
                }
                if let Some(reason) = &r.fail_reason {
                    map.insert("fail_reason".into(), reason.clone().into());
                }
            }
            v
        })
        .collect();
    let mut v = json!({
        "sub_mchid": s.sub_mchid,
        "transaction_id": s.transaction_id,
        "out_order_no": s.out_order_no,
        "order_id": s.order_id,
        "status": s.status(),
        "receivers": receivers,
    });
    if let Some(map) = v.as_object_mut() {
        if let Some(a) = s.finish_amount {
            map.insert("finish_amount".into(), a.into());
        }
        if let Some(d) = &s.finish_description {
            map.insert("finish_description".into(), d.clone().into());
        }
    }
    v
}

/// The answer to `POST returnorders` and `GET returnorders`.
pub(crate) fn return_json(r: &StoredReturn) -> Value {
    let mut v = json!({
        "sub_mchid": r.sub_mchid,
        "order_id": r.order_id,
        "out_order_no": r.out_order_no,
        "out_return_no": r.out_return_no,
        "return_mchid": r.return_mchid,
        "amount": r.amount,
        "return_no": r.return_no,
        "result": r.result.as_str(),
    });
    if let Some(map) = v.as_object_mut() {
        if let Some(t) = r.finish_time {
            map.insert("finish_time".into(), beijing(t).into());
        }
        if let Some(reason) = &r.fail_reason {
            map.insert("fail_reason".into(), reason.clone().into());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const QUICK: Processing = Processing {
        queries: 0,
        seconds: 0,
    };

    fn ask(no: &str, amounts: &[(&str, i64)], finish: bool) -> SplitAsk {
        SplitAsk {
            appid: None,
            sub_mchid: "1900000109".into(),
            transaction_id: "T1".into(),
            out_order_no: no.into(),
            receivers: amounts
                .iter()
                .map(|(a, amount)| {
                    (
                        "MERCHANT_ID".to_owned(),
                        (*a).to_owned(),
                        *amount,
                        "d".to_owned(),
                        None,
                    )
                })
                .collect(),
            finish,
        }
    }

    fn back(no: &str, split: &str, from: &str, amount: i64) -> ReturnAsk {
        ReturnAsk {
            sub_mchid: "1900000109".into(),
            order_id: None,
            out_order_no: Some(split.into()),
            transaction_id: None,
            out_return_no: no.into(),
            return_mchid: from.into(),
            amount,
            description: "refund".into(),
        }
    }

    fn code(r: &Reply) -> String {
        serde_json::from_slice::<Value>(&r.body).expect("json")["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn the_money_rules() {
        let mut l = Ledger::default();
        let yes = |_: &str, _: &str| true;
        l.declare("1900000109", "T1", 1000, 10).expect("declared");
        l.split("M", ask("P1", &[("A", 300)], false), NOW, 10, yes)
            .expect("300");
        assert_eq!(l.unsplit("T1").ok(), Some(700));
        let refused = l
            .split("M", ask("P2", &[("A", 701)], false), NOW, 10, yes)
            .expect_err("too much");
        assert_eq!(code(&refused), "NOT_ENOUGH");
        // A closed share comes back.
        l.plan_share(
            "1900000109",
            "P3",
            None,
            ShareOutcome::Closed("NO_RELATION".into()),
            None,
            10,
        );
        l.split("M", ask("P3", &[("B", 100)], false), NOW, 10, yes)
            .expect("100");
        assert_eq!(l.unsplit("T1").ok(), Some(600));
        let mut notices = Vec::new();
        l.sweep(NOW, QUICK, &mut notices);
        assert_eq!(l.unsplit("T1").ok(), Some(700));
        // Returns: at most what was given, minus earlier returns.
        l.give_back("M", back("R1", "P1", "A", 200), NOW, 10)
            .expect("200 of 300");
        let refused = l
            .give_back("M", back("R2", "P1", "A", 101), NOW, 10)
            .expect_err("only 100 left");
        assert_eq!(code(&refused), "NOT_ENOUGH");
        let refused = l
            .give_back("M", back("R3", "P3", "B", 1), NOW, 10)
            .expect_err("closed");
        assert_eq!(code(&refused), "NOT_ENOUGH");
        // Finish releases the rest.
        let f = l
            .split("M", ask("P4", &[("A", 200)], true), NOW, 10, yes)
            .expect("finishing");
        assert_eq!(f.finish_amount, Some(500));
        assert_eq!(l.unsplit("T1").ok(), Some(0));
        let refused = l
            .split("M", ask("P5", &[("A", 1)], false), NOW, 10, yes)
            .expect_err("finished");
        assert_eq!(code(&refused), "INVALID_REQUEST");
        // The same number and body: the same record, even after the finish.
        let again = l
            .split("M", ask("P4", &[("A", 200)], true), NOW, 10, yes)
            .expect("same");
        assert_eq!(again.order_id, f.order_id);
        let refused = l
            .split("M", ask("P4", &[("A", 201)], true), NOW, 10, yes)
            .expect_err("other body");
        assert_eq!(code(&refused), "INVALID_REQUEST");
    }

    #[test]
    fn strict_and_lenient_transactions() {
        let mut l = Ledger::default();
        assert_eq!(l.unsplit("T1").ok(), Some(LENIENT_PAID_AMOUNT));
        l.split("M", ask("P1", &[("A", 5)], false), NOW, 10, |_, _| true)
            .expect("lenient");
        let tx = l.transaction("T1").expect("kept");
        assert!(!tx.declared);
        assert_eq!(tx.unsplit_amount, LENIENT_PAID_AMOUNT - 5);
        let mut l = Ledger::default();
        l.settings.strict_transactions = true;
        assert!(l.unsplit("T1").is_err());
        let refused = l
            .split("M", ask("P1", &[("A", 5)], false), NOW, 10, |_, _| true)
            .expect_err("strict");
        assert!(String::from_utf8_lossy(&refused.body).contains("unknown transaction"));
    }

    #[test]
    fn rate_limits_count_per_second() {
        let mut l = Ledger::default();
        let a = ask("P1", &[("A", 5)], false);
        assert!(l.rate_check(NOW, "M", &a).is_none());
        assert!(l.rate_check(NOW, "M", &a).is_none(), "off by default");
        l.settings.rate_limits = true;
        assert!(l.rate_check(NOW + 1, "M", &a).is_none());
        let limited = l.rate_check(NOW + 1, "M", &a).expect("limited");
        assert_eq!(limited.status, 429);
        assert!(
            limited
                .extra_headers
                .contains(&("Retry-After", "1".to_owned()))
        );
        assert!(l.rate_check(NOW + 2, "M", &a).is_none());
    }
}
