//! Receive WeChat Pay's profit-sharing notifications (分账动账通知) in an axum 0.8 service:
//! verify the raw bytes, handle each notification once, answer as WeChat Pay expects.
//!
//! `cargo run -p wechatpay-transport-hyper --example notify_axum` listens on 127.0.0.1:8080
//! (or `PORT`) with the mock WeChat Pay's test keys and prints how to send it a notification.
//!
//! What to copy: [`app`], [`notify`] and [`Store`]. The rules they keep:
//! - take the body as raw bytes (`Bytes`), never `Json<T>`: the signature covers the exact
//!   bytes WeChat Pay sent, and parsing then re-serialising changes them;
//! - verify before anything else, then handle idempotently by the notification's id (WeChat
//!   Pay delivers the same one again until it gets a 200, and sometimes after);
//! - answer `200 {"code":"SUCCESS"}` only once the notification is stored; any refusal makes
//!   WeChat Pay retry (15 s, 15 s, 30 s, 3 min, … for 24 h).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request};
use axum::response::Response;
use axum::routing::post;
use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::notification::{self, NotificationVerifier, ProfitSharingNotification};
use wechatpay_core::{Client, KeyRing, MerchantCredentials};
use wechatpay_mock_server::keys;
use wechatpay_transport_hyper::HyperClient;

/// Where the service listens for notifications (the notify URL's path).
pub(crate) const NOTIFY_PATH: &str = "/wechatpay/notify";

/// What the handler needs: the client (in certificate mode it downloads WeChat Pay's new
/// certificate when a notification names an unknown serial), the verifier, and the store.
#[derive(Clone)]
pub(crate) struct AppState {
    client: HyperClient,
    verifier: NotificationVerifier,
    store: Arc<Mutex<Store>>,
}

impl AppState {
    /// Trusts the keys `client` trusts (the same key ring, so certificates it downloads count
    /// at once) and decrypts with `apiv3_key`.
    pub(crate) fn new(client: HyperClient, apiv3_key: ApiV3Key) -> Self {
        let verifier = NotificationVerifier::new(client.core().keys().clone(), apiv3_key);
        Self {
            client,
            verifier,
            store: Arc::default(),
        }
    }

    /// The store the handler writes to.
    #[allow(dead_code, reason = "tests/notify_examples.rs reads it")]
    pub(crate) fn store(&self) -> Arc<Mutex<Store>> {
        Arc::clone(&self.store)
    }
}

/// What the service keeps. In memory here; in production, a table whose primary key is the
/// notification id, written in the same transaction as what the notification changes, so a
/// second delivery finds the id and changes nothing.
#[derive(Debug, Default)]
pub(crate) struct Store {
    handled: HashSet<String>,
    /// The splits credited, with the id of the notification that told of each.
    #[allow(dead_code, reason = "tests/notify_examples.rs reads it")]
    pub(crate) credited: Vec<(String, ProfitSharingNotification)>,
}

impl Store {
    /// Records `resource` unless notification `id` was handled before; says whether it was new.
    pub(crate) fn handle_once(&mut self, id: &str, resource: ProfitSharingNotification) -> bool {
        if !self.handled.insert(id.to_owned()) {
            return false;
        }
        println!(
            "notification {id}: {} fen to {} {} (transaction {}, order {})",
            resource.receiver.amount,
            resource.receiver.receiver_type,
            resource.receiver.account,
            resource.transaction_id,
            resource.order_id
        );
        self.credited.push((id.to_owned(), resource));
        true
    }
}

/// The service: `POST` [`NOTIFY_PATH`] goes to [`notify`].
pub(crate) fn app(state: AppState) -> Router {
    Router::new()
        .route(NOTIFY_PATH, post(notify))
        .with_state(state)
}

/// The notify URL's handler.
///
/// The body is `Bytes`, not `Json<T>`: the signature covers the raw bytes, and a body parsed
/// and serialised again (other spacing, other escapes, other key order) no longer matches it.
pub(crate) async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Request::new(body);
    *request.headers_mut() = headers;
    // This URL receives profit-sharing notifications. One that receives several kinds would
    // verify as serde_json::Value and look at `original_type` — never at `event_type` alone:
    // profit-sharing notifications arrive as TRANSACTION.SUCCESS.
    let verified = state
        .client
        .verify_notification::<ProfitSharingNotification, _>(&state.verifier, &request)
        .await;
    let answer = match verified {
        Ok(n) => {
            let mut store = state.store.lock().unwrap_or_else(PoisonError::into_inner);
            if !store.handle_once(&n.id, n.resource) {
                println!("notification {}: already handled, acknowledged again", n.id);
            }
            // Stored: now (and only now) tell WeChat Pay to stop delivering it.
            notification::acknowledge()
        }
        Err(e) => {
            eprintln!("notification refused: {e}");
            // 401 for a signature that fails, 500 for what this side cannot process yet:
            // WeChat Pay retries either way, `{"code":"FAIL","message":…}` says why.
            notification::refuse_error(&e)
        }
    };
    answer.map(Body::from)
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
/// When the listener fails.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).await
}

/// The port from `PORT`, 8080 without it.
pub(crate) fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number")),
        Err(_) => Ok(8080),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The mock WeChat Pay's test keys, so its sandbox can send notifications here. In
    // production: your merchant credentials, WeChat Pay's public key (or a CertificateKeeper
    // with the APIv3 key, for platform certificates) and your APIv3 key.
    let merchant = MerchantCredentials::from_pem(
        keys::TEST_MCHID,
        keys::TEST_MERCHANT_SERIAL,
        keys::TEST_MERCHANT_PRIVATE_KEY,
    )?;
    let trusted = KeyRing::new().with_wechatpay_public_key_pem(
        keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        keys::TEST_WECHATPAY_PUBLIC_KEY,
    )?;
    let client = HyperClient::new(Client::builder(merchant, trusted).build()?)?;
    let state = AppState::new(client, keys::test_apiv3_key());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port()?)).await?;
    let url = format!("http://{}{NOTIFY_PATH}", listener.local_addr()?);
    println!("listening for WeChat Pay notifications at {url}");
    println!("{}", how_to_send(&url));
    serve(listener, state).await?;
    Ok(())
}

/// How to have the mock WeChat Pay send a notification to `url`.
pub(crate) fn how_to_send(url: &str) -> String {
    let resource = r#"{"transaction_id":"4208450740201411110007820472","order_id":"3008450740201411110007820472","receiver":{"type":"MERCHANT_ID","account":"1900000110","amount":888}}"#;
    format!(
        "send one from the sandbox (the standalone mock WeChat Pay) with the same test keys, from the workspace root:
  cargo run -p wechatpay-mock-server --features standalone -- --listen 127.0.0.1:9000 \\
    --wechatpay-public-key-id {id} --wechatpay-private-key mock-server/keys/wechatpay_private_key.pem \\
    --apiv3-key {apiv3} &
  curl -s -X POST http://127.0.0.1:9000/mock/notifications -H 'content-type: application/json' \\
    -d '{{\"url\":\"{url}\",\"resource\":{resource}}}'
  curl -s http://127.0.0.1:9000/mock/notifications   # each delivery and the answers it got",
        id = keys::TEST_WECHATPAY_PUBLIC_KEY_ID,
        apiv3 = keys::TEST_APIV3_KEY,
    )
}
