//! Interop: the official-style SDKs of other languages against the standalone binary — the
//! Node SDK `wechatpay-axios-plugin` and the Python SDK `wechatpayv3` — through create, query to
//! SUCCESS, a FAILED outcome chosen through the control API, an injected 500, and a request
//! signed with the wrong key; then the sandbox's notifications verified and decrypted by both
//! SDKs, a receiver's name encrypted by the Python SDK accepted by the sandbox, and one
//! encrypted by wechatpay-core decrypted by the Node SDK.
//!
//! `.ci/run` installs both and sets `WECHATPAY_INTEROP=1`, which makes a missing SDK a failure.
//! Without it, a missing SDK skips its half with a note on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_mock_server::keys;

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-mock-server");

fn here(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

fn start(flags: &[&str]) -> Standalone {
    Standalone::start(Path::new(BIN), flags, Stdio::null()).expect("the mock starts")
}

fn required() -> bool {
    std::env::var("WECHATPAY_INTEROP").is_ok_and(|v| v == "1")
}

/// Runs a client script against a fresh mock started with `flags`; its JSON line.
fn run_with(
    program: &str,
    script: &str,
    flags: &[&str],
    args: impl FnOnce(&Standalone) -> Vec<std::ffi::OsString>,
    env: &[(&str, String)],
) -> Option<serde_json::Value> {
    let mock = start(flags);
    let out = Command::new(program)
        .arg(here(script))
        .args(args(&mock))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if !required() => {
            eprintln!("note: interop with {program} skipped: {e}");
            return None;
        }
        Err(e) => panic!("{program}: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && !required()
        && (stderr.contains("Cannot find module") || stderr.contains("ModuleNotFoundError"))
    {
        eprintln!(
            "note: interop via {script} skipped: the SDK is not installed ({})",
            stderr.lines().next().unwrap_or("")
        );
        return None;
    }
    assert!(out.status.success(), "{script} failed:\n{stderr}");
    Some(
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{script}: {e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

/// The merchant's arguments every client script takes first.
fn merchant_args(mock: &Standalone) -> Vec<std::ffi::OsString> {
    vec![
        mock.base_url().into(),
        keys::TEST_MCHID.into(),
        keys::TEST_MERCHANT_SERIAL.into(),
        sandbox::keys_dir().join("merchant_private_key.pem").into(),
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID.into(),
        sandbox::keys_dir().join("wechatpay_public_key.pem").into(),
    ]
}

/// Runs a client script; its JSON line.
fn run(program: &str, script: &str, env: &[(&str, String)]) -> Option<serde_json::Value> {
    let args = |mock: &Standalone| {
        let mut args = merchant_args(mock);
        // The wrong key: WeChat Pay's own, posing as the merchant's.
        args.push(sandbox::keys_dir().join("wechatpay_private_key.pem").into());
        args
    };
    run_with(program, script, &["--quiet"], args, env)
}

/// The flags of a mock that delivers notifications at once.
const NOTIFYING: &[&str] = &["--quiet", "--notify-time-scale", "0.001"];

/// The test merchant's APIv3 key, from the readiness line.
fn apiv3_key(mock: &Standalone) -> String {
    mock.ready()["apiv3_key"]
        .as_str()
        .expect("the readiness line shows the APIv3 key")
        .to_owned()
}

fn check(seen: &serde_json::Value) {
    assert_eq!(seen["create"], 200, "{seen}");
    assert_eq!(
        seen["results"],
        serde_json::json!(["PROCESSING", "SUCCESS", "SUCCESS"]),
        "{seen}"
    );
    assert_eq!(seen["control"], 200, "{seen}");
    assert_eq!(seen["failed"], "FAILED/NO_RELATION", "{seen}");
    assert_eq!(seen["injected"], 500, "{seen}");
    assert_eq!(seen["wrong_key"], 401, "{seen}");
}

#[test]
fn node_sdk_wechatpay_axios_plugin() {
    let modules = std::env::var("WECHATPAY_INTEROP_NODE_PATH").unwrap_or_default();
    if let Some(seen) = run("node", "node_client.js", &[("NODE_PATH", modules)]) {
        check(&seen);
    }
}

#[test]
fn python_sdk_wechatpayv3() {
    let python = std::env::var("WECHATPAY_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    if let Some(seen) = run(&python, "python_client.py", &[]) {
        check(&seen);
    }
}

#[test]
fn python_sdk_receives_notifications_and_encrypts_a_name() {
    let python = std::env::var("WECHATPAY_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let args = |mock: &Standalone| {
        let mut args = merchant_args(mock);
        args.push(apiv3_key(mock).into());
        args
    };
    if let Some(seen) = run_with(&python, "python_notify.py", NOTIFYING, args, &[]) {
        assert_eq!(seen["notify"], 200, "{seen}");
        assert_eq!(
            seen["verified"], true,
            "wechatpayv3's callback() verified: {seen}"
        );
        assert_eq!(seen["resource"]["receiver"]["amount"], 888, "{seen}");
        assert_eq!(seen["add_receiver"], 200, "{seen}");
        assert_eq!(seen["stored_name"], "示例商户全称有限公司", "{seen}");
    }
}

#[test]
fn node_sdk_receives_notifications_and_decrypts_a_name_core_encrypted() {
    let modules = std::env::var("WECHATPAY_INTEROP_NODE_PATH").unwrap_or_default();
    let keys = wechatpay_core::KeyRing::new()
        .with_wechatpay_public_key_pem(
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            keys::TEST_WECHATPAY_PUBLIC_KEY,
        )
        .expect("ring");
    let name = wechatpay_core::encryption::Encryptor::preferred(&keys)
        .expect("encryptor")
        .seal("张三")
        .expect("sealed");
    let args = |mock: &Standalone| {
        vec![
            mock.base_url().into(),
            sandbox::keys_dir().join("wechatpay_public_key.pem").into(),
            apiv3_key(mock).into(),
            sandbox::keys_dir().join("wechatpay_private_key.pem").into(),
            name.ciphertext().into(),
        ]
    };
    let env = [("NODE_PATH", modules)];
    if let Some(seen) = run_with("node", "node_notify.js", NOTIFYING, args, &env) {
        assert_eq!(seen["notify"], 200, "{seen}");
        assert_eq!(
            seen["verified"], true,
            "Rsa.verify over the raw body: {seen}"
        );
        assert_eq!(seen["resource"]["receiver"]["amount"], 777, "{seen}");
        assert_eq!(seen["name"], "张三", "Rsa.decrypt (OAEP SHA-1): {seen}");
    }
}
