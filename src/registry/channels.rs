//! A sharded table channel -> subscribers. Used twice: once for channels, once for shard
//! channels (a separate namespace, as in Redis).
//!
//! Locking: each shard is a `RwLock<HashMap>`. Publish takes one shard's read lock,
//! pushes into each subscriber's outbox (a short mutex each) and releases it; nothing
//! here is held across `.await`. Subscribe/unsubscribe take the write lock of the one
//! shard that owns the channel. Lock order is always shard -> outbox, never the reverse.
//! A channel with no subscribers left is removed at once, so PUBSUB CHANNELS shrinks
//! immediately, as in Redis.

use crate::conn::outbox::{Body, Limits, Outbox};
use bytes::Bytes;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

type Hasher = ahash::RandomState;

/// Subscribers of one channel, keyed by client id.
pub type Subscribers = IndexMap<u64, Arc<Outbox>, Hasher>;

const SHARDS: usize = 64;

#[derive(Debug)]
pub struct ChannelTable {
    shards: Box<[RwLock<HashMap<Bytes, Subscribers, Hasher>>]>,
    hasher: Hasher,
    /// Channels with at least one subscriber (INFO pubsub_channels).
    count: AtomicUsize,
}

impl Default for ChannelTable {
    fn default() -> Self {
        ChannelTable {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: Hasher::new(),
            count: AtomicUsize::new(0),
        }
    }
}

impl ChannelTable {
    fn shard_of(&self, channel: &[u8]) -> usize {
        (self.hasher.hash_one(channel) as usize) % SHARDS
    }

    fn read(&self, i: usize) -> RwLockReadGuard<'_, HashMap<Bytes, Subscribers, Hasher>> {
        self.shards[i].read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, i: usize) -> RwLockWriteGuard<'_, HashMap<Bytes, Subscribers, Hasher>> {
        self.shards[i].write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `sub` to each channel (the caller only passes channels it is not on yet).
    pub fn subscribe(&self, channels: &[Bytes], sub: &Arc<Outbox>) {
        for ch in channels {
            let mut shard = self.write(self.shard_of(ch));
            let subs = shard.entry(ch.clone()).or_insert_with(|| {
                self.count.fetch_add(1, Relaxed);
                Subscribers::default()
            });
            subs.insert(sub.id(), sub.clone());
        }
    }

    /// Removes client `id` from each channel.
    pub fn unsubscribe<'a>(&self, channels: impl IntoIterator<Item = &'a Bytes>, id: u64) {
        for ch in channels {
            let mut shard = self.write(self.shard_of(ch));
            if let Some(subs) = shard.get_mut(&ch[..]) {
                subs.swap_remove(&id);
                if subs.is_empty() {
                    shard.remove(&ch[..]);
                    self.count.fetch_sub(1, Relaxed);
                    if shard.capacity() > 64 && shard.len() * 4 < shard.capacity() {
                        shard.shrink_to_fit();
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
        header: &[u8],
        body: impl FnOnce() -> Body,
        limits: &Limits,
    ) -> usize {
        let shard = self.read(self.shard_of(channel));
        match shard.get(channel) {
            Some(subs) => {
                let body = body();
                for sub in subs.values() {
                    sub.try_push_delivery(header, &body, limits);
                }
                subs.len()
            }
            None => 0,
        }
    }

    pub fn subscriber_count(&self, channel: &[u8]) -> usize {
        self.read(self.shard_of(channel))
            .get(channel)
            .map_or(0, |s| s.len())
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
            out.extend(self.read(i).keys().filter(|k| keep(k)).cloned());
        }
        out
    }
}
