//! Webhook notifications from the mock: built in-process and verified by core's
//! `NotificationVerifier`; delivered by the standalone binary to a tiny receiver on 127.0.0.1
//! that fails the first attempt and acknowledges the second; the control API's refusals.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_error, json, send};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use wechatpay_conformance::sandbox::Standalone;
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::http::{self, HeaderMap, HeaderName, HeaderValue};
use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
use wechatpay_core::{DecryptProblem, ErrorKind, KeyRing};
use wechatpay_mock_server::{MockWechatPay, NotificationSpec, SignWith, keys};

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-mock-server");

fn resource() -> serde_json::Value {
    json!({
        "sp_mchid": "1900000100",
        "sub_mchid": "1900000109",
        "transaction_id": "4208450740201411110007820472",
        "order_id": "3008450740201411110007820472",
        "out_order_no": "P20150806125346",
        "receiver": {
            "type": "MERCHANT_ID",
            "account": "1900000110",
            "amount": 888,
            "description": "分给商户1900000110"
        },
        "success_time": "2026-11-24T10:34:56+08:00"
    })
}

#[tokio::test]
async fn an_in_process_notification_verifies_with_core_and_carries_wechat_pays_envelope() {
    let mock = MockWechatPay::start().await;
    let request = mock.notification_request(&resource());
    assert_eq!(request.method(), http::Method::POST);
    let h = |name: &str| request.headers()[name].to_str().expect("ascii").to_owned();
    assert_eq!(h("wechatpay-signature-type"), "WECHATPAY2-SHA256-RSA2048");
    assert_eq!(h("wechatpay-serial"), keys::TEST_WECHATPAY_PUBLIC_KEY_ID);
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(h("wechatpay-nonce").len(), 32);
    assert!(!h("request-id").is_empty());

    let envelope: serde_json::Value = serde_json::from_slice(request.body()).expect("json");
    assert!(
        envelope["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("EV-"))
    );
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(envelope["summary"], "分账");
    assert!(
        envelope["create_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00"))
    );
    let r = &envelope["resource"];
    assert_eq!(r["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(r["associated_data"], "transaction");
    assert_eq!(r["original_type"], "profitsharing");
    assert_eq!(r["nonce"].as_str().map(str::len), Some(12));
    // WeChat Pay's bytes: field order as it sends them, no white space.
    let text = std::str::from_utf8(request.body()).expect("utf8");
    assert!(text.starts_with(r#"{"id":"EV-"#), "{text}");
    assert!(!text.contains(' '), "{text}");

    let key = mock.apiv3_key(keys::TEST_MCHID).expect("key");
    let verifier = NotificationVerifier::new(mock.trusted_keys(), key);
    let n = verifier
        .verify::<ProfitSharingNotification, _>(&request)
        .expect("verified");
    assert_eq!(n.original_type, "profitsharing");
    assert_eq!(n.resource.receiver.amount, 888);
    assert_eq!(n.resource.order_id, "3008450740201411110007820472");
    assert_eq!(n.id, envelope["id"]);
    // The test merchant's key is the embedded one.
    let with_test_key = NotificationVerifier::new(mock.trusted_keys(), keys::test_apiv3_key());
    assert!(
        with_test_key
            .verify::<serde_json::Value, _>(&request)
            .is_ok()
    );

    // Each notification is new: another id, another ciphertext.
    let again = mock.notification_request(&resource());
    assert_ne!(again.body(), request.body());
}

#[tokio::test]
async fn other_merchants_event_types_and_signing_keys() {
    let mock = MockWechatPay::builder()
        .test_platform_certificate()
        .start()
        .await
        .expect("mock");
    let other = keys::generate_key_pair().expect("key pair");
    mock.add_merchant(
        "1900000200",
        "4775B6A45ACD588826D15E583A95F5DD00000002",
        wechatpay_core::PublicKey::from_pem(&other.public_pem).expect("public"),
    );
    let spec = NotificationSpec::new(json!({"out_refund_no": "R1"}))
        .mchid("1900000200")
        .event_type("REFUND.SUCCESS")
        .original_type("refund")
        .associated_data("refund");
    mock.sign_with(SignWith::PlatformCertificate)
        .expect("platform");
    let request = mock.notification_request_with(&spec).expect("built");
    assert_eq!(
        request.headers()["wechatpay-serial"],
        keys::TEST_PLATFORM_SERIAL
    );
    let key = mock.apiv3_key("1900000200").expect("a generated key");
    let n = NotificationVerifier::new(mock.trusted_keys(), key)
        .verify::<serde_json::Value, _>(&request)
        .expect("verified");
    assert_eq!(n.event_type, "REFUND.SUCCESS");
    assert_eq!(n.summary, "REFUND.SUCCESS");
    assert_eq!(n.resource["out_refund_no"], "R1");
    // Another merchant's key does not open it.
    let err = NotificationVerifier::new(mock.trusted_keys(), keys::test_apiv3_key())
        .verify::<serde_json::Value, _>(&request)
        .expect_err("wrong key");
    assert_eq!(err.kind(), ErrorKind::Decrypt);
    assert_eq!(err.decrypt_problem(), Some(DecryptProblem::Tag));

    let unknown = mock
        .notification_request_with(&NotificationSpec::new(json!({})).mchid("1234"))
        .expect_err("unknown merchant");
    assert_eq!(unknown.field(), Some("mchid"));
}

/// The requests a receiver got: headers and raw body.
type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on 127.0.0.1 that answers its connections with `answers` in turn (the last one
/// for ever) and keeps each request's headers and body.
struct Receiver {
    url: String,
    seen: Seen,
}

async fn receiver(answers: Vec<(u16, &'static str)>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/wechatpay/notify",
        listener.local_addr().expect("addr")
    );
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut served = 0usize;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let Some((headers, body)) = read_request(&mut stream).await else {
                continue;
            };
            kept.lock().expect("lock").push((headers, body));
            let (status, answer) = answers[served.min(answers.len() - 1)];
            served += 1;
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    Receiver { url, seen }
}

/// Reads one request: its headers and its Content-Length body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(HeaderMap, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = std::str::from_utf8(&raw[..head_end]).ok()?.to_owned();
    let mut headers = HeaderMap::new();
    for line in head.split("\r\n").skip(1) {
        let (k, v) = line.split_once(':')?;
        headers.append(
            HeaderName::from_bytes(k.trim().as_bytes()).ok()?,
            HeaderValue::from_str(v.trim()).ok()?,
        );
    }
    let len: usize = headers.get("content-length")?.to_str().ok()?.parse().ok()?;
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((headers, body))
}

/// A control API call to a mock at `addr`.
async fn control(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> http::Response<Vec<u8>> {
    let mut builder = http::Request::builder().method(method).uri(path);
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let req = builder
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .expect("request");
    send(addr, &req).await
}

/// Polls `GET /mock/notifications` until delivery `id` is delivered or has given up.
async fn settled(addr: std::net::SocketAddr, id: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let list = json(&control(addr, "GET", "/mock/notifications", None).await);
        let found = list["notifications"]
            .as_array()
            .and_then(|all| all.iter().find(|d| d["id"] == id).cloned())
            .unwrap_or_else(|| panic!("delivery {id} in {list}"));
        if found["delivered"] == true || found["gave_up"] == true {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not settled in 30 s: {found}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_standalone_mock_retries_until_the_receiver_acknowledges() {
    let hook = receiver(vec![
        (500, r#"{"code":"FAIL","message":"not yet"}"#),
        (200, r#"{"code":"SUCCESS"}"#),
    ])
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let keys_dir = dir.path().to_str().expect("utf8");
    let mock = Standalone::start(
        std::path::Path::new(BIN),
        &[
            "--keys-dir",
            keys_dir,
            "--quiet",
            "--notify-time-scale",
            "0.001",
        ],
        Stdio::null(),
    )
    .expect("the mock starts");
    let ready = mock.ready().clone();
    let apiv3 = ready["apiv3_key"]
        .as_str()
        .expect("apiv3_key in the readiness line");
    assert_eq!(apiv3.len(), 32);
    assert_eq!(ready["notify_time_scale"], 0.001);
    let addr = mock
        .base_url()
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("address");

    // The merchants control API shows the same key.
    let merchants = json(&control(addr, "GET", "/mock/merchants", None).await);
    assert_eq!(merchants["merchants"][0]["mchid"], keys::TEST_MCHID);
    assert_eq!(merchants["merchants"][0]["apiv3_key"], apiv3);
    assert_eq!(merchants["merchants"][0]["certificate_mode"], false);

    let resp = control(
        addr,
        "POST",
        "/mock/notifications",
        Some(json!({ "url": hook.url, "resource": resource() })),
    )
    .await;
    assert_eq!(
        resp.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(resp.body())
    );
    let created = json(&resp);
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["url"], hook.url.as_str());
    assert_eq!(created["mchid"], keys::TEST_MCHID);

    let delivery = settled(addr, &id).await;
    assert_eq!(delivery["delivered"], true, "{delivery}");
    assert_eq!(delivery["gave_up"], false, "{delivery}");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{delivery}");
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[0]["acknowledged"], false);
    assert_eq!(attempts[1]["status"], 200);
    assert_eq!(attempts[1]["acknowledged"], true);

    // What arrived: the same notification twice, each attempt signed afresh, and it verifies
    // with the WeChat Pay public key and the APIv3 key of the readiness line.
    let seen = hook.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, seen[1].1, "the same bytes on every attempt");
    assert_ne!(
        seen[0].0["wechatpay-nonce"], seen[1].0["wechatpay-nonce"],
        "each attempt is signed afresh"
    );
    let public = std::fs::read_to_string(
        ready["wechatpay_public_key"]
            .as_str()
            .expect("public key path"),
    )
    .expect("public key");
    let ring = KeyRing::new()
        .with_wechatpay_public_key_pem(
            ready["wechatpay_public_key_id"].as_str().expect("id"),
            &public,
        )
        .expect("ring");
    let verifier = NotificationVerifier::new(ring, ApiV3Key::new(apiv3).expect("key"));
    for (headers, body) in &seen {
        let mut request = http::Request::post("/wechatpay/notify")
            .body(body.clone())
            .expect("request");
        *request.headers_mut() = headers.clone();
        let n = verifier
            .verify::<ProfitSharingNotification, _>(&request)
            .expect("verified");
        assert_eq!(n.id, id);
        assert_eq!(n.resource.receiver.account, "1900000110");
    }
}

#[tokio::test]
async fn the_control_api_refuses_bad_notification_requests() {
    let mock = MockWechatPay::start().await;
    let addr = mock.address();
    let url = "http://127.0.0.1:9/notify";
    for (body, field) in [
        (
            json!({ "url": url, "resource": {}, "colour": "red" }),
            "colour",
        ),
        (json!({ "resource": {} }), "url"),
        (
            json!({ "url": "https://127.0.0.1/n", "resource": {} }),
            "url",
        ),
        (json!({ "url": "not a url", "resource": {} }), "url"),
        (json!({ "url": url }), "resource"),
        (json!({ "url": url, "resource": [1, 2] }), "resource"),
        (
            json!({ "url": url, "mchid": "1234", "resource": {} }),
            "mchid",
        ),
        (
            json!({ "url": url, "event_type": "", "resource": {} }),
            "event_type",
        ),
    ] {
        let resp = control(addr, "POST", "/mock/notifications", Some(body.clone())).await;
        let refused = assert_error(&resp, 400, "PARAM_ERROR");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{body} -> {refused}"
        );
    }
    assert!(mock.notifications().is_empty());
    let resp = control(addr, "DELETE", "/mock/notifications", None).await;
    assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
    let resp = control(
        addr,
        "POST",
        "/mock/notifications/build",
        Some(json!({ "url": url, "resource": {} })),
    )
    .await;
    assert_error(&resp, 400, "PARAM_ERROR");
}

#[tokio::test]
async fn the_build_route_answers_a_notification_that_verifies() {
    let mock = MockWechatPay::start().await;
    let resp = control(
        mock.address(),
        "POST",
        "/mock/notifications/build",
        Some(json!({ "resource": resource() })),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let built = json(&resp);
    let mut request = http::Request::post("/notify")
        .body(built["body"].as_str().expect("body").as_bytes().to_vec())
        .expect("request");
    for (name, value) in built["headers"].as_object().expect("headers") {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value.as_str().expect("text")).expect("value"),
        );
    }
    let n = NotificationVerifier::new(mock.trusted_keys(), keys::test_apiv3_key())
        .verify::<ProfitSharingNotification, _>(&request)
        .expect("verified");
    assert_eq!(n.id, built["id"]);
    assert!(mock.notifications().is_empty(), "built, not delivered");
}

#[tokio::test]
async fn the_in_process_mock_delivers_and_gives_up_after_the_schedule() {
    let mock = MockWechatPay::builder()
        .notify_time_scale(0.0)
        .start()
        .await
        .expect("mock");
    // Acknowledged with 204 at once.
    let hook = receiver(vec![(204, "")]).await;
    let id = mock
        .notify(&hook.url, &NotificationSpec::new(resource()))
        .expect("queued");
    // Nobody listens here: every attempt is refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = format!("http://{}/notify", closed.local_addr().expect("addr"));
    drop(closed);
    // Through the control API of the in-process mock too.
    let resp = control(
        mock.address(),
        "POST",
        "/mock/notifications",
        Some(json!({ "url": dead, "resource": resource() })),
    )
    .await;
    let dead_id = json(&resp)["id"].as_str().expect("id").to_owned();

    let delivered = settled(mock.address(), &id).await;
    assert_eq!(delivered["delivered"], true, "{delivered}");
    assert_eq!(delivered["attempts"][0]["status"], 204);
    let given_up = settled(mock.address(), &dead_id).await;
    assert_eq!(given_up["gave_up"], true, "{given_up}");
    let attempts = given_up["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 16, "1 attempt and 15 retries");
    assert!(
        attempts
            .iter()
            .all(|a| a["error"].is_string() && a["status"].is_null())
    );
    assert_eq!(mock.notifications().len(), 2);
}
