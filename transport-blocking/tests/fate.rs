//! The fate table through the blocking transport, proven from the mock's request log: an
//! attempt that may have taken effect is checked, never sent blind.

mod common;

use std::time::Duration;

use common::{Harness, create};
use wechatpay_core::TransportConfig;
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::{Client, CreateAfterSalesOrder, ErrorKind};
use wechatpay_mock_server::{Fault, MockWechatPay, Route, keys};
use wechatpay_transport_blocking::BlockingClient;

/// One POST (processed), one check, the verified order.
fn one_post_one_check(h: &Harness, config: TransportConfig, transaction_id: &str) {
    let out = h
        .client(config)
        .execute(&create(transaction_id))
        .expect("the check finds the order");
    assert_eq!(out.amount, Some(100));
    assert_eq!((h.posts(), h.gets()), (1, 1), "one POST, one check");
    assert_eq!(h.mock.order_count(), 1);
}

#[test]
fn processed_then_500() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::ProcessedThenSystemError, 1);
    one_post_one_check(
        &h,
        TransportConfig::default(),
        "4208450740201411110000002001",
    );
}

#[test]
fn processed_then_too_slow() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject_on(
        Route::CreateAfterSales,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let config = TransportConfig {
        attempt_timeout: Duration::from_millis(300),
        ..TransportConfig::default()
    };
    one_post_one_check(&h, config, "4208450740201411110000002002");
}

#[test]
fn processed_then_a_broken_signature() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::BrokenSignature, 1);
    one_post_one_check(
        &h,
        TransportConfig::default(),
        "4208450740201411110000002003",
    );
}

#[test]
fn a_different_amount_found_by_the_check_is_a_conflict() {
    let h = Harness::start(MockWechatPay::builder());
    let client = h.client(TransportConfig::default());
    client
        .execute(&create("4208450740201411110000002004"))
        .expect("first split");
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::ProcessedThenSystemError, 1);
    let other = CreateAfterSalesOrder {
        amount: 90,
        ..create("4208450740201411110000002004")
    };
    let err = client.execute(&other).expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!((h.posts(), h.gets()), (2, 1));
}

#[test]
fn retry_after_beyond_the_deadline_gives_one_request() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(
        Fault::FrequencyLimited {
            retry_after: Some(60),
        },
        1,
    );
    let err = h
        .client(TransportConfig::default())
        .execute(&create("4208450740201411110000002005"))
        .expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(err.code(), Some("FREQUENCY_LIMITED"));
    assert_eq!(h.mock.answers().len(), 1);
    assert!(h.waits().is_empty(), "no shortened wait");
}

#[test]
fn a_certificate_404_does_not_fail_a_public_key_merchant() {
    // The mock's test merchant is in public-key mode: /v3/certificates answers 404.
    let h = Harness::start(MockWechatPay::builder());
    let core = h
        .mock
        .client_builder(h.mock.test_merchant().clone())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .expect("core");
    let client = BlockingClient::new(core).expect("client");
    for i in 0..3 {
        client
            .execute(&create(&format!("42084507402014111100000021{i:02}")))
            .expect("verified with the public key");
    }
    let downloads: Vec<_> = h
        .mock
        .answers()
        .into_iter()
        .filter(|a| a.path == "/v3/certificates")
        .collect();
    assert_eq!(downloads.len(), 1, "a failed download is throttled");
    assert_eq!(downloads[0].status, 404);
}

#[test]
fn http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let h = Harness::start(MockWechatPay::builder());
    let err = Client::builder(h.mock.test_merchant().clone(), h.mock.trusted_keys())
        .base_url("http://example.invalid")
        .build()
        .expect_err("plain http");
    assert_eq!(err.kind(), ErrorKind::Config);
}
