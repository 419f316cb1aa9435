//! `--wait`: query until a result is final, with backoff, and a progress line on a terminal.

use std::time::{Duration, Instant};

use wechatpay_core::orders::{ProfitSharingOrder, ReceiverResult};
use wechatpay_core::returns::{ReturnOrder, ReturnResult};
use wechatpay_core::{AfterSalesOrder, Error, Operation, ProfitSharingResult};
use wechatpay_transport_blocking::BlockingClient;

use crate::{Outcome, output};

/// How `--wait` polls: doubling intervals from `first` up to `max`, until `deadline`.
#[derive(Clone, Copy)]
pub(crate) struct Poll {
    pub(crate) first: Duration,
    pub(crate) max: Duration,
    pub(crate) deadline: Duration,
}

impl Poll {
    /// The command line's schedule: 1 s doubling to 10 s, for `seconds` in all.
    pub(crate) fn command_line(seconds: u64) -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(10),
            deadline: Duration::from_secs(seconds),
        }
    }
}

/// A record that goes from pending to a final result.
pub(crate) trait Settles {
    /// Whether it will not change any more.
    fn is_final(&self) -> bool;
    /// Where it stands, for the progress line and the timeout message.
    fn state(&self) -> String;
    /// What failed, when the final result is a failure.
    fn failure(&self) -> Option<String>;
}

impl Settles for AfterSalesOrder {
    fn is_final(&self) -> bool {
        Self::is_final(self)
    }

    fn state(&self) -> String {
        self.result.to_string()
    }

    fn failure(&self) -> Option<String> {
        (self.result == ProfitSharingResult::Failed).then(|| {
            let reason = self
                .fail_reason
                .as_ref()
                .map_or_else(|| "no reason given".to_owned(), ToString::to_string);
            format!("the after-sales split FAILED: {reason}")
        })
    }
}

impl Settles for ProfitSharingOrder {
    fn is_final(&self) -> bool {
        Self::is_final(self)
    }

    fn state(&self) -> String {
        let status = self
            .status
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let pending = self
            .receivers
            .iter()
            .filter(|r| {
                !matches!(
                    r.result,
                    Some(ReceiverResult::Success | ReceiverResult::Closed)
                )
            })
            .count();
        format!(
            "{status}, {pending} of {} shares pending",
            self.receivers.len()
        )
    }

    fn failure(&self) -> Option<String> {
        let closed: Vec<String> = self
            .receivers
            .iter()
            .filter(|r| r.result == Some(ReceiverResult::Closed))
            .map(|r| {
                let reason = r
                    .fail_reason
                    .as_ref()
                    .map_or_else(|| "no reason given".to_owned(), ToString::to_string);
                format!(
                    "{} {} ({} fen): {reason}",
                    r.receiver_type, r.receiver_account, r.amount
                )
            })
            .collect();
        (!closed.is_empty()).then(|| format!("shares CLOSED unpaid: {}", closed.join("; ")))
    }
}

impl Settles for ReturnOrder {
    fn is_final(&self) -> bool {
        Self::is_final(self)
    }

    fn state(&self) -> String {
        self.result.to_string()
    }

    fn failure(&self) -> Option<String> {
        (self.result == ReturnResult::Fail).then(|| {
            let reason = self
                .fail_reason
                .as_ref()
                .map_or_else(|| "no reason given".to_owned(), ToString::to_string);
            format!("the return FAILED: {reason}")
        })
    }
}

/// Queries `op` until its answer is final, with backoff; a progress line on stderr when
/// `progress`. A deadline reached is a [`wechatpay_core::ErrorKind::Timeout`].
pub(crate) fn wait_final<O>(
    client: &BlockingClient,
    op: &O,
    poll: Poll,
    progress: bool,
) -> Result<O::Output, Error>
where
    O: Operation + Clone,
    O::Output: Settles,
{
    poll_final(|| client.execute(op), poll, progress)
}

/// Runs `query` until its answer is final, as [`wait_final`] does.
pub(crate) fn poll_final<T: Settles>(
    mut query: impl FnMut() -> Result<T, Error>,
    poll: Poll,
    progress: bool,
) -> Result<T, Error> {
    #[allow(clippy::disallowed_methods, reason = "the CLI measures its own wait")]
    let started = Instant::now();
    let mut interval = poll.first;
    let mut queries = 0u32;
    loop {
        let found = query()?;
        queries += 1;
        if found.is_final() {
            if progress {
                eprintln!();
            }
            return Ok(found);
        }
        let elapsed = started.elapsed();
        if elapsed + interval > poll.deadline {
            if progress {
                eprintln!();
            }
            return Err(Error::timeout(format!(
                "still {} after {queries} queries in {:.1} s (--wait-timeout {} s)",
                found.state(),
                elapsed.as_secs_f64(),
                poll.deadline.as_secs()
            )));
        }
        if progress {
            eprint!(
                "\rwaiting for a final result: {} (query {queries}, {:.1} s)   ",
                found.state(),
                elapsed.as_secs_f64()
            );
        }
        std::thread::sleep(interval);
        interval = (interval * 2).min(poll.max);
    }
}

/// Prints a waited-for record; a final failure exits 1 after the record is printed.
pub(crate) fn settled<T: Settles>(
    result: Result<T, Error>,
    json: bool,
    print: impl FnOnce(&T, bool),
) -> Outcome {
    match result {
        Ok(found) => {
            print(&found, json);
            match found.failure() {
                Some(failure) => {
                    eprintln!("error: final result: {failure}");
                    Outcome::Failed(1)
                }
                None => Outcome::Done,
            }
        }
        Err(e) => Outcome::Failed(output::error(&e, json)),
    }
}
