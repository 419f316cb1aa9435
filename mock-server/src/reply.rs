//! Building answers: WeChat Pay's error shape, and signed 2xx answers.

use serde_json::{Value, json};
use wechatpay_core::{PrivateKey, signing};
use wiremock::ResponseTemplate;

use crate::faults::Fault;
use crate::keys::{random_alnum, random_hex};

/// An answer before it is signed: status and JSON body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) extra_headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            body: body.to_string().into_bytes(),
            content_type: "application/json",
            extra_headers: Vec::new(),
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

    /// A 400 `PARAM_ERROR` about a query parameter.
    pub(crate) fn query_param_error(field: &str, issue: impl Into<String>) -> Self {
        let issue = issue.into();
        Self::json(
            400,
            &json!({
                "code": "PARAM_ERROR",
                "message": format!("{field}: {issue}"),
                "detail": { "field": field, "issue": issue, "location": "query" }
            }),
        )
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Who signs the mock's answers.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    pub(crate) serial: String,
    pub(crate) key: PrivateKey,
}

/// Turns a reply into wiremock's response: `Request-ID` always; on 2xx, the signature headers
/// (bent as `fault` asks).
pub(crate) fn render(
    reply: Reply,
    request_id: &str,
    signer: &Signer,
    now: i64,
    fault: Option<&Fault>,
) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(reply.status)
        .insert_header("Request-ID", request_id)
        .insert_header("Server", "wechatpay-mock-server");
    for (name, value) in &reply.extra_headers {
        t = t.insert_header(*name, value.as_str());
    }
    if reply.is_success() && fault != Some(&Fault::MissingSignature) {
        let timestamp = if fault == Some(&Fault::StaleTimestamp) {
            now - 600
        } else {
            now
        };
        let timestamp = timestamp.to_string();
        let nonce = random_alnum(32);
        let signature = match fault {
            Some(Fault::SignatureProbe) => format!("WECHATPAY/SIGNTEST/{}", random_alnum(40)),
            _ => signer
                .key
                .sign_base64(&signing::response_message(&timestamp, &nonce, &reply.body))
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
        t = t
            .insert_header("Wechatpay-Timestamp", timestamp)
            .insert_header("Wechatpay-Nonce", nonce)
            .insert_header("Wechatpay-Serial", serial)
            .insert_header("Wechatpay-Signature", signature)
            .insert_header("Wechatpay-Signature-Type", signing::SCHEME);
    }
    if let Some(Fault::Delay(d)) = fault {
        t = t.set_delay(*d);
    }
    t.set_body_raw(reply.body, reply.content_type)
}

/// The same base64 signature with its first character changed: well-formed, wrong.
fn corrupt(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// A fresh `Request-ID`.
pub(crate) fn request_id() -> String {
    random_hex(32)
}

/// The reply a short-circuiting fault gives.
pub(crate) fn fault_reply(fault: &Fault) -> Option<Reply> {
    match fault {
        Fault::SystemError => Some(Reply::error(500, "SYSTEM_ERROR", "系统错误 (injected)")),
        Fault::FrequencyLimited { retry_after } => {
            let mut r = Reply::error(429, "FREQUENCY_LIMITED", "频率超限 (injected)");
            if let Some(secs) = retry_after {
                r.extra_headers.push(("Retry-After", secs.to_string()));
            }
            Some(r)
        }
        Fault::ServiceUnavailableHtml => Some(Reply {
            status: 503,
            body: b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n".to_vec(),
            content_type: "text/html",
            extra_headers: Vec::new(),
        }),
        _ => None,
    }
}
