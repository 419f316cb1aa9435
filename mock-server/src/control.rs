//! The control API: JSON over HTTP under `/mock/`, for steering the simulator from any
//! language. Refusals use WeChat Pay's error shape (`{"code", "message"}`).
//!
//! | request | body | effect |
//! |---|---|---|
//! | `POST /mock/outcomes` | `{"sub_mchid", "transaction_id", "result": "SUCCESS"\|"FAILED"\|"PROCESSING", "fail_reason"?, "processing_queries"?, "processing_seconds"?}` | how that order ends |
//! | `POST /mock/faults` | `{"kind", "route"?, "count"?, "retry_after"?, "delay_ms"?}` | inject a fault into the next `count` requests on `route` |
//! | `POST /mock/merchants` | `{"mchid", "serial", "public_key", "apiv3_key"?}` | accept another merchant (PEM public key) |
//! | `POST /mock/platform-certificates` | `{"certificate", "private_key"}` | publish a platform certificate (PEM); answers its serial |
//! | `POST /mock/sign-with` | `{"key": "public-key"}` or `{"key": "platform-certificate", "serial"?}` | which key signs answers |
//! | `POST /mock/platform-certificates/retire` | `{"serial"}` | stop publishing one |
//! | `GET /mock/log?limit=N` | | the last answers (method, path, status, Request-ID) |
//! | `POST /mock/reset` | | forget orders, outcomes, faults and the log |

use serde::Deserialize;
use serde_json::{Value, json};
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{FailReason, PublicKey};

use crate::faults::{Fault, Route};
use crate::reply::Reply;
use crate::simulator::Simulator;
use crate::state::{Merchant, Outcome, Platform, Processing};

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

/// Answers a control request.
pub(crate) fn handle(sim: &Simulator, method: &str, path: &str, query: &str, body: &[u8]) -> Reply {
    let result = match (method, path) {
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
        (
            _,
            "/mock/outcomes"
            | "/mock/faults"
            | "/mock/merchants"
            | "/mock/platform-certificates"
            | "/mock/platform-certificates/retire"
            | "/mock/sign-with"
            | "/mock/log"
            | "/mock/reset",
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
    struct Body {
        sub_mchid: String,
        transaction_id: String,
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
    let outcome = match (b.result.as_str(), b.fail_reason) {
        ("SUCCESS", None) => Outcome::Success,
        ("FAILED", Some(reason)) if !reason.is_empty() => Outcome::Failed(FailReason::from(reason)),
        ("FAILED", _) => return Err(bad("FAILED needs a fail_reason, e.g. NO_RELATION")),
        ("SUCCESS", Some(_)) => return Err(bad("fail_reason goes with FAILED only")),
        // Stays PROCESSING: an outcome that never comes.
        ("PROCESSING", None) => Outcome::StaysProcessing,
        _ => return Err(bad("result must be SUCCESS, FAILED or PROCESSING")),
    };
    sim.state
        .plan_with(&b.sub_mchid, &b.transaction_id, outcome, processing);
    Ok(ok(json!({})))
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
        other => {
            return Err(bad(format!(
                "route {other:?}: any, create, query or certificates"
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
    let apiv3_key = b
        .apiv3_key
        .as_deref()
        .map(ApiV3Key::new)
        .transpose()
        .map_err(|e| bad(format!("apiv3_key: {e}")))?;
    sim.state.add_merchant(
        b.mchid.clone(),
        Merchant {
            serial: b.serial,
            public_key,
            apiv3_key,
        },
    );
    Ok(ok(json!({ "mchid": b.mchid })))
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
