//! The control API: JSON over HTTP under `/mock/`, for steering the sandbox from any language.
//! Bodies are strict ([`crate::strict`]): a field the route does not take, or of the wrong
//! type, is 400 `PARAM_ERROR` naming it. Refusals use WeChat Pay's error shape
//! (`{"code", "message", "detail"?}`); every change goes through [`crate::steer`], as the
//! in-process mock's do.
//!
//! | request | body (defaults) | effect, answer |
//! |---|---|---|
//! | `POST /mock/outcomes` | `{"sub_mchid", "transaction_id", "result": "SUCCESS"\|"FAILED"\|"PROCESSING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that after-sales order ends |
//! | `POST /mock/outcomes` | `{"sub_mchid", "out_order_no", "receiver_account"?, "result": "SUCCESS"\|"CLOSED"\|"PENDING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that split's shares end (one receiver's with `receiver_account`) |
//! | `POST /mock/outcomes` | `{"sub_mchid", "out_return_no", "result": "SUCCESS"\|"FAIL"\|"PROCESSING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that return ends |
//! | `POST /mock/transactions` | `{"sub_mchid", "transaction_id", "amount"}` | declare a paid transaction (fen) |
//! | `GET /mock/transactions?transaction_id=T` | | transactions with their splits and returns |
//! | `POST /mock/notify-urls` | `{"account", "url", "mchid"?}` | where receiver `account`'s notifications go |
//! | `GET /mock/notify-urls` | | the URLs registered |
//! | `POST /mock/settings` | `{"strict_transactions"?, "rate_limits"?, "frequency_limit"?, "rate_limit_code"?, "platform_mchids"?}` | change the rules; answers them all |
//! | `GET /mock/settings` | | the settings |
//! | `POST /mock/faults` | `{"kind", "route"? ("any"), "count"? (1), "retry_after"? (none), "delay_ms"? (2000)}` | arm a fault; answers `armed` with every value used |
//! | `POST /mock/merchants` | `{"mchid", "serial", "public_key", "apiv3_key"?}` | accept another merchant; answers its APIv3 key |
//! | `GET /mock/merchants` | | every merchant |
//! | `GET /mock/receivers?mchid=M` | | the receivers added, names decrypted |
//! | `POST /mock/notifications` | `{"url", "mchid"?, "event_type"?, "original_type"?, "summary"?, "associated_data"?, "resource"}` | deliver a notification; answers its `id` |
//! | `POST /mock/notifications/build` | as above, without `url` | the notification's `id`, `headers` and `body`, not delivered |
//! | `GET /mock/notifications` | | every delivery and its attempts |
//! | `POST /mock/platform-certificates` | `{"certificate", "private_key"}` | publish (checked: the key is the certificate's, RSA ≥ 2048); answers `serial`, `valid`, `warning` |
//! | `POST /mock/sign-with` | `{"key": "public-key"\|"platform-certificate", "serial"? (last published), "mchid"? (every merchant)}` | which key signs answers; 404 for an unknown serial or merchant |
//! | `POST /mock/platform-certificates/retire` | `{"serial"}` | stop publishing one; 404 when it is not published |
//! | `GET /mock/log?limit=N` | | the last N answers (default 100) |
//! | `POST /mock/reset` | `{"keep"?: ["merchants", "certificates", "settings"]}` | back to the start-up state, keeping what `keep` names |

use serde_json::{Value, json};
use wechatpay_core::{FailReason, PublicKey};

use crate::faults::RateLimitCode;
use crate::faults::{Fault, Route};
use crate::ledger::{NotifyUrl, Processing, ReturnOutcome, ShareOutcome};
use crate::notify::NotificationSpec;
use crate::outbox;
use crate::reply::Reply;
use crate::request::{enum_form_problem, query_param};
use crate::state::{Apiv3, Keep, Outcome, State};
use crate::steer::{self, Key, Refusal, SettingsChange, view};
use crate::strict::{self, Body, Field, Ty, opt, req};

fn ok(extra: Value) -> Reply {
    let mut body = json!({ "ok": true });
    if let (Some(map), Value::Object(more)) = (body.as_object_mut(), extra) {
        map.extend(more);
    }
    Reply::json(200, &body)
}

/// Every control path and the methods it takes.
const PATHS: [(&str, &[&str]); 14] = [
    ("/mock/outcomes", &["POST"]),
    ("/mock/transactions", &["GET", "POST"]),
    ("/mock/notify-urls", &["GET", "POST"]),
    ("/mock/settings", &["GET", "POST"]),
    ("/mock/faults", &["POST"]),
    ("/mock/merchants", &["GET", "POST"]),
    ("/mock/receivers", &["GET"]),
    ("/mock/notifications", &["GET", "POST"]),
    ("/mock/notifications/build", &["POST"]),
    ("/mock/platform-certificates", &["POST"]),
    ("/mock/platform-certificates/retire", &["POST"]),
    ("/mock/sign-with", &["POST"]),
    ("/mock/log", &["GET"]),
    ("/mock/reset", &["POST"]),
];

/// The query parameters each control route takes (routes not listed take none).
const QUERIES: [(&str, &[&str]); 3] = [
    ("GET /mock/log", &["limit"]),
    ("GET /mock/receivers", &["mchid"]),
    ("GET /mock/transactions", &["transaction_id"]),
];

/// Answers a control request at `now`.
pub(crate) fn handle(
    state: &State,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    now: i64,
) -> Reply {
    let route = format!("{} {path}", method.chars().take(16).collect::<String>());
    let known = PATHS
        .iter()
        .any(|(p, methods)| *p == path && methods.contains(&method));
    if known {
        let names = QUERIES
            .iter()
            .find(|(r, _)| *r == route)
            .map_or(&[][..], |(_, names)| *names);
        if let Err(reply) = strict::query(query, &route, names) {
            return reply;
        }
    }
    let json = |v: Value| Ok(Reply::json(200, &v));
    let result = match (method, path) {
        ("GET", "/mock/merchants") => json(view::merchants(state)),
        ("GET", "/mock/receivers") => {
            param(query, "mchid").and_then(|mchid| json(view::receivers(state, mchid.as_deref())))
        }
        ("POST", "/mock/notifications") => notify(state, body, now),
        ("POST", "/mock/notifications/build") => build_notification(state, body, now),
        ("GET", "/mock/notifications") => json(view::deliveries(state)),
        ("POST", "/mock/outcomes") => outcome(state, body),
        ("POST", "/mock/faults") => fault(state, body),
        ("POST", "/mock/merchants") => merchant(state, body),
        ("POST", "/mock/platform-certificates") => publish(state, body, now),
        ("POST", "/mock/platform-certificates/retire") => retire(state, body),
        ("POST", "/mock/sign-with") => sign_with(state, body),
        ("GET", "/mock/log") => log(state, query),
        ("POST", "/mock/reset") => reset(state, body),
        ("POST", "/mock/transactions") => declare(state, body),
        ("GET", "/mock/transactions") => param(query, "transaction_id")
            .and_then(|only| json(view::transactions(state, only.as_deref()))),
        ("POST", "/mock/notify-urls") => notify_url(state, body),
        ("GET", "/mock/notify-urls") => json(view::notify_urls(state)),
        ("POST", "/mock/settings") => settings(state, body),
        ("GET", "/mock/settings") => json(view::settings(state)),
        _ => Err(match PATHS.iter().find(|(p, _)| *p == path) {
            Some((_, methods)) => {
                let mut reply = Reply::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!("{route}: this path takes {}", methods.join(" or ")),
                );
                reply.extra_headers.push(("Allow", methods.join(", ")));
                reply
            }
            None => Reply::error(
                404,
                "NOT_FOUND",
                format!(
                    "no control endpoint {}; they are {}",
                    path.chars().take(128).collect::<String>(),
                    PATHS.map(|(p, _)| p).join(", ")
                ),
            ),
        }),
    };
    result.unwrap_or_else(|reply| reply)
}

fn outcome(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/outcomes",
        &[
            req("sub_mchid", Ty::Text),
            opt("transaction_id", Ty::Text),
            opt("out_order_no", Ty::Text),
            opt("receiver_account", Ty::Text),
            opt("out_return_no", Ty::Text),
            req("result", Ty::Text),
            opt("fail_reason", Ty::Text),
            opt("processing_queries", Ty::Count),
            opt("processing_seconds", Ty::Count),
        ],
    )?;
    let queries = bounded(&b, "processing_queries", MAX_QUERIES)?;
    let seconds = bounded(&b, "processing_seconds", MAX_SECONDS)?;
    // Either given: the other is 0. Neither: the sandbox's processing time at settling.
    let processing = match (queries, seconds) {
        (None, None) => None,
        (q, s) => Some(Processing {
            queries: u32::try_from(q.unwrap_or(0)).unwrap_or(u32::MAX),
            seconds: i64::try_from(s.unwrap_or(0)).unwrap_or(i64::MAX),
        }),
    };
    let processing_echo = match processing {
        Some(p) => json!({ "queries": p.queries, "seconds": p.seconds }),
        None => {
            let p = state.processing();
            json!({ "queries": p.queries, "seconds": p.seconds, "default": true })
        }
    };
    let sub_mchid = b.text("sub_mchid").unwrap_or_default();
    let result = b.text("result").unwrap_or_default();
    let fail_reason = b.text("fail_reason");
    let bad = |field: &str, message: &str| Reply::param_error(field, None, message);
    let reason = |reason: Option<String>, with: &str, example: &str| match reason {
        Some(r) if enum_form_problem(&r).is_none() => Ok(r),
        Some(_) => Err(bad(
            "fail_reason",
            &format!("must be an uppercase value such as {example}"),
        )),
        None => Err(bad(
            "fail_reason",
            &format!("is required with {with}, e.g. {example}"),
        )),
    };
    let only_with = |with: &str| bad("fail_reason", &format!("goes with {with} only"));
    let mut echo;
    match (
        b.text("transaction_id"),
        b.text("out_order_no"),
        b.text("out_return_no"),
    ) {
        (None, Some(out_order_no), None) => {
            let outcome = match (result.as_str(), fail_reason) {
                ("SUCCESS", None) => ShareOutcome::Success,
                ("CLOSED", r) => ShareOutcome::Closed(reason(r, "CLOSED", "NO_RELATION")?),
                ("PENDING", None) => ShareOutcome::Pending,
                ("SUCCESS" | "PENDING", Some(_)) => return Err(only_with("CLOSED")),
                _ => {
                    return Err(bad(
                        "result",
                        "a split's result is SUCCESS, CLOSED or PENDING",
                    ));
                }
            };
            let account = b.text("receiver_account");
            steer::plan_share(
                state,
                &sub_mchid,
                &out_order_no,
                account.as_deref(),
                outcome,
                processing,
            )?;
            echo = json!({
                "out_order_no": out_order_no,
                "receiver_account": account.unwrap_or_else(|| "every receiver".to_owned()),
            });
        }
        (None, None, Some(out_return_no)) => {
            if b.has("receiver_account") {
                return Err(bad("receiver_account", "goes with out_order_no only"));
            }
            let outcome = match (result.as_str(), fail_reason) {
                ("SUCCESS", None) => ReturnOutcome::Success,
                ("FAIL", r) => ReturnOutcome::Fail(reason(r, "FAIL", "ACCOUNT_ABNORMAL")?),
                ("PROCESSING", None) => ReturnOutcome::Processing,
                ("SUCCESS" | "PROCESSING", Some(_)) => return Err(only_with("FAIL")),
                _ => {
                    return Err(bad(
                        "result",
                        "a return's result is SUCCESS, FAIL or PROCESSING",
                    ));
                }
            };
            steer::plan_return(state, &sub_mchid, &out_return_no, outcome, processing)?;
            echo = json!({ "out_return_no": out_return_no });
        }
        (Some(transaction_id), None, None) => {
            if b.has("receiver_account") {
                return Err(bad("receiver_account", "goes with out_order_no only"));
            }
            let outcome = match (result.as_str(), fail_reason) {
                ("SUCCESS", None) => Outcome::Success,
                ("FAILED", r) => {
                    Outcome::Failed(FailReason::from(reason(r, "FAILED", "NO_RELATION")?))
                }
                ("SUCCESS" | "PROCESSING", Some(_)) => return Err(only_with("FAILED")),
                // Stays PROCESSING: an outcome that never comes.
                ("PROCESSING", None) => Outcome::StaysProcessing,
                _ => {
                    return Err(bad(
                        "result",
                        "an after-sales order's result is SUCCESS, FAILED or PROCESSING",
                    ));
                }
            };
            steer::plan_order(state, &sub_mchid, &transaction_id, outcome, processing)?;
            echo = json!({ "transaction_id": transaction_id });
        }
        _ => {
            return Err(Reply::error(
                400,
                "PARAM_ERROR",
                "name one record: transaction_id (an after-sales order), out_order_no (a split) or out_return_no (a return)",
            ));
        }
    }
    if let Some(map) = echo.as_object_mut() {
        map.insert("sub_mchid".into(), json!(sub_mchid));
        map.insert("result".into(), json!(result));
        map.insert("fail_reason".into(), json!(b.text("fail_reason")));
        map.insert("processing".into(), processing_echo);
    }
    Ok(ok(json!({ "planned": echo })))
}

/// The most `processing_queries` accepted.
const MAX_QUERIES: u64 = 1_000_000;
/// The most `processing_seconds` accepted: a year.
const MAX_SECONDS: u64 = 366 * 86_400;

/// A count field no larger than `max`, refused naming it otherwise.
fn bounded(b: &Body, name: &'static str, max: u64) -> Result<Option<u64>, Reply> {
    match b.count(name) {
        Some(n) if n > max => Err(Reply::param_error(
            name,
            Some(&json!(n)),
            format!("must be at most {max}"),
        )),
        n => Ok(n),
    }
}

fn declare(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/transactions",
        &[
            req("sub_mchid", Ty::Text),
            req("transaction_id", Ty::Text),
            req("amount", Ty::Int),
        ],
    )?;
    let tx = steer::declare_transaction(
        state,
        &b.text("sub_mchid").unwrap_or_default(),
        &b.text("transaction_id").unwrap_or_default(),
        b.int("amount").unwrap_or_default(),
    )?;
    Ok(ok(json!({ "transaction": tx })))
}

/// The first value of query parameter `name`, refused when it is not UTF-8 once decoded.
fn param(query: &str, name: &str) -> Result<Option<String>, Reply> {
    match query_param(query, name) {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(())) => Err(Reply::query_param_error(name, "is not UTF-8 once decoded")),
    }
}

fn notify_url(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/notify-urls",
        &[
            req("account", Ty::Text),
            req("url", Ty::Text),
            opt("mchid", Ty::Text),
        ],
    )?;
    let entry = NotifyUrl {
        account: b.text("account").unwrap_or_default(),
        url: b.text("url").unwrap_or_default(),
        mchid: b.text("mchid"),
    };
    let entry = steer::set_notify_url(state, entry)?;
    Ok(ok(json!({ "notify_url": entry })))
}

fn settings(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/settings",
        &[
            opt("strict_transactions", Ty::Bool),
            opt("rate_limits", Ty::Bool),
            opt("frequency_limit", Ty::CountOrNull),
            opt("rate_limit_code", Ty::Text),
            opt("platform_mchids", Ty::TextListOrNull),
        ],
    )?;
    let rate_limit_code = match b.text("rate_limit_code") {
        None => None,
        Some(code) => Some(RateLimitCode::parse(&code).ok_or_else(|| {
            Reply::param_error(
                "rate_limit_code",
                Some(&json!(code)),
                "must be FREQUENCY_LIMITED, RATELIMIT_EXCEEDED or RATE_LIMITED",
            )
        })?),
    };
    let change = SettingsChange {
        strict_transactions: b.flag("strict_transactions"),
        rate_limits: b.flag("rate_limits"),
        frequency_limit: if b.has("frequency_limit") {
            Some(
                bounded(&b, "frequency_limit", u64::from(u32::MAX))?
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            )
        } else {
            None
        },
        rate_limit_code,
        platform_mchids: b
            .has("platform_mchids")
            .then(|| b.texts("platform_mchids").unwrap_or_default()),
    };
    let now = steer::settings(state, change)?;
    Ok(ok(json!({ "settings": now })))
}

/// The route names of `POST /mock/faults`, and their routes.
const ROUTES: [(&str, Route); 12] = [
    ("any", Route::Any),
    ("create", Route::CreateAfterSales),
    ("query", Route::QueryAfterSales),
    ("certificates", Route::Certificates),
    ("add_receiver", Route::AddReceiver),
    ("delete_receiver", Route::DeleteReceiver),
    ("create_split", Route::CreateSplit),
    ("query_split", Route::QuerySplit),
    ("finish_order", Route::FinishOrder),
    ("unsplit_amount", Route::UnsplitAmount),
    ("create_return", Route::CreateReturn),
    ("query_return", Route::QueryReturn),
];

/// The fault kinds of `POST /mock/faults`, in the order its refusal lists them, and the fault
/// each arms from `retry_after` and the delay (`delay` and `broken_signature` are other names of
/// `processed_then_slow` and `processed_then_bad_signature`).
type MakeFault = fn(Option<u64>, std::time::Duration) -> Fault;
const KINDS: [(&str, MakeFault); 12] = [
    ("system_error", |_, _| Fault::SystemError),
    ("processed_then_system_error", |_, _| {
        Fault::ProcessedThenSystemError
    }),
    ("frequency_limited", |retry_after, _| {
        Fault::FrequencyLimited { retry_after }
    }),
    ("service_unavailable_html", |_, _| {
        Fault::ServiceUnavailableHtml
    }),
    ("processed_then_slow", |_, delay| Fault::Delay(delay)),
    ("delay", |_, delay| Fault::Delay(delay)),
    ("processed_then_bad_signature", |_, _| {
        Fault::BrokenSignature
    }),
    ("broken_signature", |_, _| Fault::BrokenSignature),
    ("stale_timestamp", |_, _| Fault::StaleTimestamp),
    ("unknown_serial", |_, _| Fault::UnknownSerial),
    ("signature_probe", |_, _| Fault::SignatureProbe),
    ("missing_signature", |_, _| Fault::MissingSignature),
];

/// The default wait of `processed_then_slow`, in milliseconds.
const DEFAULT_DELAY_MS: u64 = 2_000;

fn fault(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/faults",
        &[
            req("kind", Ty::Text),
            opt("route", Ty::Text),
            opt("count", Ty::Count),
            opt("retry_after", Ty::Count),
            opt("delay_ms", Ty::Count),
        ],
    )?;
    let route_name = b.text("route").unwrap_or_else(|| "any".to_owned());
    let Some((_, route)) = ROUTES.iter().find(|(n, _)| *n == route_name) else {
        return Err(Reply::param_error(
            "route",
            Some(&json!(route_name)),
            format!("must be one of {}", ROUTES.map(|(n, _)| n).join(", ")),
        ));
    };
    let kind = b.text("kind").unwrap_or_default();
    let retry_after = b.count("retry_after");
    let delay_ms = b.count("delay_ms");
    let is_delay = matches!(kind.as_str(), "processed_then_slow" | "delay");
    if retry_after.is_some() && kind != "frequency_limited" {
        return Err(Reply::param_error(
            "retry_after",
            None,
            "goes with kind frequency_limited only",
        ));
    }
    if delay_ms.is_some() && !is_delay {
        return Err(Reply::param_error(
            "delay_ms",
            None,
            "goes with kind processed_then_slow only",
        ));
    }
    let delay = std::time::Duration::from_millis(delay_ms.unwrap_or(DEFAULT_DELAY_MS));
    let Some((_, make)) = KINDS.iter().find(|(n, _)| *n == kind) else {
        return Err(Reply::param_error(
            "kind",
            Some(&json!(kind)),
            format!("must be one of {}", KINDS.map(|(n, _)| n).join(", ")),
        ));
    };
    let fault = make(retry_after, delay);
    let count = b.count("count").unwrap_or(1);
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    steer::arm(state, *route, fault, count)?;
    let mut armed = json!({ "kind": kind, "route": route_name, "count": count });
    if let Some(map) = armed.as_object_mut() {
        if kind == "frequency_limited" {
            map.insert("retry_after".into(), json!(retry_after));
        }
        if is_delay {
            map.insert("delay_ms".into(), json!(delay.as_millis()));
        }
    }
    Ok(ok(json!({ "armed": armed })))
}

fn merchant(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/merchants",
        &[
            req("mchid", Ty::Text),
            req("serial", Ty::Text),
            req("public_key", Ty::Text),
            opt("apiv3_key", Ty::Text),
        ],
    )?;
    let public_key = PublicKey::from_pem(&b.text("public_key").unwrap_or_default())
        .map_err(|e| Reply::param_error("public_key", None, e.to_string()))?;
    let apiv3 = match b.text("apiv3_key") {
        None => None,
        Some(text) => Some(
            Apiv3::from_text(&text)
                .map_err(|e| Reply::param_error("apiv3_key", None, e.to_string()))?,
        ),
    };
    let mchid = b.text("mchid").unwrap_or_default();
    let serial = b.text("serial").unwrap_or_default();
    let (apiv3_key, replaced) = steer::add_merchant(state, &mchid, &serial, public_key, apiv3)?;
    Ok(ok(
        json!({ "mchid": mchid, "apiv3_key": apiv3_key, "replaced": replaced }),
    ))
}

/// The fields `POST /mock/notifications` takes (`/build` takes them but `url`).
const NOTIFY_FIELDS: [Field; 7] = [
    req("url", Ty::Text),
    opt("mchid", Ty::Text),
    opt("event_type", Ty::Text),
    opt("original_type", Ty::Text),
    opt("summary", Ty::Text),
    opt("associated_data", Ty::Text),
    req("resource", Ty::Object),
];

/// The notification a body describes.
fn spec_of(b: &Body) -> NotificationSpec {
    let mut spec = NotificationSpec::new(b.object("resource").unwrap_or_default());
    spec.mchid = b.text("mchid");
    if let Some(e) = b.text("event_type") {
        spec.event_type = e;
    }
    if let Some(o) = b.text("original_type") {
        spec.original_type = o;
    }
    spec.summary = b.text("summary");
    if let Some(a) = b.text("associated_data") {
        spec.associated_data = a;
    }
    spec
}

fn notify(state: &State, body: &[u8], now: i64) -> Result<Reply, Reply> {
    let b = strict::read(body, "POST /mock/notifications", &NOTIFY_FIELDS)?;
    let url = b.text("url").unwrap_or_default();
    let spec = spec_of(&b);
    let id = outbox::record(state, &url, &spec, now)
        .map_err(|e| Reply::from(Refusal::from_error(&e)))?;
    let mchid = spec
        .mchid
        .clone()
        .or_else(|| state.primary().map(str::to_owned));
    Ok(ok(json!({
        "id": id,
        "url": url,
        "mchid": mchid,
        "event_type": spec.event_type,
        "original_type": spec.original_type,
        "summary": spec.summary,
        "associated_data": spec.associated_data,
    })))
}

fn build_notification(state: &State, body: &[u8], now: i64) -> Result<Reply, Reply> {
    let b = strict::read(body, "POST /mock/notifications/build", &NOTIFY_FIELDS[1..])?;
    let n = outbox::build(state, &spec_of(&b), None, now)
        .map_err(|e| Reply::from(Refusal::from_error(&e)))?;
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

fn publish(state: &State, body: &[u8], now: i64) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/platform-certificates",
        &[req("certificate", Ty::Text), req("private_key", Ty::Text)],
    )?;
    let published = steer::publish(
        state,
        &b.text("certificate").unwrap_or_default(),
        &b.text("private_key").unwrap_or_default(),
        now,
    )?;
    Ok(ok(json!({
        "serial": published.serial,
        "valid": published.warning.is_none(),
        "warning": published.warning,
    })))
}

fn retire(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/platform-certificates/retire",
        &[req("serial", Ty::Text)],
    )?;
    let serial = b.text("serial").unwrap_or_default();
    let warning = steer::retire(state, &serial)?;
    Ok(ok(json!({ "retired": serial, "warning": warning })))
}

fn sign_with(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(
        body,
        "POST /mock/sign-with",
        &[
            req("key", Ty::Text),
            opt("serial", Ty::Text),
            opt("mchid", Ty::Text),
        ],
    )?;
    let serial = b.text("serial");
    let key = match b.text("key").as_deref() {
        Some("public-key") if serial.is_some() => {
            return Err(Reply::param_error(
                "serial",
                None,
                "goes with key platform-certificate only",
            ));
        }
        Some("public-key") => Key::PublicKey,
        Some("platform-certificate") => Key::Platform(serial.as_deref()),
        _ => {
            return Err(Reply::param_error(
                "key",
                b.text("key").map(Value::String).as_ref(),
                "must be public-key or platform-certificate",
            ));
        }
    };
    let mchid = b.text("mchid");
    let serial = steer::sign_with(state, key, mchid.as_deref())?;
    Ok(ok(json!({ "serial": serial, "mchid": mchid })))
}

fn log(state: &State, query: &str) -> Result<Reply, Reply> {
    let limit = match param(query, "limit")? {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| Reply::query_param_error("limit", "must be a whole number, 0 or more"))?,
    };
    Ok(Reply::json(200, &view::answers(state, limit)))
}

fn reset(state: &State, body: &[u8]) -> Result<Reply, Reply> {
    let b = strict::read(body, "POST /mock/reset", &[opt("keep", Ty::TextList)])?;
    let mut keep = Keep::default();
    for item in b.texts("keep").unwrap_or_default() {
        match item.as_str() {
            "merchants" => keep.merchants = true,
            "certificates" => keep.certificates = true,
            "settings" => keep.settings = true,
            _ => {
                return Err(Reply::param_error(
                    "keep",
                    Some(&json!(item)),
                    "lists merchants, certificates or settings",
                ));
            }
        }
    }
    steer::reset(state, keep);
    Ok(ok(json!({ "kept": {
        "merchants": keep.merchants,
        "certificates": keep.certificates,
        "settings": keep.settings,
    } })))
}
