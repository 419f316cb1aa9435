//! What the command prints: results as text or JSON, errors, and the verbose HTTP log.

use wechatpay_core::http::{Request, Response};
use wechatpay_core::{AfterSalesOrder, AfterSalesOrderAccepted, Error, ErrorKind, signing};
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
    if e.is_fate_unknown() {
        eprintln!(
            "  outcome:    UNKNOWN: the request may have taken effect; query it before sending it again"
        );
    }
    if json {
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
    code
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
