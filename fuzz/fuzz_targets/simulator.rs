//! The mock's simulator handling arbitrary requests: method, target, headers, body.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_mock_server::{MockBuilder, SimRequest, Simulator};

static SIMULATOR: LazyLock<Simulator> = LazyLock::new(|| {
    MockBuilder::new()
        .test_certificate_mode()
        .bounds(64, 64)
        .simulator()
        .expect("the embedded test keys load")
});

fuzz_target!(|data: &[u8]| {
    let (first, headers, body) = wechatpay_fuzz::split(data);
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first.as_str()));
    let request = SimRequest {
        method,
        target,
        headers: &headers,
        body,
    };
    let answer = SIMULATOR.handle(&request, wechatpay_fuzz::NOW);
    assert!((200..600).contains(&answer.status));
});
