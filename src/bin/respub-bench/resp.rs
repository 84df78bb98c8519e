//! A deliberately tiny RESP2 client codec: encodes commands as arrays of bulk strings and
//! parses the reply shapes a pub/sub load generator meets (scalars, and flat arrays/pushes
//! of scalars such as `message`/`pmessage`/`subscribe` frames). It is self-contained so the
//! bench never depends on the server crate it measures.

/// Appends `*N $len arg ...` to `out`.
pub(crate) fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    push_decimal(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        encode_bulk(out, arg);
    }
}

/// Appends one bulk string.
pub(crate) fn encode_bulk(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'$');
    push_decimal(out, arg.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// One scalar element of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Nil,
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
        b'*' | b'>' | b'%' | b'~' => Err(ParseError("nested aggregate not supported")),
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
        let mut out = Vec::new();
        encode_command(&mut out, &[b"PUBLISH", b"ch", b"hello"]);
        assert_eq!(out, b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n");
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
    fn parse_rejects_garbage() {
        assert!(parse_frame(b"?\r\n").is_err());
        assert!(parse_frame(b"$3\r\nabcX\r\n").is_err());
    }
}
