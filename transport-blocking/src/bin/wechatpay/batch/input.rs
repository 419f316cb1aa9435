//! The batch's input, one row at a time: JSON Lines, or CSV with a header row when the file
//! name ends in `.csv`. Line numbers are the file's own (1-based; a CSV header is line 1);
//! blank lines are no rows. Every row becomes a validated [`CreateAfterSalesOrder`] or a
//! [`BadRow`] naming its line and field. The bytes read are hashed as they go (SHA-256), so the
//! journal can tell whether the input changed under it.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use wechatpay_core::{CreateAfterSalesOrder, Operation as _, Scene, SharingType};

/// The fields of a row; `type` is optional (`SERVICE_FEE_INCOME`).
const FIELDS: [&str; 6] = [
    "sub_mchid",
    "transaction_id",
    "amount",
    "scene",
    "refund_id",
    "type",
];

/// One row to create.
pub(crate) struct Row {
    /// The row's line in the file.
    pub(crate) line: u64,
    pub(crate) op: CreateAfterSalesOrder,
}

/// A row that cannot be sent: where and why.
#[derive(Debug)]
pub(crate) struct BadRow {
    pub(crate) line: u64,
    pub(crate) field: String,
    pub(crate) problem: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.problem)
    }
}

/// What reading one line gave.
pub(crate) enum Item {
    /// A row, validated.
    Row(Row),
    /// A line that is not a row: blank, or the CSV header.
    Skip,
    /// A row that is refused.
    Bad(BadRow),
}

/// The file's rows, streamed.
pub(crate) struct Rows {
    reader: BufReader<File>,
    csv: bool,
    columns: Option<Vec<usize>>,
    line: u64,
    hasher: Sha256,
    buf: Vec<u8>,
}

impl Rows {
    /// Opens `path`; CSV when its name ends in `.csv` (any case).
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        Ok(Self {
            reader: BufReader::with_capacity(64 * 1024, File::open(path)?),
            csv,
            columns: None,
            line: 0,
            hasher: Sha256::new(),
            buf: Vec::new(),
        })
    }

    /// The SHA-256 of every byte read so far, in hex.
    pub(crate) fn digest(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The next line, or `None` at the end of the file.
    pub(crate) fn next_item(&mut self) -> std::io::Result<Option<Item>> {
        self.buf.clear();
        if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.hasher.update(&self.buf);
        self.line += 1;
        let line = self.line;
        let Ok(text) = std::str::from_utf8(&self.buf) else {
            return Ok(Some(bad(line, "-", "is not UTF-8")));
        };
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let text = if line == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        if !self.csv {
            return Ok(Some(if text.trim().is_empty() {
                Item::Skip
            } else {
                json_row(line, text)
            }));
        }
        let Some(columns) = &self.columns else {
            return Ok(Some(match header(text) {
                Ok(columns) => {
                    self.columns = Some(columns);
                    Item::Skip
                }
                Err((field, problem)) => bad(line, &field, &problem),
            }));
        };
        if text.trim().is_empty() {
            return Ok(Some(Item::Skip));
        }
        Ok(Some(csv_row(line, text, columns)))
    }
}

fn bad(line: u64, field: &str, problem: &str) -> Item {
    Item::Bad(BadRow {
        line,
        field: field.to_owned(),
        problem: problem.to_owned(),
    })
}

/// A row's fields as given, before validation.
#[derive(Default)]
struct Given {
    sub_mchid: Option<String>,
    transaction_id: Option<String>,
    amount: Option<i64>,
    scene: Option<String>,
    refund_id: Option<String>,
    sharing_type: Option<String>,
}

impl Given {
    fn set_text(&mut self, field: usize, value: String) {
        let slot = match field {
            0 => &mut self.sub_mchid,
            1 => &mut self.transaction_id,
            3 => &mut self.scene,
            4 => &mut self.refund_id,
            _ => &mut self.sharing_type,
        };
        *slot = Some(value);
    }

    /// The request, validated as core validates it before sending.
    fn into_row(self, line: u64) -> Item {
        let missing = |f: &str| bad(line, f, "is missing");
        let Some(sub_mchid) = self.sub_mchid else {
            return missing("sub_mchid");
        };
        let Some(transaction_id) = self.transaction_id else {
            return missing("transaction_id");
        };
        let Some(amount) = self.amount else {
            return missing("amount");
        };
        let Some(scene) = self.scene else {
            return missing("scene");
        };
        let Some(refund_id) = self.refund_id else {
            return missing("refund_id");
        };
        let sharing_type = match self.sharing_type {
            Some(t) if !t.trim().is_empty() => SharingType::from(t.trim().to_ascii_uppercase()),
            _ => SharingType::ServiceFeeIncome,
        };
        let op = CreateAfterSalesOrder {
            sub_mchid,
            transaction_id,
            amount,
            sharing_type,
            scene: Scene::from(scene.trim().to_ascii_uppercase()),
            refund_id,
        };
        // A value WeChat Pay does not know would be refused row after row: refuse it here,
        // before anything is sent.
        if let Scene::Other(_) = op.scene {
            return bad(
                line,
                "scene",
                "must be REFUND_TICKET, CHANGE_TICKET or RETURN_GOODS",
            );
        }
        if let SharingType::Other(_) = op.sharing_type {
            return bad(line, "type", "must be SERVICE_FEE_INCOME");
        }
        match op.validate() {
            Ok(()) => Item::Row(Row { line, op }),
            Err(e) => {
                let field = e.field().unwrap_or("-");
                let full = e.to_string();
                let problem = full
                    .strip_prefix(&format!("invalid `{field}`: "))
                    .unwrap_or(&full);
                bad(line, field, problem)
            }
        }
    }
}

fn json_row(line: u64, text: &str) -> Item {
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return bad(line, "-", "is not a JSON object"),
        Err(e) => return bad(line, "-", &format!("is not JSON: {e}")),
    };
    let mut given = Given::default();
    for (key, value) in object {
        let Some(field) = FIELDS.iter().position(|f| *f == key) else {
            return bad(
                line,
                &key,
                &format!("is not a field of a row (expected {})", FIELDS.join(", ")),
            );
        };
        if field == 2 {
            match value.as_i64() {
                Some(fen) => given.amount = Some(fen),
                None => return bad(line, "amount", "must be a whole number of fen"),
            }
        } else {
            match value {
                Value::String(s) => given.set_text(field, s),
                _ => return bad(line, &key, "must be a string"),
            }
        }
    }
    given.into_row(line)
}

/// The header's columns: for each, its index in [`FIELDS`].
fn header(text: &str) -> Result<Vec<usize>, (String, String)> {
    let names = split_csv(text).map_err(|p| ("header".to_owned(), p))?;
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim().to_ascii_lowercase();
        let Some(field) = FIELDS.iter().position(|f| *f == name) else {
            return Err((
                name,
                format!("is not a column of a row (expected {})", FIELDS.join(", ")),
            ));
        };
        if columns.contains(&field) {
            return Err((name, "appears twice in the header".into()));
        }
        columns.push(field);
    }
    for (i, f) in FIELDS.iter().enumerate().take(5) {
        if !columns.contains(&i) {
            return Err(((*f).to_owned(), "is missing from the header".into()));
        }
    }
    Ok(columns)
}

fn csv_row(line: u64, text: &str, columns: &[usize]) -> Item {
    let values = match split_csv(text) {
        Ok(v) => v,
        Err(p) => return bad(line, "-", &p),
    };
    if values.len() != columns.len() {
        return bad(
            line,
            "-",
            &format!("has {} fields, the header {}", values.len(), columns.len()),
        );
    }
    let mut given = Given::default();
    for (&field, value) in columns.iter().zip(values) {
        if field == 2 {
            match value.trim().parse::<i64>() {
                Ok(fen) => given.amount = Some(fen),
                Err(_) => {
                    return bad(
                        line,
                        "amount",
                        &format!("{value:?} is not a whole number of fen"),
                    );
                }
            }
        } else {
            given.set_text(field, value);
        }
    }
    given.into_row(line)
}

/// The fields of one CSV line (RFC 4180 quoting; a field cannot span lines).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => return Err("has a quote inside an unquoted field".into()),
            _ if was_quoted => return Err("has text after a closing quote".into()),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("has an unterminated quote (a field cannot span lines)".into());
    }
    fields.push(field);
    Ok(fields)
}

/// A 64-bit key of the order a row creates (sub-merchant and transaction), to find two rows
/// for the same order.
pub(crate) fn order_key(op: &CreateAfterSalesOrder) -> u64 {
    let digest = Sha256::new()
        .chain_update(op.sub_mchid.as_bytes())
        .chain_update([0])
        .chain_update(op.transaction_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::split_csv;

    #[test]
    fn csv_quoting() {
        assert_eq!(
            split_csv(r#"a,"b,c","d""e",,"""#).expect("ok"),
            vec!["a", "b,c", "d\"e", "", ""]
        );
        assert!(split_csv(r#"a,"b"#).is_err());
        assert!(split_csv(r#"a,b"c"#).is_err());
        assert!(split_csv(r#"a,"b"c"#).is_err());
    }
}
