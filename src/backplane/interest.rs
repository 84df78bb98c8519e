//! Which channels this node needs from NATS, and the changes still to apply.
//!
//! The registry calls [`Interest::channel_changed`] under the shard lock that created
//! or emptied a channel, and [`Interest::patterns_changed`] when the pattern index
//! turns empty or non-empty. Both only note a name in a set and wake the link task;
//! they never do I/O, so SUBSCRIBE and UNSUBSCRIBE never wait for NATS.
//!
//! The link task (`link::reconcile`) takes the whole set and, for each name, compares
//! what the registry has *now* (a subscriber or not) with what it holds in NATS,
//! subscribing or unsubscribing to match. Because it re-reads the registry rather than
//! replaying events, the order of notes does not matter: a channel emptied and refilled
//! before the task runs is one name whose NATS subscription simply stays. A note always
//! follows the registry change it reports, so the last reconcile of a name sees its
//! final state.
//!
//! Bound: while NATS is unreachable the task keeps pruning the set of names whose NATS
//! state already matches, so what stays is at most the registry's channels plus the
//! subscriptions held (see `link::reconcile`).

use crate::registry::{InterestWatch, Namespace};
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub(super) struct Interest {
    dirty: Mutex<HashSet<(Namespace, Bytes)>>,
    patterns_dirty: AtomicBool,
    pub(super) wake: Notify,
}

impl Interest {
    /// Takes the names noted since the last call.
    pub(super) fn take(&self) -> HashSet<(Namespace, Bytes)> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts back names a reconcile could not apply yet.
    pub(super) fn put_back(&self, names: impl IntoIterator<Item = (Namespace, Bytes)>) {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(names);
    }

    pub(super) fn take_patterns(&self) -> bool {
        self.patterns_dirty.swap(false, Relaxed)
    }

    pub(super) fn pending(&self) -> usize {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Marks the patterns for another look at the next retry tick, without a wake.
    pub(super) fn mark_patterns_later(&self) {
        self.patterns_dirty.store(true, Relaxed);
    }

    /// Marks the patterns for a check now (when the link starts).
    pub(super) fn mark_patterns(&self) {
        self.patterns_dirty.store(true, Relaxed);
        self.wake.notify_one();
    }
}

impl InterestWatch for Interest {
    fn channel_changed(&self, ns: Namespace, channel: &Bytes) {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((ns, channel.clone()));
        self.wake.notify_one();
    }

    fn patterns_changed(&self) {
        self.patterns_dirty.store(true, Relaxed);
        self.wake.notify_one();
    }
}
