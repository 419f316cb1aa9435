//! Authentication as WeChat Pay does it, including requests signed by hand with the shared
//! vectors' merchant key and header fields in another order than core writes them.

mod common;

use std::sync::Arc;

use common::{assert_error, parse, send, send_raw};
use wechatpay_core::http::HeaderValue;
use wechatpay_core::{CreateAfterSalesOrder, FixedClock, PrivateKey, Scene, signing};
use wechatpay_mock_server::{MockWechatPay, keys};

const PATH: &str = "/v3/ecommerce/profitsharing/after-sales-orders";
const BODY: &str = r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"type":"SERVICE_FEE_INCOME","scene":"REFUND_TICKET","refund_id":"50000000382019052709732678859"}"#;

/// Writes an `Authorization` value from timestamp, nonce and signature.
type AuthFn = dyn Fn(&str, &str, &str) -> String;

/// A request built by hand, as another language's client would: its own header order,
/// spacing and capitalisation.
fn hand_signed(now: i64, authorization: impl Fn(&str, &str, &str) -> String) -> Vec<u8> {
    let key = PrivateKey::from_pem(keys::TEST_MERCHANT_PRIVATE_KEY).expect("key");
    let ts = now.to_string();
    let nonce = "593BEC0C930BF1AFEB40B4A08C8FB242";
    let sig = key
        .sign_base64(&signing::request_message(
            "POST",
            PATH,
            &ts,
            nonce,
            BODY.as_bytes(),
        ))
        .expect("sign");
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nContent-Type: application/json; charset=utf-8\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{BODY}",
        authorization(&ts, nonce, &sig),
        BODY.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn fields_in_any_order_from_any_client_are_accepted() {
    let clock = Arc::new(FixedClock::new(1_800_000_000));
    let mock = MockWechatPay::builder()
        .clock(clock)
        .start()
        .await
        .expect("mock");
    let orders: [&AuthFn; 2] = [
        &|ts, nonce, sig| {
            format!(
                r#"WECHATPAY2-SHA256-RSA2048 signature="{sig}",timestamp="{ts}",serial_no="{}",nonce_str="{nonce}",mchid="{}""#,
                keys::TEST_MERCHANT_SERIAL,
                keys::TEST_MCHID
            )
        },
        &|ts, nonce, sig| {
            format!(
                r#"WECHATPAY2-SHA256-RSA2048 nonce_str="{nonce}", mchid="{}", signature="{sig}", serial_no="{}", timestamp="{ts}""#,
                keys::TEST_MCHID,
                keys::TEST_MERCHANT_SERIAL
            )
        },
    ];
    for auth in orders {
        let resp = parse(
            &send_raw(mock.address(), &hand_signed(1_800_000_000, auth))
                .await
                .expect("io"),
        );
        assert_eq!(
            resp.status(),
            200,
            "{:?}",
            String::from_utf8_lossy(resp.body())
        );
    }
}

async fn expect_sign_error(mock: &MockWechatPay, raw: Vec<u8>, says: &str) {
    let resp = parse(&send_raw(mock.address(), &raw).await.expect("io"));
    let body = assert_error(&resp, 401, "SIGN_ERROR");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains(says), "expected {says:?} in {message:?}");
}

#[tokio::test]
async fn each_authentication_failure_is_a_401_that_says_which_check_failed() {
    let now = 1_800_000_000;
    let mock = MockWechatPay::builder()
        .clock(Arc::new(FixedClock::new(now)))
        .start()
        .await
        .expect("mock");
    let serial = keys::TEST_MERCHANT_SERIAL;
    let mchid = keys::TEST_MCHID;
    let standard = move |mchid: &'static str, serial: &'static str| {
        move |ts: &str, nonce: &str, sig: &str| {
            format!(
                r#"WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",serial_no="{serial}",timestamp="{ts}",nonce_str="{nonce}",signature="{sig}""#
            )
        }
    };
    expect_sign_error(
        &mock,
        hand_signed(now, |_, _, _| "Bearer abc".into()),
        "scheme",
    )
    .await;
    expect_sign_error(
        &mock,
        hand_signed(now, |ts, nonce, _| format!(r#"WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",serial_no="{serial}",timestamp="{ts}",nonce_str="{nonce}""#)),
        "signature is missing",
    )
    .await;
    expect_sign_error(
        &mock,
        hand_signed(now, standard("1230000109", keys::TEST_MERCHANT_SERIAL)),
        "not a known merchant",
    )
    .await;
    expect_sign_error(
        &mock,
        hand_signed(now, standard(keys::TEST_MCHID, "ABCDEF")),
        "serial_no",
    )
    .await;
    expect_sign_error(
        &mock,
        hand_signed(
            now - 301,
            standard(keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL),
        ),
        "away from the server clock",
    )
    .await;
    expect_sign_error(
        &mock,
        hand_signed(
            now + 301,
            standard(keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL),
        ),
        "away from the server clock",
    )
    .await;
    // Within the window both ways.
    for ts in [now - 300, now + 300] {
        let resp = parse(
            &send_raw(
                mock.address(),
                &hand_signed(ts, standard(keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL)),
            )
            .await
            .expect("io"),
        );
        assert_eq!(resp.status(), 200);
    }
    // A body changed after signing.
    let tampered = String::from_utf8(hand_signed(
        now,
        standard(keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL),
    ))
    .expect("utf8")
    .replace("\"amount\":100", "\"amount\":900");
    expect_sign_error(&mock, tampered.into_bytes(), "does not verify").await;
    // No Authorization at all.
    let client = mock
        .client_builder(mock.client().merchant().clone())
        .clock(Arc::new(FixedClock::new(now)))
        .build()
        .expect("client");
    let (mut req, _p) = client.prepare(&create()).expect("prepare");
    req.headers_mut().remove("authorization");
    let body = assert_error(&send(mock.address(), &req).await, 401, "SIGN_ERROR");
    assert!(body["message"].as_str().expect("m").contains("missing"));
    assert_eq!(
        mock.order_count(),
        1,
        "only the in-window requests created the order (both the same one)"
    );
}

fn create() -> CreateAfterSalesOrder {
    common::create(Scene::RefundTicket)
}

#[tokio::test]
async fn a_mock_clock_ahead_of_the_client_rejects_its_requests() {
    let mock_clock = Arc::new(FixedClock::new(1_800_000_000));
    let mock = MockWechatPay::builder()
        .clock(mock_clock.clone())
        .start()
        .await
        .expect("mock");
    let client = mock
        .client_builder(mock.client().merchant().clone())
        .clock(Arc::new(FixedClock::new(1_800_000_000)))
        .build()
        .expect("client");
    mock_clock.advance(6 * 60);
    let (req, pending) = client.prepare(&create()).expect("prepare");
    let err = pending
        .finish(send(mock.address(), &req).await)
        .expect_err("skewed");
    assert_eq!(err.code(), Some("SIGN_ERROR"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn missing_user_agent_or_accept_is_invalid_request() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    for header in ["user-agent", "accept"] {
        let (mut req, _p) = client.prepare(&create()).expect("prepare");
        req.headers_mut().remove(header);
        assert_error(&send(mock.address(), &req).await, 400, "INVALID_REQUEST");
    }
    let (mut req, _p) = client.prepare(&create()).expect("prepare");
    req.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    assert_error(&send(mock.address(), &req).await, 400, "INVALID_REQUEST");
    assert_eq!(mock.order_count(), 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_wechat_errors() {
    let mock = MockWechatPay::start().await;
    let raw = |method: &str, path: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    };
    let resp = parse(
        &send_raw(mock.address(), &raw("GET", "/v3/nothing/here"))
            .await
            .expect("io"),
    );
    assert_error(&resp, 404, "NOT_FOUND");
    let resp = parse(
        &send_raw(mock.address(), &raw("DELETE", PATH))
            .await
            .expect("io"),
    );
    assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
}
