//! The standalone `wechatpay-mock-server`, run as a real process.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::send;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use wechatpay_core::{
    Client, CreateAfterSalesOrder, KeyRing, MerchantCredentials, ProfitSharingResult, Scene,
};

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-mock-server");

fn keys_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/keys"))
}

/// Starts the binary and reads its readiness line.
async fn start(args: &[&str]) -> (Child, serde_json::Value) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("ready within 60 s")
    .expect("read");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("one line of JSON");
    (child, ready)
}

fn client_for(ready: &serde_json::Value, merchant_key_pem: &str) -> Client {
    let s = |k: &str| {
        ready[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {ready}"))
            .to_owned()
    };
    let merchant =
        MerchantCredentials::from_pem(s("mchid"), s("merchant_serial"), merchant_key_pem)
            .expect("merchant");
    let public = std::fs::read_to_string(s("wechatpay_public_key")).expect("public key file");
    let keys = KeyRing::new()
        .with_wechatpay_public_key_pem(&s("wechatpay_public_key_id"), &public)
        .expect("keys");
    Client::builder(merchant, keys)
        .base_url(s("base_url"))
        .build()
        .expect("client")
}

fn addr(ready: &serde_json::Value) -> std::net::SocketAddr {
    ready["base_url"]
        .as_str()
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|a| a.parse().ok())
        .expect("address")
}

async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("status")
}

fn create() -> CreateAfterSalesOrder {
    common::create(Scene::RefundTicket)
}

#[tokio::test]
async fn generated_keys_work_end_to_end_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, ready) = start(&["--keys-dir", dir.path().to_str().expect("utf8")]).await;
    for key in [
        "base_url",
        "mchid",
        "merchant_serial",
        "merchant_private_key",
        "wechatpay_public_key_id",
        "wechatpay_public_key",
    ] {
        assert!(ready.get(key).is_some(), "{key} missing from {ready}");
    }
    assert!(
        ready["wechatpay_public_key_id"]
            .as_str()
            .expect("id")
            .starts_with("PUB_KEY_ID_")
    );
    let key_path = ready["merchant_private_key"]
        .as_str()
        .expect("a generated key path");
    assert!(key_path.starts_with(dir.path().to_str().expect("utf8")));
    let client = client_for(
        &ready,
        &std::fs::read_to_string(key_path).expect("key file"),
    );

    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(addr(&ready), &req).await)
        .expect("create verified");
    let mut result = ProfitSharingResult::Processing;
    for _ in 0..3 {
        let (req, pending) = client.prepare(&create().query()).expect("prepare");
        result = pending
            .finish(send(addr(&ready), &req).await)
            .expect("query verified")
            .result;
        if result.is_final() {
            break;
        }
    }
    assert_eq!(result, ProfitSharingResult::Success);
    assert_eq!(terminate(child).await.code(), Some(0));
}

#[tokio::test]
async fn given_keys_are_used_and_no_merchant_key_is_written() {
    let k = keys_dir();
    let (child, ready) = start(&[
        "--mchid",
        "1900000100",
        "--merchant-serial",
        "3775B6A45ACD588826D15E583A95F5DD00000001",
        "--merchant-public-key",
        k.join("merchant_public_key.pem").to_str().expect("utf8"),
        "--wechatpay-public-key-id",
        "PUB_KEY_ID_0119000001002026112400000000000001",
        "--wechatpay-private-key",
        k.join("wechatpay_private_key.pem").to_str().expect("utf8"),
    ])
    .await;
    assert!(ready["merchant_private_key"].is_null());
    assert_eq!(
        ready["wechatpay_public_key_id"],
        "PUB_KEY_ID_0119000001002026112400000000000001"
    );
    let client = client_for(
        &ready,
        wechatpay_mock_server::keys::TEST_MERCHANT_PRIVATE_KEY,
    );
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(addr(&ready), &req).await)
        .expect("verified with the given WeChat Pay key");
    assert_eq!(terminate(child).await.code(), Some(0));
}

async fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("exits")
    .expect("runs");
    assert!(out.stdout.is_empty(), "nothing on stdout when failing");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_flags_and_files_exit_2_with_one_line() {
    let (code, err) = run_to_exit(&["--no-such-flag"]).await;
    assert_eq!(code, Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--no-such-flag"), "{err}");

    let (code, err) = run_to_exit(&["--merchant-public-key", "/nonexistent/merchant.pem"]).await;
    assert_eq!(code, Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/merchant.pem"), "{err}");

    let cert = keys_dir().join("platform_certificate.pem");
    let (code, err) = run_to_exit(&["--wechatpay-private-key", cert.to_str().expect("utf8")]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("certificate"), "{err}");

    let (code, _) = run_to_exit(&["--listen", "not-an-address"]).await;
    assert_eq!(code, Some(2));
    let (code, err) = run_to_exit(&["--wechatpay-public-key-id", "NOT_AN_ID"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("NOT_AN_ID"), "{err}");

    // TLS: conflicting flags, a missing key, a file without a certificate, a key that is not
    // the certificate's.
    let cert = keys_dir().join("platform_certificate.pem");
    let cert = cert.to_str().expect("utf8");
    let public = keys_dir().join("merchant_public_key.pem");
    let public = public.to_str().expect("utf8");
    let wechatpay = keys_dir().join("wechatpay_private_key.pem");
    let wechatpay = wechatpay.to_str().expect("utf8");
    for args in [
        &["--tls", "--tls-cert", cert, "--tls-key", wechatpay][..],
        &["--tls-cert", cert],
        &[
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            wechatpay,
        ],
        &["--tls-cert", public, "--tls-key", wechatpay],
        &["--tls-cert", cert, "--tls-key", public],
        &["--tls-cert", cert, "--tls-key", wechatpay],
    ] {
        let (code, err) = run_to_exit(args).await;
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[tokio::test]
async fn certificate_mode_adds_the_platform_certificate_to_the_ready_line() {
    let k = keys_dir();
    let (child, ready) = start(&[
        "--apiv3-key",
        "a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7",
        "--platform-certificate",
        k.join("platform_certificate_2.pem").to_str().expect("utf8"),
        "--platform-private-key",
        k.join("platform_private_key_2.pem").to_str().expect("utf8"),
        "--sign-with",
        "platform-certificate",
    ])
    .await;
    let serial = ready["platform_certificate_serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    assert_eq!(serial, "642C01921470DBAFFE179CD1D451EB02DDB2AA6B");
    let cert_pem = std::fs::read_to_string(ready["platform_certificate"].as_str().expect("path"))
        .expect("file");
    let key_path = ready["merchant_private_key"]
        .as_str()
        .expect("generated key");
    let merchant = MerchantCredentials::from_pem(
        ready["mchid"].as_str().expect("mchid"),
        ready["merchant_serial"].as_str().expect("serial"),
        &std::fs::read_to_string(key_path).expect("key"),
    )
    .expect("merchant");
    // Verify answers with the published certificate only: certificate mode end to end.
    let keys = KeyRing::new()
        .with_platform_certificate_pem(&cert_pem)
        .expect("cert");
    let client = Client::builder(merchant, keys)
        .base_url(ready["base_url"].as_str().expect("url"))
        .build()
        .expect("client");
    let (req, pending) = client.prepare(&create()).expect("prepare");
    pending
        .finish(send(addr(&ready), &req).await)
        .expect("signed by the platform certificate");
    let apiv3 = wechatpay_core::certificates::ApiV3Key::new("a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7")
        .expect("key");
    let (req, pending) = client.prepare_certificates(&apiv3).expect("prepare");
    let certs = pending
        .finish(send(addr(&ready), &req).await)
        .expect("download");
    assert_eq!(certs[0].serial(), serial);
    assert_eq!(terminate(child).await.code(), Some(0));
}
