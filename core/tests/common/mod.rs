//! Fixtures shared by core's integration tests: the shared vectors' keys, a client at a fixed
//! time, and answers signed as WeChat Pay signs them.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use wechatpay_core::http::Response;
use wechatpay_core::{Client, FixedClock, KeyRing, MerchantCredentials, PrivateKey, signing};

pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000001002026112400000000000001";
pub const MCHID: &str = "1900000100";
pub const MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD00000001";
/// The time the hand-made answers are signed at.
pub const NOW: i64 = 1_764_000_000;

/// A file of `core/testdata`.
pub fn testdata(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The vectors' merchant.
pub fn merchant() -> MerchantCredentials {
    MerchantCredentials::from_pem(
        MCHID,
        MERCHANT_SERIAL,
        &testdata("merchant_private_key.pem"),
    )
    .expect("merchant")
}

/// A ring with the vectors' WeChat Pay public key.
pub fn public_key_ring() -> KeyRing {
    KeyRing::new()
        .with_wechatpay_public_key_pem(PUB_KEY_ID, &testdata("wechatpay_public_key.pem"))
        .expect("keys")
}

/// A client for the vectors' merchant trusting `keys` (possibly none yet), its clock at `now`.
pub fn client_at(keys: KeyRing, now: i64) -> Client {
    Client::builder(merchant(), keys)
        .allow_empty_key_ring()
        .clock(Arc::new(FixedClock::new(now)))
        .build()
        .expect("client")
}

/// A client trusting the WeChat Pay public key, at [`NOW`].
pub fn client() -> Client {
    client_at(public_key_ring(), NOW)
}

/// An answer with `status` and `body`, signed at [`NOW`] with `key_file`, serial
/// [`PUB_KEY_ID`], `Request-ID: RID-1`.
pub fn signed(status: u16, body: &str, key_file: &str) -> Response<Vec<u8>> {
    let key = PrivateKey::from_pem(&testdata(key_file)).expect("key");
    let ts = NOW.to_string();
    let sig = key
        .sign_base64(&signing::response_message(&ts, "n0nce", body.as_bytes()))
        .expect("sign");
    Response::builder()
        .status(status)
        .header("Wechatpay-Timestamp", ts)
        .header("Wechatpay-Nonce", "n0nce")
        .header("Wechatpay-Serial", PUB_KEY_ID)
        .header("Wechatpay-Signature", sig)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
        .header("Request-ID", "RID-1")
        .body(body.as_bytes().to_vec())
        .expect("response")
}
