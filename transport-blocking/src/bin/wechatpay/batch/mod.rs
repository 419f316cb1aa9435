//! `after-sales batch`: one after-sales split per row of a file, validated whole before
//! anything is sent, sent by a few workers under a rate limit, each send recorded in a journal
//! first so that a run killed at any moment resumes without creating a split twice or losing
//! one.
//!
//! The input is read twice, streamed: once to validate every row (and hash the file), once to
//! hand the rows to the workers. What is kept per row is one byte of state (and, while
//! validating, eight bytes to find two rows for the same order).

mod input;
mod journal;
mod limiter;
mod report;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wechatpay_core::call::Call;
use wechatpay_core::driver::{self, Transport};
use wechatpay_core::http::{Request, Response};
use wechatpay_core::{
    AfterSalesOrder, CreateAfterSalesOrder, Error, ErrorKind, Operation, ProfitSharingResult,
};
use wechatpay_transport_blocking::BlockingClient;

use crate::args::{BatchArgs, Cli};
use crate::wait::{Poll, poll_final};
use crate::{Fail, Outcome, connect};
use input::{Item, Rows};
use journal::{
    CREATED, FAILED, Journal, NEW, NOT_A_ROW, PENDING, REJECTED, SUCCESS, Standing, UNKNOWN,
    standing,
};
use limiter::Limiter;

/// `after-sales batch`.
pub(crate) fn run(cli: &Cli, a: &BatchArgs) -> Result<Outcome, Fail> {
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Fail::usage(format!(
            "--rate {}: give a number of requests a second above 0",
            a.rate
        )));
    }
    let scan = scan(&a.input)?;
    let journal_path = a.journal.clone().unwrap_or_else(|| {
        let mut name = a.input.clone().into_os_string();
        name.push(".journal");
        PathBuf::from(name)
    });
    let connected = connect::core_client(&cli.connection)?;
    let client = crate::client_for(cli, &connected)?;

    let Scan {
        mask: mut states,
        sha256,
    } = scan;
    let journal = Journal::open(
        &journal_path,
        &journal::Input {
            path: &a.input,
            sha256: &sha256,
            lines: states.len() as u64,
        },
        &mut states,
    )?;
    let to_do = states.iter().filter(|&&s| needs_work(s, a.wait)).count() as u64;
    // One byte per line, read by the feeder and written as each row's work ends: at the end,
    // every row's state, without reading the journal back.
    let states: Vec<AtomicU8> = states.into_iter().map(AtomicU8::new).collect();

    #[allow(clippy::disallowed_methods, reason = "the CLI measures its own run")]
    let started = Instant::now();
    let worker = Worker {
        client: &client,
        limiter: &Limiter::new(a.rate),
        journal: &journal,
        wait: a.wait.then(|| Poll::command_line(a.wait_timeout)),
    };
    let activity = work(a, &worker, &states, &sha256, to_do)?;
    let states: Vec<u8> = states.into_iter().map(AtomicU8::into_inner).collect();

    let totals = report::write(journal.path(), &states, a.report.as_deref(), a.wait)?;
    let elapsed = started.elapsed();
    summary(&totals, &activity, elapsed, cli.json, a);
    Ok(if totals.all_succeeded() {
        Outcome::Done
    } else {
        Outcome::Failed(1)
    })
}

/// Whether a row in `state` has something to do in this run.
fn needs_work(state: u8, wait: bool) -> bool {
    match state {
        NEW | PENDING | UNKNOWN | REJECTED => true,
        CREATED => wait,
        _ => false,
    }
}

/// What the validation pass found: one byte per line ([`NEW`] for a row, [`NOT_A_ROW`]
/// otherwise) and the file's SHA-256.
struct Scan {
    mask: Vec<u8>,
    sha256: String,
}

/// Reads and validates every row; refuses the file (exit 2) naming the first bad lines, or two
/// rows for the same order.
fn scan(path: &Path) -> Result<Scan, Fail> {
    let unreadable =
        |e: std::io::Error| Fail::usage(format!("cannot read --input {}: {e}", path.display()));
    let mut rows = Rows::open(path).map_err(unreadable)?;
    let mut mask = Vec::new();
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    let mut bad_count = 0u64;
    while let Some(item) = rows.next_item().map_err(unreadable)? {
        match item {
            Item::Row(row) => {
                mask.push(NEW);
                keys.push(input::order_key(&row.op));
            }
            Item::Skip => mask.push(NOT_A_ROW),
            Item::Bad(b) => {
                mask.push(NOT_A_ROW);
                bad_count += 1;
                if bad.len() < 10 {
                    bad.push(b.to_string());
                }
            }
        }
    }
    if bad_count > 0 {
        let more = if bad_count > bad.len() as u64 {
            format!("\n  … and {} more", bad_count - bad.len() as u64)
        } else {
            String::new()
        };
        return Err(Fail::usage(format!(
            "--input {}: {bad_count} row(s) refused; nothing was sent:\n  {}{more}",
            path.display(),
            bad.join("\n  ")
        )));
    }
    if keys.is_empty() {
        return Err(Fail::usage(format!(
            "--input {}: no rows; nothing to send",
            path.display()
        )));
    }
    keys.sort_unstable();
    let mut twice: Vec<u64> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(keys);
    if !twice.is_empty() {
        twice.dedup();
        return Err(Fail::usage(duplicates(path, &twice).map_err(unreadable)?));
    }
    Ok(Scan {
        mask,
        sha256: rows.digest(),
    })
}

/// The message naming the lines of rows for the same order.
fn duplicates(path: &Path, keys: &[u64]) -> std::io::Result<String> {
    let mut rows = Rows::open(path)?;
    let mut lines: Vec<(u64, u64, String)> = Vec::new();
    while let Some(item) = rows.next_item()? {
        if let Item::Row(row) = item {
            let key = input::order_key(&row.op);
            if keys.binary_search(&key).is_ok() && lines.len() < 20 {
                lines.push((
                    key,
                    row.line,
                    format!("{} + {}", row.op.sub_mchid, row.op.transaction_id),
                ));
            }
        }
    }
    lines.sort();
    let named: Vec<String> = lines
        .chunk_by(|x, y| x.0 == y.0)
        .map(|same| {
            let at: Vec<String> = same.iter().map(|(_, l, _)| l.to_string()).collect();
            format!("lines {}: {}", at.join(", "), same[0].2)
        })
        .collect();
    Ok(format!(
        "--input {}: rows for the same order (sub_mchid + transaction_id; an order has one after-sales split); nothing was sent:\n  {}",
        path.display(),
        named.join("\n  ")
    ))
}

/// What this run did, for the summary.
#[derive(Default)]
struct Activity {
    worked: u64,
    ok: u64,
    failed: u64,
    unknown: u64,
}

/// Hands the rows with something to do to `--concurrency` workers; a progress bar on a
/// terminal.
fn work(
    a: &BatchArgs,
    worker: &Worker<'_>,
    states: &[AtomicU8],
    sha256: &str,
    to_do: u64,
) -> Result<Activity, Fail> {
    let concurrency = usize::from(a.concurrency);
    let (jobs, queue) = mpsc::sync_channel::<(u64, CreateAfterSalesOrder, u8)>(concurrency * 2);
    let queue = Mutex::new(queue);
    let (done, finished) = mpsc::channel::<(u64, std::io::Result<u8>)>();
    let stop = AtomicBool::new(false);
    let bar = progress(to_do);
    let mut activity = Activity::default();
    let mut trouble = None;
    let fed = std::thread::scope(|s| {
        let stop_ref = &stop;
        let feeder = s.spawn(move || feed(&a.input, states, a.wait, sha256, &jobs, stop_ref));
        for _ in 0..concurrency {
            let done = done.clone();
            let queue = &queue;
            let stop = &stop;
            s.spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok((line, op, state)) = job else { break };
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if done.send((line, worker.process(line, &op, state))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        for (line, result) in finished {
            match result {
                Ok(state) => {
                    if let Some(slot) = usize::try_from(line - 1).ok().and_then(|i| states.get(i)) {
                        slot.store(state, Ordering::Relaxed);
                    }
                    activity.worked += 1;
                    match standing(state, worker.wait.is_some()) {
                        Standing::Succeeded => activity.ok += 1,
                        Standing::Failed | Standing::Rejected => activity.failed += 1,
                        _ => activity.unknown += 1,
                    }
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    trouble.get_or_insert(e);
                }
            }
            if let Some(bar) = &bar {
                let secs = bar.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    activity.worked as f64 / secs
                } else {
                    0.0
                };
                bar.set_message(format!(
                    "{rate:.0} rows/s  ok {}  failed {}  unknown {}",
                    activity.ok, activity.failed, activity.unknown
                ));
                bar.inc(1);
            }
        }
        feeder.join()
    });
    if let Some(bar) = bar {
        // The summary line that follows says it all.
        bar.finish_and_clear();
    }
    if let Some(e) = trouble {
        return Err(Fail::runtime(format!(
            "journal {}: {e}; stopped (run again to resume)",
            worker.journal.path().display()
        )));
    }
    match fed {
        Ok(result) => result.map(|()| activity),
        Err(_) => Err(Fail::runtime("the input reader stopped unexpectedly")),
    }
}

/// The progress bar, on a terminal only.
fn progress(len: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} rows  {msg}  ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Streams the input again and queues the rows with something to do.
fn feed(
    path: &Path,
    states: &[AtomicU8],
    wait: bool,
    sha256: &str,
    jobs: &SyncSender<(u64, CreateAfterSalesOrder, u8)>,
    stop: &AtomicBool,
) -> Result<(), Fail> {
    let changed = || {
        Fail::usage(format!(
            "--input {} changed while the batch ran; the rows sent so far are in the journal",
            path.display()
        ))
    };
    let mut rows = Rows::open(path)
        .map_err(|e| Fail::runtime(format!("cannot read --input {}: {e}", path.display())))?;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let item = rows
            .next_item()
            .map_err(|e| Fail::runtime(format!("cannot read --input {}: {e}", path.display())))?;
        let Some(item) = item else { break };
        let Item::Row(row) = item else { continue };
        let index = usize::try_from(row.line - 1).map_err(|_| changed())?;
        let state = states
            .get(index)
            .ok_or_else(changed)?
            .load(Ordering::Relaxed);
        if state == NOT_A_ROW {
            return Err(changed());
        }
        if needs_work(state, wait) && jobs.send((row.line, row.op, state)).is_err() {
            return Ok(());
        }
    }
    if rows.digest() != sha256 {
        return Err(changed());
    }
    Ok(())
}

/// What each row goes through; shared by the workers.
struct Worker<'a> {
    client: &'a BlockingClient,
    limiter: &'a Limiter,
    journal: &'a Journal,
    wait: Option<Poll>,
}

impl Worker<'_> {
    /// Takes one row from `state` as far as it goes in this run; its new state. Only a journal
    /// that cannot be written is an error.
    fn process(&self, line: u64, op: &CreateAfterSalesOrder, state: u8) -> std::io::Result<u8> {
        let metered = Metered {
            worker: self,
            request_id: std::cell::RefCell::new(None),
        };
        match state {
            NEW | REJECTED => self.send(&metered, line, op),
            PENDING | UNKNOWN => self.check(&metered, line, op),
            CREATED => self.settle(&metered, line, op, None),
            other => Ok(other),
        }
    }

    /// The request may have taken effect: query the order before anything is sent again.
    fn check(&self, m: &Metered<'_>, line: u64, op: &CreateAfterSalesOrder) -> std::io::Result<u8> {
        match m.run(op.query()) {
            Ok(order) => match op.is_made_by_this(&order) {
                Ok(()) => {
                    self.record(line, op, "created", m, None, Some(&order), true)?;
                    self.settle(m, line, op, Some(order))
                }
                Err(e) => {
                    self.record(line, op, "failed", m, Some(&e), Some(&order), true)?;
                    Ok(FAILED)
                }
            },
            Err(e) if e.is_not_found() => self.send(m, line, op),
            Err(e) => {
                self.record(line, op, "unknown", m, Some(&e), None, true)?;
                Ok(UNKNOWN)
            }
        }
    }

    /// Records the intent (on disk), then sends; core checks an attempt of unknown fate.
    fn send(&self, m: &Metered<'_>, line: u64, op: &CreateAfterSalesOrder) -> std::io::Result<u8> {
        self.journal.intent(line)?;
        match m.run(op.clone()) {
            Ok(_accepted) => {
                self.record(line, op, "created", m, None, None, false)?;
                self.settle(m, line, op, None)
            }
            Err(e) => {
                let (outcome, state) = if e.is_fate_unknown() {
                    ("unknown", UNKNOWN)
                } else if e.kind() == ErrorKind::Conflict {
                    ("failed", FAILED)
                } else {
                    // Refused (4xx) or never delivered: not created; the next run sends it.
                    ("rejected", REJECTED)
                };
                self.record(line, op, outcome, m, Some(&e), None, false)?;
                Ok(state)
            }
        }
    }

    /// `--wait`: polls a created row to its final result. A row still processing (or whose
    /// queries fail) stays created, to be polled by the next run.
    fn settle(
        &self,
        m: &Metered<'_>,
        line: u64,
        op: &CreateAfterSalesOrder,
        known: Option<AfterSalesOrder>,
    ) -> std::io::Result<u8> {
        let Some(poll) = self.wait else {
            return Ok(CREATED);
        };
        let found = match known {
            Some(order) if order.is_final() => Ok(order),
            _ => poll_final(|| m.run(op.query()), poll, false),
        };
        match found {
            Ok(order) if order.result == ProfitSharingResult::Success => {
                self.record(line, op, "success", m, None, Some(&order), false)?;
                Ok(SUCCESS)
            }
            Ok(order) => {
                self.record(line, op, "failed", m, None, Some(&order), false)?;
                Ok(FAILED)
            }
            Err(_) => Ok(CREATED),
        }
    }

    /// Appends a row's outcome: the report's line for it.
    #[allow(clippy::too_many_arguments, reason = "one record, its parts named")]
    fn record(
        &self,
        line: u64,
        op: &CreateAfterSalesOrder,
        outcome: &str,
        m: &Metered<'_>,
        error: Option<&Error>,
        order: Option<&AfterSalesOrder>,
        checked: bool,
    ) -> std::io::Result<()> {
        let request_id = error
            .and_then(Error::request_id)
            .map(str::to_owned)
            .or_else(|| m.request_id.borrow().clone());
        let mut record = json!({
            "line": line,
            "outcome": outcome,
            "amount": op.amount,
            "request_id": request_id,
        });
        if let Some(e) = error {
            let code = match e.kind() {
                ErrorKind::Conflict => Some("CONFLICT".to_owned()),
                _ => e.code().map(str::to_owned),
            };
            record["code"] = json!(code);
            record["message"] = json!(e.to_string());
        }
        if let Some(order) = order {
            record["result"] = json!(order.result.to_string());
            if let Some(reason) = &order.fail_reason {
                record["code"] = json!(reason.to_string());
            }
        }
        if checked {
            record["checked"] = Value::Bool(true);
        }
        self.journal.outcome(&record)
    }
}

/// One row's transport: every request waits for the rate limiter's token; the last answer's
/// `Request-ID` is kept for the report.
struct Metered<'a> {
    worker: &'a Worker<'a>,
    request_id: std::cell::RefCell<Option<String>>,
}

impl Metered<'_> {
    /// Runs `op` through core's call machine (retries, and the check after an attempt of
    /// unknown fate) over this transport.
    fn run<O: Operation>(&self, op: O) -> Result<O::Output, Error> {
        let client = self.worker.client;
        let call = Call::with_config(client.core().clone(), op, client.config());
        driver::run(call, self)
    }
}

impl Transport for Metered<'_> {
    fn send(
        &self,
        request: Request<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Response<Vec<u8>>, Error> {
        self.worker.limiter.take();
        let response = self.worker.client.send(request, timeout)?;
        if let Some(id) = response
            .headers()
            .get(wechatpay_core::verify::header::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
        {
            *self.request_id.borrow_mut() = Some(id.to_owned());
        }
        Ok(response)
    }

    fn sleep(&self, duration: Duration) {
        self.worker.client.sleep(duration);
    }

    fn now(&self) -> Instant {
        self.worker.client.now()
    }
}

/// The summary line (stderr), and with `--json` one object on stdout.
fn summary(
    totals: &report::Totals,
    activity: &Activity,
    elapsed: Duration,
    json: bool,
    a: &BatchArgs,
) {
    let secs = elapsed.as_secs_f64();
    let per_second = if secs > 0.0 {
        activity.worked as f64 / secs
    } else {
        0.0
    };
    eprintln!(
        "wechatpay: batch {}: {} rows: {}; this run: {} rows in {secs:.1} s ({per_second:.0} rows/s), {} already final",
        a.input.display(),
        totals.rows,
        totals.describe(),
        activity.worked,
        totals.rows.saturating_sub(activity.worked),
    );
    if json {
        println!("{}", totals.to_json(activity.worked, secs));
    }
}
