//! The standalone server: the [`Simulator`] on a plain hyper 1 HTTP/1.1 server, built to run for
//! weeks against clients in any language. Header and body read timeouts; a body cap enforced
//! while reading (413 before buffering more than the cap); WeChat Pay's JSON error shape for
//! every refusal it can answer (hyper itself answers requests it cannot parse, with a bare 400
//! or 431); memory bounded by the simulator's log and order limits. Notifications asked for
//! through the control API, or due to splits and returns, are delivered by tasks of this
//! server's runtime; every [`crate::TICK`] the simulator makes due results final
//! ([`Simulator::advance`]).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::{DEFAULT_MAX_BODY, SimRequest, SimResponse, Simulator, serving};

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a client may take to send a request's headers. Default 10 s.
    pub header_timeout: Duration,
    /// The longest a client may take to send a request's body. Default 10 s.
    pub body_timeout: Duration,
    /// The largest body read; beyond it, 413 without reading more. Default 64 KiB.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Serves `simulator` on `listener` until `shutdown` completes.
///
/// # Errors
/// Only if accepting connections fails for good; a bad connection ends just that connection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    simulator: Simulator,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, None, simulator, limits, shutdown).await
}

/// Serves `simulator` over TLS on `listener` until `shutdown` completes: each connection's
/// handshake by `acceptor` (within the header timeout), then HTTP/1.1 as [`serve`].
///
/// # Errors
/// Only if accepting connections fails for good; a failed handshake ends just that
/// connection.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    simulator: Simulator,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, Some(acceptor), simulator, limits, shutdown).await
}

async fn serve_with(
    listener: tokio::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    simulator: Simulator,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(crate::TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = tick.tick() => {
                // Results that only wait for time come without a request.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    serving::tick(&simulator, &runtime);
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a moment, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let simulator = simulator.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(stream, simulator, limits).await,
                Some(acceptor) => {
                    // A failed or too slow handshake just ends the connection.
                    let accepted =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await;
                    if let Ok(Ok(tls)) = accepted {
                        serve_connection(tls, simulator, limits).await;
                    }
                }
            }
        });
    }
}

/// Serves one connection, plain or TLS, until it ends.
async fn serve_connection<S>(stream: S, simulator: Simulator, limits: Limits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let simulator = simulator.clone();
        async move { Ok::<_, Infallible>(answer(&simulator, limits, req).await) }
    });
    // A connection that breaks the protocol or times out just ends.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn refusal(simulator: &Simulator, status: u16, code: &str, message: &str) -> SimResponse {
    simulator.refusal(status, code, message, simulator.now())
}

async fn answer(
    simulator: &Simulator,
    limits: Limits,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let answer = if parts.uri.scheme().is_some() || parts.uri.path_and_query().is_none() {
        refusal(
            simulator,
            400,
            "INVALID_REQUEST",
            "the request target must be a path (origin form), e.g. /v3/…",
        )
    } else if parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limits.max_body as u64)
    {
        refusal(
            simulator,
            413,
            "INVALID_REQUEST",
            &format!("the body is larger than {} bytes", limits.max_body),
        )
    } else {
        let read = tokio::time::timeout(
            limits.body_timeout,
            Limited::new(body, limits.max_body).collect(),
        )
        .await;
        match read {
            Err(_) => refusal(
                simulator,
                408,
                "INVALID_REQUEST",
                "the body did not arrive in time",
            ),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => refusal(
                simulator,
                413,
                "INVALID_REQUEST",
                &format!("the body is larger than {} bytes", limits.max_body),
            ),
            Ok(Err(_)) => refusal(
                simulator,
                400,
                "INVALID_REQUEST",
                "the body could not be read",
            ),
            Ok(Ok(collected)) => {
                let body = collected.to_bytes();
                let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
                let request = SimRequest {
                    method: parts.method.as_str(),
                    target,
                    headers: &parts.headers,
                    body: &body,
                };
                simulator.handle(&request, simulator.now())
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => serving::after(simulator, &answer, &runtime),
        Err(_) => serving::print(simulator, &answer.log),
    }
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = http::StatusCode::from_u16(answer.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in answer.headers {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
