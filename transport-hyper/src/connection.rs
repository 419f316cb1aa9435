//! Connections and what their failures mean: the pooled client, connection setup (TCP, then
//! TLS) under its own timeout so that a failure there is told apart from one after the request
//! was written, and one exchange under the attempt's timeout and the body cap.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use wechatpay_core::http::{Request, Response, Uri};
use wechatpay_core::{Error, Fate, ProxySetting, TransportConfig};

/// hyper-util's pooled client on [`Connector`].
pub(crate) type Pooled = Client<Connector, Full<Bytes>>;

pub(crate) fn pooled(config: &TransportConfig) -> Result<Pooled, Error> {
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(config.idle_timeout)
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(64)
        .build(connector(config)?))
}

/// One exchange within `timeout`: the request exactly as signed, the raw answer back, its body
/// at most `max_body` bytes.
pub(crate) async fn exchange(
    http: &Pooled,
    request: Request<Vec<u8>>,
    timeout: Duration,
    max_body: u64,
) -> Result<Response<Vec<u8>>, Error> {
    let request = request.map(|body| Full::new(Bytes::from(body)));
    let exchange = async {
        let response = http.request(request).await.map_err(of_request)?;
        let (parts, body) = response.into_parts();
        let cap = usize::try_from(max_body).unwrap_or(usize::MAX);
        let bytes = Limited::new(body, cap).collect().await.map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Error::response_too_large(cap)
            } else {
                Error::transport("reading the answer failed", Fate::MaybeSent, e)
            }
            .with_head(parts.status, &parts.headers)
        })?;
        Ok(Response::from_parts(parts, bytes.to_bytes().to_vec()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(attempt_timeout(timeout)))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// hyper-rustls' connector with the whole setup (proxy, TCP and the TLS handshake) bounded by
/// the connect timeout.
#[derive(Clone)]
pub(crate) struct Connector {
    https: HttpsConnector<Proxied>,
    timeout: Duration,
}

/// TLS with rustls on aws-lc-rs (the crypto library that signs requests: one to build and
/// audit), the Mozilla roots and the configured extra ones, through the configured proxy.
fn connector(config: &TransportConfig) -> Result<Connector, Error> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::config("TLS cannot be set up").with_source(e))?
    .with_root_certificates(roots(config)?)
    .with_no_client_auth();
    let matcher = match &config.proxy {
        ProxySetting::Off => None,
        ProxySetting::Url(url) => Some(Matcher::builder().all(url.expose().to_owned()).build()),
        _ => Some(Matcher::from_env()),
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(Proxied {
            tcp,
            matcher: matcher.map(Arc::new),
        });
    Ok(Connector {
        https,
        timeout: config.connect_timeout,
    })
}

/// The Mozilla roots and the configured extra ones.
fn roots(config: &TransportConfig) -> Result<rustls::RootCertStore, Error> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for pem in &config.extra_root_certificates {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| {
                Error::config("an extra root certificate is not PEM").with_source(e)
            })?;
            roots.add(cert).map_err(|e| {
                Error::config("an extra root certificate is not usable").with_source(e)
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::config(
                "an extra root certificate holds no CERTIFICATE block",
            ));
        }
    }
    Ok(roots)
}

/// TCP, straight or through an HTTP proxy's `CONNECT` tunnel, as the proxy setting says.
#[derive(Clone)]
pub(crate) struct Proxied {
    tcp: HttpConnector,
    matcher: Option<Arc<Matcher>>,
}

/// A failure to go through the proxy, naming it (without credentials).
#[derive(Debug)]
struct ProxyFailed {
    proxy: String,
    source: BoxError,
}

impl std::fmt::Display for ProxyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "through the proxy {}: {}", self.proxy, self.source)
    }
}

impl std::error::Error for ProxyFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl tower_service::Service<Uri> for Proxied {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let Some(intercept) = self.matcher.as_ref().and_then(|m| m.intercept(&dst)) else {
            let direct = self.tcp.call(dst);
            return Box::pin(async move { direct.await.map_err(Into::into) });
        };
        let proxy = intercept.uri().clone();
        let named = format!(
            "{}://{}",
            proxy.scheme_str().unwrap_or("http"),
            proxy
                .authority()
                .map_or("", |a| a.as_str().rsplit('@').next().unwrap_or(""))
        );
        let mut tunnel = Tunnel::new(proxy, self.tcp.clone());
        if let Some(auth) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        Box::pin(async move {
            tunnel.call(dst).await.map_err(|e| {
                Box::new(ProxyFailed {
                    proxy: named,
                    source: Box::new(e),
                }) as BoxError
            })
        })
    }
}

/// The connection setup did not end within the connect timeout.
#[derive(Debug)]
struct SetupTimeout;

impl std::fmt::Display for SetupTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection setup timed out")
    }
}

impl std::error::Error for SetupTimeout {}

impl tower_service::Service<Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let setup = self.https.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            tokio::time::timeout(timeout, setup)
                .await
                .unwrap_or_else(|_| Err(Box::new(SetupTimeout)))
        })
    }
}

/// A failed request as core's error. The request was not sent when connection setup failed or
/// when hyper never handed it to a connection: a certificate that does not verify is not
/// mended by trying again; a refused, reset, corrupted or timed-out setup is. Once handed to a connection, it may have been written.
fn of_request(e: hyper_util::client::legacy::Error) -> Error {
    if e.is_connect() {
        if find::<SetupTimeout>(&e).is_some() {
            return Error::attempt_timeout("connecting to WeChat Pay timed out", Fate::NotSent)
                .with_source(e);
        }
        if find::<rustls::Error>(&e).is_some_and(is_certificate_error) {
            return Error::transport(
                "WeChat Pay's TLS certificate was refused",
                Fate::Unusable,
                e,
            );
        }
        if find::<ProxyFailed>(&e).is_some() {
            return Error::transport("the proxy did not connect to WeChat Pay", Fate::NotSent, e);
        }
        return Error::transport("cannot connect to WeChat Pay", Fate::NotSent, e);
    }
    let unsent = e.connect_info().is_none()
        || find::<hyper::Error>(&e).is_some_and(hyper::Error::is_canceled);
    if unsent {
        return Error::transport(
            "the connection closed before the request was sent",
            Fate::NotSent,
            e,
        );
    }
    Error::transport("the exchange with WeChat Pay failed", Fate::MaybeSent, e)
}

/// A certificate that does not verify: no retry mends it (a handshake cut short or corrupted
/// may, and is `NotSent`).
fn is_certificate_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType
    )
}

/// The first `T` in `e`'s chain, looking inside the `std::io::Error`s that wrap TLS errors
/// (whose `source()` skips the error they hold).
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The attempt's own time limit: the request may have been written.
fn attempt_timeout(timeout: Duration) -> Error {
    let what = format!(
        "no complete answer from WeChat Pay within {} ms",
        timeout.as_millis()
    );
    Error::attempt_timeout(what, Fate::MaybeSent)
}
