//! Notifications per CPU-second: core's `NotificationVerifier` (verify the raw body, decrypt
//! the resource, parse both) against the Node SDK (`wechatpay-axios-plugin`: `Rsa.verify`,
//! `Aes.AesGcm.decrypt`, `JSON.parse`) on the same notifications, and one bare RSA-2048 verify
//! (in this process and by `openssl speed`) — all in the same run.
//!
//! `cargo bench -p wechatpay-transport-hyper --bench notifications` (default features:
//! aws-lc-rs). `NOTIFY_SECONDS` sets each measurement's length (default 4); without `node` and
//! `npm` the Node side is skipped with a note.

use std::process::Command;
use std::time::Instant;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::http::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_core::notification::{NotificationVerifier, ProfitSharingNotification};
use wechatpay_core::{KeyRing, PrivateKey, PublicKey, signing};
use wechatpay_mock_server::keys;

mod support;
use support::{cpu_time, node_setup, workspace};

const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119000001002026112400000000000001";
const APIV3_KEY: &str = "a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7";

/// The valid notifications signed with the WeChat Pay public key, from core's vectors (made by
/// the Node SDK over OpenSSL), as (headers, body, timestamp).
fn notifications() -> Vec<(HeaderMap, Vec<u8>, i64)> {
    let path = workspace().join("core/testdata/notifications.json");
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json");
    vectors["notifications"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|v| v["valid"] == true && v["headers"]["Wechatpay-Serial"] == PUBLIC_KEY_ID)
        .map(|v| {
            let mut headers = HeaderMap::new();
            for (name, value) in v["headers"].as_object().expect("headers") {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    HeaderValue::from_str(value.as_str().expect("text")).expect("value"),
                );
            }
            let at = v["headers"]["Wechatpay-Timestamp"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .expect("timestamp");
            let body = v["body"].as_str().expect("body").as_bytes().to_vec();
            (headers, body, at)
        })
        .collect()
}

/// Runs `f` for `seconds` after a 1 s warm-up; µs of this process's CPU per call.
fn cpu_per_call(seconds: u64, f: &mut dyn FnMut()) -> (u64, f64) {
    let run = |f: &mut dyn FnMut(), secs: f64| {
        let until = Instant::now();
        let mut calls = 0u64;
        while until.elapsed().as_secs_f64() < secs {
            f();
            calls += 1;
        }
        calls
    };
    run(f, 1.0);
    let cpu = cpu_time();
    #[allow(clippy::cast_precision_loss, reason = "seconds")]
    let calls = run(f, seconds as f64);
    let used = (cpu_time() - cpu).as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "a ratio")]
    (calls, used / calls as f64 * 1e6)
}

fn node_us(seconds: u64) -> Result<f64, String> {
    let modules = node_setup()?;
    // The Node script reads the same vectors file, valid public-key notifications only.
    let path = workspace().join("target/notifications-bench.json");
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("core/testdata/notifications.json"))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let valid: Vec<_> = vectors["notifications"]
        .as_array()
        .ok_or("no list")?
        .iter()
        .filter(|v| v["valid"] == true && v["headers"]["Wechatpay-Serial"] == PUBLIC_KEY_ID)
        .cloned()
        .collect();
    std::fs::write(
        &path,
        serde_json::to_vec(&valid).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .env("NODE_PATH", modules)
        .arg(workspace().join("transport-hyper/benches/node/notifications.js"))
        .arg(&path)
        .arg(workspace().join("core/testdata/wechatpay_public_key.pem"))
        .args([APIV3_KEY, &seconds.to_string()])
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!("node: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let count = v["count"].as_f64().ok_or("no count")?;
    Ok(v["cpu_s"].as_f64().ok_or("no cpu_s")? / count * 1e6)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds: u64 = std::env::var("NOTIFY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let pem = std::fs::read_to_string(workspace().join("core/testdata/wechatpay_public_key.pem"))
        .expect("key");
    let keys = KeyRing::new()
        .with_wechatpay_public_key_pem(PUBLIC_KEY_ID, &pem)
        .expect("ring");
    let verifier = NotificationVerifier::new(keys, ApiV3Key::new(APIV3_KEY).expect("APIv3 key"));
    let notifications = notifications();
    assert!(!notifications.is_empty());

    let mut i = 0usize;
    let (handled, rust) = cpu_per_call(seconds, &mut || {
        let (headers, body, at) = &notifications[i % notifications.len()];
        i += 1;
        let n = verifier
            .verify_at::<ProfitSharingNotification>(headers, body, *at)
            .expect("verifies");
        std::hint::black_box(n);
    });

    // One bare verify of a message the size of a notification's, with a key of the same size.
    let key = PrivateKey::from_pem(keys::TEST_WECHATPAY_PRIVATE_KEY).expect("key");
    let public = PublicKey::from_pem(keys::TEST_WECHATPAY_PUBLIC_KEY).expect("public");
    let (_, body, _) = &notifications[0];
    let message = signing::response_message("1764000000", "n0nce", body);
    let signature = key.sign(&message).expect("sign");
    let (_, verify) = cpu_per_call(seconds, &mut || {
        assert!(public.verify(&message, &signature));
    });
    let openssl = wechatpay_conformance::measure::openssl_rsa2048().map(|(_, v)| v);
    let node = node_us(seconds);

    println!("notifications handled in {seconds} s: {handled}");
    println!("| | CPU per notification | ÷ one RSA verify (this process) |");
    println!("|---|---:|---:|");
    println!(
        "| wechatpay-core (verify + decrypt + parse) | {rust:.1} µs | {:.2}× |",
        rust / verify
    );
    println!("| one RSA-2048 verify, this process | {verify:.1} µs | 1.00× |");
    if let Some(v) = openssl {
        println!(
            "| one RSA-2048 verify, `openssl speed` | {v:.1} µs | {:.2}× |",
            v / verify
        );
    }
    match node {
        Ok(n) => {
            println!(
                "| Node SDK (Rsa.verify + AesGcm.decrypt + JSON.parse) | {n:.1} µs | {:.2}× |",
                n / verify
            );
            println!(
                "notifications per CPU-second: wechatpay-core {:.0}, Node SDK {:.0}: {:.2}×",
                1e6 / rust,
                1e6 / n,
                n / rust
            );
        }
        Err(why) => println!("Node side skipped: {why}"),
    }
}
