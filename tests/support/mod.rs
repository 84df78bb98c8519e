//! Shared harness for integration tests: start a server process (respub or redis-server)
//! on a free port, talk raw RESP to it, and read back exact reply frames.
//!
//! Owns: port choice, process lifetime (killed by its own PID on Drop), a raw tokio client
//! with bounded waits, and a RESP2/RESP3 frame splitter that returns raw bytes.
//! Leaves to the test files: what to send and what the bytes must be.
//!
//! Every wait here is bounded (`READ_TIMEOUT` for replies, `START_TIMEOUT` for a server to
//! accept connections); nothing sleeps to "let things settle".

// Each test binary uses a different subset of this module.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long `expect`/`read_frame` wait for bytes before failing.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// `Client::read_frame_busy`: a reply behind a big job on a loaded machine.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a freshly spawned server gets to accept its first connection.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// Which program to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server under test: `$RESPUB_BIN` if set (e.g. `/usr/bin/redis-server` to
    /// validate the tests themselves), else the cargo-built `respub` binary.
    Respub,
    /// The reference: `$REDIS_BIN` if set, else `/usr/bin/redis-server`.
    Redis,
}

impl Kind {
    pub(crate) fn program(self) -> String {
        match self {
            Kind::Respub => std::env::var("RESPUB_BIN")
                .unwrap_or_else(|_| env!("CARGO_BIN_EXE_respub").to_string()),
            Kind::Redis => {
                std::env::var("REDIS_BIN").unwrap_or_else(|_| "/usr/bin/redis-server".into())
            }
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Respub => "respub",
            Kind::Redis => "redis",
        }
    }
}

/// Ports handed out by this test process. Tests run as threads of one process, so this
/// keeps two concurrent tests from ever being given the same port between "bind :0" and
/// the server binding it. Other processes can still race; `Server::start` retries.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A port that was free a moment ago and has not been handed out by this process before.
pub(crate) fn free_port() -> u16 {
    for _ in 0..100 {
        let l = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local_addr").port();
        drop(l);
        let mut g = HANDED_OUT.lock().expect("port set lock");
        if g.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("could not find an unused port in 100 tries");
}

/// A running server process. Killed (SIGKILL to its own PID) and reaped on Drop.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) kind: Kind,
    pub(crate) addr: SocketAddr,
    child: Child,
}

impl Server {
    /// Start `kind` with the common flags
    /// `--port N --bind 127.0.0.1 --save '' --appendonly no --loglevel warning` plus `extra`,
    /// and wait (bounded) until it accepts a TCP connection.
    ///
    /// Server stdout/stderr are discarded unless `RESPUB_TEST_LOG` is set.
    pub(crate) async fn start(kind: Kind, extra: &[&str]) -> Server {
        let mut last_err = String::new();
        // A port can be taken by another process between our probe and the server's bind;
        // the server then exits, and we try another port.
        for _attempt in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(kind.program());
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
                .args(extra)
                .stdin(Stdio::null());
            if std::env::var_os("RESPUB_TEST_LOG").is_none() {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
            let child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => panic!("cannot spawn {}: {e}", kind.program()),
            };
            let mut server = Server {
                kind,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                child,
            };
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(e) => last_err = e, // Drop kills it
            }
        }
        panic!(
            "{} ({}) never became ready: {last_err}",
            kind.label(),
            kind.program()
        );
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("exited early with {status}"));
            }
            if let Ok(Ok(s)) =
                tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(self.addr))
                    .await
            {
                drop(s);
                // A server that lost the race for the port exits at once; if ours is still
                // running after answering, the listener is (with high likelihood) ours.
                // (/proc/net/tcp ownership checks are not reliable in this sandbox.)
                if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("exited early with {status}"));
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not accepting on {} after {START_TIMEOUT:?}",
                    self.addr
                ));
            }
            // Polling interval for the readiness probe (bounded by the deadline above).
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The exit status if the process has ended (it is reaped then; a later `Drop` sends
    /// no signal to a reaped PID), `None` while it runs.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .try_wait()
            .expect("try_wait on the server process")
    }

    /// New raw client connected to this server.
    pub(crate) async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Child::kill signals exactly this PID; wait reaps it so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// RESP helpers
// ---------------------------------------------------------------------------------------

/// Encode a command as a RESP multibulk (array of bulk strings).
pub(crate) fn cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Split a command line on spaces and encode it (for arguments without spaces).
pub(crate) fn line(s: &str) -> Vec<u8> {
    let parts: Vec<&str> = s.split(' ').filter(|p| !p.is_empty()).collect();
    cmd(&parts)
}

/// Bulk string `$len\r\n<data>\r\n`.
pub(crate) fn bulk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Printable rendering of bytes: `\r\n` shown as `\r\n` plus a real newline, other
/// non-printables as `\xNN`.
pub(crate) fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// `show`, cut to about `max` characters.
pub(crate) fn show_trunc(bytes: &[u8], max: usize) -> String {
    let s = show(bytes);
    if s.len() <= max {
        s
    } else {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes total)", &s[..cut], bytes.len())
    }
}

/// Human-readable explanation of where two byte strings first differ.
pub(crate) fn diff_text(want: &[u8], got: &[u8]) -> String {
    let first = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let from = first.saturating_sub(40);
    format!(
        "first difference at byte {first} (want {} bytes, got {} bytes)\n  want: {}\n  got:  {}\n  around: want[{from}..]={}\n          got[{from}..]={}",
        want.len(),
        got.len(),
        show_trunc(want, 600),
        show_trunc(got, 600),
        show_trunc(&want[from.min(want.len())..], 120),
        show_trunc(&got[from.min(got.len())..], 120),
    )
}

/// Length of the complete RESP2/RESP3 frame at the start of `buf`:
/// `Ok(None)` = need more bytes, `Err` = not valid RESP.
///
/// Handles simple types (`+ - : _ , # (`), blobs (`$ ! =`, with `-1` nulls), aggregates
/// (`* ~ >` with `*-1` null, `%` and `|` with key/value pairs), nested to any depth.
/// An attribute `|` is returned together with the frame it annotates.
pub(crate) fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    // Iterative: `pending` counts frames still needed to complete the top-level one.
    let mut pos = 0usize;
    let mut pending: u64 = 1;
    while pending > 0 {
        let Some(&t) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(nl) = memchr_crlf(&buf[pos..]) else {
            return Ok(None);
        };
        let header = &buf[pos + 1..pos + nl];
        let after = pos + nl + 2;
        pending -= 1;
        match t {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => pos = after,
            b'$' | b'!' | b'=' => {
                let n = parse_int(header)?;
                if n < 0 {
                    if n != -1 {
                        return Err(format!("bad blob length {n}"));
                    }
                    pos = after;
                } else {
                    let end = after + n as usize + 2;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    if &buf[end - 2..end] != b"\r\n" {
                        return Err("blob not terminated by CRLF".into());
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = parse_int(header)?;
                pos = after;
                if n < 0 {
                    if n != -1 {
                        return Err(format!("bad aggregate length {n}"));
                    }
                } else {
                    let mult = if t == b'%' || t == b'|' { 2 } else { 1 };
                    pending += n as u64 * mult;
                    // The attribute precedes the frame it describes.
                    if t == b'|' {
                        pending += 1;
                    }
                }
            }
            other => return Err(format!("unknown RESP type byte {:?}", other as char)),
        }
    }
    Ok(Some(pos))
}

fn memchr_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

fn parse_int(h: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(h)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("bad length {:?}", show(h)))
}

/// The raw elements of an aggregate frame (`* ~ > %` and `|`): header bytes and the raw
/// bytes of each child frame (maps yield keys and values alternately).
/// `None` if `frame` is not a complete aggregate.
pub(crate) fn split_aggregate(frame: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    if !matches!(frame.first(), Some(b'*' | b'~' | b'>' | b'%')) {
        return None;
    }
    let nl = memchr_crlf(frame)?;
    let n = parse_int(&frame[1..nl]).ok()?;
    let header = frame[..nl + 2].to_vec();
    if n < 0 {
        return Some((header, Vec::new()));
    }
    let count = if frame[0] == b'%' { n * 2 } else { n } as usize;
    let mut pos = nl + 2;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let len = frame_len(&frame[pos..]).ok()??;
        items.push(frame[pos..pos + len].to_vec());
        pos += len;
    }
    (pos == frame.len()).then_some((header, items))
}

/// Payload of a bulk/verbatim/simple frame (`$5\r\nhello\r\n` -> `hello`).
pub(crate) fn frame_payload(frame: &[u8]) -> Option<&[u8]> {
    let nl = memchr_crlf(frame)?;
    match frame.first()? {
        b'$' | b'!' | b'=' => {
            let n = parse_int(&frame[1..nl]).ok()?;
            if n < 0 {
                return None;
            }
            frame.get(nl + 2..nl + 2 + n as usize)
        }
        _ => Some(&frame[1..nl]),
    }
}

// ---------------------------------------------------------------------------------------
// Raw client
// ---------------------------------------------------------------------------------------

/// What a bounded read ended with, for callers that must not panic (differential runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Nothing (or only part of a frame) arrived in time; holds the partial bytes.
    Timeout(Vec<u8>),
    /// The server closed the connection; holds any partial bytes.
    Eof(Vec<u8>),
    /// Bytes that are not RESP.
    Invalid(String, Vec<u8>),
    /// Socket error other than EOF.
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Timeout(p) => write!(
                f,
                "<TIMEOUT after {READ_TIMEOUT:?}, partial: {}>",
                show_trunc(p, 200)
            ),
            ReadError::Eof(p) if p.is_empty() => write!(f, "<EOF>"),
            ReadError::Eof(p) => write!(f, "<EOF inside a frame, partial: {}>", show_trunc(p, 200)),
            ReadError::Invalid(why, p) => {
                write!(f, "<INVALID RESP: {why}: {}>", show_trunc(p, 200))
            }
            ReadError::Io(e) => write!(f, "<IO ERROR {e}>"),
        }
    }
}

/// A raw TCP client. Keeps unread bytes between calls, so frames can be read one by one.
#[derive(Debug)]
pub(crate) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        Client::connect_with(addr, None).await
    }

    /// Connect with a small kernel receive buffer (SO_RCVBUF set before connecting, so
    /// the TCP window stays small): a client that stops reading then backs data up into
    /// the server quickly instead of into our kernel.
    pub(crate) async fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: u32) -> Client {
        Client::connect_with(addr, Some(rcvbuf)).await
    }

    async fn connect_with(addr: SocketAddr, rcvbuf: Option<u32>) -> Client {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = rcvbuf {
            sock.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let stream = tokio::time::timeout(READ_TIMEOUT, sock.connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connect to {addr} timed out"))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_nodelay(true).expect("set_nodelay");
        Client {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Write all of `bytes`. While writing, keeps reading into the internal buffer, so a
    /// big pipeline cannot deadlock against a server that stops reading until its replies
    /// are consumed. Panics if the write does not finish within `READ_TIMEOUT` of the last
    /// progress.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self.try_send(bytes).await {
            panic!("send failed: {e}");
        }
    }

    /// `send` that reports failure instead of panicking.
    pub(crate) async fn try_send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut off = 0;
        while off < bytes.len() {
            let (mut r, mut w) = self.stream.split();
            self.buf.reserve(64 * 1024);
            let buf = &mut self.buf;
            let eof = self.eof;
            let step = tokio::time::timeout(READ_TIMEOUT, async {
                tokio::select! {
                    res = w.write(&bytes[off..]) => Step::Wrote(res),
                    res = r.read_buf(buf), if !eof => Step::Read(res),
                }
            })
            .await;
            match step {
                Err(_) => {
                    return Err(format!(
                        "no write progress for {READ_TIMEOUT:?} ({off}/{} bytes written)",
                        bytes.len()
                    ))
                }
                Ok(Step::Wrote(Ok(n))) => off += n,
                Ok(Step::Wrote(Err(e))) => return Err(format!("write: {e}")),
                Ok(Step::Read(Ok(0))) => self.eof = true,
                Ok(Step::Read(Ok(_))) => {}
                Ok(Step::Read(Err(e))) => return Err(format!("read while writing: {e}")),
            }
        }
        Ok(())
    }

    /// Send `bytes` one byte per write, with `gap` between writes (TCP_NODELAY is on, so
    /// each byte normally travels in its own segment).
    pub(crate) async fn send_bytewise(&mut self, bytes: &[u8], gap: Duration) {
        for b in bytes.chunks(1) {
            self.send(b).await;
            tokio::time::sleep(gap).await;
        }
    }

    /// Read more bytes into the buffer; `Ok(false)` on EOF.
    async fn fill(&mut self, deadline: tokio::time::Instant) -> Result<bool, ReadError> {
        if self.eof {
            return Ok(false);
        }
        // Read straight into the heap buffer: a big stack array here would bloat every
        // future that awaits this and overflow test-thread stacks.
        self.buf.reserve(64 * 1024);
        match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err(ReadError::Timeout(self.buf.clone())),
            Ok(Ok(0)) => {
                self.eof = true;
                Ok(false)
            }
            Ok(Ok(_)) => Ok(true),
            // A reset after the server closed is an EOF for our purposes.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                self.eof = true;
                Ok(false)
            }
            Ok(Err(e)) => Err(ReadError::Io(e.to_string())),
        }
    }

    /// Read exactly one complete reply frame (any RESP2/RESP3 type, nested) and return its
    /// raw bytes, waiting at most `timeout`.
    pub(crate) async fn try_read_frame_within(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<u8>, ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match frame_len(&self.buf) {
                Ok(Some(n)) => return Ok(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(why) => return Err(ReadError::Invalid(why, std::mem::take(&mut self.buf))),
            }
            if !self.fill(deadline).await? {
                return Err(ReadError::Eof(std::mem::take(&mut self.buf)));
            }
        }
    }

    pub(crate) async fn try_read_frame(&mut self) -> Result<Vec<u8>, ReadError> {
        self.try_read_frame_within(READ_TIMEOUT).await
    }

    /// One frame from a server busy with a big job (a million subscriptions, a 4 MB
    /// reply): waits up to `BUSY_TIMEOUT`, for liveness checks on a loaded machine where
    /// `READ_TIMEOUT` is too tight for a debug build. Never used to bound latency.
    #[allow(dead_code)] // not every test binary has a big job
    pub(crate) async fn read_frame_busy(&mut self) -> Vec<u8> {
        match self.try_read_frame_within(BUSY_TIMEOUT).await {
            Ok(f) => f,
            Err(e) => panic!("read_frame_busy: {e}"),
        }
    }

    /// One complete frame; panics (readably) on timeout, EOF or invalid RESP.
    pub(crate) async fn read_frame(&mut self) -> Vec<u8> {
        match self.try_read_frame().await {
            Ok(f) => f,
            Err(e) => panic!("read_frame: {e}"),
        }
    }

    /// `n` complete frames, in order.
    pub(crate) async fn read_frames(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            match self.try_read_frame().await {
                Ok(f) => out.push(f),
                Err(e) => panic!("read_frames: frame {i} of {n}: {e}"),
            }
        }
        out
    }

    /// Read exactly `want.len()` bytes (bounded) and compare; panics with a readable diff.
    pub(crate) async fn expect(&mut self, want: &[u8]) {
        let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
        while self.buf.len() < want.len() {
            match self.fill(deadline).await {
                Ok(true) => {}
                Ok(false) => panic!(
                    "expect: EOF before the expected bytes\n{}",
                    diff_text(want, &self.buf)
                ),
                Err(ReadError::Timeout(_)) => panic!(
                    "expect: timed out after {READ_TIMEOUT:?}\n{}",
                    diff_text(want, &self.buf)
                ),
                Err(e) => panic!("expect: {e}\n{}", diff_text(want, &self.buf)),
            }
        }
        if &self.buf[..want.len()] != want {
            // Failure path only: give the server a moment to send the rest of whatever it
            // sent instead, so the message shows whole frames.
            let more = tokio::time::Instant::now() + Duration::from_millis(200);
            while self.buf.len() < want.len() + 400 {
                if !matches!(self.fill(more).await, Ok(true)) {
                    break;
                }
            }
            panic!("expect: bytes differ\n{}", diff_text(want, &self.buf));
        }
        self.buf.drain(..want.len());
    }

    /// Send and expect in one step.
    pub(crate) async fn roundtrip(&mut self, send: &[u8], want: &[u8]) {
        self.send(send).await;
        self.expect(want).await;
    }

    /// Assert the server closes the connection (within `READ_TIMEOUT`) without sending
    /// anything more.
    pub(crate) async fn expect_eof(&mut self) {
        let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
        loop {
            if !self.buf.is_empty() {
                panic!(
                    "expect_eof: got bytes instead: {}",
                    show_trunc(&self.buf, 400)
                );
            }
            match self.fill(deadline).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => panic!("expect_eof: {e}"),
            }
        }
    }

    /// Read and discard everything until EOF, waiting at most `timeout` overall. Returns
    /// the number of bytes discarded, or `Err` with that count on timeout.
    pub(crate) async fn drain_until_eof(&mut self, timeout: Duration) -> Result<usize, usize> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut total = 0;
        loop {
            total += self.buf.len();
            self.buf.clear();
            match self.fill(deadline).await {
                Ok(true) => {}
                Ok(false) => return Ok(total),
                Err(_) => return Err(total),
            }
        }
    }

    /// Assert nothing arrives for `ms` milliseconds (and the connection stays open).
    /// This is a deliberate observation window, not a settle-sleep.
    pub(crate) async fn expect_silence(&mut self, ms: u64) {
        if !self.buf.is_empty() {
            panic!(
                "expect_silence: unread bytes: {}",
                show_trunc(&self.buf, 400)
            );
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        match self.fill(deadline).await {
            Err(ReadError::Timeout(_)) => {}
            Ok(true) => panic!("expect_silence: got {}", show_trunc(&self.buf, 400)),
            Ok(false) => panic!("expect_silence: connection closed"),
            Err(e) => panic!("expect_silence: {e}"),
        }
    }

    /// Bytes received but not yet consumed.
    pub(crate) fn unread(&self) -> &[u8] {
        &self.buf
    }

    /// Half-close: send FIN so the server sees EOF; we can still read what it sends.
    pub(crate) async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Close our side (write and read).
    pub(crate) async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

enum Step {
    Wrote(std::io::Result<usize>),
    Read(std::io::Result<usize>),
}

/// CLIENT LIST / CLIENT INFO fields whose values differ between any two runs (masked as
/// `*`), and fields added after Redis 7.0 (dropped), for comparing respub's lines with
/// redis-server 7.0.15's byte for byte (tests/differential.rs masks the same set).
const VOLATILE_CLIENT_FIELDS: &[&str] = &[
    "id",
    "fd",
    "age",
    "idle",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
];
const NEWER_CLIENT_FIELDS: &[&str] = &["lib-name", "lib-ver", "watch", "io-thread"];

/// Masks CLIENT LIST / CLIENT INFO text line by line: volatile values become `*`,
/// post-7.0 fields are dropped, `addr`/`laddr` keep their shape with the Unix socket
/// path `sock` written `<sock>` and TCP ports `<port>`. What is left (field names and
/// order, address shape, flags, counts, cmd) must be the same bytes on both servers.
#[allow(dead_code)] // not every test binary looks at CLIENT LIST
pub(crate) fn mask_client_fields(text: &str, sock: Option<&str>) -> String {
    let mut out = String::new();
    for l in text.lines() {
        let mut fields = Vec::new();
        for f in l.split(' ') {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            if NEWER_CLIENT_FIELDS.contains(&k) {
                continue;
            }
            let v = if VOLATILE_CLIENT_FIELDS.contains(&k) {
                "*".to_string()
            } else if k == "addr" || k == "laddr" {
                match sock.and_then(|s| v.strip_prefix(s)) {
                    Some(rest) => format!("<sock>{rest}"),
                    None => match v.rsplit_once(':') {
                        Some((host, _)) => format!("{host}:<port>"),
                        None => v.to_string(),
                    },
                }
            } else {
                v.to_string()
            };
            fields.push(format!("{k}={v}"));
        }
        out.push_str(&fields.join(" "));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_handles_every_type() {
        let cases: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR x\r\n",
            b":12\r\n",
            b"_\r\n",
            b",1.5\r\n",
            b"#t\r\n",
            b"(123\r\n",
            b"$-1\r\n",
            b"$0\r\n\r\n",
            b"$4\r\na\r\nb\r\n",
            b"!3\r\nerr\r\n",
            b"=7\r\ntxt:abc\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"%1\r\n+k\r\n*2\r\n:1\r\n_\r\n",
            b"~1\r\n+a\r\n",
            b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$0\r\n\r\n",
            b"|1\r\n+key\r\n+val\r\n:5\r\n",
        ];
        for c in cases {
            assert_eq!(frame_len(c), Ok(Some(c.len())), "{}", show(c));
            for cut in 0..c.len() {
                assert_eq!(frame_len(&c[..cut]), Ok(None), "{} cut {cut}", show(c));
            }
            let mut two = c.to_vec();
            two.extend_from_slice(b"+next\r\n");
            assert_eq!(frame_len(&two), Ok(Some(c.len())));
        }
        assert!(frame_len(b"?x\r\n").is_err());
    }

    #[test]
    fn split_aggregate_returns_children() {
        let (h, items) = split_aggregate(b"*2\r\n$1\r\na\r\n:3\r\n").unwrap();
        assert_eq!(h, b"*2\r\n");
        assert_eq!(items, vec![b"$1\r\na\r\n".to_vec(), b":3\r\n".to_vec()]);
    }
}
