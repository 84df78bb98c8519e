//! Channel names as NATS subjects, reversibly.
//!
//! A Redis channel is any bytes; a NATS subject is dot-separated tokens of printable,
//! non-space characters where `*` and `>` tokens are wildcards. Every channel becomes
//! exactly one token, so the firehose `<prefix>.c.*` matches every channel and nothing
//! in a name can act as a separator or wildcard:
//!
//! - `A-Z a-z 0-9 - _` stay as they are;
//! - every other byte (including `.`, `*`, `>`, `%`, space, non-ASCII) is `%HH`,
//!   upper-case hex;
//! - the empty channel (legal in Redis) is the lone token `%`, which no other name
//!   produces because an escape is always three characters.
//!
//! Subjects: `respub.<cluster>.c.<token>` (channels), `respub.<cluster>.s.<token>`
//! (shard channels, a separate namespace as in Redis), and control subjects under
//! `respub.<cluster>.x.` that no channel token can collide with.

use crate::registry::Namespace;
use bytes::Bytes;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Appends the token for `channel` to `out`.
pub fn encode_into(channel: &[u8], out: &mut String) {
    if channel.is_empty() {
        out.push('%');
        return;
    }
    for &b in channel {
        if plain(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

fn unhex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The channel a token encodes; `None` for anything `encode_into` cannot produce.
pub fn decode(token: &str) -> Option<Bytes> {
    let t = token.as_bytes();
    if t == b"%" {
        return Some(Bytes::new());
    }
    if t.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        if plain(b) {
            out.push(b);
            i += 1;
        } else if b == b'%' && i + 2 < t.len() {
            let v = unhex(t[i + 1])? << 4 | unhex(t[i + 2])?;
            // Only the canonical form: a plain byte written as an escape is not ours.
            if plain(v) {
                return None;
            }
            out.push(v);
            i += 3;
        } else {
            return None;
        }
    }
    Some(Bytes::from(out))
}

/// Subjects of one respub cluster (`backplane-cluster-name`).
#[derive(Debug, Clone)]
pub struct Subjects {
    /// `respub.<cluster>.`
    prefix: String,
}

impl Subjects {
    pub fn new(cluster: &str) -> Self {
        Subjects {
            prefix: format!("respub.{cluster}."),
        }
    }

    /// The subject of `channel` in `ns`.
    pub fn channel(&self, ns: Namespace, channel: &[u8]) -> String {
        let mut s = String::with_capacity(self.prefix.len() + 2 + channel.len() + 8);
        s.push_str(&self.prefix);
        s.push_str(match ns {
            Namespace::Channel => "c.",
            Namespace::Shard => "s.",
        });
        encode_into(channel, &mut s);
        s
    }

    /// Every channel (not shard channel) subject: what a node with patterns takes.
    pub fn firehose(&self) -> String {
        format!("{}c.*", self.prefix)
    }

    /// The channel of a subject from the firehose.
    pub fn channel_of(&self, subject: &str) -> Option<Bytes> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix("c.")?;
        decode(rest)
    }

    /// Cluster-wide PUBSUB requests.
    pub fn requests(&self) -> String {
        format!("{}x.req", self.prefix)
    }

    /// Node presence announcements (who should answer a request).
    pub fn presence(&self) -> String {
        format!("{}x.hello", self.prefix)
    }

    /// Where answers to this node's requests go (`<inbox>.<id>`).
    pub fn inbox(&self, node: &str) -> String {
        format!("{}x.inbox.{node}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_as_one_token() {
        let all: Vec<u8> = (0..=255u8).collect();
        let cases: Vec<&[u8]> = vec![
            b"",
            b"news",
            b"news.sports",
            b"*",
            b">",
            b"a b",
            b"%",
            b"%41",
            b"..",
            &all,
            b"\x00\xff\r\n",
        ];
        for c in cases {
            let mut t = String::new();
            encode_into(c, &mut t);
            assert!(!t.is_empty());
            assert!(!t.contains('.'), "{t}");
            assert!(!t.contains(' ') && t != "*" && t != ">", "{t}");
            assert!(t.bytes().all(|b| b.is_ascii_graphic()), "{t}");
            assert_eq!(decode(&t).as_deref(), Some(c), "{t}");
        }
    }

    #[test]
    fn encoding_is_injective_on_tricky_names() {
        let mut seen = std::collections::HashMap::new();
        for c in [&b"%"[..], b"%25", b"", b"_", b"-", b"%2", b"a.b", b"a%2Eb"] {
            let mut t = String::new();
            encode_into(c, &mut t);
            assert!(seen.insert(t.clone(), c).is_none(), "{t} twice");
        }
    }

    #[test]
    fn decode_refuses_what_encode_never_writes() {
        for t in ["", "%4", "%zz", "a.b", "%41", "%2e", "a b", "%%"] {
            assert_eq!(decode(t), None, "{t}");
        }
    }

    #[test]
    fn namespaces_and_clusters_stay_apart() {
        let a = Subjects::new("a");
        let b = Subjects::new("b");
        assert_ne!(
            a.channel(Namespace::Channel, b"x"),
            a.channel(Namespace::Shard, b"x")
        );
        assert_ne!(
            a.channel(Namespace::Channel, b"x"),
            b.channel(Namespace::Channel, b"x")
        );
        let s = a.channel(Namespace::Channel, b"news.*");
        assert_eq!(s, "respub.a.c.news%2E%2A");
        assert_eq!(a.channel_of(&s).as_deref(), Some(&b"news.*"[..]));
        assert_eq!(a.channel_of(&a.channel(Namespace::Shard, b"x")), None);
    }
}
