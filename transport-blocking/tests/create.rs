//! `POST after-sales-orders` through the blocking transport, against the mock: success, every
//! injected fault, timeouts, the body cap, and create-after-timeout creating once.

mod common;

use std::time::Duration;

use common::{Harness, create};
use wechatpay_core::TransportConfig;
use wechatpay_core::{ErrorKind, retry::RetryPolicy};
use wechatpay_mock_server::{Fault, MockWechatPay, Route};

#[test]
fn create_succeeds() {
    let h = Harness::start(MockWechatPay::builder());
    let out = h
        .client(TransportConfig::default())
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
    h.client(TransportConfig::default())
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
    h.client(TransportConfig::default())
        .execute(&create("4208450740201411110000000003"))
        .expect("after waiting");
    assert_eq!(h.waits(), [Duration::from_secs(2)]);
}

#[test]
fn repeated_500s_that_made_nothing_end_known_with_the_last_request_id() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::SystemError, 3);
    let err = h
        .client(TransportConfig::default())
        .execute(&create("4208450740201411110000000004"))
        .expect_err("gives up");
    assert_eq!(err.code(), Some("SYSTEM_ERROR"));
    assert!(
        !err.is_fate_unknown(),
        "each 500 was checked: nothing was made"
    );
    let answers = h.mock.answers();
    // POST 500, check 404 (nothing was made), three times: sends used up.
    assert_eq!(
        answers.iter().map(|a| a.status).collect::<Vec<_>>(),
        [500, 404, 500, 404, 500, 404]
    );
    assert_eq!(err.request_id(), Some(answers[4].request_id.as_str()));
    assert_eq!(h.posts(), 3);
}

#[test]
fn a_503_html_page_keeps_status_and_excerpt() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock
        .inject_on(Route::CreateAfterSales, Fault::ServiceUnavailableHtml, 3);
    let err = h
        .client(TransportConfig::default())
        .execute(&create("4208450740201411110000000005"))
        .expect_err("503s");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.body_excerpt().is_some_and(|b| b.contains("503")));
}

#[test]
fn an_answer_that_does_not_verify_is_checked_not_reported_failed() {
    for fault in [
        Fault::BrokenSignature,
        Fault::StaleTimestamp,
        Fault::UnknownSerial,
        Fault::SignatureProbe,
        Fault::MissingSignature,
    ] {
        let h = Harness::start(MockWechatPay::builder());
        h.mock.inject(fault.clone(), 1);
        let out = h
            .client(TransportConfig::default())
            .execute(&create("4208450740201411110000000006"))
            .expect("the check finds the order");
        assert_eq!(out.amount, Some(100), "{fault:?}");
        assert_eq!(
            (h.posts(), h.gets()),
            (1, 1),
            "{fault:?}: one POST, one check"
        );
    }
}

#[test]
fn when_no_check_can_verify_the_fate_stays_unknown() {
    let h = Harness::start(MockWechatPay::builder());
    // The POST and all five checks.
    h.mock.inject(Fault::BrokenSignature, 6);
    let err = h
        .client(TransportConfig::default())
        .execute(&create("4208450740201411110000000011"))
        .expect_err("unverifiable");
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    assert!(err.is_fate_unknown(), "never reported as failed");
    assert_eq!((h.posts(), h.gets()), (1, 5));
}

#[test]
fn a_slow_answer_past_the_timeout_is_a_timeout() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(Fault::Delay(Duration::from_secs(2)), 1);
    let config = TransportConfig {
        attempt_timeout: Duration::from_millis(300),
        retry: RetryPolicy::never(),
        ..TransportConfig::default()
    };
    let err = h
        .client(config)
        .execute(&create("4208450740201411110000000007"))
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_fate_unknown());
}

#[test]
fn a_body_over_the_cap_is_refused() {
    let h = Harness::start(MockWechatPay::builder());
    let config = TransportConfig {
        max_body: 16,
        ..TransportConfig::default()
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
        TransportConfig {
            retry: RetryPolicy::never(),
            ..TransportConfig::default()
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
        TransportConfig {
            max_body: 0,
            ..TransportConfig::default()
        },
    )
    .expect_err("zero cap");
    assert_eq!(err.kind(), ErrorKind::Config);
}
