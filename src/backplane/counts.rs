//! Other nodes' receiver counts, last seen, for `backplane-publish-count cluster`.
//!
//! PUBLISH must not wait for the network, so it adds what it finds here: the sum of
//! what PUBLISH (or SPUBLISH) would have counted on each other node (exact and pattern
//! subscribers), as last asked. A count older
//! than `TTL`, or a channel not known yet, is noted for the link task, which asks the
//! other nodes (one scatter-gather per batch of channels) and stores the answer; until
//! then PUBLISH adds the stale count, or 0. So the reply is the local count exactly plus
//! the remote count as of up to about a second ago, as the option promises.
//!
//! Bound: at most `backplane-count-cache` channels are kept (a full cache drops its
//! oldest entry for a new one) and at most as many wait for a refresh.

use crate::registry::Namespace;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a remote count is used before it is asked again.
pub(super) const TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Space {
    counts: HashMap<Bytes, (u64, Instant)>,
    wanted: HashSet<Bytes>,
}

#[derive(Debug)]
pub(super) struct RemoteCounts {
    capacity: usize,
    spaces: [Mutex<Space>; 2],
    pub(super) wake: Notify,
}

fn index(ns: Namespace) -> usize {
    match ns {
        Namespace::Channel => 0,
        Namespace::Shard => 1,
    }
}

impl RemoteCounts {
    pub(super) fn new(capacity: usize) -> Self {
        RemoteCounts {
            capacity: capacity.max(1),
            spaces: Default::default(),
            wake: Notify::new(),
        }
    }

    fn space(&self, ns: Namespace) -> std::sync::MutexGuard<'_, Space> {
        self.spaces[index(ns)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The count last seen (0 if none); asks for a refresh when it is missing or old.
    pub(super) fn lookup(&self, ns: Namespace, channel: &[u8]) -> u64 {
        let mut s = self.space(ns);
        let (count, fresh) = match s.counts.get(channel) {
            Some(&(n, at)) => (n, at.elapsed() < TTL),
            None => (0, false),
        };
        if !fresh && s.wanted.len() < self.capacity && !s.wanted.contains(channel) {
            s.wanted.insert(Bytes::copy_from_slice(channel));
            drop(s);
            self.wake.notify_one();
        }
        count
    }

    pub(super) fn take_wanted(&self, ns: Namespace) -> Vec<Bytes> {
        self.space(ns).wanted.drain().collect()
    }

    pub(super) fn store(&self, ns: Namespace, channel: Bytes, count: u64) {
        let mut s = self.space(ns);
        if s.counts.len() >= self.capacity && !s.counts.contains_key(&channel) {
            // Full: the oldest goes (a scan, but off the PUBLISH path and bounded).
            let oldest = s
                .counts
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                s.counts.remove(&k);
            }
        }
        s.counts.insert(channel, (count, Instant::now()));
    }

    pub(super) fn len(&self) -> usize {
        self.spaces
            .iter()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).counts.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_counts_are_zero_and_asked_for_once() {
        let c = RemoteCounts::new(8);
        assert_eq!(c.lookup(Namespace::Channel, b"a"), 0);
        assert_eq!(c.lookup(Namespace::Channel, b"a"), 0);
        assert_eq!(
            c.take_wanted(Namespace::Channel),
            [Bytes::from_static(b"a")]
        );
        assert!(c.take_wanted(Namespace::Shard).is_empty());
        c.store(Namespace::Channel, Bytes::from_static(b"a"), 3);
        assert_eq!(c.lookup(Namespace::Channel, b"a"), 3);
        assert!(
            c.take_wanted(Namespace::Channel).is_empty(),
            "fresh: not asked"
        );
        assert_eq!(c.lookup(Namespace::Shard, b"a"), 0, "namespaces apart");
    }

    #[test]
    fn a_full_cache_drops_its_oldest() {
        let c = RemoteCounts::new(2);
        for (i, ch) in [&b"a"[..], b"b", b"c"].iter().enumerate() {
            c.store(Namespace::Channel, Bytes::copy_from_slice(ch), i as u64 + 1);
        }
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(Namespace::Channel, b"a"), 0);
        assert_eq!(c.lookup(Namespace::Channel, b"c"), 3);
        for ch in [&b"x"[..], b"y", b"z"] {
            c.lookup(Namespace::Channel, ch);
        }
        assert_eq!(
            c.take_wanted(Namespace::Channel).len(),
            2,
            "wanted is bounded too"
        );
    }
}
