//! `notification verify`: one captured HTTP/1.1 request in, its verified and decrypted
//! notification out.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use serde_json::value::RawValue;
use wechatpay_core::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use wechatpay_core::http::{HeaderName, HeaderValue, Request};
use wechatpay_core::{Clock as _, SystemClock};
use wechatpay_transport_blocking::Exchange;

use crate::args::{Connection, VerifyArgs};
use crate::{Fail, Outcome, connect, output};

/// The largest capture read: a notification is about 1 KiB.
const MAX_REQUEST: u64 = 1024 * 1024;

/// Reads, parses and verifies the request; prints the notification or why it failed.
/// With `verbose`, shows the request as parsed (headers, then the body taken) on stderr.
pub(crate) fn verify(
    conn: &Connection,
    args: &VerifyArgs,
    json: bool,
    verbose: bool,
) -> Result<Outcome, Fail> {
    let verifier = connect::notification_verifier(conn, &args.platform_certificate)?;
    let (raw, source) = read_request(args.request.as_deref())?;
    let request = parse_request(&raw)
        .map_err(|e| Fail::usage(format!("{source} is not an HTTP request as captured: {e}")))?;
    if verbose {
        output::exchange(Exchange::Request(&request));
    }
    let now = args.at.unwrap_or_else(|| SystemClock.now_unix());
    match verifier.verify_at::<Box<RawValue>>(request.headers(), request.body(), now) {
        Ok(n) => {
            output::notification(&n, request.headers(), json);
            Ok(Outcome::Done)
        }
        Err(e) => Ok(Outcome::Failed(output::refused_notification(
            &e,
            json,
            args.at.is_some(),
        ))),
    }
}

/// The capture's bytes and how to name it in messages.
fn read_request(path: Option<&Path>) -> Result<(Vec<u8>, String), Fail> {
    let mut raw = Vec::new();
    let source = match path {
        Some(p) if p != Path::new("-") => {
            let file = std::fs::File::open(p)
                .map_err(|e| Fail::usage(format!("cannot read --request {}: {e}", p.display())))?;
            file.take(MAX_REQUEST + 1)
                .read_to_end(&mut raw)
                .map_err(|e| Fail::usage(format!("cannot read --request {}: {e}", p.display())))?;
            p.display().to_string()
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Fail::usage(
                    "give the captured request with --request FILE, or on standard input",
                ));
            }
            stdin
                .lock()
                .take(MAX_REQUEST + 1)
                .read_to_end(&mut raw)
                .map_err(|e| Fail::usage(format!("cannot read standard input: {e}")))?;
            "standard input".to_owned()
        }
    };
    if raw.len() as u64 > MAX_REQUEST {
        return Err(Fail::usage(format!(
            "{source} is over {MAX_REQUEST} bytes: not one notification"
        )));
    }
    Ok((raw, source))
}

/// One line and what follows it; the line without its LF or CRLF. `None` without a line end.
fn next_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let line = &bytes[..end];
    Some((line.strip_suffix(b"\r").unwrap_or(line), &bytes[end + 1..]))
}

/// A raw HTTP/1.1 request as captured: request line, headers, an empty line, the body. Line
/// ends may be CRLF or LF; the body is taken byte for byte (its `Content-Length` first bytes
/// when the header is there; a chunked body is decoded).
pub(crate) fn parse_request(raw: &[u8]) -> Result<Request<Vec<u8>>, String> {
    let mut rest = raw;
    // Empty lines before the request line are ignored, as servers do.
    while let Some((line, after)) = next_line(rest) {
        if !line.is_empty() {
            break;
        }
        rest = after;
    }
    let (line, after) =
        next_line(rest).ok_or("no request line (METHOD TARGET HTTP/1.1) ending in a line break")?;
    rest = after;
    let line = std::str::from_utf8(line).map_err(|_| "the request line is not text")?;
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(format!(
            "the first line {line:?} is not METHOD TARGET HTTP/1.1"
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!(
            "the first line {line:?} is not METHOD TARGET HTTP/1.1"
        ));
    }
    let mut request = Request::builder()
        .method(method)
        .uri(target)
        .body(Vec::new())
        .map_err(|e| format!("the request line {line:?}: {e}"))?;
    loop {
        let (line, after) =
            next_line(rest).ok_or("the headers do not end with an empty line before the body")?;
        rest = after;
        if line.is_empty() {
            break;
        }
        let shown = String::from_utf8_lossy(line);
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(format!(
                "a folded header line {shown:?} (obsolete line folding) is not taken"
            ));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| format!("the header line {shown:?} has no colon"))?;
        let name = HeaderName::from_bytes(&line[..colon])
            .map_err(|_| format!("the header line {shown:?} has no valid name"))?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
            .map_err(|_| format!("the header line {shown:?} has no valid value"))?;
        request.headers_mut().append(name, value);
    }
    *request.body_mut() = body(request.headers(), rest)?;
    Ok(request)
}

/// The body after the headers, as the headers frame it.
fn body(headers: &wechatpay_core::http::HeaderMap, rest: &[u8]) -> Result<Vec<u8>, String> {
    let chunked = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return dechunk(rest);
    }
    let mut lengths = headers.get_all(CONTENT_LENGTH).iter();
    let Some(first) = lengths.next() else {
        return Ok(rest.to_vec());
    };
    if lengths.any(|other| other != first) {
        return Err("two different Content-Length headers".to_owned());
    }
    let length: usize = first
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or("the Content-Length header is not a number")?;
    if rest.len() < length {
        return Err(format!(
            "the body has {} bytes, Content-Length says {length}: the capture is cut short",
            rest.len()
        ));
    }
    if !rest[length..].iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "{} bytes follow the body's Content-Length {length}: give one request",
            rest.len() - length
        ));
    }
    Ok(rest[..length].to_vec())
}

/// Decodes a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let (line, after) = next_line(rest).ok_or("a chunk size line is missing")?;
        let size = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split(';').next())
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| {
                format!(
                    "the chunk size line {:?} is not hexadecimal",
                    String::from_utf8_lossy(line)
                )
            })?;
        rest = after;
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size {
            return Err("a chunk is cut short".to_owned());
        }
        body.extend_from_slice(&rest[..size]);
        rest = match next_line(&rest[size..]) {
            Some(([], after)) => after,
            _ => return Err("a chunk does not end with a line break".to_owned()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_lf_content_length_and_chunks() {
        let crlf = b"POST /notify HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nWechatpay-Nonce:  n1 \r\n\r\n{\"a\":1}\r\n";
        let r = parse_request(crlf).expect("crlf");
        assert_eq!(r.body(), b"{\"a\":1}");
        assert_eq!(r.headers()["wechatpay-nonce"], "n1");
        let lf = b"\nPOST /notify HTTP/1.1\nHost: a\n\n{\"a\": 1}";
        assert_eq!(parse_request(lf).expect("lf").body(), b"{\"a\": 1}");
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_request(chunked).expect("chunked").body(),
            b"{\"a\":1}"
        );
    }

    #[test]
    fn what_is_not_a_capture_is_refused_with_a_reason() {
        for (raw, says) in [
            (&b""[..], "no request line"),
            (b"{\"id\":1}\n", "not METHOD TARGET"),
            (b"POST / HTTP/1.1\nHost a\n\n", "no colon"),
            (b"POST / HTTP/1.1\nHost: a\n", "empty line"),
            (b"POST / HTTP/1.1\nX: a\n  b\n\n", "folded"),
            (b"POST / HTTP/1.1\nContent-Length: 9\n\n{}", "cut short"),
            (b"POST / HTTP/1.1\nContent-Length: x\n\n{}", "not a number"),
            (
                b"POST / HTTP/1.1\nContent-Length: 2\n\n{}GET",
                "one request",
            ),
            (
                b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nzz\n",
                "hexadecimal",
            ),
            (
                b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n9\nab\n",
                "cut short",
            ),
        ] {
            let e = parse_request(raw).expect_err(says);
            assert!(e.contains(says), "{e}");
        }
    }
}
