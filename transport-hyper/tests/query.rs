//! `GET after-sales-orders` through the hyper transport, against the mock.

mod common;

use common::{SUB, client, create, gets};
use wechatpay_core::TransportConfig;
use wechatpay_core::{FailReason, ProfitSharingResult, QueryAfterSalesOrder};
use wechatpay_mock_server::MockWechatPay;

#[tokio::test]
async fn query_until_success() {
    let mock = MockWechatPay::builder()
        .processing(2, std::time::Duration::ZERO)
        .start()
        .await
        .expect("mock");
    let (c, _) = client(&mock, TransportConfig::default());
    let op = create("4208450740201411110000000101");
    c.execute(&op).await.expect("created");
    let mut results = Vec::new();
    loop {
        let order = c.execute(&op.query()).await.expect("query");
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

#[tokio::test]
async fn query_until_failed_with_its_reason() {
    let mock = MockWechatPay::start().await;
    let tx = "4208450740201411110000000102";
    mock.fail_order(SUB, tx, FailReason::AccountAbnormal)
        .expect("a plan the sandbox accepts");
    let (c, _) = client(&mock, TransportConfig::default());
    c.execute(&create(tx)).await.expect("created");
    assert_eq!(
        c.execute(&QueryAfterSalesOrder::new(SUB, tx))
            .await
            .expect("q")
            .result,
        ProfitSharingResult::Processing
    );
    let done = c
        .execute(&QueryAfterSalesOrder::new(SUB, tx))
        .await
        .expect("q");
    assert_eq!(done.result, ProfitSharingResult::Failed);
    assert_eq!(done.fail_reason, Some(FailReason::AccountAbnormal));
}

#[tokio::test]
async fn an_unknown_order_is_404_and_not_retried() {
    let mock = MockWechatPay::start().await;
    let (c, _) = client(&mock, TransportConfig::default());
    let err = c
        .execute(&QueryAfterSalesOrder::new(
            SUB,
            "4208450740201411110000000103",
        ))
        .await
        .expect_err("404");
    assert_eq!(err.code(), Some("RESOURCE_NOT_EXISTS"));
    assert!(!err.is_retryable());
    assert_eq!(gets(&mock).await, 1);
}
