//! The sandbox's own wire types for the after-sales endpoints and `/v3/certificates`, written
//! from the protocol (SPEC §1, §3), not taken from the client: a naming mistake in
//! `wechatpay-core`'s serde would otherwise be mirrored here and pass every test.

use serde::Serialize;

/// An after-sales split as it was asked for (`POST …/after-sales-orders`), every field checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AfterSalesRequest {
    /// The sub-merchant.
    pub sub_mchid: String,
    /// The WeChat Pay order.
    pub transaction_id: String,
    /// Fen to split back, more than 0.
    pub amount: i64,
    /// `SERVICE_FEE_INCOME`.
    #[serde(rename = "type")]
    pub sharing_type: String,
    /// `REFUND_TICKET`, `CHANGE_TICKET` or `RETURN_GOODS`.
    pub scene: String,
    /// The refund it follows.
    pub refund_id: String,
}

/// The answer to a create: what WeChat Pay accepted.
#[derive(Debug, Serialize)]
pub(crate) struct AfterSalesAccepted<'a> {
    pub(crate) sub_mchid: &'a str,
    pub(crate) transaction_id: &'a str,
    pub(crate) amount: i64,
}

/// The answer to a query.
#[derive(Debug, Serialize)]
pub(crate) struct AfterSalesOrder<'a> {
    pub(crate) sub_mchid: &'a str,
    pub(crate) transaction_id: &'a str,
    pub(crate) amount: i64,
    /// `PROCESSING`, `SUCCESS` or `FAILED`.
    pub(crate) result: &'static str,
    /// With `FAILED` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fail_reason: Option<&'a str>,
    /// RFC 3339 in Beijing time, once final.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) finish_time: Option<String>,
}

/// `GET /v3/certificates`: `{"data": [...]}`.
#[derive(Debug, Serialize)]
pub(crate) struct CertificateList {
    pub(crate) data: Vec<CertificateEntry>,
}

/// One published certificate.
#[derive(Debug, Serialize)]
pub(crate) struct CertificateEntry {
    pub(crate) serial_no: String,
    pub(crate) effective_time: String,
    pub(crate) expire_time: String,
    pub(crate) encrypt_certificate: Sealed,
}

/// An AES-256-GCM sealed resource: `algorithm`, `nonce`, `associated_data`, `ciphertext`.
#[derive(Debug, Serialize)]
pub(crate) struct Sealed {
    pub(crate) algorithm: String,
    pub(crate) nonce: String,
    pub(crate) associated_data: String,
    pub(crate) ciphertext: String,
}

/// `time` at UTC+8 as RFC 3339 (`2026-11-24T10:34:56+08:00`), as WeChat Pay writes times.
pub(crate) fn beijing(unix: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.to_offset(offset)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
