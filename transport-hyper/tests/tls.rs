//! The standalone sandbox over HTTPS (`--tls`): both transports trust its generated CA through
//! `TransportConfig::extra_root_certificates` and run a create; without the CA the handshake
//! fails as a transport error that is neither retryable nor of unknown fate (nothing was sent).

use std::path::Path;
use std::process::Stdio;

use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_core::{Client, CreateAfterSalesOrder, Error, ErrorKind, Scene, TransportConfig};
use wechatpay_mock_server::keys;
use wechatpay_transport_blocking::BlockingClient;
use wechatpay_transport_hyper::HyperClient;

/// The sandbox over HTTPS, and its CA certificate (PEM).
fn sandbox() -> (Standalone, String) {
    let binary = sandbox::binary(false).expect("the mock binary");
    let sandbox = Standalone::start(Path::new(&binary), &["--quiet", "--tls"], Stdio::null())
        .expect("the sandbox");
    assert!(
        sandbox.base_url().starts_with("https://127.0.0.1:"),
        "{}",
        sandbox.base_url()
    );
    let ca_path = sandbox.ready()["ca_certificate"]
        .as_str()
        .expect("ca_certificate in the readiness line")
        .to_owned();
    let ca = std::fs::read_to_string(&ca_path).expect("the CA certificate");
    (sandbox, ca)
}

fn core(sandbox: &Standalone) -> Client {
    keys::test_client_builder(sandbox.base_url())
        .expect("builder")
        .build()
        .expect("client")
}

fn trusting(ca: &str) -> TransportConfig {
    TransportConfig {
        extra_root_certificates: vec![ca.to_owned()],
        ..Default::default()
    }
}

fn create(transaction_id: &str) -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        "1900000109",
        transaction_id,
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
}

fn assert_tls_refusal(e: &Error) {
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(!e.is_retryable(), "{e}");
    assert!(!e.is_fate_unknown(), "{e}");
    assert!(e.to_string().contains("TLS certificate"), "{e}");
}

#[test]
fn blocking_client_trusts_the_generated_ca() {
    let (sandbox, ca) = sandbox();
    let client =
        BlockingClient::with_config(core(&sandbox), trusting(&ca)).expect("blocking client");
    client
        .execute(&create("4208450740201411110000009501"))
        .expect("a create over HTTPS");
}

#[tokio::test]
async fn hyper_client_trusts_the_generated_ca() {
    let (sandbox, ca) = sandbox();
    let client = HyperClient::with_config(core(&sandbox), trusting(&ca)).expect("hyper client");
    client
        .execute(&create("4208450740201411110000009502"))
        .await
        .expect("a create over HTTPS");
}

#[test]
fn without_the_ca_blocking_fails_as_tls() {
    let (sandbox, _) = sandbox();
    let client = BlockingClient::new(core(&sandbox)).expect("blocking client");
    let e = client
        .execute(&create("4208450740201411110000009503"))
        .expect_err("an unknown CA is refused");
    assert_tls_refusal(&e);
}

#[tokio::test]
async fn without_the_ca_hyper_fails_as_tls() {
    let (sandbox, _) = sandbox();
    let client = HyperClient::new(core(&sandbox)).expect("hyper client");
    let e = client
        .execute(&create("4208450740201411110000009504"))
        .await
        .expect_err("an unknown CA is refused");
    assert_tls_refusal(&e);
}

#[test]
fn given_certificate_and_key_are_served() {
    let (generated, ca) = sandbox();
    let ready = generated.ready();
    let cert = ready["tls_certificate"].as_str().expect("tls_certificate");
    let key = Path::new(cert).with_file_name("tls_private_key.pem");
    let key = key.to_str().expect("utf8");
    let binary = sandbox::binary(false).expect("the mock binary");
    let given = Standalone::start(
        &binary,
        &["--quiet", "--tls-cert", cert, "--tls-key", key],
        Stdio::null(),
    )
    .expect("the sandbox with a given certificate");
    assert!(
        given.base_url().starts_with("https://"),
        "{}",
        given.base_url()
    );
    assert!(given.ready().get("ca_certificate").is_none());
    assert_eq!(given.ready()["tls_certificate"].as_str(), Some(cert));
    let client = BlockingClient::with_config(core(&given), trusting(&ca)).expect("blocking client");
    client
        .execute(&create("4208450740201411110000009505"))
        .expect("a create over HTTPS");
}

/// Both transports reach the https sandbox through a real forward proxy (`proxy.py`), with
/// `CONNECT` and the proxy's credentials: TLS runs end to end through the tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_transports_reach_the_https_sandbox_through_a_proxy() {
    let Some(proxy) = wechatpay_conformance::proxy::ForwardProxy::start(Some("ops:s3cret")) else {
        return;
    };
    let (sandbox, ca) = sandbox();
    let config = TransportConfig {
        proxy: proxy.setting(Some("ops:s3cret")),
        ..trusting(&ca)
    };
    let hyper = HyperClient::with_config(core(&sandbox), config.clone()).expect("hyper");
    let made = hyper
        .execute(&create("4208450740201411110000009601"))
        .await
        .expect("hyper through the proxy");
    assert_eq!(made.amount, Some(100));
    drop(hyper);
    let blocking = BlockingClient::with_config(core(&sandbox), config).expect("blocking");
    let made = tokio::task::spawn_blocking(move || {
        blocking.execute(&create("4208450740201411110000009602"))
    })
    .await
    .expect("the blocking call")
    .expect("blocking through the proxy");
    assert_eq!(made.amount, Some(100));
    assert!(
        proxy.connects_at_least(2) >= 2,
        "the proxy's log shows both CONNECTs"
    );
}

/// Through the proxy as without it: a certificate the client does not trust is a TLS refusal,
/// not an exchange of unknown fate (the CONNECT written to the proxy is not the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_proxy_without_the_ca_both_fail_as_tls() {
    let Some(proxy) = wechatpay_conformance::proxy::ForwardProxy::start(None) else {
        return;
    };
    let (sandbox, _ca) = sandbox();
    let config = TransportConfig {
        proxy: proxy.setting(None),
        ..TransportConfig::default()
    };
    let hyper = HyperClient::with_config(core(&sandbox), config.clone()).expect("hyper");
    let e = hyper
        .execute(&create("4208450740201411110000009611"))
        .await
        .expect_err("the certificate is refused");
    assert_tls_refusal(&e);
    let blocking = BlockingClient::with_config(core(&sandbox), config).expect("blocking");
    let e = tokio::task::spawn_blocking(move || {
        blocking.execute(&create("4208450740201411110000009612"))
    })
    .await
    .expect("the blocking call")
    .expect_err("the certificate is refused");
    assert_tls_refusal(&e);
}
