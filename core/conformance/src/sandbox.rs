//! The standalone sandbox as a child process, for tests and benchmarks in any crate of this
//! workspace (never shipped: it runs cargo): built on demand, started with the embedded test
//! merchant and WeChat Pay key, its readiness line read and the rest of its output drained,
//! killed on drop. Also a process's CPU time and resident memory.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wechatpay_core::{Client, Error};

use wechatpay_mock_server::keys;

/// The running test's or benchmark's profile directory (`target/PROFILE`, from
/// `target/PROFILE/deps/EXE`).
fn profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.to_path_buf())
}

/// The binary `wechatpay-mock-server` of the running test's or benchmark's target directory.
/// The release one is always built first with `cargo build --release` (feature
/// `standalone`), so that a benchmark measures the current code; the debug one only when it
/// is missing (`cargo test --workspace --all-features` has built it already, and building it
/// again with other features would only rebuild the workspace).
///
/// # Errors
/// [`Error`] of kind Config when cargo cannot build it.
pub fn binary(release: bool) -> Result<PathBuf, Error> {
    let target = profile_dir()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or_else(|| Error::config("cannot find the target directory"))?;
    let profile = if release { "release" } else { "debug" };
    let path = target.join(profile).join(format!(
        "wechatpay-mock-server{}",
        std::env::consts::EXE_SUFFIX
    ));
    if release || !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args([
                "build",
                "-p",
                "wechatpay-mock-server",
                "--features",
                "standalone",
                "--bin",
                "wechatpay-mock-server",
            ]);
        if release {
            build.arg("--release");
        }
        let built = build
            .status()
            .map_err(|e| Error::config(format!("cannot run cargo: {e}")))?;
        if !built.success() {
            return Err(Error::config("building wechatpay-mock-server failed"));
        }
    }
    Ok(path)
}

/// The key files of the embedded test merchant and WeChat Pay key, shipped with the mock.
pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mock-server/keys")
}

/// A running standalone mock. Killed when dropped.
#[derive(Debug)]
pub struct Standalone {
    child: Child,
    ready: serde_json::Value,
}

impl Standalone {
    /// Starts `binary` for the embedded test merchant, answers signed with the embedded WeChat
    /// Pay public key, with `extra` flags, and reads its readiness line.
    ///
    /// # Errors
    /// [`Error`] of kind Config when it does not start or print its line.
    pub fn start(binary: &Path, extra: &[&str], stderr: Stdio) -> Result<Self, Error> {
        let dir = keys_dir();
        let mut child = Command::new(binary)
            .args([
                "--mchid",
                keys::TEST_MCHID,
                "--merchant-serial",
                keys::TEST_MERCHANT_SERIAL,
            ])
            .arg("--merchant-public-key")
            .arg(dir.join("merchant_public_key.pem"))
            .args([
                "--wechatpay-public-key-id",
                keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
            ])
            .arg("--wechatpay-private-key")
            .arg(dir.join("wechatpay_private_key.pem"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| Error::config(format!("cannot start the mock: {e}")))?;
        let mut line = String::new();
        let mut out = child.stdout.take().map(std::io::BufReader::new);
        let read = out.as_mut().map(|o| o.read_line(&mut line));
        let (Some(Ok(_)), Ok(ready)) = (read, serde_json::from_str(&line)) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::config("the mock printed no readiness line"));
        };
        // Whatever it prints later is read and dropped: a full pipe would stop the sandbox.
        if let Some(mut rest) = out {
            std::thread::spawn(move || std::io::copy(&mut rest, &mut std::io::sink()));
        }
        Ok(Self { child, ready })
    }

    /// The readiness line.
    pub fn ready(&self) -> &serde_json::Value {
        &self.ready
    }

    /// `base_url` of the readiness line.
    pub fn base_url(&self) -> &str {
        self.ready["base_url"].as_str().unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A core client for the embedded test merchant, pointed at this mock.
    ///
    /// # Errors
    /// As [`Client::builder`]'s `build`.
    pub fn test_client(&self) -> Result<Client, Error> {
        keys::test_client_builder(self.base_url())?.build()
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's CPU time (user + system) and resident memory in KiB, from `/proc` (Linux;
/// zeros elsewhere).
pub fn usage(pid: u32) -> (Duration, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name; 100 per second.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let rss = crate::measure::status_kib(pid, "VmRSS");
    (Duration::from_millis(ticks * 10), rss)
}
