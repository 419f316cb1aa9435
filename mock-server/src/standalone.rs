//! The standalone server started from the library, for tests of other crates and programs
//! that want a sandbox without a child process: the same [`crate::server::serve`] as the
//! binary, on its own thread and runtime, stopped when the [`Handle`] is dropped.
//!
//! ```
//! use wechatpay_mock_server::{MockBuilder, standalone};
//!
//! let sandbox = standalone::spawn(MockBuilder::new(), standalone::Config::default())?;
//! assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
//! // Point any client at sandbox.base_url(); its control API is under /mock/.
//! # Ok::<(), wechatpay_core::Error>(())
//! ```

use std::net::SocketAddr;

use wechatpay_core::Error;

use crate::server::{Limits, serve};
use crate::{MockBuilder, Simulator};

/// Where and how the server listens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The address to listen on. Default `127.0.0.1:0` (a free port).
    pub listen: SocketAddr,
    /// The server's limits (timeouts, body cap).
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// Listens on `address`.
    #[must_use]
    pub fn listen(mut self, address: SocketAddr) -> Self {
        self.listen = address;
        self
    }

    /// With these limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// A running standalone server. Dropping it stops the server and waits for its thread.
#[derive(Debug)]
pub struct Handle {
    address: SocketAddr,
    simulator: Simulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    /// Where it listens, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The simulator it serves.
    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Builds the simulator of `builder` and serves it as the binary does, on a new thread with a
/// runtime of its own (two workers), until the handle is dropped.
///
/// # Errors
/// As [`MockBuilder::simulator`]; [`wechatpay_core::ErrorKind::Config`] when the runtime cannot
/// start or the address cannot be bound.
pub fn spawn(builder: MockBuilder, config: Config) -> Result<Handle, Error> {
    let simulator = builder.simulator()?;
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| Error::config(format!("cannot listen on {}: {e}", config.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::config(format!("cannot read the bound address: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::config(format!("cannot make the socket non-blocking: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::config(format!("cannot start the runtime: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = simulator.clone();
    let limits = config.limits;
    let thread = std::thread::Builder::new()
        .name("wechatpay-sandbox".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let shutdown = async {
                    let _ = stopped.await;
                };
                let _ = serve(listener, served, limits, shutdown).await;
            });
            runtime.shutdown_background();
        })
        .map_err(|e| Error::config(format!("cannot start the server thread: {e}")))?;
    Ok(Handle {
        address,
        simulator,
        stop: Some(stop),
        thread: Some(thread),
    })
}
