//! Notifications from the state's point of view: whose APIv3 key encrypts them, the key that
//! signs them now, the nonces and ids drawn from the state's generator, and the deliveries
//! kept. The wire form and the retry rules are [`crate::notify`]'s.

use wechatpay_core::Error;
use wechatpay_core::certificates::ApiV3Key;

use crate::notify::{
    AttemptResult, Delivery, NextStep, NotificationSpec, OutgoingNotification, body, check_url,
    signed,
};
use crate::reply::Stamp;
use crate::state::State;

/// The merchant a notification of `spec` goes to, and its APIv3 key.
fn merchant_key(state: &State, spec: &NotificationSpec) -> Result<(String, ApiV3Key), Error> {
    let mchid = match (&spec.mchid, state.primary()) {
        (Some(m), _) => m.clone(),
        (None, Some(p)) => p.to_owned(),
        (None, None) => {
            return Err(Error::invalid_input(
                "mchid",
                "is required: the mock has no merchant of its own",
            ));
        }
    };
    let merchant = state
        .merchant(&mchid)
        .ok_or_else(|| Error::invalid_input("mchid", "is not a merchant the mock knows"))?;
    Ok((mchid, merchant.apiv3.key))
}

/// A new id and body of `spec` encrypted with `key` at `now`.
fn sealed(
    state: &State,
    spec: &NotificationSpec,
    key: &ApiV3Key,
    now: i64,
) -> Result<(String, Vec<u8>), Error> {
    let (id, aes_nonce) = {
        let mut rng = state.notify_rng();
        (format!("EV-{}", rng.digits(20)), rng.alnum(12))
    };
    let body = body(spec, key, &id, now, &aes_nonce)?;
    Ok((id, body))
}

/// A new notification of `spec`, encrypted with the merchant's key (or `key` when given) and
/// signed at `now` with the key that signs answers. Nothing is recorded.
pub(crate) fn build(
    state: &State,
    spec: &NotificationSpec,
    key: Option<&ApiV3Key>,
    now: i64,
) -> Result<OutgoingNotification, Error> {
    let merchants;
    let key = match key {
        Some(k) => k,
        None => {
            merchants = merchant_key(state, spec)?.1;
            &merchants
        }
    };
    let (id, body) = sealed(state, spec, key, now)?;
    let stamp = Stamp::draw(&mut state.notify_rng());
    Ok(signed(&id, body, &state.signer(), now, stamp))
}

/// Records a new delivery of `spec` to `url`; its id.
pub(crate) fn record(
    state: &State,
    url: &str,
    spec: &NotificationSpec,
    now: i64,
) -> Result<String, Error> {
    check_url(url).map_err(|issue| Error::invalid_input("url", issue))?;
    let (mchid, key) = merchant_key(state, spec)?;
    let (id, body) = sealed(state, spec, &key, now)?;
    state.deliveries().add(
        Delivery {
            id: id.clone(),
            url: url.to_owned(),
            mchid,
            event_type: spec.event_type.clone(),
            created_at: now,
            attempts: Vec::new(),
            delivered: false,
            gave_up: false,
        },
        body,
    );
    Ok(id)
}

/// The URL and request of delivery `id`'s next attempt, signed at `now`.
pub(crate) fn attempt(state: &State, id: &str, now: i64) -> Option<(String, OutgoingNotification)> {
    if state.stopped.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let (url, body) = state.deliveries().next_attempt(id)?;
    let stamp = Stamp::draw(&mut state.notify_rng());
    Some((url, signed(id, body, &state.signer(), now, stamp)))
}

/// Records an attempt's result; what comes next.
pub(crate) fn record_attempt(state: &State, id: &str, now: i64, result: AttemptResult) -> NextStep {
    state.deliveries().record_attempt(id, now, result)
}
