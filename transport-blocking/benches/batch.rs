//! `wechatpay after-sales batch` end to end: the release CLI against the release standalone
//! sandbox on this machine, batches of 10,000 and 100,000 rows at `--rate R --concurrency C`.
//! Prints rows a second against `--rate`, the CLI's CPU per row, and its peak RSS (VmHWM,
//! polled from /proc while it runs), with `openssl speed rsa2048` in the same run for the RSA
//! floor: each row costs one RSA-2048 sign and one verify in the CLI, and one verify and one
//! sign in the sandbox, both on the same cores.
//!
//! `cargo bench -p wechatpay-transport-blocking --features cli --bench batch`; `BATCH_RATE`
//! (default 1000), `BATCH_CONCURRENCY` (16) and `BATCH_ROWS` (`10000,100000`) change the run;
//! `MALLOC_ARENA_MAX`, when set, is passed to the CLI (glibc gives each worker thread its own
//! heap, whose fragmentation makes RSS creep with the run's length, not with its rows).

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "../tests/cli_support/mod.rs"]
mod cli_support;

use wechatpay_conformance::measure;
use wechatpay_conformance::sandbox::{Standalone, binary, keys_dir, usage};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes `n` JSON Lines rows, each its own order.
fn input(path: &Path, n: usize, batch: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        writeln!(
            out,
            r#"{{"sub_mchid":"1900000109","transaction_id":"42{batch:02}{i:024}","amount":{},"scene":"REFUND_TICKET","refund_id":"50000000382019052709{i:010}"}}"#,
            1 + i % 1000
        )?;
    }
    out.flush()
}

fn main() {
    let rate: f64 = env_or("BATCH_RATE", 1000.0);
    let concurrency: u16 = env_or("BATCH_CONCURRENCY", 16);
    let sizes: Vec<usize> = std::env::var("BATCH_ROWS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let sandbox = Standalone::start(
        &binary(true).expect("the release sandbox"),
        &["--quiet", "--max-orders", "1000000", "--max-log", "100"],
        Stdio::null(),
    )
    .expect("the sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "after-sales batch: release CLI and release sandbox on {} cores, --rate {rate} --concurrency {concurrency}, MALLOC_ARENA_MAX {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "unset".into())
    );
    for (batch, &rows) in sizes.iter().enumerate() {
        let path = dir.path().join(format!("rows{rows}.jsonl"));
        input(&path, rows, batch).expect("input");
        let mut command = cli_support::public_key_command(
            sandbox.base_url(),
            &keys_dir().join("merchant_private_key.pem"),
            &keys_dir().join("wechatpay_public_key.pem"),
        );
        // The allocator's setting, when the run gives one (see the README's figures).
        if let Ok(arenas) = std::env::var("MALLOC_ARENA_MAX") {
            command.env("MALLOC_ARENA_MAX", arenas);
        }
        let mut child = command
            .args(["after-sales", "batch", "--input"])
            .arg(&path)
            .args(["--rate", &rate.to_string()])
            .args(["--concurrency", &concurrency.to_string()])
            .arg("--report")
            .arg(dir.path().join(format!("rows{rows}.report")))
            .env_clear()
            .envs(std::env::var("MALLOC_ARENA_MAX").map(|v| ("MALLOC_ARENA_MAX", v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the CLI");
        let pid = child.id();
        #[allow(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
        let started = Instant::now();
        let server_cpu_before = usage(sandbox.pid()).0;
        let mut peak = 0;
        let mut cpu = Duration::ZERO;
        while child.try_wait().expect("wait").is_none() {
            peak = peak.max(measure::peak_rss(pid));
            let (used, _) = usage(pid);
            if used > Duration::ZERO {
                cpu = used;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let out = child.wait_with_output().expect("the CLI's output");
        let server_cpu = usage(sandbox.pid()).0 - server_cpu_before;
        let summary = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{summary}");
        let per_second = rows as f64 / elapsed;
        println!(
            "{rows:>7} rows: {elapsed:6.1} s, {per_second:7.0} rows/s = {:5.1} % of --rate; CLI CPU {:6.0} µs/row, sandbox CPU {:6.0} µs/row; CLI peak RSS {:.1} MiB",
            100.0 * per_second / rate,
            cpu.as_secs_f64() * 1e6 / rows as f64,
            server_cpu.as_secs_f64() * 1e6 / rows as f64,
            peak as f64 / 1024.0,
        );
        eprint!("  {summary}");
    }
    if let Some((sign, verify)) = measure::openssl_rsa2048() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let floor = cores * 1e6 / (2.0 * (sign + verify));
        println!(
            "openssl speed rsa2048: sign {sign:.0} µs, verify {verify:.0} µs; a row costs 2 signs + 2 verifies (CLI and sandbox) on the shared cores: RSA floor ≈ {floor:.0} rows/s on {cores} cores"
        );
    }
}
