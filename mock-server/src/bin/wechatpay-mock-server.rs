//! `wechatpay-mock-server`: a local WeChat Pay for programs in any language.
//!
//! Prints one JSON line when ready (`base_url`, merchant and key paths, and the merchant's
//! APIv3 key: this is a test sandbox, and a generated key is of no use unless shown; with
//! `--tls`, `ca_certificate`: the generated CA to trust), logs to
//! stderr, runs until SIGINT or SIGTERM and then exits 0. A bad flag or unreadable key file:
//! one line on stderr and exit code 2.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{PlatformCertificate, PublicKey};
use wechatpay_mock_server::server::{Limits, serve, serve_tls};
use wechatpay_mock_server::{
    DEFAULT_MAX_LOG, DEFAULT_MAX_ORDERS, MockBuilder, RateLimitCode, SignWith, keys,
};

/// `--rate-limit-code`.
fn parse_rate_limit_code(text: &str) -> Result<RateLimitCode, String> {
    RateLimitCode::parse(text)
        .ok_or_else(|| "one of FREQUENCY_LIMITED, RATELIMIT_EXCEEDED, RATE_LIMITED".to_owned())
}

/// A signature-true local WeChat Pay (after-sales profit sharing, splits, finishes, returns,
/// receivers, notifications), for tests.
#[derive(Parser, Debug)]
#[command(name = "wechatpay-mock-server", version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The merchant id the mock accepts (default: 1900000100).
    #[arg(long)]
    mchid: Option<String>,
    /// The merchant's API certificate serial (default: random 40 hex digits).
    #[arg(long)]
    merchant_serial: Option<String>,
    /// The merchant's public key (SPKI PEM). Absent: a key pair is generated and its private
    /// key written to --keys-dir.
    #[arg(long, value_name = "FILE")]
    merchant_public_key: Option<PathBuf>,
    /// The WeChat Pay public key id (default: PUB_KEY_ID_ and 34 random digits).
    #[arg(long)]
    wechatpay_public_key_id: Option<String>,
    /// The WeChat Pay private key that signs answers (PEM). Absent: generated.
    #[arg(long, value_name = "FILE")]
    wechatpay_private_key: Option<PathBuf>,
    /// The merchant's APIv3 key: puts the merchant in certificate mode (`/v3/certificates`
    /// answers it, encrypted with this key). Absent: a key is generated (it encrypts
    /// notifications; shown in the readiness line).
    #[arg(long)]
    apiv3_key: Option<String>,
    /// Multiplies the waits of the notification retry schedule (15 s, 15 s, 30 s, 3 min, …,
    /// 6 h): 0.001 turns 15 s into 15 ms.
    #[arg(long, default_value_t = 1.0, value_parser = time_scale)]
    notify_time_scale: f64,
    /// A platform certificate (PEM) to publish [default with --apiv3-key or
    /// --sign-with platform-certificate: the embedded test certificate].
    #[arg(long, value_name = "FILE", requires = "platform_private_key")]
    platform_certificate: Option<PathBuf>,
    /// The platform certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "platform_certificate")]
    platform_private_key: Option<PathBuf>,
    /// Which key signs answers.
    #[arg(long, value_enum, default_value_t = SignWithArg::PublicKey)]
    sign_with: SignWithArg,
    /// Where generated keys are written (default: a new temporary directory).
    #[arg(long, value_name = "DIR")]
    keys_dir: Option<PathBuf>,
    /// Log nothing per request.
    #[arg(long)]
    quiet: bool,
    /// Another merchant, as MCHID:SERIAL:PUBLIC_KEY_FILE (repeatable).
    #[arg(long = "merchant", value_name = "MCHID:SERIAL:FILE")]
    merchants: Vec<String>,
    /// A JSON file of more merchants:
    /// {"merchants": [{"mchid", "serial", "public_key_file" or "public_key", "apiv3_key"?}]}.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The most answers kept in the log (GET /mock/log); the oldest go first.
    #[arg(long, default_value_t = DEFAULT_MAX_LOG)]
    max_log: usize,
    /// The most orders kept; the oldest are forgotten first.
    #[arg(long, default_value_t = DEFAULT_MAX_ORDERS)]
    max_orders: usize,
    /// The largest request body read, in bytes (413 beyond it).
    #[arg(long, default_value_t = wechatpay_mock_server::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a client may take to send a request's body.
    #[arg(long, default_value_t = 10)]
    body_timeout: u64,
    /// Refuse splits, finishes and `amounts` of transactions not declared with
    /// POST /mock/transactions (400 INVALID_REQUEST "unknown transaction"). Without it, an
    /// undeclared transaction is taken as paid 100,000,000,000 fen.
    #[arg(long)]
    strict_transactions: bool,
    /// Answer 429 FREQUENCY_LIMITED (Retry-After: 1) over WeChat Pay's documented limits for
    /// POST /v3/ecommerce/profitsharing/orders: one split a second for the same transaction,
    /// 30 a second naming the same receiver, 300 a second from the same merchant.
    #[arg(long)]
    rate_limits: bool,
    /// At most N requests a second from one merchant over every route; beyond it, 429 with
    /// --rate-limit-code and Retry-After: 1. Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    frequency_limit: Option<u32>,
    /// The code of every 429: FREQUENCY_LIMITED, RATELIMIT_EXCEEDED or RATE_LIMITED.
    #[arg(long, value_name = "CODE", default_value = "FREQUENCY_LIMITED", value_parser = parse_rate_limit_code)]
    rate_limit_code: RateLimitCode,
    /// A platform merchant (服务商) allowed to call (repeatable); any other merchant gets 403
    /// NO_AUTH. Default: every merchant the sandbox knows.
    #[arg(long = "platform-mchid", value_name = "MCHID")]
    platform_mchids: Vec<String>,
    /// Seeds nonces, Request-IDs and order numbers: the same seed and requests at the same
    /// times give the same answers. Default: from the operating system.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Serve HTTPS with a CA and a server certificate (localhost, 127.0.0.1) generated at
    /// start, written to --keys-dir; the readiness line names the CA (`ca_certificate`).
    #[arg(long, conflicts_with = "tls_cert")]
    tls: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// One merchant of --config.
#[derive(serde::Deserialize)]
struct MerchantEntry {
    mchid: String,
    serial: String,
    public_key: Option<String>,
    public_key_file: Option<PathBuf>,
    apiv3_key: Option<String>,
}

/// The --config file.
#[derive(serde::Deserialize)]
struct Config {
    #[serde(default)]
    merchants: Vec<MerchantEntry>,
}

/// A merchant loaded from --merchant or --config: id, serial, public key, APIv3 key.
type LoadedMerchant = (String, String, PublicKey, Option<ApiV3Key>);

/// The merchants of --merchant flags and --config, loaded.
fn more_merchants(cli: &Cli) -> Result<Vec<LoadedMerchant>, Fatal> {
    let mut out = Vec::new();
    for spec in &cli.merchants {
        let mut it = spec.splitn(3, ':');
        let (Some(mchid), Some(serial), Some(file)) = (it.next(), it.next(), it.next()) else {
            return Err(Fatal(format!(
                "--merchant {spec:?}: expected MCHID:SERIAL:PUBLIC_KEY_FILE"
            )));
        };
        let pem = read(Path::new(file), "--merchant public key")?;
        let key =
            PublicKey::from_pem(&pem).map_err(|e| Fatal(format!("--merchant {file}: {e}")))?;
        out.push((mchid.to_owned(), serial.to_owned(), key, None));
    }
    if let Some(path) = &cli.config {
        let text = read(path, "--config")?;
        let config: Config = serde_json::from_str(&text)
            .map_err(|e| Fatal(format!("--config {}: {e}", path.display())))?;
        for m in config.merchants {
            let pem = match (&m.public_key, &m.public_key_file) {
                (Some(pem), _) => pem.clone(),
                (None, Some(file)) => read(file, "--config public_key_file")?,
                (None, None) => {
                    return Err(Fatal(format!(
                        "--config: merchant {} needs public_key or public_key_file",
                        m.mchid
                    )));
                }
            };
            let key = PublicKey::from_pem(&pem)
                .map_err(|e| Fatal(format!("--config: merchant {}: {e}", m.mchid)))?;
            let apiv3 = m
                .apiv3_key
                .as_deref()
                .map(ApiV3Key::new)
                .transpose()
                .map_err(|e| Fatal(format!("--config: merchant {}: apiv3_key: {e}", m.mchid)))?;
            out.push((m.mchid, m.serial, key, apiv3));
        }
    }
    Ok(out)
}

/// A finite, non-negative number.
fn time_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("{text:?} is not a finite number, 0 or more")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SignWithArg {
    PublicKey,
    PlatformCertificate,
}

/// A failure to start: the message, and exit code 2.
struct Fatal(String);

fn read(path: &Path, what: &str) -> Result<String, Fatal> {
    std::fs::read_to_string(path)
        .map_err(|e| Fatal(format!("cannot read {what} {}: {e}", path.display())))
}

/// Writes a key file readable by its owner only (0600 on Unix).
fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, Fatal> {
    use std::io::Write as _;
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let fail = |e: std::io::Error| Fatal(format!("cannot write {}: {e}", path.display()));
    let mut file = options.open(&path).map_err(fail)?;
    // An existing file keeps its mode on open: tighten it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)?;
    Ok(path)
}

async fn run(cli: Cli) -> Result<(), Fatal> {
    let keys_dir = match &cli.keys_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Fatal(format!("cannot create --keys-dir {}: {e}", dir.display())))?;
            dir.clone()
        }
        None => tempfile::Builder::new()
            .prefix("wechatpay-mock-")
            .tempdir()
            .map_err(|e| Fatal(format!("cannot create a temporary directory: {e}")))?
            .keep(),
    };

    let mchid = cli
        .mchid
        .clone()
        .unwrap_or_else(|| keys::TEST_MCHID.to_owned());
    let merchant_serial = cli
        .merchant_serial
        .clone()
        .unwrap_or_else(|| keys::random_hex(40));
    let (merchant_public, merchant_private_path) = match &cli.merchant_public_key {
        Some(path) => {
            let pem = read(path, "--merchant-public-key")?;
            let key = PublicKey::from_pem(&pem)
                .map_err(|e| Fatal(format!("--merchant-public-key {}: {e}", path.display())))?;
            (key, None)
        }
        None => {
            let pair = keys::generate_key_pair().map_err(|e| Fatal(e.to_string()))?;
            let path = write(&keys_dir, "merchant_private_key.pem", &pair.private_pem)?;
            let key = PublicKey::from_pem(&pair.public_pem).map_err(|e| Fatal(e.to_string()))?;
            (key, Some(path))
        }
    };

    let wechatpay_id = cli
        .wechatpay_public_key_id
        .clone()
        .unwrap_or_else(|| format!("PUB_KEY_ID_{}", keys::random_digits(34)));
    let wechatpay_private = match &cli.wechatpay_private_key {
        Some(path) => read(path, "--wechatpay-private-key")?,
        None => {
            keys::generate_key_pair()
                .map_err(|e| Fatal(e.to_string()))?
                .private_pem
        }
    };
    let wechatpay_public_pem = public_pem_of(&wechatpay_private)
        .map_err(|e| Fatal(format!("--wechatpay-private-key: {e}")))?;
    let wechatpay_public_path =
        write(&keys_dir, "wechatpay_public_key.pem", &wechatpay_public_pem)?;

    let apiv3_key = cli
        .apiv3_key
        .as_deref()
        .map(ApiV3Key::new)
        .transpose()
        .map_err(|e| Fatal(format!("--apiv3-key: {e}")))?;
    let wants_platform = apiv3_key.is_some() || cli.sign_with == SignWithArg::PlatformCertificate;
    let platform = match (&cli.platform_certificate, &cli.platform_private_key) {
        (Some(cert), Some(key)) => Some((
            read(cert, "--platform-certificate")?,
            read(key, "--platform-private-key")?,
        )),
        _ if wants_platform => Some((
            keys::TEST_PLATFORM_CERTIFICATE.to_owned(),
            keys::TEST_PLATFORM_PRIVATE_KEY.to_owned(),
        )),
        _ => None,
    };
    let platform_info = match &platform {
        Some((cert_pem, _)) => {
            let cert = PlatformCertificate::from_pem(cert_pem)
                .map_err(|e| Fatal(format!("--platform-certificate: {e}")))?;
            let path = write(&keys_dir, "platform_certificate.pem", cert_pem)?;
            Some((cert.serial().to_owned(), path))
        }
        None => None,
    };

    let tls = tls(&cli, &keys_dir)?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| Fatal(format!("cannot listen on {}: {e}", cli.listen)))?;
    let base_url = format!(
        "{}://{}",
        if tls.is_some() { "https" } else { "http" },
        listener
            .local_addr()
            .map_err(|e| Fatal(format!("cannot listen on {}: {e}", cli.listen)))?
    );
    let mut builder = MockBuilder::new()
        .without_test_merchant()
        .merchant(&mchid, &merchant_serial, merchant_public)
        .wechatpay_key(&wechatpay_id, &wechatpay_private)
        .bounds(cli.max_log, cli.max_orders)
        .max_body(cli.max_body)
        .notify_time_scale(cli.notify_time_scale)
        .strict_transactions(cli.strict_transactions)
        .rate_limits(cli.rate_limits)
        .rate_limit_code(cli.rate_limit_code)
        .log_to_stderr(!cli.quiet);
    if let Some(limit) = cli.frequency_limit {
        builder = builder.frequency_limit(limit);
    }
    if !cli.platform_mchids.is_empty() {
        let ids: Vec<&str> = cli.platform_mchids.iter().map(String::as_str).collect();
        builder = builder.platform_mchids(&ids);
    }
    if let Some(seed) = cli.seed {
        builder = builder.seed(seed);
    }
    for (id, serial, key, apiv3) in more_merchants(&cli)? {
        builder = builder.merchant(&id, &serial, key);
        if let Some(apiv3) = apiv3 {
            builder = builder.apiv3_key(&id, apiv3);
        }
    }
    if let Some((cert, key)) = &platform {
        builder = builder.platform_certificate(cert, key);
    }
    if let Some(key) = apiv3_key {
        builder = builder.apiv3_key(&mchid, key);
    }
    if cli.sign_with == SignWithArg::PlatformCertificate {
        builder = builder.sign_with(SignWith::PlatformCertificate);
    }
    let simulator = builder.simulator().map_err(|e| Fatal(e.to_string()))?;
    let apiv3_text = match &cli.apiv3_key {
        Some(text) => Some(text.clone()),
        None => simulator.apiv3_key_text(&mchid),
    };

    let mut ready = serde_json::json!({
        "base_url": base_url,
        "control_url": format!("{base_url}/mock/"),
        "mchid": mchid,
        "merchant_serial": merchant_serial,
        "merchant_private_key": merchant_private_path.map(|p| p.display().to_string()),
        "wechatpay_public_key_id": wechatpay_id,
        "wechatpay_public_key": wechatpay_public_path.display().to_string(),
        "apiv3_key": apiv3_text,
        "notify_time_scale": cli.notify_time_scale,
        "strict_transactions": cli.strict_transactions,
        "rate_limits": cli.rate_limits,
    });
    if let (Some((serial, path)), Some(map)) = (platform_info, ready.as_object_mut()) {
        map.insert("platform_certificate_serial".into(), serial.into());
        map.insert(
            "platform_certificate".into(),
            path.display().to_string().into(),
        );
    }
    if let (Some(tls), Some(map)) = (&tls, ready.as_object_mut()) {
        if let Some(ca) = &tls.ca_certificate {
            map.insert("ca_certificate".into(), ca.display().to_string().into());
        }
        map.insert(
            "tls_certificate".into(),
            tls.certificate.display().to_string().into(),
        );
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Fatal(format!("stdout: {e}")))?;
    drop(stdout);
    eprintln!("wechatpay-mock-server: listening on {base_url}");
    let limits = Limits {
        header_timeout: std::time::Duration::from_secs(cli.header_timeout.max(1)),
        body_timeout: std::time::Duration::from_secs(cli.body_timeout.max(1)),
        max_body: cli.max_body,
    };
    match tls {
        Some(tls) => serve_tls(listener, tls.acceptor, simulator, limits, wait_for_signal()).await,
        None => serve(listener, simulator, limits, wait_for_signal()).await,
    }
    .map_err(|e| Fatal(format!("serving: {e}")))?;
    eprintln!("wechatpay-mock-server: stopping");
    Ok(())
}

/// The TLS side of the server: its rustls configuration and what the readiness line says
/// about it.
struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_certificate: Option<PathBuf>,
    certificate: PathBuf,
}

/// A CA and a server certificate for `localhost` and `127.0.0.1` (ECDSA P-256, valid from an
/// hour ago for a year), written to `keys_dir`: the CA's certificate, the server's
/// certificate and its private key (0600). The CA's private key is not kept.
fn generate_tls(
    keys_dir: &Path,
) -> Result<
    (
        PathBuf,
        PathBuf,
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
    ),
    Fatal,
> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let fail = |e: rcgen::Error| Fatal(format!("--tls: cannot generate certificates: {e}"));
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::hours(1);
    let not_after = now + time::Duration::days(365);

    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.distinguished_name
        .push(DnType::CommonName, "wechatpay-mock-server test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;
    let issuer = Issuer::new(ca, &ca_key);

    let server_key = KeyPair::generate().map_err(fail)?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(fail)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    server.not_before = not_before;
    server.not_after = not_after;
    let server_cert = server.signed_by(&server_key, &issuer).map_err(fail)?;

    let ca_path = write(keys_dir, "tls_ca_certificate.pem", &ca_cert.pem())?;
    let cert_path = write(keys_dir, "tls_certificate.pem", &server_cert.pem())?;
    write(keys_dir, "tls_private_key.pem", &server_key.serialize_pem())?;
    let key = PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    Ok((ca_path, cert_path, vec![server_cert.der().clone()], key))
}

/// The TLS configuration of --tls or --tls-cert and --tls-key; `None` for plain HTTP.
fn tls(cli: &Cli, keys_dir: &Path) -> Result<Option<Tls>, Fatal> {
    use rustls::pki_types::pem::PemObject as _;
    let (ca_certificate, certificate, chain, key) = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert_path), Some(key_path)) => {
            let cert_pem = read(cert_path, "--tls-cert")?;
            let key_pem = read(key_path, "--tls-key")?;
            let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Fatal(format!("--tls-cert {}: {e}", cert_path.display())))?;
            if chain.is_empty() {
                return Err(Fatal(format!(
                    "--tls-cert {}: no certificate in the file",
                    cert_path.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|e| Fatal(format!("--tls-key {}: {e}", key_path.display())))?;
            (None, cert_path.clone(), chain, key)
        }
        _ if cli.tls => {
            let (ca, cert, chain, key) = generate_tls(keys_dir)?;
            (Some(ca), cert, chain, key)
        }
        _ => return Ok(None),
    };
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Fatal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Fatal(format!("TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        ca_certificate,
        certificate,
    }))
}

/// The SPKI PEM of a PEM private key.
fn public_pem_of(private_pem: &str) -> Result<String, String> {
    wechatpay_core::PrivateKey::from_pem(private_pem)
        .and_then(|key| key.public_key_pem())
        .map_err(|e| e.to_string())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's message spans lines; keep its substance on one line.
            let text = e.to_string();
            let line = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!(
                "wechatpay-mock-server: {}",
                line.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wechatpay-mock-server: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal(message)) => {
            eprintln!("wechatpay-mock-server: {message}");
            ExitCode::from(2)
        }
    }
}
