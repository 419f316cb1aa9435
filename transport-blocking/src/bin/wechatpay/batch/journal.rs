//! The batch's journal: an append-only JSON Lines file. Its first line names the input (its
//! SHA-256 and line count); then, for each row, the intent to send it — written and synced to
//! disk before the request leaves — and its outcomes as they come. Reading it back gives one
//! byte of state per input line. A last line cut short (the process killed mid-write) is
//! dropped; anything else that does not parse refuses the journal.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::Fail;

/// Not a row: a blank line or the CSV header.
pub(crate) const NOT_A_ROW: u8 = u8::MAX;
/// Never started.
pub(crate) const NEW: u8 = 0;
/// The intent is recorded and no outcome: the request may have left. Checked before sending.
pub(crate) const PENDING: u8 = 1;
/// The outcome is unknown (the request may have taken effect). Checked before sending.
pub(crate) const UNKNOWN: u8 = 2;
/// Refused or never delivered: WeChat Pay did not create it. Sent again by the next run.
pub(crate) const REJECTED: u8 = 3;
/// Created (accepted, or found by the check); final without `--wait`.
pub(crate) const CREATED: u8 = 4;
/// The split's result is `SUCCESS`. Final.
pub(crate) const SUCCESS: u8 = 5;
/// The split's result is `FAILED`, or another split of the order exists. Final.
pub(crate) const FAILED: u8 = 6;

/// Where a row stands at the end of a run, as the summary and the progress bar count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Created (final without `--wait`), or `SUCCESS`.
    Succeeded,
    /// `FAILED`, or another split of the order exists.
    Failed,
    /// Refused or never delivered: not created.
    Rejected,
    /// May have taken effect: checked by the next run.
    Unknown,
    /// Created, its result not yet final (`--wait`).
    Processing,
    /// Not started.
    NotSent,
}

/// Where a row in `state` stands (`wait`: whether only a final result counts as success).
pub(crate) fn standing(state: u8, wait: bool) -> Standing {
    match state {
        SUCCESS => Standing::Succeeded,
        CREATED if !wait => Standing::Succeeded,
        CREATED => Standing::Processing,
        FAILED => Standing::Failed,
        REJECTED => Standing::Rejected,
        UNKNOWN | PENDING => Standing::Unknown,
        _ => Standing::NotSent,
    }
}

const FORMAT: &str = "wechatpay after-sales batch journal";

/// The state an outcome name records.
pub(crate) fn state_of(outcome: &str) -> Option<u8> {
    Some(match outcome {
        "created" => CREATED,
        "success" => SUCCESS,
        "failed" => FAILED,
        "unknown" => UNKNOWN,
        "rejected" => REJECTED,
        _ => return None,
    })
}

/// An open journal, shared by the workers.
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Serialises appends; counts the lines written.
    written: Mutex<u64>,
    /// The count of lines known to be on disk (one sync covers every append before it).
    synced: Mutex<u64>,
}

/// What the input is, as the journal's first line records it.
pub(crate) struct Input<'a> {
    pub(crate) path: &'a Path,
    pub(crate) sha256: &'a str,
    pub(crate) lines: u64,
}

impl Journal {
    /// Opens the journal at `path` for `input`, creating it if need be; `states` (one byte per
    /// input line, [`NEW`] or [`NOT_A_ROW`]) is brought up to date from what it records.
    ///
    /// # Errors
    /// Usage: a journal of another input, or damaged. Runtime: IO.
    pub(crate) fn open(path: &Path, input: &Input<'_>, states: &mut [u8]) -> Result<Self, Fail> {
        let io = |e: std::io::Error| Fail::runtime(format!("journal {}: {e}", path.display()));
        let exists = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // One run per journal: an advisory lock the OS drops when the process ends, however
        // it ends (a SIGKILL included).
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Fail::usage(format!(
                    "journal {} is in use by another run: one run per journal at a time",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        if exists {
            replay(path, input, states)?;
        }
        let journal = Self {
            path: path.to_owned(),
            file,
            written: Mutex::new(0),
            synced: Mutex::new(0),
        };
        if !exists {
            journal
                .append(
                    &json!({
                        "journal": FORMAT,
                        "version": 1,
                        "input": input.path.display().to_string(),
                        "sha256": input.sha256,
                        "lines": input.lines,
                    }),
                    true,
                )
                .map_err(io)?;
            // The new file's name must survive a crash too.
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(journal)
    }

    /// Records that `line` is about to be sent, on disk before this returns.
    pub(crate) fn intent(&self, line: u64) -> std::io::Result<()> {
        self.append(&json!({ "line": line, "intent": "create" }), true)
    }

    /// Records an outcome (not synced: a lost outcome only means a check on the next run).
    pub(crate) fn outcome(&self, record: &Value) -> std::io::Result<()> {
        self.append(record, false)
    }

    /// Appends one line with one `write`; with `durable`, returns once it is on disk. Syncs are
    /// shared: a worker whose line an earlier sync already covered does not sync again.
    fn append(&self, record: &Value, durable: bool) -> std::io::Result<()> {
        let mut line = record.to_string().into_bytes();
        line.push(b'\n');
        let seq = {
            let mut written = self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (&self.file).write_all(&line)?;
            *written += 1;
            *written
        };
        if durable {
            let mut synced = self
                .synced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *synced < seq {
                let upto = *self
                    .written
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.file.sync_data()?;
                *synced = upto;
            }
        }
        Ok(())
    }

    /// The journal's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads `path` back into `states`; drops a last line cut short.
fn replay(path: &Path, input: &Input<'_>, states: &mut [u8]) -> Result<(), Fail> {
    let io = |e: std::io::Error| Fail::runtime(format!("journal {}: {e}", path.display()));
    let mut good_end = 0u64;
    let mut torn = false;
    let mut header = false;
    each_record(path, |number, record, end| {
        let Some(record) = record else {
            torn = true;
            return Ok(());
        };
        good_end = end;
        if !header {
            check_header(path, input, &record)?;
            header = true;
            return Ok(());
        }
        let (line, state) = entry(path, number, &record, input.lines)?;
        let slot = &mut states[line];
        if *slot == NOT_A_ROW {
            return Err(Fail::usage(format!(
                "journal {} line {number} records input line {} which is not a row: the input changed under the journal",
                path.display(),
                line + 1
            )));
        }
        *slot = match state {
            // An intent after a check that found nothing: sent, fate not known yet.
            None => PENDING,
            Some(s) => s,
        };
        Ok(())
    })?;
    if !header && !torn {
        return Err(Fail::usage(format!(
            "journal {} is empty: remove it, or give another --journal",
            path.display()
        )));
    }
    if torn {
        eprintln!(
            "wechatpay: journal {}: its last line was cut short (the run was killed while writing it); dropped",
            path.display()
        );
        let file = OpenOptions::new().write(true).open(path).map_err(io)?;
        file.set_len(good_end).map_err(io)?;
        file.sync_data().map_err(io)?;
        if !header {
            return Err(Fail::usage(format!(
                "journal {} has no complete first line: remove it, or give another --journal",
                path.display()
            )));
        }
    }
    Ok(())
}

fn check_header(path: &Path, input: &Input<'_>, record: &Value) -> Result<(), Fail> {
    if record["journal"] != FORMAT || record["version"] != 1 {
        return Err(Fail::usage(format!(
            "{} is not a journal of `after-sales batch` (version 1): give another --journal",
            path.display()
        )));
    }
    if record["sha256"] != input.sha256 || record["lines"] != input.lines {
        return Err(Fail::usage(format!(
            "the input changed under the journal: {} was written for an input of {} lines with SHA-256 {}, and {} has {} lines with SHA-256 {}; a changed input needs a new --journal (rows already sent are in the old one)",
            path.display(),
            record["lines"],
            record["sha256"].as_str().unwrap_or("-"),
            input.path.display(),
            input.lines,
            input.sha256,
        )));
    }
    Ok(())
}

/// A record's input line (0-based) and the state it sets (`None`: an intent).
fn entry(
    path: &Path,
    number: u64,
    record: &Value,
    lines: u64,
) -> Result<(usize, Option<u8>), Fail> {
    let damaged = || {
        Fail::usage(format!(
            "journal {} line {number} is not a record of this command: {record}",
            path.display()
        ))
    };
    let line = record["line"]
        .as_u64()
        .filter(|l| (1..=lines).contains(l))
        .ok_or_else(damaged)?;
    let index = usize::try_from(line - 1).map_err(|_| damaged())?;
    if record.get("intent").is_some() {
        return Ok((index, None));
    }
    let state = record["outcome"]
        .as_str()
        .and_then(state_of)
        .ok_or_else(damaged)?;
    Ok((index, Some(state)))
}

/// Calls `f(number, record, end offset)` for each line of the journal (numbered from 1); the
/// record is `None` for a last line without its newline (cut short). A complete line that does
/// not parse is an error.
pub(crate) fn each_record(
    path: &Path,
    mut f: impl FnMut(u64, Option<Value>, u64) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let io = |e: std::io::Error| Fail::runtime(format!("journal {}: {e}", path.display()));
    let file = File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut end = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        end += n as u64;
        if buf.last() != Some(&b'\n') {
            return f(number, None, end);
        }
        let record: Value = serde_json::from_slice(&buf).map_err(|e| {
            Fail::usage(format!(
                "journal {} line {number} is damaged ({e}); it cannot be trusted to say which rows were sent: compare it with WeChat Pay's records before going on",
                path.display()
            ))
        })?;
        f(number, Some(record), end)?;
    }
}
