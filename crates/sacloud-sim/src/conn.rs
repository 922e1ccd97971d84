//! The connection layer in front of hyper: it rewrites the request-target of every request head
//! so that raw-JSON query strings reach the handlers, and turns heads hyper would refuse with an
//! empty 400 into a request the simulator answers with the error envelope.
//!
//! libsacloud v1 (and the original CCM on top of it) sends a find request's JSON unescaped:
//! `GET /is1a/api/cloud/1.1/server?{"Filter":{"Name":"worker 1"}} HTTP/1.1`. The real API serves
//! that; hyper refuses `"`, `<`, `>`, spaces and non-ASCII bytes in a request-target before any
//! handler runs. So every head is read here first (bounded), its request line split as
//! "method = up to the first space, version = after the last space, target = everything
//! between", and the bytes hyper would refuse are percent-encoded. The handlers percent-decode the
//! whole query anyway, so both spellings mean the same. Bodies are passed through untouched;
//! they are only framed (`Content-Length` or chunked) to find where the next head starts, so every
//! request of a keep-alive connection is rewritten, not only the first.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest request head (request line + headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// How much of an oversized head is read and thrown away before the rejection is answered, so
/// the client is not reset while still sending; past this the connection just ends.
const MAX_DISCARD: usize = 1024 * 1024;
/// The `http` crate refuses longer request-targets (its limit is 65,534 bytes).
const MAX_TARGET: usize = 65_000;
/// Most header lines hyper accepts (it answers more with an empty 431).
const MAX_HEADERS: usize = 100;
/// Longest chunk-size or trailer line followed before giving up on framing.
const MAX_CHUNK_LINE: usize = 4096;

/// Header of the request this layer substitutes for a head it rejects; its value is the reason.
/// A client sending it is ignored (the header is removed from every real head).
pub const REJECTED_HEADER: &str = "x-sacloud-sim-rejected";

/// Whether `b` may stay as it is in the path of a request-target (the `http` crate's path set,
/// without the JSON characters it tolerates, which are encoded for uniformity).
fn path_byte_ok(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E)
}

/// Whether `b` may stay as it is in the query (the `http` crate's query set; `#` would start a
/// fragment and cut the JSON short, so it is encoded too).
fn query_byte_ok(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E)
}

/// Percent-encode the bytes of a request-target hyper would refuse. `%` is left alone, so a
/// target that is already percent-encoded comes back unchanged (and borrowed).
pub fn encode_target(target: &[u8]) -> Cow<'_, [u8]> {
    let query_at = target.iter().position(|&b| b == b'?');
    let ok = |i: usize, b: u8| match query_at {
        Some(q) if i > q => query_byte_ok(b),
        Some(q) if i == q => true,
        _ => path_byte_ok(b),
    };
    if target.iter().enumerate().all(|(i, &b)| ok(i, b)) {
        return Cow::Borrowed(target);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(target.len() + target.len() / 2);
    for (i, &b) in target.iter().enumerate() {
        if ok(i, b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    Cow::Owned(out)
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Rewrite one request line (without its line ending): method up to the first space, version
/// after the last space, the target in between (spaces included) percent-encoded where needed.
pub fn rewrite_request_line(line: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "the request line is not \"METHOD target HTTP/1.x\"".to_owned();
    let first = line.iter().position(|&b| b == b' ').ok_or_else(bad)?;
    let last = line.iter().rposition(|&b| b == b' ').ok_or_else(bad)?;
    let (method, version) = (&line[..first], &line[last + 1..]);
    if first == last || method.is_empty() || !method.iter().all(|&b| is_token(b)) {
        return Err(bad());
    }
    if !matches!(version, b"HTTP/1.1" | b"HTTP/1.0") {
        return Err(bad());
    }
    let target = line[first + 1..last].trim_ascii();
    if target.is_empty() {
        return Err(bad());
    }
    let target = encode_target(target);
    if target.len() > MAX_TARGET {
        return Err(format!(
            "the request-target is longer than {MAX_TARGET} bytes once encoded"
        ));
    }
    let mut out = Vec::with_capacity(method.len() + target.len() + version.len() + 2);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(&target);
    out.push(b' ');
    out.extend_from_slice(version);
    Ok(out)
}

/// The request hyper is handed instead of a head this layer rejects.
fn rejection(reason: &str) -> Vec<u8> {
    let reason: String = reason
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .collect();
    format!(
        "GET / HTTP/1.1\r\nHost: sacloud-sim\r\nConnection: close\r\n{REJECTED_HEADER}: {reason}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Where the head ends (index after the empty line), searching from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    (from..buf.len()).find_map(|i| match (buf.get(i), buf.get(i + 1), buf.get(i + 2)) {
        (Some(b'\n'), Some(b'\n'), _) => Some(i + 2),
        (Some(b'\n'), Some(b'\r'), Some(b'\n')) => Some(i + 3),
        _ => None,
    })
}

/// How the bytes after a head are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Waiting for a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// The line ending after chunk data.
    DataEnd,
    /// Trailer lines after the last chunk, up to an empty line.
    Trailers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Reading a head; the search for its end resumes at this offset.
    Head(usize),
    /// Throwing away an oversized head, this many bytes so far.
    Discard(usize),
    /// A body of known length, this many bytes left.
    Body(u64),
    /// A chunked body.
    Chunked(Chunk),
    /// Framing lost (a malformed chunked body): bytes pass as they are and hyper decides.
    Passthrough,
    /// A head was rejected: nothing more is read.
    Closed,
}

/// Split a head into the rewritten head and the framing of what follows it.
fn process_head(head: &[u8]) -> Result<(Vec<u8>, Framing), String> {
    let nl = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no request line")?;
    let line = head[..nl].strip_suffix(b"\r").unwrap_or(&head[..nl]);
    let mut out = rewrite_request_line(line)?;
    out.extend_from_slice(b"\r\n");
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut count = 0;
    for raw in head[nl + 1..].split_inclusive(|&b| b == b'\n') {
        let text = raw
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(raw);
        if text.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(format!("more than {MAX_HEADERS} header lines"));
        }
        if text[0] == b' ' || text[0] == b'\t' {
            return Err("folded header lines are not supported".into());
        }
        let colon = text
            .iter()
            .position(|&b| b == b':')
            .ok_or("a header line has no colon")?;
        let name = &text[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err("a header name is not a token".into());
        }
        let value = String::from_utf8_lossy(text[colon + 1..].trim_ascii()).into_owned();
        if name.eq_ignore_ascii_case(REJECTED_HEADER.as_bytes()) {
            continue;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n: u64 = value
                .parse()
                .map_err(|_| format!("Content-Length {value:?} is not a number"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(format!("Transfer-Encoding {value:?} is not supported"));
            }
            chunked = true;
        }
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked(Chunk::Size),
        (false, Some(n)) if n > 0 => Framing::Body(n),
        _ => Framing::Head(0),
    };
    Ok((out, framing))
}

/// The byte-level rewriter: bytes from the client go in, bytes for hyper come out. Pure (no I/O),
/// so it is tested on its own.
#[derive(Debug)]
pub struct HeadRewriter {
    state: Framing,
    input: Vec<u8>,
}

impl Default for HeadRewriter {
    fn default() -> Self {
        Self {
            state: Framing::Head(0),
            input: Vec::new(),
        }
    }
}

fn take_line(input: &mut Vec<u8>, out: &mut Vec<u8>) -> Option<Vec<u8>> {
    let nl = input.iter().position(|&b| b == b'\n')?;
    let line: Vec<u8> = input.drain(..=nl).collect();
    out.extend_from_slice(&line);
    Some(line)
}

impl HeadRewriter {
    /// Whether a head was rejected: after the substitute request nothing more is read.
    pub fn is_closed(&self) -> bool {
        self.state == Framing::Closed
    }

    fn reject(&mut self, reason: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&rejection(reason));
        self.input.clear();
        self.state = Framing::Closed;
    }

    /// Feed bytes read from the client; what hyper should read is appended to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.input.extend_from_slice(data);
        loop {
            match self.state {
                Framing::Closed => {
                    self.input.clear();
                    return;
                }
                Framing::Passthrough => {
                    out.append(&mut self.input);
                    return;
                }
                Framing::Head(from) => {
                    // Empty lines before a request line are allowed (RFC 9112 §2.2).
                    let blank = self
                        .input
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    self.input.drain(..blank);
                    let from = from.saturating_sub(blank);
                    if self.input.is_empty() {
                        self.state = Framing::Head(0);
                        return;
                    }
                    match head_end(&self.input, from) {
                        Some(end) if end > MAX_HEAD => {
                            let reason =
                                format!("the request head is larger than {MAX_HEAD} bytes");
                            return self.reject(&reason, out);
                        }
                        Some(end) => {
                            let head: Vec<u8> = self.input.drain(..end).collect();
                            match process_head(&head) {
                                Ok((rewritten, next)) => {
                                    out.extend_from_slice(&rewritten);
                                    self.state = next;
                                }
                                Err(reason) => return self.reject(&reason, out),
                            }
                        }
                        None if self.input.len() > MAX_HEAD => {
                            let seen = self.input.len();
                            self.input.drain(..seen - 2);
                            self.state = Framing::Discard(seen);
                        }
                        None => {
                            self.state = Framing::Head(self.input.len().saturating_sub(2));
                            return;
                        }
                    }
                }
                Framing::Discard(seen) => {
                    let too_large = format!("the request head is larger than {MAX_HEAD} bytes");
                    if head_end(&self.input, 0).is_some() || seen > MAX_DISCARD {
                        return self.reject(&too_large, out);
                    }
                    let n = self.input.len().saturating_sub(2);
                    self.input.drain(..n);
                    self.state = Framing::Discard(seen + n);
                    return;
                }
                Framing::Body(left) => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.input.len());
                    out.extend(self.input.drain(..n));
                    let left = left - n as u64;
                    if left > 0 {
                        self.state = Framing::Body(left);
                        return;
                    }
                    self.state = Framing::Head(0);
                }
                Framing::Chunked(chunk) => {
                    if !self.chunk_step(chunk, out) {
                        return;
                    }
                }
            }
        }
    }

    /// One step through a chunked body; `false` when more input is needed.
    fn chunk_step(&mut self, chunk: Chunk, out: &mut Vec<u8>) -> bool {
        match chunk {
            Chunk::Data(left) => {
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(self.input.len());
                out.extend(self.input.drain(..n));
                let left = left - n as u64;
                self.state = Framing::Chunked(if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                });
                left == 0
            }
            Chunk::Size | Chunk::DataEnd | Chunk::Trailers => {
                let Some(line) = take_line(&mut self.input, out) else {
                    if self.input.len() > MAX_CHUNK_LINE {
                        self.state = Framing::Passthrough;
                        return true;
                    }
                    return false;
                };
                self.state = match chunk {
                    Chunk::DataEnd => Framing::Chunked(Chunk::Size),
                    Chunk::Trailers if line.trim_ascii().is_empty() => Framing::Head(0),
                    Chunk::Trailers => Framing::Chunked(Chunk::Trailers),
                    _ => {
                        let text = String::from_utf8_lossy(&line);
                        let size = text.split(';').next().unwrap_or_default().trim();
                        match u64::from_str_radix(size, 16) {
                            Ok(0) => Framing::Chunked(Chunk::Trailers),
                            Ok(n) => Framing::Chunked(Chunk::Data(n)),
                            Err(_) => Framing::Passthrough,
                        }
                    }
                };
                true
            }
        }
    }
}

/// A client connection as hyper sees it: reads go through a [`HeadRewriter`], writes go straight
/// to the socket.
#[derive(Debug)]
pub struct Rewriting<S> {
    inner: S,
    rewriter: HeadRewriter,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<S> Rewriting<S> {
    /// Wrap an accepted connection.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rewriter: HeadRewriter::default(),
            out: Vec::new(),
            pos: 0,
            eof: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewriting<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.pos);
                buf.put_slice(&this.out[this.pos..this.pos + n]);
                this.pos += n;
                if this.pos == this.out.len() {
                    this.out.clear();
                    this.pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof || this.rewriter.is_closed() {
                return Poll::Ready(Ok(()));
            }
            let mut tmp = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut tmp);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                this.eof = true;
            } else {
                this.rewriter.push(rb.filled(), &mut this.out);
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewriting<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(line: &str) -> String {
        String::from_utf8(rewrite_request_line(line.as_bytes()).unwrap()).unwrap()
    }

    fn run(chunks: &[&[u8]]) -> (String, bool) {
        let mut rw = HeadRewriter::default();
        let mut out = Vec::new();
        for c in chunks {
            rw.push(c, &mut out);
        }
        (String::from_utf8_lossy(&out).into_owned(), rw.is_closed())
    }

    #[test]
    fn raw_json_queries_are_encoded() {
        assert_eq!(
            rewrite(
                r#"GET /is1a/api/cloud/1.1/server?{"From":0,"Count":100,"Filter":{"Name":"worker 1"}} HTTP/1.1"#
            ),
            "GET /is1a/api/cloud/1.1/server?{%22From%22:0,%22Count%22:100,%22Filter%22:{%22Name%22:%22worker%201%22}} HTTP/1.1"
        );
        assert_eq!(
            rewrite(r#"GET /x?{"Tags.Name":[["@k8s"]],"a":"<b>#é"} HTTP/1.0"#),
            "GET /x?{%22Tags.Name%22:[[%22@k8s%22]],%22a%22:%22%3Cb%3E%23%C3%A9%22} HTTP/1.0"
        );
    }

    #[test]
    fn encoded_targets_are_left_alone() {
        let line = "GET /is1a/api/cloud/1.1/server?%7B%22Count%22%3A1%7D HTTP/1.1";
        assert_eq!(rewrite(line), line);
        assert!(matches!(
            encode_target(b"/is1a/api/cloud/1.1/server/1"),
            Cow::Borrowed(_)
        ));
        // JSON in the path (before any `?`) is encoded with the path's rules.
        assert_eq!(&*encode_target(b"/a b/{x}"), b"/a%20b/%7Bx%7D");
    }

    #[test]
    fn malformed_request_lines_are_refused() {
        for line in [
            "GET",
            "GET /x",
            "GET /x HTTP/2.0",
            " /x HTTP/1.1",
            "G(T /x HTTP/1.1",
            "GET  HTTP/1.1",
        ] {
            assert!(rewrite_request_line(line.as_bytes()).is_err(), "{line}");
        }
        let long = format!("GET /?{} HTTP/1.1", "\"".repeat(30_000));
        assert!(
            rewrite_request_line(long.as_bytes())
                .unwrap_err()
                .contains("longer")
        );
    }

    #[test]
    fn every_head_of_a_keep_alive_stream_is_rewritten() {
        let stream = b"PUT /a?{\"x\":1} HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"a\"}\
GET /b?{\"y\": 2} HTTP/1.1\r\nHost: h\r\n\r\n\r\n\
POST /c?\"z\" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\nT: 1\r\n\r\n\
GET /d?\"w\" HTTP/1.1\r\n\r\n";
        let want = "PUT /a?{%22x%22:1} HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"a\"}\
GET /b?{%22y%22:%202} HTTP/1.1\r\nHost: h\r\n\r\n\
POST /c?%22z%22 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\nT: 1\r\n\r\n\
GET /d?%22w%22 HTTP/1.1\r\n\r\n";
        // All at once, and one byte at a time.
        assert_eq!(run(&[stream]).0, want);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(&bytes).0, want);
    }

    #[test]
    fn a_body_that_looks_like_a_head_is_not_rewritten() {
        let stream = b"POST /a HTTP/1.1\r\nContent-Length: 21\r\n\r\nGET /b?\"x\" HTTP/1.1\r\n";
        assert_eq!(run(&[stream]).0, String::from_utf8_lossy(stream));
    }

    #[test]
    fn bad_heads_become_a_rejection_and_close() {
        let (out, closed) =
            run(&[b"GET /x HTTP/1.1\r\nno colon here\r\n\r\nGET / HTTP/1.1\r\n\r\n"]);
        assert!(closed);
        assert!(out.starts_with("GET / HTTP/1.1\r\n"), "{out}");
        assert!(out.contains("x-sacloud-sim-rejected: a header line has no colon\r\n"));
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("GET ").count(), 1);

        for head in [
            "GET /x HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "GET /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            "NOT A REQUEST\r\n\r\n",
            &format!("GET /x HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(101)),
        ] {
            let (out, closed) = run(&[head.as_bytes()]);
            assert!(closed && out.contains(REJECTED_HEADER), "{head}: {out}");
        }
    }

    #[test]
    fn oversized_heads_are_drained_then_rejected() {
        let big = format!("GET /x HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let (out, closed) = run(&[big.as_bytes()]);
        assert!(closed);
        assert!(out.contains("larger than 65536 bytes"), "{out}");
        // Arriving in pieces, the rejection waits for the end of the head.
        let mut rw = HeadRewriter::default();
        let mut out = Vec::new();
        let (a, b) = big.as_bytes().split_at(MAX_HEAD + 10);
        rw.push(a, &mut out);
        assert!(out.is_empty() && !rw.is_closed());
        rw.push(b, &mut out);
        assert!(rw.is_closed() && !out.is_empty());
    }

    #[test]
    fn a_client_cannot_forge_the_rejection_header() {
        let (out, closed) =
            run(&[b"GET /x HTTP/1.1\r\nX-Sacloud-Sim-Rejected: no\r\nA: b\r\n\r\n"]);
        assert!(!closed);
        assert_eq!(out, "GET /x HTTP/1.1\r\nA: b\r\n\r\n");
    }

    #[test]
    fn a_malformed_chunk_size_passes_through_for_hyper_to_refuse() {
        let (out, closed) = run(&[b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /\"y\" HTTP/1.1\r\n\r\n"]);
        assert!(!closed);
        assert!(out.ends_with("zz\r\nGET /\"y\" HTTP/1.1\r\n\r\n"), "{out}");
    }
}
