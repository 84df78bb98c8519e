//! Who is subscribed to what, and publish.
//!
//! Three namespaces as in Redis: channels (sharded table), patterns (one index of
//! distinct patterns, looked up by literal prefix/suffix), and shard channels (a second
//! sharded table that patterns never see). The registry stores subscribers' outboxes
//! and pushes opaque pre-encoded bytes into them; it never builds a reply.
//!
//! Publish encodes the message body (`$len channel $len payload`) once; each subscriber
//! gets a fixed header (`*3 $7 message`, or a pattern's cached `*4 $8 pmessage $n pat`)
//! plus that body, so no per-subscriber encoding happens.

pub mod channels;
pub mod patterns;
pub mod subscribers;

pub use channels::ChannelTable;
pub use patterns::PatternIndex;

use crate::conn::outbox::{Body, Delivery, Limits, Outbox, Source};
use crate::resp::encode::put_bulk;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use subscribers::Subscribers;

const MESSAGE_HEADER: Bytes = Bytes::from_static(b"*3\r\n$7\r\nmessage\r\n");
const SMESSAGE_HEADER: Bytes = Bytes::from_static(b"*3\r\n$8\r\nsmessage\r\n");

/// Subscribers of one pattern plus the pattern's pre-encoded `pmessage` headers (RESP,
/// and the JSON object head for browsers: `conn::outbox`, one encoding per wire format).
#[derive(Debug)]
pub struct PatternEntry {
    header: Bytes,
    json_header: Bytes,
    subs: Subscribers,
}

#[derive(Debug, Default)]
pub struct Registry {
    channels: ChannelTable,
    shard_channels: ChannelTable,
    patterns: RwLock<PatternIndex<PatternEntry>>,
    /// Distinct patterns; lets publish skip the pattern lock when there are none.
    pattern_count: AtomicUsize,
    /// Deliveries a subscriber's outbox refused (admin /metrics).
    pub drops: Drops,
    /// Told when a channel gains its first or loses its last subscriber, and when the
    /// pattern index becomes empty or non-empty (the NATS backplane's interest, issue 10).
    watch: std::sync::OnceLock<Arc<dyn InterestWatch>>,
}

/// Observer of interest changes. Called under the registry lock that made the change,
/// so the calls for one channel come in the order the changes were made; it must only
/// note the change (no I/O, no registry calls).
pub trait InterestWatch: Send + Sync + std::fmt::Debug {
    /// `channel` of `ns` gained its first subscriber or lost its last one.
    fn channel_changed(&self, ns: Namespace, channel: &Bytes);
    /// The number of distinct patterns went from 0 to 1 or from 1 to 0.
    fn patterns_changed(&self);
}

/// Deliveries that reached no one, by why. Counted only on the (rare) refusal, so a
/// delivery that is queued costs nothing here.
#[derive(Debug, Default)]
pub struct Drops {
    /// The outbox is closed for crossing its output limit (a slow consumer, closed by
    /// this delivery or an earlier one and not yet unsubscribed).
    pub slow_consumer: AtomicU64,
    /// The subscriber is going away for another reason (CLIENT KILL, shutdown).
    pub disconnecting: AtomicU64,
}

impl Drops {
    /// Pushes `d` to each of `subs` (the `fanout` deliveries of one PUBLISH to one
    /// channel or pattern), or records it in the publisher's open batch
    /// (`conn::wake_batch`) under one access to it; counts here what an outbox refused.
    pub(crate) fn push_all<'s>(
        &self,
        subs: impl Iterator<Item = &'s Arc<Outbox>>,
        fanout: usize,
        d: &Delivery<'_>,
        limits: &Limits,
    ) {
        use crate::conn::wake_batch::{defer, defer_run, flush_open, Deferral};
        let mut rest = subs;
        let mut left = fanout;
        while left > 0 {
            let Some((sub, why)) = defer_run(&mut rest, &mut left, d, fanout) else {
                break;
            };
            if why == Deferral::Full {
                flush_open(limits, self);
                if defer(sub, d, fanout) == Deferral::Recorded {
                    continue;
                }
            }
            if !sub.try_push_delivery(d, limits) {
                self.count_refused(sub, 1);
            }
        }
    }

    /// Counts `n` deliveries `sub` refused, by why it is closed.
    pub(crate) fn count_refused(&self, sub: &Outbox, n: u64) {
        let counter = match sub.closed() {
            Some(crate::conn::outbox::CloseReason::OutputLimit) => &self.slow_consumer,
            _ => &self.disconnecting,
        };
        counter.fetch_add(n, Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.slow_consumer.load(Relaxed) + self.disconnecting.load(Relaxed)
    }
}

/// Which of the two channel namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    Channel,
    Shard,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn table(&self, ns: Namespace) -> &ChannelTable {
        match ns {
            Namespace::Channel => &self.channels,
            Namespace::Shard => &self.shard_channels,
        }
    }

    fn patterns_read(&self) -> std::sync::RwLockReadGuard<'_, PatternIndex<PatternEntry>> {
        self.patterns.read().unwrap_or_else(|p| p.into_inner())
    }

    fn patterns_write(&self) -> std::sync::RwLockWriteGuard<'_, PatternIndex<PatternEntry>> {
        self.patterns.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs the interest observer (once, before any subscription).
    pub fn set_watch(&self, watch: Arc<dyn InterestWatch>) {
        let _ = self.watch.set(watch);
    }

    pub fn subscribe(&self, ns: Namespace, channels: &[Bytes], sub: &Arc<Outbox>) {
        let watch = self.watch.get();
        self.table(ns).subscribe(channels, sub, |ch| {
            if let Some(w) = watch {
                w.channel_changed(ns, ch);
            }
        });
    }

    pub fn unsubscribe<'a>(
        &self,
        ns: Namespace,
        channels: impl IntoIterator<Item = &'a Bytes>,
        id: u64,
    ) {
        let watch = self.watch.get();
        self.table(ns).unsubscribe(channels, id, |ch| {
            if let Some(w) = watch {
                w.channel_changed(ns, ch);
            }
        });
    }

    /// Tells the watch when the pattern index turned empty or non-empty; called with
    /// the pattern write lock held.
    fn patterns_now(&self, before: usize, after: usize) {
        if (before == 0) != (after == 0) {
            if let Some(w) = self.watch.get() {
                w.patterns_changed();
            }
        }
    }

    pub fn psubscribe(&self, patterns: &[Bytes], sub: &Arc<Outbox>) {
        let mut index = self.patterns_write();
        let before = index.len();
        for p in patterns {
            let entry = index.get_or_insert_with(p.clone(), || {
                let mut header = BytesMut::with_capacity(p.len() + 32);
                header.extend_from_slice(b"*4\r\n$8\r\npmessage\r\n");
                put_bulk(&mut header, p);
                PatternEntry {
                    header: header.freeze(),
                    json_header: crate::conn::wire::message_head("pmessage", Some(p)),
                    subs: Subscribers::default(),
                }
            });
            entry.subs.insert(sub);
        }
        self.pattern_count.store(index.len(), Relaxed);
        self.patterns_now(before, index.len());
    }

    pub fn punsubscribe<'a>(&self, patterns: impl IntoIterator<Item = &'a Bytes>, id: u64) {
        let mut index = self.patterns_write();
        let before = index.len();
        for p in patterns {
            if let Some(entry) = index.get_mut(p) {
                entry.subs.remove(id);
                if entry.subs.is_empty() {
                    index.remove(p);
                }
            }
        }
        self.pattern_count.store(index.len(), Relaxed);
        self.patterns_now(before, index.len());
    }

    /// PUBLISH: delivers to exact subscribers, then to every matching pattern's
    /// subscribers; returns the number of deliveries (Redis's reply).
    pub fn publish(&self, channel: &[u8], message: &Bytes, limits: &Limits) -> usize {
        // The body is encoded on first use: a PUBLISH nobody hears costs no allocation.
        let body = std::cell::OnceCell::new();
        let body = || body.get_or_init(|| Body::new(channel, message)).clone();
        self.publish_exact_with(channel, limits, body)
            + self.publish_patterns_with(channel, limits, body)
    }

    /// The exact-channel half of PUBLISH (a message from another node that arrived
    /// through the node's subscription to this channel's subject).
    pub fn publish_exact(&self, channel: &[u8], message: &Bytes, limits: &Limits) -> usize {
        self.publish_exact_with(channel, limits, || Body::new(channel, message))
    }

    /// The pattern half of PUBLISH (a message from another node that arrived through
    /// the node's channel firehose).
    pub fn publish_patterns(&self, channel: &[u8], message: &Bytes, limits: &Limits) -> usize {
        let body = std::cell::OnceCell::new();
        let body = || body.get_or_init(|| Body::new(channel, message)).clone();
        self.publish_patterns_with(channel, limits, body)
    }

    fn publish_exact_with(
        &self,
        channel: &[u8],
        limits: &Limits,
        body: impl Fn() -> Body,
    ) -> usize {
        self.channels.publish(
            channel,
            Source::Channel,
            &MESSAGE_HEADER,
            body,
            limits,
            &self.drops,
        )
    }

    fn publish_patterns_with(
        &self,
        channel: &[u8],
        limits: &Limits,
        body: impl Fn() -> Body,
    ) -> usize {
        let mut n = 0;
        if self.pattern_count.load(Relaxed) > 0 {
            self.patterns_read()
                .for_each_match(channel, |pattern, entry| {
                    let body = body();
                    let d = Delivery {
                        source: Source::Pattern,
                        key: pattern,
                        header: &entry.header,
                        json_header: &entry.json_header,
                        body: &body,
                    };
                    let subs = &entry.subs;
                    self.drops.push_all(subs.iter(), subs.len(), &d, limits);
                    n += entry.subs.len();
                });
        }
        n
    }

    /// SPUBLISH: shard subscribers of exactly this shard channel.
    pub fn spublish(&self, channel: &[u8], message: &Bytes, limits: &Limits) -> usize {
        let body = || Body::new(channel, message);
        self.shard_channels.publish(
            channel,
            Source::Shard,
            &SMESSAGE_HEADER,
            body,
            limits,
            &self.drops,
        )
    }

    pub fn subscriber_count(&self, ns: Namespace, channel: &[u8]) -> usize {
        self.table(ns).subscriber_count(channel)
    }

    pub fn channel_count(&self, ns: Namespace) -> usize {
        self.table(ns).len()
    }

    /// The `n` channels of `ns` with the most subscribers, most first (ties by name).
    pub fn top_channels(&self, ns: Namespace, n: usize) -> Vec<(Bytes, usize)> {
        if n == 0 {
            return Vec::new();
        }
        // A min-heap of the best n so far: O(channels * log n), n is capped at 1000.
        let mut heap = std::collections::BinaryHeap::new();
        self.table(ns).for_each_count(|channel, count| {
            heap.push(std::cmp::Reverse((count, channel.clone())));
            if heap.len() > n {
                heap.pop();
            }
        });
        let mut v: Vec<(Bytes, usize)> = heap.into_iter().map(|r| (r.0 .1, r.0 .0)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    pub fn pattern_count(&self) -> usize {
        self.pattern_count.load(Relaxed)
    }

    /// What PUBLISH (or SPUBLISH) of `channel` would return here, without delivering:
    /// exact subscribers plus, for channels, each matching pattern's subscribers. Other
    /// nodes ask it for `backplane-publish-count cluster` (issue 10).
    pub fn receiver_count(&self, ns: Namespace, channel: &[u8]) -> usize {
        let mut n = self.table(ns).subscriber_count(channel);
        if ns == Namespace::Channel && self.pattern_count.load(Relaxed) > 0 {
            self.patterns_read()
                .for_each_match(channel, |_, entry| n += entry.subs.len());
        }
        n
    }

    /// The distinct patterns with a subscriber (cluster-wide PUBSUB NUMPAT, issue 10).
    pub fn pattern_names(&self) -> Vec<Bytes> {
        self.patterns_read()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Channel names with a subscriber, optionally filtered by a Redis glob.
    pub fn channel_names(&self, ns: Namespace, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.table(ns).names(|name| match pattern {
            Some(p) => crate::glob::matches(p, name),
            None => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutputLimit;
    use std::collections::VecDeque;

    fn limits() -> Limits {
        let none = OutputLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        Limits::new(none, none)
    }

    fn drain(o: &Outbox) -> Vec<u8> {
        let mut q = VecDeque::new();
        o.take_into(&mut q);
        q.iter().flat_map(|b| b.iter().copied()).collect()
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn publish_counts_channel_and_each_matching_pattern() {
        let reg = Registry::new();
        let l = limits();
        let o = Arc::new(Outbox::new(7));
        reg.subscribe(Namespace::Channel, &[b("news.x")], &o);
        reg.psubscribe(&[b("news.*"), b("*.x"), b("n*"), b("zz*")], &o);
        assert_eq!(reg.publish(b"news.x", &b("hi"), &l), 4);
        let out = drain(&o);
        assert!(out.starts_with(b"*3\r\n$7\r\nmessage\r\n$6\r\nnews.x\r\n$2\r\nhi\r\n"));
        assert_eq!(out.windows(8).filter(|w| w == b"pmessage").count(), 3);
    }

    #[test]
    fn shard_channels_are_their_own_namespace() {
        let reg = Registry::new();
        let l = limits();
        let o = Arc::new(Outbox::new(1));
        reg.subscribe(Namespace::Channel, &[b("c")], &o);
        reg.psubscribe(&[b("*")], &o);
        assert_eq!(reg.spublish(b"c", &b("m"), &l), 0);
        reg.subscribe(Namespace::Shard, &[b("c")], &o);
        drain(&o);
        assert_eq!(reg.spublish(b"c", &b("m"), &l), 1);
        assert_eq!(drain(&o), b"*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
    }

    #[test]
    fn empty_entries_disappear() {
        let reg = Registry::new();
        let o = Arc::new(Outbox::new(1));
        reg.subscribe(Namespace::Channel, &[b("a"), b("b")], &o);
        reg.psubscribe(&[b("p*")], &o);
        assert_eq!(reg.channel_count(Namespace::Channel), 2);
        reg.unsubscribe(Namespace::Channel, &[b("a"), b("b")], 1);
        reg.punsubscribe(&[b("p*")], 1);
        assert_eq!(reg.channel_count(Namespace::Channel), 0);
        assert_eq!(reg.pattern_count(), 0);
        assert!(reg.channel_names(Namespace::Channel, None).is_empty());
    }

    #[derive(Debug, Default)]
    struct Notes(std::sync::Mutex<Vec<String>>);

    impl InterestWatch for Notes {
        fn channel_changed(&self, ns: Namespace, channel: &Bytes) {
            let mut v = self.0.lock().unwrap();
            v.push(format!("{ns:?}:{}", String::from_utf8_lossy(channel)));
        }
        fn patterns_changed(&self) {
            self.0.lock().unwrap().push("patterns".into());
        }
    }

    #[test]
    fn watch_hears_first_and_last_subscriber_only() {
        let reg = Registry::new();
        let notes = Arc::new(Notes::default());
        reg.set_watch(notes.clone());
        let (o1, o2) = (Arc::new(Outbox::new(1)), Arc::new(Outbox::new(2)));
        reg.subscribe(Namespace::Channel, &[b("a")], &o1);
        reg.subscribe(Namespace::Channel, &[b("a")], &o2);
        reg.subscribe(Namespace::Shard, &[b("a")], &o1);
        reg.psubscribe(&[b("p*")], &o1);
        reg.psubscribe(&[b("q*")], &o2);
        reg.unsubscribe(Namespace::Channel, &[b("a")], 1);
        reg.unsubscribe(Namespace::Channel, &[b("a")], 2);
        reg.punsubscribe(&[b("p*")], 1);
        reg.punsubscribe(&[b("q*")], 2);
        assert_eq!(
            *notes.0.lock().unwrap(),
            ["Channel:a", "Shard:a", "patterns", "Channel:a", "patterns"]
        );
    }

    #[test]
    fn exact_and_pattern_halves_add_up_to_publish() {
        let reg = Registry::new();
        let l = limits();
        let o = Arc::new(Outbox::new(7));
        reg.subscribe(Namespace::Channel, &[b("news.x")], &o);
        reg.psubscribe(&[b("news.*"), b("*.x")], &o);
        assert_eq!(reg.receiver_count(Namespace::Channel, b"news.x"), 3);
        assert_eq!(reg.receiver_count(Namespace::Shard, b"news.x"), 0);
        assert_eq!(reg.publish_exact(b"news.x", &b("m"), &l), 1);
        assert_eq!(
            drain(&o),
            b"*3\r\n$7\r\nmessage\r\n$6\r\nnews.x\r\n$1\r\nm\r\n"
        );
        assert_eq!(reg.publish_patterns(b"news.x", &b("m"), &l), 2);
        let out = drain(&o);
        assert_eq!(out.windows(8).filter(|w| w == b"pmessage").count(), 2);
        assert!(!out.windows(8).any(|w| w == b"*3\r\n$7\r\n"));
        let mut names = reg.pattern_names();
        names.sort();
        assert_eq!(names, [b("*.x"), b("news.*")]);
    }
}
