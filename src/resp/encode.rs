//! Reply encoding. One `Encoder` writes into a caller's `BytesMut` in the protocol the
//! client negotiated; RESP3-only types degrade to their RESP2 equivalents the way Redis
//! does (map -> flat array, null -> `$-1`, push -> array, verbatim -> bulk, bool -> int).

use bytes::{BufMut, BytesMut};

/// The protocol version a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

impl Proto {
    pub fn version(self) -> i64 {
        match self {
            Proto::Resp2 => 2,
            Proto::Resp3 => 3,
        }
    }
}

/// Appends RESP frames to a buffer.
#[derive(Debug)]
pub struct Encoder<'a> {
    pub buf: &'a mut BytesMut,
    pub proto: Proto,
}

fn put_int_line(buf: &mut BytesMut, prefix: u8, n: i64) {
    if (0..10).contains(&n) {
        // Counts in pub/sub replies are mostly single digits.
        buf.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']);
        return;
    }
    let tmp = itoa_buf(n);
    buf.put_u8(prefix);
    buf.extend_from_slice(tmp.as_bytes());
    buf.extend_from_slice(b"\r\n");
}

/// Small decimal formatter without allocation.
struct IntBuf {
    bytes: [u8; 20],
    start: usize,
}

impl IntBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buf(n: i64) -> IntBuf {
    let mut bytes = [0u8; 20];
    let mut pos = 20;
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        bytes[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        pos -= 1;
        bytes[pos] = b'-';
    }
    IntBuf { bytes, start: pos }
}

/// Encodes a bulk string header `$<len>\r\n` into `buf`.
pub fn put_bulk_header(buf: &mut BytesMut, len: usize) {
    put_int_line(buf, b'$', len as i64);
}

/// Encodes a whole bulk string.
pub fn put_bulk(buf: &mut BytesMut, data: &[u8]) {
    buf.reserve(data.len() + 16);
    put_bulk_header(buf, data.len());
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\r\n");
}

impl<'a> Encoder<'a> {
    pub fn new(buf: &'a mut BytesMut, proto: Proto) -> Self {
        Encoder { buf, proto }
    }

    /// `+text`
    pub fn simple(&mut self, text: &str) {
        self.buf.put_u8(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-text` — `text` must already start with the error code (`ERR ...`).
    /// CR and LF are replaced by spaces, as Redis's addReplyError does.
    pub fn error(&mut self, text: &[u8]) {
        self.buf.put_u8(b'-');
        for &b in text {
            self.buf
                .put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `:n`
    pub fn int(&mut self, n: i64) {
        put_int_line(self.buf, b':', n);
    }

    /// `$len data`
    pub fn bulk(&mut self, data: &[u8]) {
        put_bulk(self.buf, data);
    }

    /// A null: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        put_int_line(self.buf, b'*', len as i64);
    }

    /// A map of `len` pairs; RESP2 sees a flat array of `2*len` elements.
    pub fn map(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => put_int_line(self.buf, b'*', 2 * len as i64),
            Proto::Resp3 => put_int_line(self.buf, b'%', len as i64),
        }
    }

    /// A set; RESP2 sees an array.
    pub fn set(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => put_int_line(self.buf, b'*', len as i64),
            Proto::Resp3 => put_int_line(self.buf, b'~', len as i64),
        }
    }

    /// Out-of-band push frame header; RESP2 sees an array.
    pub fn push(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => put_int_line(self.buf, b'*', len as i64),
            Proto::Resp3 => put_int_line(self.buf, b'>', len as i64),
        }
    }

    /// A double (`,text`); RESP2 sees a bulk string. `text` is already formatted.
    pub fn double(&mut self, text: &str) {
        match self.proto {
            Proto::Resp2 => self.bulk(text.as_bytes()),
            Proto::Resp3 => {
                self.buf.put_u8(b',');
                self.buf.extend_from_slice(text.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Verbatim string (`=len\r\ntxt:...`); RESP2 sees a bulk string.
    pub fn verbatim(&mut self, format: &[u8; 3], data: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(data),
            Proto::Resp3 => {
                put_int_line(self.buf, b'=', (data.len() + 4) as i64);
                self.buf.extend_from_slice(format);
                self.buf.put_u8(b':');
                self.buf.extend_from_slice(data);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Proto, f: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut Encoder::new(&mut buf, proto));
        buf.to_vec()
    }

    #[test]
    fn integers_render_sign_and_extremes() {
        assert_eq!(enc(Proto::Resp2, |e| e.int(0)), b":0\r\n");
        assert_eq!(enc(Proto::Resp2, |e| e.int(-12)), b":-12\r\n");
        assert_eq!(
            enc(Proto::Resp2, |e| e.int(i64::MIN)),
            b":-9223372036854775808\r\n"
        );
    }

    #[test]
    fn resp3_types_degrade_in_resp2() {
        assert_eq!(enc(Proto::Resp2, |e| e.null()), b"$-1\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.null()), b"_\r\n");
        assert_eq!(enc(Proto::Resp2, |e| e.map(2)), b"*4\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.map(2)), b"%2\r\n");
        assert_eq!(enc(Proto::Resp3, |e| e.push(3)), b">3\r\n");
        assert_eq!(
            enc(Proto::Resp2, |e| e.verbatim(b"txt", b"hi")),
            b"$2\r\nhi\r\n"
        );
        assert_eq!(
            enc(Proto::Resp3, |e| e.verbatim(b"txt", b"hi")),
            b"=6\r\ntxt:hi\r\n"
        );
    }

    #[test]
    fn error_text_has_newlines_replaced() {
        assert_eq!(
            enc(Proto::Resp2, |e| e.error(b"ERR a\r\nb")),
            b"-ERR a  b\r\n"
        );
    }
}
