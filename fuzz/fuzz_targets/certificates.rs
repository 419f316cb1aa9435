//! The certificate download: decryption, PEM, serials and the answer's signature, for any
//! status, headers and body.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_core::Client;
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_mock_server::keys;

static CLIENT: LazyLock<Client> = LazyLock::new(wechatpay_fuzz::client);
static KEY: LazyLock<ApiV3Key> = LazyLock::new(keys::test_apiv3_key);

fuzz_target!(|data: &[u8]| {
    if let Ok((_, pending)) = CLIENT.prepare_certificates(&KEY) {
        if let Ok(certificates) = pending.finish(wechatpay_fuzz::response(data)) {
            for c in certificates {
                let _ = (c.serial(), c.not_after(), c.pem());
            }
        }
    }
});
