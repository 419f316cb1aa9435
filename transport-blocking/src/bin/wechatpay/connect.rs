//! From flags and environment to a ready client: the real WeChat Pay, or the embedded mock.

use std::path::{Path, PathBuf};

use wechatpay_core::certificates::{ApiV3Key, CertificateKeeper};
use wechatpay_core::notification::NotificationVerifier;
use wechatpay_core::{
    Client, DEFAULT_BASE_URL, KeyRing, MerchantCredentials, PlatformCertificate, ProxySetting,
    ProxyUrl, TransportConfig,
};
use wechatpay_mock_server::{MockWechatPay, SignWith, keys};
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

/// What the flags describe: the core client (with its certificate keeper in certificate mode)
/// and the embedded mock when one was started.
pub(crate) struct Connected {
    pub(crate) core: Client,
    /// Keeps the embedded mock serving while the command runs.
    pub(crate) _embedded: Option<Embedded>,
}

/// The core client the flags describe, or the embedded mock's when none are given.
pub(crate) fn core_client(conn: &Connection) -> Result<Connected, Fail> {
    let apiv3 = apiv3_key(conn)?;
    if conn.mock {
        let mut builder = MockWechatPay::builder();
        if let Some(key) = &apiv3 {
            builder = builder
                .test_platform_certificate()
                .sign_with(SignWith::PlatformCertificate)
                .apiv3_key(keys::TEST_MCHID, key.clone());
        }
        let embedded = embedded(builder)?;
        eprintln!(
            "wechatpay: --mock: using the embedded mock WeChat Pay at {}",
            embedded.mock.base_url()
        );
        let core = match apiv3 {
            // Certificate mode: start with no WeChat Pay key at all, as a new merchant would.
            Some(key) => Client::builder(embedded.mock.client().merchant().clone(), KeyRing::new())
                .base_url(embedded.mock.base_url())
                .certificates(CertificateKeeper::new(key))
                .build()
                .map_err(|e| Fail::usage(e.to_string()))?,
            None => embedded.mock.client(),
        };
        return Ok(Connected {
            core,
            _embedded: Some(embedded),
        });
    }
    if !conn.any_credential() {
        return Err(Fail::usage(
            "no connection settings: give --mchid, --merchant-serial, --merchant-private-key and --wechatpay-public-key-id with --wechatpay-public-key (or the APIv3 key), as flags or WECHATPAY_* variables; or --mock to run against the embedded mock WeChat Pay",
        ));
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
    let key_pem = read(key_path, "--merchant-private-key")?;
    let merchant = MerchantCredentials::from_pem(mchid, serial, &key_pem).map_err(|e| {
        Fail::usage(format!(
            "--merchant-private-key {}: {e}",
            key_path.display()
        ))
    })?;

    let keys = KeyRing::new();
    // The WeChat Pay public key is required unless certificate mode supplies the keys.
    let public = match (
        conn.wechatpay_public_key_id.as_deref(),
        conn.wechatpay_public_key.as_deref(),
    ) {
        (Some(id), Some(path)) => Some((id, path)),
        (None, None) if apiv3.is_some() => None,
        (id, _) => {
            if id.is_none() {
                required(
                    None::<&str>,
                    "--wechatpay-public-key-id",
                    "WECHATPAY_PUBLIC_KEY_ID",
                )?;
            }
            required(
                None::<&Path>,
                "--wechatpay-public-key",
                "WECHATPAY_PUBLIC_KEY",
            )?;
            None
        }
    };
    if let Some((id, path)) = public {
        let pem = read(path, "--wechatpay-public-key")?;
        let key = wechatpay_core::PublicKey::from_pem(&pem)
            .map_err(|e| Fail::usage(format!("--wechatpay-public-key {}: {e}", path.display())))?;
        keys.add_wechatpay_public_key(id, key)
            .map_err(|e| Fail::usage(format!("--wechatpay-public-key-id: {e}")))?;
    }
    let mut builder = Client::builder(merchant, keys)
        .base_url(conn.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
    if let Some(key) = apiv3 {
        builder = builder.certificates(CertificateKeeper::new(key));
    }
    let core = builder
        .build()
        .map_err(|e| Fail::usage(format!("--base-url: {e}")))?;
    Ok(Connected {
        core,
        _embedded: None,
    })
}

/// What `notification verify` trusts: WeChat Pay's public key and the platform certificates
/// the flags name (the mock's test keys with --mock), and the APIv3 key. No merchant key.
pub(crate) fn notification_verifier(
    conn: &Connection,
    certificates: &[PathBuf],
) -> Result<NotificationVerifier, Fail> {
    let keys = KeyRing::new();
    let mut apiv3 = apiv3_key(conn)?;
    if conn.mock {
        let test_key =
            |e: wechatpay_core::Error| Fail::runtime(format!("the mock's test keys: {e}"));
        keys.add_wechatpay_public_key(
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            wechatpay_core::PublicKey::from_pem(keys::TEST_WECHATPAY_PUBLIC_KEY)
                .map_err(test_key)?,
        )
        .map_err(test_key)?;
        keys.add_platform_certificate(
            PlatformCertificate::from_pem(keys::TEST_PLATFORM_CERTIFICATE).map_err(test_key)?,
        );
        apiv3 = apiv3.or_else(|| Some(keys::test_apiv3_key()));
        eprintln!("wechatpay: --mock: trusting the mock WeChat Pay's test keys");
    }
    match (
        conn.wechatpay_public_key_id.as_deref(),
        conn.wechatpay_public_key.as_deref(),
    ) {
        (Some(id), Some(path)) => {
            let pem = read(path, "--wechatpay-public-key")?;
            let key = wechatpay_core::PublicKey::from_pem(&pem).map_err(|e| {
                Fail::usage(format!("--wechatpay-public-key {}: {e}", path.display()))
            })?;
            keys.add_wechatpay_public_key(id, key)
                .map_err(|e| Fail::usage(format!("--wechatpay-public-key-id: {e}")))?;
        }
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            return Err(Fail::usage(
                "--wechatpay-public-key-id and --wechatpay-public-key go together (or WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY): give both",
            ));
        }
    }
    for path in certificates {
        let pem = read(path, "--platform-certificate")?;
        let certificate = PlatformCertificate::from_pem(&pem)
            .map_err(|e| Fail::usage(format!("--platform-certificate {}: {e}", path.display())))?;
        keys.add_platform_certificate(certificate);
    }
    if keys.is_empty() {
        return Err(Fail::usage(
            "notification verify needs WeChat Pay's key: --wechatpay-public-key-id ID with --wechatpay-public-key FILE (or WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY), or --platform-certificate FILE; --mock trusts the mock's test keys",
        ));
    }
    let apiv3 = apiv3.ok_or_else(|| {
        Fail::usage(
            "notification verify needs the APIv3 key to decrypt the resource: --apiv3-key-file FILE (or WECHATPAY_APIV3_KEY_FILE, WECHATPAY_APIV3_KEY)",
        )
    })?;
    Ok(NotificationVerifier::new(keys, apiv3))
}

/// The APIv3 key from --apiv3-key, --apiv3-key-file or the environment.
fn apiv3_key(conn: &Connection) -> Result<Option<ApiV3Key>, Fail> {
    let (text, flag) = match (&conn.apiv3_key, &conn.apiv3_key_file) {
        (Some(k), _) => (k.0.clone(), "--apiv3-key"),
        (None, Some(path)) => (read(path, "--apiv3-key-file")?, "--apiv3-key-file"),
        (None, None) => return Ok(None),
    };
    ApiV3Key::new(text.trim())
        .map(Some)
        .map_err(|e| Fail::usage(format!("{flag}: {e}")))
}

/// A blocking client with the default limits.
pub(crate) fn blocking(core: Client) -> Result<BlockingClient, Fail> {
    BlockingClient::new(core).map_err(|e| Fail::usage(e.to_string()))
}

/// A blocking client with the default limits, through the proxy and trusting the extra roots
/// `conn` names.
pub(crate) fn blocking_for(
    core: Client,
    conn: &Connection,
    verbose: bool,
) -> Result<BlockingClient, Fail> {
    let config = transport_config(conn, verbose)?;
    BlockingClient::with_config(core, config).map_err(|e| Fail::usage(format!("{e}")))
}

/// The default limits, with the proxy and the extra roots `conn` names.
fn transport_config(conn: &Connection, verbose: bool) -> Result<TransportConfig, Fail> {
    let mut config = TransportConfig::default();
    match conn.proxy.as_ref().map(|p| p.0.as_str()) {
        Some("off") => config.proxy = ProxySetting::Off,
        Some(url) => {
            let url = ProxyUrl::new(url).map_err(|e| Fail::usage(format!("--proxy: {e}")))?;
            if verbose {
                eprintln!("wechatpay: through the proxy {url}");
            }
            config.proxy = ProxySetting::Url(url);
        }
        None => {
            if verbose {
                eprintln!(
                    "wechatpay: proxy as the environment says (HTTPS_PROXY, ALL_PROXY, NO_PROXY)"
                );
            }
        }
    }
    for path in &conn.ca_certs {
        config
            .extra_root_certificates
            .push(read(path, "--ca-cert")?);
    }
    Ok(config)
}

fn required<'a, T: ?Sized>(value: Option<&'a T>, flag: &str, env: &str) -> Result<&'a T, Fail> {
    value.ok_or_else(|| {
        Fail::usage(format!(
            "{flag} (or {env}) is required when connecting to a real WeChat Pay (the WeChat Pay public key may be replaced by the APIv3 key); or give --mock and no connection settings to use the embedded mock"
        ))
    })
}

fn read(path: &Path, flag: &str) -> Result<String, Fail> {
    std::fs::read_to_string(path)
        .map_err(|e| Fail::usage(format!("cannot read {flag} {}: {e}", path.display())))
}
