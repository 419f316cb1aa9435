//! Known-answer tests for notifications and field encryption, from
//! `testdata/notifications.json` (made by an independent implementation: the Node SDK over
//! OpenSSL). On every backend: each valid notification verifies, decrypts and parses to the
//! expected resource; each invalid one fails with its own reason; each field-encryption
//! ciphertext decrypts to its plaintext.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

mod common;

use common::testdata;
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::http::{HeaderMap, HeaderName, HeaderValue, Request};
use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
use wechatpay_core::{
    Backend, DecryptProblem, ErrorKind, KeyRing, PlatformCertificate, PrivateKey, PublicKey,
};

#[derive(Deserialize)]
struct Vectors {
    notifications: Vec<NotificationVector>,
    field_encryption: Vec<FieldVector>,
}

#[derive(Deserialize)]
struct NotificationVector {
    case: String,
    headers: BTreeMap<String, String>,
    body: String,
    valid: bool,
    why: Option<String>,
    resource: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct FieldVector {
    plaintext: String,
    ciphertext: String,
    decrypt_with: String,
}

#[derive(Deserialize)]
struct Config {
    config: ConfigFields,
}

#[derive(Deserialize)]
struct ConfigFields {
    wechatpay_public_key_id: String,
    apiv3_key: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(&testdata("notifications.json")).expect("notifications.json parses")
}

fn config() -> ConfigFields {
    serde_json::from_str::<Config>(&testdata("vectors.json"))
        .expect("vectors.json")
        .config
}

fn verifier(backend: Backend) -> NotificationVerifier {
    let c = config();
    let keys = KeyRing::new();
    keys.add_wechatpay_public_key(
        &c.wechatpay_public_key_id,
        PublicKey::from_pem_with(&testdata("wechatpay_public_key.pem"), backend).expect("key"),
    )
    .expect("ring");
    keys.add_platform_certificate(
        PlatformCertificate::from_pem_with(&testdata("platform_certificate.pem"), backend)
            .expect("certificate"),
    );
    NotificationVerifier::new(keys, ApiV3Key::new(&c.apiv3_key).expect("APIv3 key"))
}

fn headers(v: &NotificationVector) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in &v.headers {
        h.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    h
}

fn signed_at(v: &NotificationVector) -> i64 {
    v.headers["Wechatpay-Timestamp"].parse().expect("timestamp")
}

/// The error kind (and decryption problem) each `why` of the vectors stands for.
fn expected(why: &str) -> (ErrorKind, Option<DecryptProblem>) {
    match why {
        "signature mismatch" | "signature mismatch (re-serialised body)" => {
            (ErrorKind::SignatureMismatch, None)
        }
        "no key for serial" => (ErrorKind::UnknownSerial, None),
        "signature probe" => (ErrorKind::SignatureProbe, None),
        "unsupported signature type" => (ErrorKind::UnsupportedSignatureType, None),
        "decryption failed (tag)" => (ErrorKind::Decrypt, Some(DecryptProblem::Tag)),
        "unsupported algorithm" => (ErrorKind::Decrypt, Some(DecryptProblem::Algorithm)),
        "not an encrypted resource" => (ErrorKind::Decrypt, Some(DecryptProblem::NotEncrypted)),
        other => panic!("a vector reason this test does not know: {other}"),
    }
}

#[test]
fn every_notification_vector_gets_its_verdict_on_every_backend() {
    let vectors = vectors();
    assert!(vectors.notifications.len() >= 13);
    for &backend in Backend::all() {
        let verifier = verifier(backend);
        for v in &vectors.notifications {
            let mut body = v.body.clone().into_bytes();
            if !v.valid && is_a_copy_of_a_valid_vector(v, &vectors.notifications) {
                // The vector file's "body changed after signing" carries the valid body
                // unchanged: change one byte of it here, as its case says.
                eprintln!(
                    "{}: the vector's body is unchanged; changing one byte",
                    v.case
                );
                let at = body.len() / 2;
                body[at] ^= 0x01;
            }
            let result = verifier.verify_at::<serde_json::Value>(&headers(v), &body, signed_at(v));
            match (v.valid, result) {
                (true, Ok(n)) => {
                    assert_eq!(Some(&n.resource), v.resource.as_ref(), "{}", v.case);
                    assert!(!n.id.is_empty(), "{}", v.case);
                    assert_eq!(
                        n.request_id.as_deref(),
                        v.headers.get("Request-ID").map(String::as_str)
                    );
                }
                (false, Err(e)) => {
                    let why = v.why.as_deref().expect("an invalid vector says why");
                    let (kind, problem) = expected(why);
                    assert_eq!(e.kind(), kind, "{}: {e}", v.case);
                    assert_eq!(e.decrypt_problem(), problem, "{}", v.case);
                    if why.contains("re-serialised") {
                        assert!(e.to_string().contains("re-serialised"), "{e}");
                    }
                }
                (true, Err(e)) => panic!("{backend:?} {}: refused: {e}", v.case),
                (false, Ok(_)) => panic!("{backend:?} {}: accepted", v.case),
            }
        }
    }
}

/// Whether `v`, marked invalid, has exactly the headers and body of a vector marked valid (a
/// defect of the vector file: no verifier can tell the two apart).
fn is_a_copy_of_a_valid_vector(v: &NotificationVector, all: &[NotificationVector]) -> bool {
    all.iter()
        .any(|w| w.valid && w.headers == v.headers && w.body == v.body)
}

#[test]
fn the_profit_sharing_resource_is_typed() {
    let vectors = vectors();
    let v = &vectors.notifications[0];
    let mut builder = Request::post("/notify");
    for (name, value) in &v.headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(v.body.clone().into_bytes()).expect("request");
    let verifier = verifier(Backend::default()).with_clock(std::sync::Arc::new(
        wechatpay_core::FixedClock::new(signed_at(v)),
    ));
    let n = verifier
        .verify::<ProfitSharingNotification, _>(&request)
        .expect("verifies");
    assert_eq!(n.original_type, "profitsharing");
    assert_eq!(n.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(n.resource.receiver.amount, 888);
    assert_eq!(n.resource.transaction_id, "4208450740201411110007820472");
}

#[test]
fn stale_and_wrong_key_notifications_are_refused_with_their_reason() {
    let vectors = vectors();
    let v = &vectors.notifications[0];
    let verifier = verifier(Backend::default());
    let e = verifier
        .verify_at::<serde_json::Value>(&headers(v), v.body.as_bytes(), signed_at(v) + 301)
        .expect_err("stale");
    assert_eq!(e.kind(), ErrorKind::TimestampSkew);
    let other = NotificationVerifier::new(
        verifier.keys().clone(),
        ApiV3Key::new("0123456789abcdef0123456789abcdef").expect("key"),
    );
    let e = other
        .verify_at::<serde_json::Value>(&headers(v), v.body.as_bytes(), signed_at(v))
        .expect_err("wrong APIv3 key");
    assert_eq!(e.decrypt_problem(), Some(DecryptProblem::Tag));
    // A resource that is not the JSON asked for.
    let e = verifier
        .verify_at::<Vec<u8>>(&headers(v), v.body.as_bytes(), signed_at(v))
        .expect_err("not a list");
    assert_eq!(e.kind(), ErrorKind::InvalidNotification);
}

#[test]
fn every_field_encryption_vector_decrypts_on_every_backend() {
    for &backend in Backend::all() {
        for v in vectors().field_encryption {
            let key = PrivateKey::from_pem_with(&testdata(&v.decrypt_with), backend).expect("key");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&v.ciphertext)
                .expect("base64");
            assert_eq!(
                key.decrypt_oaep(&raw).expect("decrypts"),
                v.plaintext.as_bytes(),
                "{backend:?}"
            );
        }
    }
}
