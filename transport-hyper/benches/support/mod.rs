//! Shared by the end-to-end benchmarks: the standalone mock as a child process, and a core
//! client for its test merchant.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_core::{Backend, Client, KeyRing, MerchantCredentials, PrivateKey};
use wechatpay_mock_server::keys;

/// The release mock, quiet.
pub fn start_server() -> Standalone {
    let binary = sandbox::binary(true).expect("the mock binary");
    Standalone::start(&binary, &["--quiet"], Stdio::inherit()).expect("the mock starts")
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// This process's CPU time (user + system).
pub fn cpu_time() -> Duration {
    wechatpay_conformance::sandbox::usage(std::process::id()).0
}

/// Installs the Node SDK under target/; an error (the reason) when Node or npm is missing.
pub fn node_setup() -> Result<std::path::PathBuf, String> {
    let dir = workspace().join("target/head-to-head-node");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::copy(
        workspace().join("transport-hyper/benches/node/package.json"),
        dir.join("package.json"),
    )
    .map_err(|e| e.to_string())?;
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("npm: {e}"))?;
    if !ok.success() {
        return Err("npm install wechatpay-axios-plugin failed".into());
    }
    Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))?;
    Ok(dir.join("node_modules"))
}
