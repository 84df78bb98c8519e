//! The wire formats a delivery can leave in, and the JSON encoding browsers get
//! (issue 12). RESP encoding lives in `crate::resp::encode`; this module only knows how
//! to turn a channel name and a payload into the JSON text of the browser protocol.
//!
//! A JSON message is `{"type":"message","channel":"c","data":"text"}`; when the payload
//! is not valid UTF-8 it is `{"type":"message","channel":"c","data":"<base64>",
//! "encoding":"base64"}` (standard alphabet, padded). Channel and pattern names are
//! always JSON strings: a name that is not UTF-8 (only a pattern can deliver one to a
//! browser, which itself can only send Unicode names) has each bad sequence replaced by
//! U+FFFD.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

/// How an outbox encodes what it queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wire {
    /// RESP2/RESP3 frames, back to back (TCP, TLS, Unix socket clients).
    #[default]
    Resp,
    /// One JSON object per line, each ended by `\n` (WebSocket and SSE clients; the
    /// transport frames each line). JSON text never holds a raw newline, so `\n` is an
    /// unambiguous separator.
    Json,
}

/// Appends `s` as a JSON string (quotes included), lossy for invalid UTF-8.
pub fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u8(b'"');
    for chunk in s.utf8_chunks() {
        put_escaped(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
    out.put_u8(b'"');
}

fn put_escaped(out: &mut BytesMut, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.put_u8(HEX[(b >> 4) as usize]);
            out.put_u8(HEX[(b & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The tail of a message object shared by every JSON subscriber of one publish:
/// `"channel":"c","data":"..."}` (with `"encoding":"base64"` for binary payloads).
pub fn message_tail(channel: &[u8], payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(channel.len() + payload.len() + payload.len() / 8 + 40);
    out.extend_from_slice(b"\"channel\":");
    put_str(&mut out, channel);
    out.extend_from_slice(b",\"data\":");
    match std::str::from_utf8(payload) {
        Ok(text) => {
            out.put_u8(b'"');
            put_escaped(&mut out, text);
            out.put_u8(b'"');
        }
        Err(_) => {
            out.put_u8(b'"');
            let engine = base64::engine::general_purpose::STANDARD;
            let start = out.len();
            out.resize(
                start + base64::encoded_len(payload.len(), true).unwrap_or(0),
                0,
            );
            let n = engine
                .encode_slice(payload, &mut out[start..])
                .expect("buffer sized by encoded_len");
            out.truncate(start + n);
            out.extend_from_slice(b"\",\"encoding\":\"base64\"");
        }
    }
    out.put_u8(b'}');
    out.freeze()
}

/// The head of a message object before the shared tail: `{"type":"<kind>",` and, for
/// a pattern, `"pattern":"p",`. Built once per pattern (the registry keeps it).
pub fn message_head(kind: &str, pattern: Option<&[u8]>) -> Bytes {
    let mut out = BytesMut::with_capacity(32 + pattern.map_or(0, <[u8]>::len));
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",");
    if let Some(p) = pattern {
        out.extend_from_slice(b"\"pattern\":");
        put_str(&mut out, p);
        out.put_u8(b',');
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(head: &Bytes, tail: &Bytes) -> serde_json::Value {
        serde_json::from_slice(&[&head[..], &tail[..]].concat()).expect("valid JSON")
    }

    #[test]
    fn text_payloads_are_json_strings() {
        let v = full(
            &message_head("message", None),
            &message_tail(b"news", "a \"q\"\n\\ \u{1} é".as_bytes()),
        );
        assert_eq!(v["type"], "message");
        assert_eq!(v["channel"], "news");
        assert_eq!(v["data"], "a \"q\"\n\\ \u{1} é");
        assert!(v.get("encoding").is_none());
    }

    #[test]
    fn binary_payloads_are_base64_with_a_flag() {
        let v = full(
            &message_head("pmessage", Some(b"n*")),
            &message_tail(b"n1", &[0xff, 0, 1]),
        );
        assert_eq!(v["pattern"], "n*");
        assert_eq!(v["data"], "/wAB");
        assert_eq!(v["encoding"], "base64");
    }

    #[test]
    fn invalid_utf8_names_are_replaced_not_dropped() {
        let mut out = BytesMut::new();
        put_str(&mut out, b"a\xffb");
        assert_eq!(&out[..], "\"a\u{FFFD}b\"".as_bytes());
    }

    #[test]
    fn encoded_json_never_holds_a_raw_newline() {
        let tail = message_tail(b"c\nd", b"x\ny\r\n");
        assert!(!tail.contains(&b'\n'));
    }
}
