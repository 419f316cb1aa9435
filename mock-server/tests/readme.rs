//! The README's control-API examples, run as written (bash, curl, jq) against a sandbox
//! started from the library: every request must answer 2xx.

use std::path::Path;
use std::process::Command;

use wechatpay_mock_server::{MockBuilder, standalone};

/// The shell block under "### Steer it: the control API".
fn control_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("the README");
    let section = readme
        .split_once("### Steer it: the control API")
        .expect("the section")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("a sh block")
        .1
        .split_once("\n```")
        .expect("its end")
        .0;
    block.to_owned()
}

/// A `jq` for machines without one: the two forms the README uses (`-r .field`, `-Rs .`).
const JQ_SHIM: &str = r#"#!/usr/bin/env python3
import json, sys
args = sys.argv[1:]
data = sys.stdin.read()
if args[:2] == ["-Rs", "."]:
    print(json.dumps(data))
elif args and args[0] == "-r":
    value = json.loads(data.splitlines()[0] if data.strip() else "null")
    for key in args[1].strip(".").split("."):
        value = value.get(key) if isinstance(value, dict) else None
    print("" if value is None else value)
else:
    sys.exit("jq shim: unsupported " + " ".join(args))
"#;

#[test]
fn every_control_api_example_of_the_readme_runs_as_written() {
    let block = control_block();
    assert!(
        block.contains("/tmp/wx-ready.json"),
        "the block reads the readiness line the README's start command writes"
    );
    let sandbox =
        standalone::spawn(MockBuilder::new(), standalone::Config::default()).expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    // The readiness line, where the README's start command puts it (here: a file of our own).
    let ready = dir.path().join("wx-ready.json");
    std::fs::write(
        &ready,
        format!(
            "{}\n",
            serde_json::json!({ "base_url": sandbox.base_url() })
        ),
    )
    .expect("readiness file");
    let block = block.replace("/tmp/wx-ready.json", &ready.display().to_string());
    let mut path = std::env::var("PATH").unwrap_or_default();
    if Command::new("jq").arg("--version").output().is_err() {
        let shim = dir.path().join("jq");
        std::fs::write(&shim, JQ_SHIM).expect("shim");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("mode");
        }
        path = format!("{}:{path}", dir.path().display());
    }
    // Any answer outside 2xx fails the script (curl's exit 22 under `set -e`).
    let script = format!(
        "set -euo pipefail\ncurl() {{ command curl --fail-with-body \"$@\"; echo; }}\n{block}\n"
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("PATH", path)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the README's block failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        r#""armed":{"count":1,"kind":"system_error","route":"create"}"#,
        r#""mchid":"1900000200","ok":true"#,
        r#""retired":"#,
        r#""rate_limit_code":"RATE_LIMITED""#,
    ] {
        assert!(stdout.contains(expected), "{expected} not in\n{stdout}");
    }
    // The last reset put the sandbox back: one merchant, default settings.
    let settings = Command::new("curl")
        .args(["-s", &format!("{}/mock/settings", sandbox.base_url())])
        .output()
        .expect("curl");
    let settings: serde_json::Value = serde_json::from_slice(&settings.stdout).expect("JSON");
    assert_eq!(settings["rate_limits"], false);
    assert_eq!(settings["platform_mchids"], serde_json::json!([]));
}
