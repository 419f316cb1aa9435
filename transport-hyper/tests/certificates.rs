//! Platform-certificate mode through the hyper transport, against the mock: first contact,
//! a full rotation that never fails a call, throttled refreshes, both modes, two merchants.

mod common;

use common::create;
use wechatpay_core::certificates::{ApiV3Key, CertificateKeeper};
use wechatpay_core::{Client, ErrorKind, KeyRing, MerchantCredentials, PrivateKey};
use wechatpay_mock_server::{Fault, MockWechatPay, SignWith, keys};
use wechatpay_transport_hyper::HyperClient;

async fn certificate_mock() -> MockWechatPay {
    MockWechatPay::builder()
        .test_certificate_mode()
        .start()
        .await
        .expect("mock")
}

/// A client in certificate mode that starts with an empty key ring.
fn cert_client(mock: &MockWechatPay, keys: KeyRing) -> HyperClient {
    let core = Client::builder(mock.client().merchant().clone(), keys)
        .base_url(mock.base_url())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .expect("core");
    HyperClient::new(core).expect("client")
}

fn downloads(mock: &MockWechatPay) -> usize {
    mock.answers()
        .iter()
        .filter(|a| a.path == "/v3/certificates")
        .count()
}

#[tokio::test]
async fn first_contact_downloads_then_verifies() {
    let mock = certificate_mock().await;
    let c = cert_client(&mock, KeyRing::new());
    c.execute(&create("4208450740201411110000000201"))
        .await
        .expect("created");
    c.execute(&create("4208450740201411110000000201").query())
        .await
        .expect("queried");
    assert_eq!(
        downloads(&mock),
        1,
        "one download, then the held certificate is used"
    );
    assert_eq!(c.core().keys().serials(), [keys::TEST_PLATFORM_SERIAL]);
}

#[tokio::test]
async fn a_full_rotation_never_fails_a_call() {
    let mock = certificate_mock().await;
    let c = cert_client(&mock, KeyRing::new());
    let mut n = 0;
    let mut call = || {
        n += 1;
        create(&format!("42084507402014111100003{n:05}"))
    };
    c.execute(&call()).await.expect("old only");
    // Both published, old still signing.
    let new_serial = mock
        .add_platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE_2,
            keys::TEST_PLATFORM_PRIVATE_KEY_2,
        )
        .expect("publish");
    c.execute(&call()).await.expect("both published");
    // New signs: the client meets an unknown serial, refreshes once, verifies.
    mock.sign_with_platform_certificate(&new_serial)
        .expect("switch");
    c.execute(&call()).await.expect("new signing");
    assert!(c.core().keys().get(&new_serial).is_some());
    // Old retired.
    assert!(mock.retire_platform_certificate(keys::TEST_PLATFORM_SERIAL));
    for _ in 0..3 {
        c.execute(&call()).await.expect("new only");
    }
    assert_eq!(
        downloads(&mock),
        2,
        "first contact, then the unknown serial"
    );
    assert_eq!(mock.order_count(), 6, "every create reached the mock once");
}

#[tokio::test]
async fn an_unknown_serial_triggers_one_refresh_not_many() {
    let mock = certificate_mock().await;
    let c = cert_client(&mock, KeyRing::new());
    c.execute(&create("4208450740201411110000000301"))
        .await
        .expect("first contact");
    mock.inject(Fault::UnknownSerial, 100);
    for i in 0..5 {
        let err = c
            .execute(&create(&format!("420845074020141111000004{i:04}")))
            .await
            .expect_err("forged serial");
        assert_eq!(err.kind(), ErrorKind::UnknownSerial);
    }
    assert_eq!(
        downloads(&mock),
        2,
        "first contact plus one refresh for the forged serial"
    );
}

#[tokio::test]
async fn a_merchant_with_both_modes_verifies_either_signature() {
    let mock = certificate_mock().await;
    let (id, key) = mock.wechatpay_public_key();
    let ring = KeyRing::new();
    ring.add_wechatpay_public_key(id, key.clone()).expect("id");
    let c = cert_client(&mock, ring);
    c.execute(&create("4208450740201411110000000501"))
        .await
        .expect("signed by the certificate");
    mock.sign_with(SignWith::PublicKey).expect("switch");
    c.execute(&create("4208450740201411110000000502"))
        .await
        .expect("signed by the public key");
    mock.sign_with(SignWith::PlatformCertificate)
        .expect("switch back");
    c.execute(&create("4208450740201411110000000503"))
        .await
        .expect("certificate again");
    assert_eq!(downloads(&mock), 1);
}

#[tokio::test]
async fn a_public_key_merchant_gets_resource_not_exists() {
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .start()
        .await
        .expect("mock");
    let c = cert_client(&mock, KeyRing::new());
    let err = c
        .execute(&create("4208450740201411110000000601"))
        .await
        .expect_err("no certificates");
    assert_eq!(err.code(), Some("RESOURCE_NOT_EXISTS"));
    assert_eq!(
        mock.order_count(),
        0,
        "nothing is sent that could not be verified"
    );
}

#[tokio::test]
async fn two_merchants_in_one_process_keep_their_own_certificates() {
    let second_key = PrivateKey::from_pem(keys::TEST_PLATFORM_PRIVATE_KEY_2).expect("key");
    let mock = certificate_mock().await;
    mock.add_merchant(
        "1900000200",
        "ABCDEF0123456789",
        second_key.public_key().expect("public"),
    )
    .expect("the merchant is added");
    let other_apiv3 = ApiV3Key::new("Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4").expect("key");
    mock.set_apiv3_key("1900000200", other_apiv3.clone())
        .expect("a known merchant");

    let first = cert_client(&mock, KeyRing::new());
    let merchant =
        MerchantCredentials::new("1900000200", "ABCDEF0123456789", second_key).expect("merchant");
    let core = Client::builder(merchant, KeyRing::new())
        .base_url(mock.base_url())
        .certificates(CertificateKeeper::new(other_apiv3))
        .build()
        .expect("core");
    let second = HyperClient::new(core).expect("client");

    let (op_a, op_b) = (
        create("4208450740201411110000000701"),
        create("4208450740201411110000000702"),
    );
    let (a, b) = tokio::join!(first.execute(&op_a), second.execute(&op_b));
    a.expect("first merchant");
    b.expect("second merchant");
    assert_eq!(downloads(&mock), 2, "one download each");
    assert_eq!(
        first.core().keys().serials(),
        second.core().keys().serials()
    );
    // The key rings are separate objects.
    first.core().keys().remove(keys::TEST_PLATFORM_SERIAL);
    assert!(second.core().keys().has_platform_certificate());
}

#[tokio::test]
async fn a_due_refresh_runs_in_the_background() {
    use std::sync::Arc;
    use wechatpay_core::{Clock, FixedClock, SystemClock};
    let mock = certificate_mock().await;
    let clock = Arc::new(FixedClock::new(SystemClock.now_unix()));
    let keeper = CertificateKeeper::new(keys::test_apiv3_key()).with_intervals(
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(60),
    );
    let core = Client::builder(mock.client().merchant().clone(), KeyRing::new())
        .base_url(mock.base_url())
        .certificates(keeper)
        .clock(clock.clone())
        .build()
        .expect("core");
    let c = HyperClient::new(core).expect("client");
    c.execute(&create("4208450740201411110000000801"))
        .await
        .expect("first contact");
    clock.advance(61);
    // Due now: the call goes ahead with the held certificate while a refresh starts.
    c.execute(&create("4208450740201411110000000802"))
        .await
        .expect("not blocked by the refresh");
    for _ in 0..50 {
        if downloads(&mock) == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(downloads(&mock), 2, "the due refresh happened");
    c.execute(&create("4208450740201411110000000803"))
        .await
        .expect("after the refresh");
    assert_eq!(downloads(&mock), 2, "and is not due again");
}
