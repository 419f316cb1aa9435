//! Through a real forward proxy (`proxy.py`): calls go through its `CONNECT`, with credentials
//! when it asks for them; wrong credentials are a "not sent" failure naming the proxy.

mod common;

use common::Harness;
use wechatpay_conformance::proxy::ForwardProxy;
use wechatpay_core::{ErrorKind, ProxySetting, ProxyUrl, TransportConfig};
use wechatpay_mock_server::MockWechatPay;

fn through(url: &str) -> TransportConfig {
    TransportConfig {
        proxy: ProxySetting::Url(ProxyUrl::new(url).expect("proxy URL")),
        ..TransportConfig::default()
    }
}

#[test]
fn calls_go_through_the_proxy_with_its_credentials() {
    let Some(proxy) = ForwardProxy::start(Some("ops:s3cret")) else {
        return;
    };
    let h = Harness::start(MockWechatPay::builder());
    let order = h
        .client(through(&proxy.url(Some("ops:s3cret"))))
        .execute(&common::create("4208450740201411110000009101"))
        .expect("through the proxy");
    assert_eq!(order.amount, Some(100));
    assert!(proxy.connects() >= 1, "the proxy's log shows the CONNECT");

    let err = h
        .client(through(&proxy.url(Some("ops:wrong"))))
        .execute(&common::create("4208450740201411110000009102"))
        .expect_err("refused by the proxy");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(!err.is_fate_unknown(), "nothing reached WeChat Pay: {err}");
    assert!(err.to_string().contains("proxy"), "{err}");
    assert!(
        !format!("{err:?}").contains("wrong"),
        "no credentials in errors"
    );
    assert_eq!(h.posts(), 1);
}
