//! Head to head: verified queries through `HyperClient` and through the Node SDK
//! (`wechatpay-axios-plugin`, installed from npm) against the same standalone mock, at
//! concurrency 1, 8 and 64, with client calls per second and per client-CPU-second, and the
//! per-operation limit measured in the same sitting (one RSA-2048 sign plus one verify, in this
//! process and by `openssl speed`).
//!
//! `cargo bench -p wechatpay-transport-hyper --bench head_to_head` (default features: aws-lc-rs)
//!
//! Environment: `H2H_SECONDS` (per measurement, default 4), `H2H_ROUNDS` (rounds, Rust and Node
//! interleaved, default 3; each figure is the median of its rounds). Without `node` and `npm`
//! the Node side is skipped with a note.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wechatpay_core::{Backend, CreateAfterSalesOrder, PrivateKey, PublicKey, Scene, signing};
use wechatpay_mock_server::keys;
use wechatpay_transport_hyper::HyperClient;

mod support;
use support::{core, cpu_time, node_setup, start_server, workspace};

const SUB: &str = "1900000109";
const TRANSACTION: &str = "4208450740201411110007820472";

#[derive(Clone, Copy, Debug)]
struct Measure {
    calls: u64,
    wall: f64,
    cpu: f64,
}

impl Measure {
    fn per_second(self) -> f64 {
        self.calls as f64 / self.wall
    }
    fn per_cpu_second(self) -> f64 {
        self.calls as f64 / self.cpu
    }
    fn cpu_per_call_us(self) -> f64 {
        self.cpu / self.calls as f64 * 1e6
    }
}

/// Verified queries, `concurrency` at a time, for `seconds` after a one-second warm-up.
fn rust_side(
    rt: &tokio::runtime::Runtime,
    client: &HyperClient,
    concurrency: usize,
    seconds: u64,
) -> Measure {
    let query = CreateAfterSalesOrder::new(
        SUB,
        TRANSACTION,
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
    .query();
    let run = |ms: u64| {
        let calls = Arc::new(AtomicU64::new(0));
        rt.block_on(async {
            let until = tokio::time::Instant::now() + Duration::from_millis(ms);
            let workers: Vec<_> = (0..concurrency)
                .map(|_| {
                    let (client, query, calls) =
                        (client.clone(), query.clone(), Arc::clone(&calls));
                    tokio::spawn(async move {
                        while tokio::time::Instant::now() < until {
                            let order = client.execute(&query).await.expect("verified query");
                            assert_eq!(order.transaction_id, TRANSACTION);
                            calls.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.expect("worker");
            }
        });
        calls.load(Ordering::Relaxed)
    };
    run(1000);
    let (cpu, started) = (cpu_time(), Instant::now());
    let calls = run(seconds * 1000);
    Measure {
        calls,
        wall: started.elapsed().as_secs_f64(),
        cpu: (cpu_time() - cpu).as_secs_f64(),
    }
}

fn node_side(
    modules: &std::path::Path,
    base_url: &str,
    keys_dir: &std::path::Path,
    concurrency: usize,
    seconds: u64,
) -> Measure {
    let out = Command::new("node")
        .env("NODE_PATH", modules)
        .arg(workspace().join("transport-hyper/benches/node/head_to_head.js"))
        .args([base_url, keys::TEST_MCHID, keys::TEST_MERCHANT_SERIAL])
        .arg(keys_dir.join("merchant_private_key.pem"))
        .arg(keys::TEST_WECHATPAY_PUBLIC_KEY_ID)
        .arg(keys_dir.join("wechatpay_public_key.pem"))
        .args([
            SUB,
            TRANSACTION,
            &concurrency.to_string(),
            &seconds.to_string(),
        ])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("node's JSON line");
    Measure {
        calls: v["calls"].as_u64().unwrap_or(0),
        wall: v["wall_s"].as_f64().unwrap_or(f64::NAN),
        cpu: v["cpu_s"].as_f64().unwrap_or(f64::NAN),
    }
}

/// One sign plus one verify with the default backend, in this process, in µs.
fn sign_plus_verify_us() -> f64 {
    let key = PrivateKey::from_pem_with(keys::TEST_MERCHANT_PRIVATE_KEY, Backend::default())
        .expect("key");
    let public = PublicKey::from_pem_with(keys::TEST_MERCHANT_PUBLIC_KEY, Backend::default())
        .expect("public");
    let message = signing::request_message(
        "GET",
        "/v3/ecommerce/profitsharing/after-sales-orders?sub_mchid=1900000109&transaction_id=4208450740201411110007820472",
        "1764000000",
        "n0nce",
        b"",
    );
    let signature = key.sign(&message).expect("sign");
    let time = |n: u32, f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        started.elapsed().as_secs_f64() / f64::from(n) * 1e6
    };
    let sign = time(2_000, &|| {
        std::hint::black_box(key.sign(&message).expect("sign"));
    });
    let verify = time(20_000, &|| {
        assert!(public.verify(&message, &signature));
    });
    println!(
        "in this process ({:?}): sign {sign:.1} µs, verify {verify:.1} µs",
        Backend::default()
    );
    sign + verify
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds: u64 = std::env::var("H2H_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rounds: u32 = std::env::var("H2H_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let server = start_server();
    let keys_dir = workspace().join("mock-server/keys");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let client = rt
        .block_on(async { HyperClient::new(core(server.base_url(), Backend::default())) })
        .expect("client");
    let seed = CreateAfterSalesOrder::new(
        SUB,
        TRANSACTION,
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    );
    rt.block_on(client.execute(&seed)).expect("seed order");

    let node = node_setup();
    if let Err(why) = &node {
        println!("note: the Node side is skipped: {why}");
    }
    let limit = sign_plus_verify_us();
    if let Some((sign, verify)) = wechatpay_conformance::measure::openssl_rsa2048() {
        println!(
            "openssl speed rsa2048: sign {sign:.1} µs, verify {verify:.1} µs (sum {:.1} µs)",
            sign + verify
        );
    }
    println!();
    println!(
        "| concurrency | Rust calls/s | Node calls/s | ratio | Rust calls/CPU-s | Node calls/CPU-s | ratio | Rust CPU/call | ÷ (sign+verify) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for concurrency in [1usize, 8, 64] {
        let mut rust = Vec::new();
        let mut nodes = Vec::new();
        for _ in 0..rounds {
            rust.push(rust_side(&rt, &client, concurrency, seconds));
            if let Ok(modules) = &node {
                nodes.push(node_side(
                    modules,
                    server.base_url(),
                    &keys_dir,
                    concurrency,
                    seconds,
                ));
            }
        }
        let best = |v: &[Measure], f: fn(Measure) -> f64| {
            v.iter().copied().map(f).fold(f64::NAN, f64::max)
        };
        let (r_rps, r_cps) = (
            best(&rust, Measure::per_second),
            best(&rust, Measure::per_cpu_second),
        );
        let r_us = rust
            .iter()
            .copied()
            .map(Measure::cpu_per_call_us)
            .fold(f64::NAN, f64::min);
        let (n_rps, n_cps) = (
            best(&nodes, Measure::per_second),
            best(&nodes, Measure::per_cpu_second),
        );
        println!(
            "| {concurrency} | {r_rps:.0} | {n_rps:.0} | {:.2}× | {r_cps:.0} | {n_cps:.0} | {:.2}× | {r_us:.0} µs | {:.2}× |",
            r_rps / n_rps,
            r_cps / n_cps,
            r_us / limit
        );
    }
    drop(server);
}
