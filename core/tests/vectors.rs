//! Known-answer tests from `testdata/vectors.json`, made by an independent implementation
//! (Node's crypto over OpenSSL). Every backend must reproduce every request signature byte for
//! byte and give every response its verdict.

use std::sync::Arc;

use serde::Deserialize;

mod common;

use common::testdata;
use wechatpay_core::http::{self, HeaderMap, HeaderName, HeaderValue};
use wechatpay_core::{
    Backend, Client, CreateAfterSalesOrder, ErrorKind, FixedClock, FixedNonce, KeyRing,
    MerchantCredentials, PlatformCertificate, PrivateKey, PublicKey, QueryAfterSalesOrder, Scene,
    signing, verify,
};

#[derive(Deserialize)]
struct Vectors {
    config: Config,
    requests: Vec<RequestVector>,
    responses: Vec<ResponseVector>,
}

#[derive(Deserialize)]
struct Config {
    mchid: String,
    merchant_serial: String,
    wechatpay_public_key_id: String,
    platform_certificate_serial: String,
}

#[derive(Deserialize)]
struct RequestVector {
    case: String,
    method: String,
    url: String,
    timestamp: String,
    nonce: String,
    body: String,
    message: String,
    signature: String,
    authorization: String,
}

#[derive(Deserialize)]
struct ResponseVector {
    case: String,
    headers: std::collections::BTreeMap<String, String>,
    body: String,
    message: String,
    valid: bool,
    why: Option<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(&testdata("vectors.json")).expect("vectors.json parses")
}

fn key_ring(backend: Backend, config: &Config) -> KeyRing {
    let ring = KeyRing::new();
    ring.add_wechatpay_public_key(
        &config.wechatpay_public_key_id,
        PublicKey::from_pem_with(&testdata("wechatpay_public_key.pem"), backend).expect("pubkey"),
    )
    .expect("id");
    let cert = PlatformCertificate::from_pem_with(&testdata("platform_certificate.pem"), backend)
        .expect("certificate");
    assert_eq!(cert.serial(), config.platform_certificate_serial);
    ring.add_platform_certificate(cert);
    ring
}

fn client(backend: Backend, config: &Config, key_file: &str, ts: &str, nonce: &str) -> Client {
    let key = PrivateKey::from_pem_with(&testdata(key_file), backend).expect("merchant key");
    let merchant =
        MerchantCredentials::new(&config.mchid, &config.merchant_serial, key).expect("merchant");
    Client::builder(merchant, key_ring(backend, config))
        .clock(Arc::new(FixedClock::new(ts.parse().expect("timestamp"))))
        .nonce_source(Arc::new(FixedNonce::new(nonce)))
        .build()
        .expect("client")
}

#[test]
fn request_messages_match() {
    for v in vectors().requests {
        let message =
            signing::request_message(&v.method, &v.url, &v.timestamp, &v.nonce, v.body.as_bytes());
        assert_eq!(
            String::from_utf8(message).expect("utf8"),
            v.message,
            "{}",
            v.case
        );
    }
}

#[test]
fn request_signatures_match_byte_for_byte_on_every_backend() {
    let v = vectors();
    for &backend in Backend::all() {
        for key_file in ["merchant_private_key.pem", "merchant_private_key_pkcs1.pem"] {
            let key = PrivateKey::from_pem_with(&testdata(key_file), backend).expect("key");
            for r in &v.requests {
                let sig = key.sign_base64(r.message.as_bytes()).expect("sign");
                assert_eq!(sig, r.signature, "{backend:?} {key_file} {}", r.case);
            }
        }
    }
}

/// The operations, prepared by the client with the vector's time and nonce, produce the
/// vector's exact request: URI, body, and `Authorization`.
#[test]
fn prepared_operations_match_the_vectors() {
    let v = vectors();
    let post = &v.requests[0];
    let get = &v.requests[1];
    assert_eq!(post.method, "POST");
    assert_eq!(get.method, "GET");
    for &backend in Backend::all() {
        let c = client(
            backend,
            &v.config,
            "merchant_private_key.pem",
            &post.timestamp,
            &post.nonce,
        );
        let op = CreateAfterSalesOrder::new(
            "1900000109",
            "4208450740201411110007820472",
            100,
            Scene::RefundTicket,
            "50000000382019052709732678859",
        );
        let (request, _pending) = c.prepare(&op).expect("prepare");
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            request.uri().to_string(),
            format!("https://api.mch.weixin.qq.com{}", post.url)
        );
        assert_eq!(request.body().as_slice(), post.body.as_bytes());
        assert_eq!(
            request.headers()["authorization"],
            post.authorization.as_str()
        );
        assert_eq!(request.headers()["content-type"], "application/json");
        assert_eq!(request.headers()["accept"], "application/json");
        assert_eq!(
            request.headers()["wechatpay-serial"],
            v.config.wechatpay_public_key_id.as_str()
        );
        assert!(
            request.headers()["user-agent"]
                .to_str()
                .expect("ascii")
                .starts_with("wechatpay-rs/")
        );

        let c = client(
            backend,
            &v.config,
            "merchant_private_key_pkcs1.pem",
            &get.timestamp,
            &get.nonce,
        );
        let (request, _pending) = c
            .prepare(&QueryAfterSalesOrder::new(
                "1900000109",
                "4208450740201411110007820472",
            ))
            .expect("prepare");
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(
            request.uri().path_and_query().map(|p| p.as_str()),
            Some(get.url.as_str())
        );
        assert!(request.body().is_empty());
        assert!(request.headers().get("content-type").is_none());
        assert_eq!(
            request.headers()["authorization"],
            get.authorization.as_str()
        );
    }
}

fn headers(v: &ResponseVector) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in &v.headers {
        h.insert(
            HeaderName::try_from(name.as_str()).expect("name"),
            HeaderValue::try_from(value.as_str()).expect("value"),
        );
    }
    h
}

fn expected_kind(why: &str) -> ErrorKind {
    match why {
        "signature mismatch" => ErrorKind::SignatureMismatch,
        "no key for serial" => ErrorKind::UnknownSerial,
        w if w.contains("probe") => ErrorKind::SignatureProbe,
        other => panic!("a vector names a reason this test does not know: {other:?}"),
    }
}

#[test]
fn response_verdicts_on_every_backend() {
    let v = vectors();
    for &backend in Backend::all() {
        let ring = key_ring(backend, &v.config);
        for r in &v.responses {
            let ts = &r.headers["Wechatpay-Timestamp"];
            assert_eq!(
                signing::response_message(ts, &r.headers["Wechatpay-Nonce"], r.body.as_bytes()),
                r.message.as_bytes(),
                "{}",
                r.case
            );
            let now: i64 = ts.parse().expect("timestamp");
            let verdict = verify::verify_signed(&ring, now, 300, &headers(r), r.body.as_bytes());
            match (r.valid, verdict) {
                (true, Ok(())) => {}
                (false, Err(e)) => {
                    let why = r.why.as_deref().expect("an invalid vector says why");
                    assert_eq!(e.kind(), expected_kind(why), "{backend:?} {}: {e}", r.case);
                    assert!(!e.is_retryable());
                }
                (valid, got) => panic!(
                    "{backend:?} {}: expected valid={valid}, got {got:?}",
                    r.case
                ),
            }
        }
    }
}

#[test]
fn unknown_serial_error_names_the_serial() {
    let v = vectors();
    let r = v
        .responses
        .iter()
        .find(|r| r.why.as_deref() == Some("no key for serial"))
        .expect("case");
    let ring = key_ring(Backend::default(), &v.config);
    let now = r.headers["Wechatpay-Timestamp"].parse().expect("ts");
    let e = verify::verify_signed(&ring, now, 300, &headers(r), r.body.as_bytes())
        .expect_err("unknown");
    assert_eq!(e.serial(), Some(r.headers["Wechatpay-Serial"].as_str()));
    assert!(e.to_string().contains(&r.headers["Wechatpay-Serial"]));
}

#[test]
fn valid_vectors_fail_outside_the_time_window() {
    let v = vectors();
    let ring = key_ring(Backend::default(), &v.config);
    let r = v
        .responses
        .iter()
        .find(|r| r.valid)
        .expect("a valid vector");
    let ts: i64 = r.headers["Wechatpay-Timestamp"].parse().expect("ts");
    for now in [ts + 300, ts - 300] {
        assert!(verify::verify_signed(&ring, now, 300, &headers(r), r.body.as_bytes()).is_ok());
    }
    for now in [ts + 301, ts - 301] {
        let e = verify::verify_signed(&ring, now, 300, &headers(r), r.body.as_bytes())
            .expect_err("skew");
        assert_eq!(e.kind(), ErrorKind::TimestampSkew);
    }
}

#[test]
fn each_missing_header_is_refused() {
    let v = vectors();
    let ring = key_ring(Backend::default(), &v.config);
    let r = v
        .responses
        .iter()
        .find(|r| r.valid)
        .expect("a valid vector");
    let now = r.headers["Wechatpay-Timestamp"].parse().expect("ts");
    for name in [
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-signature",
        "wechatpay-serial",
    ] {
        let mut h = headers(r);
        h.remove(name);
        let e = verify::verify_signed(&ring, now, 300, &h, r.body.as_bytes()).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::MissingSignature, "{name}");
        assert!(e.to_string().contains(name), "{e}");
    }
    let mut h = headers(r);
    h.insert(
        "wechatpay-signature",
        HeaderValue::from_static("%%%not base64%%%"),
    );
    let e = verify::verify_signed(&ring, now, 300, &h, r.body.as_bytes()).expect_err("b64");
    assert_eq!(e.kind(), ErrorKind::MalformedSignature);
    let mut h = headers(r);
    h.insert("wechatpay-timestamp", HeaderValue::from_static("soon"));
    let e = verify::verify_signed(&ring, now, 300, &h, r.body.as_bytes()).expect_err("ts");
    assert_eq!(e.kind(), ErrorKind::MalformedSignature);
}
