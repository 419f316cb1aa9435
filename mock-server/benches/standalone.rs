//! The standalone binary under load: requests per second, server CPU per request, and resident
//! memory at start and after 100,000 requests (plus 20,000 distinct orders into a store bounded
//! at 5,000), over keep-alive connections on loopback.
//!
//! `cargo bench -p wechatpay-mock-server --features standalone --bench standalone`
//!
//! `SOAK_REQUESTS` (default 100000) and `SOAK_CONNECTIONS` (default 8) change the load.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_core::http::Request;
use wechatpay_core::{CreateAfterSalesOrder, Scene};

/// One request serialised for keep-alive.
fn wire(req: &Request<Vec<u8>>) -> Vec<u8> {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!("{} {target} HTTP/1.1\r\nhost: localhost\r\n", req.method()).into_bytes();
    for (name, value) in req.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", req.body().len()).as_bytes());
    out.extend_from_slice(req.body());
    out
}

/// Sends each request on one keep-alive connection, reading each answer; the statuses.
async fn drive(addr: SocketAddr, requests: Vec<Vec<u8>>) -> Vec<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(8192);
    let mut statuses = Vec::with_capacity(requests.len());
    for req in requests {
        stream.write_all(&req).await.expect("write");
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    statuses.push(head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0));
                    buf.drain(..end + 4 + len);
                    break;
                }
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    statuses
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total = env_or("SOAK_REQUESTS", 100_000);
    let connections = env_or("SOAK_CONNECTIONS", 8).max(1);
    let binary = sandbox::binary(true).expect("the mock binary");
    let mock = Standalone::start(
        &binary,
        &["--quiet", "--max-orders", "5000", "--max-log", "1000"],
        Stdio::inherit(),
    )
    .expect("the mock starts");
    let pid = mock.pid();
    let addr: SocketAddr = mock
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let client = mock.test_client().expect("client");
    let create = |i: usize| {
        CreateAfterSalesOrder::new(
            "1900000109",
            format!("42{i:026}"),
            100,
            Scene::RefundTicket,
            "50000000382019052709732678859",
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");

    // 20,000 distinct orders (signed ahead of time), into a store bounded at 5,000.
    let creates: Vec<Vec<u8>> = (0..20_000)
        .map(|i| wire(&client.prepare(&create(i)).expect("sign").0))
        .collect();
    let (cpu0, rss0) = sandbox::usage(pid);
    let statuses = rt.block_on(drive(addr, creates));
    assert!(statuses.iter().all(|&s| s == 200));
    let (cpu1, rss_orders) = sandbox::usage(pid);
    // Then `total` verified queries of the last order: one signed request replayed (the mock
    // checks each one's signature and signs each answer), over keep-alive connections.
    let query = wire(&client.prepare(&create(19_999).query()).expect("sign").0);
    let per = total / connections;
    let started = Instant::now();
    let statuses: Vec<u16> = rt.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(drive(addr, vec![query.clone(); per])))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let wall = started.elapsed();
    let (cpu2, rss_end) = sandbox::usage(pid);
    assert!(
        statuses.iter().all(|&s| s == 200),
        "every query answered 200"
    );
    drop(mock);
    let n = statuses.len();
    println!(
        "{n} verified queries over {connections} keep-alive connections, after 20,000 creates"
    );
    println!("requests per second: {:.0}", n as f64 / wall.as_secs_f64());
    println!(
        "server CPU per query: {:.1} µs (verifies the merchant's signature, signs the answer); per create: {:.1} µs",
        (cpu2 - cpu1).as_secs_f64() / n as f64 * 1e6,
        (cpu1 - cpu0).as_secs_f64() / 20_000.0 * 1e6
    );
    println!(
        "RSS: {rss0} KiB at start, {rss_orders} KiB after 20,000 creates (store bounded at 5,000), {rss_end} KiB after {n} more requests"
    );
}
