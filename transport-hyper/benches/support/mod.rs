//! Shared by the end-to-end benchmarks: the standalone mock as a child process, and a core
//! client for its test merchant.

#![allow(dead_code, unreachable_pub)]

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use wechatpay_core::{Backend, Client, KeyRing, MerchantCredentials, PrivateKey};
use wechatpay_mock_server::keys;

pub struct Server {
    child: Child,
    pub base_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn start_server() -> Server {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "-p",
            "wechatpay-mock-server",
            "--features",
            "aws-lc-rs standalone",
        ])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the mock server failed");
    let keys_dir = workspace().join("mock-server/keys");
    let mut child = Command::new(workspace().join("target/release/wechatpay-mock-server"))
        .args([
            "--quiet",
            "--mchid",
            keys::TEST_MCHID,
            "--merchant-serial",
            keys::TEST_MERCHANT_SERIAL,
        ])
        .arg("--merchant-public-key")
        .arg(keys_dir.join("merchant_public_key.pem"))
        .args([
            "--wechatpay-public-key-id",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        ])
        .arg("--wechatpay-private-key")
        .arg(keys_dir.join("wechatpay_private_key.pem"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the mock server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("json");
    Server {
        child,
        base_url: ready["base_url"].as_str().expect("base_url").to_owned(),
    }
}

pub fn core(base_url: &str, backend: Backend) -> Client {
    let key = PrivateKey::from_pem_with(keys::TEST_MERCHANT_PRIVATE_KEY, backend).expect("key");
    let merchant = MerchantCredentials::new(keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL, key)
        .expect("merchant");
    let ring = KeyRing::new();
    ring.add_wechatpay_public_key(
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        wechatpay_core::PublicKey::from_pem_with(keys::TEST_WECHATPAY_PUBLIC_KEY, backend)
            .expect("pub"),
    )
    .expect("id");
    Client::builder(merchant, ring)
        .base_url(base_url)
        .build()
        .expect("client")
}
