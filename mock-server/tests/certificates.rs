//! `GET /v3/certificates` on the mock: encrypted per merchant, signed by a carried certificate.

mod common;

use common::{assert_error, json, send};
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{Client, KeyRing};
use wechatpay_mock_server::{MockWechatPay, keys};

fn empty_ring_client(mock: &MockWechatPay) -> Client {
    Client::builder(mock.client().merchant().clone(), KeyRing::new())
        .base_url(mock.base_url())
        .allow_empty_key_ring()
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_certificate_mode_merchant_gets_its_certificates_encrypted_and_signed() {
    let key = keys::test_apiv3_key();
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .apiv3_key(keys::TEST_MCHID, key.clone())
        .start()
        .await
        .expect("mock");
    let client = empty_ring_client(&mock);
    let (req, pending) = client.prepare_certificates(&key).expect("prepare");
    let resp = send(mock.address(), &req).await;
    // Answers are signed with the public key in this mock, but a download is signed by a
    // certificate it carries.
    assert_eq!(
        resp.headers()["wechatpay-serial"],
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );
    let raw = json(&resp);
    let entry = &raw["data"][0];
    assert_eq!(
        entry["encrypt_certificate"]["algorithm"],
        "AEAD_AES_256_GCM"
    );
    assert_eq!(
        entry["encrypt_certificate"]["associated_data"],
        "certificate"
    );
    assert!(
        entry["expire_time"]
            .as_str()
            .expect("time")
            .ends_with("+08:00")
    );
    assert!(
        !resp.body().windows(11).any(|w| w == b"BEGIN CERTI"),
        "the certificate is encrypted"
    );
    let certs = pending
        .finish(resp)
        .expect("decrypts and verifies on first contact");
    assert_eq!(
        certs[0].serial(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );

    // With the wrong APIv3 key the same answer does not decrypt.
    let wrong = ApiV3Key::new("Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4").expect("key");
    let (req, pending) = client.prepare_certificates(&wrong).expect("prepare");
    let err = pending
        .finish(send(mock.address(), &req).await)
        .expect_err("wrong key");
    assert_eq!(err.kind(), wechatpay_core::ErrorKind::Decrypt);
}

#[tokio::test]
async fn a_public_key_merchant_gets_resource_not_exists() {
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .start()
        .await
        .expect("mock");
    let client = mock.client();
    let (req, _p) = client
        .prepare_certificates(&keys::test_apiv3_key())
        .expect("prepare");
    assert_error(
        &send(mock.address(), &req).await,
        404,
        "RESOURCE_NOT_EXISTS",
    );
}

#[tokio::test]
async fn the_download_needs_authentication() {
    let mock = MockWechatPay::builder()
        .apiv3_key(keys::TEST_MCHID, keys::test_apiv3_key())
        .start()
        .await
        .expect("mock");
    let (mut req, _p) = mock
        .client()
        .prepare_certificates(&keys::test_apiv3_key())
        .expect("prepare");
    req.headers_mut().remove("authorization");
    assert_error(&send(mock.address(), &req).await, 401, "SIGN_ERROR");
}

#[tokio::test]
async fn apiv3_key_for_an_unknown_merchant_is_a_config_error() {
    let err = MockWechatPay::builder()
        .apiv3_key("1234567890", keys::test_apiv3_key())
        .start()
        .await
        .expect_err("unknown merchant");
    assert_eq!(err.kind(), wechatpay_core::ErrorKind::Config);
}
