//! Resumable request decoder: turns the bytes a client sent into commands (`Vec<Bytes>`),
//! one per call, exactly the way Redis 7.0 `processInlineBuffer` /
//! `processMultibulkBuffer` do, including their limits and quirks. It owns the parse
//! position inside a partly received command, so a big request arriving in small reads is
//! scanned once. It leaves the read buffer's growth to the caller (see
//! [`Decoder::needed`]) and the error wording to `crate::error`.
//!
//! Quirks kept on purpose, each checked against redis-server 7.0.15:
//! - The request type is chosen per command by its first byte: `*` is multibulk, anything
//!   else is an inline line.
//! - Redis finds line ends with `strchr`, which stops at a NUL byte. A NUL before the
//!   `\r` (multibulk) or `\n` (inline) therefore means the line never ends; the client
//!   waits until more than `max_inline_len` bytes are buffered and then gets the
//!   "too big" error.
//! - After a count line's `\r` Redis needs one more byte but never checks it is `\n`;
//!   after a bulk payload it skips two bytes without looking at them.
//! - `*0`, negative counts and blank inline lines produce no command at all.

use bytes::{Buf, Bytes, BytesMut};

/// Limits the decoder enforces; all come from `Config`.
#[derive(Clone, Copy, Debug)]
pub struct DecodeLimits {
    /// `proto-max-bulk-len`: largest accepted bulk argument, bytes. Default 512 MiB.
    pub max_bulk_len: usize,
    /// Largest accepted multibulk count (`*<n>`). Redis: INT_MAX.
    pub max_multibulk_len: usize,
    /// Longest inline command line / count line before a protocol error. Redis: 64 KiB.
    pub max_inline_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A malformed request; the connection replies `-ERR Protocol error: ...` and closes.
/// The wording lives in `crate::error`; the text redis-server 7.0.15 sends is noted on
/// each variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// `too big inline request`: no `\n` within more than `max_inline_len` bytes.
    TooBigInlineRequest,
    /// `unbalanced quotes in request`: an inline quote is unterminated, or a closing
    /// quote is followed by something other than a space.
    UnbalancedQuotes,
    /// `too big mbulk count string`: no `\r` after `*` within `max_inline_len` bytes.
    TooBigMbulkCountString,
    /// `invalid multibulk length`: the count is not a strict integer or is above
    /// `max_multibulk_len`.
    InvalidMultibulkLength,
    /// `unauthenticated multibulk length`: count above 10 before `AUTH`.
    UnauthenticatedMultibulkLength,
    /// `too big bulk count string`: no `\r` after `$` within `max_inline_len` bytes.
    TooBigBulkCountString,
    /// `expected '$', got '%c'`: an argument header did not start with `$`. Redis
    /// prints the byte raw, except that `\r` and `\n` become a space (its error replies
    /// never contain newlines). The byte is never NUL: a NUL stops the line search.
    ExpectedDollar(u8),
    /// `invalid bulk length`: not a strict integer, negative, or above `max_bulk_len`.
    InvalidBulkLength,
    /// `unauthenticated bulk length`: bulk above 16384 bytes before `AUTH`.
    UnauthenticatedBulkLength,
}

/// Redis `authRequired` limits: an unauthenticated client may not announce big requests.
const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
const UNAUTH_MAX_BULK_LEN: i64 = 16384;

/// Arguments preallocated for a new multibulk, like Redis's `min(multibulklen, 1024)`,
/// so that `*1000000000` costs nothing until its arguments actually arrive.
const MAX_ARGS_PREALLOC: usize = 1024;

/// What one argument slot of a partial command costs besides its bytes: the `Bytes`
/// handle in the argument vector. Counted per slot of the vector's capacity, so a
/// flood of empty arguments (`$0\r\n\r\n`) is charged for the memory it really takes
/// (issue 11: `*2000000000` followed by millions of `$0` used to count as 0 bytes).
const ARG_SLOT_BYTES: usize = std::mem::size_of::<Bytes>();

/// Redis `LONG_STR_SIZE`: `string2ll` rejects 21 characters or more.
const LONG_STR_SIZE: usize = 21;

/// Where the decoder is inside the command at the front of the buffer. The front of
/// `buf` is always the first byte of the part named here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Between commands; the next byte decides inline or multibulk.
    #[default]
    Start,
    /// Waiting for the `\n` that ends an inline line.
    Inline,
    /// Waiting for the `*<n>\r?` count line.
    Count,
    /// Waiting for a `$<len>\r?` argument header.
    BulkHeader,
    /// Waiting for `len` payload bytes plus the two bytes Redis skips after them.
    Payload(usize),
}

/// What one step of the state machine achieved.
enum Progress {
    /// Not enough bytes yet.
    Wait,
    /// Made progress (or skipped an empty command); keep going.
    Continue,
    /// A whole command.
    Command(Vec<Bytes>),
}

/// Resumable search for a line end. Bytes before `searched` are known not to hold the
/// target, so a line arriving in many small reads is scanned once in total.
#[derive(Clone, Copy, Debug, Default)]
struct LineScan {
    searched: usize,
    /// A NUL came before the target: like Redis's `strchr`, the line can never end.
    blocked: bool,
}

impl LineScan {
    fn find(&mut self, buf: &[u8], target: u8) -> Option<usize> {
        if self.blocked {
            return None;
        }
        // Only a caller that shrank `buf` between calls gets here with a stale offset;
        // starting over keeps that harmless.
        let from = if self.searched <= buf.len() {
            self.searched
        } else {
            0
        };
        match memchr::memchr2(target, 0, &buf[from..]) {
            Some(i) => {
                let at = from + i;
                self.searched = at;
                if buf[at] == 0 {
                    self.blocked = true;
                    None
                } else {
                    Some(at)
                }
            }
            None => {
                self.searched = buf.len();
                None
            }
        }
    }
}

/// Decodes commands from a read buffer, remembering progress inside a partly
/// received multibulk so that a large request is never re-scanned.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: DecodeLimits,
    state: State,
    scan: LineScan,
    /// Arguments of the partial multibulk, split off `buf` as they completed.
    args: Vec<Bytes>,
    /// Arguments the partial multibulk still announces.
    missing_args: usize,
    /// Wire bytes of the partial multibulk taken off `buf` so far (headers, payloads and
    /// their line ends). The split-off arguments share `buf`'s allocation, so all of it
    /// stays in memory until the command completes.
    pending: usize,
    /// Bytes the current bulk still lacked at the end of the last call.
    needed: Option<usize>,
}

impl Decoder {
    pub fn new(limits: DecodeLimits) -> Self {
        Decoder {
            limits,
            ..Decoder::default()
        }
    }

    /// Takes the next complete command off the front of `buf`.
    /// `Ok(None)`: need more bytes. Empty inline lines and `*0`/`*-1` are skipped.
    /// `authenticated == false` applies Redis's unauthenticated limits (count > 10,
    /// bulk > 16384).
    ///
    /// Arguments of multibulk commands are split off `buf` without copying. The decoder
    /// never reserves space in `buf`; the caller grows it, guided by [`Self::needed`].
    /// After an error the connection is meant to close; calling again with the same
    /// bytes returns the same error.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        self.needed = None;
        loop {
            let progress = match self.state {
                State::Start => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    self.state = if first == b'*' {
                        State::Count
                    } else {
                        State::Inline
                    };
                    self.scan = LineScan::default();
                    Progress::Continue
                }
                State::Inline => self.inline_line(buf)?,
                State::Count => self.count_line(buf, authenticated)?,
                State::BulkHeader => self.bulk_header(buf, authenticated)?,
                State::Payload(len) => self.payload(buf, len),
            };
            match progress {
                Progress::Wait => return Ok(None),
                Progress::Continue => {}
                Progress::Command(args) => return Ok(Some(args)),
            }
        }
    }

    /// Bytes held by the decoder outside `buf` for a partial command: the wire bytes
    /// already taken off `buf` plus one `Bytes` handle per argument slot allocated.
    /// Counted against the query-buffer limit, so a command announcing millions of
    /// empty arguments is stopped there like one with a huge payload.
    pub fn pending_bytes(&self) -> usize {
        self.pending + self.args.capacity() * ARG_SLOT_BYTES
    }

    /// Memory of the arguments of the partial command already split off (CLIENT LIST
    /// `argv-mem`): their payload bytes plus one `Bytes` handle per allocated slot.
    pub fn argv_mem(&self) -> usize {
        self.args.iter().map(Bytes::len).sum::<usize>() + self.args.capacity() * ARG_SLOT_BYTES
    }

    /// How many more bytes the current partial command needs at least, if known
    /// (lets the reader reserve exactly for a big bulk).
    ///
    /// Known only while waiting for a bulk payload: its missing bytes plus the two that
    /// follow it, as of the last `decode` call. A claimed length is not proof the bytes
    /// will come, so a reader should still cap what it reserves ahead of the data.
    pub fn needed(&self) -> Option<usize> {
        self.needed
    }

    fn inline_line(&mut self, buf: &mut BytesMut) -> Result<Progress, ProtocolError> {
        let Some(lf) = self.scan.find(buf, b'\n') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            return Ok(Progress::Wait);
        };
        // Only the one `\r` right before the `\n` belongs to the line end; any other
        // `\r` is left to the splitter, which treats it as a separator.
        let end = if lf > 0 && buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        let args = split_args(&buf[..end]).ok_or(ProtocolError::UnbalancedQuotes)?;
        buf.advance(lf + 1);
        self.state = State::Start;
        if args.is_empty() {
            return Ok(Progress::Continue);
        }
        Ok(Progress::Command(args))
    }

    fn count_line(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Progress, ProtocolError> {
        let Some(cr) = self.line_end(buf, ProtocolError::TooBigMbulkCountString)? else {
            return Ok(Progress::Wait);
        };
        let count = buf
            .get(1..cr)
            .and_then(string2ll)
            .filter(|&n| n <= limit_i64(self.limits.max_multibulk_len))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > UNAUTH_MAX_MULTIBULK_LEN && !authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(cr + 2);
        self.scan = LineScan::default();
        // A non-positive count is a complete, empty request: Redis resets and moves on.
        let Ok(count @ 1..) = usize::try_from(count) else {
            self.state = State::Start;
            return Ok(Progress::Continue);
        };
        self.missing_args = count;
        self.args = Vec::with_capacity(count.min(MAX_ARGS_PREALLOC));
        self.pending = 0;
        self.state = State::BulkHeader;
        Ok(Progress::Continue)
    }

    fn bulk_header(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Progress, ProtocolError> {
        let Some(cr) = self.line_end(buf, ProtocolError::TooBigBulkCountString)? else {
            return Ok(Progress::Wait);
        };
        // Redis looks at the `$` only once the whole header line is in, so a wrong first
        // byte waits for its `\r` like any other header.
        if buf[0] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[0]));
        }
        let len = buf
            .get(1..cr)
            .and_then(string2ll)
            .filter(|&n| n <= limit_i64(self.limits.max_bulk_len))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ProtocolError::InvalidBulkLength)?;
        if len as u64 > UNAUTH_MAX_BULK_LEN as u64 && !authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        buf.advance(cr + 2);
        self.pending += cr + 2;
        self.scan = LineScan::default();
        self.state = State::Payload(len);
        Ok(Progress::Continue)
    }

    fn payload(&mut self, buf: &mut BytesMut, len: usize) -> Progress {
        // Redis skips the two bytes after the payload without checking they are CRLF.
        let frame = len.saturating_add(2);
        if buf.len() < frame {
            self.needed = Some(frame - buf.len());
            return Progress::Wait;
        }
        let arg = buf.split_to(len).freeze();
        buf.advance(2);
        self.pending += frame;
        if self.args.len() == self.args.capacity() {
            // Grow like Redis's argv (double, but never past the announced count), and
            // only as arguments arrive: the count alone reserves nothing beyond
            // MAX_ARGS_PREALLOC.
            let more = self.args.len().max(1).min(self.missing_args);
            self.args.reserve_exact(more);
        }
        self.args.push(arg);
        self.missing_args -= 1;
        if self.missing_args > 0 {
            self.state = State::BulkHeader;
            return Progress::Continue;
        }
        self.state = State::Start;
        self.pending = 0;
        Progress::Command(std::mem::take(&mut self.args))
    }

    /// Finds the `\r` ending a count or header line that starts at the front of `buf`.
    /// `Ok(None)` until the `\r` and one byte after it (any byte) are buffered.
    fn line_end(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.scan.find(buf, b'\r') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(too_big);
            }
            return Ok(None);
        };
        if buf.len() - cr < 2 {
            return Ok(None);
        }
        Ok(Some(cr))
    }
}

/// A `usize` limit as the `long long` Redis compares against.
fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Redis `string2ll`: a strict decimal `long long`. No `+`, no spaces, no leading zeros
/// (so `-0` is rejected while `0` is fine), at most 20 characters.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &d in rest {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    let v = i128::from(v);
    i64::try_from(if negative { -v } else { v }).ok()
}

/// C `isspace` in the "C" locale, which Redis's ctype calls run under.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis `sdssplitargs`, the inline-command tokenizer. `None` means unbalanced quotes.
///
/// Its quirks, all observed on redis-server: blanks between arguments are any `isspace`
/// byte, but an unquoted argument ends only at space, tab, `\r` or `\n` (so `a\vb` is one
/// argument); a quote may open mid-argument (`ab"c d"` is `abc d`); a closing quote must
/// be followed by an `isspace` byte or the end; in double quotes `\xHH` needs two hex
/// digits and otherwise `\x` is just `x`; single quotes only know `\'`.
fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    // The C code runs on a NUL-terminated string. The decoder never hands over a line
    // with a NUL (it cannot end), but cutting there keeps this function exact on its own.
    let line = match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // Reading past the end yields the terminating NUL, as in C.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        while !done {
            let c = at(p);
            if in_double {
                let hex = hex_value(at(p + 2)).zip(hex_value(at(p + 3)));
                match (c, at(p + 1)) {
                    (b'\\', b'x') if hex.is_some() => {
                        let (hi, lo) = hex.expect("guarded by is_some");
                        current.push(hi * 16 + lo);
                        p += 3;
                    }
                    (b'\\', next) if next != 0 => {
                        p += 1;
                        current.push(match next {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    (b'"', next) => {
                        if next != 0 && !is_space(next) {
                            return None;
                        }
                        done = true;
                    }
                    (0, _) => return None,
                    _ => current.push(c),
                }
            } else if in_single {
                match (c, at(p + 1)) {
                    (b'\\', b'\'') => {
                        p += 1;
                        current.push(b'\'');
                    }
                    (b'\'', next) => {
                        if next != 0 && !is_space(next) {
                            return None;
                        }
                        done = true;
                    }
                    (0, _) => return None,
                    _ => current.push(c),
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.push(Bytes::from(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn decoder() -> Decoder {
        Decoder::new(DecodeLimits::default())
    }

    /// Decodes everything in `input` at once, as an authenticated client.
    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut d = decoder();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = d.decode(&mut buf, true)? {
            out.push(cmd);
        }
        Ok(out)
    }

    fn first(input: &[u8], authenticated: bool) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        decoder().decode(&mut BytesMut::from(input), authenticated)
    }

    fn cmd(args: &[&[u8]]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
    }

    #[test]
    fn decode_reads_one_multibulk() {
        let mut buf = BytesMut::from(&b"*2\r\n$7\r\nPUBLISH\r\n$0\r\n\r\n"[..]);
        let got = decoder().decode(&mut buf, true).unwrap();
        assert_eq!(got, Some(cmd(&[b"PUBLISH", b""])));
        assert!(buf.is_empty());
    }

    #[test]
    fn decode_returns_pipelined_commands_one_per_call_in_order() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\nECHO a\r\n*1\r\n$1\r\nb\r\n*1"[..]);
        assert_eq!(d.decode(&mut buf, true).unwrap(), Some(cmd(&[b"PING"])));
        assert_eq!(
            d.decode(&mut buf, true).unwrap(),
            Some(cmd(&[b"ECHO", b"a"]))
        );
        assert_eq!(d.decode(&mut buf, true).unwrap(), Some(cmd(&[b"b"])));
        assert_eq!(d.decode(&mut buf, true).unwrap(), None);
        assert_eq!(&buf[..], b"*1");
    }

    #[test]
    fn decode_waits_for_split_bulk() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n$5\r\nhel"[..]);
        assert_eq!(d.decode(&mut buf, true).unwrap(), None);
        assert_eq!(d.needed(), Some(4));
        // `$3\r\nfoo\r\n` and `$5\r\n` are off the buffer, plus two argument slots.
        assert_eq!(d.pending_bytes(), 9 + 4 + 2 * std::mem::size_of::<Bytes>());
        buf.extend_from_slice(b"lo\r");
        assert_eq!(d.decode(&mut buf, true).unwrap(), None);
        assert_eq!(d.needed(), Some(1));
        buf.extend_from_slice(b"\n");
        assert_eq!(
            d.decode(&mut buf, true).unwrap(),
            Some(cmd(&[b"foo", b"hello"]))
        );
        assert_eq!(d.needed(), None);
        assert_eq!(d.pending_bytes(), 0);
    }

    #[test]
    fn decode_args_share_the_read_buffer() {
        let mut buf = BytesMut::from(&b"*1\r\n$5\r\nhello\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let args = decoder().decode(&mut buf, true).unwrap().unwrap();
        assert_eq!(args[0].as_ptr() as usize, base + 8);
    }

    #[test]
    fn decode_skips_two_bytes_after_payload_without_checking_them() {
        // Observed: `*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n` answers two PONGs.
        let got = decode_all(b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(got, vec![cmd(&[b"PING"]), cmd(&[b"PING"])]);
    }

    #[test]
    fn decode_accepts_any_byte_after_cr_in_count_and_header() {
        assert_eq!(
            decode_all(b"*1\rX$4\r\nPING\r\n").unwrap(),
            vec![cmd(&[b"PING"])]
        );
        assert_eq!(
            decode_all(b"*1\r\n$4\rXPING\r\n").unwrap(),
            vec![cmd(&[b"PING"])]
        );
    }

    #[test]
    fn decode_waits_for_the_byte_after_cr() {
        assert_eq!(first(b"*1\r", true), Ok(None));
        assert_eq!(first(b"*1\r\n$4\r", true), Ok(None));
    }

    #[test]
    fn decode_skips_empty_and_negative_counts() {
        for input in [
            &b"*0\r\nPING\r\n"[..],
            b"*-1\r\nPING\r\n",
            b"*-9223372036854775808\r\nPING\r\n",
        ] {
            assert_eq!(
                decode_all(input).unwrap(),
                vec![cmd(&[b"PING"])],
                "{input:?}"
            );
        }
    }

    #[test]
    fn decode_rejects_counts_that_are_not_strict_integers() {
        for input in [
            &b"*+1\r\n"[..],
            b"*01\r\n",
            b"*-0\r\n",
            b"*\r\n",
            b"*1 \r\n",
            b"* 1\r\n",
            b"*-\r\n",
            b"*1\n$4\r\n",
            b"*-92233720368547758080\r\n",
            b"*9223372036854775808\r\n",
            b"*2147483648\r\n",
        ] {
            assert_eq!(
                first(input, true),
                Err(ProtocolError::InvalidMultibulkLength),
                "{input:?}"
            );
        }
        assert_eq!(first(b"*2147483647\r\n", true), Ok(None));
    }

    #[test]
    fn decode_limits_counts_before_auth() {
        assert_eq!(
            first(b"*11\r\n", false),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        assert_eq!(first(b"*10\r\n", false), Ok(None));
        assert_eq!(first(b"*11\r\n", true), Ok(None));
        // The range check comes first, as in Redis.
        assert_eq!(
            first(b"*2147483648\r\n", false),
            Err(ProtocolError::InvalidMultibulkLength)
        );
    }

    #[test]
    fn decode_limits_bulks_before_auth() {
        assert_eq!(
            first(b"*1\r\n$16385\r\n", false),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
        assert_eq!(first(b"*1\r\n$16384\r\n", false), Ok(None));
        assert_eq!(first(b"*1\r\n$16385\r\n", true), Ok(None));
        assert_eq!(
            first(b"*1\r\n$536870913\r\n", false),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn decode_rejects_bad_bulk_lengths() {
        for input in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$+4\r\n",
            b"*1\r\n$04\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$4 \r\n",
            b"*1\r\n$536870913\r\n",
        ] {
            assert_eq!(
                first(input, true),
                Err(ProtocolError::InvalidBulkLength),
                "{input:?}"
            );
        }
        assert_eq!(first(b"*1\r\n$536870912\r\n", true), Ok(None));
    }

    #[test]
    fn decode_expects_dollar_only_once_the_header_line_is_in() {
        assert_eq!(first(b"*1\r\n:4", true), Ok(None));
        for (input, got) in [
            (&b"*1\r\n:4\r\n"[..], b':'),
            (b"*1\r\n\r\n", b'\r'),
            (b"*1\r\n\n\r\n", b'\n'),
            (b"*1\r\n\xff\r\n", 0xff),
        ] {
            assert_eq!(
                first(input, true),
                Err(ProtocolError::ExpectedDollar(got)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn decode_rejects_lines_longer_than_the_inline_limit() {
        let max = DecodeLimits::default().max_inline_len;
        let cases: [(&[u8], ProtocolError); 3] = [
            (b"", ProtocolError::TooBigInlineRequest),
            (b"*", ProtocolError::TooBigMbulkCountString),
            (b"*1\r\n$", ProtocolError::TooBigBulkCountString),
        ];
        for (prefix, err) in cases {
            let mut d = decoder();
            let mut buf = BytesMut::from(prefix);
            // Inline and count lines measure from the command start, headers from `$`.
            let start = if prefix.len() > 1 { 4 } else { 0 };
            buf.resize(start + max, b'1');
            assert_eq!(d.decode(&mut buf, true), Ok(None), "{err:?}");
            buf.extend_from_slice(b"1");
            assert_eq!(d.decode(&mut buf, true), Err(err));
        }
    }

    #[test]
    fn decode_never_ends_a_line_after_a_nul() {
        let max = DecodeLimits::default().max_inline_len;
        let cases: [(&[u8], ProtocolError); 4] = [
            (b"PING\0\r\n", ProtocolError::TooBigInlineRequest),
            (
                b"*1\0\r\n$4\r\nPING\r\n",
                ProtocolError::TooBigMbulkCountString,
            ),
            (
                b"*1\r\n$4\0\r\nPING\r\n",
                ProtocolError::TooBigBulkCountString,
            ),
            (b"*1\r\n\0\r\n", ProtocolError::TooBigBulkCountString),
        ];
        for (input, err) in cases {
            let mut d = decoder();
            let mut buf = BytesMut::from(input);
            assert_eq!(d.decode(&mut buf, true), Ok(None), "{input:?}");
            buf.resize(max + 5, b'\n');
            assert_eq!(d.decode(&mut buf, true), Err(err), "{input:?}");
        }
    }

    #[test]
    fn decode_accepts_a_long_inline_line_that_arrived_whole() {
        // Redis checks the limit only while no `\n` is buffered; a 70 KB line sent in one
        // write is accepted there too.
        let mut line = b"ECHO ".to_vec();
        line.resize(70_000, b'a');
        line.extend_from_slice(b"\r\n");
        let got = decode_all(&line).unwrap();
        assert_eq!(got[0][1].len(), 70_000 - 5);
    }

    #[test]
    fn decode_resumes_line_search_where_it_stopped() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"SUBSCRIBE a"[..]);
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        assert_eq!(d.scan.searched, buf.len());
        buf.extend_from_slice(b" b\r\n");
        assert_eq!(
            d.decode(&mut buf, true),
            Ok(Some(cmd(&[b"SUBSCRIBE", b"a", b"b"])))
        );
    }

    #[test]
    fn decode_does_not_preallocate_for_claimed_sizes() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"*1000000000\r\n$500000000\r\nab"[..]);
        let capacity = buf.capacity();
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        assert!(d.args.capacity() <= MAX_ARGS_PREALLOC);
        assert!(buf.capacity() <= capacity);
        assert_eq!(d.needed(), Some(500_000_000));
    }

    #[test]
    fn pending_bytes_charges_empty_arguments() {
        // Issue 11: `*2000000000` then empty arguments used to count as 0 pending bytes.
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"*2000000000\r\n"[..]);
        for _ in 0..10_000 {
            buf.extend_from_slice(b"$0\r\n\r\n");
        }
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        assert!(buf.is_empty());
        let per_arg = b"$0\r\n\r\n".len() + std::mem::size_of::<Bytes>();
        assert!(
            d.pending_bytes() >= 10_000 * per_arg,
            "{}",
            d.pending_bytes()
        );
        // Reserved as the arguments came, not for the two billion announced.
        assert!(d.args.capacity() <= 2 * 10_000);
        assert_eq!(
            d.argv_mem(),
            d.args.capacity() * std::mem::size_of::<Bytes>()
        );
    }

    #[test]
    fn argument_vector_never_grows_past_the_announced_count() {
        let mut input = b"*1025\r\n".to_vec();
        for _ in 0..1025 {
            input.extend_from_slice(b"$1\r\nx\r\n");
        }
        let mut d = decoder();
        let mut buf = BytesMut::from(&input[..]);
        let args = d.decode(&mut buf, true).unwrap().unwrap();
        assert_eq!(args.len(), 1025);
        assert_eq!(args.capacity(), 1025);
        assert_eq!(d.pending_bytes(), 0);
    }

    #[test]
    fn decode_survives_a_caller_shrinking_the_buffer() {
        let mut d = decoder();
        let mut buf = BytesMut::from(&b"*1\r\n$4"[..]);
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        buf.clear();
        assert_eq!(d.decode(&mut buf, true), Ok(None));
        buf.extend_from_slice(b"$1\r\nx\r\n");
        assert_eq!(d.decode(&mut buf, true), Ok(Some(cmd(&[b"x"]))));
    }

    #[test]
    fn decode_inline_accepts_bare_lf_and_strips_one_cr() {
        assert_eq!(
            decode_all(b"ECHO a\nPING\n").unwrap(),
            vec![cmd(&[b"ECHO", b"a"]), cmd(&[b"PING"])]
        );
        assert_eq!(
            decode_all(b"ECHO a\r\r\n").unwrap(),
            vec![cmd(&[b"ECHO", b"a"])]
        );
    }

    #[test]
    fn decode_inline_skips_blank_lines() {
        assert_eq!(
            decode_all(b"\r\n\n  \t \r\n\x0b\x0c\nPING\r\n").unwrap(),
            vec![cmd(&[b"PING"])]
        );
    }

    #[test]
    fn inline_split_matches_redis() {
        // Each row was sent to redis-server 7.0.15 as `ECHO <input>` or as the line.
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"subscribe foo bar", &[b"subscribe", b"foo", b"bar"]),
            (b"  a\t\tb  ", &[b"a", b"b"]),
            (br#""a\x41\n\t\"b""#, &[b"aA\n\t\"b"]),
            (br#""\xZZ""#, &[b"xZZ"]),
            (br#""\x4""#, &[b"x4"]),
            (br#""\q\\""#, &[b"q\\"]),
            (br#""\r\b\a""#, &[b"\r\x08\x07"]),
            (br"'it\'s \n'", &[b"it's \\n"]),
            (br#"ab"c d""#, &[b"abc d"]),
            (b"a'b c'", &[b"ab c"]),
            (br#""""#, &[b""]),
            (b"''", &[b""]),
            (b"a\x0bb", &[b"a\x0bb"]),
            (b"\x0bab", &[b"ab"]),
            (b"a\rb", &[b"a", b"b"]),
            (b"\"a\"\tb", &[b"a", b"b"]),
            (b"\"a\"\x0b", &[b"a"]),
            (b"\xff\xfe", &[b"\xff\xfe"]),
            (b"", &[]),
        ];
        for (line, want) in cases {
            assert_eq!(split_args(line), Some(cmd(want)), "{line:?}");
        }
    }

    #[test]
    fn inline_split_rejects_unbalanced_quotes() {
        for line in [
            &br#""a"b"#[..],
            b"'a'b",
            br#""abc"#,
            b"'abc",
            br#""ab\""#,
            br"'ab\'",
            br#"x"y"z"#,
        ] {
            assert_eq!(split_args(line), None, "{line:?}");
        }
        assert_eq!(
            first(b"ECHO \"a\"b\r\n", true),
            Err(ProtocolError::UnbalancedQuotes)
        );
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"00",
            b"-0",
            b"01",
            b"1a",
            b" 1",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    /// Frames covering every state, each with its expected commands.
    fn sample_frames() -> Vec<(Vec<u8>, Vec<Vec<Bytes>>)> {
        vec![
            (
                b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n".to_vec(),
                vec![cmd(&[b"PUBLISH", b"ch", b"hello"])],
            ),
            (
                b"*0\r\n\r\nsubscribe \"a b\" c\r\n*1\r\n$0\r\n\r\n".to_vec(),
                vec![cmd(&[b"subscribe", b"a b", b"c"]), cmd(&[b""])],
            ),
            (
                b"*2\r\n$4\r\nECHO\r\n$12\r\nline\r\nbreaks\r\n\nPING\n".to_vec(),
                vec![cmd(&[b"ECHO", b"line\r\nbreaks"]), cmd(&[b"PING"])],
            ),
            (b"*1\rx$3\ry\0\r\nXY".to_vec(), vec![cmd(&[b"\0\r\n"])]),
        ]
    }

    fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<Vec<Bytes>> {
        let mut d = decoder();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&input.len())) {
            buf.extend_from_slice(&input[from..to]);
            from = to;
            while let Some(c) = d.decode(&mut buf, true).unwrap() {
                out.push(c);
            }
        }
        assert!(buf.is_empty());
        out
    }

    #[test]
    fn decode_is_identical_at_every_split_point() {
        for (input, want) in sample_frames() {
            for cut in 0..=input.len() {
                assert_eq!(decode_in_pieces(&input, &[cut]), want, "cut at {cut}");
            }
            for a in 0..=input.len() {
                for b in a..=input.len() {
                    assert_eq!(decode_in_pieces(&input, &[a, b]), want, "cuts {a} {b}");
                }
            }
        }
    }

    #[test]
    fn decode_is_identical_when_fed_byte_by_byte() {
        for (input, want) in sample_frames() {
            let cuts: Vec<usize> = (1..input.len()).collect();
            assert_eq!(decode_in_pieces(&input, &cuts), want);
        }
    }

    /// A random valid request and the command it must decode to (`None`: skipped).
    fn random_frame(rng: &mut Rng) -> (Vec<u8>, Option<Vec<Bytes>>) {
        if rng.below(4) == 0 {
            let words: Vec<Vec<u8>> = (0..rng.below(4))
                .map(|_| {
                    (0..1 + rng.below(6))
                        .map(|_| b"abcxyz019-_.:"[rng.below(13)])
                        .collect()
                })
                .collect();
            let mut line = words.join(&b" "[..]);
            line.extend_from_slice(if rng.below(2) == 0 { b"\r\n" } else { b"\n" });
            let args: Vec<Bytes> = words.into_iter().map(Bytes::from).collect();
            return (line, (!args.is_empty()).then_some(args));
        }
        let n = rng.below(6);
        let mut frame = format!("*{n}\r\n").into_bytes();
        let mut args = Vec::new();
        for _ in 0..n {
            let len = if rng.below(8) == 0 {
                rng.below(3000)
            } else {
                rng.below(20)
            };
            let arg: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            frame.extend_from_slice(format!("${len}\r\n").as_bytes());
            frame.extend_from_slice(&arg);
            frame.extend_from_slice(b"\r\n");
            args.push(Bytes::from(arg));
        }
        (frame, (n > 0).then_some(args))
    }

    #[test]
    fn fuzz_valid_frames_round_trip_under_random_splits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200 {
            let mut input = Vec::new();
            let mut want = Vec::new();
            for _ in 0..1 + rng.below(8) {
                let (frame, args) = random_frame(&mut rng);
                input.extend_from_slice(&frame);
                want.extend(args);
            }
            let mut cuts: Vec<usize> = (0..rng.below(10))
                .map(|_| rng.below(input.len() + 1))
                .collect();
            cuts.sort_unstable();
            assert_eq!(decode_in_pieces(&input, &cuts), want);
        }
    }

    #[test]
    fn fuzz_random_and_mutated_bytes_never_panic() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let limits = DecodeLimits {
            max_bulk_len: 4096,
            max_multibulk_len: 1000,
            max_inline_len: 64,
        };
        let alphabet = b"*$\r\n\0 \"'\\x0123456789-+aF";
        for round in 0..2000 {
            let mut input = if round % 2 == 0 {
                (0..rng.below(200))
                    .map(|_| {
                        if rng.below(2) == 0 {
                            alphabet[rng.below(alphabet.len())]
                        } else {
                            rng.next() as u8
                        }
                    })
                    .collect()
            } else {
                random_frame(&mut rng).0
            };
            for _ in 0..rng.below(4) {
                if !input.is_empty() {
                    let i = rng.below(input.len());
                    input[i] = alphabet[rng.below(alphabet.len())];
                }
            }
            let mut d = Decoder::new(limits);
            let mut buf = BytesMut::new();
            let authenticated = rng.below(2) == 0;
            for chunk in input.chunks(1 + rng.below(16)) {
                buf.extend_from_slice(chunk);
                while let Ok(Some(_)) = d.decode(&mut buf, authenticated) {}
            }
        }
    }
}
