//! The two after-sales endpoints of the mock, driven by wechatpay-core's client.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_error, json, send};
use serde_json::json;
use wechatpay_core::http::{self, HeaderValue};
use wechatpay_core::{
    CreateAfterSalesOrder, FailReason, FixedClock, Operation, ProfitSharingResult,
    QueryAfterSalesOrder, Scene,
};
use wechatpay_mock_server::{MockWechatPay, SignWith, keys};

const SUB: &str = "1900000109";
const TX: &str = "4208450740201411110007820472";

fn create() -> CreateAfterSalesOrder {
    common::create(Scene::RefundTicket)
}

#[tokio::test]
async fn create_then_query_until_success() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let (req, pending) = client.prepare(&create()).expect("prepare");
    let accepted = pending
        .finish(send(mock.address(), &req).await)
        .expect("verified");
    assert_eq!(accepted.amount, Some(100));
    assert_eq!(mock.order_count(), 1);

    let (req, pending) = client.prepare(&create().query()).expect("prepare");
    let first = pending
        .finish(send(mock.address(), &req).await)
        .expect("verified");
    assert_eq!(first.result, ProfitSharingResult::Processing);
    assert_eq!(first.finish_time, None);

    let (req, pending) = client.prepare(&create().query()).expect("prepare");
    let second = pending
        .finish(send(mock.address(), &req).await)
        .expect("verified");
    assert_eq!(second.result, ProfitSharingResult::Success);
    assert_eq!(second.amount, 100);
    assert_eq!(second.fail_reason, None);
    let t = second.finish_time.expect("finish_time once final");
    assert_eq!(t.offset().whole_hours(), 8);
}

#[tokio::test]
async fn a_chosen_order_fails_with_its_reason() {
    let mock = MockWechatPay::builder()
        .processing(0, Duration::ZERO)
        .start()
        .await
        .expect("mock");
    mock.fail_order(SUB, TX, FailReason::NoRelation)
        .expect("a plan the sandbox accepts");
    let client = mock.client();
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("created");
    let (req, pending) = client.prepare(&create().query()).expect("prepare");
    let order = pending
        .finish(send(mock.address(), &req).await)
        .expect("verified");
    assert_eq!(order.result, ProfitSharingResult::Failed);
    assert_eq!(order.fail_reason, Some(FailReason::NoRelation));
    // The raw JSON uses WeChat's names and RFC 3339 with +08:00.
    let (req, _p) = client.prepare(&create().query()).expect("prepare");
    let raw = json(&send(mock.address(), &req).await);
    assert_eq!(raw["fail_reason"], "NO_RELATION");
    assert!(
        raw["finish_time"]
            .as_str()
            .expect("string")
            .ends_with("+08:00"),
        "{raw}"
    );
}

#[tokio::test]
async fn processing_lasts_for_the_configured_duration() {
    let clock = Arc::new(FixedClock::new(1_800_000_000));
    let mock = MockWechatPay::builder()
        .clock(clock.clone())
        .processing(0, Duration::from_secs(60))
        .start()
        .await
        .expect("mock");
    let client = mock
        .client_builder(mock.client().merchant().clone())
        .clock(clock.clone())
        .build()
        .expect("client");
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("created");
    let query = |c: &wechatpay_core::Client| c.prepare(&create().query()).expect("prepare");
    clock.advance(59);
    let (req, pending) = query(&client);
    assert_eq!(
        pending
            .finish(send(mock.address(), &req).await)
            .expect("ok")
            .result,
        ProfitSharingResult::Processing
    );
    clock.advance(1);
    let (req, pending) = query(&client);
    let done = pending
        .finish(send(mock.address(), &req).await)
        .expect("ok");
    assert_eq!(done.result, ProfitSharingResult::Success);
    assert_eq!(
        done.finish_time.map(|t| t.unix_timestamp()),
        Some(1_800_000_060)
    );
}

#[tokio::test]
async fn the_same_request_again_gets_the_same_answer_a_different_one_is_refused() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let (req, _p) = client.prepare(&create()).expect("prepare");
    let first = send(mock.address(), &req).await;
    let (req, _p) = client.prepare(&create()).expect("prepare");
    let again = send(mock.address(), &req).await;
    assert_eq!(first.status(), 200);
    assert_eq!(again.status(), 200);
    assert_eq!(first.body(), again.body());
    let changed = CreateAfterSalesOrder {
        amount: 99,
        ..create()
    };
    let (req, _p) = client.prepare(&changed).expect("prepare");
    assert_error(&send(mock.address(), &req).await, 400, "INVALID_REQUEST");
    assert_eq!(mock.order_count(), 1);
    assert_eq!(mock.order(SUB, TX).expect("stored").request.amount, 100);
}

#[tokio::test]
async fn query_rules() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let (req, pending) = client
        .prepare(&QueryAfterSalesOrder::new(
            SUB,
            "4208450740201411110000000000",
        ))
        .expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_error(&resp, 404, "RESOURCE_NOT_EXISTS");
    let err = pending.finish(resp).expect_err("404");
    assert_eq!(err.code(), Some("RESOURCE_NOT_EXISTS"));
    assert!(err.request_id().is_some());

    // Missing parameters: sign a raw request with the core's signer through a custom operation.
    for (pq, field) in [
        (
            format!("{}?sub_mchid={SUB}", wechatpay_core::AFTER_SALES_PATH),
            "transaction_id",
        ),
        (
            format!("{}?transaction_id={TX}", wechatpay_core::AFTER_SALES_PATH),
            "sub_mchid",
        ),
    ] {
        let (req, _p) = client.prepare(&RawGet(pq)).expect("prepare");
        let body = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
        assert_eq!(body["detail"]["field"], field);
    }
}

/// A GET of any path and query, signed like any operation.
struct RawGet(String);

impl Operation for RawGet {
    type Output = serde_json::Value;
    fn method(&self) -> http::Method {
        http::Method::GET
    }
    fn validate(&self) -> Result<(), wechatpay_core::Error> {
        Ok(())
    }
    fn path_and_query(&self) -> Result<String, wechatpay_core::Error> {
        Ok(self.0.clone())
    }
    fn body(&self) -> Result<Vec<u8>, wechatpay_core::Error> {
        Ok(Vec::new())
    }
}

/// A POST of any body, signed like any operation.
struct RawPost(serde_json::Value);

impl Operation for RawPost {
    type Output = serde_json::Value;
    fn method(&self) -> http::Method {
        http::Method::POST
    }
    fn validate(&self) -> Result<(), wechatpay_core::Error> {
        Ok(())
    }
    fn path_and_query(&self) -> Result<String, wechatpay_core::Error> {
        Ok(wechatpay_core::AFTER_SALES_PATH.to_owned())
    }
    fn body(&self) -> Result<Vec<u8>, wechatpay_core::Error> {
        Ok(self.0.to_string().into_bytes())
    }
}

#[tokio::test]
async fn create_is_validated_like_wechat_pay() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let good = json!({"sub_mchid": SUB, "transaction_id": TX, "amount": 100, "type": "SERVICE_FEE_INCOME", "scene": "REFUND_TICKET", "refund_id": "50000000382019052709732678859"});
    let with = |field: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[field] = value;
        v
    };
    let without = |field: &str| {
        let mut v = good.clone();
        v.as_object_mut().expect("object").remove(field);
        v
    };
    let cases = [
        (without("sub_mchid"), "/sub_mchid", "required"),
        (without("amount"), "/amount", "required"),
        (without("refund_id"), "/refund_id", "required"),
        (with("amount", json!("100")), "/amount", "integer"),
        (with("amount", json!(1.5)), "/amount", "integer"),
        (with("amount", json!(0)), "/amount", "positive"),
        (with("amount", json!(-3)), "/amount", "positive"),
        (
            with("amount", serde_json::Value::Null),
            "/amount",
            "integer",
        ),
        (with("sub_mchid", json!(1900000109)), "/sub_mchid", "string"),
        (
            with("sub_mchid", json!("19000001x9")),
            "/sub_mchid",
            "digits",
        ),
        (
            with("transaction_id", json!("4".repeat(33))),
            "/transaction_id",
            "at most 32",
        ),
        (
            with("scene", json!("LOST_TICKET")),
            "/scene",
            "unknown scene",
        ),
        (with("type", json!("OTHER_INCOME")), "/type", "unknown type"),
        (with("refund_id", json!("5😀")), "/refund_id", "1-3 byte"),
    ];
    for (body, pointer, issue) in cases {
        let (req, _p) = client.prepare(&RawPost(body.clone())).expect("prepare");
        let err = assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
        assert_eq!(err["detail"]["field"], pointer, "{body}");
        let text = err["detail"]["issue"].as_str().expect("issue");
        assert!(text.contains(issue), "{body}: {text}");
    }
    assert_eq!(mock.order_count(), 0);
    let (req, _p) = client.prepare(&RawPost(good)).expect("prepare");
    assert_eq!(send(mock.address(), &req).await.status(), 200);
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_every_2xx_is_signed() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    let (req, _p) = client.prepare(&create()).expect("prepare");
    let ok = send(mock.address(), &req).await;
    for name in [
        "request-id",
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-serial",
        "wechatpay-signature",
    ] {
        assert!(ok.headers().contains_key(name), "{name}");
    }
    assert_eq!(
        ok.headers()["wechatpay-signature-type"],
        "WECHATPAY2-SHA256-RSA2048"
    );
    assert_eq!(
        ok.headers()["wechatpay-serial"],
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID
    );
    let (req, _p) = client.prepare(&create().query()).expect("prepare");
    let mut req = req;
    req.headers_mut()
        .insert("authorization", HeaderValue::from_static("nonsense"));
    let err = send(mock.address(), &req).await;
    assert!(err.headers().contains_key("request-id"));
    assert!(!err.headers().contains_key("wechatpay-signature"));
}

#[tokio::test]
async fn answers_can_be_signed_with_the_platform_certificate() {
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .sign_with(SignWith::PlatformCertificate)
        .start()
        .await
        .expect("mock");
    let client = mock.client();
    let (req, pending) = client.prepare(&create()).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_eq!(
        resp.headers()["wechatpay-serial"],
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );
    pending.finish(resp).expect("verifies with the certificate");
    // Switching back at run time.
    mock.sign_with(SignWith::PublicKey).expect("switch");
    let (req, pending) = client.prepare(&create()).expect("prepare");
    let resp = send(mock.address(), &req).await;
    assert_eq!(
        resp.headers()["wechatpay-serial"],
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID
    );
    pending.finish(resp).expect("verifies with the public key");
}

#[tokio::test]
async fn received_requests_can_be_inspected() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    for _ in 0..2 {
        let (req, _p) = client.prepare(&create()).expect("prepare");
        send(mock.address(), &req).await;
    }
    let (req, _p) = client.prepare(&create().query()).expect("prepare");
    send(mock.address(), &req).await;
    assert_eq!(mock.count_after_sales(&http::Method::POST).await, 2);
    assert_eq!(mock.count_after_sales(&http::Method::GET).await, 1);
    let log = mock.received_requests().await;
    assert_eq!(log.len(), 3);
    assert!(log[0].headers.contains_key("authorization"));
}
