//! `Authorization` parsing and writing: whatever parses, written again, parses to the same
//! value; redaction never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechatpay_core::signing::{Authorization, redact_authorization};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = redact_authorization(text);
    if let Ok(parsed) = Authorization::parse(text) {
        let written = parsed.to_header_value();
        let again = Authorization::parse(&written).expect("a written header parses");
        assert_eq!(again, parsed, "round trip");
        assert!(
            format!("{parsed:?}").contains(r#"signature: "<redacted>""#),
            "Debug redacts the signature"
        );
    }
});
