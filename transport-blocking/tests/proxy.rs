//! Through a real forward proxy (`proxy.py`): calls go through its `CONNECT`, with credentials
//! when it asks for them; wrong credentials are a "not sent" failure naming the proxy.

mod common;

use common::Harness;
use wechatpay_conformance::proxy::ForwardProxy;
use wechatpay_core::{ErrorKind, TransportConfig};
use wechatpay_mock_server::MockWechatPay;

fn through(proxy: &ForwardProxy, credentials: &str) -> TransportConfig {
    TransportConfig {
        proxy: proxy.setting(Some(credentials)),
        ..TransportConfig::default()
    }
}

/// The CLI's key files and a `create` of `transaction_id` against `base_url`, for the test to
/// add its proxy and TLS flags to; the key files live as long as the returned directory.
#[cfg(feature = "cli")]
fn cli_create(base_url: &str, transaction_id: &str) -> (std::process::Command, tempfile::TempDir) {
    use wechatpay_mock_server::keys;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("apiclient_key.pem");
    let public = dir.path().join("pub_key.pem");
    std::fs::write(&key, keys::TEST_MERCHANT_PRIVATE_KEY).expect("key");
    std::fs::write(&public, keys::TEST_WECHATPAY_PUBLIC_KEY).expect("key");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wechatpay"));
    for name in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "ALL_PROXY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "no_proxy",
        "NO_PROXY",
        "WECHATPAY_PROXY",
    ] {
        command.env_remove(name);
    }
    command
        .args(["--base-url", base_url, "--mchid", keys::TEST_MCHID])
        .args(["--merchant-serial", keys::TEST_MERCHANT_SERIAL])
        .arg("--merchant-private-key")
        .arg(&key)
        .args([
            "--wechatpay-public-key-id",
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        ])
        .arg("--wechatpay-public-key")
        .arg(&public)
        .args(["after-sales", "create", "--sub-mchid", common::SUB])
        .args(["--transaction-id", transaction_id, "--amount", "100"])
        .args(["--scene", "REFUND_TICKET"])
        .args(["--refund-id", "50000000382019052709732678859"]);
    (command, dir)
}

#[test]
fn calls_go_through_the_proxy_with_its_credentials() {
    let Some(proxy) = ForwardProxy::start(Some("ops:s3cret")) else {
        return;
    };
    let h = Harness::start(MockWechatPay::builder());
    let order = h
        .client(through(&proxy, "ops:s3cret"))
        .execute(&common::create("4208450740201411110000009101"))
        .expect("through the proxy");
    assert_eq!(order.amount, Some(100));
    assert!(proxy.connects() >= 1, "the proxy's log shows the CONNECT");

    let err = h
        .client(through(&proxy, "ops:wrong"))
        .execute(&common::create("4208450740201411110000009102"))
        .expect_err("refused by the proxy");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_fate_unknown(), "nothing reached WeChat Pay: {err}");
    assert!(err.to_string().contains("proxy"), "{err}");
    assert!(
        !format!("{err:?}").contains("wrong"),
        "no credentials in errors"
    );
    assert_eq!(h.posts(), 1);
}

/// The CLI: `--proxy` (or `WECHATPAY_PROXY`) sends every request through the proxy; `--verbose`
/// names the proxy without its credentials.
#[cfg(feature = "cli")]
#[test]
fn the_cli_goes_through_the_proxy() {
    let Some(proxy) = ForwardProxy::start(Some("ops:s3cret")) else {
        return;
    };
    let h = Harness::start(MockWechatPay::builder());
    let run = |credentials: &str| {
        let (mut command, _keys) = cli_create(&h.mock.base_url(), "4208450740201411110000009301");
        command
            .args(["--proxy", &proxy.url(Some(credentials)), "--verbose"])
            .output()
            .expect("the CLI runs")
    };
    let ok = run("ops:s3cret");
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stderr}");
    assert!(
        stderr.contains("through the proxy http://***@127.0.0.1:"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "no credentials on stderr");
    let refused = run("ops:wrong");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("proxy"));
    assert_eq!(
        h.posts(),
        1,
        "only the call through the right credentials arrived"
    );
}

/// The environment, as curl reads it: `HTTP_PROXY` / `HTTPS_PROXY` send the CLI through the
/// proxy; `NO_PROXY` naming the host bypasses it.
#[cfg(feature = "cli")]
#[test]
fn the_environment_proxy_and_no_proxy() {
    let Some(proxy) = ForwardProxy::start(None) else {
        return;
    };
    let h = Harness::start(MockWechatPay::builder());
    let query = |no_proxy: Option<&str>| {
        let (mut command, _keys) = cli_create(&h.mock.base_url(), "4208450740201411110000009401");
        command
            .env("HTTP_PROXY", proxy.url(None))
            .env("HTTPS_PROXY", proxy.url(None));
        if let Some(hosts) = no_proxy {
            command.env("NO_PROXY", hosts);
        }
        command.output().expect("the CLI runs")
    };
    let through = query(None);
    assert!(
        through.status.success(),
        "{}",
        String::from_utf8_lossy(&through.stderr)
    );
    let connects = proxy.connects();
    assert!(connects >= 1, "the environment's proxy was used");
    let bypassed = query(Some("127.0.0.1"));
    assert!(
        bypassed.status.success(),
        "{}",
        String::from_utf8_lossy(&bypassed.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(proxy.connects(), connects, "NO_PROXY bypassed the proxy");
}

/// The CLI reaches the https sandbox (`--tls`, a child process) through the proxy with
/// `CONNECT`, trusting the sandbox's CA with `--ca-cert`; without the CA, the certificate is
/// refused and nothing is created.
#[cfg(feature = "cli")]
#[test]
fn the_cli_reaches_the_https_sandbox_through_the_proxy_with_its_ca() {
    use wechatpay_conformance::sandbox::{Standalone, binary};
    let Some(proxy) = ForwardProxy::start(None) else {
        return;
    };
    let binary = binary(false).expect("the mock binary");
    let sandbox = Standalone::start(&binary, &["--quiet", "--tls"], std::process::Stdio::null())
        .expect("the https sandbox");
    let ca = sandbox.ready()["ca_certificate"]
        .as_str()
        .expect("ca_certificate")
        .to_owned();
    assert!(sandbox.base_url().starts_with("https://"));
    let run = |ca: Option<&str>| {
        let (mut command, _keys) = cli_create(sandbox.base_url(), "4208450740201411110000009701");
        command.args(["--proxy", &proxy.url(None)]);
        if let Some(ca) = ca {
            command.args(["--ca-cert", ca]);
        }
        command.output().expect("the CLI runs")
    };
    let refused = run(None);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(stderr.contains("certificate"), "{stderr}");
    let ok = run(Some(&ca));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        proxy.connects_at_least(2) >= 2,
        "both runs went through CONNECT"
    );
}
