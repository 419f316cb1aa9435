//! The in-process mock on a background runtime, and a blocking client for it.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wechatpay_core::TransportConfig;
use wechatpay_core::retry::NoJitter;
use wechatpay_core::{CreateAfterSalesOrder, Scene};
use wechatpay_mock_server::{MockBuilder, MockWechatPay};
use wechatpay_transport_blocking::BlockingClient;

pub const SUB: &str = "1900000109";

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub mock: MockWechatPay,
    pub waits: Arc<Mutex<Vec<Duration>>>,
}

impl Harness {
    pub fn start(builder: MockBuilder) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mock = rt.block_on(builder.start()).expect("mock");
        Self {
            rt,
            mock,
            waits: Arc::default(),
        }
    }

    pub fn client(&self, config: TransportConfig) -> BlockingClient {
        let waits = Arc::clone(&self.waits);
        let core = self
            .mock
            .client_builder(self.mock.test_merchant().clone())
            .jitter(Arc::new(NoJitter))
            .build()
            .expect("core client");
        BlockingClient::with_config(core, config)
            .expect("client")
            .with_sleeper(move |d| waits.lock().expect("lock").push(d))
    }

    pub fn posts(&self) -> usize {
        self.rt.block_on(
            self.mock
                .count_after_sales(&wechatpay_core::http::Method::POST),
        )
    }

    pub fn gets(&self) -> usize {
        self.rt.block_on(
            self.mock
                .count_after_sales(&wechatpay_core::http::Method::GET),
        )
    }

    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().expect("lock").clone()
    }
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
