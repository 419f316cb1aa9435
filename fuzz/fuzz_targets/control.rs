//! The mock's control API: any path under /mock/ and any body, on a fresh simulator per input
//! (a crash cannot depend on earlier inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::http::HeaderMap;
use wechatpay_mock_server::{MockBuilder, SimRequest};

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
    let simulator = MockBuilder::new()
        .bounds(64, 64)
        .seed(7)
        .simulator()
        .expect("the embedded test keys load");
    let answer = simulator.handle(&request, wechatpay_fuzz::NOW);
    assert!((200..600).contains(&answer.status));
});
