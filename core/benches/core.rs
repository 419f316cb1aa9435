//! Sign, prepare and finish (verify + parse) for both operations, on every compiled backend.
//!
//! `cargo bench -p wechatpay-core --all-features --bench core`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use wechatpay_core::http::Response;
use wechatpay_core::{
    Backend, Client, CreateAfterSalesOrder, FixedClock, KeyRing, MerchantCredentials, PrivateKey,
    PublicKey, QueryAfterSalesOrder, Scene, signing,
};

const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000001002026112400000000000001";
const NOW: i64 = 1_764_000_000;

fn testdata(name: &str) -> String {
    std::fs::read_to_string(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("testdata")
}

fn client(backend: Backend) -> Client {
    let key =
        PrivateKey::from_pem_with(&testdata("merchant_private_key.pem"), backend).expect("key");
    let merchant = MerchantCredentials::new(
        "1900000100",
        "3775B6A45ACD588826D15E583A95F5DD00000001",
        key,
    )
    .expect("merchant");
    let keys = KeyRing::new();
    keys.add_wechatpay_public_key(
        PUB_KEY_ID,
        PublicKey::from_pem_with(&testdata("wechatpay_public_key.pem"), backend).expect("pub"),
    )
    .expect("id");
    Client::builder(merchant, keys)
        .clock(Arc::new(FixedClock::new(NOW)))
        .build()
        .expect("client")
}

fn signed(body: &str) -> Response<Vec<u8>> {
    let key = PrivateKey::from_pem(&testdata("wechatpay_private_key.pem")).expect("key");
    let ts = NOW.to_string();
    let sig = key
        .sign_base64(&signing::response_message(&ts, "n0nce", body.as_bytes()))
        .expect("sign");
    Response::builder()
        .header("Wechatpay-Timestamp", ts)
        .header("Wechatpay-Nonce", "n0nce")
        .header("Wechatpay-Serial", PUB_KEY_ID)
        .header("Wechatpay-Signature", sig)
        .header("Request-ID", "RID")
        .body(body.as_bytes().to_vec())
        .expect("response")
}

fn benches(c: &mut Criterion) {
    let create = CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    );
    let query = create.query();
    let created = signed(
        r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100}"#,
    );
    let queried = signed(
        r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"result":"SUCCESS","finish_time":"2026-11-24T10:34:56.120+08:00"}"#,
    );
    let message = signing::request_message(
        "POST",
        "/v3/ecommerce/profitsharing/after-sales-orders",
        &NOW.to_string(),
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        create_body().as_bytes(),
    );
    for &backend in Backend::all() {
        let name = format!("{backend:?}");
        let client = client(backend);
        let key = client.merchant().private_key().clone();
        c.bench_function(&format!("{name}/sign"), |b| {
            b.iter(|| key.sign(black_box(&message)).expect("sign"))
        });
        c.bench_function(&format!("{name}/prepare_create"), |b| {
            b.iter(|| client.prepare(black_box(&create)).expect("prepare"))
        });
        c.bench_function(&format!("{name}/prepare_query"), |b| {
            b.iter(|| client.prepare(black_box(&query)).expect("prepare"))
        });
        c.bench_function(&format!("{name}/finish_create"), |b| {
            b.iter_batched(
                || (client.prepare(&create).expect("prepare").1, created.clone()),
                |(pending, response)| pending.finish(response).expect("verified"),
                criterion::BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("{name}/finish_query"), |b| {
            b.iter_batched(
                || {
                    (
                        client
                            .prepare::<QueryAfterSalesOrder>(&query)
                            .expect("prepare")
                            .1,
                        queried.clone(),
                    )
                },
                |(pending, response)| pending.finish(response).expect("verified"),
                criterion::BatchSize::SmallInput,
            )
        });
    }
}

fn create_body() -> String {
    r#"{"sub_mchid":"1900000109","transaction_id":"4208450740201411110007820472","amount":100,"type":"SERVICE_FEE_INCOME","scene":"REFUND_TICKET","refund_id":"50000000382019052709732678859"}"#.to_owned()
}

criterion_group! {
    name = core;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(core);
