//! Webhook notifications as WeChat Pay sends them (SPEC-profitsharing §C), sans-IO: this module
//! builds the signed, encrypted request and keeps each delivery's record and retry schedule;
//! the HTTP POST and the timers live in the async layer (the standalone server, or a tokio task
//! of the in-process mock), which asks [`crate::Simulator::delivery_attempt`] for the request,
//! sends it, and reports with [`crate::Simulator::record_attempt`], which says when to try
//! again.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;
use wechatpay_core::Error;
use wechatpay_core::certificates::{ApiV3Key, EncryptedResource};

use crate::reply::{SCHEME, Signer, Stamp, response_message};

/// WeChat Pay's waits between attempts after a failed one: 15 s, 15 s, 30 s, 3 min, 10 min,
/// 20 min, 30 min, 30 min, 30 min, 60 min, 3 h, 3 h, 3 h, 6 h, 6 h (16 attempts, 24 h 4 min).
pub const RETRY_SCHEDULE: [Duration; 15] = [
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(3 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(20 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(6 * 3600),
];

/// How long a receiver has to answer one attempt.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most deliveries kept (the oldest go first, even under way: they then stop).
pub const MAX_DELIVERIES: usize = 1_000;

/// What to notify: a resource (encrypted into the envelope) and the envelope's fields.
///
/// ```
/// use wechatpay_mock_server::NotificationSpec;
/// let spec = NotificationSpec::new(serde_json::json!({"transaction_id": "4208450740201411110007820472"}))
///     .event_type("TRANSACTION.SUCCESS")
///     .original_type("profitsharing");
/// assert_eq!(spec.associated_data, "transaction");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NotificationSpec {
    /// The resource: its JSON is the plaintext WeChat Pay encrypts.
    pub resource: serde_json::Value,
    /// The merchant notified (whose APIv3 key encrypts); `None`: the mock's first merchant
    /// (the test merchant by default).
    pub mchid: Option<String>,
    /// `event_type`; default `TRANSACTION.SUCCESS` (how profit-sharing notifications arrive).
    pub event_type: String,
    /// The resource's `original_type`; default `profitsharing`.
    pub original_type: String,
    /// `summary`; `None`: `分账` for `profitsharing`, else the event type.
    pub summary: Option<String>,
    /// The resource's `associated_data`; default `transaction`.
    pub associated_data: String,
}

impl NotificationSpec {
    /// A profit-sharing notification (`TRANSACTION.SUCCESS`, `profitsharing`, associated
    /// data `transaction`) of `resource` to the mock's first merchant.
    pub fn new(resource: serde_json::Value) -> Self {
        Self {
            resource,
            mchid: None,
            event_type: "TRANSACTION.SUCCESS".into(),
            original_type: "profitsharing".into(),
            summary: None,
            associated_data: "transaction".into(),
        }
    }

    /// To merchant `mchid`.
    #[must_use]
    pub fn mchid(mut self, mchid: &str) -> Self {
        self.mchid = Some(mchid.to_owned());
        self
    }

    /// With this `event_type`.
    #[must_use]
    pub fn event_type(mut self, event_type: &str) -> Self {
        event_type.clone_into(&mut self.event_type);
        self
    }

    /// With this `original_type`.
    #[must_use]
    pub fn original_type(mut self, original_type: &str) -> Self {
        original_type.clone_into(&mut self.original_type);
        self
    }

    /// With this `summary`.
    #[must_use]
    pub fn summary(mut self, summary: &str) -> Self {
        self.summary = Some(summary.to_owned());
        self
    }

    /// With this `associated_data` (may be empty).
    #[must_use]
    pub fn associated_data(mut self, associated_data: &str) -> Self {
        associated_data.clone_into(&mut self.associated_data);
        self
    }
}

/// A notification request as WeChat Pay sends it: the headers of one attempt (signed at its
/// time) and the body, the same bytes on every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingNotification {
    /// The notification's `id` (the same on every attempt).
    pub id: String,
    /// `Wechatpay-Timestamp`, `-Nonce`, `-Signature`, `-Serial`, `-Signature-Type`,
    /// `Request-ID`, `Content-Type`.
    pub headers: Vec<(&'static str, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl OutgoingNotification {
    /// The first header named `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// As an `http::Request` (`POST uri`), e.g. to feed a handler in a unit test.
    pub fn to_request(&self, uri: http::Uri) -> http::Request<Vec<u8>> {
        let mut request = http::Request::new(self.body.clone());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        for (name, value) in &self.headers {
            // Every name and value the mock writes is ASCII.
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                request.headers_mut().append(n, v);
            }
        }
        request
    }
}

/// How one attempt went, as the deliverer saw it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver answered (the body is what was read of it).
    Answered {
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: Vec<u8>,
    },
    /// No answer: refused connection, timeout, broken HTTP; the reason.
    Failed(String),
}

/// What the deliverer does next.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Try again after this long (WeChat Pay's schedule, before any time scale).
    RetryAfter(Duration),
    /// Stop: delivered, given up, or the delivery is forgotten.
    Done,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// When it was made, by the mock's clock (Unix seconds).
    pub at: i64,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer, when there was none.
    pub error: Option<String>,
    /// The start of the receiver's answer (256 bytes at most, lossy UTF-8).
    pub answer: Option<String>,
    /// Whether the answer acknowledged the notification (200 `{"code":"SUCCESS"}` or 204).
    pub acknowledged: bool,
}

/// One notification's delivery to a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Delivery {
    /// The notification's id.
    pub id: String,
    /// Where it is POSTed.
    pub url: String,
    /// The merchant notified.
    pub mchid: String,
    /// Its `event_type`.
    pub event_type: String,
    /// When it was created, by the mock's clock (Unix seconds).
    pub created_at: i64,
    /// The attempts so far.
    pub attempts: Vec<Attempt>,
    /// Whether an attempt was acknowledged.
    pub delivered: bool,
    /// Whether every attempt of the schedule failed.
    pub gave_up: bool,
}

/// A delivery and the body it sends.
struct Record {
    delivery: Delivery,
    body: Vec<u8>,
}

/// Every delivery kept, and the ids no deliverer has taken yet.
#[derive(Default)]
pub(crate) struct Deliveries {
    records: VecDeque<Record>,
    new: VecDeque<String>,
}

impl Deliveries {
    fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.records.iter_mut().find(|r| r.delivery.id == id)
    }

    /// Keeps a new delivery (the oldest go beyond [`MAX_DELIVERIES`]) and queues its id for a
    /// deliverer.
    pub(crate) fn add(&mut self, delivery: Delivery, body: Vec<u8>) {
        while self.records.len() >= MAX_DELIVERIES {
            self.records.pop_front();
        }
        while self.new.len() >= MAX_DELIVERIES {
            self.new.pop_front();
        }
        self.new.push_back(delivery.id.clone());
        self.records.push_back(Record { delivery, body });
    }

    /// The ids added since the last call.
    pub(crate) fn take_new(&mut self) -> Vec<String> {
        self.new.drain(..).collect()
    }

    /// The URL and body of delivery `id`'s next attempt; `None` once delivered, given up or
    /// forgotten.
    pub(crate) fn next_attempt(&mut self, id: &str) -> Option<(String, Vec<u8>)> {
        let r = self.get_mut(id)?;
        if r.delivery.delivered || r.delivery.gave_up {
            return None;
        }
        Some((r.delivery.url.clone(), r.body.clone()))
    }

    /// Records how an attempt of delivery `id` went at `now`, and says what comes next:
    /// delivered once acknowledged; else another attempt after [`RETRY_SCHEDULE`]'s next
    /// wait, until the schedule is spent.
    pub(crate) fn record_attempt(&mut self, id: &str, now: i64, result: AttemptResult) -> NextStep {
        let Some(r) = self.get_mut(id) else {
            return NextStep::Done;
        };
        let attempt = match result {
            AttemptResult::Answered { status, body } => {
                let shown = &body[..body.len().min(256)];
                Attempt {
                    at: now,
                    status: Some(status),
                    error: None,
                    answer: Some(String::from_utf8_lossy(shown).into_owned()),
                    acknowledged: acknowledges(status, &body),
                }
            }
            AttemptResult::Failed(why) => Attempt {
                at: now,
                status: None,
                error: Some(why.chars().take(256).collect()),
                answer: None,
                acknowledged: false,
            },
        };
        let acknowledged = attempt.acknowledged;
        r.delivery.attempts.push(attempt);
        if acknowledged {
            r.delivery.delivered = true;
            return NextStep::Done;
        }
        match RETRY_SCHEDULE.get(r.delivery.attempts.len() - 1) {
            Some(wait) => NextStep::RetryAfter(*wait),
            None => {
                r.delivery.gave_up = true;
                NextStep::Done
            }
        }
    }

    /// Every delivery kept, oldest first.
    pub(crate) fn all(&self) -> Vec<Delivery> {
        self.records.iter().map(|r| r.delivery.clone()).collect()
    }
}

/// Whether an answer acknowledges a notification: 204, or 200 with a JSON object whose `code`
/// is `SUCCESS`.
pub fn acknowledges(status: u16, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Ack {
        code: String,
    }
    match status {
        204 => true,
        200 => serde_json::from_slice::<Ack>(body).is_ok_and(|a| a.code == "SUCCESS"),
        _ => false,
    }
}

/// The envelope, in WeChat Pay's field order.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    create_time: &'a str,
    resource_type: &'static str,
    event_type: &'a str,
    summary: &'a str,
    resource: Resource<'a>,
}

#[derive(Serialize)]
struct Resource<'a> {
    algorithm: &'a str,
    ciphertext: &'a str,
    associated_data: &'a str,
    original_type: &'a str,
    nonce: &'a str,
}

/// The longest `event_type`, `original_type`, `summary` and `associated_data` taken.
const MAX_FIELD: usize = 256;

/// The body of a notification of `spec`, encrypted with `key`, created at `now`.
///
/// `aes_nonce` is the 12-character nonce of the AES-GCM encryption.
pub(crate) fn body(
    spec: &NotificationSpec,
    key: &ApiV3Key,
    id: &str,
    now: i64,
    aes_nonce: &str,
) -> Result<Vec<u8>, Error> {
    for (name, value) in [
        ("event_type", spec.event_type.as_str()),
        ("original_type", spec.original_type.as_str()),
        ("summary", spec.summary.as_deref().unwrap_or("")),
        ("associated_data", spec.associated_data.as_str()),
    ] {
        if value.len() > MAX_FIELD || value.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                name,
                "must be at most 256 bytes, without control characters",
            ));
        }
    }
    if spec.event_type.is_empty() || spec.original_type.is_empty() {
        return Err(Error::invalid_input(
            "event_type",
            "event_type and original_type must not be empty",
        ));
    }
    let plaintext = serde_json::to_vec(&spec.resource).map_err(|e| {
        Error::invalid_input("resource", "cannot be written as JSON").with_source(e)
    })?;
    let sealed = EncryptedResource::encrypt(key, aes_nonce, &spec.associated_data, &plaintext)?;
    let create_time = crate::wire::beijing(now);
    let summary = match (&spec.summary, spec.original_type.as_str()) {
        (Some(s), _) => s.as_str(),
        (None, "profitsharing") => "分账",
        (None, _) => spec.event_type.as_str(),
    };
    serde_json::to_vec(&Envelope {
        id,
        create_time: &create_time,
        resource_type: "encrypt-resource",
        event_type: &spec.event_type,
        summary,
        resource: Resource {
            algorithm: &sealed.algorithm,
            ciphertext: &sealed.ciphertext,
            associated_data: &sealed.associated_data,
            original_type: &spec.original_type,
            nonce: &sealed.nonce,
        },
    })
    .map_err(|e| Error::invalid_input("resource", "cannot be written as JSON").with_source(e))
}

/// The headers of one attempt: signed over `body` at `now` by `signer`, with the stamp's
/// `Request-ID` and nonce.
pub(crate) fn signed(
    id: &str,
    body: Vec<u8>,
    signer: &Signer,
    now: i64,
    stamp: Stamp,
) -> OutgoingNotification {
    let timestamp = now.to_string();
    let Stamp { request_id, nonce } = stamp;
    // Signing with a loaded key does not fail; an empty signature would be refused loudly.
    let signature = signer
        .key
        .sign_base64(&response_message(&timestamp, &nonce, &body))
        .unwrap_or_default();
    OutgoingNotification {
        id: id.to_owned(),
        headers: vec![
            ("Content-Type", "application/json".to_owned()),
            ("Request-ID", request_id),
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Serial", signer.serial.clone()),
            ("Wechatpay-Signature-Type", SCHEME.to_owned()),
        ],
        body,
    }
}

/// A URL the deliverer can POST to: `http://host[:port]/path`.
pub(crate) fn check_url(url: &str) -> Result<http::Uri, String> {
    if url.len() > 2048 {
        return Err("is longer than 2048 bytes".into());
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|_| "is not a URL such as http://127.0.0.1:8080/notify".to_owned())?;
    if uri.scheme_str() != Some("http") {
        return Err("must be an http:// URL (the mock does not speak TLS)".into());
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements() {
        assert!(acknowledges(200, br#"{"code":"SUCCESS"}"#));
        assert!(acknowledges(200, br#"{"code":"SUCCESS","message":"ok"}"#));
        assert!(acknowledges(204, b""));
        assert!(!acknowledges(200, b""));
        assert!(!acknowledges(200, br#"{"code":"FAIL"}"#));
        assert!(!acknowledges(201, br#"{"code":"SUCCESS"}"#));
        assert!(!acknowledges(500, br#"{"code":"SUCCESS"}"#));
    }

    #[test]
    fn the_schedule_is_24_hours_4_minutes() {
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert_eq!(total, Duration::from_secs(24 * 3600 + 4 * 60));
    }

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:8080/notify?x=1").is_ok());
        assert!(check_url("http://localhost/n").is_ok());
        for bad in [
            "https://127.0.0.1/n",
            "/notify",
            "ftp://x/y",
            "http:///x",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
