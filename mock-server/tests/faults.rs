//! Faults on demand: each one's effect on the wire and on wechatpay-core's verdict.

mod common;

use std::time::{Duration, Instant};

use common::{assert_error, send};
use wechatpay_core::{CreateAfterSalesOrder, ErrorKind, Scene};
use wechatpay_mock_server::{Fault, MockWechatPay, Route};

fn create() -> CreateAfterSalesOrder {
    common::create(Scene::ChangeTicket)
}

#[tokio::test]
async fn short_circuit_faults_leave_no_order_and_are_retryable() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    mock.inject(Fault::SystemError, 1);
    mock.inject(
        Fault::FrequencyLimited {
            retry_after: Some(2),
        },
        1,
    );
    mock.inject(Fault::ServiceUnavailableHtml, 1);

    let (req, pending) = client.prepare(&create()).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_error(&resp, 500, "SYSTEM_ERROR");
    let err = pending.finish(resp).expect_err("500");
    assert!(err.is_retryable());
    assert!(err.request_id().is_some());

    let (req, pending) = client.prepare(&create()).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_error(&resp, 429, "FREQUENCY_LIMITED");
    assert!(pending.finish(resp).expect_err("429").is_retryable());

    let (req, pending) = client.prepare(&create()).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_eq!(resp.status(), 503);
    let err = pending.finish(resp).expect_err("503");
    assert_eq!(err.code(), None);
    assert!(
        err.body_excerpt()
            .is_some_and(|b| b.contains("503 Service Temporarily Unavailable"))
    );
    assert!(err.is_retryable());
    assert_eq!(mock.order_count(), 0);

    // The faults are used up: the next request goes through.
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("normal again");
    assert_eq!(mock.order_count(), 1);
}

#[tokio::test]
async fn signature_faults_are_caught_by_the_client_after_processing() {
    let cases = [
        (Fault::BrokenSignature, ErrorKind::SignatureMismatch),
        (Fault::StaleTimestamp, ErrorKind::TimestampSkew),
        (Fault::UnknownSerial, ErrorKind::UnknownSerial),
        (Fault::SignatureProbe, ErrorKind::SignatureProbe),
        (Fault::MissingSignature, ErrorKind::MissingSignature),
    ];
    for (fault, kind) in cases {
        let mock = MockWechatPay::start().await;
        let client = mock.client();
        mock.inject(fault.clone(), 1);
        let (req, pending) = client.prepare(&create()).expect("prepare");
        let resp = send(mock.address(), &req).await;
        assert_eq!(resp.status(), 200, "{fault:?}");
        let err = pending.finish(resp).expect_err("must not verify");
        assert_eq!(err.kind(), kind, "{fault:?}: {err}");
        assert!(!err.is_retryable());
        assert!(err.request_id().is_some(), "{fault:?}");
        // The request itself was processed.
        assert_eq!(mock.order_count(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn faults_can_target_a_route_and_a_count() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    mock.inject_on(Route::QueryAfterSales, Fault::SystemError, 2);
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("create is not targeted");
    for _ in 0..2 {
        let (req, _p) = client.prepare(&create().query()).expect("prepare");
        assert_error(&send(mock.address(), &req).await, 500, "SYSTEM_ERROR");
    }
    let (req, pending) = client.prepare(&create().query()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("third query is normal");
}

#[tokio::test]
async fn a_delay_holds_the_answer_back() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    mock.inject(Fault::Delay(Duration::from_millis(400)), 1);
    let (req, pending) = client.prepare(&create()).expect("prepare");
    #[allow(clippy::disallowed_methods, reason = "measuring the injected delay")]
    let started = Instant::now();
    let resp = send(mock.address(), &req).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    pending.finish(resp).expect("delayed but valid");
}
