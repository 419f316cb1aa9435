//! The mock's simulator handling arbitrary requests: method, target, headers, body. Each input
//! gets a fresh simulator with a fixed seed, twice: a crash cannot depend on earlier inputs, and
//! the two answers must be the same bytes (the simulator is a function of its inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_mock_server::{MockBuilder, SimRequest};

fuzz_target!(|data: &[u8]| {
    let (first, headers, body) = wechatpay_fuzz::split(data);
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first.as_str()));
    let request = SimRequest {
        method,
        target,
        headers: &headers,
        body,
    };
    let answer = || {
        MockBuilder::new()
            .test_certificate_mode()
            .bounds(64, 64)
            .seed(7)
            .simulator()
            .expect("the embedded test keys load")
            .handle(&request, wechatpay_fuzz::NOW)
    };
    let first = answer();
    assert!((200..600).contains(&first.status));
    assert_eq!(first, answer(), "the same input gave two answers");
});
