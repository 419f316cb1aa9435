//! `POST after-sales-orders` through the hyper transport, against the mock: success, every
//! injected fault, timeouts, the body cap, create-after-timeout creating once, concurrency.

mod common;

use std::time::Duration;

use common::{client, create, gets, posts, waits};
use wechatpay_core::TransportConfig;
use wechatpay_core::{ErrorKind, retry::RetryPolicy};
use wechatpay_mock_server::{Fault, MockWechatPay, Route};
use wechatpay_transport_hyper::HyperClient;

#[tokio::test]
async fn create_succeeds() {
    let mock = MockWechatPay::start().await;
    let (c, _) = client(&mock, TransportConfig::default());
    let out = c
        .execute(&create("4208450740201411110000000001"))
        .await
        .expect("created");
    assert_eq!(out.amount, Some(100));
    assert_eq!(posts(&mock).await, 1);
}

#[tokio::test]
async fn a_500_then_success_is_retried_with_backoff() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(Route::CreateAfterSales, Fault::SystemError, 1);
    let (c, w) = client(&mock, TransportConfig::default());
    c.execute(&create("4208450740201411110000000002"))
        .await
        .expect("second attempt");
    assert_eq!(posts(&mock).await, 2);
    assert_eq!(waits(&w), [Duration::from_millis(100)]);
}

#[tokio::test]
async fn a_429_honours_retry_after() {
    let mock = MockWechatPay::start().await;
    mock.inject(
        Fault::FrequencyLimited {
            retry_after: Some(2),
        },
        1,
    );
    let (c, w) = client(&mock, TransportConfig::default());
    c.execute(&create("4208450740201411110000000003"))
        .await
        .expect("after waiting");
    assert_eq!(waits(&w), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn repeated_500s_that_made_nothing_end_known_with_the_last_request_id() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(Route::CreateAfterSales, Fault::SystemError, 3);
    let (c, _) = client(&mock, TransportConfig::default());
    let err = c
        .execute(&create("4208450740201411110000000004"))
        .await
        .expect_err("gives up");
    assert_eq!(err.code(), Some("SYSTEM_ERROR"));
    assert!(
        !err.is_fate_unknown(),
        "each 500 was checked: nothing was made"
    );
    let answers = mock.answers();
    // POST 500, check 404 (nothing was made), three times: sends used up.
    let statuses: Vec<_> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [500, 404, 500, 404, 500, 404]);
    assert_eq!(err.request_id(), Some(answers[4].request_id.as_str()));
}

#[tokio::test]
async fn a_503_html_page_keeps_status_and_excerpt() {
    let mock = MockWechatPay::start().await;
    mock.inject_on(Route::CreateAfterSales, Fault::ServiceUnavailableHtml, 3);
    let (c, _) = client(&mock, TransportConfig::default());
    let err = c
        .execute(&create("4208450740201411110000000005"))
        .await
        .expect_err("503s");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.body_excerpt().is_some_and(|b| b.contains("503")));
}

#[tokio::test]
async fn an_answer_that_does_not_verify_is_checked_not_reported_failed() {
    for fault in [
        Fault::BrokenSignature,
        Fault::StaleTimestamp,
        Fault::UnknownSerial,
        Fault::SignatureProbe,
        Fault::MissingSignature,
    ] {
        let mock = MockWechatPay::start().await;
        mock.inject(fault.clone(), 1);
        let (c, _) = client(&mock, TransportConfig::default());
        let out = c
            .execute(&create("4208450740201411110000000006"))
            .await
            .expect("the check finds the order");
        assert_eq!(out.amount, Some(100), "{fault:?}");
        assert_eq!((posts(&mock).await, gets(&mock).await), (1, 1), "{fault:?}");
    }
}

#[tokio::test]
async fn a_slow_answer_past_the_timeout_is_a_timeout() {
    let mock = MockWechatPay::start().await;
    mock.inject(Fault::Delay(Duration::from_secs(2)), 1);
    let config = TransportConfig {
        attempt_timeout: Duration::from_millis(300),
        retry: RetryPolicy::never(),
        ..TransportConfig::default()
    };
    let (c, _) = client(&mock, config);
    let err = c
        .execute(&create("4208450740201411110000000007"))
        .await
        .expect_err("timeout");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_fate_unknown());
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() {
    let mock = MockWechatPay::start().await;
    let (c, _) = client(
        &mock,
        TransportConfig {
            max_body: 16,
            ..TransportConfig::default()
        },
    );
    let err = c
        .execute(&create("4208450740201411110000000009"))
        .await
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::ResponseTooLarge);
    assert!(err.request_id().is_some());
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    let mock = MockWechatPay::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let core = mock
        .client_builder(mock.client().merchant().clone())
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("core");
    let c = HyperClient::with_config(
        core,
        TransportConfig {
            retry: RetryPolicy::never(),
            ..TransportConfig::default()
        },
    )
    .expect("client");
    let err = c
        .execute(&create("4208450740201411110000000010"))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
    assert!(
        !err.is_fate_unknown(),
        "a refused connection never reached WeChat Pay"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_share_one_client() {
    let mock = MockWechatPay::start().await;
    let (c, _) = client(&mock, TransportConfig::default());
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                c.execute(&create(&format!("42084507402014111100000{i:05}")))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("created");
    }
    assert_eq!(mock.order_count(), 64);
    assert_eq!(posts(&mock).await, 64);
}
