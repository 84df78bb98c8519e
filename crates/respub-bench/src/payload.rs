//! The message payload: publisher id, sequence number and send timestamp in a fixed
//! 16-byte header (so the cost curves can start at 16-byte payloads), padded to the scenario's payload size. Subscribers decode it to check
//! loss, per-publisher order and end-to-end latency.

use std::sync::OnceLock;
use std::time::Instant;

/// Bytes used by the header; payloads are never smaller than this.
pub(crate) const HEADER_LEN: usize = 16;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since a process-wide epoch. Publishers and subscribers live in the same
/// process, so these stamps are directly comparable.
pub(crate) fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Starts the epoch clock; call once early so the first stamps are small.
pub(crate) fn init_clock() {
    let _ = now_ns();
}

/// A decoded payload header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) publisher: u32,
    pub(crate) seq: u64,
    pub(crate) sent_ns: u64,
}

/// Writes a padded payload of `size` bytes (at least `HEADER_LEN`) into `out`.
pub(crate) fn write(out: &mut bytes::BytesMut, size: usize, header: Header) {
    let start = out.len();
    out.extend_from_slice(&header.publisher.to_le_bytes());
    // 32 bits on the wire: a bounded run publishes far fewer than 4 billion per publisher.
    let seq = u32::try_from(header.seq).expect("fewer than 2^32 messages per publisher");
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&header.sent_ns.to_le_bytes());
    out.resize(start + size.max(HEADER_LEN), b'.');
}

/// Decodes the header; `None` if the payload is too short to be one of ours.
pub(crate) fn read(payload: &[u8]) -> Option<Header> {
    if payload.len() < HEADER_LEN {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(payload[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(payload[i..i + 8].try_into().expect("8 bytes"));
    Some(Header {
        publisher: u32_at(0),
        seq: u64::from(u32_at(4)),
        sent_ns: u64_at(8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_is_padded() {
        let h = Header {
            publisher: 3,
            seq: (1 << 32) - 1,
            sent_ns: 12345,
        };
        let mut out = bytes::BytesMut::from(&b"x"[..]);
        write(&mut out, 64, h);
        assert_eq!(out.len(), 65);
        assert_eq!(read(&out[1..]), Some(h));
        assert!(out[1 + HEADER_LEN..].iter().all(|&b| b == b'.'));
    }

    #[test]
    fn short_payload_is_rejected() {
        assert_eq!(read(b"too short"), None);
    }
}
