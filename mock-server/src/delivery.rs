//! The deliverer: POSTs notifications over HTTP/1.1 and waits WeChat Pay's schedule between
//! attempts (multiplied by the simulator's time scale). The rules — what to send, what counts
//! as acknowledged, how long to wait — are the simulator's ([`crate::notify`]); this is the IO.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::notify::{AttemptResult, NOTIFY_TIMEOUT, NextStep, OutgoingNotification, check_url};
use crate::simulator::Simulator;

/// The most of a receiver's answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Starts a task on `runtime` for every delivery the simulator has queued.
pub(crate) fn start_new(simulator: &Simulator, runtime: &tokio::runtime::Handle) {
    for id in simulator.take_new_deliveries() {
        runtime.spawn(deliver(simulator.clone(), id));
    }
}

/// Delivers notification `id`: attempt, record, wait, until the simulator says done.
pub(crate) async fn deliver(simulator: Simulator, id: String) {
    loop {
        let Some((url, request)) = simulator.delivery_attempt(&id, simulator.now()) else {
            return;
        };
        let result = post(&url, &request).await;
        if simulator.log_to_stderr() {
            let shown: String = url.chars().take(256).collect();
            match &result {
                AttemptResult::Answered { status, .. } => {
                    eprintln!("notify {id} -> {shown}: {status}");
                }
                AttemptResult::Failed(why) => eprintln!("notify {id} -> {shown}: {why}"),
            }
        }
        match simulator.record_attempt(&id, simulator.now(), result) {
            NextStep::RetryAfter(wait) => {
                tokio::time::sleep(scaled(wait, simulator.notify_time_scale())).await
            }
            _ => return,
        }
    }
}

/// `wait × scale`, saturating (the scale is checked finite and not negative by the builder).
fn scaled(wait: Duration, scale: f64) -> Duration {
    Duration::try_from_secs_f64(wait.as_secs_f64() * scale).unwrap_or(Duration::MAX)
}

/// One attempt: the POST and the answer, within [`NOTIFY_TIMEOUT`].
async fn post(url: &str, request: &OutgoingNotification) -> AttemptResult {
    match tokio::time::timeout(NOTIFY_TIMEOUT, exchange(url, request)).await {
        Ok(Ok((status, body))) => AttemptResult::Answered { status, body },
        Ok(Err(why)) => AttemptResult::Failed(why),
        Err(_) => AttemptResult::Failed(format!("no answer within {} s", NOTIFY_TIMEOUT.as_secs())),
    }
}

async fn exchange(url: &str, request: &OutgoingNotification) -> Result<(u16, Vec<u8>), String> {
    let uri = check_url(url)?;
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    // The connection ends with the exchange; bounded in any case.
    tokio::spawn(async move {
        let _ = tokio::time::timeout(NOTIFY_TIMEOUT, connection).await;
    });
    let mut outgoing = hyper::Request::new(Full::new(Bytes::from(request.body.clone())));
    *outgoing.method_mut() = http::Method::POST;
    *outgoing.uri_mut() = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| "the URL's path is not valid".to_owned())?;
    let headers = outgoing.headers_mut();
    if let Some(authority) = uri.authority()
        && let Ok(v) = http::HeaderValue::from_str(authority.as_str())
    {
        headers.insert(http::header::HOST, v);
    }
    headers.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static("wechatpay-mock-server"),
    );
    for (name, value) in &request.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    let answer = sender
        .send_request(outgoing)
        .await
        .map_err(|e| format!("HTTP exchange: {e}"))?;
    let status = answer.status().as_u16();
    let body = Limited::new(answer.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes()
        .to_vec();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_scale_and_saturate() {
        assert_eq!(
            scaled(Duration::from_secs(15), 0.001),
            Duration::from_millis(15)
        );
        assert_eq!(
            scaled(Duration::from_secs(15), 1.0),
            Duration::from_secs(15)
        );
        assert_eq!(scaled(Duration::from_secs(15), 0.0), Duration::ZERO);
        assert_eq!(scaled(Duration::from_secs(15), f64::MAX), Duration::MAX);
    }
}
