//! The notification receiver examples (`examples/notify_axum.rs`, `examples/notify_hyper.rs`),
//! served on 127.0.0.1:0 and sent notifications the mock WeChat Pay builds and signs: a valid
//! one is acknowledged and handled; the same one again is acknowledged and not handled twice; a
//! tampered body is refused with 401; a re-serialised body is refused, saying so; in
//! certificate mode, an unknown serial makes the client download the certificates first; and
//! the mock's own delivery (`MockWechatPay::notify`, what `POST /mock/notifications` does)
//! gets its acknowledgement.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/notify_axum.rs"]
mod notify_axum;
#[allow(dead_code)]
#[path = "../examples/notify_hyper.rs"]
mod notify_hyper;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::http::{Request, StatusCode};
use wechatpay_core::notification::ProfitSharingNotification;
use wechatpay_core::{Client, Clock as _, KeyRing, PrivateKey, SystemClock, signing};
use wechatpay_mock_server::{MockWechatPay, NotificationSpec, keys};
use wechatpay_transport_hyper::HyperClient;

/// A profit-sharing resource as WeChat Pay sends it.
fn resource(amount: i64) -> serde_json::Value {
    serde_json::json!({
        "sp_mchid": "1900000100",
        "sub_mchid": "1900000109",
        "transaction_id": "4208450740201411110007820472",
        "order_id": "3008450740201411110007820472",
        "out_order_no": "P20150806125346",
        "receiver": {
            "type": "MERCHANT_ID",
            "account": "1900000110",
            "amount": amount,
            "description": "分给商户1900000110",
        },
        "success_time": "2026-11-24T10:34:56+08:00",
    })
}

/// A notification from `mock`, as WeChat Pay POSTs it: signed now by the key that signs
/// its answers, the resource encrypted with the test merchant's APIv3 key.
fn notification(mock: &MockWechatPay) -> Request<Vec<u8>> {
    mock.notification_request(&resource(888))
}

/// The notification's id, from its body.
fn id_of(request: &Request<Vec<u8>>) -> String {
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A client trusting what `mock` trusts (public-key mode; it calls nothing here).
fn client_of(mock: &MockWechatPay) -> HyperClient {
    HyperClient::new(mock.client()).unwrap()
}

/// One example under test: starts it on 127.0.0.1:0 with `client`, and reads what it credited.
trait Example {
    fn start(
        client: HyperClient,
    ) -> impl Future<Output = (SocketAddr, Box<dyn Fn() -> Vec<String>>)>;
}

struct Axum;
struct Hyper;

impl Example for Axum {
    async fn start(client: HyperClient) -> (SocketAddr, Box<dyn Fn() -> Vec<String>>) {
        let state = notify_axum::AppState::new(client, keys::test_apiv3_key());
        let store = state.store();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(notify_axum::serve(listener, state));
        let credited = move || {
            let store = store.lock().unwrap();
            store.credited.iter().map(|(id, _)| id.clone()).collect()
        };
        (address, Box::new(credited))
    }
}

impl Example for Hyper {
    async fn start(client: HyperClient) -> (SocketAddr, Box<dyn Fn() -> Vec<String>>) {
        let state = notify_hyper::AppState::new(client, keys::test_apiv3_key());
        let store = state.store();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(notify_hyper::serve(listener, state));
        let credited = move || {
            let store = store.lock().unwrap();
            store.credited.iter().map(|(id, _)| id.clone()).collect()
        };
        (address, Box::new(credited))
    }
}

/// POSTs `request` to the example at `address`, at its notify URL; the answer's status and
/// JSON body.
async fn deliver(
    address: SocketAddr,
    request: Request<Vec<u8>>,
) -> (StatusCode, serde_json::Value) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let (mut parts, body) = request.into_parts();
    // The examples' notify URL (the mock builds its requests for `/notify`).
    parts.uri = format!("http://{address}{}", notify_axum::NOTIFY_PATH)
        .parse()
        .unwrap();
    let response = client
        .request(Request::from_parts(parts, Full::from(body)))
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("a JSON answer, not {:?}", String::from_utf8_lossy(&body)));
    (status, json)
}

type Run = Pin<Box<dyn Future<Output = ()>>>;

/// Every case, against example `E`.
fn cases<E: Example + 'static>() -> Vec<(&'static str, Run)> {
    vec![
        (
            "valid",
            Box::pin(a_valid_notification_is_acknowledged::<E>()) as Run,
        ),
        ("twice", Box::pin(the_same_id_twice_is_handled_once::<E>())),
        (
            "tampered",
            Box::pin(a_tampered_body_is_refused_with_401::<E>()),
        ),
        (
            "re-serialised",
            Box::pin(a_re_serialised_body_is_refused_saying_so::<E>()),
        ),
        (
            "delivered by the mock",
            Box::pin(the_mock_delivery_is_acknowledged::<E>()),
        ),
    ]
}

async fn a_valid_notification_is_acknowledged<E: Example>() {
    let mock = MockWechatPay::start().await;
    let (address, credited) = E::start(client_of(&mock)).await;
    let request = notification(&mock);
    let id = id_of(&request);
    let (status, answer) = deliver(address, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, serde_json::json!({"code": "SUCCESS"}));
    assert_eq!(credited(), [id]);
}

async fn the_same_id_twice_is_handled_once<E: Example>() {
    let mock = MockWechatPay::start().await;
    let (address, credited) = E::start(client_of(&mock)).await;
    let first = notification(&mock);
    let id = id_of(&first);
    for _ in 0..2 {
        // WeChat Pay delivers the same notification again until (and sometimes after) it
        // gets a 200.
        let (status, answer) = deliver(address, first.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["code"], "SUCCESS");
    }
    let other = notification(&mock);
    let other_id = id_of(&other);
    assert_ne!(other_id, id);
    let (status, _) = deliver(address, other).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(credited(), [id, other_id]);
}

async fn a_tampered_body_is_refused_with_401<E: Example>() {
    let mock = MockWechatPay::start().await;
    let (address, credited) = E::start(client_of(&mock)).await;
    let request = notification(&mock);
    let id = id_of(&request);
    let (parts, body) = request.into_parts();
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace(&id, &format!("{id}0"));
    let (status, answer) =
        deliver(address, Request::from_parts(parts, tampered.into_bytes())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["code"], "FAIL");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("signature does not match"),
        "{answer}"
    );
    assert!(credited().is_empty());
}

async fn a_re_serialised_body_is_refused_saying_so<E: Example>() {
    let mock = MockWechatPay::start().await;
    let (address, credited) = E::start(client_of(&mock)).await;
    let (parts, body) = notification(&mock).into_parts();
    // What a framework's JSON extractor and serialiser would make of it.
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let (status, answer) = deliver(address, Request::from_parts(parts, pretty)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["code"], "FAIL");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("re-serialised"),
        "{answer}"
    );
    assert!(credited().is_empty());
}

/// The mock delivers to the example's URL over HTTP, as `POST /mock/notifications` does for
/// the running example, and records the answer.
async fn the_mock_delivery_is_acknowledged<E: Example>() {
    let mock = MockWechatPay::start().await;
    let (address, credited) = E::start(client_of(&mock)).await;
    let url = format!("http://{address}{}", notify_axum::NOTIFY_PATH);
    let id = mock
        .notify(&url, &NotificationSpec::new(resource(888)))
        .unwrap();
    let mut waited = Duration::ZERO;
    let delivery = loop {
        let deliveries = mock.notifications();
        if let Some(d) = deliveries.into_iter().find(|d| d.id == id && d.delivered) {
            break d;
        }
        assert!(waited < Duration::from_secs(10), "not delivered in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    };
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status, Some(200));
    assert!(delivery.attempts[0].acknowledged);
    assert_eq!(credited(), [id]);
}

#[tokio::test]
async fn the_axum_example_keeps_the_rules() {
    for (name, case) in cases::<Axum>() {
        eprintln!("axum: {name}");
        case.await;
    }
}

#[tokio::test]
async fn the_hyper_example_keeps_the_rules() {
    for (name, case) in cases::<Hyper>() {
        eprintln!("hyper: {name}");
        case.await;
    }
}

/// A mock in certificate mode (its platform certificate signs), and a client in certificate
/// mode that holds no key yet.
async fn certificate_mode() -> (MockWechatPay, HyperClient) {
    let mock = MockWechatPay::builder()
        .test_certificate_mode()
        .start()
        .await
        .unwrap();
    let core = Client::builder(mock.client().merchant().clone(), KeyRing::new())
        .base_url(mock.base_url())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .unwrap();
    (mock, HyperClient::new(core).unwrap())
}

/// `request`'s body signed again now by a key the mock does not publish, named by a serial no
/// one knows (the mock signs only with keys it publishes).
fn signed_by_a_stranger(request: Request<Vec<u8>>) -> Request<Vec<u8>> {
    let (mut parts, body) = request.into_parts();
    let timestamp = SystemClock.now_unix().to_string();
    let nonce = keys::random_hex(32);
    let signature = PrivateKey::from_pem(keys::TEST_PLATFORM_PRIVATE_KEY_2)
        .unwrap()
        .sign_base64(&signing::response_message(&timestamp, &nonce, &body))
        .unwrap();
    for (name, value) in [
        ("wechatpay-timestamp", timestamp),
        ("wechatpay-nonce", nonce),
        ("wechatpay-signature", signature),
        (
            "wechatpay-serial",
            "1E2D3C4B5A69788796A5B4C3D2E1F00112233445".to_owned(),
        ),
    ] {
        parts.headers.insert(name, value.parse().unwrap());
    }
    Request::from_parts(parts, body)
}

#[tokio::test]
async fn an_unknown_serial_makes_a_certificate_mode_client_download_first() {
    for example in ["axum", "hyper"] {
        let (mock, client) = certificate_mode().await;
        assert!(client.core().keys().is_empty());
        let (address, credited) = match example {
            "axum" => Axum::start(client.clone()).await,
            _ => Hyper::start(client.clone()).await,
        };
        let request = notification(&mock);
        assert_eq!(
            request.headers()["wechatpay-serial"],
            keys::TEST_PLATFORM_SERIAL
        );
        let id = id_of(&request);
        let (status, answer) = deliver(address, request).await;
        assert_eq!(status, StatusCode::OK, "{example}: {answer}");
        assert_eq!(credited(), [id], "{example}");
        assert!(
            client
                .core()
                .keys()
                .serials()
                .contains(&keys::TEST_PLATFORM_SERIAL.to_owned()),
            "{example}"
        );
        // Signed by a key WeChat Pay does not publish: refused with 500 after one more
        // download (this side cannot verify it; WeChat Pay would retry).
        let stranger = signed_by_a_stranger(notification(&mock));
        let (status, answer) = deliver(address, stranger).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{example}: {answer}"
        );
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("no trusted key has the serial"),
            "{example}: {answer}"
        );
    }
}

#[test]
fn the_resource_is_the_shape_core_parses() {
    let parsed: ProfitSharingNotification = serde_json::from_value(resource(888)).unwrap();
    assert_eq!(parsed.receiver.amount, 888);
}
