//! One conformance suite for every transport: the same network outcomes must give the same
//! [`Fate`](wechatpay_core::Fate), the same number of attempts and the same error.
//!
//! Each [`Case`] starts a small server of its own on loopback that misbehaves in one way (or
//! no server at all, for a refused connection), and the transport under test runs one
//! non-idempotent POST ([`Generic`], [`wechatpay_core::Repeat::Never`]) against it: a request
//! that never left is sent again, one that may have been written is not. Attempts are counted
//! by the nonces the client draws (each attempt is signed afresh), so a connection that never
//! reached a server counts too. [`run`] returns a [`Row`] per case; [`EXPECTED`] is what every
//! transport must give.
//!
//! What a TLS failure is, decided here for both transports: a server certificate that does not
//! verify is [`Fate::Unusable`](wechatpay_core::Fate::Unusable) (not sent, and no retry mends
//! it); a handshake cut short or timed out is
//! [`Fate::NotSent`](wechatpay_core::Fate::NotSent) (sent again).

use std::io::{BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wechatpay_core::retry::RetryPolicy;
use wechatpay_core::{
    Client, Error, ErrorKind, Generic, NonceSource, SystemNonce, TransportConfig,
};
use wechatpay_mock_server::keys;

use crate::http1::read_message;

/// One way for the network to go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Case {
    /// https to a server whose certificate does not verify.
    TlsCertificate,
    /// https to a server that closes the connection during the handshake.
    TlsHandshakeCut,
    /// Nothing listens on the port.
    Refused,
    /// https to a server that accepts and never answers the handshake: a timeout before the
    /// request was written.
    TimeoutBeforeWritten,
    /// A server that reads the request and never answers: a timeout after it was written.
    TimeoutAfterWritten,
    /// A server that reads the request and closes without a byte of answer.
    ClosedBeforeAnswer,
    /// A server that sends the head and part of the body, then closes.
    ResetMidAnswer,
    /// A 200 whose body is over the transport's cap.
    BodyOverCap,
    /// A 500 in WeChat Pay's JSON shape.
    ServerError,
    /// A 429 with `Retry-After: 0`, every time.
    RateLimited,
}

/// Every case, in the order of [`EXPECTED`].
pub const CASES: [Case; 10] = [
    Case::TlsCertificate,
    Case::TlsHandshakeCut,
    Case::Refused,
    Case::TimeoutBeforeWritten,
    Case::TimeoutAfterWritten,
    Case::ClosedBeforeAnswer,
    Case::ResetMidAnswer,
    Case::BodyOverCap,
    Case::ServerError,
    Case::RateLimited,
];

/// What a transport gave for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The case.
    pub case: Case,
    /// The error's kind (`None`: the call succeeded, which no case should).
    pub kind: Option<ErrorKind>,
    /// [`Error::is_fate_unknown`].
    pub fate_unknown: bool,
    /// [`Error::is_retryable`].
    pub retryable: bool,
    /// How many times the POST was signed and handed to the transport.
    pub attempts: usize,
}

const fn row(
    case: Case,
    kind: ErrorKind,
    fate_unknown: bool,
    retryable: bool,
    attempts: usize,
) -> Row {
    Row {
        case,
        kind: Some(kind),
        fate_unknown,
        retryable,
        attempts,
    }
}

/// What every transport must give, with [`config`]'s three attempts: not sent → three
/// attempts and a known fate; maybe sent → one attempt (the POST is never sent blind) and an
/// unknown fate; a certificate that does not verify → one attempt, not retryable.
pub const EXPECTED: [Row; 10] = [
    row(Case::TlsCertificate, ErrorKind::Transport, false, false, 1),
    row(Case::TlsHandshakeCut, ErrorKind::Transport, false, true, 3),
    row(Case::Refused, ErrorKind::Transport, false, true, 3),
    row(
        Case::TimeoutBeforeWritten,
        ErrorKind::Timeout,
        false,
        true,
        3,
    ),
    row(Case::TimeoutAfterWritten, ErrorKind::Timeout, true, true, 1),
    row(
        Case::ClosedBeforeAnswer,
        ErrorKind::Transport,
        true,
        true,
        1,
    ),
    row(Case::ResetMidAnswer, ErrorKind::Transport, true, true, 1),
    row(
        Case::BodyOverCap,
        ErrorKind::ResponseTooLarge,
        true,
        false,
        1,
    ),
    row(Case::ServerError, ErrorKind::Api, true, true, 1),
    row(Case::RateLimited, ErrorKind::Api, false, true, 3),
];

/// The limits every case runs with: a 300 ms connection setup, a 1 s attempt, a 10 s call,
/// a 1 KiB body cap, 3 attempts with a 20 ms backoff step.
pub fn config() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_millis(300),
        attempt_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(10),
        max_body: 1024,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..TransportConfig::default()
    }
}

/// Nonces from the system, counted: one per signed attempt.
#[derive(Debug, Default)]
struct Counted(AtomicUsize);

impl NonceSource for Counted {
    fn nonce(&self) -> Result<String, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        SystemNonce.nonce()
    }
}

/// Runs every case: `execute` runs `operation` on the transport under test, built from
/// `client` and `config` (both as given: the transport must not change them).
///
/// # Errors
/// [`ErrorKind::Config`] when a case's server cannot start.
pub fn run<F>(execute: F) -> Result<Vec<Row>, Error>
where
    F: Fn(Client, TransportConfig, Generic) -> Result<serde_json::Value, Error>,
{
    CASES
        .iter()
        .map(|&case| {
            let server = Server::start(case)
                .map_err(|e| Error::config(format!("the {case:?} server: {e}")))?;
            let nonces = Arc::new(Counted::default());
            let client = client(
                &server.base_url,
                Arc::clone(&nonces) as Arc<dyn NonceSource>,
            )?;
            let operation = Generic::post("/v3/ecommerce/profitsharing/after-sales-orders")
                .json(&serde_json::json!({"sub_mchid": "1900000109"}))?;
            let result = execute(client, config(), operation);
            drop(server);
            let attempts = nonces.0.load(Ordering::SeqCst);
            Ok(match result {
                Ok(_) => Row {
                    case,
                    kind: None,
                    fate_unknown: false,
                    retryable: false,
                    attempts,
                },
                Err(e) => Row {
                    case,
                    kind: Some(e.kind()),
                    fate_unknown: e.is_fate_unknown(),
                    retryable: e.is_retryable(),
                    attempts,
                },
            })
        })
        .collect()
}

fn client(base_url: &str, nonces: Arc<dyn NonceSource>) -> Result<Client, Error> {
    keys::test_client_builder(base_url)?
        .nonce_source(nonces)
        .build()
}

/// A misbehaving server on loopback, stopped on drop.
struct Server {
    base_url: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<JoinHandle<()>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Server {
    fn start(case: Case) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let https = matches!(
            case,
            Case::TlsCertificate | Case::TlsHandshakeCut | Case::TimeoutBeforeWritten
        );
        let base_url = format!("{}://{addr}", if https { "https" } else { "http" });
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        if case == Case::Refused {
            drop(listener); // nothing listens there any more
            return Ok(Self {
                base_url,
                stop,
                addr,
                thread: None,
                held,
            });
        }
        let tls = match case {
            Case::TlsCertificate => Some(tls_config()?),
            _ => None,
        };
        let thread = {
            let (stop, held) = (Arc::clone(&stop), Arc::clone(&held));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (tls, held) = (tls.clone(), Arc::clone(&held));
                    std::thread::spawn(move || serve(case, stream, tls, &held));
                }
            })
        };
        Ok(Self {
            base_url,
            stop,
            addr,
            thread: Some(thread),
            held,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Ok(mut held) = self.held.lock() {
            for stream in held.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

fn tls_config() -> std::io::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate = CertificateDer::from_pem_slice(keys::TEST_PLATFORM_CERTIFICATE.as_bytes())
        .map_err(std::io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(keys::TEST_PLATFORM_PRIVATE_KEY.as_bytes())
        .map_err(std::io::Error::other)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .map_err(std::io::Error::other)?;
    Ok(Arc::new(config))
}

/// One connection, misbehaving as `case` says.
fn serve(
    case: Case,
    mut stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    held: &Mutex<Vec<TcpStream>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let hold = |stream: &TcpStream| {
        if let (Ok(mut held), Ok(copy)) = (held.lock(), stream.try_clone()) {
            held.push(copy);
        }
    };
    match case {
        Case::TlsCertificate => {
            let Some(config) = tls else { return };
            let Ok(mut connection) = rustls::ServerConnection::new(config) else {
                return;
            };
            // The client refuses the certificate and closes: the handshake ends there.
            let _ = connection.complete_io(&mut stream);
        }
        Case::TlsHandshakeCut => {
            let mut hello = [0u8; 16];
            let _ = stream.read(&mut hello);
            let _ = stream.shutdown(Shutdown::Both);
        }
        Case::TimeoutBeforeWritten => hold(&stream),
        Case::Refused => {}
        _ => {
            let mut reader = BufReader::new(&stream);
            // Keep-alive: answer every request the connection brings.
            while let Ok(Some(_request)) = read_message(&mut reader, true) {
                let answer: Vec<u8> = match case {
                    Case::TimeoutAfterWritten => {
                        hold(&stream);
                        return;
                    }
                    Case::ClosedBeforeAnswer => {
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                    Case::ResetMidAnswer => {
                        let _ = (&stream).write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sub_mchid\":",
                        );
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                    Case::BodyOverCap => answer(200, "", &format!("\"{}\"", "x".repeat(4096))),
                    Case::ServerError => answer(
                        500,
                        "",
                        r#"{"code":"SYSTEM_ERROR","message":"system error"}"#,
                    ),
                    _ => answer(
                        429,
                        "Retry-After: 0\r\n",
                        r#"{"code":"FREQUENCY_LIMITED","message":"too fast"}"#,
                    ),
                };
                if (&stream).write_all(&answer).is_err() {
                    return;
                }
            }
        }
    }
}

fn answer(status: u16, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nRequest-ID: CONFORMANCE\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Asserts that `rows` are [`EXPECTED`], naming every case that differs.
///
/// # Panics
/// When a row differs: this is for tests.
#[allow(clippy::panic, reason = "a test assertion")]
pub fn assert_conforms(transport: &str, rows: &[Row]) {
    let differing: Vec<String> = rows
        .iter()
        .zip(EXPECTED.iter())
        .filter(|(got, want)| got != want)
        .map(|(got, want)| format!("{:?}: got {got:?}, want {want:?}", got.case))
        .collect();
    assert!(
        differing.is_empty() && rows.len() == EXPECTED.len(),
        "{transport} does not conform:\n{}",
        differing.join("\n")
    );
}
