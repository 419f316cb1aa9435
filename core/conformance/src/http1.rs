//! Just enough HTTP/1.1 for the harnesses: one message read with its body.

use std::io::{self, BufRead, Read as _};

/// The longest request or answer head read.
const MAX_HEAD: usize = 64 * 1024;
/// The largest request or answer body read.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// An HTTP/1.1 message as read: its raw head (up to and with the blank line) and body.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) head: Vec<u8>,
    pub(crate) body: Vec<u8>,
}

impl Message {
    pub(crate) fn start_line(&self) -> &str {
        let end = self
            .head
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.head.len());
        std::str::from_utf8(&self.head[..end])
            .unwrap_or("")
            .trim_end()
    }

    /// A request's method and target.
    pub(crate) fn method_and_target(&self) -> (&str, &str) {
        let mut parts = self.start_line().split(' ');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// An answer's status.
    pub(crate) fn status(&self) -> Option<u16> {
        self.start_line().split(' ').nth(1)?.parse().ok()
    }

    pub(crate) fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        std::str::from_utf8(&self.head)
            .unwrap_or("")
            .split("\r\n")
            .skip(1)
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((name.trim(), value.trim()))
            })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

pub(crate) fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads one message: `None` on a clean end before its first byte. Bodies are delimited by
/// `Content-Length` (none: empty); `Transfer-Encoding` is refused, neither the transports'
/// requests nor the mock's answers use it.
pub(crate) fn read_message(r: &mut impl BufRead, request: bool) -> io::Result<Option<Message>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let read = r
            .by_ref()
            .take(MAX_HEAD as u64)
            .read_until(b'\n', &mut head)?;
        if read == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed inside a head",
                ))
            };
        }
        if head.len() > MAX_HEAD {
            return Err(invalid("the head is too long"));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // A stray line break between messages.
                head.clear();
                continue;
            }
            break;
        }
    }
    let mut message = Message {
        head,
        body: Vec::new(),
    };
    if message.header("transfer-encoding").is_some() {
        return Err(invalid("Transfer-Encoding is not supported"));
    }
    let length = match message.header("content-length") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| invalid(format!("bad Content-Length {v:?}")))?,
        None => 0,
    };
    let bodiless = !request
        && message
            .status()
            .is_some_and(|s| s < 200 || s == 204 || s == 304);
    if length > MAX_BODY {
        return Err(invalid(format!("a {length}-byte body is too large")));
    }
    if !bodiless {
        message.body = vec![0; length];
        r.read_exact(&mut message.body)?;
    }
    Ok(Some(message))
}
