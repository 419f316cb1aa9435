//! End to end over loopback against the standalone `wechatpay-mock-server`: requests per second
//! for create and query, hyper at concurrency 1, 8 and 64, blocking at 1.
//!
//! `cargo bench -p wechatpay-transport-hyper --all-features --bench e2e`
//!
//! It builds and starts the mock binary itself (release profile, with the `aws-lc-rs` feature
//! so the mock's own signing is not the bottleneck), with the shared test keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wechatpay_core::{Backend, CreateAfterSalesOrder, QueryAfterSalesOrder, Scene};
use wechatpay_transport_blocking::BlockingClient;
use wechatpay_transport_hyper::HyperClient;

mod support;
use support::{core, start_server};

static NEXT: AtomicU64 = AtomicU64::new(0);

fn fresh_create() -> CreateAfterSalesOrder {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    CreateAfterSalesOrder::new(
        "1900000109",
        format!("42{n:026}"),
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
}

fn benches(c: &mut Criterion) {
    let server = start_server();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let query = {
        let op = fresh_create();
        let blocking =
            BlockingClient::new(core(server.base_url(), Backend::default())).expect("client");
        blocking.execute(&op).expect("seed order");
        op.query()
    };

    for &backend in Backend::all() {
        let hyper = rt
            .block_on(async { HyperClient::new(core(server.base_url(), backend)) })
            .expect("hyper");
        let mut group = c.benchmark_group(format!("e2e/{backend:?}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4))
            .warm_up_time(Duration::from_secs(1));
        for concurrency in [1usize, 8, 64] {
            group.throughput(Throughput::Elements(concurrency as u64));
            group.bench_function(format!("hyper_create_c{concurrency}"), |b| {
                b.to_async(&rt)
                    .iter(|| run_batch(&hyper, concurrency, None))
            });
            group.bench_function(format!("hyper_query_c{concurrency}"), |b| {
                b.to_async(&rt)
                    .iter(|| run_batch(&hyper, concurrency, Some(query.clone())))
            });
        }
        let blocking = BlockingClient::new(core(server.base_url(), backend)).expect("blocking");
        group.throughput(Throughput::Elements(1));
        group.bench_function("blocking_create_c1", |b| {
            b.iter(|| blocking.execute(&fresh_create()).expect("create"))
        });
        group.bench_function("blocking_query_c1", |b| {
            b.iter(|| blocking.execute(&query).expect("query"))
        });
        group.finish();
    }
    drop(server);
}

/// `concurrency` calls at once on one client; each creates a new order or runs the query.
async fn run_batch(client: &HyperClient, concurrency: usize, query: Option<QueryAfterSalesOrder>) {
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            let query = query.clone();
            tokio::spawn(async move {
                match query {
                    Some(q) => client.execute(&q).await.map(|_| ()),
                    None => client.execute(&fresh_create()).await.map(|_| ()),
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("call");
    }
}

criterion_group!(e2e, benches);
criterion_main!(e2e);
