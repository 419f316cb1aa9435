//! The in-process mock and a hyper client for it, with instant recorded sleeps.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wechatpay_core::TransportConfig;
use wechatpay_core::retry::NoJitter;
use wechatpay_core::{CreateAfterSalesOrder, Scene};
use wechatpay_mock_server::MockWechatPay;
use wechatpay_transport_hyper::HyperClient;

pub const SUB: &str = "1900000109";

pub fn client(
    mock: &MockWechatPay,
    config: TransportConfig,
) -> (HyperClient, Arc<Mutex<Vec<Duration>>>) {
    let waits: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let recorder = Arc::clone(&waits);
    let client = HyperClient::with_config(exact(mock), config)
        .expect("client")
        .with_sleeper(move |d| {
            recorder.lock().expect("lock").push(d);
            std::future::ready(())
        });
    (client, waits)
}

/// The mock's test merchant with no jitter: waits are exact.
pub fn exact(mock: &MockWechatPay) -> wechatpay_core::Client {
    mock.client_builder(mock.test_merchant().clone())
        .jitter(Arc::new(NoJitter))
        .build()
        .expect("core client")
}

pub async fn posts(mock: &MockWechatPay) -> usize {
    mock.count_after_sales(&wechatpay_core::http::Method::POST)
        .await
}

pub async fn gets(mock: &MockWechatPay) -> usize {
    mock.count_after_sales(&wechatpay_core::http::Method::GET)
        .await
}

pub fn waits(w: &Arc<Mutex<Vec<Duration>>>) -> Vec<Duration> {
    w.lock().expect("lock").clone()
}

pub fn create(transaction_id: &str) -> CreateAfterSalesOrder {
    CreateAfterSalesOrder::new(
        SUB,
        transaction_id,
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    )
}
