//! `wechatpay profit-sharing receivers add|delete`, run as a process against the mock: the
//! name leaves encrypted with WeChat Pay's key, the request names that key in
//! `Wechatpay-Serial`, and the mock (which decrypts with the key the serial names) reads the
//! name back; in public-key and in certificate mode.

#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};

use wechatpay_mock_server::{MockBuilder, MockWechatPay, keys};

mod cli_support;

use cli_support::{BIN, merchant_command};
const APPID: &str = "wx8888888888888888";
const MERCHANT: &str = "1900000110";
const NAME: &str = "示例商户全称有限公司";
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

struct External {
    _rt: tokio::runtime::Runtime,
    mock: MockWechatPay,
    dir: tempfile::TempDir,
}

impl External {
    /// Starts `builder`'s mock on a background runtime and writes the key files.
    fn with(builder: MockBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("rt");
        let mock = rt.block_on(builder.start()).expect("mock");
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, pem) in [
            ("apiclient_key.pem", keys::TEST_MERCHANT_PRIVATE_KEY),
            ("pub_key.pem", keys::TEST_WECHATPAY_PUBLIC_KEY),
        ] {
            std::fs::write(dir.path().join(name), pem).expect("write key");
        }
        std::fs::write(dir.path().join("apiv3.key"), keys::TEST_APIV3_KEY).expect("write key");
        Self { _rt: rt, mock, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `wechatpay` with this mock's base URL and merchant, and a clean environment.
    fn merchant_command(&self) -> Command {
        merchant_command(&self.mock.base_url(), &self.path("apiclient_key.pem"))
    }

    /// In public-key mode.
    fn run(&self, args: &[&str]) -> Output {
        self.merchant_command()
            .args([
                "--wechatpay-public-key-id",
                keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            ])
            .arg("--wechatpay-public-key")
            .arg(self.path("pub_key.pem"))
            .args(args)
            .output()
            .expect("run wechatpay")
    }

    /// In certificate mode: no WeChat Pay key given, the APIv3 key from a file.
    fn run_certificate_mode(&self, args: &[&str]) -> Output {
        self.merchant_command()
            .arg("--apiv3-key-file")
            .arg(self.path("apiv3.key"))
            .args(args)
            .output()
            .expect("run wechatpay")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn add_merchant<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "profit-sharing",
        "receivers",
        "add",
        "--appid",
        APPID,
        "--type",
        "MERCHANT_ID",
        "--account",
        MERCHANT,
        "--name",
        NAME,
        "--relation-type",
        "SUPPLIER",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn add_sends_the_name_encrypted_with_the_wechatpay_public_key() {
    let ext = External::with(MockWechatPay::builder());
    let out = ext.run(&add_merchant(&["--verbose"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "added: MERCHANT_ID {MERCHANT} (name encrypted with WeChat Pay key {}, sent as Wechatpay-Serial)",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID
        )
    );
    // --verbose shows the key named and the ciphertext, never the name itself.
    assert!(
        stderr.contains(&format!(
            "> wechatpay-serial: {}",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID
        )),
        "{stderr}"
    );
    assert!(stderr.contains("\"encrypted_name\":\""), "{stderr}");
    assert!(stderr.contains("/receivers/add"), "{stderr}");
    assert!(!stderr.contains(NAME), "{stderr}");

    let added = ext.mock.receivers(keys::TEST_MCHID);
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].account, MERCHANT);
    assert_eq!(added[0].relation_type, "SUPPLIER");
    assert_eq!(added[0].name.as_deref(), Some(NAME));
    assert_eq!(added[0].serial, keys::TEST_WECHATPAY_PUBLIC_KEY_ID);
}

#[test]
fn in_certificate_mode_the_name_is_encrypted_with_the_downloaded_certificate() {
    let ext = External::with(MockWechatPay::builder().test_certificate_mode());
    let out = ext.run_certificate_mode(&add_merchant(&["--verbose"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(keys::TEST_PLATFORM_SERIAL), "{stdout}");
    assert!(
        stderr.contains("> GET /v3/certificates") || stderr.contains("/v3/certificates"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "> wechatpay-serial: {}",
            keys::TEST_PLATFORM_SERIAL
        )),
        "{stderr}"
    );
    let added = ext.mock.receivers(keys::TEST_MCHID);
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].name.as_deref(), Some(NAME));
    assert_eq!(added[0].serial, keys::TEST_PLATFORM_SERIAL);
}

#[test]
fn a_person_needs_no_name_and_delete_removes_a_receiver() {
    let ext = External::with(MockWechatPay::builder());
    let out = ext.run(&[
        "profit-sharing",
        "receivers",
        "add",
        "--appid",
        APPID,
        "--type",
        "personal_openid",
        "--account",
        OPENID,
        "--relation-type",
        "distributor",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        added,
        serde_json::json!({"type": "PERSONAL_OPENID", "account": OPENID})
    );
    let stored = ext.mock.receivers(keys::TEST_MCHID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, None);
    assert_eq!(stored[0].relation_type, "DISTRIBUTOR");

    let out = ext.run(&[
        "profit-sharing",
        "receivers",
        "delete",
        "--appid",
        APPID,
        "--type",
        "PERSONAL_OPENID",
        "--account",
        OPENID,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("deleted: PERSONAL_OPENID {OPENID}")
    );
    assert!(ext.mock.receivers(keys::TEST_MCHID).is_empty());
}

#[test]
fn bad_input_exits_2_before_sending() {
    let ext = External::with(MockWechatPay::builder());
    let no_name = [
        "profit-sharing",
        "receivers",
        "add",
        "--appid",
        APPID,
        "--type",
        "MERCHANT_ID",
        "--account",
        MERCHANT,
        "--relation-type",
        "SUPPLIER",
    ];
    let mut malformed_type = add_merchant(&[]);
    malformed_type[6] = "merchant id";
    let mut long_name = add_merchant(&[]);
    let long = "名".repeat(80);
    long_name[10] = &long;
    for (args, says) in [
        (&no_name[..], "--name is required"),
        (&malformed_type[..], "`type`"),
        (&long_name[..], "`name`"),
    ] {
        let out = ext.run(args);
        assert_eq!(out.status.code(), Some(2), "{says}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    assert!(ext.mock.receivers(keys::TEST_MCHID).is_empty());

    // A well-formed value the client does not know is WeChat Pay's to judge (new values
    // appear): sent, and its refusal is an API error, exit 1.
    let mut unknown_type = add_merchant(&[]);
    unknown_type[6] = "BANK_ACCOUNT";
    let out = ext.run(&unknown_type);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("PARAM_ERROR") && stderr.contains("type"),
        "{stderr}"
    );
    assert!(ext.mock.receivers(keys::TEST_MCHID).is_empty());
}

#[test]
fn against_the_embedded_mock() {
    let out = Command::new(BIN)
        .env_clear()
        .arg("--mock")
        .args(add_merchant(&[]))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("added: MERCHANT_ID"));
}
