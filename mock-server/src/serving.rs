//! What every server of the simulator does around it (the in-process mock and the standalone
//! server alike): print the log lines it returns, start the notification deliveries it
//! queued, and make due results final now and then.

use tokio::runtime::Handle;

use crate::{SimResponse, Simulator};

/// After an answer: its log lines printed (when the builder asked for it), the deliveries it
/// queued started on `runtime`.
pub(crate) fn after(simulator: &Simulator, answer: &SimResponse, runtime: &Handle) {
    print(simulator, &answer.log);
    crate::delivery::start_new(simulator, runtime);
}

/// Every [`crate::TICK`]: due results made final, their notifications started on `runtime`.
pub(crate) fn tick(simulator: &Simulator, runtime: &Handle) {
    let log = simulator.advance(simulator.now());
    print(simulator, &log);
    crate::delivery::start_new(simulator, runtime);
}

/// Log lines to stderr, when the builder asked for it.
pub(crate) fn print(simulator: &Simulator, lines: &[String]) {
    if simulator.log_to_stderr() {
        for line in lines {
            eprintln!("{line}");
        }
    }
}
