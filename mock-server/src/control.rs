//! The control API: JSON over HTTP under `/mock/`, for steering the simulator from any
//! language. Refusals use WeChat Pay's error shape (`{"code", "message"}`).
//!
//! | request | body | effect |
//! |---|---|---|
//! | `POST /mock/outcomes` | `{"sub_mchid", "transaction_id", "result": "SUCCESS"\|"FAILED"\|"PROCESSING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that after-sales order ends |
//! | `POST /mock/outcomes` | `{"sub_mchid", "out_order_no", "receiver_account"?, "result": "SUCCESS"\|"CLOSED"\|"PENDING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that split's shares end (one receiver's with `receiver_account`) |
//! | `POST /mock/outcomes` | `{"sub_mchid", "out_return_no", "result": "SUCCESS"\|"FAIL"\|"PROCESSING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that return ends |
//! | `POST /mock/transactions` | `{"sub_mchid", "transaction_id", "amount"}` | declare a paid transaction (fen) |
//! | `GET /mock/transactions?transaction_id=T` | | transactions (amount, split, succeeded, returned, unsplit, finished), with their splits and returns |
//! | `POST /mock/notify-urls` | `{"account", "url", "mchid"?}` | where the profit-sharing notifications of receiver `account` go |
//! | `GET /mock/notify-urls` | | the URLs registered |
//! | `POST /mock/settings` | `{"strict_transactions"?, "rate_limits"?}` | switch the rules on or off; answers the settings |
//! | `GET /mock/settings` | | the settings |
//! | `POST /mock/faults` | `{"kind", "route"?, "count"?, "retry_after"?, "delay_ms"?}` | inject a fault into the next `count` requests on `route` (`any`, `create`, `query`, `certificates`, `add_receiver`, `delete_receiver`, `create_split`, `query_split`, `finish_order`, `unsplit_amount`, `create_return`, `query_return`) |
//! | `POST /mock/merchants` | `{"mchid", "serial", "public_key", "apiv3_key"?}` | accept another merchant (PEM public key); with `apiv3_key` it is in certificate mode, without one a key is generated; answers the key |
//! | `GET /mock/merchants` | | every merchant: `mchid`, `serial`, `apiv3_key` (its text, `null` when given to the builder as a key), `certificate_mode` |
//! | `GET /mock/receivers?mchid=M` | | the receivers added (every merchant's without `mchid`), names decrypted |
//! | `POST /mock/notifications` | `{"url", "mchid"?, "event_type"?, "original_type"?, "summary"?, "associated_data"?, "resource": {…}}` | notify: deliver a new notification to `url` on WeChat Pay's retry schedule; answers its `id` at once |
//! | `POST /mock/notifications/build` | as above, without `url` | the notification's `id`, `headers` and `body`, not delivered (to feed a handler under test) |
//! | `GET /mock/notifications` | | every delivery: `id`, `url`, `attempts` (`status` or `error`, `acknowledged`), `delivered`, `gave_up` |
//! | `POST /mock/platform-certificates` | `{"certificate", "private_key"}` | publish a platform certificate (PEM); answers its serial |
//! | `POST /mock/sign-with` | `{"key": "public-key"}` or `{"key": "platform-certificate", "serial"?}` | which key signs answers |
//! | `POST /mock/platform-certificates/retire` | `{"serial"}` | stop publishing one |
//! | `GET /mock/log?limit=N` | | the last answers (method, path, status, Request-ID) |
//! | `POST /mock/reset` | | forget orders, outcomes, faults, the log, receivers, notification deliveries, transactions, splits, returns and notify URLs (the settings stay) |
//!
//! Bodies are strict: a field the route does not take is refused, naming it.

use serde::Deserialize;
use serde_json::{Value, json};
use wechatpay_core::{FailReason, PublicKey};

use crate::faults::{Fault, Route};
use crate::ledger::{NotifyUrl, ReturnOutcome, ShareOutcome};
use crate::notify::NotificationSpec;
use crate::reply::Reply;
use crate::simulator::Simulator;
use crate::state::{Apiv3, Merchant, Outcome, Platform, Processing};

fn bad(message: impl Into<String>) -> Reply {
    Reply::error(400, "PARAM_ERROR", message)
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| bad(format!("the body is not the JSON expected: {e}")))
}

fn ok(extra: Value) -> Reply {
    let mut body = json!({ "ok": true });
    if let (Some(map), Value::Object(more)) = (body.as_object_mut(), extra) {
        map.extend(more);
    }
    Reply::json(200, &body)
}

/// Answers a control request at `now`.
pub(crate) fn handle(
    sim: &Simulator,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    now: i64,
) -> Reply {
    let result = match (method, path) {
        ("GET", "/mock/merchants") => Ok(merchants(sim)),
        ("GET", "/mock/receivers") => receivers(sim, query),
        ("POST", "/mock/notifications") => notify(sim, body, now),
        ("POST", "/mock/notifications/build") => build_notification(sim, body, now),
        ("GET", "/mock/notifications") => Ok(Reply::json(
            200,
            &json!({ "notifications": sim.deliveries() }),
        )),
        ("POST", "/mock/outcomes") => outcome(sim, body),
        ("POST", "/mock/faults") => fault(sim, body),
        ("POST", "/mock/merchants") => merchant(sim, body),
        ("POST", "/mock/platform-certificates") => publish(sim, body),
        ("POST", "/mock/platform-certificates/retire") => retire(sim, body),
        ("POST", "/mock/sign-with") => sign_with(sim, body),
        ("GET", "/mock/log") => Ok(log(sim, query)),
        ("POST", "/mock/reset") => {
            sim.state.reset();
            Ok(ok(json!({})))
        }
        ("POST", "/mock/transactions") => declare(sim, body),
        ("GET", "/mock/transactions") => transactions(sim, query),
        ("POST", "/mock/notify-urls") => notify_url(sim, body),
        ("GET", "/mock/notify-urls") => Ok(Reply::json(
            200,
            &json!({ "notify_urls": sim.state.ledger().notify_urls() }),
        )),
        ("POST", "/mock/settings") => settings(sim, body),
        ("GET", "/mock/settings") => Ok(Reply::json(200, &json!(sim.state.ledger().settings))),
        (
            _,
            "/mock/outcomes"
            | "/mock/faults"
            | "/mock/merchants"
            | "/mock/platform-certificates"
            | "/mock/platform-certificates/retire"
            | "/mock/sign-with"
            | "/mock/log"
            | "/mock/reset"
            | "/mock/receivers"
            | "/mock/notifications"
            | "/mock/notifications/build"
            | "/mock/transactions"
            | "/mock/notify-urls"
            | "/mock/settings",
        ) => Err(Reply::error(
            405,
            "METHOD_NOT_ALLOWED",
            "see the control API's table for each path's method",
        )),
        _ => Err(Reply::error(404, "NOT_FOUND", "no such control endpoint")),
    };
    result.unwrap_or_else(|reply| reply)
}

fn outcome(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        sub_mchid: String,
        transaction_id: Option<String>,
        out_order_no: Option<String>,
        receiver_account: Option<String>,
        out_return_no: Option<String>,
        result: String,
        fail_reason: Option<String>,
        processing_queries: Option<u32>,
        processing_seconds: Option<u64>,
    }
    let b: Body = parse(body)?;
    let processing = match (b.processing_queries, b.processing_seconds) {
        (None, None) => None,
        (q, s) => Some(Processing {
            queries: q.unwrap_or(0),
            seconds: i64::try_from(s.unwrap_or(0)).unwrap_or(i64::MAX),
        }),
    };
    let reason = |reason: Option<String>, example: &str| match reason {
        Some(r) if enum_form(&r) => Ok(r),
        Some(_) => Err(bad(format!(
            "fail_reason must be an uppercase value such as {example}"
        ))),
        None => Err(bad(format!("a fail_reason is required, e.g. {example}"))),
    };
    let bound = sim.state.order_bound();
    match (b.transaction_id, b.out_order_no, b.out_return_no) {
        // A split's shares.
        (None, Some(out_order_no), None) => {
            let outcome = match (b.result.as_str(), b.fail_reason) {
                ("SUCCESS", None) => ShareOutcome::Success,
                ("CLOSED", r) => ShareOutcome::Closed(reason(r, "NO_RELATION")?),
                ("PENDING", None) => ShareOutcome::Pending,
                ("SUCCESS" | "PENDING", Some(_)) => {
                    return Err(bad("fail_reason goes with CLOSED only"));
                }
                _ => return Err(bad("a split's result must be SUCCESS, CLOSED or PENDING")),
            };
            sim.state.ledger().plan_share(
                &b.sub_mchid,
                &out_order_no,
                b.receiver_account.as_deref(),
                outcome,
                processing,
                bound,
            );
        }
        // A return.
        (None, None, Some(out_return_no)) => {
            if b.receiver_account.is_some() {
                return Err(bad("receiver_account goes with out_order_no only"));
            }
            let outcome = match (b.result.as_str(), b.fail_reason) {
                ("SUCCESS", None) => ReturnOutcome::Success,
                ("FAIL", r) => ReturnOutcome::Fail(reason(r, "ACCOUNT_ABNORMAL")?),
                ("PROCESSING", None) => ReturnOutcome::Processing,
                ("SUCCESS" | "PROCESSING", Some(_)) => {
                    return Err(bad("fail_reason goes with FAIL only"));
                }
                _ => return Err(bad("a return's result must be SUCCESS, FAIL or PROCESSING")),
            };
            sim.state.ledger().plan_return(
                &b.sub_mchid,
                &out_return_no,
                outcome,
                processing,
                bound,
            );
        }
        // An after-sales order.
        (Some(transaction_id), None, None) => {
            if b.receiver_account.is_some() {
                return Err(bad("receiver_account goes with out_order_no only"));
            }
            let outcome = match (b.result.as_str(), b.fail_reason) {
                ("SUCCESS", None) => Outcome::Success,
                ("FAILED", Some(reason)) if !reason.is_empty() => {
                    Outcome::Failed(FailReason::from(reason))
                }
                ("FAILED", _) => return Err(bad("FAILED needs a fail_reason, e.g. NO_RELATION")),
                ("SUCCESS", Some(_)) => return Err(bad("fail_reason goes with FAILED only")),
                // Stays PROCESSING: an outcome that never comes.
                ("PROCESSING", None) => Outcome::StaysProcessing,
                _ => return Err(bad("result must be SUCCESS, FAILED or PROCESSING")),
            };
            sim.state
                .plan_with(&b.sub_mchid, &transaction_id, outcome, processing);
        }
        _ => {
            return Err(bad(
                "name one record: transaction_id (an after-sales order), out_order_no (a split) or out_return_no (a return)",
            ));
        }
    }
    Ok(ok(json!({})))
}

/// 1 to 64 of `A-Z`, `0-9`, `_`.
fn enum_form(value: &str) -> bool {
    crate::after_sales::enum_form_problem(value).is_none()
}

fn declare(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        sub_mchid: String,
        transaction_id: String,
        amount: i64,
    }
    let b: Body = parse(body)?;
    if let Some(issue) = crate::after_sales::id_problem(&b.sub_mchid) {
        return Err(Reply::param_error("sub_mchid", None, issue));
    }
    if let Some(issue) =
        crate::after_sales::text_problem(&b.transaction_id, crate::after_sales::MAX_ID)
    {
        return Err(Reply::param_error("transaction_id", None, issue));
    }
    if b.amount <= 0 {
        return Err(Reply::param_error(
            "amount",
            None,
            format!("must be a positive number of fen, got {}", b.amount),
        ));
    }
    let bound = sim.state.order_bound();
    let tx = sim
        .state
        .ledger()
        .declare(&b.sub_mchid, &b.transaction_id, b.amount, bound)
        .map_err(|message| Reply::error(400, "INVALID_REQUEST", message))?;
    Ok(ok(json!({ "transaction": tx })))
}

fn transactions(sim: &Simulator, query: &str) -> Result<Reply, Reply> {
    let only = match crate::after_sales::query_param(query, "transaction_id") {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(())) => return Err(bad("transaction_id is not UTF-8 once decoded")),
    };
    let ledger = sim.state.ledger();
    let listed: Vec<Value> = ledger
        .transactions()
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| t.transaction_id == o))
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
    Ok(Reply::json(200, &json!({ "transactions": listed })))
}

fn notify_url(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        account: String,
        url: String,
        mchid: Option<String>,
    }
    let b: Body = parse(body)?;
    if let Some(issue) = crate::after_sales::text_problem(&b.account, 64) {
        return Err(Reply::param_error("account", None, issue));
    }
    crate::notify::check_url(&b.url).map_err(|issue| Reply::param_error("url", None, issue))?;
    if let Some(m) = &b.mchid
        && sim.state.merchant(m).is_none()
    {
        return Err(Reply::param_error(
            "mchid",
            None,
            "is not a merchant the mock knows (its APIv3 key encrypts the notifications)",
        ));
    }
    let entry = NotifyUrl {
        account: b.account,
        url: b.url,
        mchid: b.mchid,
    };
    let bound = sim.state.order_bound();
    sim.state.ledger().set_notify_url(entry.clone(), bound);
    Ok(ok(json!({ "notify_url": entry })))
}

fn settings(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        strict_transactions: Option<bool>,
        rate_limits: Option<bool>,
    }
    let b: Body = parse(body)?;
    let mut ledger = sim.state.ledger();
    if let Some(on) = b.strict_transactions {
        ledger.settings.strict_transactions = on;
    }
    if let Some(on) = b.rate_limits {
        ledger.settings.rate_limits = on;
    }
    Ok(ok(json!({ "settings": ledger.settings })))
}

fn fault(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    struct Body {
        kind: String,
        route: Option<String>,
        count: Option<usize>,
        retry_after: Option<u64>,
        delay_ms: Option<u64>,
    }
    let b: Body = parse(body)?;
    let route = match b.route.as_deref().unwrap_or("any") {
        "any" => Route::Any,
        "create" => Route::CreateAfterSales,
        "query" => Route::QueryAfterSales,
        "certificates" => Route::Certificates,
        "add_receiver" => Route::AddReceiver,
        "delete_receiver" => Route::DeleteReceiver,
        "create_split" => Route::CreateSplit,
        "query_split" => Route::QuerySplit,
        "finish_order" => Route::FinishOrder,
        "unsplit_amount" => Route::UnsplitAmount,
        "create_return" => Route::CreateReturn,
        "query_return" => Route::QueryReturn,
        other => {
            return Err(bad(format!(
                "route {other:?}: any, create, query, certificates, add_receiver, delete_receiver, create_split, query_split, finish_order, unsplit_amount, create_return or query_return"
            )));
        }
    };
    let delay = std::time::Duration::from_millis(b.delay_ms.unwrap_or(2_000));
    let fault = match b.kind.as_str() {
        "system_error" => Fault::SystemError,
        "processed_then_system_error" => Fault::ProcessedThenSystemError,
        "frequency_limited" => Fault::FrequencyLimited {
            retry_after: b.retry_after,
        },
        "service_unavailable_html" => Fault::ServiceUnavailableHtml,
        "processed_then_slow" | "delay" => Fault::Delay(delay),
        "processed_then_bad_signature" | "broken_signature" => Fault::BrokenSignature,
        "stale_timestamp" => Fault::StaleTimestamp,
        "unknown_serial" => Fault::UnknownSerial,
        "signature_probe" => Fault::SignatureProbe,
        "missing_signature" => Fault::MissingSignature,
        other => {
            return Err(bad(format!(
                "kind {other:?}: system_error, processed_then_system_error, frequency_limited, service_unavailable_html, processed_then_slow, processed_then_bad_signature, stale_timestamp, unknown_serial, signature_probe or missing_signature"
            )));
        }
    };
    let count = b.count.unwrap_or(1).min(1_000_000);
    sim.state.arm(route, fault, count);
    Ok(ok(json!({ "armed": count })))
}

fn merchant(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    struct Body {
        mchid: String,
        serial: String,
        public_key: String,
        apiv3_key: Option<String>,
    }
    let b: Body = parse(body)?;
    if b.mchid.is_empty() || !b.mchid.bytes().all(|c| c.is_ascii_digit()) || b.mchid.len() > 32 {
        return Err(bad("mchid must be 1 to 32 digits"));
    }
    let public_key =
        PublicKey::from_pem(&b.public_key).map_err(|e| bad(format!("public_key: {e}")))?;
    let mut merchant = Merchant::new(b.serial, public_key);
    if let Some(text) = b.apiv3_key.as_deref() {
        merchant.apiv3 = Apiv3::from_text(text).map_err(|e| bad(format!("apiv3_key: {e}")))?;
        merchant.certificate_mode = true;
    }
    let apiv3_key = merchant.apiv3.text.clone();
    sim.state.add_merchant(b.mchid.clone(), merchant);
    Ok(ok(json!({ "mchid": b.mchid, "apiv3_key": apiv3_key })))
}

fn merchants(sim: &Simulator) -> Reply {
    let all: Vec<Value> = sim
        .state
        .merchants()
        .into_iter()
        .map(|(mchid, m)| {
            json!({
                "mchid": mchid,
                "serial": m.serial,
                "apiv3_key": m.apiv3.text,
                "certificate_mode": m.certificate_mode,
            })
        })
        .collect();
    Reply::json(200, &json!({ "merchants": all }))
}

fn receivers(sim: &Simulator, query: &str) -> Result<Reply, Reply> {
    let mchid = match crate::after_sales::query_param(query, "mchid") {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(())) => return Err(bad("mchid is not UTF-8 once decoded")),
    };
    Ok(Reply::json(
        200,
        &json!({ "receivers": sim.state.receivers(mchid.as_deref()) }),
    ))
}

/// The body of `POST /mock/notifications` (and `/build`, where `url` is not taken).
struct NotifyBody {
    url: Option<String>,
    spec: NotificationSpec,
}

/// The fields `POST /mock/notifications` takes.
const NOTIFY_FIELDS: [&str; 7] = [
    "url",
    "mchid",
    "event_type",
    "original_type",
    "summary",
    "associated_data",
    "resource",
];

/// Reads the body field by field, so that every refusal names its field.
fn notify_body(body: &[u8]) -> Result<NotifyBody, Reply> {
    let obj: serde_json::Map<String, Value> = parse(body)?;
    if let Some(unknown) = obj.keys().find(|k| !NOTIFY_FIELDS.contains(&k.as_str())) {
        let shown: String = unknown.chars().take(64).collect();
        return Err(Reply::param_error(
            &shown,
            None,
            format!(
                "is not a field of this request; expected {}",
                NOTIFY_FIELDS.join(", ")
            ),
        ));
    }
    let text = |name: &str| match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Reply::param_error(name, Some(other), "must be a string")),
    };
    let resource = match obj.get("resource") {
        Some(Value::Object(r)) => Value::Object(r.clone()),
        None | Some(Value::Null) => {
            return Err(Reply::param_error(
                "resource",
                None,
                "is required: the resource to encrypt, a JSON object",
            ));
        }
        Some(other) => {
            return Err(Reply::param_error(
                "resource",
                Some(other),
                "must be a JSON object",
            ));
        }
    };
    let mut spec = NotificationSpec::new(resource);
    spec.mchid = text("mchid")?;
    if let Some(e) = text("event_type")? {
        spec.event_type = e;
    }
    if let Some(o) = text("original_type")? {
        spec.original_type = o;
    }
    spec.summary = text("summary")?;
    if let Some(a) = text("associated_data")? {
        spec.associated_data = a;
    }
    Ok(NotifyBody {
        url: text("url")?,
        spec,
    })
}

/// A refusal naming the field of a `wechatpay_core` input error.
fn refused(e: &wechatpay_core::Error) -> Reply {
    let text = e.to_string();
    match e.field() {
        Some(field) => {
            let prefix = format!("invalid `{field}`: ");
            Reply::param_error(field, None, text.strip_prefix(&prefix).unwrap_or(&text))
        }
        None => bad(text),
    }
}

fn notify(sim: &Simulator, body: &[u8], now: i64) -> Result<Reply, Reply> {
    let b = notify_body(body)?;
    let Some(url) = b.url else {
        return Err(Reply::param_error(
            "url",
            None,
            "is required: where to POST the notification",
        ));
    };
    let spec = b.spec;
    let id = sim.notify(&url, &spec, now).map_err(|e| refused(&e))?;
    let mchid = spec
        .mchid
        .clone()
        .or_else(|| sim.state.primary().map(str::to_owned));
    Ok(ok(json!({
        "id": id,
        "url": url,
        "mchid": mchid,
        "event_type": spec.event_type,
    })))
}

fn build_notification(sim: &Simulator, body: &[u8], now: i64) -> Result<Reply, Reply> {
    let b = notify_body(body)?;
    if b.url.is_some() {
        return Err(Reply::param_error(
            "url",
            None,
            "is not taken here: POST /mock/notifications delivers",
        ));
    }
    let n = sim.notification(&b.spec, now).map_err(|e| refused(&e))?;
    let headers: serde_json::Map<String, Value> = n
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    Ok(ok(json!({
        "id": n.id,
        "headers": headers,
        "body": String::from_utf8_lossy(&n.body),
    })))
}

fn publish(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    struct Body {
        certificate: String,
        private_key: String,
    }
    let b: Body = parse(body)?;
    let platform =
        Platform::load(&b.certificate, &b.private_key).map_err(|e| bad(e.to_string()))?;
    let serial = platform.cert.serial().to_owned();
    sim.state.add_platform(platform);
    Ok(ok(json!({ "serial": serial })))
}

#[derive(Deserialize)]
struct Serial {
    serial: String,
}

fn retire(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    let b: Serial = parse(body)?;
    Ok(ok(
        json!({ "retired": sim.state.retire_platform(&b.serial) }),
    ))
}

fn sign_with(sim: &Simulator, body: &[u8]) -> Result<Reply, Reply> {
    #[derive(Deserialize)]
    struct Body {
        key: String,
        serial: Option<String>,
    }
    let b: Body = parse(body)?;
    let signer = match b.key.as_str() {
        "public-key" => sim.state.public_key_signer(),
        "platform-certificate" => sim
            .state
            .platform_signer(b.serial.as_deref())
            .ok_or_else(|| bad("no such platform certificate is published"))?,
        _ => return Err(bad("key must be public-key or platform-certificate")),
    };
    let serial = signer.serial.clone();
    sim.state.set_signer(signer);
    Ok(ok(json!({ "serial": serial })))
}

fn log(sim: &Simulator, query: &str) -> Reply {
    let limit = crate::after_sales::query_param(query, "limit")
        .and_then(Result::ok)
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100);
    let answers = sim.state.answers();
    let skip = answers.len().saturating_sub(limit);
    Reply::json(200, &json!({ "answers": &answers[skip..] }))
}
