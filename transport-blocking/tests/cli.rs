//! The `wechatpay` binary, run as a process against the embedded and an external mock.

use std::path::PathBuf;
use std::process::{Command, Output};

use wechatpay_mock_server::{MockBuilder, MockWechatPay, keys};

mod cli_support;

use cli_support::{BIN, merchant_command};

struct External {
    _rt: tokio::runtime::Runtime,
    mock: MockWechatPay,
    dir: tempfile::TempDir,
}

impl External {
    /// A mock listening on a real port, and key files as a user would have them.
    fn start() -> Self {
        Self::with(MockWechatPay::builder().processing(1, std::time::Duration::ZERO))
    }

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
            ("wrong_pub_key.pem", keys::TEST_MERCHANT_PUBLIC_KEY),
        ] {
            std::fs::write(dir.path().join(name), pem).expect("write key");
        }
        Self { _rt: rt, mock, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `wechatpay` with this mock's base URL and merchant, and a clean environment.
    fn merchant_command(&self) -> Command {
        merchant_command(&self.mock.base_url(), &self.path("apiclient_key.pem"))
    }

    /// `wechatpay` in public-key mode against this mock (`public_key` file name chosen).
    fn run(&self, public_key: &str, args: &[&str]) -> Output {
        self.merchant_command()
            .args([
                "--wechatpay-public-key-id",
                keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            ])
            .arg("--wechatpay-public-key")
            .arg(self.path(public_key))
            .args(args)
            .output()
            .expect("run wechatpay")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const CREATE: [&str; 12] = [
    "after-sales",
    "create",
    "--sub-mchid",
    "1900000109",
    "--transaction-id",
    "4208450740201411110007820472",
    "--amount",
    "100",
    "--scene",
    "REFUND_TICKET",
    "--refund-id",
    "50000000382019052709732678859",
];
const QUERY: [&str; 6] = [
    "after-sales",
    "query",
    "--sub-mchid",
    "1900000109",
    "--transaction-id",
    "4208450740201411110007820472",
];

#[test]
fn demo_tells_the_whole_story() {
    let out = Command::new(BIN)
        .arg("demo")
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("signed message"), "{stdout}");
    assert!(stdout.contains("signature=\"<redacted>\""), "{stdout}");
    assert!(stdout.contains("result: SUCCESS"), "{stdout}");
    assert!(
        stdout.contains("result: FAILED") && stdout.contains("fail_reason=NO_RELATION"),
        "{stdout}"
    );
    // The platform's whole flow, in order: paid, receiver, split, refusal, what is left,
    // finish, return, after-sales.
    let steps = [
        "as paid: 10000 fen to sub-merchant 1900000109",
        "added: MERCHANT_ID 1900000110 (name encrypted with WeChat Pay key",
        "split: PROCESSING out_order_no=P20150806125346",
        "split: FINISHED out_order_no=P20150806125346",
        "share: SUCCESS MERCHANT_ID 1900000110 amount=3000 fen",
        "refused as it should be: 分账金额不足",
        "unsplit_amount: 7000 fen",
        "finished: out_order_no=F20150806125346",
        "unsplit_amount: 0 fen",
        "return: PROCESSING out_return_no=R20190516001",
        "return: SUCCESS out_return_no=R20190516001",
        "result: SUCCESS",
        "result: FAILED",
        "done: every request was signed",
    ];
    let mut from = 0;
    for step in steps {
        let at = stdout[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} after byte {from}: {stdout}"));
        from += at + step.len();
    }
    assert!(!stdout.contains(NAME_IN_DEMO), "the name leaves encrypted");
    assert!(text(&out.stderr).contains("embedded mock"));
}

/// The receiver's name the demo encrypts.
const NAME_IN_DEMO: &str = "示例商户全称有限公司";

#[test]
fn create_and_query_with_json_output() {
    let ext = External::start();
    let out = ext.run("pub_key.pem", &[&CREATE[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(created["transaction_id"], "4208450740201411110007820472");
    assert_eq!(created["amount"], 100);

    let out = ext.run("pub_key.pem", &[&QUERY[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(first["result"], "PROCESSING");

    let out = ext.run("pub_key.pem", &[&QUERY[..], &["--json", "--wait"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(done["result"], "SUCCESS");
    assert!(
        done["finish_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00")),
        "{done}"
    );
    assert_eq!(ext.mock.order_count(), 1);
}

#[test]
fn a_wechatpay_key_that_does_not_match_fails_with_exit_1() {
    let ext = External::start();
    let out = ext.run("wrong_pub_key.pem", &CREATE);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("signature did not verify"), "{stderr}");
    assert!(stderr.contains("Request-ID"), "{stderr}");
}

#[test]
fn an_api_error_prints_code_message_and_request_id() {
    let ext = External::start();
    let out = ext.run("pub_key.pem", &QUERY);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("RESOURCE_NOT_EXISTS"), "{stderr}");
    assert!(stderr.contains("Request-ID:"), "{stderr}");
}

#[test]
fn a_missing_key_file_exits_2_naming_it() {
    let out = Command::new(BIN)
        .args([
            "--base-url",
            "http://127.0.0.1:9",
            "--mchid",
            "1900000100",
            "--merchant-serial",
            "ABC",
        ])
        .args(["--merchant-private-key", "/nonexistent/apiclient_key.pem"])
        .args([
            "--wechatpay-public-key-id",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            "--wechatpay-public-key",
            "/nonexistent/pub.pem",
        ])
        .args(QUERY)
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/apiclient_key.pem"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn partial_settings_and_bad_input_exit_2() {
    let out = Command::new(BIN)
        .args(["--mchid", "1900000100"])
        .args(QUERY)
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--merchant-serial"),
        "{}",
        text(&out.stderr)
    );

    let ext = External::start();
    let mut bad = CREATE.to_vec();
    bad[7] = "0";
    let out = ext.run("pub_key.pem", &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("amount"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(ext.mock.order_count(), 0);
}

#[test]
fn plain_http_to_a_remote_host_exits_2_before_connecting() {
    let ext = External::start();
    let mut c = Command::new(BIN);
    c.args([
        "--base-url",
        "http://example.invalid",
        "--mchid",
        keys::TEST_MCHID,
        "--merchant-serial",
        keys::TEST_MERCHANT_SERIAL,
        "--wechatpay-public-key-id",
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
    ])
    .arg("--merchant-private-key")
    .arg(ext.path("apiclient_key.pem"))
    .arg("--wechatpay-public-key")
    .arg(ext.path("pub_key.pem"))
    .args(QUERY)
    .env_clear();
    let out = c.output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("unencrypted"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn settings_come_from_the_environment_too() {
    let ext = External::start();
    let out = Command::new(BIN)
        .args(CREATE)
        .env_clear()
        .env("WECHATPAY_BASE_URL", ext.mock.base_url())
        .env("WECHATPAY_MCHID", keys::TEST_MCHID)
        .env("WECHATPAY_MERCHANT_SERIAL", keys::TEST_MERCHANT_SERIAL)
        .env(
            "WECHATPAY_MERCHANT_PRIVATE_KEY",
            ext.path("apiclient_key.pem"),
        )
        .env(
            "WECHATPAY_PUBLIC_KEY_ID",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        )
        .env("WECHATPAY_PUBLIC_KEY", ext.path("pub_key.pem"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("accepted:"));
}

#[test]
fn verbose_shows_the_exchange_without_secrets() {
    let ext = External::start();
    let out = ext.run("pub_key.pem", &[&CREATE[..], &["--verbose"]].concat());
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("> POST "), "{stderr}");
    assert!(stderr.contains("< 200"), "{stderr}");
    assert!(stderr.contains("signature=\"<redacted>\""), "{stderr}");
    assert!(
        stderr.contains("< wechatpay-signature: <redacted>"),
        "{stderr}"
    );
    let key_line = keys::TEST_MERCHANT_PRIVATE_KEY
        .lines()
        .nth(3)
        .expect("key line");
    assert!(!stderr.contains(key_line));
}

#[test]
fn help_on_every_command() {
    for args in [
        &["--help"][..],
        &["after-sales", "--help"],
        &["after-sales", "create", "--help"],
        &["after-sales", "query", "--help"],
        &["demo", "--help"],
        &["certificates", "download", "--help"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage"), "{args:?}");
        if args.len() > 1 && args[0] != "after-sales" || args.len() == 3 {
            assert!(help.contains("Example:"), "{args:?}: {help}");
        }
    }
    let out = Command::new(BIN).arg("--help").output().expect("run");
    let help = text(&out.stdout);
    assert!(
        help.starts_with("wechatpay: the command line for WeChat Pay APIv3"),
        "{help}"
    );
    assert!(
        help.contains("Connection (flags or WECHATPAY_* environment):"),
        "{help}"
    );
    assert!(help.contains("--apiv3-key-file"), "{help}");
    let out = Command::new(BIN)
        .args(["after-sales", "create"])
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing required flags is bad usage"
    );
}

/// A mock whose test merchant is in certificate mode, answers signed by the platform
/// certificate; key files as a user would have them.
fn certificate_mode() -> External {
    External::with(MockWechatPay::builder().test_certificate_mode())
}

fn run_certificate_mode(ext: &External, apiv3: &str, args: &[&str]) -> Output {
    ext.merchant_command()
        .args(args)
        .env("WECHATPAY_APIV3_KEY", apiv3)
        .output()
        .expect("run wechatpay")
}

#[test]
fn certificates_download_writes_the_decrypted_certificates() {
    let ext = certificate_mode();
    let out_dir = ext.path("certs");
    let out = run_certificate_mode(
        &ext,
        keys::TEST_APIV3_KEY,
        &[
            "certificates",
            "download",
            "--json",
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        listed["certificates"][0]["serial_no"],
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );
    let file = out_dir.join("wechatpay_5157F09EFDC096DE15EBE81A47057A7232F1B8E1.pem");
    let pem = std::fs::read_to_string(&file).expect("written");
    let cert = wechatpay_core::PlatformCertificate::from_pem(&pem).expect("a certificate");
    assert_eq!(cert.serial(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
}

#[test]
fn a_wrong_apiv3_key_is_configuration_exit_2() {
    let ext = certificate_mode();
    for args in [&["certificates", "download"][..], &CREATE] {
        let out = run_certificate_mode(&ext, "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("authentication failed"), "{stderr}");
        assert!(
            !stderr.contains("Z9y8X7w6"),
            "the key is never printed: {stderr}"
        );
    }
    assert_eq!(ext.mock.order_count(), 0);
}

#[test]
fn the_apiv3_key_comes_from_a_file_and_a_flag_value_is_warned_about() {
    let ext = certificate_mode();
    let key_file = ext.path("apiv3.key");
    std::fs::write(&key_file, format!("{}\n", keys::TEST_APIV3_KEY)).expect("write");
    let out = ext
        .merchant_command()
        .arg("--apiv3-key-file")
        .arg(&key_file)
        .args(["certificates", "download"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let out = ext
        .merchant_command()
        .args([
            "--apiv3-key",
            keys::TEST_APIV3_KEY,
            "certificates",
            "download",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: the APIv3 key given as a flag value"),
        "{}",
        text(&out.stderr)
    );
    // From the environment: no warning.
    let out = run_certificate_mode(&ext, keys::TEST_APIV3_KEY, &["certificates", "download"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verbose_shows_the_certificate_download_too() {
    let ext = certificate_mode();
    let mut args = vec!["--verbose"];
    args.extend(CREATE);
    let out = run_certificate_mode(&ext, keys::TEST_APIV3_KEY, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let download = format!("> GET {}/v3/certificates", ext.mock.base_url());
    assert!(stderr.contains(&download), "{stderr}");
    assert!(stderr.contains("> POST "), "{stderr}");
    assert!(!stderr.contains(keys::TEST_APIV3_KEY), "{stderr}");
}

#[test]
fn no_settings_is_an_error_unless_mock_is_asked_for() {
    let out = Command::new(BIN)
        .args(CREATE)
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no connection settings") && stderr.contains("--mock"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing was accepted");
    let out = Command::new(BIN)
        .arg("--mock")
        .args(CREATE)
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--mock: using the embedded mock"));
    assert!(text(&out.stdout).starts_with("accepted:"));
    // --mock with real settings is a contradiction.
    let out = Command::new(BIN)
        .args(["--mock", "--mchid", "1900000100"])
        .args(CREATE)
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_for_each_shell() {
    for (shell, needle) in [
        ("bash", "complete"),
        ("zsh", "#compdef wechatpay"),
        ("fish", "complete -c wechatpay"),
    ] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .env_clear()
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains(needle), "{shell}");
        assert!(text(&out.stdout).contains("after-sales"), "{shell}");
    }
}

#[test]
fn the_wait_progress_line_shows_on_a_terminal() {
    let ext = External::with(MockWechatPay::builder().processing(2, std::time::Duration::ZERO));
    assert_eq!(ext.run("pub_key.pem", &CREATE).status.code(), Some(0));
    // `script` (util-linux) runs the command on a pseudo-terminal.
    let command = format!(
        "{BIN} --base-url {} --mchid {} --merchant-serial {} --merchant-private-key {} --wechatpay-public-key-id {} --wechatpay-public-key {} {} --wait",
        ext.mock.base_url(),
        keys::TEST_MCHID,
        keys::TEST_MERCHANT_SERIAL,
        ext.path("apiclient_key.pem").display(),
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        ext.path("pub_key.pem").display(),
        QUERY.join(" "),
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("script (util-linux) runs");
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("\rwaiting for a final result: PROCESSING (query 1"),
        "{screen:?}"
    );
    assert!(screen.contains("SUCCESS"), "{screen}");
    // Not on a terminal: no progress line.
    let out = ext.run("pub_key.pem", &[&QUERY[..], &["--wait"]].concat());
    assert!(!text(&out.stderr).contains("waiting for a final result"));
}

#[test]
fn commands_run_in_certificate_mode_without_a_public_key() {
    let ext = certificate_mode();
    let out = run_certificate_mode(&ext, keys::TEST_APIV3_KEY, &CREATE);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("accepted:"));
    // Without --apiv3-key, the public key is required again.
    let out = ext.merchant_command().args(CREATE).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--wechatpay-public-key-id"),
        "{}",
        text(&out.stderr)
    );
}

/// The standalone `wechatpay-mock-server` binary: next to this test's executable when the
/// workspace was built (as `cargo test --workspace` does), else built now.
fn mock_server_binary() -> PathBuf {
    wechatpay_conformance::sandbox::binary(false).expect("the mock binary")
}

/// A running standalone mock and its readiness line; killed on drop.
struct Standalone {
    child: std::process::Child,
    ready: serde_json::Value,
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standalone {
    fn start(keys_dir: &std::path::Path) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(mock_server_binary())
            .args(["--quiet", "--keys-dir"])
            .arg(keys_dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the mock server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let ready = serde_json::from_str(&line).expect("JSON readiness line");
        Self { child, ready }
    }

    fn field(&self, name: &str) -> String {
        self.ready[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {}", self.ready))
            .to_owned()
    }

    /// `wechatpay` configured from the readiness line, verifying with `public_key`.
    fn run(&self, public_key: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args([
                "--base-url",
                &self.field("base_url"),
                "--mchid",
                &self.field("mchid"),
            ])
            .args(["--merchant-serial", &self.field("merchant_serial")])
            .args([
                "--merchant-private-key",
                &self.field("merchant_private_key"),
            ])
            .args([
                "--wechatpay-public-key-id",
                &self.field("wechatpay_public_key_id"),
            ])
            .args(["--wechatpay-public-key", public_key])
            .args(args)
            .env_clear()
            .output()
            .expect("run wechatpay")
    }
}

#[test]
fn against_the_standalone_mock_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Standalone::start(dir.path());
    let right_key = server.field("wechatpay_public_key");

    let out = server.run(&right_key, &[&CREATE[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(created["sub_mchid"], "1900000109");
    assert_eq!(created["amount"], 100);

    let out = server.run(
        &right_key,
        &[&QUERY[..], &["--json", "--wait", "--wait-timeout", "30"]].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let order: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(order["result"], "SUCCESS");
    assert_eq!(order["transaction_id"], "4208450740201411110007820472");
    assert!(
        order["finish_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+08:00"))
    );

    // A WeChat Pay public key that is not the server's: the answer does not verify.
    let wrong = dir.path().join("not_the_servers_key.pem");
    std::fs::write(&wrong, keys::TEST_WECHATPAY_PUBLIC_KEY).expect("write");
    let out = server.run(wrong.to_str().expect("utf8"), &QUERY);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature did not verify"),
        "{}",
        text(&out.stderr)
    );
}
