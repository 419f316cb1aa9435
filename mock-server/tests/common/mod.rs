//! A raw HTTP/1.1 client for tests: full control over the bytes sent, so hostile requests can
//! be written too.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use wechatpay_core::http::{Request, Response};
use wechatpay_core::{CreateAfterSalesOrder, Scene};

/// Sends raw bytes and reads the whole answer (the connection is closed by the server after
/// one response because every request says `Connection: close`).
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(bytes).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .map_err(|_| std::io::Error::other("timed out"))??;
    Ok(out)
}

/// Serialises an `http::Request` exactly as given (plus Host, Content-Length, Connection).
pub fn serialise(req: &Request<Vec<u8>>) -> Vec<u8> {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!(
        "{} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n",
        req.method()
    )
    .into_bytes();
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

/// Parses an HTTP/1.1 response with a Content-Length body.
pub fn parse(raw: &[u8]) -> Response<Vec<u8>> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("ascii head");
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let mut builder = Response::builder().status(status);
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            builder = builder.header(k.trim(), v.trim());
        }
    }
    builder.body(body).expect("response")
}

/// Sends a prepared request and returns the parsed answer.
pub async fn send(addr: SocketAddr, req: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    parse(&send_raw(addr, &serialise(req)).await.expect("exchange"))
}

/// The JSON body of an answer.
pub fn json(resp: &Response<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(resp.body())))
}

/// Asserts WeChat Pay's error shape with this status and code; returns the body.
#[track_caller]
pub fn assert_error(resp: &Response<Vec<u8>>, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(
        resp.status().as_u16(),
        status,
        "{:?}",
        String::from_utf8_lossy(resp.body())
    );
    assert!(
        resp.headers().contains_key("request-id"),
        "every answer has a Request-ID"
    );
    let body = json(resp);
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// The sample after-sales request of WeChat Pay's documentation, for `scene`.
pub fn create(scene: Scene) -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        scene,
        "50000000382019052709732678859",
    )
}

/// A local receiver of notifications: records each request and acknowledges it.
pub struct Inbox {
    /// Where to send notifications.
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<wechatpay_core::http::Request<Vec<u8>>>>>,
}

impl Inbox {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/notify", listener.local_addr().expect("address"));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = std::sync::Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let store = std::sync::Arc::clone(&store);
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        if let Some(req) = parse_request(&raw) {
                            store.lock().expect("inbox").push(req);
                            let _ = stream
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\nconnection: close\r\n\r\n{\"code\":\"SUCCESS\"}")
                                .await;
                            return;
                        }
                    }
                });
            }
        });
        Self { url, received }
    }

    /// Waits until `n` notifications arrived (10 s at most); returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<wechatpay_core::http::Request<Vec<u8>>> {
        let started = std::time::Instant::now();
        loop {
            let got = self.received.lock().expect("inbox").clone();
            if got.len() >= n || started.elapsed() > Duration::from_secs(10) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A whole HTTP/1.1 request with a Content-Length body, once it has all arrived.
pub fn parse_request(raw: &[u8]) -> Option<wechatpay_core::http::Request<Vec<u8>>> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let mut builder = wechatpay_core::http::Request::post(target);
    let mut length = 0;
    for line in lines {
        let (k, v) = line.split_once(':')?;
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().ok()?;
        }
        builder = builder.header(k.trim(), v.trim());
    }
    let body = raw.get(end + 4..)?;
    (body.len() >= length).then(|| builder.body(body[..length].to_vec()).ok())?
}
