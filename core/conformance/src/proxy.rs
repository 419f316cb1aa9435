//! A real forward proxy for the transports' proxy tests: `proxy.py` (PyPI), run as a child
//! process on loopback, with its log for the `CONNECT`s it saw.
//!
//! The Python to run it with is `WECHATPAY_INTEROP_PYTHON` (the venv `.ci/run` installs it in)
//! or `python3`. With `WECHATPAY_INTEROP=1` a missing `proxy.py` fails the test; without it,
//! the test is skipped with a note.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The harness's clock (the core crate's ban on `Instant::now` is for the SDK, not tests).
#[allow(clippy::disallowed_methods, reason = "a test harness times its waits")]
fn now() -> Instant {
    Instant::now()
}

/// A running `proxy.py`, killed on drop.
#[derive(Debug)]
pub struct ForwardProxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ForwardProxy {
    /// Starts `proxy.py` on 127.0.0.1, asking for `basic_auth` (`user:password`) when given.
    /// `None` (with a note on stderr) when it is not installed and `WECHATPAY_INTEROP` is not 1.
    ///
    /// # Panics
    /// When it cannot start and `WECHATPAY_INTEROP=1` (this is for tests).
    #[allow(clippy::panic, reason = "a test harness")]
    pub fn start(basic_auth: Option<&str>) -> Option<Self> {
        let required = std::env::var("WECHATPAY_INTEROP").is_ok_and(|v| v == "1");
        let python = std::env::var("WECHATPAY_INTEROP_PYTHON").unwrap_or_else(|_| "python3".into());
        let skip = |why: String| {
            assert!(!required, "proxy.py: {why}");
            eprintln!("note: proxy test skipped: {why}");
            None
        };
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => return skip(e.to_string()),
        };
        let (port_file, log) = (dir.path().join("port"), dir.path().join("proxy.log"));
        let mut command = Command::new(&python);
        command
            .args(["-m", "proxy", "--hostname", "127.0.0.1", "--port", "0"])
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log-file")
            .arg(&log)
            .args(["--num-workers", "1", "--num-acceptors", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(auth) = basic_auth {
            command.args(["--basic-auth", auth]);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return skip(format!("{python}: {e}")),
        };
        let started = now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                // proxy.py writes the port file before it accepts; wait until it does.
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Self {
                        child,
                        port,
                        log,
                        _dir: dir,
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                return skip(format!("it exited with {status} (is proxy.py installed?)"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        skip("it did not start within 20 s".into())
    }

    /// `http://[user:password@]127.0.0.1:PORT`.
    pub fn url(&self, credentials: Option<&str>) -> String {
        match credentials {
            Some(c) => format!("http://{c}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// The transport setting that sends calls through this proxy (with `credentials`).
    pub fn setting(&self, credentials: Option<&str>) -> wechatpay_core::ProxySetting {
        wechatpay_core::ProxySetting::Url(
            wechatpay_core::ProxyUrl::new(&self.url(credentials)).expect("the proxy's URL"),
        )
    }

    /// How many `CONNECT`s the proxy's log shows, waiting up to 2 s for at least one (it logs
    /// a tunnel when it closes).
    pub fn connects(&self) -> usize {
        self.connects_at_least(1)
    }

    /// How many `CONNECT`s the proxy's log shows, waiting up to 2 s for at least `n`.
    pub fn connects_at_least(&self, n: usize) -> usize {
        let started = now();
        loop {
            let count = std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .matches("CONNECT")
                .count();
            if count >= n || started.elapsed() > Duration::from_secs(2) {
                return count;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
