//! Platform-certificate mode through the blocking transport, against the mock.

mod common;

use common::{Harness, create};
use wechatpay_core::certificates::CertificateKeeper;
use wechatpay_core::{Client, ErrorKind, KeyRing};
use wechatpay_mock_server::{Fault, MockWechatPay, keys};
use wechatpay_transport_blocking::BlockingClient;

fn harness() -> Harness {
    Harness::start(MockWechatPay::builder().test_certificate_mode())
}

fn cert_client(h: &Harness) -> BlockingClient {
    let core = Client::builder(h.mock.client().merchant().clone(), KeyRing::new())
        .base_url(h.mock.base_url())
        .certificates(CertificateKeeper::new(keys::test_apiv3_key()))
        .build()
        .expect("core");
    BlockingClient::new(core).expect("client")
}

fn downloads(h: &Harness) -> usize {
    h.mock
        .answers()
        .iter()
        .filter(|a| a.path == "/v3/certificates")
        .count()
}

#[test]
fn rotation_on_demand_never_fails_a_call() {
    let h = harness();
    let c = cert_client(&h);
    c.execute(&create("4208450740201411110000000901"))
        .expect("first contact");
    let new_serial = h
        .mock
        .add_platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE_2,
            keys::TEST_PLATFORM_PRIVATE_KEY_2,
        )
        .expect("publish");
    c.execute(&create("4208450740201411110000000902"))
        .expect("both published");
    h.mock
        .sign_with_platform_certificate(&new_serial)
        .expect("switch");
    c.execute(&create("4208450740201411110000000903"))
        .expect("new signs");
    h.mock
        .retire_platform_certificate(keys::TEST_PLATFORM_SERIAL);
    c.execute(&create("4208450740201411110000000904"))
        .expect("old retired");
    assert_eq!(downloads(&h), 2);
    assert_eq!(h.posts(), 4, "each order created once");
}

#[test]
fn a_forged_serial_triggers_one_refresh_not_many() {
    let h = harness();
    let c = cert_client(&h);
    c.execute(&create("4208450740201411110000001001"))
        .expect("first contact");
    h.mock.inject(Fault::UnknownSerial, 100);
    for i in 0..4 {
        let err = c
            .execute(&create(&format!("420845074020141111000011{i:04}")))
            .expect_err("forged");
        assert_eq!(err.kind(), ErrorKind::UnknownSerial);
    }
    assert_eq!(downloads(&h), 2);
}

#[test]
fn refresh_on_demand_reports_the_count() {
    let h = harness();
    let c = cert_client(&h);
    assert_eq!(c.refresh_certificates().expect("download"), 1);
    h.mock
        .add_platform_certificate(
            keys::TEST_PLATFORM_CERTIFICATE_2,
            keys::TEST_PLATFORM_PRIVATE_KEY_2,
        )
        .expect("publish");
    assert_eq!(c.refresh_certificates().expect("download"), 2);
    // WeChat Pay stops publishing the old one: a refresh drops it though it is still valid.
    let new_serial = h
        .mock
        .platform_certificates()
        .last()
        .map(|c| c.serial().to_owned())
        .expect("published");
    h.mock
        .sign_with_platform_certificate(&new_serial)
        .expect("switch");
    h.mock
        .retire_platform_certificate(keys::TEST_PLATFORM_SERIAL);
    assert_eq!(c.refresh_certificates().expect("download"), 1);
    assert_eq!(c.core().keys().serials(), [new_serial]);
    let plain = BlockingClient::new(h.mock.client()).expect("client");
    assert_eq!(
        plain
            .refresh_certificates()
            .expect_err("not in certificate mode")
            .kind(),
        ErrorKind::Config
    );
}
