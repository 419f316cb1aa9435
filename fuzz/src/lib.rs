//! Shared by the fuzz targets: a readable input format and fixed-time clients with the test
//! keys, so that signed inputs from the seed corpus can verify.
//!
//! Input format, request or response:
//! ```text
//! FIRST LINE          (the status code; or the method, a space, and the target)
//! Name: value         (headers, one per line)
//!                     (a blank line)
//! body bytes…
//! ```

use std::sync::Arc;

use wechatpay_core::http::{HeaderMap, HeaderName, HeaderValue, Response};
use wechatpay_core::{Client, FixedClock, KeyRing, MerchantCredentials};
use wechatpay_mock_server::keys;

/// The time the shared vectors' answers were signed at (certificates: 400 s later, within skew).
pub const NOW: i64 = 1_764_000_000;

/// The head's first line, its headers, and the body.
pub fn split(data: &[u8]) -> (String, HeaderMap, &[u8]) {
    let end = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match end {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("").to_owned();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(n, v);
        }
    }
    (first, headers, body)
}

/// A response from the input format (status from the first line; 200 when not a number).
pub fn response(data: &[u8]) -> Response<Vec<u8>> {
    let (first, headers, body) = split(data);
    let mut r = Response::new(body.to_vec());
    *r.status_mut() = first
        .trim()
        .parse::<u16>()
        .ok()
        .and_then(|s| wechatpay_core::http::StatusCode::from_u16(s).ok())
        .unwrap_or(wechatpay_core::http::StatusCode::OK);
    *r.headers_mut() = headers;
    r
}

/// A client at [`NOW`] trusting the test WeChat Pay public key and platform certificate.
pub fn client() -> Client {
    let merchant = MerchantCredentials::from_pem(
        keys::TEST_MCHID,
        keys::TEST_MERCHANT_SERIAL,
        keys::TEST_MERCHANT_PRIVATE_KEY,
    )
    .expect("the embedded test key loads");
    let ring = KeyRing::new()
        .with_wechatpay_public_key_pem(
            keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            keys::TEST_WECHATPAY_PUBLIC_KEY,
        )
        .expect("the embedded test key loads");
    Client::builder(merchant, ring)
        .clock(Arc::new(FixedClock::new(NOW)))
        .build()
        .expect("client")
}
