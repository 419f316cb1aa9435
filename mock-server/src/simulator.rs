//! WeChat Pay's behaviour for the after-sales endpoints, `/v3/certificates` and the mock's
//! control API, as one sans-IO function: request parts, raw body and `now` in, the answer out.
//! The in-process mock calls it from wiremock, the standalone binary from a hyper server, and a
//! fuzzer can call it directly.

use std::sync::Arc;

use wechatpay_core::AFTER_SALES_PATH;
use wechatpay_core::certificates::CERTIFICATES_PATH;

use crate::faults::{Fault, Route};
use crate::reply::{Reply, SimResponse, fault_reply, render, request_id};
use crate::state::{Answer, State};
use crate::{after_sales, auth, certificates, control};

/// The path prefix of the control API.
pub const CONTROL_PREFIX: &str = "/mock/";

/// One request, as received: nothing normalised.
#[derive(Debug, Clone, Copy)]
pub struct SimRequest<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The request target exactly as it arrived (origin form: path and query).
    pub target: &'a str,
    /// The headers.
    pub headers: &'a http::HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
}

/// The simulator: shared state behind a handle that is cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) state: Arc<State>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

fn route_of(method: &str, path: &str) -> Route {
    match (method, path) {
        ("POST", AFTER_SALES_PATH) => Route::CreateAfterSales,
        ("GET", AFTER_SALES_PATH) => Route::QueryAfterSales,
        ("GET", CERTIFICATES_PATH) => Route::Certificates,
        _ => Route::Unknown,
    }
}

impl Simulator {
    /// The simulator's clock, in Unix seconds (the builder's [`wechatpay_core::Clock`]).
    pub fn now(&self) -> i64 {
        self.state.now()
    }

    /// The answer WeChat Pay (or, under [`CONTROL_PREFIX`], the control API) gives to `req` at
    /// `now` (Unix seconds). Every answer is recorded in the bounded log.
    pub fn handle(&self, req: &SimRequest<'_>, now: i64) -> SimResponse {
        let state = &*self.state;
        let (path, query) = req.target.split_once('?').unwrap_or((req.target, ""));
        if path.starts_with(CONTROL_PREFIX) {
            let reply = control::handle(self, req.method, path, query, req.body);
            return render(reply, &request_id(), &state.signer(), now, None);
        }
        let id = request_id();
        let route = route_of(req.method, path);
        let fault = state.take_fault(route);
        let (reply, signer) = match fault.as_ref().and_then(fault_reply) {
            Some(r) => (r, None),
            None => self.serve(route, path, query, req, now),
        };
        let reply = if fault == Some(Fault::ProcessedThenSystemError) {
            Reply::error(500, "SYSTEM_ERROR", "系统错误 (injected after processing)")
        } else {
            reply
        };
        // Logged paths are capped: the log is bounded in entries and in their size.
        let shown: String = path.chars().take(256).collect();
        if state.log_to_stderr {
            eprintln!(
                "{} {shown} -> {} (Request-ID {id}){}",
                req.method,
                reply.status,
                fault
                    .as_ref()
                    .map(|f| format!(" [fault {f:?}]"))
                    .unwrap_or_default()
            );
        }
        state.record(Answer {
            method: req.method.to_owned(),
            path: shown,
            status: reply.status,
            request_id: id.clone(),
        });
        let signer = signer.unwrap_or_else(|| state.signer());
        render(reply, &id, &signer, now, fault.as_ref())
    }

    /// The reply, and the signer to use instead of the current one (for `/v3/certificates`).
    fn serve(
        &self,
        route: Route,
        path: &str,
        query: &str,
        req: &SimRequest<'_>,
        now: i64,
    ) -> (Reply, Option<crate::reply::Signer>) {
        let state = &*self.state;
        if req.body.len() > state.max_body {
            return (
                Reply::error(
                    413,
                    "INVALID_REQUEST",
                    format!(
                        "the body is {} bytes; at most {} are accepted",
                        req.body.len(),
                        state.max_body
                    ),
                ),
                None,
            );
        }
        if route == Route::Unknown {
            let reply = if matches!(path, AFTER_SALES_PATH | CERTIFICATES_PATH) {
                Reply::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    format!(
                        "{} is not allowed on this path",
                        req.method.chars().take(16).collect::<String>()
                    ),
                )
            } else {
                Reply::error(404, "NOT_FOUND", "no such API: the path is not served")
            };
            return (reply, None);
        }
        let mchid = match auth::authenticate(state, req, now) {
            Ok(m) => m,
            Err(reply) => return (reply, None),
        };
        match route {
            Route::CreateAfterSales => (after_sales::create(state, &mchid, req), None),
            Route::Certificates => {
                certificates::download(state, &mchid).unwrap_or_else(|reply| (reply, None))
            }
            _ => (after_sales::query(state, &mchid, query), None),
        }
    }
}
