//! Network input never panics: thousands of deterministic mutations of real answers, headers,
//! certificate downloads and PEM files go through every parser and verifier, and each gets a
//! typed error (or, when the mutation is harmless, a result).

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::http::{HeaderName, HeaderValue, Response};
use wechatpay_core::signing::Authorization;
use wechatpay_core::{
    Client, Error, KeyRing, PlatformCertificate, PrivateKey, PublicKey, QueryAfterSalesOrder,
    signing,
};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Flips, deletes, inserts or duplicates a few bytes, or truncates.
    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..=self.below(4) {
            let i = self.below(v.len() + 1);
            match self.below(6) {
                0 if i < v.len() => v[i] ^= 1 << self.below(8),
                1 if i < v.len() => {
                    v.remove(i);
                }
                2 => v.insert(i, (self.next() & 0xff) as u8),
                3 => v.truncate(i),
                4 if i < v.len() => {
                    let chunk: Vec<u8> = v[i..].iter().take(16).copied().collect();
                    v.splice(i..i, chunk);
                }
                _ => v.insert(
                    i,
                    *b"\"{}[]:,\\0-9eE\xff\xc3"
                        .get(self.below(14))
                        .unwrap_or(&b'x'),
                ),
            }
        }
        v
    }
}

mod common;

use common::{NOW, PUB_KEY_ID, client_at, public_key_ring, testdata};

/// A client trusting both the public key and the platform certificate.
fn client() -> Client {
    let keys = public_key_ring()
        .with_platform_certificate_pem(&testdata("platform_certificate.pem"))
        .expect("cert");
    client_at(keys, NOW)
}

fn response(
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
) -> Option<Response<Vec<u8>>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        let name = HeaderName::try_from(k.as_str()).ok()?;
        let value = HeaderValue::from_bytes(v).ok()?;
        r = r.header(name, value);
    }
    r.body(body).ok()
}

#[test]
fn mutated_answers_never_panic() {
    let c = client();
    let key = PrivateKey::from_pem(&testdata("wechatpay_private_key.pem")).expect("key");
    let body = br#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"result":"FAILED","fail_reason":"NO_RELATION","finish_time":"2026-11-24T10:34:56.120+08:00"}"#;
    let ts = NOW.to_string();
    let sig = key
        .sign_base64(&signing::response_message(&ts, "n0nce", body))
        .expect("sign");
    let headers = vec![
        ("wechatpay-timestamp".to_owned(), ts.into_bytes()),
        ("wechatpay-nonce".to_owned(), b"n0nce".to_vec()),
        (
            "wechatpay-serial".to_owned(),
            PUB_KEY_ID.as_bytes().to_vec(),
        ),
        ("wechatpay-signature".to_owned(), sig.into_bytes()),
        ("request-id".to_owned(), b"RID".to_vec()),
    ];
    let query = QueryAfterSalesOrder::new("1900000109", "4208450740201411110007820472");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut refused) = (0, 0);
    for round in 0..3000 {
        let mut h = headers.clone();
        let mut b = body.to_vec();
        match round % 3 {
            0 => b = rng.mutate(&b),
            1 => {
                let i = rng.below(h.len());
                h[i].1 = rng.mutate(&h[i].1);
            }
            _ => {
                if rng.below(2) == 0 {
                    h.remove(rng.below(h.len()));
                }
                b = rng.mutate(&b);
            }
        }
        let status = [200, 200, 200, 202, 204, 400, 404, 429, 500, 502][rng.below(10)];
        let Some(resp) = response(status, &h, b) else {
            continue;
        };
        let (_, pending) = c.prepare(&query).expect("prepare");
        match pending.finish(resp) {
            Ok(_) => ok += 1,
            Err(e) => {
                refused += 1;
                let _ = (e.to_string(), format!("{e:?}"), e.code(), e.is_retryable());
            }
        }
    }
    assert!(
        refused > 2500,
        "mutations are refused ({refused} refused, {ok} accepted)"
    );
}

#[test]
fn mutated_error_bodies_and_authorizations_never_panic() {
    let mut rng = Rng(42);
    let error = br#"{"code":"PARAM_ERROR","message":"\u53c2\u6570\u9519\u8bef","detail":{"field":"/amount","value":0,"issue":"must be > 0","location":"body"}}"#;
    let auth = Authorization {
        mchid: "1900000100".into(),
        serial_no: "3775B6A45ACD588826D15E583A95F5DD00000001".into(),
        timestamp: "1554208460".into(),
        nonce_str: "593BEC0C930BF1AFEB40B4A08C8FB242".into(),
        signature: "c2lnbmF0dXJl".into(),
    }
    .to_header_value();
    for _ in 0..3000 {
        let b = rng.mutate(error);
        let e = Error::api(
            wechatpay_core::http::StatusCode::BAD_REQUEST,
            &b,
            Some("RID"),
        );
        let _ = (e.to_string(), e.code(), e.detail(), e.body_excerpt());
        let a = rng.mutate(auth.as_bytes());
        let _ = Authorization::parse(&String::from_utf8_lossy(&a));
        let _ = signing::redact_authorization(&String::from_utf8_lossy(&a));
    }
}

#[test]
fn mutated_certificate_downloads_and_pem_never_panic() {
    #[derive(serde::Deserialize)]
    struct V {
        certificates: C,
    }
    #[derive(serde::Deserialize)]
    struct C {
        apiv3_key: String,
        body: String,
        headers: std::collections::BTreeMap<String, String>,
    }
    let v: V = serde_json::from_str(&testdata("vectors.json")).expect("vectors");
    let v = v.certificates;
    let key = ApiV3Key::new(&v.apiv3_key).expect("key");
    let now: i64 = v.headers["Wechatpay-Timestamp"].parse().expect("ts");
    let c = client_at(KeyRing::new(), now);
    let headers: Vec<(String, Vec<u8>)> = v
        .headers
        .iter()
        .map(|(k, val)| (k.to_ascii_lowercase(), val.clone().into_bytes()))
        .collect();
    let mut rng = Rng(7);
    for _ in 0..400 {
        let body = rng.mutate(v.body.as_bytes());
        let Some(resp) = response(200, &headers, body) else {
            continue;
        };
        let (_, pending) = c.prepare_certificates(&key).expect("prepare");
        let _ = pending.finish(resp);
    }
    let pems = [
        testdata("merchant_private_key.pem"),
        testdata("platform_certificate.pem"),
        testdata("wechatpay_public_key.pem"),
    ];
    for _ in 0..600 {
        let pem = &pems[rng.below(pems.len())];
        let m = String::from_utf8_lossy(&rng.mutate(pem.as_bytes())).into_owned();
        let _ = PrivateKey::from_pem(&m);
        let _ = PublicKey::from_pem(&m);
        let _ = PlatformCertificate::from_pem(&m);
    }
}
