//! Webhook notifications (回调通知), sans-IO: verify the raw bytes, decrypt the resource, parse.
//!
//! Hand [`NotificationVerifier::verify`] the request exactly as it arrived — headers and the
//! raw body bytes, before any JSON parsing: a framework that parses and re-serialises the body
//! breaks the signature (the most common failure in every WeChat Pay SDK's tracker; the error
//! then says the body looks re-serialised). It checks the signature like an answer's (±300 s,
//! the key named by `Wechatpay-Serial`, the probe refused, `WECHATPAY2-SM2-WITH-SM3` refused as
//! unsupported), then decrypts the resource with the APIv3 key, then parses it: as
//! [`ProfitSharingNotification`], as [`serde_json::Value`], or as any type of yours.
//!
//! Each failure has its own [`ErrorKind`]: [`ErrorKind::TimestampSkew`] (stale),
//! [`ErrorKind::UnknownSerial`] (in certificate mode: refresh the certificates and verify
//! again — the transports' `verify_notification` does), [`ErrorKind::SignatureMismatch`],
//! [`ErrorKind::SignatureProbe`], [`ErrorKind::UnsupportedSignatureType`],
//! [`ErrorKind::MissingSignature`], [`ErrorKind::Decrypt`] with a [`DecryptProblem`]
//! (`NotEncrypted`, `Tag` for a wrong APIv3 key, `Algorithm`), and
//! [`ErrorKind::InvalidNotification`] for JSON that is not what was expected.
//!
//! The same notification (same [`Notification::id`]) can arrive more than once: handle it
//! idempotently, keyed by the id. Never dispatch on `event_type` alone (profit-sharing
//! notifications arrive as `TRANSACTION.SUCCESS`); look at `original_type` and the resource.
//! Answer with [`acknowledge`] once it is stored, or [`refuse`] to have WeChat Pay retry.
//!
//! ```
//! use wechatpay_core::{FixedClock, KeyRing};
//! use wechatpay_core::certificates::ApiV3Key;
//! use wechatpay_core::notification::{self, NotificationVerifier, ProfitSharingNotification};
//!
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
//! # let vectors: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/notifications.json")).unwrap()).unwrap();
//! # let case = &vectors["notifications"][0];
//! # let mut builder = http::Request::post("/notify");
//! # for (name, value) in case["headers"].as_object().unwrap() { builder = builder.header(name, value.as_str().unwrap()); }
//! # let request = builder.body(case["body"].as_str().unwrap().as_bytes().to_vec()).unwrap();
//! let keys = KeyRing::new().with_wechatpay_public_key_pem(
//!     "PUB_KEY_ID_0119000001002026112400000000000001",
//!     &std::fs::read_to_string(format!("{dir}/wechatpay_public_key.pem")).unwrap())?;
//! let verifier = NotificationVerifier::new(keys, ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7")?)
//!     .with_clock(std::sync::Arc::new(FixedClock::new(1_764_000_000))); // omit outside tests
//!
//! // `request`: http::Request<Vec<u8>> (or Bytes) with the body exactly as received.
//! let n = verifier.verify::<ProfitSharingNotification, _>(&request)?;
//! assert_eq!(n.original_type, "profitsharing");
//! assert_eq!(n.resource.receiver.amount, 888);
//! let answer = notification::acknowledge(); // 200 {"code":"SUCCESS"}
//! assert_eq!(answer.status(), 200);
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::certificates::{AEAD_AES_256_GCM, ApiV3Key, EncryptedResource};
use crate::receivers::ReceiverType;
use crate::verify::{DEFAULT_MAX_SKEW_SECS, header, verify_signed};
use crate::{Clock, DecryptProblem, Error, ErrorKind, KeyRing, SystemClock};

/// The `resource_type` of an encrypted resource.
pub const ENCRYPT_RESOURCE: &str = "encrypt-resource";

/// A verified, decrypted notification; `T` is its resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification<T = serde_json::Value> {
    /// WeChat Pay's id of the notification: the same id may arrive more than once, so key
    /// your handling by it.
    pub id: String,
    /// When WeChat Pay created it (RFC 3339).
    pub create_time: String,
    /// E.g. `TRANSACTION.SUCCESS`; not enough to dispatch on alone.
    pub event_type: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// WeChat Pay's short summary (e.g. `分账`).
    pub summary: String,
    /// What the resource is (e.g. `profitsharing`).
    pub original_type: String,
    /// The decrypted resource.
    pub resource: T,
    /// The `Request-ID` header, for WeChat Pay support.
    pub request_id: Option<String>,
}

/// A profit-sharing notification's resource (分账动账通知): money moved to or from a receiver.
/// Fields WeChat Pay adds later are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfitSharingNotification {
    /// The platform's merchant id.
    #[serde(default)]
    pub sp_mchid: String,
    /// The sub-merchant whose order was split.
    #[serde(default)]
    pub sub_mchid: String,
    /// The WeChat Pay transaction.
    pub transaction_id: String,
    /// WeChat Pay's profit-sharing order id.
    pub order_id: String,
    /// The merchant's profit-sharing order number.
    #[serde(default)]
    pub out_order_no: String,
    /// Who received (or returned) how much.
    pub receiver: NotifiedReceiver,
    /// When it succeeded (RFC 3339).
    #[serde(default)]
    pub success_time: String,
}

/// The receiver of a profit-sharing notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedReceiver {
    /// The account kind.
    #[serde(rename = "type")]
    pub receiver_type: ReceiverType,
    /// The mchid or openid.
    pub account: String,
    /// The amount in fen.
    pub amount: i64,
    /// What the split was for.
    #[serde(default)]
    pub description: String,
}

/// Verifies, decrypts and parses notifications with WeChat Pay's keys and the APIv3 key. No
/// merchant key is needed. Cheap to clone; the key ring is shared (a certificate-mode client's
/// refreshed certificates count at once).
#[derive(Clone)]
pub struct NotificationVerifier {
    keys: KeyRing,
    apiv3_key: ApiV3Key,
    clock: Arc<dyn Clock>,
    max_skew_secs: u64,
}

impl NotificationVerifier {
    /// A verifier trusting `keys` (a WeChat Pay public key and/or platform certificates),
    /// decrypting with `apiv3_key`, on the system clock, ±300 s.
    pub fn new(keys: KeyRing, apiv3_key: ApiV3Key) -> Self {
        Self {
            keys,
            apiv3_key,
            clock: Arc::new(SystemClock),
            max_skew_secs: DEFAULT_MAX_SKEW_SECS,
        }
    }

    /// Another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Another tolerance between the notification's timestamp and the clock.
    #[must_use]
    pub fn with_max_skew(mut self, skew: Duration) -> Self {
        self.max_skew_secs = skew.as_secs();
        self
    }

    /// The key ring it trusts.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Verifies `request` (its body the raw bytes received) at the clock's now, decrypts its
    /// resource and parses it as `T`.
    ///
    /// # Errors
    /// See the [module docs](self): one kind per reason.
    pub fn verify<T: DeserializeOwned, B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<Notification<T>, Error> {
        self.verify_at(
            request.headers(),
            request.body().as_ref(),
            self.clock.now_unix(),
        )
    }

    /// [`NotificationVerifier::verify`] on the parts of a request, at `now_unix`.
    ///
    /// # Errors
    /// As [`NotificationVerifier::verify`].
    pub fn verify_at<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Notification<T>, Error> {
        verify_signed(&self.keys, now_unix, self.max_skew_secs, headers, body).map_err(|e| {
            if e.kind() == ErrorKind::SignatureMismatch && looks_reserialised(body) {
                Error::of_kind(
                    ErrorKind::SignatureMismatch,
                    "the signature does not match the body, which looks re-serialised (same JSON, other bytes): verify the raw bytes as received, before any JSON parsing",
                )
            } else {
                e
            }
        })?;
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
            Error::of_kind(
                ErrorKind::InvalidNotification,
                "the notification's body is not the JSON WeChat Pay sends",
            )
            .with_source(e)
        })?;
        let resource = match envelope.resource {
            Some(r) if envelope.resource_type == ENCRYPT_RESOURCE && r.ciphertext.is_some() => r,
            _ => return Err(Error::decrypt(DecryptProblem::NotEncrypted)),
        };
        let original_type = resource.original_type.clone().unwrap_or_default();
        let plaintext = resource.into_encrypted().decrypt(&self.apiv3_key)?;
        let parsed = serde_json::from_slice(&plaintext).map_err(|e| {
            Error::of_kind(
                ErrorKind::InvalidNotification,
                "the decrypted resource is not the JSON expected",
            )
            .with_source(e)
        })?;
        Ok(Notification {
            id: envelope.id,
            create_time: envelope.create_time,
            event_type: envelope.event_type,
            resource_type: envelope.resource_type,
            summary: envelope.summary,
            original_type,
            resource: parsed,
            request_id: headers
                .get(header::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

impl fmt::Debug for NotificationVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationVerifier")
            .field("keys", &self.keys.serials())
            .field("apiv3_key", &self.apiv3_key)
            .field("max_skew_secs", &self.max_skew_secs)
            .finish_non_exhaustive()
    }
}

/// The notification's envelope as sent.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    create_time: String,
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    summary: String,
    resource: Option<WireResource>,
}

#[derive(Deserialize)]
struct WireResource {
    #[serde(default)]
    algorithm: String,
    ciphertext: Option<String>,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    associated_data: String,
    original_type: Option<String>,
}

impl WireResource {
    fn into_encrypted(self) -> EncryptedResource {
        EncryptedResource {
            algorithm: self.algorithm,
            nonce: self.nonce,
            associated_data: self.associated_data,
            ciphertext: self.ciphertext.unwrap_or_default(),
        }
    }
}

/// Whether a body that failed verification looks like JSON a framework re-serialised: it is
/// JSON, but with white space between tokens or `\u` escapes, which WeChat Pay never sends.
pub fn looks_reserialised(body: &[u8]) -> bool {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return false;
    }
    let (mut in_string, mut escaped) = (false, false);
    let mut previous = 0u8;
    for &b in body {
        if in_string {
            if escaped {
                if b == b'u' {
                    return true;
                }
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b.is_ascii_whitespace() && previous != 0 {
            return true;
        }
        previous = b;
    }
    false
}

/// The answer that tells WeChat Pay the notification was received: `200 {"code":"SUCCESS"}`.
/// Send it once the notification is stored (WeChat Pay retries until it gets one).
pub fn acknowledge() -> Response<Vec<u8>> {
    json_response(StatusCode::OK, br#"{"code":"SUCCESS"}"#.to_vec())
}

/// The answer that refuses a notification: `status` (4xx or 5xx) with
/// `{"code":"FAIL","message":…}`. WeChat Pay retries it on its schedule.
///
/// ```
/// use wechatpay_core::{http::StatusCode, notification};
/// let answer = notification::refuse(StatusCode::UNAUTHORIZED, "signature \"bad\"");
/// assert_eq!(answer.body(), br#"{"code":"FAIL","message":"signature \"bad\""}"#);
/// ```
pub fn refuse(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    #[derive(Serialize)]
    struct Fail<'a> {
        code: &'static str,
        message: &'a str,
    }
    let body = serde_json::to_vec(&Fail {
        code: "FAIL",
        message,
    })
    .unwrap_or_else(|_| br#"{"code":"FAIL"}"#.to_vec());
    let status = if status.is_client_error() || status.is_server_error() {
        status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    json_response(status, body)
}

/// The refusal for a failed verification: 401 for a signature that fails, 500 otherwise (a
/// notification this side cannot process yet, e.g. a key not yet downloaded: WeChat Pay
/// retries).
pub fn refuse_error(error: &Error) -> Response<Vec<u8>> {
    let status = match error.kind() {
        ErrorKind::SignatureMismatch
        | ErrorKind::SignatureProbe
        | ErrorKind::MissingSignature
        | ErrorKind::MalformedSignature
        | ErrorKind::TimestampSkew => StatusCode::UNAUTHORIZED,
        ErrorKind::InvalidNotification => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refuse(status, &error.to_string())
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Builds a notification as WeChat Pay would (for the mock server and tests): the envelope
/// around `resource` encrypted with `apiv3_key`, as raw body bytes. Sign it with
/// [`crate::signing::response_message`].
///
/// # Errors
/// [`ErrorKind::Decrypt`] for a nonce that is not 12 bytes.
#[allow(clippy::too_many_arguments, reason = "every field of the envelope")]
pub fn encrypted_body(
    apiv3_key: &ApiV3Key,
    id: &str,
    create_time: &str,
    event_type: &str,
    summary: &str,
    original_type: &str,
    nonce: &str,
    associated_data: &str,
    resource: &[u8],
) -> Result<Vec<u8>, Error> {
    let sealed = EncryptedResource::encrypt(apiv3_key, nonce, associated_data, resource)?;
    let body = serde_json::json!({
        "id": id,
        "create_time": create_time,
        "resource_type": ENCRYPT_RESOURCE,
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "algorithm": AEAD_AES_256_GCM,
            "ciphertext": sealed.ciphertext,
            "associated_data": sealed.associated_data,
            "original_type": original_type,
            "nonce": sealed.nonce,
        },
    });
    serde_json::to_vec(&body).map_err(|e| {
        Error::of_kind(
            ErrorKind::InvalidNotification,
            "cannot write the notification",
        )
        .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_serialised_bodies_are_recognised() {
        assert!(!looks_reserialised(br#"{"a":"b c","d":[1,2]}"#));
        assert!(looks_reserialised(b"{\n  \"a\": 1\n}"));
        assert!(looks_reserialised(br#"{"a":"\u5206"}"#));
        assert!(!looks_reserialised(br#"{"a":"\\u5206"}"#));
        assert!(!looks_reserialised(b"not json at all"));
    }

    #[test]
    fn refusals_are_errors_in_wechat_pay_shape() {
        let r = refuse(StatusCode::OK, "x");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let r = refuse_error(&Error::of_kind(ErrorKind::SignatureMismatch, "bad"));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = serde_json::from_slice(r.body()).expect("json");
        assert_eq!(body["code"], "FAIL");
        assert_eq!(acknowledge().body(), br#"{"code":"SUCCESS"}"#);
    }
}
