//! The end of a run: every row's last outcome read back from the journal, written as the
//! report (one JSON line per row, replaced atomically), and counted for the summary and the
//! exit code. Rows done by earlier runs count as much as this run's.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use serde_json::{Value, json};

use super::journal::{self, NEW, NOT_A_ROW, PENDING, Standing, standing};
use crate::Fail;

/// How many lines each list of the summary names.
const NAMED: usize = 20;

/// Rows by where they stand.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) rows: u64,
    wait: bool,
    succeeded: u64,
    failed: Lines,
    rejected: Lines,
    unknown: Lines,
    processing: Lines,
    not_sent: Lines,
}

/// A count and the first lines counted.
#[derive(Default)]
struct Lines {
    count: u64,
    first: Vec<u64>,
}

impl Lines {
    fn add(&mut self, line: u64) {
        self.count += 1;
        if self.first.len() < NAMED {
            self.first.push(line);
        }
    }

    fn describe(&self, what: &str) -> Option<String> {
        (self.count > 0).then(|| {
            let lines: Vec<String> = self.first.iter().map(u64::to_string).collect();
            let more = if self.count > self.first.len() as u64 {
                ", …"
            } else {
                ""
            };
            let word = if self.count == 1 { "line" } else { "lines" };
            format!("{} {what} ({word} {}{more})", self.count, lines.join(", "))
        })
    }

    fn to_json(&self) -> Value {
        json!({ "count": self.count, "lines": self.first })
    }
}

impl Totals {
    /// Whether every row succeeded: created, or with `--wait` SUCCESS.
    pub(crate) fn all_succeeded(&self) -> bool {
        self.succeeded == self.rows
    }

    /// `498 succeeded, 1 failed (line 3), …`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec![format!("{} succeeded", self.succeeded)];
        parts.extend(
            [
                self.failed.describe("failed"),
                self.rejected.describe("rejected, not created"),
                self.unknown.describe("unknown"),
                self.processing.describe("still processing"),
                self.not_sent.describe("not sent"),
            ]
            .into_iter()
            .flatten(),
        );
        parts.join(", ")
    }

    /// The summary as one JSON object.
    pub(crate) fn to_json(&self, worked: u64, seconds: f64) -> Value {
        json!({
            "rows": self.rows,
            "succeeded": self.succeeded,
            "failed": self.failed.to_json(),
            "rejected": self.rejected.to_json(),
            "unknown": self.unknown.to_json(),
            "processing": self.processing.to_json(),
            "not_sent": self.not_sent.to_json(),
            "this_run": { "rows": worked, "seconds": seconds },
            "wait": self.wait,
        })
    }

    fn count(&mut self, line: u64, state: u8) {
        self.rows += 1;
        match standing(state, self.wait) {
            Standing::Succeeded => self.succeeded += 1,
            Standing::Processing => self.processing.add(line),
            Standing::Failed => self.failed.add(line),
            Standing::Rejected => self.rejected.add(line),
            Standing::Unknown => self.unknown.add(line),
            Standing::NotSent => self.not_sent.add(line),
        }
    }
}

/// The totals of `states` (each line's state at the end of the run, [`NOT_A_ROW`] for lines
/// that are not rows) and, with `report`, the report: each row's last outcome in the journal is
/// its report line (a row with an intent and no outcome is `unknown`, a row never started
/// `not_sent`).
pub(crate) fn write(
    journal_path: &Path,
    states: &[u8],
    report: Option<&Path>,
    wait: bool,
) -> Result<Totals, Fail> {
    let mut totals = Totals {
        wait,
        ..Totals::default()
    };
    for (index, &state) in states.iter().enumerate() {
        if state != NOT_A_ROW {
            totals.count(index as u64 + 1, state);
        }
    }
    let Some(report) = report else {
        return Ok(totals);
    };

    // Pass 1: the number of the journal line that last gave each row's outcome.
    let line_index = |record: &Value| {
        record["line"]
            .as_u64()
            .and_then(|l| usize::try_from(l).ok())
            .and_then(|l| l.checked_sub(1))
            .filter(|&i| i < states.len())
    };
    let mut last = vec![0u32; states.len()];
    journal::each_record(journal_path, |number, record, _| {
        if let Some(record) = record
            && record.get("outcome").is_some()
            && let Some(index) = line_index(&record)
        {
            last[index] = u32::try_from(number).unwrap_or(u32::MAX);
        }
        Ok(())
    })?;

    // Pass 2: the report, every row once.
    let io = |e: std::io::Error| Fail::runtime(format!("--report {}: {e}", report.display()));
    let mut name = report.as_os_str().to_owned();
    name.push(".tmp");
    let partial = std::path::PathBuf::from(name);
    let mut out = BufWriter::new(File::create(&partial).map_err(io)?);
    let mut write_error = None;
    journal::each_record(journal_path, |number, record, _| {
        let Some(record) = record else { return Ok(()) };
        let Some(index) = line_index(&record) else {
            return Ok(());
        };
        if record.get("outcome").is_some()
            && u64::from(last[index]) == number
            && states[index] != PENDING
            && let Err(e) = writeln!(out, "{record}")
        {
            write_error.get_or_insert(e);
        }
        Ok(())
    })?;
    for (index, &state) in states.iter().enumerate() {
        let outcome = match state {
            PENDING => "unknown",
            NEW => "not_sent",
            _ => continue,
        };
        if let Err(e) = writeln!(out, "{}", json!({ "line": index + 1, "outcome": outcome })) {
            write_error.get_or_insert(e);
        }
    }
    if let Some(e) = write_error {
        return Err(io(e));
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_data().map_err(io)?;
    std::fs::rename(&partial, report).map_err(io)?;
    Ok(totals)
}
