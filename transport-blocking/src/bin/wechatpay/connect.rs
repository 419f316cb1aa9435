//! From flags and environment to a ready client: the real WeChat Pay, or the embedded mock.

use std::path::Path;

use wechatpay_core::{Client, DEFAULT_BASE_URL, KeyRing, MerchantCredentials};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_blocking::BlockingClient;

use crate::Fail;
use crate::args::Connection;

/// The embedded mock and the runtime that serves it; alive as long as this value.
pub(crate) struct Embedded {
    pub(crate) mock: MockWechatPay,
    _runtime: tokio::runtime::Runtime,
}

/// Starts the embedded mock WeChat Pay.
pub(crate) fn embedded(builder: wechatpay_mock_server::MockBuilder) -> Result<Embedded, Fail> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Fail::runtime(format!("cannot start the embedded mock: {e}")))?;
    let mock = runtime
        .block_on(builder.start())
        .map_err(|e| Fail::runtime(format!("cannot start the embedded mock: {e}")))?;
    Ok(Embedded {
        mock,
        _runtime: runtime,
    })
}

/// The core client the flags describe, or the embedded mock's when none are given.
pub(crate) fn core_client(conn: &Connection) -> Result<(Client, Option<Embedded>), Fail> {
    if conn.base_url.is_none() && !conn.any_credential() {
        let embedded = embedded(MockWechatPay::builder())?;
        eprintln!(
            "wechatpay: no base URL or credentials given: using the embedded mock WeChat Pay at {}",
            embedded.mock.base_url()
        );
        return Ok((embedded.mock.client(), Some(embedded)));
    }
    let mchid = required(conn.mchid.as_deref(), "--mchid", "WECHATPAY_MCHID")?;
    let serial = required(
        conn.merchant_serial.as_deref(),
        "--merchant-serial",
        "WECHATPAY_MERCHANT_SERIAL",
    )?;
    let key_path = required(
        conn.merchant_private_key.as_deref(),
        "--merchant-private-key",
        "WECHATPAY_MERCHANT_PRIVATE_KEY",
    )?;
    let public_id = required(
        conn.wechatpay_public_key_id.as_deref(),
        "--wechatpay-public-key-id",
        "WECHATPAY_PUBLIC_KEY_ID",
    )?;
    let public_path = required(
        conn.wechatpay_public_key.as_deref(),
        "--wechatpay-public-key",
        "WECHATPAY_PUBLIC_KEY",
    )?;

    let key_pem = read(key_path, "--merchant-private-key")?;
    let merchant = MerchantCredentials::from_pem(mchid, serial, &key_pem).map_err(|e| {
        Fail::usage(format!(
            "--merchant-private-key {}: {e}",
            key_path.display()
        ))
    })?;
    let public_pem = read(public_path, "--wechatpay-public-key")?;
    let keys = KeyRing::new()
        .with_wechatpay_public_key_pem(public_id, &public_pem)
        .map_err(|e| {
            Fail::usage(format!(
                "--wechatpay-public-key {}: {e}",
                public_path.display()
            ))
        })?;
    let client = Client::builder(merchant, keys)
        .base_url(conn.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
        .build()
        .map_err(|e| Fail::usage(format!("--base-url: {e}")))?;
    Ok((client, None))
}

/// A blocking client with the default limits.
pub(crate) fn blocking(core: Client) -> Result<BlockingClient, Fail> {
    BlockingClient::new(core).map_err(|e| Fail::usage(e.to_string()))
}

fn required<'a, T: ?Sized>(value: Option<&'a T>, flag: &str, env: &str) -> Result<&'a T, Fail> {
    value.ok_or_else(|| {
        Fail::usage(format!(
            "{flag} (or {env}) is required when connecting to a real WeChat Pay; give none of the connection settings to use the embedded mock"
        ))
    })
}

fn read(path: &Path, flag: &str) -> Result<String, Fail> {
    std::fs::read_to_string(path)
        .map_err(|e| Fail::usage(format!("cannot read {flag} {}: {e}", path.display())))
}
