//! Hostile input never crashes the mock, and gets WeChat Pay's error shape where HTTP allows.

mod common;

use common::{assert_error, parse, send, send_raw};
use tokio::io::AsyncWriteExt as _;
use wechatpay_core::{CreateAfterSalesOrder, Scene};
use wechatpay_mock_server::MockWechatPay;

const PATH: &str = "/v3/ecommerce/profitsharing/after-sales-orders";

fn create() -> CreateAfterSalesOrder {
    common::create(Scene::ReturnGoods)
}

/// After whatever came before, a normal signed request still works.
async fn still_serves(mock: &MockWechatPay) {
    let (req, pending) = mock.client().prepare(&create()).expect("prepare");
    pending
        .finish(send(mock.address(), &req).await)
        .expect("the mock still serves");
}

#[tokio::test]
async fn huge_bodies_are_refused_with_wechat_errors() {
    let mock = MockWechatPay::start().await;
    let body = vec![b'x'; 2 * 1024 * 1024];
    let mut raw = format!("POST {PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    raw.extend_from_slice(&body);
    let resp = parse(&send_raw(mock.address(), &raw).await.expect("io"));
    assert_error(&resp, 413, "INVALID_REQUEST");
    still_serves(&mock).await;
}

#[tokio::test]
async fn invalid_utf8_and_malformed_json_are_param_errors() {
    let mock = MockWechatPay::start().await;
    let client = mock.client();
    for bad in [
        &b"{\"sub_mchid\":\"\xff\xfe\"}"[..],
        b"{\"sub_mchid\":",
        b"[1,2,3]",
        b"",
    ] {
        // Sign the hostile body properly, so the mock gets past authentication to the body.
        let (mut req, _p) = client.prepare(&create()).expect("prepare");
        *req.body_mut() = bad.to_vec();
        let key = wechatpay_core::PrivateKey::from_pem(
            wechatpay_mock_server::keys::TEST_MERCHANT_PRIVATE_KEY,
        )
        .expect("key");
        let auth = wechatpay_core::signing::Authorization::parse(
            req.headers()["authorization"].to_str().expect("ascii"),
        )
        .expect("auth");
        let msg = wechatpay_core::signing::request_message(
            "POST",
            PATH,
            &auth.timestamp,
            &auth.nonce_str,
            bad,
        );
        let signed = wechatpay_core::signing::Authorization {
            signature: key.sign_base64(&msg).expect("sign"),
            ..auth
        };
        req.headers_mut().insert(
            "authorization",
            signed.to_header_value().try_into().expect("header"),
        );
        assert_error(&send(mock.address(), &req).await, 400, "PARAM_ERROR");
    }
    assert_eq!(mock.order_count(), 0);
    still_serves(&mock).await;
}

#[tokio::test]
async fn a_truncated_body_does_not_take_the_server_down() {
    let mock = MockWechatPay::start().await;
    let mut stream = tokio::net::TcpStream::connect(mock.address())
        .await
        .expect("connect");
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"sub_mchid\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.shutdown().await.expect("half-close");
    drop(stream);
    still_serves(&mock).await;
}

#[tokio::test]
async fn a_thousand_headers_do_not_take_the_server_down() {
    let mock = MockWechatPay::start().await;
    let mut raw = format!(
        "GET {PATH}?sub_mchid=1&transaction_id=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    );
    for i in 0..1000 {
        raw.push_str(&format!("x-filler-{i}: {i}\r\n"));
    }
    raw.push_str("\r\n");
    let answer = send_raw(mock.address(), raw.as_bytes()).await.expect("io");
    // The HTTP layer refuses the request (431) before WeChat logic runs, as WeChat Pay's own
    // front end would; what matters is a clean answer and a server that keeps serving.
    let resp = parse(&answer);
    assert!(resp.status().is_client_error(), "{}", resp.status());
    still_serves(&mock).await;
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_take_the_server_down() {
    let mock = MockWechatPay::start().await;
    let _ = send_raw(mock.address(), b"\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n").await;
    let _ = send_raw(
        mock.address(),
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    still_serves(&mock).await;
}
