//! Platform certificates: the shared `/v3/certificates` vector decrypts and verifies; every
//! way it can be wrong has its own error; the keeper keeps, drops and throttles.

use serde::Deserialize;

mod common;

use common::{client_at, testdata};
use wechatpay_core::certificates::{ApiV3Key, CertificateKeeper, EncryptedResource};
use wechatpay_core::http::Response;
use wechatpay_core::{Client, DecryptProblem, ErrorKind, KeyRing, PlatformCertificate};

#[derive(Deserialize)]
struct Vectors {
    certificates: CertVector,
}

#[derive(Deserialize)]
struct CertVector {
    apiv3_key: String,
    body: String,
    plaintext_certificate: String,
    headers: std::collections::BTreeMap<String, String>,
}

fn vector() -> CertVector {
    serde_json::from_str::<Vectors>(&testdata("vectors.json"))
        .expect("vectors")
        .certificates
}

fn client(keys: KeyRing, now: i64) -> Client {
    client_at(keys, now)
}

fn response(v: &CertVector, body: &str) -> Response<Vec<u8>> {
    let mut b = Response::builder().status(200);
    for (k, val) in &v.headers {
        b = b.header(k.as_str(), val.as_str());
    }
    b.body(body.as_bytes().to_vec()).expect("response")
}

fn now(v: &CertVector) -> i64 {
    v.headers["Wechatpay-Timestamp"].parse().expect("ts")
}

#[test]
fn the_shared_vector_decrypts_and_verifies_on_first_contact() {
    let v = vector();
    let key = ApiV3Key::new(&v.apiv3_key).expect("key");
    let c = client(KeyRing::new(), now(&v));
    let (request, pending) = c.prepare_certificates(&key).expect("prepare");
    assert_eq!(request.uri().path(), "/v3/certificates");
    let certs = pending
        .finish(response(&v, &v.body))
        .expect("decrypts and verifies");
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0].serial(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );
    // The decrypted certificate is the vector's plaintext.
    let expected = PlatformCertificate::from_pem(&v.plaintext_certificate).expect("plain");
    assert_eq!(certs[0].not_after(), expected.not_after());
    assert!(
        c.keys().is_empty(),
        "finish adds nothing to the ring by itself"
    );
}

#[test]
fn a_tampered_ciphertext_or_wrong_key_fails_with_its_own_error() {
    let v = vector();
    let c = client(KeyRing::new(), now(&v));
    let wrong = ApiV3Key::new("00000000000000000000000000000000").expect("key");
    let (_, pending) = c.prepare_certificates(&wrong).expect("prepare");
    let e = pending
        .finish(response(&v, &v.body))
        .expect_err("wrong key");
    assert_eq!(e.kind(), ErrorKind::Decrypt);
    assert_eq!(e.decrypt_problem(), Some(DecryptProblem::Tag));

    let key = ApiV3Key::new(&v.apiv3_key).expect("key");
    let pos = v.body.find("\"ciphertext\":\"").expect("ciphertext") + 14;
    let mut tampered = v.body.clone();
    let flip = if &tampered[pos..=pos] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(pos..=pos, flip);
    let (_, pending) = c.prepare_certificates(&key).expect("prepare");
    let e = pending
        .finish(response(&v, &tampered))
        .expect_err("tampered");
    assert_eq!(e.decrypt_problem(), Some(DecryptProblem::Tag));
}

#[test]
fn each_decryption_problem_is_named() {
    let key = ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7").expect("key");
    let good =
        EncryptedResource::encrypt(&key, "b1a2c3d4e5f6", "certificate", b"hello").expect("encrypt");
    assert_eq!(good.decrypt(&key).expect("round trip"), b"hello");
    let cases = [
        (
            EncryptedResource {
                algorithm: "AEAD_AES_128_GCM".into(),
                ..good.clone()
            },
            DecryptProblem::Algorithm,
        ),
        (
            EncryptedResource {
                nonce: "short".into(),
                ..good.clone()
            },
            DecryptProblem::Nonce,
        ),
        (
            EncryptedResource {
                ciphertext: "%%%".into(),
                ..good.clone()
            },
            DecryptProblem::Base64,
        ),
        (
            EncryptedResource {
                associated_data: "other".into(),
                ..good.clone()
            },
            DecryptProblem::Tag,
        ),
    ];
    for (resource, problem) in cases {
        let e = resource.decrypt(&key).expect_err("refused");
        assert_eq!(e.decrypt_problem(), Some(problem));
        assert!(
            !e.to_string().contains("a3B7c9D1"),
            "the key never appears: {e}"
        );
    }
    let e = ApiV3Key::new("0123456789").expect_err("length");
    assert_eq!(
        e.decrypt_problem(),
        Some(DecryptProblem::KeyLength { len: 10 })
    );
}

#[test]
fn a_download_signed_by_no_carried_or_trusted_certificate_is_refused() {
    let v = vector();
    let key = ApiV3Key::new(&v.apiv3_key).expect("key");
    let c = client(KeyRing::new(), now(&v));
    let mut r = response(&v, &v.body);
    r.headers_mut().insert(
        "wechatpay-serial",
        "0123456789ABCDEF".parse().expect("header"),
    );
    let (_, pending) = c.prepare_certificates(&key).expect("prepare");
    assert_eq!(
        pending.finish(r).expect_err("unknown").kind(),
        ErrorKind::UnknownSerial
    );
    let stale = client(KeyRing::new(), now(&v) + 3600);
    let (_, pending) = stale.prepare_certificates(&key).expect("prepare");
    assert_eq!(
        pending
            .finish(response(&v, &v.body))
            .expect_err("stale")
            .kind(),
        ErrorKind::TimestampSkew
    );
}

#[test]
fn the_keeper_keeps_valid_certificates_and_drops_expired_ones() {
    let v = vector();
    let cert = PlatformCertificate::from_pem(&v.plaintext_certificate).expect("cert");
    let key = ApiV3Key::new(&v.apiv3_key).expect("key");
    let mut keeper = CertificateKeeper::new(key).with_intervals(
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(60),
    );
    let ring = KeyRing::new();
    let t = 1_800_000_000;
    assert!(keeper.refresh_due(t));
    assert_eq!(keeper.accept(&ring, t, vec![cert.clone()]), 1);
    assert!(!keeper.refresh_due(t + 3599));
    assert!(keeper.refresh_due(t + 3600));
    // Past its expiry, the certificate is neither added nor kept.
    let after = cert.not_after().unix_timestamp() + 1;
    assert_eq!(keeper.accept(&ring, after, vec![cert]), 0);
    assert!(ring.is_empty());
}

#[test]
fn a_refresh_replaces_certificates_and_keeps_the_public_key() {
    let v = vector();
    let cert = PlatformCertificate::from_pem(&v.plaintext_certificate).expect("cert");
    let mut keeper = CertificateKeeper::new(ApiV3Key::new(&v.apiv3_key).expect("key"));
    let ring = KeyRing::new()
        .with_wechatpay_public_key_pem(
            "PUB_KEY_ID_0119000001002026112400000000000001",
            &common::testdata("wechatpay_public_key.pem"),
        )
        .expect("public key");
    let t = cert.not_before().unix_timestamp() + 10;
    assert_eq!(keeper.accept(&ring, t, vec![cert.clone()]), 1);
    assert!(ring.get(cert.serial()).is_some());
    // WeChat Pay stopped publishing it: no longer trusted, though still valid.
    assert_eq!(keeper.accept(&ring, t + 1, Vec::new()), 0);
    assert!(ring.get(cert.serial()).is_none());
    assert!(
        ring.get("PUB_KEY_ID_0119000001002026112400000000000001")
            .is_some()
    );
}

#[test]
fn one_download_at_a_time_for_the_application_too() {
    let v = vector();
    let client = Client::builder(common::merchant(), KeyRing::new())
        .certificates(CertificateKeeper::new(
            ApiV3Key::new(&v.apiv3_key).expect("key"),
        ))
        .clock(std::sync::Arc::new(wechatpay_core::FixedClock::new(now(
            &v,
        ))))
        .build()
        .expect("client");
    let timeout = std::time::Duration::from_secs(1);
    let first = client
        .refresh_certificates(timeout)
        .expect("certificate mode")
        .expect("no download under way");
    // A second refresh while the first holds the lease: none until it ends.
    assert!(
        client
            .refresh_certificates(timeout)
            .expect("certificate mode")
            .is_none()
    );
    let (request, _, pending) = first.into_parts();
    assert!(request.headers()["authorization"].is_sensitive());
    assert!(pending.finish(Ok(response(&v, &v.body))).is_ok());
    assert!(
        client
            .refresh_certificates(timeout)
            .expect("certificate mode")
            .is_some(),
        "the lease is free again"
    );
}
