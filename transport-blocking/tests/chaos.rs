//! Creates through a fault-injecting proxy in front of the standalone mock, on the blocking
//! transport: no broken promise (see `wechatpay_conformance::chaos`). `CHAOS_SECONDS` runs it
//! longer, `CHAOS_SEED` replays a fault sequence, `CHAOS_MAX_UNKNOWN_PERCENT` caps the
//! fate-unknown share.

use wechatpay_conformance::chaos::{self, Settings};
use wechatpay_transport_blocking::BlockingClient;

#[test]
fn creates_through_a_faulty_network_break_no_promise() {
    let settings = Settings::from_env().expect("CHAOS_* settings");
    let report = chaos::run_blocking(
        &settings,
        BlockingClient::with_config,
        |client: &BlockingClient, op| client.execute(op),
    )
    .expect("the chaos run");
    println!("blocking {report}");
    assert!(
        report.violations.is_empty(),
        "{} violations (seed {})",
        report.violations.len(),
        report.seed
    );
    if let Some(max) = settings.max_unknown_percent {
        assert!(
            report.fate_unknown_percent() <= max,
            "fate unknown {:.1} % > {max} % (seed {})",
            report.fate_unknown_percent(),
            report.seed
        );
    }
}
