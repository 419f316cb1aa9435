//! The prepare → finish flow against hand-made answers: what `Pending::finish` accepts and
//! refuses, and that no secret leaks into errors or `Debug`.

use std::sync::Arc;

use wechatpay_core::http::{Response, StatusCode};
use wechatpay_core::{
    AfterSalesOrderAccepted, Client, CreateAfterSalesOrder, ErrorKind, FixedClock, KeyRing,
    PrivateKey, QueryAfterSalesOrder, Scene,
};

mod common;

use common::{NOW, merchant, public_key_ring, signed, testdata};

/// Pointed at an address nothing listens on: these tests never send.
fn client() -> Client {
    Client::builder(merchant(), public_key_ring())
        .base_url("http://127.0.0.1:9")
        .clock(Arc::new(FixedClock::new(NOW)))
        .build()
        .expect("client")
}

fn create() -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        Scene::ReturnGoods,
        "50000000382019052709732678859",
    )
}

const ACCEPTED: &str =
    r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100}"#;

#[test]
fn a_signed_answer_is_accepted() {
    let (request, pending) = client().prepare(&create()).expect("prepare");
    assert_eq!(
        request.uri(),
        "http://127.0.0.1:9/v3/ecommerce/profitsharing/after-sales-orders"
    );
    let out = pending
        .finish(signed(200, ACCEPTED, "wechatpay_private_key.pem"))
        .expect("verified");
    assert_eq!(
        out,
        AfterSalesOrderAccepted {
            sub_mchid: "1900000109".into(),
            transaction_id: "4208450740201411110007820472".into(),
            amount: Some(100)
        }
    );
}

#[test]
fn an_answer_signed_by_another_key_is_refused() {
    let (_, pending) = client().prepare(&create()).expect("prepare");
    let err = pending
        .finish(signed(200, ACCEPTED, "platform_private_key.pem"))
        .expect_err("forged");
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    assert_eq!(err.request_id(), Some("RID-1"));
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert!(!err.is_retryable());
}

#[test]
fn a_2xx_without_signature_is_refused_before_parsing() {
    let (_, pending) = client().prepare(&create()).expect("prepare");
    let response = Response::builder()
        .status(200)
        .body(ACCEPTED.as_bytes().to_vec())
        .expect("r");
    let err = pending.finish(response).expect_err("unsigned");
    assert_eq!(err.kind(), ErrorKind::MissingSignature);
}

#[test]
fn a_verified_body_that_is_not_the_expected_json_is_invalid_response() {
    let (_, pending) = client().prepare(&create()).expect("prepare");
    let err = pending
        .finish(signed(200, "{\"amount\":1}", "wechatpay_private_key.pem"))
        .expect_err("shape");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(err.request_id(), Some("RID-1"));
}

#[test]
fn errors_keep_wechat_code_even_when_unsigned() {
    let (_, pending) = client().prepare(&create().query()).expect("prepare");
    let response = Response::builder()
        .status(404)
        .header("Request-ID", "RID-404")
        .body(br#"{"code":"RESOURCE_NOT_EXISTS","message":"record not found"}"#.to_vec())
        .expect("r");
    let err = pending.finish(response).expect_err("404");
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.code(), Some("RESOURCE_NOT_EXISTS"));
    assert_eq!(err.api_message(), Some("record not found"));
    assert_eq!(err.request_id(), Some("RID-404"));
    assert!(!err.is_retryable());
}

#[test]
fn a_202_is_retryable_and_never_parsed() {
    let (_, pending) = client().prepare(&create()).expect("prepare");
    let err = pending
        .finish(signed(202, ACCEPTED, "wechatpay_private_key.pem"))
        .expect_err("202");
    assert_eq!(err.kind(), ErrorKind::Api);
    assert!(err.is_retryable());
}

#[test]
fn invalid_input_is_refused_before_signing() {
    let bad = QueryAfterSalesOrder::new("19000001x9", "42");
    let err = client().prepare(&bad).expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("sub_mchid"));
}

#[test]
fn each_prepare_signs_afresh() {
    // System nonces: two preparations of the same operation differ in nonce and signature.
    let merchant = client().merchant().clone();
    let c = Client::builder(merchant, client().keys().clone())
        .build()
        .expect("client");
    let (a, _) = c.prepare(&create()).expect("a");
    let (b, _) = c.prepare(&create()).expect("b");
    assert_ne!(a.headers()["authorization"], b.headers()["authorization"]);
    assert_eq!(a.body(), b.body());
}

#[test]
fn config_mistakes_are_typed() {
    let merchant = client().merchant().clone();
    let err = Client::builder(merchant.clone(), KeyRing::new())
        .build()
        .expect_err("empty ring");
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = Client::builder(merchant, client().keys().clone())
        .base_url("api.mch.weixin.qq.com")
        .build()
        .expect_err("no scheme");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn no_secret_in_debug_or_errors() {
    let pem = testdata("merchant_private_key.pem");
    // A distinctive slice of the key's base64 body.
    let secret_line = pem.lines().nth(5).expect("a key line").to_owned();
    let c = client();
    let dbg = format!("{c:?} {:?} {:?}", c.merchant(), c.merchant().private_key());
    assert!(!dbg.contains(&secret_line), "{dbg}");
    assert!(!dbg.contains("BEGIN"), "{dbg}");
    // Errors about keys name the problem, never the content.
    let mangled = pem.replace(&secret_line, &secret_line[..secret_line.len() - 4]);
    let err = PrivateKey::from_pem(&mangled).expect_err("mangled");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&secret_line[..20]), "{text}");
    let (_request, pending) = c.prepare(&create()).expect("prepare");
    let dbg = format!("{pending:?}");
    assert!(!dbg.contains(&secret_line[..20]));
}
