//! The standalone binary as a sandbox for any language: the control API, merchants that own
//! their orders, several merchants at start, and hostile raw HTTP over loopback — refused in
//! WeChat Pay's JSON error shape where HTTP can still be answered, never a panic.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{json, send, send_raw};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;
use wechatpay_conformance::sandbox::Standalone;
use wechatpay_core::{
    Client, CreateAfterSalesOrder, KeyRing, MerchantCredentials, QueryAfterSalesOrder, Scene,
};
use wechatpay_mock_server::keys;

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-mock-server");

struct Sandbox {
    mock: Standalone,
    ready: serde_json::Value,
    stderr: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Sandbox {
    /// The binary with the shared test merchant key, its stderr in a file.
    async fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr = dir.path().join("stderr.log");
        let keys_dir = dir.path().to_str().expect("utf8").to_owned();
        let mut args = vec!["--keys-dir", keys_dir.as_str()];
        args.extend_from_slice(extra);
        let log = std::fs::File::create(&stderr).expect("stderr file");
        let mock = Standalone::start(std::path::Path::new(BIN), &args, Stdio::from(log))
            .expect("the mock starts");
        Self {
            ready: mock.ready().clone(),
            mock,
            stderr,
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.ready["base_url"]
            .as_str()
            .and_then(|u| u.strip_prefix("http://"))
            .and_then(|a| a.parse().ok())
            .expect("address")
    }

    fn client(&self, mchid: &str, serial: &str, key_pem: &str) -> Client {
        let public =
            std::fs::read_to_string(self.ready["wechatpay_public_key"].as_str().expect("path"))
                .expect("public key");
        let keys = KeyRing::new()
            .with_wechatpay_public_key_pem(
                self.ready["wechatpay_public_key_id"].as_str().expect("id"),
                &public,
            )
            .expect("ring");
        Client::builder(
            MerchantCredentials::from_pem(mchid, serial, key_pem).expect("merchant"),
            keys,
        )
        .base_url(self.ready["base_url"].as_str().expect("url"))
        .build()
        .expect("client")
    }

    fn test_client(&self) -> Client {
        self.client(
            keys::TEST_MCHID,
            keys::TEST_MERCHANT_SERIAL,
            keys::TEST_MERCHANT_PRIVATE_KEY,
        )
    }

    /// A control API call; the answer's JSON.
    async fn control(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let body = body.to_string();
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let resp = common::parse(
            &send_raw(self.addr(), raw.as_bytes())
                .await
                .expect("control"),
        );
        (resp.status().as_u16(), json(&resp))
    }

    /// Stops the binary; its stderr, which must show no panic.
    async fn stop(self) -> String {
        drop(self.mock);
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(!log.contains("panicked"), "a panic in the mock:\n{log}");
        log
    }
}

fn create(tx: &str) -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        "1900000109",
        tx,
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
}

#[tokio::test]
async fn the_control_api_steers_outcomes_faults_and_the_log() {
    let sb = Sandbox::start(&["--quiet"]).await;
    let client = sb.test_client();
    let tx = "4208450740201411110000003001";
    let (status, _) = sb
        .control(
            "POST",
            "/mock/outcomes",
            &serde_json::json!({"sub_mchid": "1900000109", "transaction_id": tx,
                "result": "FAILED", "fail_reason": "RECEIVER_HIGH_RISK", "processing_queries": 2}),
        )
        .await;
    assert_eq!(status, 200);
    let (req, _) = client.prepare(&create(tx)).expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 200);
    let mut results = Vec::new();
    for _ in 0..3 {
        let (req, pending) = client
            .prepare(&QueryAfterSalesOrder::new("1900000109", tx))
            .expect("prepare");
        let order = pending
            .finish(send(sb.addr(), &req).await)
            .expect("verified");
        results.push(format!(
            "{}{}",
            order.result,
            order
                .fail_reason
                .map(|r| format!("/{r}"))
                .unwrap_or_default()
        ));
    }
    assert_eq!(
        results,
        ["PROCESSING", "PROCESSING", "FAILED/RECEIVER_HIGH_RISK"]
    );

    // A fault through the API: the next query is a 500.
    let (status, body) = sb
        .control(
            "POST",
            "/mock/faults",
            &serde_json::json!({"kind": "system_error", "route": "query"}),
        )
        .await;
    assert_eq!((status, body["armed"].as_u64()), (200, Some(1)));
    let (req, _) = client
        .prepare(&QueryAfterSalesOrder::new("1900000109", tx))
        .expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 500);

    // The log, newest last.
    let (_, log) = sb
        .control("GET", "/mock/log?limit=2", &serde_json::json!({}))
        .await;
    let answers = log["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["status"], 500);

    // Bad control input is refused in WeChat Pay's shape.
    let (status, body) = sb
        .control(
            "POST",
            "/mock/outcomes",
            &serde_json::json!({"sub_mchid": "1", "transaction_id": "2", "result": "FAILED"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("PARAM_ERROR")));
    let (status, _) = sb
        .control("POST", "/mock/nothing", &serde_json::json!({}))
        .await;
    assert_eq!(status, 404);

    // Reset forgets the order.
    assert_eq!(
        sb.control("POST", "/mock/reset", &serde_json::json!({}))
            .await
            .0,
        200
    );
    let (req, _) = client
        .prepare(&QueryAfterSalesOrder::new("1900000109", tx))
        .expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 404);
    sb.stop().await;
}

#[tokio::test]
async fn merchants_own_their_orders_and_come_from_flags_config_and_the_api() {
    let other = keys::generate_key_pair().expect("key pair");
    let third = keys::generate_key_pair().expect("key pair");
    let dir = tempfile::tempdir().expect("dir");
    let other_pub = dir.path().join("other.pem");
    std::fs::write(&other_pub, &other.public_pem).expect("write");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"merchants": [{"mchid": "1900000300", "serial": "CAFE03", "public_key": third.public_pem}]}).to_string(),
    )
    .expect("write");
    let sb = Sandbox::start(&[
        "--quiet",
        "--merchant",
        &format!("1900000200:CAFE02:{}", other_pub.display()),
        "--config",
        config.to_str().expect("utf8"),
    ])
    .await;
    let tx = "4208450740201411110000003101";
    let a = sb.test_client();
    let (req, _) = a.prepare(&create(tx)).expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 200);
    for b in [
        sb.client("1900000200", "CAFE02", &other.private_pem),
        sb.client("1900000300", "CAFE03", &third.private_pem),
    ] {
        // Another merchant does not see A's order, and creates its own.
        let (req, _) = b
            .prepare(&QueryAfterSalesOrder::new("1900000109", tx))
            .expect("prepare");
        assert_eq!(send(sb.addr(), &req).await.status(), 404);
        let (req, _) = b.prepare(&create(tx)).expect("prepare");
        assert_eq!(send(sb.addr(), &req).await.status(), 200);
    }
    // A fourth, added through the control API.
    let fourth = keys::generate_key_pair().expect("key pair");
    let (status, _) = sb
        .control("POST", "/mock/merchants", &serde_json::json!({"mchid": "1900000400", "serial": "CAFE04", "public_key": fourth.public_pem}))
        .await;
    assert_eq!(status, 200);
    let d = sb.client("1900000400", "CAFE04", &fourth.private_pem);
    let (req, _) = d.prepare(&create(tx)).expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 200);
    // A wrong key is refused.
    let wrong = sb.client("1900000400", "CAFE04", &other.private_pem);
    let (req, _) = wrong.prepare(&create(tx)).expect("prepare");
    assert_eq!(send(sb.addr(), &req).await.status(), 401);
    sb.stop().await;
}

#[tokio::test]
async fn the_signature_covers_the_target_exactly_as_received() {
    let sb = Sandbox::start(&["--quiet"]).await;
    let client = sb.test_client();
    let (req, _) = client
        .prepare(&create("4208450740201411110000003201"))
        .expect("prepare");
    // Sent to a `..` path, signed over the normalised one: not the after-sales endpoint.
    let raw = common::serialise(&req);
    let text = String::from_utf8(raw).expect("utf8").replacen(
        "/after-sales-orders",
        "/x/../after-sales-orders",
        1,
    );
    let resp = common::parse(&send_raw(sb.addr(), text.as_bytes()).await.expect("send"));
    assert_eq!(resp.status(), 404);
    assert_eq!(json(&resp)["code"], "NOT_FOUND");
    // A query string changed after signing does not verify.
    let (req, _) = client
        .prepare(&QueryAfterSalesOrder::new(
            "1900000109",
            "4208450740201411110000003201",
        ))
        .expect("prepare");
    let text = String::from_utf8(common::serialise(&req))
        .expect("utf8")
        .replacen("sub_mchid=1900000109", "sub_mchid=1900000110", 1);
    let resp = common::parse(&send_raw(sb.addr(), text.as_bytes()).await.expect("send"));
    assert_eq!(
        (resp.status().as_u16(), json(&resp)["code"].as_str()),
        (401, Some("SIGN_ERROR"))
    );
    sb.stop().await;
}

/// The status of a raw exchange's answer, if one came.
async fn status_of(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let raw = send_raw(addr, bytes).await.ok()?;
    let head = String::from_utf8_lossy(&raw);
    head.split(' ').nth(1)?.parse().ok()
}

#[tokio::test]
async fn hostile_http_is_refused_and_never_panics() {
    let sb = Sandbox::start(&["--header-timeout", "1", "--body-timeout", "1"]).await;
    let addr = sb.addr();
    // A 10 MB body announced by Content-Length: 413 at once, in WeChat Pay's shape.
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"POST /v3/ecommerce/profitsharing/after-sales-orders HTTP/1.1\r\nhost: x\r\ncontent-length: 10485760\r\n\r\n").await.expect("write");
    s.write_all(&vec![b'a'; 64 * 1024]).await.expect("write");
    let mut head = vec![0u8; 512];
    let n = s.read(&mut head).await.expect("read");
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("INVALID_REQUEST"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(s);
    // 10 MB chunked, no Content-Length: refused once the cap is passed while reading.
    let mut chunked = b"POST /v3/ecommerce/profitsharing/after-sales-orders HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for _ in 0..160 {
        chunked.extend_from_slice(b"10000\r\n");
        chunked.extend_from_slice(&vec![b'a'; 0x10000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(&chunked).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 413"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // An absolute-form target: 400 in WeChat Pay's shape, or hyper's own 400 when unparseable.
    let resp = common::parse(&send_raw(addr, b"GET http://example.com/v3/certificates HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("send"));
    assert_eq!(
        (resp.status().as_u16(), json(&resp)["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    assert_eq!(
        status_of(addr, b"GET http://a:99999/x HTTP/1.1\r\nhost: x\r\n\r\n").await,
        Some(400)
    );
    // Transfer-Encoding with Content-Length, and garbage.
    assert_eq!(status_of(addr, b"POST /v3/x HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n").await.map(|s| s / 100), Some(4));
    let _ = status_of(addr, b"\x00\x01\x02 garbage\r\n\r\n").await;
    // A truncated body: the client gives up; the server carries on.
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"POST /v3/ecommerce/profitsharing/after-sales-orders HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"sub").await.expect("write");
    drop(s);
    // A connection that never finishes its headers is closed after the header timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /v3/certificates HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    assert!(
        closed.is_ok(),
        "still open after 5 s with a 1 s header timeout"
    );
    // A body that never comes: 408 after the body timeout.
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"POST /v3/ecommerce/profitsharing/after-sales-orders HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{").await.expect("write");
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
    // And it still serves.
    let client = sb.test_client();
    let (req, _) = client
        .prepare(&create("4208450740201411110000003301"))
        .expect("prepare");
    assert_eq!(send(addr, &req).await.status(), 200);
    sb.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn generated_key_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .args(["--quiet", "--keys-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .await
        .expect("ready");
    for name in ["merchant_private_key.pem", "wechatpay_public_key.pem"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .expect(name)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[tokio::test]
async fn the_profit_sharing_sandbox_with_strict_transactions_rate_limits_and_notifications() {
    use wechatpay_core::encryption::Encryptor;
    use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
    use wechatpay_core::orders::{CreateProfitSharingOrder, OrderReceiver, QueryUnsplitAmount};
    use wechatpay_core::receivers::{AddReceiver, ReceiverType, RelationType};

    let sb = Sandbox::start(&["--quiet", "--strict-transactions", "--rate-limits"]).await;
    assert_eq!(sb.ready["strict_transactions"], true);
    assert_eq!(sb.ready["rate_limits"], true);
    let (status, settings) = sb
        .control("GET", "/mock/settings", &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        serde_json::json!({"strict_transactions": true, "rate_limits": true})
    );
    let client = sb.test_client();
    let (sub, tx, account) = ("1900000109", "4208450740201411110000006001", "1900000110");

    // Strict: an undeclared transaction is refused.
    let split = |no: &str, amount| {
        CreateProfitSharingOrder::new(
            sub,
            tx,
            no,
            vec![OrderReceiver::new(
                ReceiverType::MerchantId,
                account,
                amount,
                "分账",
            )],
        )
    };
    let (req, pending) = client.prepare(&split("P0", 10)).expect("prepare");
    let err = pending
        .finish(send(sb.addr(), &req).await)
        .expect_err("unknown transaction");
    assert_eq!(err.code(), Some("INVALID_REQUEST"));
    assert!(
        err.api_message()
            .is_some_and(|m| m.contains("unknown transaction")),
        "{err}"
    );

    // Declared, a receiver added, its notifications sent to a local inbox, its shares final
    // as soon as the sandbox ticks (no query needed).
    let (status, declared) = sb
        .control(
            "POST",
            "/mock/transactions",
            &serde_json::json!({"sub_mchid": sub, "transaction_id": tx, "amount": 1000}),
        )
        .await;
    assert_eq!(status, 200, "{declared}");
    let wechatpay_public =
        std::fs::read_to_string(sb.ready["wechatpay_public_key"].as_str().expect("path"))
            .expect("key");
    let ring = KeyRing::new()
        .with_wechatpay_public_key_pem(keys::TEST_WECHATPAY_PUBLIC_KEY_ID, &wechatpay_public)
        .expect("ring");
    let add = AddReceiver::new(
        "wx8888888888888888",
        ReceiverType::MerchantId,
        account,
        RelationType::Supplier,
    )
    .name(&Encryptor::preferred(&ring).expect("encryptor"), "示例商户")
    .expect("sealed");
    let (req, pending) = client.prepare(&add).expect("prepare");
    pending.finish(send(sb.addr(), &req).await).expect("added");
    let inbox = common::Inbox::start().await;
    let (status, _) = sb
        .control(
            "POST",
            "/mock/notify-urls",
            &serde_json::json!({"account": account, "url": inbox.url}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = sb
        .control(
            "POST",
            "/mock/outcomes",
            &serde_json::json!({"sub_mchid": sub, "out_order_no": "P1", "result": "SUCCESS",
                "processing_queries": 0}),
        )
        .await;
    assert_eq!(status, 200);
    // The refused split counted toward the one-a-second limit of this transaction.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (req, pending) = client.prepare(&split("P1", 300)).expect("prepare");
    pending
        .finish(send(sb.addr(), &req).await)
        .expect("split 300");
    let got = inbox.wait_for(1).await;
    assert_eq!(got.len(), 1, "a notification without any query");
    let n = NotificationVerifier::new(
        ring.clone(),
        wechatpay_core::certificates::ApiV3Key::new(sb.ready["apiv3_key"].as_str().expect("key"))
            .expect("apiv3"),
    )
    .verify::<ProfitSharingNotification, _>(&got[0])
    .expect("verified");
    assert_eq!(
        (n.resource.out_order_no.as_str(), n.resource.receiver.amount),
        ("P1", 300)
    );

    // Rate limits: a second split of the same transaction within a second is 429.
    let mut limited = None;
    for attempt in 0..5 {
        let (req, _) = client
            .prepare(&split(&format!("Q{attempt}"), 1))
            .expect("prepare");
        let resp = send(sb.addr(), &req).await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("limited within 5 splits in a row");
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(json(&resp)["code"], "FREQUENCY_LIMITED");

    // The books agree with the amounts endpoint.
    let (req, pending) = client
        .prepare(&QueryUnsplitAmount::new(tx))
        .expect("prepare");
    let unsplit = pending
        .finish(send(sb.addr(), &req).await)
        .expect("amounts")
        .unsplit_amount;
    let (_, books) = sb
        .control(
            "GET",
            &format!("/mock/transactions?transaction_id={tx}"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(books["transactions"][0]["unsplit_amount"], unsplit);
    assert!((695..=700).contains(&unsplit), "{books}");
    sb.stop().await;
}
