//! Error answers: any status, body and `Request-ID` make an error whose accessors and text
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::Error;
use wechatpay_core::http::StatusCode;

fuzz_target!(|data: &[u8]| {
    let (status, rest) = data.split_at(data.len().min(2));
    let code = u16::from_le_bytes([
        status.first().copied().unwrap_or(0),
        status.get(1).copied().unwrap_or(0),
    ]);
    let status = StatusCode::from_u16(100 + code % 500).unwrap_or(StatusCode::BAD_GATEWAY);
    let request_id = std::str::from_utf8(&rest[..rest.len().min(40)]).ok();
    let e = Error::api(status, rest, request_id);
    let _ = (
        e.to_string(),
        format!("{e:?}"),
        e.code(),
        e.api_message(),
        e.detail(),
        e.body_excerpt(),
    );
    let _ = (e.is_retryable(), e.is_fate_unknown(), e.is_not_found());
});
