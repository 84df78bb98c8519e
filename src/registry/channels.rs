//! A sharded table channel -> subscribers. Used twice: once for channels, once for shard
//! channels (a separate namespace, as in Redis).
//!
//! Locking: each shard is a `RwLock<HashTable>`. Publish takes one shard's read lock,
//! pushes into each subscriber's outbox (a short mutex each) and releases it; nothing
//! here is held across `.await`. Subscribe/unsubscribe take the write lock of the one
//! shard that owns the channel. Lock order is always shard -> outbox, never the reverse.
//! A channel with no subscribers left is removed at once, so PUBSUB CHANNELS shrinks
//! immediately, as in Redis.
//!
//! A channel name is hashed once per operation: middle bits of the hash pick the shard
//! (hashbrown uses the low bits for the bucket and the top 7 for its control bytes, so
//! those stay well spread inside a shard), and the same hash probes the shard's table.

use super::subscribers::Subscribers;
use crate::conn::outbox::{Body, Delivery, Limits, Outbox, Source};
use bytes::Bytes;
use hashbrown::HashTable;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

const SHARDS: usize = 64;

#[derive(Debug)]
struct Entry {
    channel: Bytes,
    subs: Subscribers,
}

type Shard = HashTable<Entry>;

#[derive(Debug)]
pub struct ChannelTable {
    shards: Box<[RwLock<Shard>]>,
    hasher: ahash::RandomState,
    /// Channels with at least one subscriber (INFO pubsub_channels).
    count: AtomicUsize,
}

impl Default for ChannelTable {
    fn default() -> Self {
        ChannelTable {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: ahash::RandomState::new(),
            count: AtomicUsize::new(0),
        }
    }
}

impl ChannelTable {
    fn hash(&self, channel: &[u8]) -> u64 {
        self.hasher.hash_one(channel)
    }

    fn shard_index(hash: u64) -> usize {
        ((hash >> 32) as usize) % SHARDS
    }

    fn read(&self, hash: u64) -> RwLockReadGuard<'_, Shard> {
        self.read_at(Self::shard_index(hash))
    }

    fn read_at(&self, i: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[i].read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, hash: u64) -> RwLockWriteGuard<'_, Shard> {
        self.shards[Self::shard_index(hash)]
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `sub` to each channel (the caller only passes channels it is not on yet).
    /// `created` is called, under the channel's shard lock, for each channel that had
    /// no subscriber before (the backplane's interest, issue 10).
    pub fn subscribe(
        &self,
        channels: &[Bytes],
        sub: &Arc<Outbox>,
        mut created: impl FnMut(&Bytes),
    ) {
        for ch in channels {
            let h = self.hash(ch);
            let mut shard = self.write(h);
            match shard.find_mut(h, |e| e.channel == ch) {
                Some(entry) => entry.subs.insert(sub),
                None => {
                    let mut subs = Subscribers::default();
                    subs.insert(sub);
                    let entry = Entry {
                        channel: ch.clone(),
                        subs,
                    };
                    shard.insert_unique(h, entry, |e| self.hash(&e.channel));
                    self.count.fetch_add(1, Relaxed);
                    created(ch);
                }
            }
        }
    }

    /// Removes client `id` from each channel. `emptied` is called, under the channel's
    /// shard lock, for each channel whose last subscriber this was.
    pub fn unsubscribe<'a>(
        &self,
        channels: impl IntoIterator<Item = &'a Bytes>,
        id: u64,
        mut emptied: impl FnMut(&Bytes),
    ) {
        for ch in channels {
            let h = self.hash(ch);
            let mut shard = self.write(h);
            if let Ok(mut found) = shard.find_entry(h, |e| e.channel == ch) {
                found.get_mut().subs.remove(id);
                if found.get().subs.is_empty() {
                    found.remove();
                    self.count.fetch_sub(1, Relaxed);
                    emptied(ch);
                    if shard.capacity() > 64 && shard.len() * 4 < shard.capacity() {
                        shard.shrink_to_fit(|e| self.hash(&e.channel));
                    }
                }
            }
        }
    }

    /// Pushes `header` + `body()` to every subscriber of `channel`; returns how many.
    /// `body` is only called when there is a subscriber.
    pub fn publish(
        &self,
        channel: &[u8],
        source: Source,
        header: &Bytes,
        body: impl FnOnce() -> Body,
        limits: &Limits,
        drops: &super::Drops,
    ) -> usize {
        let h = self.hash(channel);
        let shard = self.read(h);
        match shard.find(h, |e| e.channel == channel) {
            Some(entry) => {
                let body = body();
                let d = Delivery {
                    source,
                    key: &entry.channel,
                    header,
                    json_header: source.json_header(),
                    body: &body,
                };
                drops.push_all(entry.subs.iter(), entry.subs.len(), &d, limits);
                entry.subs.len()
            }
            None => 0,
        }
    }

    pub fn subscriber_count(&self, channel: &[u8]) -> usize {
        let h = self.hash(channel);
        self.read(h)
            .find(h, |e| e.channel == channel)
            .map_or(0, |e| e.subs.len())
    }

    pub fn len(&self) -> usize {
        self.count.load(Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every channel name for which `keep` holds.
    pub fn names(&self, mut keep: impl FnMut(&[u8]) -> bool) -> Vec<Bytes> {
        let mut out = Vec::new();
        for i in 0..SHARDS {
            out.extend(
                self.read_at(i)
                    .iter()
                    .filter(|e| keep(&e.channel))
                    .map(|e| e.channel.clone()),
            );
        }
        out
    }

    /// Calls `f(channel, subscribers)` for every channel, one shard read lock at a time
    /// (admin /metrics top-N; a scrape, not a hot path).
    pub fn for_each_count(&self, mut f: impl FnMut(&Bytes, usize)) {
        for i in 0..SHARDS {
            for e in self.read_at(i).iter() {
                f(&e.channel, e.subs.len());
            }
        }
    }
}
