//! The mock's control API: any path under /mock/ and any body.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_core::http::HeaderMap;
use wechatpay_mock_server::{MockBuilder, SimRequest, Simulator};

static SIMULATOR: LazyLock<Simulator> = LazyLock::new(|| {
    MockBuilder::new()
        .bounds(64, 64)
        .simulator()
        .expect("the embedded test keys load")
});

fuzz_target!(|data: &[u8]| {
    let (first, _, body) = wechatpay_fuzz::split(data);
    let (method, path) = first.split_once(' ').unwrap_or(("POST", first.as_str()));
    let target = format!(
        "/mock/{}",
        path.trim_start_matches('/').trim_start_matches("mock/")
    );
    let headers = HeaderMap::new();
    let request = SimRequest {
        method,
        target: &target,
        headers: &headers,
        body,
    };
    let answer = SIMULATOR.handle(&request, wechatpay_fuzz::NOW);
    assert!((200..600).contains(&answer.status));
});
