//! Connections and what their failures mean: the agent, and one exchange under the attempt's
//! timeout and the body cap. ureq's errors do not say whether the request was written, so the
//! connection chain ends in [`Written`], which notes (per thread: a ureq call runs on its
//! caller's thread) whether any HTTP byte went out after TLS was set up.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};
use wechatpay_core::http::{Request, Response};
use wechatpay_core::{Error, Fate, ProxySetting, TransportConfig};

thread_local! {
    static WRITTEN: Cell<bool> = const { Cell::new(false) };
}

/// A pooled agent whose connections end in [`Written`], through the configured proxy, trusting
/// the Mozilla roots and the configured extra ones.
pub(crate) fn agent(config: &TransportConfig) -> Result<ureq::Agent, Error> {
    let proxy = proxy(config)?;
    let proxied = proxy.is_some();
    let mut tls = ureq::tls::TlsConfig::builder()
        // rustls on aws-lc-rs, the crypto library that signs requests: one to build and audit.
        .unversioned_rustls_crypto_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        );
    if !config.extra_root_certificates.is_empty() {
        tls = tls.root_certs(RootCerts::new_with_certs(&roots(config)?));
    }
    let settings = ureq::Agent::config_builder()
        // WeChat Pay's error code is in the body of 4xx/5xx answers: keep them.
        .http_status_as_error(false)
        // A redirect would change the signed URI: never follow one.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.attempt_timeout))
        .max_idle_age(config.idle_timeout)
        .max_idle_connections_per_host(32)
        .proxy(proxy)
        .tls_config(tls.build())
        .build();
    let connector = DefaultConnector::new().chain(Written { proxied });
    Ok(ureq::Agent::with_parts(
        settings,
        connector,
        DefaultResolver::default(),
    ))
}

fn proxy(config: &TransportConfig) -> Result<Option<ureq::Proxy>, Error> {
    match &config.proxy {
        ProxySetting::Url(url) => ureq::Proxy::new(url.expose())
            .map(Some)
            .map_err(|_| Error::config(format!("ureq refuses the proxy URL {url}"))),
        ProxySetting::Off => Ok(None),
        _ => Ok(ureq::Proxy::try_from_env()),
    }
}

/// The Mozilla roots and the configured extra ones.
fn roots(config: &TransportConfig) -> Result<Vec<Certificate<'static>>, Error> {
    let mut roots: Vec<_> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    for pem in &config.extra_root_certificates {
        let before = roots.len();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            match item {
                Ok(PemItem::Certificate(c)) => roots.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(
                        Error::config("an extra root certificate is not PEM").with_source(e)
                    );
                }
            }
        }
        if roots.len() == before {
            return Err(Error::config(
                "an extra root certificate holds no CERTIFICATE block",
            ));
        }
    }
    Ok(roots)
}

/// One exchange within `timeout`: the request exactly as signed, the raw answer back, its body
/// at most `max_body` bytes.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    request: Request<Vec<u8>>,
    timeout: Duration,
    max_body: u64,
) -> Result<Response<Vec<u8>>, Error> {
    let request = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .build();
    WRITTEN.with(|w| w.set(false));
    let (parts, mut body) = agent.run(request).map_err(of_error)?.into_parts();
    let bytes = body
        .with_config()
        .limit(max_body)
        .read_to_vec()
        .map_err(|e| {
            match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    Error::response_too_large(usize::try_from(max_body).unwrap_or(usize::MAX))
                }
                other => of_error(other),
            }
            .with_head(parts.status, &parts.headers)
        })?;
    Ok(Response::from_parts(parts, bytes))
}

/// Wraps each connection to note the first HTTP byte written.
///
/// Through a proxy, ureq runs the whole chain twice: once for the connection to the proxy
/// (with a configuration that has no proxy), whose bytes are the `CONNECT` and the TLS
/// handshake, not the request; then for the tunnel that carries the request. Only the
/// latter counts.
#[derive(Debug)]
pub(crate) struct Written {
    /// Whether the agent has a proxy.
    pub(crate) proxied: bool,
}

#[derive(Debug)]
pub(crate) struct Noting {
    inner: Box<dyn Transport>,
    /// Whether this connection carries the request (not only the way to the proxy).
    counts: bool,
}

impl Connector<Box<dyn Transport>> for Written {
    type Out = Noting;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Noting>, ureq::Error> {
        let to_the_proxy = self.proxied && details.config.proxy().is_none();
        Ok(chained.map(|inner| Noting {
            inner,
            counts: !to_the_proxy,
        }))
    }
}

impl Transport for Noting {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if amount > 0 && self.counts {
            // Before the write: a write that fails may still have sent bytes.
            WRITTEN.with(|w| w.set(true));
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// A ureq failure as core's error: whether the request may have reached WeChat Pay. A TLS
/// error (a certificate that does not verify, a protocol refusal) is not mended by trying
/// again.
fn of_error(e: ureq::Error) -> Error {
    let fate = if WRITTEN.with(Cell::get) {
        Fate::MaybeSent
    } else {
        Fate::NotSent
    };
    match e {
        ureq::Error::Timeout(_) if fate == Fate::NotSent => {
            Error::attempt_timeout("connecting to WeChat Pay timed out", fate).with_source(e)
        }
        ureq::Error::Timeout(_) => {
            Error::attempt_timeout("the attempt timed out waiting for WeChat Pay", fate)
                .with_source(e)
        }
        // The request goes out only once the proxy's CONNECT succeeded.
        ureq::Error::ConnectProxyFailed(_) => Error::transport(
            "the proxy refused to connect to WeChat Pay",
            Fate::NotSent,
            e,
        ),
        ureq::Error::Rustls(_) | ureq::Error::Tls(_) => {
            Error::transport("TLS with WeChat Pay failed", Fate::Unusable, e)
        }
        ureq::Error::Io(io) if is_tls(&io) && fate == Fate::NotSent => Error::transport(
            "WeChat Pay's TLS certificate was refused",
            Fate::Unusable,
            io,
        ),
        _ if fate == Fate::NotSent => Error::transport("cannot connect to WeChat Pay", fate, e),
        _ => Error::transport("the exchange with WeChat Pay failed", fate, e),
    }
}

/// Whether rustls refused the server's certificate (it wraps its errors in
/// `std::io::Error`): no retry mends that; a handshake cut short or corrupted may.
fn is_tls(io: &std::io::Error) -> bool {
    io.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
            )
        })
}
