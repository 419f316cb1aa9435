//! Interop: the Python SDK `wechatpayv3` drives a platform's whole profit-sharing flow against
//! the standalone sandbox (`tests/interop/python_flow.py`): a split with the receiver's name
//! encrypted by the SDK, queried to final; the unsplit amount; a return queried to final; the
//! finish; an after-sales order; and the sandbox's money rules refusing a split beyond what is
//! left and a return beyond the share. The SDK verifies every 2xx answer's signature; the
//! sandbox's own books (`GET /mock/transactions`) must agree with what the SDK saw.
//!
//! `.ci/run` installs the SDK and sets `WECHATPAY_INTEROP=1`, which makes a missing SDK a
//! failure; `WECHATPAY_INTEROP_PYTHON` names the interpreter (the venv's python). Without them,
//! a missing SDK skips the test with a note on stderr.

#![cfg(feature = "standalone")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;
use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_mock_server::keys;

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-mock-server");

fn here(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

fn required() -> bool {
    std::env::var("WECHATPAY_INTEROP").is_ok_and(|v| v == "1")
}

/// Runs `script` with `python` against a fresh standalone sandbox; its JSON line, or `None`
/// when the SDK is missing and not required.
fn run(python: &str, script: &str) -> Option<serde_json::Value> {
    let mock =
        Standalone::start(Path::new(BIN), &["--quiet"], Stdio::null()).expect("the sandbox starts");
    let out = Command::new(python)
        .arg(here(script))
        .arg(mock.base_url())
        .arg(keys::TEST_MCHID)
        .arg(keys::TEST_MERCHANT_SERIAL)
        .arg(sandbox::keys_dir().join("merchant_private_key.pem"))
        .arg(keys::TEST_WECHATPAY_PUBLIC_KEY_ID)
        .arg(sandbox::keys_dir().join("wechatpay_public_key.pem"))
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if !required() => {
            eprintln!("note: interop with {python} skipped: {e}");
            return None;
        }
        Err(e) => panic!("{python}: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !required() && stderr.contains("ModuleNotFoundError") {
        eprintln!(
            "note: interop via {script} skipped: the SDK is not installed ({})",
            stderr.lines().last().unwrap_or("")
        );
        return None;
    }
    assert!(out.status.success(), "{script} failed:\n{stderr}");
    Some(
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{script}: {e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

#[test]
fn python_sdk_drives_a_split_a_return_and_an_after_sales_order() {
    let python = std::env::var("WECHATPAY_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
    let Some(seen) = run(&python, "python_flow.py") else {
        return;
    };
    assert_eq!(seen["declare"], 200, "{seen}");
    assert_eq!(seen["add_receiver"], 200, "{seen}");
    // The split: pending first, then final with the share paid; the name the SDK encrypted
    // opened by the sandbox (otherwise 400 PARAM_ERROR on receiver_name).
    assert_eq!(seen["split"], json!([200, "PROCESSING"]), "{seen}");
    assert_eq!(
        seen["split_statuses"],
        json!(["PROCESSING", "FINISHED"]),
        "{seen}"
    );
    assert_eq!(seen["share"], json!(["SUCCESS", 3000]), "{seen}");
    assert_eq!(seen["unsplit"], 7000, "{seen}");
    assert_eq!(seen["split_beyond"], json!([400, "NOT_ENOUGH"]), "{seen}");
    // The return, by the merchant's split number, queried by WeChat Pay's.
    assert_eq!(seen["return"], json!([200, "PROCESSING"]), "{seen}");
    assert_eq!(
        seen["return_results"],
        json!(["PROCESSING", "SUCCESS"]),
        "{seen}"
    );
    assert_eq!(seen["return_beyond"], json!([400, "NOT_ENOUGH"]), "{seen}");
    assert_eq!(seen["finish"], json!([200, "FPY1"]), "{seen}");
    assert_eq!(seen["unsplit_after_finish"], 0, "{seen}");
    assert_eq!(seen["after_sales"], 200, "{seen}");
    assert_eq!(
        seen["after_sales_results"],
        json!(["PROCESSING", "SUCCESS"]),
        "{seen}"
    );
    // The sandbox's books agree with what the SDK saw.
    assert_eq!(
        seen["sandbox"],
        json!({
            "amount": 10000,
            "split_amount": 3000,
            "succeeded_amount": 3000,
            "returned_amount": 1000,
            "unsplit_amount": 0,
            "finished": true,
            "finish_amount": 7000,
        }),
        "{seen}"
    );
}
