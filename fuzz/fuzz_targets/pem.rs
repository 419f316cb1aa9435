//! Key and certificate PEM loading: every loader, any input, a typed error or a key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::{PlatformCertificate, PrivateKey, PublicKey};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = PrivateKey::from_pem(&text) {
        let _ = key.public_key_pem();
    }
    let _ = PublicKey::from_pem(&text);
    if let Ok(cert) = PlatformCertificate::from_pem(&text) {
        let _ = (cert.serial(), cert.is_valid_at(0));
    }
});
