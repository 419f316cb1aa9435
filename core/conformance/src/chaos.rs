//! A chaos run: creates through a fault-injecting proxy, checked against the mock's record.
//!
//! [`Proxy`] is a small HTTP/1.1 proxy on loopback (one thread per client connection, one
//! connection to the mock per client connection, keep-alive kept). For each request it draws a
//! [`Fault`] from a seeded PRNG and the configured [`Mix`], does it, and keeps a [`Record`]:
//! method, path, transaction id, fault, whether the request was forwarded, and the mock's
//! status and `Request-ID` for it.
//!
//! [`run_blocking`] and [`run_async`] start the standalone mock binary
//! ([`crate::sandbox`]), put a proxy in front of it, hand the caller a core
//! [`Client`] whose base URL is the proxy, and run unique creates
//! ([`CreateAfterSalesOrder`]) through the caller's transport at the configured concurrency.
//! Then, reading the mock directly (never through the proxy), they check:
//!
//! - the proxy's record against the mock's answer log (`GET /mock/log`, matched by
//!   `Request-ID`): both must tell the same story;
//! - every create's outcome against the mock's orders, read with signed queries over a plain
//!   connection: a success must have its order with its amount; a definite failure
//!   (`!is_fate_unknown()`) must have none; a conflict is a violation here (every create has its
//!   own transaction and amount);
//! - per transaction, from the proxy's record: no POST is forwarded after one the mock answered
//!   2xx, unless a check (GET) the mock answered 404 came in between.
//!
//! The [`Report`] counts outcomes, faults, forwarded requests and lists every [`Violation`]
//! with the transaction's whole request sequence.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, BufReader, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wechatpay_core::call::Call;
use wechatpay_core::driver::{self, Transport};
use wechatpay_core::http::{self, Request, Response};
use wechatpay_core::{
    AFTER_SALES_PATH, AfterSalesOrderAccepted, Client, CreateAfterSalesOrder, Error, ErrorKind,
    Fate, QueryAfterSalesOrder, Scene, TransportConfig,
};
use wechatpay_mock_server::keys;

use crate::http1::{Message, invalid, read_message};
use crate::sandbox::{self, Standalone};

/// The sub-merchant of every create.
pub const SUB_MCHID: &str = "1900000109";
/// The refund id of every create.
const REFUND_ID: &str = "50000000382019052709732678859";
/// How long the proxy waits for the mock's answer, and the direct client for anything.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The clock of the harness (the workspace bans reading it anywhere else).
#[allow(
    clippy::disallowed_methods,
    reason = "a test harness measures wall time; core's clock rule does not apply"
)]
fn now() -> Instant {
    Instant::now()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Close the client's connection without forwarding: the mock never sees the request.
    DropBefore,
    /// Forward, read the whole answer, then close the client's connection without sending it.
    LoseAnswer,
    /// Forward, read the answer, hold it past the client's attempt timeout, then close.
    HoldAnswer,
    /// Forward; flip one byte of a 2xx answer's body before sending it on (other answers pass).
    FlipByte,
    /// Answer a 502 HTML page itself, without forwarding.
    BadGateway,
    /// Forward; send the answer's head and only part of its body, then close.
    Truncate,
    /// Pass the request and its answer through.
    Pass,
}

impl Fault {
    /// Every fault, passing last.
    pub const ALL: [Self; 7] = [
        Self::DropBefore,
        Self::LoseAnswer,
        Self::HoldAnswer,
        Self::FlipByte,
        Self::BadGateway,
        Self::Truncate,
        Self::Pass,
    ];

    /// The fault's name in reports (`none` for passing).
    pub fn name(self) -> &'static str {
        match self {
            Self::DropBefore => "drop_before",
            Self::LoseAnswer => "lose_answer",
            Self::HoldAnswer => "hold_answer",
            Self::FlipByte => "flip_byte",
            Self::BadGateway => "bad_gateway",
            Self::Truncate => "truncate",
            Self::Pass => "none",
        }
    }

    /// Whether the request reaches the mock.
    pub fn forwards(self) -> bool {
        !matches!(self, Self::DropBefore | Self::BadGateway)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How often each fault is drawn: relative weights (any scale; all zero means pass everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Weight of [`Fault::DropBefore`].
    pub drop_before: u32,
    /// Weight of [`Fault::LoseAnswer`].
    pub lose_answer: u32,
    /// Weight of [`Fault::HoldAnswer`].
    pub hold_answer: u32,
    /// Weight of [`Fault::FlipByte`].
    pub flip_byte: u32,
    /// Weight of [`Fault::BadGateway`].
    pub bad_gateway: u32,
    /// Weight of [`Fault::Truncate`].
    pub truncate: u32,
    /// Weight of [`Fault::Pass`].
    pub pass: u32,
}

impl Mix {
    /// `percent` % of requests faulted (capped at 100), shared evenly by the six faults.
    pub fn with_fault_percent(percent: u32) -> Self {
        let faulted = percent.min(100) * 60;
        let each = faulted / 6;
        Self {
            drop_before: each,
            lose_answer: each,
            hold_answer: each,
            flip_byte: each,
            bad_gateway: each,
            truncate: each,
            pass: 6_000 - faulted,
        }
    }

    fn weights(&self) -> [(Fault, u32); 7] {
        [
            (Fault::DropBefore, self.drop_before),
            (Fault::LoseAnswer, self.lose_answer),
            (Fault::HoldAnswer, self.hold_answer),
            (Fault::FlipByte, self.flip_byte),
            (Fault::BadGateway, self.bad_gateway),
            (Fault::Truncate, self.truncate),
            (Fault::Pass, self.pass),
        ]
    }

    /// The fault for a uniformly random `roll`.
    fn pick(&self, roll: u64) -> Fault {
        let weights = self.weights();
        let total: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return Fault::Pass;
        }
        let mut at = roll % total;
        for (fault, weight) in weights {
            let weight = u64::from(weight);
            if at < weight {
                return fault;
            }
            at -= weight;
        }
        Fault::Pass
    }
}

impl Default for Mix {
    /// 40 % faulted.
    fn default() -> Self {
        Self::with_fault_percent(40)
    }
}

/// xorshift64* seeded through splitmix64 (any seed, zero included, gives a good state).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A seed that differs from run to run (std's per-process hash keys; no clock, no new crate).
pub fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// What the proxy did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The order in which the proxy read requests, from 0.
    pub seq: u64,
    /// The client connection it came on, from 0.
    pub connection: u64,
    /// The request's method.
    pub method: String,
    /// The request's path, without the query.
    pub path: String,
    /// The transaction id: the POST body's `transaction_id`, or the GET's query parameter.
    pub transaction_id: Option<String>,
    /// The fault drawn.
    pub fault: Fault,
    /// Whether the request was forwarded to the mock.
    pub forwarded: bool,
    /// The status the mock answered (forwarded requests whose answer was read).
    pub mock_status: Option<u16>,
    /// The `Request-ID` the mock answered.
    pub mock_request_id: Option<String>,
    /// Why forwarding or reading the mock's answer failed, if it did.
    pub upstream_error: Option<String>,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} conn {} {} [{}]",
            self.seq, self.connection, self.method, self.fault
        )?;
        if !self.forwarded {
            return f.write_str(" not forwarded");
        }
        match (self.mock_status, &self.upstream_error) {
            (Some(status), _) => write!(f, " forwarded, mock answered {status}")?,
            (None, Some(e)) => write!(f, " forwarded, upstream failed: {e}")?,
            (None, None) => f.write_str(" forwarded, no answer recorded")?,
        }
        if let Some(id) = &self.mock_request_id {
            write!(f, " (Request-ID {id})")?;
        }
        Ok(())
    }
}

/// State shared by the proxy's threads.
#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    mix: Mix,
    hold: Duration,
    rng: Mutex<Rng>,
    records: Mutex<Vec<Record>>,
    stopping: AtomicBool,
    /// Open client connections, to close them on stop.
    clients: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    /// Connection threads still running.
    active: AtomicUsize,
}

impl Shared {
    fn roll(&self) -> u64 {
        lock(&self.rng).next_u64()
    }

    /// Draws the request's fault and records it; returns its sequence number and fault.
    fn admit(&self, connection: u64, request: &Message) -> (u64, Fault) {
        let fault = self.mix.pick(self.roll());
        let (method, target) = request.method_and_target();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let transaction_id = match method {
            "POST" => serde_json::from_slice::<serde_json::Value>(&request.body)
                .ok()
                .and_then(|v| v.get("transaction_id")?.as_str().map(str::to_owned)),
            _ => query_param(query, "transaction_id"),
        };
        let mut records = lock(&self.records);
        let seq = records.len() as u64;
        records.push(Record {
            seq,
            connection,
            method: method.to_owned(),
            path: path.to_owned(),
            transaction_id,
            fault,
            forwarded: fault.forwards(),
            mock_status: None,
            mock_request_id: None,
            upstream_error: None,
        });
        (seq, fault)
    }

    fn update(&self, seq: u64, change: impl FnOnce(&mut Record)) {
        let mut records = lock(&self.records);
        if let Some(r) = usize::try_from(seq).ok().and_then(|i| records.get_mut(i)) {
            change(r);
        }
    }
}

/// A query parameter's raw value (transaction ids are digits: nothing to decode).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_owned())
    })
}

/// A fault-injecting HTTP/1.1 proxy on 127.0.0.1. Stops (closing every connection) when
/// dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and proxies to `upstream`, drawing faults from `mix`
    /// with a PRNG seeded by `seed`; [`Fault::HoldAnswer`] holds an answer for `hold`.
    ///
    /// # Errors
    /// The listener's I/O error.
    pub fn start(upstream: SocketAddr, mix: Mix, seed: u64, hold: Duration) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            mix,
            hold,
            rng: Mutex::new(Rng::new(seed)),
            records: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            clients: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            active: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("chaos-proxy-accept".into())
                .spawn(move || accept(&listener, &shared))?
        };
        Ok(Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for a client's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it did so far, in the order requests were read.
    pub fn records(&self) -> Vec<Record> {
        lock(&self.shared.records).clone()
    }

    /// Stops accepting, closes every client connection, and waits up to `grace` for the
    /// connection threads to end (one holding an answer ends when its hold is over).
    pub fn stop(&mut self, grace: Duration) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the acceptor so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in lock(&self.shared.clients).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let until = now() + grace;
        while self.shared.active.load(Ordering::SeqCst) > 0 && now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.clients).insert(id, clone);
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        let worker = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("chaos-proxy-{id}"))
            .spawn(move || {
                let _ = serve(&worker, id, stream);
                lock(&worker.clients).remove(&id);
                worker.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            lock(&shared.clients).remove(&id);
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The HTML page of [`Fault::BadGateway`].
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>chaos-proxy</center>\r\n</body>\r\n</html>\r\n";

/// One client connection: its requests in turn, over one connection to the mock. Returns when
/// either side closes, or when a fault ends the connection.
fn serve(shared: &Shared, id: u64, client: TcpStream) -> io::Result<()> {
    let upstream = match TcpStream::connect(shared.upstream) {
        Ok(s) => s,
        Err(e) => {
            let _ = client.shutdown(Shutdown::Both);
            return Err(e);
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    upstream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let mut from_mock = BufReader::new(upstream.try_clone()?);
    let mut to_mock = upstream;
    let result = (|| -> io::Result<()> {
        while let Some(request) = read_message(&mut from_client, true)? {
            let (seq, fault) = shared.admit(id, &request);
            match fault {
                Fault::DropBefore => return Ok(()),
                Fault::BadGateway => {
                    let page = BAD_GATEWAY_PAGE.as_bytes();
                    let head = format!(
                        "HTTP/1.1 502 Bad Gateway\r\nServer: chaos-proxy\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                        page.len()
                    );
                    to_client.write_all(head.as_bytes())?;
                    to_client.write_all(page)?;
                    continue;
                }
                _ => {}
            }
            let answer = to_mock
                .write_all(&request.head)
                .and_then(|()| to_mock.write_all(&request.body))
                .and_then(|()| read_message(&mut from_mock, false))
                .and_then(|a| {
                    a.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the mock closed"))
                });
            let mut answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    shared.update(seq, |r| r.upstream_error = Some(e.to_string()));
                    return Err(e);
                }
            };
            let status = answer.status();
            shared.update(seq, |r| {
                r.mock_status = status;
                r.mock_request_id = answer.header("request-id").map(str::to_owned);
            });
            match fault {
                Fault::LoseAnswer => return Ok(()),
                Fault::HoldAnswer => {
                    std::thread::sleep(shared.hold);
                    return Ok(());
                }
                Fault::Truncate => {
                    if answer.body.len() >= 2 {
                        to_client.write_all(&answer.head)?;
                        to_client.write_all(&answer.body[..answer.body.len() / 2])?;
                    } else {
                        to_client.write_all(&answer.head[..answer.head.len() / 2])?;
                    }
                    to_client.flush()?;
                    return Ok(());
                }
                Fault::FlipByte
                    if status.is_some_and(|s| (200..300).contains(&s))
                        && !answer.body.is_empty() =>
                {
                    let at = usize::try_from(shared.roll() % answer.body.len() as u64)
                        .unwrap_or_default();
                    if let Some(b) = answer.body.get_mut(at) {
                        *b ^= 0x01;
                    }
                }
                _ => {}
            }
            to_client.write_all(&answer.head)?;
            to_client.write_all(&answer.body)?;
        }
        Ok(())
    })();
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = to_mock.shutdown(Shutdown::Both);
    result
}

/// One exchange with the mock over a fresh connection (`Connection: close`), for reading its
/// record: the request as given, the answer whole.
fn exchange(addr: SocketAddr, request: &Request<Vec<u8>>) -> io::Result<Response<Vec<u8>>> {
    let stream = TcpStream::connect_timeout(&addr, UPSTREAM_TIMEOUT)?;
    stream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    stream.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let mut out =
        format!("{} {target} HTTP/1.1\r\nHost: {addr}\r\n", request.method()).into_bytes();
    for (name, value) in request.headers() {
        if matches!(name.as_str(), "host" | "connection" | "content-length") {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            request.body().len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(request.body());
    (&stream).write_all(&out)?;
    let answer = read_message(&mut BufReader::new(&stream), false)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))?;
    let status = answer.status().ok_or_else(|| invalid("no status"))?;
    let mut response = Response::builder().status(status);
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    response.body(answer.body).map_err(io::Error::other)
}

/// The mock's address from its base URL (`http://127.0.0.1:PORT`).
fn socket_addr(base_url: &str) -> Result<SocketAddr, Error> {
    base_url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|hostport| hostport.parse().ok())
        .ok_or_else(|| Error::config(format!("not an http://IP:PORT base URL: {base_url:?}")))
}

/// Plain connections to the mock, one per request: a [`Transport`] for core's driver.
struct Direct(SocketAddr);

impl Transport for Direct {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        _timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        exchange(self.0, &request).map_err(|e| {
            Error::transport(
                "the direct exchange with the mock failed",
                Fate::MaybeSent,
                e,
            )
        })
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now(&self) -> Instant {
        now()
    }
}

/// Runs a query to its end over plain connections to `addr`, with core's driver.
fn query_direct(
    client: &Client,
    addr: SocketAddr,
    query: QueryAfterSalesOrder,
    config: &TransportConfig,
) -> Result<wechatpay_core::AfterSalesOrder, Error> {
    driver::run(
        Call::with_config(client.clone(), query, config),
        &Direct(addr),
    )
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The PRNG seed (`CHAOS_SEED`; default: random).
    pub seed: u64,
    /// The faults' weights (`CHAOS_FAULT_PERCENT` % faulted, evenly; default 40 %).
    pub mix: Mix,
    /// At most this many creates (default 300; none once `CHAOS_SECONDS` is set).
    pub creates: Option<u64>,
    /// No create starts after this much time (`CHAOS_SECONDS`; default 10 s).
    pub duration: Duration,
    /// Creates in flight at once (`CHAOS_CONCURRENCY`; default 24, at least 1).
    pub concurrency: usize,
    /// How long [`Fault::HoldAnswer`] holds an answer (default 1.5 s).
    pub hold: Duration,
    /// The transport's limits (default: 1 s per attempt, 8 s per call, the default retries).
    pub transport: TransportConfig,
    /// The highest fate-unknown percentage a test should accept (`CHAOS_MAX_UNKNOWN_PERCENT`;
    /// default 5: long runs measure under 3 %, and a short run of 300 creates varies). The run
    /// itself does not look at it.
    pub max_unknown_percent: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            seed: random_seed(),
            mix: Mix::default(),
            creates: Some(300),
            duration: Duration::from_secs(10),
            concurrency: 24,
            hold: Duration::from_millis(1_500),
            transport: TransportConfig {
                attempt_timeout: Duration::from_secs(1),
                deadline: Duration::from_secs(8),
                ..TransportConfig::default()
            },
            max_unknown_percent: Some(5.0),
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>, Error> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::config(format!("{name}={v:?} is not a number"))),
    }
}

impl Settings {
    /// The defaults, changed by `CHAOS_SEED`, `CHAOS_SECONDS`, `CHAOS_FAULT_PERCENT`,
    /// `CHAOS_CONCURRENCY` and `CHAOS_MAX_UNKNOWN_PERCENT`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a variable that is set but not a number.
    pub fn from_env() -> Result<Self, Error> {
        let mut s = Self::default();
        if let Some(seed) = env_number("CHAOS_SEED")? {
            s.seed = seed;
        }
        if let Some(seconds) = env_number::<u64>("CHAOS_SECONDS")? {
            s.duration = Duration::from_secs(seconds);
            s.creates = None;
        }
        if let Some(percent) = env_number("CHAOS_FAULT_PERCENT")? {
            s.mix = Mix::with_fault_percent(percent);
        }
        if let Some(n) = env_number::<usize>("CHAOS_CONCURRENCY")? {
            s.concurrency = n.max(1);
        }
        if let Some(max) = env_number("CHAOS_MAX_UNKNOWN_PERCENT")? {
            s.max_unknown_percent = Some(max);
        }
        Ok(s)
    }
}

/// The creates to run: unique transactions, unique amounts, handed out until the count or the
/// time is used up.
#[derive(Debug)]
struct Plan {
    next: AtomicU64,
    limit: Option<u64>,
    until: Instant,
}

impl Plan {
    fn new(settings: &Settings) -> Self {
        Self {
            next: AtomicU64::new(0),
            limit: settings.creates,
            until: now() + settings.duration,
        }
    }

    fn take(&self) -> Option<CreateAfterSalesOrder> {
        if now() >= self.until {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        if self.limit.is_some_and(|limit| n >= limit) {
            return None;
        }
        let amount = 100 + i64::try_from(n).ok()?;
        Some(CreateAfterSalesOrder::new(
            SUB_MCHID,
            format!("42{n:026}"),
            amount,
            Scene::RefundTicket,
            REFUND_ID,
        ))
    }
}

/// One create and how it ended.
#[derive(Debug)]
struct Outcome {
    create: CreateAfterSalesOrder,
    result: Result<AfterSalesOrderAccepted, Error>,
    took: Duration,
}

/// A broken promise, with the transaction's requests as the proxy saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The transaction concerned (none for a disagreement about an unnamed request).
    pub transaction_id: Option<String>,
    /// What went wrong.
    pub what: String,
    /// The transaction's requests, in order, as the proxy recorded them.
    pub requests: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transaction_id {
            Some(tx) => write!(f, "transaction {tx}: {}", self.what)?,
            None => f.write_str(&self.what)?,
        }
        for r in &self.requests {
            write!(f, "\n      {r}")?;
        }
        Ok(())
    }
}

/// What a chaos run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The PRNG seed.
    pub seed: u64,
    /// Wall time of the creates.
    pub elapsed: Duration,
    /// The concurrency.
    pub concurrency: usize,
    /// Creates run.
    pub creates: u64,
    /// Creates that succeeded.
    pub successes: u64,
    /// Creates that failed with a known fate (`!is_fate_unknown()`).
    pub definite_failures: u64,
    /// Creates that failed with an unknown fate.
    pub fate_unknown: u64,
    /// Of those, how many the mock did carry out.
    pub unknown_but_done: u64,
    /// Failures by kind and status, e.g. `Timeout` or `Api 502`, with `(unknown)` or `(known)`.
    pub errors: BTreeMap<String, u64>,
    /// The longest create.
    pub longest_call: Duration,
    /// Requests the proxy read, by the fault drawn.
    pub faults: BTreeMap<Fault, u64>,
    /// Requests the proxy read.
    pub requests: u64,
    /// Requests forwarded to the mock.
    pub forwarded: u64,
    /// POSTs forwarded to the mock.
    pub posts_forwarded: u64,
    /// Forwarded requests whose exchange with the mock failed.
    pub upstream_errors: u64,
    /// After-sales answers in the mock's log.
    pub mock_answers: u64,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Fate-unknown creates as a percentage of all creates.
    pub fn fate_unknown_percent(&self) -> f64 {
        if self.creates == 0 {
            0.0
        } else {
            self.fate_unknown as f64 * 100.0 / self.creates as f64
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chaos: seed {} (CHAOS_SEED), {} creates at concurrency {} in {:.1} s (longest call {:.2} s)",
            self.seed,
            self.creates,
            self.concurrency,
            self.elapsed.as_secs_f64(),
            self.longest_call.as_secs_f64()
        )?;
        writeln!(
            f,
            "  outcomes: {} succeeded, {} failed definitely, {} fate unknown ({:.1} %; {} of them carried out by the mock)",
            self.successes,
            self.definite_failures,
            self.fate_unknown,
            self.fate_unknown_percent(),
            self.unknown_but_done
        )?;
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        writeln!(
            f,
            "  errors: {}",
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            }
        )?;
        let faulted: u64 = self
            .faults
            .iter()
            .filter(|(k, _)| **k != Fault::Pass)
            .map(|(_, n)| n)
            .sum();
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(
            f,
            "  proxy: {} requests, {} faulted ({:.1} %): {}",
            self.requests,
            faulted,
            if self.requests == 0 {
                0.0
            } else {
                faulted as f64 * 100.0 / self.requests as f64
            },
            faults.join(", ")
        )?;
        writeln!(
            f,
            "  forwarded: {} requests ({} POSTs), {} upstream errors; the mock's log holds {} after-sales answers",
            self.forwarded, self.posts_forwarded, self.upstream_errors, self.mock_answers
        )?;
        write!(f, "  violations: {}", self.violations.len())?;
        for v in &self.violations {
            write!(f, "\n    - {v}")?;
        }
        Ok(())
    }
}

/// The mock and the proxy in front of it.
struct Stage {
    // Field order: the proxy stops before the mock is killed.
    proxy: Proxy,
    mock: Standalone,
    mock_addr: SocketAddr,
    settings: Settings,
}

impl Stage {
    /// Starts both; returns the stage and a core client whose base URL is the proxy.
    fn start(settings: &Settings) -> Result<(Self, Client), Error> {
        let binary = sandbox::binary(false)?;
        let mock = Standalone::start(
            &binary,
            &["--quiet", "--max-log", "10000000"],
            Stdio::inherit(),
        )?;
        let mock_addr = socket_addr(mock.base_url())?;
        let proxy = Proxy::start(mock_addr, settings.mix, settings.seed, settings.hold)
            .map_err(|e| Error::config(format!("the proxy does not start: {e}")))?;
        let client = keys::test_client_builder(&proxy.base_url())?.build()?;
        let stage = Self {
            proxy,
            mock,
            mock_addr,
            settings: settings.clone(),
        };
        Ok((stage, client))
    }

    /// `GET /mock/log`, straight to the mock: `Request-ID` → (method, path, status).
    fn mock_log(&self) -> Result<HashMap<String, (String, String, u16)>, Error> {
        let request = Request::get("/mock/log?limit=100000000")
            .body(Vec::new())
            .map_err(|e| Error::config(format!("the log request: {e}")))?;
        let answer = exchange(self.mock_addr, &request)
            .map_err(|e| Error::config(format!("reading the mock's log: {e}")))?;
        let log: serde_json::Value = serde_json::from_slice(answer.body())
            .map_err(|e| Error::config(format!("the mock's log is not JSON: {e}")))?;
        let answers = log["answers"]
            .as_array()
            .ok_or_else(|| Error::config("the mock's log has no answers array"))?;
        Ok(answers
            .iter()
            .filter_map(|a| {
                Some((
                    a["request_id"].as_str()?.to_owned(),
                    (
                        a["method"].as_str()?.to_owned(),
                        a["path"].as_str()?.to_owned(),
                        u16::try_from(a["status"].as_u64()?).ok()?,
                    ),
                ))
            })
            .collect())
    }

    /// Stops the proxy, reads the mock's record, and checks every outcome against it.
    fn finish(mut self, outcomes: Vec<Outcome>, elapsed: Duration) -> Result<Report, Error> {
        // Connection threads holding an answer end after the hold.
        self.proxy.stop(self.settings.hold + Duration::from_secs(2));
        let records = self.proxy.records();
        let log = self.mock_log()?;
        let direct = self.mock.test_client()?;
        let mut report = Report {
            seed: self.settings.seed,
            elapsed,
            concurrency: self.settings.concurrency,
            ..Report::default()
        };

        let mut by_tx: HashMap<&str, Vec<&Record>> = HashMap::new();
        for r in &records {
            report.requests += 1;
            *report.faults.entry(r.fault).or_default() += 1;
            if r.forwarded {
                report.forwarded += 1;
                if r.method == "POST" {
                    report.posts_forwarded += 1;
                }
            }
            if r.upstream_error.is_some() {
                report.upstream_errors += 1;
            }
            if let Some(tx) = &r.transaction_id {
                by_tx.entry(tx).or_default().push(r);
            }
        }
        let story = |tx: &str| -> Vec<String> {
            by_tx
                .get(tx)
                .map(|rs| rs.iter().map(ToString::to_string).collect())
                .unwrap_or_default()
        };

        // 1. The proxy's record and the mock's log tell the same story.
        report.mock_answers = log
            .values()
            .filter(|(_, path, _)| path == AFTER_SALES_PATH)
            .count() as u64;
        let answered = records.iter().filter(|r| r.mock_status.is_some()).count() as u64;
        for r in &records {
            let (Some(id), Some(status)) = (&r.mock_request_id, r.mock_status) else {
                continue;
            };
            let disagreement = match log.get(id) {
                None => Some("is missing from the mock's log".to_owned()),
                Some((method, path, logged))
                    if (method, path, *logged) != (&r.method, &r.path, status) =>
                {
                    Some(format!("is {method} {path} -> {logged} in the mock's log"))
                }
                Some(_) => None,
            };
            if let Some(d) = disagreement {
                report.violations.push(Violation {
                    transaction_id: r.transaction_id.clone(),
                    what: format!(
                        "the harness's record disagrees with the mock: request #{} {d}",
                        r.seq
                    ),
                    requests: vec![r.to_string()],
                });
            }
        }
        if report.mock_answers > answered {
            report.violations.push(Violation {
                transaction_id: None,
                what: format!(
                    "the mock answered {} after-sales requests, the proxy saw {answered} answers",
                    report.mock_answers
                ),
                requests: Vec::new(),
            });
        }

        // 2. Each outcome against the mock's orders.
        for o in &outcomes {
            report.creates += 1;
            report.longest_call = report.longest_call.max(o.took);
            let tx = o.create.transaction_id.as_str();
            let stored = query_direct(
                &direct,
                self.mock_addr,
                o.create.query(),
                &self.settings.transport,
            );
            let order = match stored {
                Ok(order) => Some(order.amount),
                Err(e) if e.is_not_found() => None,
                Err(e) => {
                    report.violations.push(Violation {
                        transaction_id: Some(tx.to_owned()),
                        what: format!("the mock's order could not be read: {e}"),
                        requests: story(tx),
                    });
                    continue;
                }
            };
            let mut violation = |what: String| {
                report.violations.push(Violation {
                    transaction_id: Some(tx.to_owned()),
                    what,
                    requests: story(tx),
                });
            };
            match &o.result {
                Ok(accepted) => {
                    report.successes += 1;
                    if order != Some(o.create.amount) {
                        violation(format!(
                            "succeeded with amount {}, but the mock holds {order:?}",
                            o.create.amount
                        ));
                    } else if accepted.amount.is_some_and(|a| a != o.create.amount) {
                        violation(format!(
                            "succeeded with amount {:?} for a create of {}",
                            accepted.amount, o.create.amount
                        ));
                    }
                }
                Err(e) => {
                    let key = match e.status() {
                        Some(s) => format!("{:?} {}", e.kind(), s.as_u16()),
                        None => format!("{:?}", e.kind()),
                    };
                    let fate = if e.is_fate_unknown() {
                        "unknown"
                    } else {
                        "known"
                    };
                    *report.errors.entry(format!("{key} ({fate})")).or_default() += 1;
                    if e.kind() == ErrorKind::Conflict {
                        violation(format!(
                            "reported a conflict, yet every create is unique: {e}"
                        ));
                    }
                    if e.is_fate_unknown() {
                        report.fate_unknown += 1;
                        if order.is_some() {
                            report.unknown_but_done += 1;
                        }
                    } else {
                        report.definite_failures += 1;
                        if let Some(amount) = order {
                            violation(format!(
                                "failed definitely ({e}), but the mock holds the order with amount {amount}"
                            ));
                        }
                    }
                }
            }
        }

        // 3. No POST after one the mock carried out, unless a check found nothing in between.
        report.violations.extend(resends_after_done(&records));
        Ok(report)
    }
}

/// The transactions whose POST was forwarded again after the mock had answered one 2xx, with
/// no check (GET) answered 404 in between: in the proxy's order of reading requests (one
/// transaction's requests come one after another).
fn resends_after_done(records: &[Record]) -> Vec<Violation> {
    let mut by_tx: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in records {
        if let Some(tx) = &r.transaction_id {
            by_tx.entry(tx).or_default().push(r);
        }
    }
    let mut violations = Vec::new();
    for (tx, requests) in by_tx {
        let mut done_by: Option<u64> = None;
        for r in requests.iter().filter(|r| r.forwarded) {
            match r.method.as_str() {
                "POST" => {
                    if let Some(first) = done_by {
                        violations.push(Violation {
                            transaction_id: Some(tx.to_owned()),
                            what: format!(
                                "POST #{} was forwarded after POST #{first} was answered 2xx by the mock, with no check answered 404 in between",
                                r.seq
                            ),
                            requests: requests.iter().map(ToString::to_string).collect(),
                        });
                        break;
                    }
                    if r.mock_status.is_some_and(|s| (200..300).contains(&s)) {
                        done_by = Some(r.seq);
                    }
                }
                "GET" if r.mock_status == Some(404) => done_by = None,
                _ => {}
            }
        }
    }
    violations
}

/// Runs the creates on `concurrency` threads through the client `build` makes from the core
/// client (whose base URL is the proxy) and the run's transport limits; `create` runs one.
///
/// # Errors
/// When the mock or the proxy cannot start, `build` fails, or the mock's log cannot be read.
/// Broken promises are not errors: they are the report's violations.
pub fn run_blocking<C, B, F>(settings: &Settings, build: B, create: F) -> Result<Report, Error>
where
    B: FnOnce(Client, TransportConfig) -> Result<C, Error>,
    C: Sync,
    F: Fn(&C, &CreateAfterSalesOrder) -> Result<AfterSalesOrderAccepted, Error> + Sync,
{
    let (stage, core) = Stage::start(settings)?;
    let client = build(core, settings.transport.clone())?;
    let plan = Plan::new(settings);
    let outcomes = Mutex::new(Vec::new());
    let started = now();
    std::thread::scope(|scope| {
        for _ in 0..settings.concurrency.max(1) {
            scope.spawn(|| {
                while let Some(op) = plan.take() {
                    let t = now();
                    let result = create(&client, &op);
                    lock(&outcomes).push(Outcome {
                        create: op,
                        result,
                        took: t.elapsed(),
                    });
                }
            });
        }
    });
    let elapsed = started.elapsed();
    drop(client);
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    stage.finish(outcomes, elapsed)
}

/// Runs the creates as `concurrency` tokio tasks through the client `build` makes from the core
/// client (whose base URL is the proxy) and the run's transport limits; `create` runs one.
/// Call it inside a multi-thread tokio runtime: the mock and the proxy start on the calling
/// thread, the final check runs on a blocking thread.
///
/// # Errors
/// As [`run_blocking`], and when a task panics.
pub async fn run_async<C, B, F, Fut>(
    settings: &Settings,
    build: B,
    create: F,
) -> Result<Report, Error>
where
    B: FnOnce(Client, TransportConfig) -> Result<C, Error>,
    C: Clone + Send + 'static,
    F: Fn(C, CreateAfterSalesOrder) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<AfterSalesOrderAccepted, Error>> + Send + 'static,
{
    let (stage, core) = Stage::start(settings)?;
    let client = build(core, settings.transport.clone())?;
    let plan = Arc::new(Plan::new(settings));
    let started = now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency.max(1) {
        let (client, create, plan) = (client.clone(), create.clone(), Arc::clone(&plan));
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            while let Some(op) = plan.take() {
                let t = now();
                let result = create(client.clone(), op.clone()).await;
                outcomes.push(Outcome {
                    create: op,
                    result,
                    took: t.elapsed(),
                });
            }
            outcomes
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        outcomes.extend(joined.map_err(|e| Error::config(format!("a create task failed: {e}")))?);
    }
    let elapsed = started.elapsed();
    drop(client);
    tokio::task::spawn_blocking(move || stage.finish(outcomes, elapsed))
        .await
        .map_err(|e| Error::config(format!("the final check failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_draws_about_its_share() {
        let mix = Mix::default();
        let mut rng = Rng::new(7);
        let mut counts: HashMap<Fault, u32> = HashMap::new();
        for _ in 0..60_000 {
            *counts.entry(mix.pick(rng.next_u64())).or_default() += 1;
        }
        let passed = counts.get(&Fault::Pass).copied().unwrap_or(0);
        assert!((35_000..37_000).contains(&passed), "{counts:?}");
        for fault in Fault::ALL {
            assert!(
                counts.get(&fault).copied().unwrap_or(0) > 3_000,
                "{counts:?}"
            );
        }
        assert_eq!(Mix::with_fault_percent(0).pick(123), Fault::Pass);
    }

    fn record(seq: u64, method: &str, fault: Fault, status: Option<u16>) -> Record {
        Record {
            seq,
            connection: seq,
            method: method.into(),
            path: AFTER_SALES_PATH.into(),
            transaction_id: Some("42".into()),
            fault,
            forwarded: fault.forwards(),
            mock_status: status,
            mock_request_id: None,
            upstream_error: None,
        }
    }

    #[test]
    fn a_post_after_one_carried_out_is_a_violation_unless_a_check_found_nothing() {
        use Fault::{BadGateway, DropBefore, LoseAnswer, Pass};
        // Carried out, answer lost, the check finds it: fine.
        let fine = [
            record(0, "POST", LoseAnswer, Some(200)),
            record(1, "GET", Pass, Some(200)),
        ];
        assert!(resends_after_done(&fine).is_empty());
        // Never reached the mock, the check finds nothing, sent again: fine.
        let resent = [
            record(0, "POST", DropBefore, None),
            record(1, "GET", Pass, Some(404)),
            record(2, "POST", Pass, Some(200)),
        ];
        assert!(resends_after_done(&resent).is_empty());
        // A POST the proxy answered itself does not count as sent again.
        let local = [
            record(0, "POST", LoseAnswer, Some(200)),
            record(1, "POST", BadGateway, None),
        ];
        assert!(resends_after_done(&local).is_empty());
        // Carried out, then sent blind (a failed check is no licence).
        let blind = [
            record(0, "POST", LoseAnswer, Some(200)),
            record(1, "GET", LoseAnswer, Some(200)),
            record(2, "POST", Pass, Some(200)),
        ];
        let found = resends_after_done(&blind);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].requests.len(), 3);
        assert!(found[0].what.starts_with("POST #2 "), "{}", found[0]);
    }

    #[test]
    fn messages_are_read_with_their_bodies_and_keep_alive() {
        let wire = b"POST /v3/x?transaction_id=42 HTTP/1.1\r\nContent-Length: 5\r\nHost: h\r\n\r\nhelloGET /v3/y HTTP/1.1\r\n\r\n";
        let mut r = BufReader::new(&wire[..]);
        let first = read_message(&mut r, true)
            .expect("read")
            .expect("a message");
        assert_eq!(
            first.method_and_target(),
            ("POST", "/v3/x?transaction_id=42")
        );
        assert_eq!(first.body, b"hello");
        assert_eq!(first.header("HOST"), Some("h"));
        let second = read_message(&mut r, true)
            .expect("read")
            .expect("a message");
        assert_eq!(second.method_and_target(), ("GET", "/v3/y"));
        assert!(second.body.is_empty());
        assert!(read_message(&mut r, true).expect("read").is_none());
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_message(&mut BufReader::new(&cut[..]), false).is_err());
    }
}
