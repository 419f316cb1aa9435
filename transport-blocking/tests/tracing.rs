//! Every call is a `wechatpay.call` span with method, path, attempt, status, Request-ID and
//! elapsed time; nothing secret reaches the trace.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Harness, create};
use tracing_subscriber::fmt::format::FmtSpan;
use wechatpay_core::TransportConfig;
use wechatpay_mock_server::{Fault, MockWechatPay, keys};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_call_span_has_the_fields_and_no_secrets() {
    let h = Harness::start(MockWechatPay::builder());
    h.mock.inject(Fault::SystemError, 1);
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        h.client(TransportConfig::default())
            .execute(&create("4208450740201411110000001201"))
            .expect("second attempt");
    });
    let log = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
    let last_id = h.mock.answers().last().expect("answers").request_id.clone();
    for needle in [
        "wechatpay.call",
        "method=POST",
        "path=/v3/ecommerce/profitsharing/after-sales-orders",
        "attempt=2",
        "status=200",
        &format!("request_id={last_id}"),
        "elapsed_ms=",
        "retrying",
    ] {
        assert!(log.contains(needle), "{needle:?} missing from:\n{log}");
    }
    let key_line = keys::TEST_MERCHANT_PRIVATE_KEY
        .lines()
        .nth(2)
        .expect("key line");
    for secret in ["WECHATPAY2-SHA256-RSA2048 mchid", "signature=\"", key_line] {
        assert!(!log.contains(secret), "{secret:?} leaked into:\n{log}");
    }
}
