//! The fate table through the hyper transport, proven from the mock's request log: an attempt
//! that may have taken effect is checked, never sent blind.

mod common;

use std::time::Duration;

use common::{client, create, gets, posts};
use wechatpay_core::TransportConfig;
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::{CreateAfterSalesOrder, ErrorKind, KeyRing};
use wechatpay_mock_server::{Fault, MockWechatPay, Route, keys};
use wechatpay_transport_hyper::HyperClient;

/// One POST (processed), one check, the verified order.
async fn one_post_one_check(mock: &MockWechatPay, config: TransportConfig, transaction_id: &str) {
    let (c, _) = client(mock, config);
    let out = c
        .execute(&create(transaction_id))
        .await
        .expect("the check finds the order");
    assert_eq!(out.amount, Some(100));
    assert_eq!(
        (posts(mock).await, gets(mock).await),
        (1, 1),
        "one POST, one check"
    );
    assert_eq!(mock.order_count(), 1);
}

#[tokio::test]
async fn processed_then_500() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(Route::CreateAfterSales, Fault::ProcessedThenSystemError, 1);
    one_post_one_check(
        &mock,
        TransportConfig::default(),
        "4208450740201411110000002001",
    )
    .await;
}

#[tokio::test]
async fn processed_then_too_slow() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(
        Route::CreateAfterSales,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let config = TransportConfig {
        attempt_timeout: Duration::from_millis(300),
        ..TransportConfig::default()
    };
    one_post_one_check(&mock, config, "4208450740201411110000002002").await;
}

#[tokio::test]
async fn processed_then_a_broken_signature() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(Route::CreateAfterSales, Fault::BrokenSignature, 1);
    one_post_one_check(
        &mock,
        TransportConfig::default(),
        "4208450740201411110000002003",
    )
    .await;
}

#[tokio::test]
async fn a_different_amount_found_by_the_check_is_a_conflict() {
    let mock = MockWechatPay::start().await;
    let (c, _) = client(&mock, TransportConfig::default());
    c.execute(&create("4208450740201411110000002004"))
        .await
        .expect("first split");
    mock.inject_on(Route::CreateAfterSales, Fault::ProcessedThenSystemError, 1);
    let other = CreateAfterSalesOrder {
        amount: 90,
        ..create("4208450740201411110000002004")
    };
    let err = c.execute(&other).await.expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!((posts(&mock).await, gets(&mock).await), (2, 1));
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_gives_one_request() {
    let mock = MockWechatPay::start().await;
    mock.inject(
        Fault::FrequencyLimited {
            retry_after: Some(60),
        },
        1,
    );
    let (c, w) = client(&mock, TransportConfig::default());
    let err = c
        .execute(&create("4208450740201411110000002005"))
        .await
        .expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(mock.answers().len(), 1);
    assert!(common::waits(&w).is_empty(), "no shortened wait");
}

#[tokio::test]
async fn a_certificate_404_does_not_fail_a_public_key_merchant() {
    // The mock's test merchant is in public-key mode: /v3/certificates answers 404.
    let mock = MockWechatPay::start().await;
    let core = mock
        .client_builder(mock.test_merchant().clone())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .expect("core");
    let c = HyperClient::new(core).expect("client");
    for i in 0..3 {
        c.execute(&create(&format!("42084507402014111100000021{i:02}")))
            .await
            .expect("verified with the public key");
    }
    // The refresh ran beside the first call; give it a moment to be logged.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let downloads: Vec<_> = mock
        .answers()
        .into_iter()
        .filter(|a| a.path == "/v3/certificates")
        .collect();
    assert_eq!(downloads.len(), 1, "a failed download is throttled");
    assert_eq!(downloads[0].status, 404);
}

#[tokio::test]
async fn a_refresh_drops_a_certificate_no_longer_published() {
    let mock = MockWechatPay::builder()
        .test_certificate_mode()
        .start()
        .await
        .expect("mock");
    let core = wechatpay_core::Client::builder(mock.test_merchant().clone(), KeyRing::new())
        .base_url(mock.base_url())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .expect("core");
    let c = HyperClient::new(core).expect("client");
    c.execute(&create("4208450740201411110000002201"))
        .await
        .expect("first contact");
    let new_serial = mock
        .add_platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE_2,
            keys::TEST_PLATFORM_PRIVATE_KEY_2,
        )
        .expect("publish");
    mock.sign_with_platform_certificate(&new_serial)
        .expect("switch");
    mock.retire_platform_certificate(keys::TEST_PLATFORM_SERIAL);
    assert_eq!(c.refresh_certificates().await.expect("refresh"), 1);
    assert_eq!(c.core().keys().serials(), [new_serial]);
}
