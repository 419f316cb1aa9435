//! Building answers: WeChat Pay's error shape, and signed 2xx answers.

use serde_json::{Value, json};
use wechatpay_core::PrivateKey;

use crate::faults::{Fault, RateLimitCode};
use crate::rng::Rng;

/// An answer before it is signed: status and JSON body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) extra_headers: Vec<(&'static str, String)>,
    /// Lines for the log beside the request's own (e.g. a warning).
    pub(crate) notes: Vec<String>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            body: body.to_string().into_bytes(),
            content_type: "application/json",
            extra_headers: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// WeChat Pay's error body: `{"code", "message"[, "detail"]}`.
    pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(status, &json!({ "code": code, "message": message.into() }))
    }

    /// A 400 `PARAM_ERROR` naming a body field with a JSON pointer.
    pub(crate) fn param_error(
        field: &str,
        value: Option<&Value>,
        issue: impl Into<String>,
    ) -> Self {
        let issue = issue.into();
        let mut detail =
            json!({ "field": format!("/{field}"), "issue": issue, "location": "body" });
        if let (Some(v), Some(map)) = (value, detail.as_object_mut()) {
            map.insert("value".into(), v.clone());
        }
        Self::json(
            400,
            &json!({ "code": "PARAM_ERROR", "message": format!("{field}: {issue}"), "detail": detail }),
        )
    }

    /// A 400 `PARAM_ERROR` about a request header.
    /// 429 with `code`, and `Retry-After` when given (seconds).
    pub(crate) fn rate_limited(
        code: RateLimitCode,
        message: impl Into<String>,
        retry_after: Option<u64>,
    ) -> Self {
        let mut reply = Self::error(429, code.as_str(), message);
        if let Some(secs) = retry_after {
            reply.extra_headers.push(("Retry-After", secs.to_string()));
        }
        reply
    }

    pub(crate) fn header_error(header: &str, issue: impl Into<String>) -> Self {
        Self::located_error(header, issue.into(), "header")
    }

    /// A 400 `PARAM_ERROR` about a path parameter.
    pub(crate) fn path_param_error(field: &str, issue: impl Into<String>) -> Self {
        Self::located_error(field, issue.into(), "path")
    }

    /// A 400 `PARAM_ERROR` about a query parameter.
    pub(crate) fn query_param_error(field: &str, issue: impl Into<String>) -> Self {
        Self::located_error(field, issue.into(), "query")
    }

    /// A 400 `PARAM_ERROR` naming `field` and where it was (`header`, `path`, `query`).
    fn located_error(field: &str, issue: String, location: &str) -> Self {
        Self::json(
            400,
            &json!({
                "code": "PARAM_ERROR",
                "message": format!("{field}: {issue}"),
                "detail": { "field": field, "issue": issue, "location": location }
            }),
        )
    }
}

/// Who signs the mock's answers.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    pub(crate) serial: String,
    pub(crate) key: PrivateKey,
}

/// The scheme of WeChat Pay's answer signatures.
pub(crate) const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The message WeChat Pay signs for an answer (and a notification): `TIMESTAMP\nNONCE\nBODY\n`.
pub(crate) fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    m.extend_from_slice(timestamp.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(nonce.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// An answer as the simulator gives it: status, headers, body, and how long to hold it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Hold the answer back this long (an injected delay), if set.
    pub delay: Option<std::time::Duration>,
    /// What happened, one line each, for whoever serves the simulator to log (the simulator
    /// writes nowhere itself): the request and its answer, and anything worth a warning.
    pub log: Vec<String>,
}

impl SimResponse {
    /// The first header named `name` (lowercase), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What an answer draws from the simulator's generator: its `Request-ID` and its signature's
/// nonce (drawn before signing, so that no lock is held while signing).
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    pub(crate) request_id: String,
    pub(crate) nonce: String,
}

impl Stamp {
    pub(crate) fn draw(rng: &mut Rng) -> Self {
        Self {
            request_id: rng.hex(32),
            nonce: rng.alnum(32),
        }
    }
}

/// Turns a reply into the answer: `Request-ID` always; on 2xx, the signature headers (bent as
/// `fault` asks).
pub(crate) fn render(
    reply: Reply,
    stamp: Stamp,
    signer: &Signer,
    now: i64,
    fault: Option<&Fault>,
) -> SimResponse {
    let Stamp { request_id, nonce } = stamp;
    let mut headers = vec![
        ("Request-ID", request_id),
        ("Server", "wechatpay-mock-server".to_owned()),
        ("Content-Type", reply.content_type.to_owned()),
    ];
    for (name, value) in reply.extra_headers {
        headers.push((name, value));
    }
    if reply.status >= 200 && reply.status < 300 && fault != Some(&Fault::MissingSignature) {
        let timestamp = if fault == Some(&Fault::StaleTimestamp) {
            now.saturating_sub(600)
        } else {
            now
        };
        let timestamp = timestamp.to_string();
        let signature = match fault {
            Some(Fault::SignatureProbe) => format!("WECHATPAY/SIGNTEST/{nonce}{}", &nonce[..8]),
            _ => signer
                .key
                .sign_base64(&response_message(&timestamp, &nonce, &reply.body))
                .unwrap_or_default(),
        };
        let signature = if fault == Some(&Fault::BrokenSignature) {
            corrupt(&signature)
        } else {
            signature
        };
        let serial = if fault == Some(&Fault::UnknownSerial) {
            format!("PUB_KEY_ID_{}", "9".repeat(34))
        } else {
            signer.serial.clone()
        };
        headers.extend([
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Serial", serial),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Signature-Type", SCHEME.to_owned()),
        ]);
    }
    let delay = match fault {
        Some(Fault::Delay(d)) => Some(*d),
        _ => None,
    };
    SimResponse {
        status: reply.status,
        headers,
        body: reply.body,
        delay,
        log: reply.notes,
    }
}

/// The same base64 signature with its first character changed: well-formed, wrong.
fn corrupt(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The reply a short-circuiting fault gives.
/// The 429 code is asked for only when the fault is a 429 (it takes the ledger's lock).
pub(crate) fn fault_reply(
    fault: &Fault,
    rate_limit_code: impl FnOnce() -> RateLimitCode,
) -> Option<Reply> {
    match fault {
        Fault::SystemError => Some(Reply::error(500, "SYSTEM_ERROR", "系统错误 (injected)")),
        Fault::FrequencyLimited { retry_after } => Some(Reply::rate_limited(
            rate_limit_code(),
            "频率超限 (injected)",
            *retry_after,
        )),
        Fault::ServiceUnavailableHtml => Some(Reply {
            status: 503,
            body: b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n".to_vec(),
            content_type: "text/html",
            extra_headers: Vec::new(),
            notes: Vec::new(),
        }),
        _ => None,
    }
}
