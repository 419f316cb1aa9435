//! Verification of WeChat Pay's signed answers (responses and notifications).

use base64::Engine as _;
use http::HeaderMap;

use crate::signing::{SCHEME, response_message};
use crate::{Error, ErrorKind, KeyRing};

/// The prefix of WeChat Pay's deliberate probe signatures, which must never verify.
pub const SIGNATURE_PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The default tolerance between the answer's timestamp and the local clock: 5 minutes.
pub const DEFAULT_MAX_SKEW_SECS: u64 = 300;

/// Response header names (HTTP header names are case-insensitive; `http` stores them lowercase).
pub mod header {
    /// Unix seconds at which WeChat Pay signed.
    pub const TIMESTAMP: &str = "wechatpay-timestamp";
    /// The signing nonce.
    pub const NONCE: &str = "wechatpay-nonce";
    /// The base64 signature.
    pub const SIGNATURE: &str = "wechatpay-signature";
    /// The serial of the signing key (`PUB_KEY_ID_…` or a certificate serial).
    pub const SERIAL: &str = "wechatpay-serial";
    /// The signature algorithm: `WECHATPAY2-SHA256-RSA2048`.
    pub const SIGNATURE_TYPE: &str = "wechatpay-signature-type";
    /// WeChat Pay's id of the exchange, for support.
    pub const REQUEST_ID: &str = "request-id";
}

/// Verifies the signature headers of an answer over its raw `body`.
///
/// Checks, in order: all four headers present; signature type (when sent); not the
/// `WECHATPAY/SIGNTEST/` probe; timestamp within `max_skew_secs` of `now_unix`; a trusted key for
/// `Wechatpay-Serial`; the RSA signature.
///
/// # Errors
/// [`ErrorKind::MissingSignature`], [`ErrorKind::MalformedSignature`],
/// [`ErrorKind::UnsupportedSignatureType`], [`ErrorKind::SignatureProbe`], [`ErrorKind::TimestampSkew`], [`ErrorKind::UnknownSerial`]
/// or [`ErrorKind::SignatureMismatch`]. None is retryable.
pub fn verify_signed(
    keys: &KeyRing,
    now_unix: i64,
    max_skew_secs: u64,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Error> {
    let get = |name: &'static str| -> Result<&str, Error> {
        let value = headers.get(name).ok_or_else(|| {
            Error::of_kind(
                ErrorKind::MissingSignature,
                format!("no {name} header: the message is not from WeChat Pay"),
            )
        })?;
        value.to_str().map_err(|_| {
            Error::of_kind(
                ErrorKind::MalformedSignature,
                format!("the {name} header is not ASCII"),
            )
        })
    };
    let timestamp = get(header::TIMESTAMP)?;
    let nonce = get(header::NONCE)?;
    let signature = get(header::SIGNATURE)?;
    let serial = get(header::SERIAL)?;
    if let Some(kind) = headers.get(header::SIGNATURE_TYPE)
        && kind.as_bytes() != SCHEME.as_bytes()
    {
        return Err(Error::of_kind(
            ErrorKind::UnsupportedSignatureType,
            "the Wechatpay-Signature-Type is not WECHATPAY2-SHA256-RSA2048 (WECHATPAY2-SM2-WITH-SM3 is not supported)",
        ));
    }
    if signature.starts_with(SIGNATURE_PROBE_PREFIX) {
        return Err(Error::of_kind(
            ErrorKind::SignatureProbe,
            "the message carries WeChat Pay's WECHATPAY/SIGNTEST/ probe signature, which must not verify",
        ));
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| {
        Error::of_kind(
            ErrorKind::MalformedSignature,
            "the Wechatpay-Timestamp header is not a number of seconds",
        )
    })?;
    let skew = now_unix.abs_diff(signed_at);
    if skew > max_skew_secs {
        return Err(Error::of_kind(
            ErrorKind::TimestampSkew,
            format!(
                "the message was signed {skew} s away from the local clock (limit {max_skew_secs} s): replayed, or a clock is wrong"
            ),
        ));
    }
    let key = keys
        .get(serial)
        .ok_or_else(|| Error::unknown_serial(serial))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| {
            Error::of_kind(
                ErrorKind::MalformedSignature,
                "the Wechatpay-Signature header is not base64",
            )
        })?;
    if key.verify(&response_message(timestamp, nonce, body), &raw) {
        Ok(())
    } else {
        Err(Error::of_kind(
            ErrorKind::SignatureMismatch,
            "the signature does not match the body: altered, or signed with another key",
        ))
    }
}
