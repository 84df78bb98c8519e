//! The bench's RESP: commands are encoded by the respub library's encoder (one RESP encoder
//! in the project), and replies are parsed here, because the library decodes requests, not
//! replies. The parser knows the shapes a pub/sub load generator meets: scalars, flat
//! arrays/pushes of scalars (`message`, `pmessage`, `subscribe` frames, RESP2 or RESP3),
//! and aggregates it only needs to step over (the map `HELLO 3` answers with).

use bytes::BytesMut;
use respub::resp::encode::{put_bulk, put_bulk_header};
use respub::resp::{Encoder, Proto};

/// Appends `*N $len arg ...` to `out`.
pub(crate) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    Encoder::new(out, Proto::Resp2).array(args.len());
    for arg in args {
        put_bulk(out, arg);
    }
}

/// Appends `PUBLISH channel` and the header of a `payload_len`-byte bulk string; the caller
/// appends the payload and its CRLF.
pub(crate) fn encode_publish_head(out: &mut BytesMut, channel: &[u8], payload_len: usize) {
    Encoder::new(out, Proto::Resp2).array(3);
    put_bulk(out, b"PUBLISH");
    put_bulk(out, channel);
    put_bulk_header(out, payload_len);
}

/// One scalar element of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Nil,
    /// A nested aggregate (or a top-level map or set) the bench steps over unread.
    Aggregate,
}

/// Largest flat array the parser accepts; `pmessage` has 4 elements.
pub(crate) const MAX_ITEMS: usize = 4;

/// A complete reply: a scalar or a flat array (RESP2 `*`, RESP3 push `>`) of scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    Scalar(Item<'a>),
    Array {
        len: usize,
        items: [Item<'a>; MAX_ITEMS],
    },
}

impl<'a> Frame<'a> {
    /// The elements of an array frame (empty for scalars).
    pub(crate) fn items(&self) -> &[Item<'a>] {
        match self {
            Frame::Scalar(_) => &[],
            Frame::Array { len, items } => &items[..*len],
        }
    }
}

/// Why a reply cannot be parsed; the connection is unusable afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) &'static str);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RESP parse error: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// Parses one frame from the start of `buf`. `Ok(None)` means "not enough bytes yet";
/// otherwise returns the frame and how many bytes it used.
pub(crate) fn parse_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, ParseError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first == b'%' || first == b'~' {
        return Ok(skip_aggregate(buf, 0, 0)?.map(|next| (Frame::Scalar(Item::Aggregate), next)));
    }
    if first == b'*' || first == b'>' {
        let Some((n, mut pos)) = parse_line_int(buf, 1)? else {
            return Ok(None);
        };
        if n < 0 {
            return Ok(Some((Frame::Scalar(Item::Nil), pos)));
        }
        let n = n as usize;
        if n > MAX_ITEMS {
            return Err(ParseError("array longer than the bench expects"));
        }
        let mut items = [Item::Nil; MAX_ITEMS];
        for slot in items.iter_mut().take(n) {
            match parse_item(buf, pos)? {
                None => return Ok(None),
                Some((item, next)) => {
                    *slot = item;
                    pos = next;
                }
            }
        }
        return Ok(Some((Frame::Array { len: n, items }, pos)));
    }
    Ok(parse_item(buf, 0)?.map(|(item, next)| (Frame::Scalar(item), next)))
}

/// Deepest aggregate nesting the parser steps over (HELLO 3's map holds an array).
const MAX_DEPTH: usize = 8;

/// Steps over the aggregate whose type byte is at `pos`: `*`/`>`/`~` hold N elements, `%`
/// holds N key/value pairs. Returns the index after it, or `None` when incomplete.
fn skip_aggregate(buf: &[u8], pos: usize, depth: usize) -> Result<Option<usize>, ParseError> {
    if depth > MAX_DEPTH {
        return Err(ParseError(
            "aggregates nested deeper than the bench expects",
        ));
    }
    let Some((n, mut at)) = parse_line_int(buf, pos + 1)? else {
        return Ok(None);
    };
    let elements = if buf[pos] == b'%' {
        n.max(0) * 2
    } else {
        n.max(0)
    };
    for _ in 0..elements {
        let next = match buf.get(at) {
            None => return Ok(None),
            Some(b'*' | b'>' | b'~' | b'%') => skip_aggregate(buf, at, depth + 1)?,
            Some(_) => parse_item(buf, at)?.map(|(_, next)| next),
        };
        let Some(next) = next else {
            return Ok(None);
        };
        at = next;
    }
    Ok(Some(at))
}

fn parse_item(buf: &[u8], pos: usize) -> Result<Option<(Item<'_>, usize)>, ParseError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    match kind {
        b'$' => {
            let Some((len, start)) = parse_line_int(buf, pos + 1)? else {
                return Ok(None);
            };
            if len < 0 {
                return Ok(Some((Item::Nil, start)));
            }
            let end = start + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ParseError("bulk string not terminated by CRLF"));
            }
            Ok(Some((Item::Bulk(&buf[start..end]), end + 2)))
        }
        b':' => Ok(parse_line_int(buf, pos + 1)?.map(|(v, next)| (Item::Int(v), next))),
        b'+' | b'-' => {
            let Some(cr) = memchr::memchr(b'\r', &buf[pos..]) else {
                return Ok(None);
            };
            let end = pos + cr;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            let text = &buf[pos + 1..end];
            let item = if kind == b'+' {
                Item::Simple(text)
            } else {
                Item::Error(text)
            };
            Ok(Some((item, end + 2)))
        }
        b'_' => {
            if buf.len() < pos + 3 {
                return Ok(None);
            }
            Ok(Some((Item::Nil, pos + 3)))
        }
        b'*' | b'>' | b'%' | b'~' => {
            Ok(skip_aggregate(buf, pos, 1)?.map(|next| (Item::Aggregate, next)))
        }
        // RESP3 scalars the bench never inspects: boolean, double, big number.
        b'#' | b',' | b'(' => {
            let Some(cr) = memchr::memchr(b'\r', &buf[pos..]) else {
                return Ok(None);
            };
            let end = pos + cr;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Item::Simple(&buf[pos + 1..end]), end + 2)))
        }
        _ => Err(ParseError("unexpected type byte")),
    }
}

/// Parses `[-]digits\r\n` starting at `pos`; returns the value and the index after CRLF.
fn parse_line_int(buf: &[u8], pos: usize) -> Result<Option<(i64, usize)>, ParseError> {
    let mut i = pos;
    let mut neg = false;
    if buf.get(i) == Some(&b'-') {
        neg = true;
        i += 1;
    }
    let mut v: i64 = 0;
    let mut digits = 0;
    loop {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        match b {
            b'0'..=b'9' => {
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i64::from(b - b'0')))
                    .ok_or(ParseError("integer overflow"))?;
                digits += 1;
                i += 1;
            }
            b'\r' => {
                let Some(&lf) = buf.get(i + 1) else {
                    return Ok(None);
                };
                if lf != b'\n' || digits == 0 {
                    return Err(ParseError("malformed integer line"));
                }
                return Ok(Some((if neg { -v } else { v }, i + 2)));
            }
            _ => return Err(ParseError("non-digit in integer line")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_publish_is_array_of_bulks() {
        let mut out = BytesMut::new();
        encode_command(&mut out, &[b"PUBLISH", b"ch", b"hello"]);
        assert_eq!(
            &out[..],
            b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        );
        let mut head = BytesMut::new();
        encode_publish_head(&mut head, b"ch", 5);
        head.extend_from_slice(b"hello\r\n");
        assert_eq!(head, out);
    }

    #[test]
    fn parse_message_frame_and_length() {
        let buf = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\na\r\n\r\n:1\r\n";
        let (frame, used) = parse_frame(buf).unwrap().unwrap();
        assert_eq!(used, buf.len() - 4);
        assert_eq!(
            frame.items(),
            &[
                Item::Bulk(b"message"),
                Item::Bulk(b"ch"),
                Item::Bulk(b"a\r\n")
            ]
        );
        let (frame, used) = parse_frame(&buf[used..]).unwrap().unwrap();
        assert_eq!(frame, Frame::Scalar(Item::Int(1)));
        assert_eq!(used, 4);
    }

    #[test]
    fn parse_waits_for_every_split_point() {
        let buf = b"*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nx\r\n";
        for cut in 0..buf.len() {
            assert_eq!(parse_frame(&buf[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse_frame(buf).unwrap().is_some());
    }

    #[test]
    fn parse_scalars_and_nulls() {
        assert_eq!(
            parse_frame(b"+PONG\r\n").unwrap().unwrap().0,
            Frame::Scalar(Item::Simple(b"PONG"))
        );
        assert_eq!(
            parse_frame(b"-ERR x\r\n").unwrap().unwrap().0,
            Frame::Scalar(Item::Error(b"ERR x"))
        );
        let (frame, _) = parse_frame(b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(frame.items()[1], Item::Nil);
        assert_eq!(frame.items()[2], Item::Int(0));
    }

    #[test]
    fn parse_steps_over_the_hello_3_map_at_every_split_point() {
        let buf = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n\
$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n+OK\r\n";
        let map_len = buf.len() - 5;
        for cut in 0..map_len {
            assert_eq!(parse_frame(&buf[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (frame, used) = parse_frame(buf).unwrap().unwrap();
        assert_eq!((frame, used), (Frame::Scalar(Item::Aggregate), map_len));
        let push = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n";
        let (frame, _) = parse_frame(push).unwrap().unwrap();
        assert_eq!(frame.items()[0], Item::Bulk(b"message"));
        let deep = b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
        assert!(parse_frame(deep).is_err());
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse_frame(b"?\r\n").is_err());
        assert!(parse_frame(b"$3\r\nabcX\r\n").is_err());
    }
}
