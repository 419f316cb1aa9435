//! `wechatpay notification verify`, run as a process on every vector of
//! `core/testdata/notifications.json` (made by an independent implementation), each written
//! as the raw HTTP/1.1 request WeChat Pay would send and verified at its own timestamp: a
//! valid one exits 0 printing its resource; an invalid one exits 1 saying why.

#![cfg(feature = "cli")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");

#[derive(Deserialize)]
struct Vectors {
    notifications: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    case: String,
    headers: BTreeMap<String, String>,
    body: String,
    valid: bool,
    why: Option<String>,
    resource: Option<serde_json::Value>,
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/testdata")
        .join(name)
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(testdata("notifications.json")).expect("vectors");
    serde_json::from_str::<Vectors>(&text)
        .expect("notifications.json")
        .notifications
}

/// The APIv3 key of the vectors (`config.apiv3_key` of vectors.json), in a file.
fn apiv3_key_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(testdata("vectors.json")).expect("vectors.json");
    let config: serde_json::Value = serde_json::from_str(&text).expect("json");
    let key = config["config"]["apiv3_key"].as_str().expect("apiv3_key");
    let path = dir.join("apiv3.key");
    // A trailing newline, as an editor leaves it: the CLI trims it.
    std::fs::write(&path, format!("{key}\n")).expect("write key");
    path
}

/// The vector's body. The file's "body changed after signing" carries the valid body
/// unchanged (a defect no verifier can see through): change one byte of it, as its case says.
fn body(v: &Vector, all: &[Vector]) -> Vec<u8> {
    let mut body = v.body.clone().into_bytes();
    let copy = all
        .iter()
        .any(|w| w.valid && w.headers == v.headers && w.body == v.body);
    if !v.valid && copy {
        let at = body.len() / 2;
        body[at] ^= 0x01;
    }
    body
}

/// The request as captured on the wire: request line, headers, empty line, body.
fn raw_request(v: &Vector, body: &[u8], line_end: &str) -> Vec<u8> {
    let mut raw = format!(
        "POST /wechatpay/notify HTTP/1.1{line_end}Host: merchant.example{line_end}Content-Type: application/json{line_end}"
    );
    for (name, value) in &v.headers {
        raw.push_str(&format!("{name}: {value}{line_end}"));
    }
    raw.push_str(&format!(
        "Content-Length: {}{line_end}{line_end}",
        body.len()
    ));
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `wechatpay notification verify` trusting the vectors' public key and platform certificate.
fn verify_command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .args(["notification", "verify"])
        .args([
            "--wechatpay-public-key-id",
            "PUB_KEY_ID_0119000001002026112400000000000001",
        ])
        .arg("--wechatpay-public-key")
        .arg(testdata("wechatpay_public_key.pem"))
        .arg("--platform-certificate")
        .arg(testdata("platform_certificate.pem"))
        .arg("--apiv3-key-file")
        .arg(apiv3_key_file(dir));
    c
}

/// The words of the reason each `why` of the vectors stands for.
fn reason(why: &str) -> &'static str {
    match why {
        "signature mismatch" => "signature does not match",
        "signature mismatch (re-serialised body)" => "re-serialised",
        "no key for serial" => "no trusted key has the serial",
        "signature probe" => "probe signature",
        "unsupported signature type" => "WECHATPAY2-SM2-WITH-SM3 is not supported",
        "decryption failed (tag)" => "authentication failed",
        "unsupported algorithm" => "algorithm is not AEAD_AES_256_GCM",
        "not an encrypted resource" => "not an encrypted resource",
        other => panic!("a vector reason this test does not know: {other}"),
    }
}

fn run_file(dir: &Path, all: &[Vector], n: usize, line_end: &str, extra: &[&str]) -> Output {
    let v = &all[n];
    let path = dir.join(format!("notification-{n}.http"));
    std::fs::write(&path, raw_request(v, &body(v, all), line_end)).expect("write request");
    verify_command(dir)
        .arg("--request")
        .arg(&path)
        .args(["--at", &v.headers["Wechatpay-Timestamp"]])
        .args(extra)
        .output()
        .expect("run wechatpay")
}

#[test]
fn every_vector_gets_its_verdict_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors = vectors();
    assert!(vectors.len() >= 13);
    for (n, v) in vectors.iter().enumerate() {
        for line_end in ["\r\n", "\n"] {
            let out = run_file(dir.path(), &vectors, n, line_end, &[]);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            if v.valid {
                assert_eq!(out.status.code(), Some(0), "{}: {stderr}", v.case);
                let printed: serde_json::Value =
                    serde_json::from_str(&stdout).expect("the resource as JSON");
                assert_eq!(Some(&printed), v.resource.as_ref(), "{}", v.case);
                assert!(stderr.contains("verified: notification"), "{stderr}");
            } else {
                let why = v.why.as_deref().expect("an invalid vector says why");
                assert_eq!(out.status.code(), Some(1), "{}: {stderr}", v.case);
                assert!(stdout.is_empty(), "{}: {stdout}", v.case);
                assert!(
                    stderr.contains("the notification did not verify")
                        && stderr.contains(reason(why)),
                    "{}: expected {why:?}, got {stderr}",
                    v.case
                );
            }
        }
    }
}

#[test]
fn json_prints_the_whole_notification_with_its_resource_decrypted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors = vectors();
    let v = &vectors[0];
    let out = run_file(dir.path(), &vectors, 0, "\r\n", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let whole: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let body: serde_json::Value = serde_json::from_str(&v.body).expect("body");
    for field in ["id", "create_time", "event_type", "summary"] {
        assert_eq!(whole[field], body[field], "{field}");
    }
    assert_eq!(whole["original_type"], "profitsharing");
    assert_eq!(Some(&whole["resource"]), v.resource.as_ref());
    assert_eq!(whole["request_id"], v.headers["Request-ID"].as_str());

    // A failure with --json: the error as JSON on stdout, still exit 1.
    let tampered = vectors
        .iter()
        .position(|v| v.why.as_deref() == Some("signature mismatch"))
        .expect("a mismatch vector");
    let out = run_file(dir.path(), &vectors, tampered, "\r\n", &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).expect("error JSON");
    assert_eq!(error["error"]["kind"], "SignatureMismatch");
}

#[test]
fn the_request_comes_from_standard_input_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = &vectors()[0];
    let mut child = verify_command(dir.path())
        .args(["--at", &v.headers["Wechatpay-Timestamp"]])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(&raw_request(v, v.body.as_bytes(), "\r\n"))
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(Some(&printed), v.resource.as_ref());
}

#[test]
fn a_stale_notification_is_refused_and_at_is_suggested() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = &vectors()[0];
    let path = dir.path().join("captured.http");
    std::fs::write(&path, raw_request(v, v.body.as_bytes(), "\r\n")).expect("write");
    // No --at: the clock now, years after the capture.
    let out = verify_command(dir.path())
        .arg("--request")
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("away from the local clock"), "{stderr}");
    assert!(stderr.contains("--at"), "{stderr}");
}

#[test]
fn verbose_shows_the_request_as_parsed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vectors = vectors();
    let out = run_file(dir.path(), &vectors, 0, "\n", &["--verbose"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("> POST /wechatpay/notify"), "{stderr}");
    assert!(
        stderr.contains("> wechatpay-serial: PUB_KEY_ID_0119000001002026112400000000000001"),
        "{stderr}"
    );
    assert!(stderr.contains(&vectors[0].body), "{stderr}");
}

#[test]
fn the_mock_flag_trusts_the_mock_test_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = &vectors()[0];
    let path = dir.path().join("captured.http");
    std::fs::write(&path, raw_request(v, v.body.as_bytes(), "\n")).expect("write");
    let out = Command::new(BIN)
        .env_clear()
        .args(["--mock", "notification", "verify", "--request"])
        .arg(&path)
        .args(["--at", &v.headers["Wechatpay-Timestamp"]])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("test keys"));
}

#[test]
fn usage_and_configuration_exit_2_naming_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = &vectors()[0];
    let path = dir.path().join("captured.http");
    std::fs::write(&path, raw_request(v, v.body.as_bytes(), "\r\n")).expect("write");
    let not_http = dir.path().join("body.json");
    std::fs::write(&not_http, &v.body).expect("write");
    let key = apiv3_key_file(dir.path());
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        // No WeChat Pay key at all.
        (
            vec!["--apiv3-key-file".into(), key.clone().into()],
            "needs WeChat Pay's key",
        ),
        // No APIv3 key.
        (
            vec![
                "--platform-certificate".into(),
                testdata("platform_certificate.pem").into(),
            ],
            "needs the APIv3 key",
        ),
        // Half of the public key pair.
        (
            vec![
                "--apiv3-key-file".into(),
                key.clone().into(),
                "--wechatpay-public-key-id".into(),
                "PUB_KEY_ID_0119000001002026112400000000000001".into(),
            ],
            "go together",
        ),
        // A certificate file that is not one.
        (
            vec![
                "--apiv3-key-file".into(),
                key.clone().into(),
                "--platform-certificate".into(),
                key.clone().into(),
            ],
            "--platform-certificate",
        ),
    ];
    for (args, says) in cases {
        let out = Command::new(BIN)
            .env_clear()
            .args(["notification", "verify", "--request"])
            .arg(&path)
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{says}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    // The body alone is not a captured request.
    let out = verify_command(dir.path())
        .arg("--request")
        .arg(&not_http)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not an HTTP request as captured"),
        "{}",
        text(&out.stderr)
    );
    // A missing file.
    let out = verify_command(dir.path())
        .args(["--request", "/nonexistent/captured.http"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read --request"));
}

#[test]
fn help_teaches_with_examples() {
    for args in [
        &["notification", "--help"][..],
        &["notification", "verify", "--help"],
        &["profit-sharing", "--help"],
        &["profit-sharing", "receivers", "--help"],
        &["profit-sharing", "receivers", "add", "--help"],
        &["profit-sharing", "receivers", "delete", "--help"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage"), "{args:?}");
        let last = help.trim_end().lines().last().unwrap_or_default();
        assert!(help.contains("Example"), "{args:?}: {help}");
        assert!(
            last.contains("wechatpay") || last.trim_start().starts_with("--"),
            "{args:?} ends with an example: {last}"
        );
    }
    let out = Command::new(BIN)
        .args(["notification", "verify", "--help"])
        .output()
        .expect("run");
    let help = text(&out.stdout);
    assert!(help.contains("replaying"), "{help}");
    assert!(help.contains("re-serialise"), "{help}");
}
