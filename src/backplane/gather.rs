//! Cluster-wide PUBSUB by scatter-gather, and who the other nodes are.
//!
//! Presence: every node announces its id on `x.hello` each second, and answers a hello
//! from a node it did not know with its own at once, so two nodes know each other
//! within one round trip of the second starting. A node counts as live for 3 seconds
//! after its last hello.
//!
//! A request goes out on `x.req` with the reply subject `x.inbox.<node>.<id>`; the link
//! task holds one wildcard subscription to this node's inbox (no per-request SUB, so no
//! race between a fresh SUB reaching other NATS servers and the answers) and routes an
//! answer to the waiting request by id. The request ends when as many answers as live
//! peers came, or at `backplane-request-timeout`, with what came.
//!
//! The asking connection waits inside `block_in_place`: its worker thread hands its
//! other tasks to the rest of the runtime, so only this client waits, as for a
//! blocking Redis command. On a single-threaded runtime (tests driving the library in
//! process) nothing is asked and the local answer stands.
//!
//! Wire format (both ways): one kind byte, then items, each a u32 big-endian length
//! and its bytes. Requests carry the arguments; answers carry the node id first, then
//! names (CHANNELS, SHARDCHANNELS, NUMPAT: pattern names) or 8-byte big-endian counts
//! (NUMSUB, SHARDNUMSUB), in argument order.

use super::subject::Subjects;
use super::Stats;
use crate::registry::{Namespace, Registry};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a node counts as live after its last hello.
pub(super) const PEER_TTL: Duration = Duration::from_secs(3);
/// How often a node says hello.
pub(super) const HELLO_EVERY: Duration = Duration::from_secs(1);

/// A cluster-wide PUBSUB question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// CHANNELS / SHARDCHANNELS with an optional glob.
    Channels(Namespace, Option<Bytes>),
    /// NUMSUB / SHARDNUMSUB of these names.
    NumSub(Namespace, Vec<Bytes>),
    /// NUMPAT: the distinct pattern names, so patterns held on several nodes count once.
    Patterns,
    /// What PUBLISH/SPUBLISH of each name would count on a node (exact subscribers and
    /// matching patterns' subscribers): `backplane-publish-count cluster`.
    Receivers(Namespace, Vec<Bytes>),
}

/// One node's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Names(Vec<Bytes>),
    Counts(Vec<u64>),
}

fn put_item(b: &mut BytesMut, item: &[u8]) {
    b.put_u32(item.len() as u32);
    b.put_slice(item);
}

fn items(mut b: Bytes) -> Option<Vec<Bytes>> {
    let mut v = Vec::new();
    while b.has_remaining() {
        if b.remaining() < 4 {
            return None;
        }
        let n = b.get_u32() as usize;
        if b.remaining() < n {
            return None;
        }
        v.push(b.split_to(n));
    }
    Some(v)
}

fn kind(q: &Query) -> u8 {
    match q {
        Query::Channels(Namespace::Channel, _) => b'C',
        Query::Channels(Namespace::Shard, _) => b'S',
        Query::NumSub(Namespace::Channel, _) => b'N',
        Query::NumSub(Namespace::Shard, _) => b'H',
        Query::Patterns => b'P',
        Query::Receivers(Namespace::Channel, _) => b'R',
        Query::Receivers(Namespace::Shard, _) => b'T',
    }
}

impl Query {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(kind(self));
        match self {
            Query::Channels(_, Some(p)) => put_item(&mut b, p),
            Query::Channels(_, None) | Query::Patterns => {}
            Query::NumSub(_, names) | Query::Receivers(_, names) => {
                names.iter().for_each(|n| put_item(&mut b, n))
            }
        }
        b.freeze()
    }

    pub fn decode(mut b: Bytes) -> Option<Query> {
        if b.is_empty() {
            return None;
        }
        let k = b.get_u8();
        let mut args = items(b)?;
        Some(match k {
            b'C' | b'S' if args.len() <= 1 => {
                let ns = if k == b'C' {
                    Namespace::Channel
                } else {
                    Namespace::Shard
                };
                Query::Channels(ns, args.pop())
            }
            b'N' => Query::NumSub(Namespace::Channel, args),
            b'H' => Query::NumSub(Namespace::Shard, args),
            b'P' if args.is_empty() => Query::Patterns,
            b'R' => Query::Receivers(Namespace::Channel, args),
            b'T' => Query::Receivers(Namespace::Shard, args),
            _ => return None,
        })
    }

    /// This node's answer, from its registry.
    pub fn answer(&self, registry: &Registry) -> Answer {
        match self {
            Query::Channels(ns, p) => Answer::Names(registry.channel_names(*ns, p.as_deref())),
            Query::NumSub(ns, names) => Answer::Counts(
                names
                    .iter()
                    .map(|n| registry.subscriber_count(*ns, n) as u64)
                    .collect(),
            ),
            Query::Patterns => Answer::Names(registry.pattern_names()),
            Query::Receivers(ns, names) => Answer::Counts(
                names
                    .iter()
                    .map(|n| registry.receiver_count(*ns, n) as u64)
                    .collect(),
            ),
        }
    }
}

impl Answer {
    pub fn encode(&self, node: &str) -> Bytes {
        let mut b = BytesMut::new();
        put_item(&mut b, node.as_bytes());
        match self {
            Answer::Names(v) => {
                b.put_u8(b'n');
                v.iter().for_each(|n| put_item(&mut b, n));
            }
            Answer::Counts(v) => {
                b.put_u8(b'c');
                v.iter().for_each(|n| put_item(&mut b, &n.to_be_bytes()));
            }
        }
        b.freeze()
    }

    /// The answering node's id and its answer.
    pub fn decode(mut b: Bytes) -> Option<(Bytes, Answer)> {
        if b.remaining() < 4 {
            return None;
        }
        let n = b.get_u32() as usize;
        if b.remaining() < n + 1 {
            return None;
        }
        let node = b.split_to(n);
        let k = b.get_u8();
        let v = items(b)?;
        let a = match k {
            b'n' => Answer::Names(v),
            b'c' => Answer::Counts(
                v.iter()
                    .map(|x| <[u8; 8]>::try_from(&x[..]).ok().map(u64::from_be_bytes))
                    .collect::<Option<Vec<u64>>>()?,
            ),
            _ => return None,
        };
        Some((node, a))
    }
}

/// Peers and requests in flight.
#[derive(Debug)]
pub(super) struct Gather {
    node: String,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, mpsc::Sender<Bytes>>>,
    peers: Mutex<HashMap<Bytes, Instant>>,
}

impl Gather {
    pub(super) fn new(node: &str) -> Self {
        Gather {
            node: node.to_string(),
            next: AtomicU64::new(1),
            pending: Mutex::default(),
            peers: Mutex::default(),
        }
    }

    /// Notes a hello; true if the node was not known (or had expired).
    pub(super) fn saw(&self, node: Bytes) -> bool {
        if node == self.node.as_bytes() {
            return false;
        }
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers.retain(|_, t| now.duration_since(*t) < PEER_TTL);
        peers.insert(node, now).is_none()
    }

    /// A node said goodbye (it is shutting down).
    pub(super) fn forget(&self, node: &[u8]) {
        self.peers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(node);
    }

    pub(super) fn live_peers(&self) -> usize {
        let now = Instant::now();
        self.peers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| now.duration_since(**t) < PEER_TTL)
            .count()
    }

    /// Routes an answer that arrived on `<inbox>.<id>`.
    pub(super) fn route(&self, id: &str, payload: Bytes) {
        let Ok(id) = id.parse::<u64>() else { return };
        if let Some(tx) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            let _ = tx.try_send(payload);
        }
    }

    /// Asks the live peers from a connection's (synchronous) command: see the module
    /// comment for why `block_in_place`.
    pub(super) fn ask(
        &self,
        client: &async_nats::Client,
        subjects: &Subjects,
        query: &Query,
        timeout_ms: u64,
        stats: &Stats,
    ) -> Vec<Answer> {
        if self.live_peers() == 0 {
            return Vec::new();
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Vec::new();
        };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Vec::new();
        }
        tokio::task::block_in_place(|| {
            handle.block_on(self.ask_async(client, subjects, query, timeout_ms, stats))
        })
    }

    /// Asks the live peers and collects their answers until all answered or
    /// `timeout_ms` passed.
    pub(super) async fn ask_async(
        &self,
        client: &async_nats::Client,
        subjects: &Subjects,
        query: &Query,
        timeout_ms: u64,
        stats: &Stats,
    ) -> Vec<Answer> {
        let expected = self.live_peers();
        if expected == 0 {
            return Vec::new();
        }
        stats.requests.fetch_add(1, Relaxed);
        let id = self.next.fetch_add(1, Relaxed);
        // Room for every live peer plus some that started since: extra answers wait.
        let (tx, mut rx) = mpsc::channel(expected + 16);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let reply = format!("{}.{id}", subjects.inbox(&self.node));
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        let sent = tokio::time::timeout_at(
            deadline,
            client.publish_with_reply(subjects.requests(), reply, query.encode()),
        )
        .await;
        let mut got: HashMap<Bytes, Answer> = HashMap::new();
        if matches!(sent, Ok(Ok(()))) {
            while got.len() < expected {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(payload)) => {
                        if let Some((node, a)) = Answer::decode(payload) {
                            got.insert(node, a);
                        }
                    }
                    _ => break,
                }
            }
        }
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if got.len() < expected {
            stats.requests_partial.fetch_add(1, Relaxed);
        }
        got.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn queries_round_trip() {
        for q in [
            Query::Channels(Namespace::Channel, None),
            Query::Channels(Namespace::Shard, Some(b(b"a*\x00"))),
            Query::NumSub(Namespace::Channel, vec![b(b""), b(b"x.y"), b(b"x.y")]),
            Query::NumSub(Namespace::Shard, vec![]),
            Query::Patterns,
            Query::Receivers(Namespace::Channel, vec![b(b"a"), b(b"")]),
            Query::Receivers(Namespace::Shard, vec![b(b"s")]),
        ] {
            assert_eq!(Query::decode(q.encode()), Some(q));
        }
    }

    #[test]
    fn answers_round_trip() {
        for a in [
            Answer::Names(vec![b(b""), b(b"\xff\r\n")]),
            Answer::Counts(vec![0, 7, u64::MAX]),
            Answer::Names(vec![]),
        ] {
            assert_eq!(Answer::decode(a.encode("n1")), Some((b(b"n1"), a)));
        }
    }

    #[test]
    fn truncated_or_unknown_input_is_refused() {
        assert_eq!(Query::decode(Bytes::new()), None);
        assert_eq!(Query::decode(b(b"Z")), None);
        assert_eq!(Query::decode(b(b"N\x00\x00\x00\x05ab")), None);
        assert_eq!(
            Query::decode(b(b"C\x00\x00\x00\x01a\x00\x00\x00\x01b")),
            None
        );
        assert_eq!(
            Answer::decode(b(b"\x00\x00\x00\x02n1c\x00\x00\x00\x03abc")),
            None
        );
        assert_eq!(Answer::decode(b(b"\x00\x00")), None);
    }

    #[test]
    fn own_hello_is_not_a_peer() {
        let g = Gather::new("me");
        assert!(!g.saw(b(b"me")));
        assert!(g.saw(b(b"you")));
        assert!(!g.saw(b(b"you")));
        assert_eq!(g.live_peers(), 1);
    }
}
