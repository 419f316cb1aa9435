//! What the benchmarks measure beside their own timings: the RSA floor from `openssl speed`,
//! and a process's memory from `/proc` (Linux; zeros elsewhere).

use std::process::{Command, Stdio};

/// `openssl speed rsa2048`: microseconds per sign and per verify, if openssl is present.
pub fn openssl_rsa2048() -> Option<(f64, f64)> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "2", "rsa2048"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "rsa 2048 bits 0.000705s 0.000020s   1418.4  49831.0": seconds per sign, per verify.
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("rsa 2048 bits"))?;
    let mut seconds = line
        .split_whitespace()
        .filter_map(|w| w.strip_suffix('s')?.parse::<f64>().ok());
    Some((seconds.next()? * 1e6, seconds.next()? * 1e6))
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`), 0 when the process is gone.
pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A process's peak resident memory (VmHWM) in KiB, 0 when it is gone.
pub fn peak_rss(pid: u32) -> u64 {
    status_kib(pid, "VmHWM")
}
