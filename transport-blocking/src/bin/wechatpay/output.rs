//! What the command prints: results as text or JSON, errors, and the verbose HTTP log.

use serde_json::value::RawValue;
use wechatpay_core::http::{HeaderMap, Request, Response};
use wechatpay_core::notification::Notification;
use wechatpay_core::orders::{FinishedOrder, ProfitSharingOrder, UnsplitAmount};
use wechatpay_core::receivers::Receiver;
use wechatpay_core::returns::ReturnOrder;
use wechatpay_core::{
    AfterSalesOrder, AfterSalesOrderAccepted, DecryptProblem, Error, ErrorKind, signing,
};
use wechatpay_transport_blocking::Exchange;

/// Prints an accepted create.
pub(crate) fn accepted(a: &AfterSalesOrderAccepted, json: bool) {
    if json {
        println!("{}", serde_json::json!(a));
    } else {
        let amount = a
            .amount
            .map_or_else(|| "-".to_owned(), |f| format!("{f} fen"));
        println!(
            "accepted: sub_mchid={} transaction_id={} amount={amount}",
            a.sub_mchid, a.transaction_id
        );
    }
}

/// Prints a queried order.
pub(crate) fn order(o: &AfterSalesOrder, json: bool) {
    if json {
        println!("{}", serde_json::json!(o));
    } else {
        let mut line = format!(
            "result: {} sub_mchid={} transaction_id={} amount={} fen",
            o.result, o.sub_mchid, o.transaction_id, o.amount
        );
        if let Some(reason) = &o.fail_reason {
            line.push_str(&format!(" fail_reason={reason}"));
        }
        // The same RFC 3339 text the JSON output carries.
        if let Some(t) = serde_json::json!(o)["finish_time"].as_str() {
            line.push_str(&format!(" finish_time={t}"));
        }
        println!("{line}");
    }
}

/// An RFC 3339 field of a serialised record, as the JSON output carries it.
fn time_field(value: &serde_json::Value, name: &str) -> Option<String> {
    value[name].as_str().map(str::to_owned)
}

/// Prints a split (or a finish) as WeChat Pay records it: one line for the split, one per
/// receiver's share.
pub(crate) fn split(o: &ProfitSharingOrder, json: bool) {
    let value = serde_json::json!(o);
    if json {
        println!("{value}");
        return;
    }
    let status = o
        .status
        .as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string);
    let total: i64 = o.receivers.iter().map(|r| r.amount).sum();
    let mut line = format!(
        "split: {status} out_order_no={} order_id={} sub_mchid={} transaction_id={} total={total} fen",
        o.out_order_no, o.order_id, o.sub_mchid, o.transaction_id
    );
    if let Some(released) = o.finish_amount {
        line.push_str(&format!(" finish_amount={released} fen"));
    }
    println!("{line}");
    for (r, shown) in o
        .receivers
        .iter()
        .zip(value["receivers"].as_array().into_iter().flatten())
    {
        let result = r
            .result
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let mut line = format!(
            "  share: {result} {} {} amount={} fen description={:?}",
            r.receiver_type, r.receiver_account, r.amount, r.description
        );
        if let Some(reason) = &r.fail_reason {
            line.push_str(&format!(" fail_reason={reason}"));
        }
        if let Some(t) = time_field(shown, "finish_time") {
            line.push_str(&format!(" finish_time={t}"));
        }
        println!("{line}");
    }
}

/// Prints a finish WeChat Pay accepted.
pub(crate) fn finished(f: &FinishedOrder, json: bool) {
    if json {
        println!("{}", serde_json::json!(f));
    } else {
        println!(
            "finished: out_order_no={} order_id={} sub_mchid={} transaction_id={} (what was left goes to the sub-merchant)",
            f.out_order_no, f.order_id, f.sub_mchid, f.transaction_id
        );
    }
}

/// Prints what is left to split.
pub(crate) fn unsplit(u: &UnsplitAmount, json: bool) {
    if json {
        println!("{}", serde_json::json!(u));
    } else {
        println!(
            "unsplit_amount: {} fen transaction_id={}",
            u.unsplit_amount, u.transaction_id
        );
    }
}

/// Prints a return as WeChat Pay records it.
pub(crate) fn return_order(r: &ReturnOrder, json: bool) {
    let value = serde_json::json!(r);
    if json {
        println!("{value}");
        return;
    }
    let mut line = format!(
        "return: {} out_return_no={} return_no={} return_mchid={} amount={} fen out_order_no={} order_id={} sub_mchid={}",
        r.result,
        r.out_return_no,
        r.return_no,
        r.return_mchid,
        r.amount,
        r.out_order_no,
        r.order_id,
        r.sub_mchid
    );
    if let Some(reason) = &r.fail_reason {
        line.push_str(&format!(" fail_reason={reason}"));
    }
    if let Some(t) = time_field(&value, "finish_time") {
        line.push_str(&format!(" finish_time={t}"));
    }
    println!("{line}");
}

/// Prints downloaded certificates, with the file each was written to.
pub(crate) fn certificates(
    list: &[(&wechatpay_core::PlatformCertificate, Option<String>)],
    json: bool,
) {
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    if json {
        let items: Vec<_> = list
            .iter()
            .map(|(c, path)| {
                serde_json::json!({
                    "serial_no": c.serial(),
                    "effective_time": rfc3339(c.not_before()),
                    "expire_time": rfc3339(c.not_after()),
                    "file": path,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "certificates": items }));
    } else {
        for (c, path) in list {
            let mut line = format!(
                "certificate {} valid {} to {}",
                c.serial(),
                rfc3339(c.not_before()),
                rfc3339(c.not_after())
            );
            if let Some(p) = path {
                line.push_str(&format!(" -> {p}"));
            }
            println!("{line}");
        }
    }
}

/// Whether an error means the answer could not be trusted.
pub(crate) fn is_verification(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::MissingSignature
            | ErrorKind::MalformedSignature
            | ErrorKind::SignatureProbe
            | ErrorKind::TimestampSkew
            | ErrorKind::UnknownSerial
            | ErrorKind::SignatureMismatch
    )
}

/// Prints an error on stderr (and as JSON on stdout with --json); returns the exit code.
pub(crate) fn error(e: &Error, json: bool) -> u8 {
    let code = match e.kind() {
        // A certificate that does not decrypt means a wrong APIv3 key: configuration.
        ErrorKind::Config | ErrorKind::Key | ErrorKind::InvalidInput | ErrorKind::Decrypt => 2,
        _ => 1,
    };
    if is_verification(e.kind()) {
        eprintln!("error: the answer's signature did not verify: {e}");
    } else {
        eprintln!("error: {e}");
    }
    if e.kind() == ErrorKind::Api {
        if let Some(c) = e.code() {
            eprintln!("  code:       {c}");
        }
        if let Some(m) = e.api_message() {
            eprintln!("  message:    {m}");
        }
        if let Some(d) = e.detail() {
            eprintln!("  detail:     {d}");
        }
    }
    if let Some(id) = e.request_id() {
        eprintln!("  Request-ID: {id}");
    }
    if e.kind() == ErrorKind::Transport {
        // What the HTTP stack said (a refused certificate, a reset connection), without any
        // credentials a URL in it may carry.
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            eprintln!(
                "  cause:      {}",
                wechatpay_core::redact_userinfo(&cause.to_string())
            );
            source = cause.source();
        }
    }
    if e.is_fate_unknown() {
        eprintln!(
            "  outcome:    UNKNOWN: the request may have taken effect; query it before sending it again"
        );
    }
    if json {
        error_json(e);
    }
    code
}

/// The error as one JSON object on stdout.
fn error_json(e: &Error) {
    println!(
        "{}",
        serde_json::json!({ "error": {
            "kind": format!("{:?}", e.kind()),
            "message": e.to_string(),
            "status": e.status().map(|s| s.as_u16()),
            "code": e.code(),
            "api_message": e.api_message(),
            "request_id": e.request_id(),
            "retryable": e.is_retryable(),
            "fate_unknown": e.is_fate_unknown(),
        }})
    );
}

/// A verified notification, with its resource exactly as decrypted.
#[derive(wechatpay_core::serde::Serialize)]
#[serde(crate = "wechatpay_core::serde")]
struct VerifiedNotification<'a> {
    id: &'a str,
    create_time: &'a str,
    event_type: &'a str,
    summary: &'a str,
    original_type: &'a str,
    resource: &'a RawValue,
    request_id: Option<&'a str>,
}

/// Prints a verified notification: its decrypted resource (the whole notification with
/// --json) on stdout, what was verified on stderr.
pub(crate) fn notification(n: &Notification<Box<RawValue>>, headers: &HeaderMap, json: bool) {
    let serial = headers
        .get("wechatpay-serial")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    eprintln!(
        "verified: notification {} ({}, original_type {}, created {}) signed by WeChat Pay key {serial}",
        n.id, n.event_type, n.original_type, n.create_time
    );
    if json {
        let whole = VerifiedNotification {
            id: &n.id,
            create_time: &n.create_time,
            event_type: &n.event_type,
            summary: &n.summary,
            original_type: &n.original_type,
            resource: &n.resource,
            request_id: n.request_id.as_deref(),
        };
        match serde_json::to_string(&whole) {
            Ok(text) => println!("{text}"),
            // Strings and JSON already parsed: serialising them does not fail.
            Err(e) => eprintln!("error: cannot print the notification as JSON: {e}"),
        }
    } else {
        println!("{}", n.resource.get());
    }
}

/// Prints why a notification did not verify, with a hint where one helps; returns exit code 1.
pub(crate) fn refused_notification(e: &Error, json: bool, replayed: bool) -> u8 {
    eprintln!("error: the notification did not verify: {e}");
    let hint = match e.kind() {
        ErrorKind::TimestampSkew if !replayed => Some(
            "a captured notification? verify it with --at UNIX_SECONDS (its Wechatpay-Timestamp)",
        ),
        ErrorKind::UnknownSerial => Some(
            "trust the key it names: --wechatpay-public-key-id with --wechatpay-public-key, or --platform-certificate (`certificates download --out DIR` writes them)",
        ),
        ErrorKind::SignatureMismatch if !looks_reserialised_message(e) => Some(
            "the body must be the bytes exactly as received, and the key the one WeChat Pay signs with",
        ),
        ErrorKind::Decrypt if e.decrypt_problem() == Some(DecryptProblem::Tag) => Some(
            "the signature verified, so check the APIv3 key (--apiv3-key-file): it must be the receiving merchant's",
        ),
        _ => None,
    };
    if let Some(hint) = hint {
        eprintln!("  hint: {hint}");
    }
    if json {
        error_json(e);
    }
    1
}

fn looks_reserialised_message(e: &Error) -> bool {
    e.to_string().contains("re-serialised")
}

/// Prints a receiver WeChat Pay added or deleted; `sealed_with` is the serial of the key that
/// encrypted its name.
pub(crate) fn receiver(done: &str, r: &Receiver, sealed_with: Option<&str>, json: bool) {
    if json {
        println!("{}", serde_json::json!(r));
    } else {
        let mut line = format!("{done}: {} {}", r.receiver_type, r.account);
        if let Some(serial) = sealed_with {
            line.push_str(&format!(
                " (name encrypted with WeChat Pay key {serial}, sent as Wechatpay-Serial)"
            ));
        }
        println!("{line}");
    }
}

/// The verbose log of one side of an exchange, on stderr, secrets redacted.
pub(crate) fn exchange(x: Exchange<'_>) {
    match x {
        Exchange::Request(r) => request(r),
        Exchange::Response(r) => response(r),
        _ => {}
    }
}

fn request(r: &Request<Vec<u8>>) {
    eprintln!("> {} {}", r.method(), r.uri());
    for (name, value) in r.headers() {
        let value = value.to_str().unwrap_or("<binary>");
        let shown = if name == "authorization" {
            signing::redact_authorization(value)
        } else {
            value.to_owned()
        };
        eprintln!("> {name}: {shown}");
    }
    body(">", r.body());
}

fn response(r: &Response<Vec<u8>>) {
    eprintln!("< {}", r.status());
    for (name, value) in r.headers() {
        let value = value.to_str().unwrap_or("<binary>");
        let shown = if name == "wechatpay-signature" {
            "<redacted>"
        } else {
            value
        };
        eprintln!("< {name}: {shown}");
    }
    body("<", r.body());
}

fn body(prefix: &str, b: &[u8]) {
    if !b.is_empty() {
        eprintln!("{prefix}");
        eprintln!("{prefix} {}", String::from_utf8_lossy(b));
    }
    eprintln!();
}
