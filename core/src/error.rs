//! The one error type of the SDK, with accessors for what a payment engineer needs to act on.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// What went wrong, broadly. Match on this to decide what to do; read the other accessors of
/// [`Error`] for the details.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A request field holds a value WeChat Pay would reject; [`Error::field`] names it.
    /// Nothing was signed or sent.
    InvalidInput,
    /// The SDK was configured wrongly (base URL, merchant id, empty key ring, ...).
    Config,
    /// Key or certificate material could not be used; [`Error::key_problem`] says why.
    Key,
    /// WeChat Pay answered with an error (any non-2xx status, or 202): see [`Error::status`],
    /// [`Error::code`], [`Error::api_message`], [`Error::detail`], [`Error::request_id`].
    Api,
    /// A 2xx answer lacked a signature header: it must be treated as forged.
    MissingSignature,
    /// The signature headers were present but unusable (bad timestamp, bad base64).
    MalformedSignature,
    /// The signature type is not `WECHATPAY2-SHA256-RSA2048` (e.g. `WECHATPAY2-SM2-WITH-SM3`,
    /// the national-cryptography scheme): this SDK does not verify it.
    UnsupportedSignatureType,
    /// The answer carried WeChat Pay's deliberate `WECHATPAY/SIGNTEST/` probe signature, which
    /// must never verify.
    SignatureProbe,
    /// The answer's timestamp is too far from the local clock.
    TimestampSkew,
    /// No trusted key has the serial the answer was signed with; [`Error::serial`] names it.
    UnknownSerial,
    /// The signature does not match the body: the answer was altered or signed by someone else.
    SignatureMismatch,
    /// The answer verified but its body is not what the operation expects.
    InvalidResponse,
    /// A notification verified, but its body or decrypted resource is not the JSON expected
    /// ([`crate::notification`]).
    InvalidNotification,
    /// Sending or receiving failed below HTTP (DNS, connect, TLS, connection reset).
    Transport,
    /// A time limit was reached.
    Timeout,
    /// The response body was larger than the configured cap.
    ResponseTooLarge,
    /// An encrypted resource (a platform certificate) could not be decrypted;
    /// [`Error::decrypt_problem`] says why.
    Decrypt,
    /// The check after an attempt of unknown fate found the thing already done, but not as this
    /// request asked (e.g. an after-sales split of another amount for the same order). Never a
    /// success; nothing was sent again.
    Conflict,
}

/// The fate of a request whose exchange failed below HTTP, as a transport tells
/// [`Error::transport`]: whether it may have reached WeChat Pay, and so whether a
/// non-idempotent call may be sent again ([`Error::is_fate_unknown`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    /// The request never left (connection refused, DNS, a TLS handshake cut short or timed
    /// out): it did not happen, and sending it again is safe.
    NotSent,
    /// The request may have been written (a timeout or a connection lost afterwards): its fate
    /// is unknown, and an operation that must not run twice is checked before it is sent again.
    MaybeSent,
    /// The request never left, and trying again will not mend it: a server certificate that
    /// does not verify, an unusable TLS configuration or request.
    Unusable,
}

/// Why an `AEAD_AES_256_GCM` resource could not be decrypted.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecryptProblem {
    /// The APIv3 key is not 32 bytes.
    KeyLength {
        /// The length given.
        len: usize,
    },
    /// The algorithm is not `AEAD_AES_256_GCM`.
    Algorithm,
    /// The nonce is not 12 bytes.
    Nonce,
    /// The ciphertext is not standard base64.
    Base64,
    /// Authentication failed: a wrong APIv3 key, or altered ciphertext, nonce or associated data.
    Tag,
    /// A notification's resource is not an encrypted resource (`resource_type` other than
    /// `encrypt-resource`, or no `ciphertext`).
    NotEncrypted,
    /// An RSA-OAEP ciphertext did not decrypt with the private key: another key encrypted it,
    /// or it was altered.
    Oaep,
}

impl fmt::Display for DecryptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyLength { len } => write!(f, "the APIv3 key has {len} bytes; it must have 32"),
            Self::Algorithm => f.write_str("the algorithm is not AEAD_AES_256_GCM"),
            Self::Nonce => f.write_str("the nonce is not 12 bytes"),
            Self::Base64 => f.write_str("the ciphertext is not base64"),
            Self::Tag => {
                f.write_str("authentication failed: wrong APIv3 key, or the ciphertext was altered")
            }
            Self::NotEncrypted => f.write_str("the resource is not an encrypted resource"),
            Self::Oaep => {
                f.write_str("RSA-OAEP decryption failed: encrypted with another key, or altered")
            }
        }
    }
}

/// Why a key, certificate or PEM file could not be used.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyProblem {
    /// The input is not PEM at all.
    NotPem,
    /// A certificate was given where a private key was expected.
    Certificate,
    /// A public key was given where a private key was expected.
    PublicKey,
    /// A private key was given where a public key or certificate was expected.
    PrivateKey,
    /// The private key is encrypted with a passphrase; decrypt it first
    /// (`openssl pkey -in key.pem -out plain.pem`).
    Encrypted,
    /// The key is not an RSA key (EC, Ed25519, DSA, ...).
    NotRsa,
    /// The RSA key is shorter than the 2048 bits WeChat Pay requires.
    TooSmall {
        /// The key's modulus size.
        bits: usize,
    },
    /// The PEM label is none of the expected kinds.
    UnexpectedLabel,
    /// The structure inside the PEM is malformed.
    Malformed,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPem => f.write_str("the input is not PEM"),
            Self::Certificate => f.write_str("it is a certificate, not a private key"),
            Self::PublicKey => f.write_str("it is a public key, not a private key"),
            Self::PrivateKey => f.write_str("it is a private key, not a public key or certificate"),
            Self::Encrypted => f.write_str("the private key is encrypted; decrypt it first"),
            Self::NotRsa => f.write_str("it is not an RSA key"),
            Self::TooSmall { bits } => {
                write!(f, "the RSA key has {bits} bits; at least 2048 are required")
            }
            Self::UnexpectedLabel => f.write_str("the PEM label is not one this SDK reads"),
            Self::Malformed => f.write_str("the DER structure inside the PEM is malformed"),
        }
    }
}

/// WeChat Pay's error body: `{"code": ..., "message": ..., "detail": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ApiBody {
    code: Option<String>,
    message: Option<String>,
    detail: Option<String>,
    excerpt: Option<String>,
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    what: Cow<'static, str>,
    field: Option<&'static str>,
    status: Option<StatusCode>,
    api: Option<ApiBody>,
    request_id: Option<String>,
    serial: Option<String>,
    key_problem: Option<KeyProblem>,
    decrypt_problem: Option<DecryptProblem>,
    retryable: bool,
    fate_unknown: bool,
    /// Whether a transport said what became of the request ([`Fate`]).
    fate_told: bool,
    retry_after: Option<std::time::Duration>,
    source: Option<Source>,
}

/// The error of every fallible call in the SDK.
///
/// It never holds secret material: no private key, no APIv3 key, no signature input.
///
/// ```
/// use wechatpay_core::{Error, ErrorKind};
///
/// fn react(err: &Error) {
///     match err.kind() {
///         ErrorKind::Api if err.code() == Some("RESOURCE_NOT_EXISTS") => { /* not created yet */ }
///         _ if err.is_retryable() => { /* back off and try again */ }
///         _ => eprintln!("give up: {err} (Request-ID {:?})", err.request_id()),
///     }
/// }
/// # react(&Error::config("example"));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

impl Error {
    fn new(kind: ErrorKind, what: impl Into<Cow<'static, str>>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                what: what.into(),
                field: None,
                status: None,
                api: None,
                request_id: None,
                serial: None,
                key_problem: None,
                decrypt_problem: None,
                retryable: false,
                fate_unknown: false,
                fate_told: false,
                retry_after: None,
                source: None,
            }),
        }
    }

    /// A request field that WeChat Pay would reject: `field` is its JSON name, `what` says why.
    /// For [`crate::Operation::validate`] of endpoints written outside this crate.
    ///
    /// ```
    /// let e = wechatpay_core::Error::invalid_input("out_order_no", "must not be empty");
    /// assert_eq!(e.field(), Some("out_order_no"));
    /// assert_eq!(e.to_string(), "invalid `out_order_no`: must not be empty");
    /// ```
    pub fn invalid_input(field: &'static str, what: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(ErrorKind::InvalidInput, what);
        e.inner.field = Some(field);
        e
    }

    /// A configuration mistake, described by `what`.
    pub fn config(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, what)
    }

    /// Key or certificate material that cannot be used ([`ErrorKind::Key`]), for operations
    /// and key handling written outside this crate: `context` says which key.
    ///
    /// ```
    /// use wechatpay_core::{Error, ErrorKind, KeyProblem};
    /// let e = Error::key(KeyProblem::NotRsa, "cannot use the receiver's key");
    /// assert_eq!((e.kind(), e.key_problem()), (ErrorKind::Key, Some(KeyProblem::NotRsa)));
    /// ```
    pub fn key(problem: KeyProblem, context: &'static str) -> Self {
        let mut e = Self::new(ErrorKind::Key, context);
        e.inner.key_problem = Some(problem);
        e
    }

    /// A resource or field that cannot be decrypted ([`ErrorKind::Decrypt`]), for decryption
    /// written outside this crate.
    pub fn decrypt(problem: DecryptProblem) -> Self {
        let what = match problem {
            DecryptProblem::KeyLength { .. } => "unusable APIv3 key",
            _ => "cannot decrypt the resource",
        };
        let mut e = Self::new(ErrorKind::Decrypt, what);
        e.inner.decrypt_problem = Some(problem);
        e
    }

    pub(crate) fn of_kind(kind: ErrorKind, what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(kind, what)
    }

    pub(crate) fn unknown_serial(serial: &str) -> Self {
        let mut e = Self::new(ErrorKind::UnknownSerial, "no trusted key has the serial");
        e.inner.serial = Some(truncate(serial, 80));
        e
    }

    /// A verified answer whose body is not what the operation expects, for
    /// [`crate::Operation::parse`] of endpoints written outside this crate.
    pub fn invalid_response(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidResponse, what)
    }

    /// The check found the operation already done, but not as asked ([`ErrorKind::Conflict`]).
    pub fn conflict(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, what)
    }

    /// A copy without the source chain (whose types need not be `Clone`): kind, message,
    /// status, WeChat's error body, `Request-ID` and flags are kept; the source's text is
    /// appended to the message.
    pub(crate) fn summary(&self) -> Self {
        let i = &*self.inner;
        let what = match &i.source {
            Some(s) => Cow::Owned(format!("{}: {s}", i.what)),
            None => i.what.clone(),
        };
        Self {
            inner: Box::new(Inner {
                kind: i.kind,
                what,
                field: i.field,
                status: i.status,
                api: i.api.clone(),
                request_id: i.request_id.clone(),
                serial: i.serial.clone(),
                key_problem: i.key_problem,
                decrypt_problem: i.decrypt_problem,
                retryable: i.retryable,
                fate_unknown: i.fate_unknown,
                fate_told: i.fate_told,
                retry_after: i.retry_after,
                source: None,
            }),
        }
    }

    /// An error answer from WeChat Pay (non-2xx, or 202), built from its status and raw body.
    ///
    /// A JSON body gives `code`, `message` and `detail` (kept as raw JSON text); any other body
    /// keeps a short excerpt so that a proxy's HTML error page is still recognisable.
    pub fn api(status: StatusCode, body: &[u8], request_id: Option<&str>) -> Self {
        #[derive(serde::Deserialize)]
        struct Wire<'a> {
            code: Option<String>,
            message: Option<String>,
            #[serde(borrow)]
            detail: Option<&'a serde_json::value::RawValue>,
        }
        let api = match serde_json::from_slice::<Wire<'_>>(body) {
            Ok(w) if w.code.is_some() || w.message.is_some() => ApiBody {
                code: w.code,
                message: w.message,
                detail: w.detail.map(|d| d.get().to_owned()),
                excerpt: None,
            },
            _ => ApiBody {
                excerpt: Some(excerpt(body)),
                ..ApiBody::default()
            },
        };
        let mut e = Self::new(ErrorKind::Api, "WeChat Pay answered with an error");
        e.inner.status = Some(status);
        e.inner.retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::ACCEPTED;
        // A 5xx can come from a gateway after WeChat Pay acted; a 202 acted but is not done.
        e.inner.fate_unknown = status.is_server_error() || status == StatusCode::ACCEPTED;
        e.inner.api = Some(api);
        e.inner.request_id = request_id.map(|r| truncate(r, 128));
        e
    }

    /// A failure below HTTP (DNS, connect, TLS, connection reset), for transports: `fate`
    /// says whether the request may have reached WeChat Pay.
    ///
    /// ```
    /// use wechatpay_core::{Error, Fate};
    /// let e = Error::transport("connection reset", Fate::MaybeSent, std::io::Error::other("reset"));
    /// assert!(e.is_retryable() && e.is_fate_unknown());
    /// let e = Error::transport("refused", Fate::NotSent, std::io::Error::other("refused"));
    /// assert!(e.is_retryable() && !e.is_fate_unknown());
    /// ```
    pub fn transport(
        what: impl Into<Cow<'static, str>>,
        fate: Fate,
        source: impl Into<Source>,
    ) -> Self {
        let mut e = Self::new(ErrorKind::Transport, what).with_transport_fate(fate);
        e.inner.source = Some(source.into());
        e
    }

    /// A time limit was reached; `what` names which one. Timeouts are retryable; the request's
    /// fate is known (it was not sent).
    pub fn timeout(what: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(ErrorKind::Timeout, what);
        e.inner.retryable = true;
        e
    }

    /// An attempt's time limit was reached, for transports: `fate` says whether the request
    /// may have reached WeChat Pay (a timeout while connecting: [`Fate::NotSent`]).
    pub fn attempt_timeout(what: impl Into<Cow<'static, str>>, fate: Fate) -> Self {
        Self::new(ErrorKind::Timeout, what).with_transport_fate(fate)
    }

    fn with_transport_fate(mut self, fate: Fate) -> Self {
        self.inner.retryable = fate != Fate::Unusable;
        self.inner.fate_unknown = fate == Fate::MaybeSent;
        self.inner.fate_told = true;
        self
    }

    /// A transport's failure as the call machine takes it: one built without a [`Fate`]
    /// ([`Error::transport`], [`Error::attempt_timeout`], [`Error::response_too_large`]) may
    /// have followed a written request, so its fate is unknown.
    pub(crate) fn with_transport_default(self) -> Self {
        if self.inner.fate_told {
            self
        } else {
            let mut e = self.with_fate_unknown();
            e.inner.retryable = true;
            e
        }
    }

    /// The response body exceeded `limit` bytes.
    ///
    /// The answer was not read whole, so whatever it said is unknown: so is the request's fate.
    pub fn response_too_large(limit: usize) -> Self {
        let mut e = Self::new(
            ErrorKind::ResponseTooLarge,
            format!("the response body is larger than the {limit}-byte cap"),
        )
        .with_fate_unknown();
        e.inner.fate_told = true;
        e
    }

    /// Marks an error after which the request may have taken effect: a transport failure after
    /// sending, or a 2xx answer that could not be verified or read.
    #[must_use]
    pub fn with_fate_unknown(mut self) -> Self {
        self.inner.fate_unknown = true;
        self
    }

    /// Sets whether the operation may have taken effect, as the call machine found out.
    pub(crate) fn with_fate(mut self, unknown: bool) -> Self {
        self.inner.fate_unknown = unknown;
        self
    }

    /// Attaches the wait an answer asked for in `Retry-After`.
    #[must_use]
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.inner.retry_after = Some(wait);
        self
    }

    /// Attaches the underlying error, reported by [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Attaches the HTTP status and `Request-ID` of the answer this error came from.
    #[must_use]
    pub fn with_response(mut self, status: StatusCode, request_id: Option<&str>) -> Self {
        self.inner.status = Some(status);
        if self.inner.request_id.is_none() {
            self.inner.request_id = request_id.map(|r| truncate(r, 128));
        }
        self
    }

    /// Attaches the status and `Request-ID` of an answer whose head arrived (for transports
    /// whose body read then failed).
    #[must_use]
    pub fn with_head(self, status: StatusCode, headers: &http::HeaderMap) -> Self {
        let request_id = headers
            .get(crate::verify::header::REQUEST_ID)
            .and_then(|v| v.to_str().ok());
        self.with_response(status, request_id)
    }

    /// What went wrong, broadly.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether sending the same request again (signed afresh) can help: 5xx, 429, 202,
    /// connection failures and timeouts. Never for other 4xx or for verification failures.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// Whether the request may have taken effect although no verified answer says so: a timeout
    /// or connection lost after sending, any 5xx or 202, or a 2xx whose signature or body failed.
    /// A non-idempotent call must check before sending again (see [`crate::call`]).
    pub fn is_fate_unknown(&self) -> bool {
        self.inner.fate_unknown
    }

    /// How long the answer asked to wait before retrying (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.inner.retry_after
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// Whether WeChat Pay said the thing asked for does not exist: 404 with
    /// `RESOURCE_NOT_EXISTS` or `ORDER_NOT_EXIST`.
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::Api
            && self.inner.status == Some(StatusCode::NOT_FOUND)
            && matches!(self.code(), Some("RESOURCE_NOT_EXISTS" | "ORDER_NOT_EXIST"))
    }

    /// WeChat Pay's error `code`, e.g. `PARAM_ERROR`.
    pub fn code(&self) -> Option<&str> {
        self.inner.api.as_ref()?.code.as_deref()
    }

    /// WeChat Pay's error `message`.
    pub fn api_message(&self) -> Option<&str> {
        self.inner.api.as_ref()?.message.as_deref()
    }

    /// WeChat Pay's error `detail`, as the raw JSON text it sent.
    pub fn detail(&self) -> Option<&str> {
        self.inner.api.as_ref()?.detail.as_deref()
    }

    /// The start of a non-JSON error body (e.g. a proxy's HTML page), lossily decoded.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.api.as_ref()?.excerpt.as_deref()
    }

    /// The `Request-ID` header of the answer: what WeChat Pay support asks for.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// For [`ErrorKind::InvalidInput`]: the request field at fault (its JSON name).
    pub fn field(&self) -> Option<&'static str> {
        self.inner.field
    }

    /// For [`ErrorKind::UnknownSerial`]: the serial the answer named.
    pub fn serial(&self) -> Option<&str> {
        self.inner.serial.as_deref()
    }

    /// For [`ErrorKind::Decrypt`]: why decryption failed.
    pub fn decrypt_problem(&self) -> Option<DecryptProblem> {
        self.inner.decrypt_problem
    }

    /// For [`ErrorKind::Key`]: why the key material was refused.
    pub fn key_problem(&self) -> Option<KeyProblem> {
        self.inner.key_problem
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match i.kind {
            ErrorKind::Api => {
                write!(
                    f,
                    "WeChat Pay answered HTTP {}",
                    i.status.map_or(0, |s| s.as_u16())
                )?;
                if let Some(api) = &i.api {
                    if let Some(code) = &api.code {
                        write!(f, " {code}")?;
                    }
                    if let Some(message) = &api.message {
                        write!(f, ": {message}")?;
                    }
                    if let Some(excerpt) = &api.excerpt {
                        write!(f, " with a non-JSON body: {excerpt:?}")?;
                    }
                }
            }
            ErrorKind::InvalidInput => {
                write!(f, "invalid `{}`: {}", i.field.unwrap_or("?"), i.what)?;
            }
            ErrorKind::Key => {
                write!(f, "{}: ", i.what)?;
                match i.key_problem {
                    Some(p) => write!(f, "{p}")?,
                    None => f.write_str("unusable key")?,
                }
            }
            ErrorKind::Decrypt => {
                write!(f, "{}: ", i.what)?;
                match i.decrypt_problem {
                    Some(p) => write!(f, "{p}")?,
                    None => f.write_str("unknown problem")?,
                }
            }
            ErrorKind::UnknownSerial => {
                write!(f, "{} {:?}", i.what, i.serial.as_deref().unwrap_or(""))?;
            }
            _ => f.write_str(&i.what)?,
        }
        if i.kind != ErrorKind::Api
            && let Some(status) = i.status
        {
            write!(f, " (HTTP {})", status.as_u16())?;
        }
        if let Some(id) = &i.request_id {
            write!(f, " [Request-ID {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Up to 200 bytes of a body, lossily decoded, cut on a character boundary.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text = text.trim();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_keeps_code_message_detail_and_request_id() {
        let body = br#"{"code":"PARAM_ERROR","message":"bad amount","detail":{"field":"/amount","issue":"must be > 0"}}"#;
        let e = Error::api(StatusCode::BAD_REQUEST, body, Some("REQ-1"));
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(e.code(), Some("PARAM_ERROR"));
        assert_eq!(e.api_message(), Some("bad amount"));
        assert_eq!(
            e.detail(),
            Some(r#"{"field":"/amount","issue":"must be > 0"}"#)
        );
        assert_eq!(e.request_id(), Some("REQ-1"));
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "WeChat Pay answered HTTP 400 PARAM_ERROR: bad amount [Request-ID REQ-1]"
        );
    }

    #[test]
    fn html_502_keeps_status_and_excerpt_and_is_retryable() {
        let body = b"<html><body>502 Bad Gateway</body></html>\n";
        let e = Error::api(StatusCode::BAD_GATEWAY, body, None);
        assert_eq!(e.code(), None);
        assert!(
            e.body_excerpt()
                .is_some_and(|x| x.contains("502 Bad Gateway"))
        );
        assert!(e.is_retryable());
    }

    #[test]
    fn retryable_statuses() {
        for (status, retry) in [
            (500, true),
            (503, true),
            (429, true),
            (202, true),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
        ] {
            let s = StatusCode::from_u16(status).expect("valid status");
            assert_eq!(Error::api(s, b"{}", None).is_retryable(), retry, "{status}");
        }
    }

    #[test]
    fn excerpt_is_bounded_and_cut_on_char_boundary() {
        let body = "错".repeat(100);
        let e = Error::api(StatusCode::BAD_GATEWAY, body.as_bytes(), None);
        let x = e.body_excerpt().expect("excerpt");
        assert!(x.len() <= 200 + 3);
        assert!(x.starts_with("错错"));
    }
}
