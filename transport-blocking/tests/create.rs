//! `POST after-sales-orders` through the blocking transport, against the mock: success, every
//! injected fault, timeouts, the body cap, and create-after-timeout creating once.

mod common;

use std::time::Duration;

use common::{Harness, create};
use wechatpay_core::{ErrorKind, retry::RetryPolicy};
use wechatpay_mock_server::{Fault, MockWechatPay, Route};
use wechatpay_transport_blocking::Config;

#[test]
fn create_succeeds() {
    let h = Harness::start(MockWechatPay::builder());
    let out = h
        .client(Config::default())
        .execute(&create("4208450740201411110000000001"))
        .expect("created");
    assert_eq!(out.amount, Some(100));
    assert_eq!(h.posts(), 1);
}

#[test]
fn a_500_then_success_is_retried_with_backoff() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::SystemError, 1);
    h.client(Config::default())
        .execute(&create("4208450740201411110000000002"))
        .expect("second attempt");
    assert_eq!(h.posts(), 2);
    assert_eq!(h.waits(), [Duration::from_millis(100)]);
}

#[test]
fn a_429_honours_retry_after() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(
        Fault::FrequencyLimited {
            retry_after: Some(2),
        },
        1,
    );
    h.client(Config::default())
        .execute(&create("4208450740201411110000000003"))
        .expect("after waiting");
    assert_eq!(h.waits(), [Duration::from_secs(2)]);
}

#[test]
fn three_500s_fail_with_the_last_request_id() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(Fault::SystemError, 3);
    let err = h
        .client(Config::default())
        .execute(&create("4208450740201411110000000004"))
        .expect_err("gives up");
    assert_eq!(err.code(), Some("SYSTEM_ERROR"));
    assert!(err.is_retryable());
    let answers = h.mock.answers();
    assert_eq!(answers.len(), 3);
    assert_eq!(err.request_id(), Some(answers[2].request_id.as_str()));
    assert_ne!(answers[1].request_id, answers[2].request_id);
    assert_eq!(h.waits().len(), 2);
}

#[test]
fn a_503_html_page_keeps_status_and_excerpt() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(Fault::ServiceUnavailableHtml, 3);
    let err = h
        .client(Config::default())
        .execute(&create("4208450740201411110000000005"))
        .expect_err("503s");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.body_excerpt().is_some_and(|b| b.contains("503")));
}

#[test]
fn verification_faults_are_errors_and_never_retried() {
    for (fault, kind) in [
        (Fault::BrokenSignature, ErrorKind::SignatureMismatch),
        (Fault::StaleTimestamp, ErrorKind::TimestampSkew),
        (Fault::UnknownSerial, ErrorKind::UnknownSerial),
        (Fault::SignatureProbe, ErrorKind::SignatureProbe),
        (Fault::MissingSignature, ErrorKind::MissingSignature),
    ] {
        let h = Harness::start(MockWechatPay::builder());
        h.mock.inject(fault.clone(), 1);
        let err = h
            .client(Config::default())
            .execute(&create("4208450740201411110000000006"))
            .expect_err("refused");
        assert_eq!(err.kind(), kind, "{fault:?}");
        assert_eq!(h.posts(), 1, "{fault:?} must not be retried");
    }
}

#[test]
fn a_slow_answer_past_the_timeout_is_a_timeout() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(Fault::Delay(Duration::from_secs(2)), 1);
    let config = Config {
        attempt_timeout: Duration::from_millis(300),
        retry: RetryPolicy::never(),
        ..Config::default()
    };
    let err = h
        .client(config)
        .execute(&create("4208450740201411110000000007"))
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_fate_unknown());
}

#[test]
fn create_after_a_timeout_queries_first_and_creates_once() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject_on(
        Route::CreateAfterSales,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let config = Config {
        attempt_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let out = h
        .client(config)
        .execute(&create("4208450740201411110000000008"))
        .expect("found by the query");
    assert_eq!(out.amount, Some(100));
    assert_eq!(h.posts(), 1, "the order was created once");
    assert_eq!(h.gets(), 1, "the query came before any second POST");
    assert_eq!(h.mock.order_count(), 1);
}

#[test]
fn a_body_over_the_cap_is_refused() {
    let h = Harness::start(MockWechatPay::builder());
    let config = Config {
        max_body: 16,
        ..Config::default()
    };
    let err = h
        .client(config)
        .execute(&create("4208450740201411110000000009"))
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::ResponseTooLarge);
    assert!(err.request_id().is_some());
}

#[test]
fn a_refused_connection_is_a_retryable_transport_error() {
    let h = Harness::start(MockWechatPay::builder());
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let core = h
        .mock
        .client_builder(h.mock.client().merchant().clone())
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("core");
    let client = wechatpay_transport_blocking::BlockingClient::with_config(
        core,
        Config {
            retry: RetryPolicy::never(),
            ..Config::default()
        },
    )
    .expect("client");
    let err = client
        .execute(&create("4208450740201411110000000010"))
        .expect_err("refused");
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::Timeout),
        "{err}"
    );
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn bad_config_is_refused() {
    let h = Harness::start(MockWechatPay::builder());
    let err = wechatpay_transport_blocking::BlockingClient::with_config(
        h.mock.client(),
        Config {
            max_body: 0,
            ..Config::default()
        },
    )
    .expect_err("zero cap");
    assert_eq!(err.kind(), ErrorKind::Config);
}
