//! Finishing each operation's response: status, headers, body through verification and
//! parsing, for the operation the input's last byte picks (preparing signs, which is slow:
//! one operation per input keeps the fuzzer fast).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use wechatpay_core::{
    Client, CreateAfterSalesOrder, Generic, Operation, QueryAfterSalesOrder, Repeat, Scene,
};

static CLIENT: LazyLock<Client> = LazyLock::new(wechatpay_fuzz::client);

fuzz_target!(|data: &[u8]| {
    let create = CreateAfterSalesOrder::new(
        "1900000109",
        "4208450740201411110007820472",
        100,
        Scene::RefundTicket,
        "50000000382019052709732678859",
    );
    let response = wechatpay_fuzz::response(data);
    match data.last().copied().unwrap_or(0) % 4 {
        0 => {
            if let Ok((_, pending)) = CLIENT.prepare(&create) {
                let _ = pending.finish(response);
            }
        }
        1 => {
            let query = QueryAfterSalesOrder::new("1900000109", "4208450740201411110007820472");
            if let Ok((_, pending)) = CLIENT.prepare(&query)
                && let Ok(order) = pending.finish(response)
            {
                let _ = order.is_final();
            }
        }
        2 => {
            if let Ok((_, pending)) = CLIENT.prepare(&Generic::<serde_json::Value>::get("/v3/x")) {
                let _ = pending.finish(response);
            }
        }
        _ => {
            if let Repeat::Check(check) = create.repeat()
                && let Ok((_, pending)) = check.prepare(&CLIENT)
            {
                let _ = pending.finish(response);
            }
        }
    }
});
