//! `GET after-sales-orders` through the blocking transport, against the mock.

mod common;

use common::{Harness, SUB, create};
use wechatpay_core::TransportConfig;
use wechatpay_core::{FailReason, ProfitSharingResult, QueryAfterSalesOrder};
use wechatpay_mock_server::MockWechatPay;

#[test]
fn query_until_success() {
    let h = Harness::start(MockWechatPay::builder().processing(2, std::time::Duration::ZERO));
    let client = h.client(TransportConfig::default());
    let op = create("4208450740201411110000000101");
    client.execute(&op).expect("created");
    let mut results = Vec::new();
    loop {
        let order = client.execute(&op.query()).expect("query");
        results.push(order.result.clone());
        if order.is_final() {
            assert!(order.finish_time.is_some());
            break;
        }
    }
    assert_eq!(
        results,
        [
            ProfitSharingResult::Processing,
            ProfitSharingResult::Processing,
            ProfitSharingResult::Success
        ]
    );
}

#[test]
fn query_until_failed_with_its_reason() {
    let h = Harness::start(MockWechatPay::builder());
    let tx = "4208450740201411110000000102";
    h.mock
        .fail_order(SUB, tx, FailReason::ReceiverHighRisk)
        .expect("a plan the sandbox accepts");
    let client = h.client(TransportConfig::default());
    client.execute(&create(tx)).expect("created");
    let first = client
        .execute(&QueryAfterSalesOrder::new(SUB, tx))
        .expect("query");
    assert_eq!(first.result, ProfitSharingResult::Processing);
    let second = client
        .execute(&QueryAfterSalesOrder::new(SUB, tx))
        .expect("query");
    assert_eq!(second.result, ProfitSharingResult::Failed);
    assert_eq!(second.fail_reason, Some(FailReason::ReceiverHighRisk));
}

#[test]
fn an_unknown_order_is_404_and_not_retried() {
    let h = Harness::start(MockWechatPay::builder());
    let err = h
        .client(TransportConfig::default())
        .execute(&QueryAfterSalesOrder::new(
            SUB,
            "4208450740201411110000000103",
        ))
        .expect_err("404");
    assert_eq!(err.code(), Some("RESOURCE_NOT_EXISTS"));
    assert!(!err.is_retryable());
    assert_eq!(h.gets(), 1);
}
