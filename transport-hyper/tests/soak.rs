//! A soak: the standalone mock driven at concurrency 64 with creates — unique, duplicated,
//! racing identical and racing conflicting — and queries, for `SOAK_SECONDS` (default 10);
//! then every accepted split is queried back. Nothing may be lost (an accepted create whose
//! order is missing or differs) or duplicated (two conflicting creates both accepted), and the
//! mock's resident memory must stay flat.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wechatpay_conformance::sandbox::{self, Standalone};
use wechatpay_core::{CreateAfterSalesOrder, Scene};
use wechatpay_transport_hyper::HyperClient;

fn create(tx: &str, amount: i64) -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        "1900000109",
        tx,
        amount,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
}

#[derive(Default)]
struct Ledger {
    /// Accepted splits: transaction → amount.
    accepted: HashMap<String, i64>,
    /// Conflicting pairs where both creates were accepted.
    duplicated: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_callers_lose_and_duplicate_nothing_and_memory_stays_flat() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let binary = sandbox::binary(false).expect("the mock binary");
    let mock = Standalone::start(&binary, &["--quiet"], Stdio::null()).expect("the mock starts");
    let pid = mock.pid();
    let core = mock.test_client().expect("core");
    let client = HyperClient::new(core).expect("client");

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let requests = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let warm = Instant::now() + Duration::from_secs(1);
    let until = Instant::now() + Duration::from_secs(seconds.max(2));
    let rss_start = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (client, ledger, requests, next, rss_start) = (
                client.clone(),
                Arc::clone(&ledger),
                Arc::clone(&requests),
                Arc::clone(&next),
                Arc::clone(&rss_start),
            );
            tokio::spawn(async move {
                while Instant::now() < until {
                    if Instant::now() >= warm && rss_start.load(Ordering::Relaxed) == 0 {
                        rss_start.store(sandbox::usage(pid).1, Ordering::Relaxed);
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let tx = format!("42{n:026}");
                    match n % 4 {
                        // A unique create, then its query.
                        0 => {
                            client
                                .execute(&create(&tx, 100))
                                .await
                                .expect("unique create");
                            ledger
                                .lock()
                                .expect("lock")
                                .accepted
                                .insert(tx.clone(), 100);
                            let order = client
                                .execute(&create(&tx, 100).query())
                                .await
                                .expect("query");
                            assert_eq!(order.amount, 100);
                            requests.fetch_add(2, Ordering::Relaxed);
                        }
                        // The same create twice.
                        1 => {
                            client.execute(&create(&tx, 101)).await.expect("create");
                            client
                                .execute(&create(&tx, 101))
                                .await
                                .expect("the same again");
                            ledger.lock().expect("lock").accepted.insert(tx, 101);
                            requests.fetch_add(2, Ordering::Relaxed);
                        }
                        // Two identical creates racing.
                        2 => {
                            let (first, second) = (create(&tx, 102), create(&tx, 102));
                            let (a, b) =
                                tokio::join!(client.execute(&first), client.execute(&second));
                            a.expect("racing identical");
                            b.expect("racing identical");
                            ledger.lock().expect("lock").accepted.insert(tx, 102);
                            requests.fetch_add(2, Ordering::Relaxed);
                        }
                        // Two conflicting creates racing: exactly one may win.
                        _ => {
                            let (first, second) = (create(&tx, 103), create(&tx, 104));
                            let (a, b) =
                                tokio::join!(client.execute(&first), client.execute(&second));
                            let mut ledger = ledger.lock().expect("lock");
                            match (a, b) {
                                (Ok(_), Ok(_)) => ledger.duplicated += 1,
                                (Ok(_), Err(e)) => {
                                    assert_eq!(e.code(), Some("INVALID_REQUEST"), "{e}");
                                    ledger.accepted.insert(tx, 103);
                                }
                                (Err(e), Ok(_)) => {
                                    assert_eq!(e.code(), Some("INVALID_REQUEST"), "{e}");
                                    ledger.accepted.insert(tx, 104);
                                }
                                (Err(a), Err(b)) => {
                                    panic!("both conflicting creates failed: {a}; {b}")
                                }
                            }
                            requests.fetch_add(2, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("caller");
    }
    let rss_end = sandbox::usage(pid).1;
    let ledger = std::mem::take(&mut *ledger.lock().expect("lock"));
    // Every accepted split is there, with the amount that was accepted.
    let mut lost = 0u64;
    for (tx, amount) in &ledger.accepted {
        match client.execute(&create(tx, *amount).query()).await {
            Ok(order) if order.amount == *amount => {}
            _ => lost += 1,
        }
    }
    // Steady traffic on a full log: 64 callers querying for a third of the time. Memory must
    // not move (the order store grows only with new orders, up to --max-orders).
    let rss_steady = sandbox::usage(pid).1;
    let txs: Arc<Vec<(String, i64)>> = Arc::new(
        ledger
            .accepted
            .iter()
            .map(|(t, a)| (t.clone(), *a))
            .collect(),
    );
    let until = Instant::now() + Duration::from_secs((seconds / 3).max(2));
    let queries: Vec<_> = (0..64usize)
        .map(|i| {
            let (client, txs, requests) = (client.clone(), Arc::clone(&txs), Arc::clone(&requests));
            tokio::spawn(async move {
                let mut k = i;
                while Instant::now() < until {
                    let (tx, amount) = &txs[k % txs.len()];
                    let order = client
                        .execute(&create(tx, *amount).query())
                        .await
                        .expect("query");
                    assert_eq!(order.amount, *amount);
                    requests.fetch_add(1, Ordering::Relaxed);
                    k += 64;
                }
            })
        })
        .collect();
    for q in queries {
        q.await.expect("querier");
    }
    let rss_after = sandbox::usage(pid).1;
    let rss_start = rss_start.load(Ordering::Relaxed);
    println!(
        "soak: {seconds} s, {} requests, {} splits accepted, lost {lost}, duplicated {}; mock RSS {rss_start} KiB after warm-up, {rss_end} KiB after the creates ({} B per stored order), {rss_steady} KiB before and {rss_after} KiB after the steady queries",
        requests.load(Ordering::Relaxed),
        ledger.accepted.len(),
        ledger.duplicated,
        (rss_end.saturating_sub(rss_start) * 1024) / (ledger.accepted.len() as u64).max(1),
    );
    assert_eq!(lost, 0, "accepted splits lost");
    assert_eq!(ledger.duplicated, 0, "conflicting creates both accepted");
    assert!(
        rss_after <= rss_steady + 2 * 1024,
        "RSS grew under steady traffic: {rss_steady} -> {rss_after} KiB"
    );
    drop(mock);
}
