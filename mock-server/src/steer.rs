//! Steering the sandbox: every change a test can make to it, checked once, here. The control
//! API ([`crate::control`]) reads JSON into these calls and the in-process mock
//! ([`crate::MockWechatPay`]) calls them from Rust: one implementation, two doors.

use wechatpay_core::{Error, PublicKey};

use crate::faults::{Fault, Route};
use crate::ledger::{NotifyUrl, Processing, ReturnOutcome, Settings, ShareOutcome};
use crate::reply::Reply;
use crate::request::{MAX_ACCOUNT, MAX_ID, MAX_OUT_NO, cap, id_problem, text_problem};
use crate::state::{Apiv3, Keep, Merchant, Outcome, Platform, State};
use crate::{StoredTransaction, notify};

/// Why a change was refused: the status and code the control API answers, the field it names,
/// and the message.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
    message: String,
}

impl Refusal {
    /// 400 `PARAM_ERROR` naming `field`.
    pub(crate) fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "PARAM_ERROR",
            field: Some(field),
            message: message.into(),
        }
    }

    /// 404 `RESOURCE_NOT_EXISTS` naming `field`: what it names does not exist.
    pub(crate) fn not_found(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: "RESOURCE_NOT_EXISTS",
            field: Some(field),
            message: message.into(),
        }
    }

    /// 400 `INVALID_REQUEST`: a rule the request breaks.
    fn rule(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "INVALID_REQUEST",
            field: None,
            message: message.into(),
        }
    }

    /// From a core input error naming its field.
    pub(crate) fn from_error(e: &Error) -> Self {
        let text = e.to_string();
        match e.field() {
            Some(field) => {
                let prefix = format!("invalid `{field}`: ");
                Self::field(field, text.strip_prefix(&prefix).unwrap_or(&text))
            }
            None => Self::rule(text),
        }
    }
}

impl From<Refusal> for Reply {
    /// The control API's answer.
    fn from(r: Refusal) -> Self {
        match (r.status, r.field) {
            (400, Some(field)) => Self::param_error(field, None, r.message),
            (_, Some(field)) => Self::error(r.status, r.code, format!("{field}: {}", r.message)),
            (_, None) => Self::error(r.status, r.code, r.message),
        }
    }
}

impl From<Refusal> for Error {
    /// The in-process mock's error: invalid input naming the field, else a configuration
    /// error.
    fn from(r: Refusal) -> Self {
        match r.field {
            Some(field) => Self::invalid_input(field, r.message),
            None => Self::config(r.message),
        }
    }
}

/// A paid transaction of `amount` fen to `sub_mchid`.
pub(crate) fn declare_transaction(
    state: &State,
    sub_mchid: &str,
    transaction_id: &str,
    amount: i64,
) -> Result<StoredTransaction, Refusal> {
    if let Some(issue) = id_problem(sub_mchid) {
        return Err(Refusal::field("sub_mchid", issue));
    }
    if let Some(issue) = text_problem(transaction_id, MAX_ID) {
        return Err(Refusal::field("transaction_id", issue));
    }
    if amount <= 0 {
        return Err(Refusal::field(
            "amount",
            format!("must be a positive number of fen, got {amount}"),
        ));
    }
    let bound = state.order_bound();
    state
        .ledger()
        .declare(sub_mchid, transaction_id, amount, bound)
        .map_err(Refusal::rule)
}

/// Refuses a record's identity that no request could ever name.
fn check_record(fields: &[(&'static str, &str, usize)], sub_mchid: &str) -> Result<(), Refusal> {
    if let Some(issue) = id_problem(sub_mchid) {
        return Err(Refusal::field("sub_mchid", issue));
    }
    for (name, value, max) in fields {
        if let Some(issue) = text_problem(value, *max) {
            return Err(Refusal::field(name, issue));
        }
    }
    Ok(())
}

/// How the after-sales order (`sub_mchid`, `transaction_id`) ends.
pub(crate) fn plan_order(
    state: &State,
    sub_mchid: &str,
    transaction_id: &str,
    outcome: Outcome,
    processing: Option<Processing>,
) -> Result<(), Refusal> {
    check_record(&[("transaction_id", transaction_id, MAX_ID)], sub_mchid)?;
    state.plan_with(sub_mchid, transaction_id, outcome, processing);
    Ok(())
}

/// How the shares of split `out_order_no` end (of receiver `account` only, when given).
pub(crate) fn plan_share(
    state: &State,
    sub_mchid: &str,
    out_order_no: &str,
    account: Option<&str>,
    outcome: ShareOutcome,
    processing: Option<Processing>,
) -> Result<(), Refusal> {
    check_record(&[("out_order_no", out_order_no, MAX_OUT_NO)], sub_mchid)?;
    if let Some(issue) = account.and_then(|a| text_problem(a, MAX_ACCOUNT)) {
        return Err(Refusal::field("receiver_account", issue));
    }
    let bound = state.order_bound();
    state
        .ledger()
        .plan_share(sub_mchid, out_order_no, account, outcome, processing, bound);
    Ok(())
}

/// How return `out_return_no` ends.
pub(crate) fn plan_return(
    state: &State,
    sub_mchid: &str,
    out_return_no: &str,
    outcome: ReturnOutcome,
    processing: Option<Processing>,
) -> Result<(), Refusal> {
    check_record(&[("out_return_no", out_return_no, MAX_OUT_NO)], sub_mchid)?;
    let bound = state.order_bound();
    state
        .ledger()
        .plan_return(sub_mchid, out_return_no, outcome, processing, bound);
    Ok(())
}

/// The most requests one fault can be armed for.
pub(crate) const MAX_FAULT_COUNT: usize = 1_000_000;

/// Arms `fault` for the next `count` requests on `route`.
pub(crate) fn arm(state: &State, route: Route, fault: Fault, count: usize) -> Result<(), Refusal> {
    if count == 0 || count > MAX_FAULT_COUNT {
        return Err(Refusal::field(
            "count",
            format!("must be 1 to {MAX_FAULT_COUNT}, got {count}"),
        ));
    }
    state.arm(route, fault, count);
    Ok(())
}

/// Accepts requests from merchant `mchid` (a generated APIv3 key unless `apiv3_key` gives one,
/// which puts it in certificate mode). Returns the key's text when the mock knows it, and
/// whether a merchant of that id was replaced.
pub(crate) fn add_merchant(
    state: &State,
    mchid: &str,
    serial: &str,
    public_key: PublicKey,
    apiv3_key: Option<Apiv3>,
) -> Result<(Option<String>, bool), Refusal> {
    if let Some(issue) = id_problem(mchid) {
        return Err(Refusal::field("mchid", issue));
    }
    if let Some(issue) = text_problem(serial, 64) {
        return Err(Refusal::field("serial", issue));
    }
    if public_key.bits() < 2048 {
        return Err(Refusal::field(
            "public_key",
            format!(
                "RSA keys of 2048 bits or more only, got {}",
                public_key.bits()
            ),
        ));
    }
    let mut merchant = Merchant::new(serial.to_owned(), public_key, &mut state.rng());
    if let Some(apiv3) = apiv3_key {
        merchant.apiv3 = apiv3;
        merchant.certificate_mode = true;
    }
    let text = merchant.apiv3.text.clone();
    let replaced = state.add_merchant(mchid.to_owned(), merchant);
    Ok((text, replaced))
}

/// Puts merchant `mchid` in certificate mode with this APIv3 key.
pub(crate) fn set_apiv3_key(state: &State, mchid: &str, key: Apiv3) -> Result<(), Refusal> {
    if state.set_apiv3(mchid, key) {
        Ok(())
    } else {
        Err(unknown_merchant(mchid))
    }
}

fn unknown_merchant(mchid: &str) -> Refusal {
    Refusal::not_found(
        "mchid",
        format!(
            "merchant {} is not one the sandbox knows (GET /mock/merchants lists them)",
            shown(mchid)
        ),
    )
}

/// A published certificate: its serial, whether it is valid now, and why not.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) serial: String,
    pub(crate) warning: Option<String>,
}

/// Publishes a platform certificate with its private key (checked: RSA ≥ 2048 bits, the key
/// the certificate's). One that is not valid at `now` is published with a warning.
pub(crate) fn publish(
    state: &State,
    certificate_pem: &str,
    private_key_pem: &str,
    now: i64,
) -> Result<Published, Refusal> {
    let platform =
        Platform::load(certificate_pem, private_key_pem).map_err(|e| Refusal::from_error(&e))?;
    let published = Published {
        serial: platform.cert.serial().to_owned(),
        warning: platform.validity_warning(now),
    };
    state.add_platform(platform);
    Ok(published)
}

/// Which key signs answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    /// The WeChat Pay public key pair.
    PublicKey,
    /// A published platform certificate: this serial, or the last published.
    Platform(Option<&'a str>),
}

/// Signs answers with `key`: every merchant's, or only `mchid`'s. Returns the serial that
/// signs now.
pub(crate) fn sign_with(
    state: &State,
    key: Key<'_>,
    mchid: Option<&str>,
) -> Result<String, Refusal> {
    let signer = match key {
        Key::PublicKey => state.public_key_signer(),
        Key::Platform(serial) => state.platform_signer(serial).ok_or_else(|| match serial {
            Some(s) => Refusal::not_found(
                "serial",
                format!(
                    "no platform certificate {} is published (POST /mock/platform-certificates answers the serial to use)",
                    shown(s)
                ),
            ),
            None => Refusal::not_found("serial", "no platform certificate is published"),
        })?,
    };
    let serial = signer.serial.clone();
    match mchid {
        None => state.set_signer(signer),
        Some(m) if state.knows(m) => state.set_merchant_signer(m, signer),
        Some(m) => return Err(unknown_merchant(m)),
    }
    Ok(serial)
}

/// Stops publishing certificate `serial`; a warning when answers are still signed with it.
pub(crate) fn retire(state: &State, serial: &str) -> Result<Option<String>, Refusal> {
    if state.retire_platform(serial) {
        Ok(state.signs_with(serial).then(|| {
            format!(
                "answers are still signed with {}: clients that download certificates will not find it (POST /mock/sign-with another key)",
                shown(serial)
            )
        }))
    } else {
        Err(Refusal::not_found(
            "serial",
            format!("no platform certificate {} is published", shown(serial)),
        ))
    }
}

/// Where receiver `account`'s profit-sharing notifications go.
pub(crate) fn set_notify_url(state: &State, entry: NotifyUrl) -> Result<NotifyUrl, Refusal> {
    if let Some(issue) = text_problem(&entry.account, MAX_ACCOUNT) {
        return Err(Refusal::field("account", issue));
    }
    notify::check_url(&entry.url).map_err(|issue| Refusal::field("url", issue))?;
    if let Some(m) = &entry.mchid
        && !state.knows(m)
    {
        return Err(unknown_merchant(m));
    }
    let bound = state.order_bound();
    state.ledger().set_notify_url(entry.clone(), bound);
    Ok(entry)
}

/// A change of settings: the fields given change, the others stay.
#[derive(Debug, Default)]
pub(crate) struct SettingsChange {
    pub(crate) strict_transactions: Option<bool>,
    pub(crate) rate_limits: Option<bool>,
    /// `Some(None)` switches the limit off.
    pub(crate) frequency_limit: Option<Option<u32>>,
    pub(crate) rate_limit_code: Option<crate::faults::RateLimitCode>,
    pub(crate) platform_mchids: Option<Vec<String>>,
}

/// Applies `change`; the settings now.
pub(crate) fn settings(state: &State, change: SettingsChange) -> Result<Settings, Refusal> {
    if let Some(Some(0)) = change.frequency_limit {
        return Err(Refusal::field(
            "frequency_limit",
            "must be 1 or more requests a second (null switches it off)",
        ));
    }
    if let Some(bad) = change
        .platform_mchids
        .iter()
        .flatten()
        .find(|m| id_problem(m).is_some())
    {
        return Err(Refusal::field(
            "platform_mchids",
            format!("{} is not a merchant id (digits)", shown(bad)),
        ));
    }
    let mut ledger = state.ledger();
    let s = &mut ledger.settings;
    if let Some(on) = change.strict_transactions {
        s.strict_transactions = on;
    }
    if let Some(on) = change.rate_limits {
        s.rate_limits = on;
    }
    if let Some(limit) = change.frequency_limit {
        s.frequency_limit = limit;
    }
    if let Some(code) = change.rate_limit_code {
        s.rate_limit_code = code;
    }
    if let Some(mchids) = change.platform_mchids {
        s.platform_mchids = mchids;
    }
    Ok(s.clone())
}

/// How long new and unfinished orders stay `PROCESSING`.
pub(crate) fn set_processing(state: &State, processing: Processing) {
    state.set_processing(processing);
}

/// Back to the start-up state, keeping what `keep` names.
pub(crate) fn reset(state: &State, keep: Keep) {
    state.reset(keep);
}

/// A value as shown in a message: at most 64 characters.
fn shown(value: &str) -> &str {
    cap(value, 64)
}

/// What the sandbox holds, for the control API's `GET`s: read through here, as changes are.
pub(crate) mod view {
    use serde_json::{Value, json};

    use crate::state::State;

    /// Every merchant: id, serial, APIv3 key text (when known), mode, and the key that signs
    /// its answers.
    pub(crate) fn merchants(state: &State) -> Value {
        let all: Vec<Value> = state
            .merchants()
            .into_iter()
            .map(|(mchid, m)| {
                json!({
                    "mchid": mchid,
                    "serial": m.serial,
                    "apiv3_key": m.apiv3.text,
                    "certificate_mode": m.certificate_mode,
                    "signed_with": state.signer_for(&mchid).serial,
                })
            })
            .collect();
        json!({ "merchants": all })
    }

    /// The receivers of `mchid` (every merchant's without), names decrypted.
    pub(crate) fn receivers(state: &State, mchid: Option<&str>) -> Value {
        json!({ "receivers": state.receivers(mchid) })
    }

    /// Every notification delivery and its attempts.
    pub(crate) fn deliveries(state: &State) -> Value {
        json!({ "notifications": state.deliveries().all() })
    }

    /// The notify URLs registered.
    pub(crate) fn notify_urls(state: &State) -> Value {
        json!({ "notify_urls": state.ledger().notify_urls() })
    }

    /// The settings.
    pub(crate) fn settings(state: &State) -> Value {
        json!(state.ledger().settings)
    }

    /// The last `limit` answers to WeChat Pay calls, oldest first.
    pub(crate) fn answers(state: &State, limit: usize) -> Value {
        let answers = state.answers();
        let skip = answers.len().saturating_sub(limit);
        json!({ "answers": &answers[skip..] })
    }

    /// The transactions (only `transaction_id` when given), each with its splits and returns.
    pub(crate) fn transactions(state: &State, only: Option<&str>) -> Value {
        let ledger = state.ledger();
        let listed: Vec<Value> = ledger
            .transactions()
            .into_iter()
            .filter(|t| only.is_none_or(|o| t.transaction_id == o))
            .map(|t| {
                let splits = ledger.splits(Some(&t.transaction_id));
                let returns = ledger.returns(Some(&t.transaction_id));
                let mut v = json!(t);
                if let Some(map) = v.as_object_mut() {
                    map.insert("splits".into(), json!(splits));
                    map.insert("returns".into(), json!(returns));
                }
                v
            })
            .collect();
        json!({ "transactions": listed })
    }
}
