//! What the command-line tests share: `wechatpay` run as the embedded test merchant, with a
//! clean environment (no proxy, no settings from the shell running the tests).
#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::Path;
use std::process::Command;

use wechatpay_mock_server::keys;

/// The command line under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");

/// `wechatpay --base-url BASE_URL` as the test merchant (its private key in `private_key`),
/// with a clean environment; the WeChat Pay key or certificate mode is the caller's.
pub(crate) fn merchant_command(base_url: &str, private_key: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--base-url", base_url])
        .args(["--mchid", keys::TEST_MCHID])
        .args(["--merchant-serial", keys::TEST_MERCHANT_SERIAL])
        .arg("--merchant-private-key")
        .arg(private_key)
        .env_clear();
    c
}

/// As [`merchant_command`], verifying answers with the test WeChat Pay public key in
/// `public_key` (public-key mode).
pub(crate) fn public_key_command(base_url: &str, private_key: &Path, public_key: &Path) -> Command {
    let mut c = merchant_command(base_url, private_key);
    c.args([
        "--wechatpay-public-key-id",
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
    ])
    .arg("--wechatpay-public-key")
    .arg(public_key);
    c
}
