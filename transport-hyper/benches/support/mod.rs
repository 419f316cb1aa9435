//! Shared by the end-to-end benchmarks: the standalone mock as a child process, and a core
//! client for its test merchant.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;

use wechatpay_core::{Backend, Client, KeyRing, MerchantCredentials, PrivateKey};
use wechatpay_mock_server::keys;
use wechatpay_mock_server::process::{self, Standalone};

/// The release mock, quiet.
pub fn start_server() -> Standalone {
    let binary = process::binary(true).expect("the mock binary");
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
