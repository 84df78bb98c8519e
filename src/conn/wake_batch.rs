//! A publisher's batch: deliveries and wake-ups deferred to the end of one read batch.
//!
//! Redis appends to every subscriber's buffer while it runs a batch of commands and
//! writes each client once per event-loop turn. Here publishers run on any worker
//! thread, and a subscriber's outbox is a mutex that its own task (on the other worker,
//! often) takes from. Pushed per delivery, every PUBLISH of a pipeline locks every
//! subscriber's outbox once, and the lock's cache line moves between the cores each
//! time: with two pipelining publishers and 100 subscribers on one channel, profiling
//! found a third of the server's CPU time in that one unlock. And woken per delivery, a
//! subscriber wakes, writes one message with its own system call, parks, and is woken
//! again by the next PUBLISH of the same pipeline.
//!
//! While a connection runs the commands of one read (`Conn::after_input`, synchronous,
//! at most `COMMANDS_PER_TURN` commands), a `Batch` is open on the thread:
//!
//! - **Deliveries** to other connections that would lock the same outbox again and
//!   again (`defer` says which) are recorded instead of pushed: each message once (its
//!   body, headers and subscription), and per subscriber the list of messages in
//!   publish order. `Batch::flush` pushes each subscriber's list under one lock of its
//!   outbox (`Outbox::try_push_deliveries`), placing every delivery exactly where a push
//!   would have placed it at that moment. With two pipelining publishers and 100
//!   subscribers on one channel this gave +20-26% deliveries/s and +31-34% per
//!   CPU-second.
//! - **Wake-ups** that those pushes return are collected and woken together when the
//!   batch ends; each subscriber then finds the whole batch queued and writes it with
//!   one vectored write. The outbox hands out a waker once per park, so the list holds
//!   each subscriber at most once.
//!
//! Why deferring deliveries keeps the ordering rules (outbox module comment, and
//! `conn::arrival`):
//! - Who is subscribed is decided at publish time, by the registry, as before; only the
//!   queueing moves. The batch is flushed before the publisher's replies are queued and
//!   before its arrival stamp moves on (`Conn::after_input`), so a client that reads a
//!   PUBLISH reply and then acts finds the delivery queued already.
//! - No subscription can change between a PUBLISH and the flush: SUBSCRIBE, UNSUBSCRIBE,
//!   RESET and EXEC wait for every connection that read earlier (`conn::arrival`), and
//!   the publisher holds its stamp until the flush. So nothing for a channel is queued
//!   after the reply that removed it, and a subscription confirmation still precedes its
//!   channel's first message.
//! - The publishing connection's own outbox is never deferred: while its PUBLISH runs it
//!   is corked (rule 3), so its own deliveries follow its reply, as before.
//! - Per publisher and subscriber, deliveries keep publish order: the list is flushed in
//!   order, and when it would grow past `MAX_DEFERRED` the batch flushes before it
//!   records more (a pipeline of huge fan-out holds bounded memory).
//! - A protocol switch (HELLO) of a subscriber between a PUBLISH and the flush encodes
//!   the delivery in the new protocol: as if the PUBLISH took effect after the HELLO,
//!   which is a valid order for two commands on different connections in flight at
//!   once.
//!
//! Rules that keep the batch itself safe:
//! - A batch never spans an `.await`: it is opened and closed inside one synchronous
//!   call, so the thread-local state cannot move to another task or be forgotten.
//! - Closing an outbox (limit, CLIENT KILL, shutdown) wakes at once.
//! - Outside a batch (a publish from a browser, the backplane, a timer, a test) pushes
//!   and wakes happen at once, as before. Batches do not nest: an inner `begin` returns
//!   `None`.
//! - If the batch ends without a flush (a panic unwinding the connection task), the
//!   recorded deliveries are dropped with it.

use super::outbox::{Body, Delivery, Limits, Outbox, Source};
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::Waker;

/// `State::index` value of an outbox whose first delivery of the batch went out at once.
const NOT_DEFERRED: usize = usize::MAX;

/// Deliveries recorded before a batch flushes on its own (about 1.5 MB of bookkeeping
/// at most; the messages themselves are shared, not copied).
const MAX_DEFERRED: usize = 65_536;

/// One message of the batch, kept once however many subscribers it goes to.
#[derive(Debug)]
struct Msg {
    source: Source,
    key: Bytes,
    header: Bytes,
    json_header: Bytes,
    body: Body,
}

impl Msg {
    fn delivery(&self) -> Delivery<'_> {
        Delivery {
            source: self.source,
            key: &self.key,
            header: &self.header,
            json_header: &self.json_header,
            body: &self.body,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    open: bool,
    /// The publishing connection's client id: its own outbox is never deferred.
    owner: u64,
    wakers: Vec<Waker>,
    msgs: Vec<Msg>,
    /// Which message the last recorded delivery was: (body, header, key) identities.
    last: Option<(usize, usize, usize)>,
    /// Per subscriber, the messages for it in publish order.
    subs: Vec<(Arc<Outbox>, Vec<u32>)>,
    /// Outbox address to its index in `subs`, or `NOT_DEFERRED` while its deliveries of
    /// this batch have all been pushed at once (only the first one so far).
    index: HashMap<usize, usize, ahash::RandomState>,
    deferred: usize,
    /// Emptied lists kept for the next batch.
    spare: Vec<Vec<u32>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// An open batch; wakes everything deferred when dropped. Not `Send`: it belongs to the
/// thread whose state it fills.
#[derive(Debug)]
pub struct Batch {
    _thread_bound: PhantomData<*const ()>,
}

/// Opens a batch on this thread for connection `owner`, or returns `None` if one is
/// already open.
pub fn begin(owner: u64) -> Option<Batch> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.open {
            return None;
        }
        s.open = true;
        s.owner = owner;
        Some(Batch {
            _thread_bound: PhantomData,
        })
    })
}

/// What `defer` did with a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Deferral {
    /// Recorded; `Batch::flush` pushes it.
    Recorded,
    /// No batch is open, or it is the publisher's own outbox: push it now.
    PushNow,
    /// The batch is full: flush it (`flush_open`), then defer again.
    Full,
}

/// Records `d`, one of the `fanout` deliveries of a PUBLISH, for `sub` in the open
/// batch (see `Deferral`).
///
/// Recording pays only for a subscriber that receives several messages in one batch
/// and is shared with others (one channel published again and again), and costs a
/// little for the rest (10,000 channels with one subscriber each, chat rooms whose
/// member gets one message per batch: 6-20% slower when everything was recorded). So:
/// a delivery to an outbox with nothing recorded yet is pushed at once if its PUBLISH
/// has a single subscriber, or if it is the outbox's first of the batch; once an outbox
/// has anything recorded, everything after it for that outbox is recorded too, which
/// keeps the batch in publish order.
pub fn defer(sub: &Arc<Outbox>, d: &Delivery<'_>, fanout: usize) -> Deferral {
    STATE.with(|s| decide(&mut s.borrow_mut(), sub, d, fanout))
}

/// `defer` for each subscriber `subs` yields, under one borrow of the thread's state
/// for the whole run: it stops at the first subscriber whose delivery is not recorded
/// and returns it with the reason, or returns `None` when `subs` is exhausted. `left`
/// counts the subscribers not yet taken from `subs`. One thread-local access per
/// PUBLISH instead of one per delivery (a tenth of the server's CPU on one-channel
/// fan-out, by perf).
pub fn defer_run<'s>(
    subs: &mut impl Iterator<Item = &'s Arc<Outbox>>,
    left: &mut usize,
    d: &Delivery<'_>,
    fanout: usize,
) -> Option<(&'s Arc<Outbox>, Deferral)> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        for sub in subs {
            *left = left.saturating_sub(1);
            match decide(&mut s, sub, d, fanout) {
                Deferral::Recorded => {}
                other => return Some((sub, other)),
            }
        }
        None
    })
}

fn decide(s: &mut State, sub: &Arc<Outbox>, d: &Delivery<'_>, fanout: usize) -> Deferral {
    if !s.open || (fanout < 2 && s.subs.is_empty()) || sub.id() == s.owner {
        return Deferral::PushNow;
    }
    if s.deferred >= MAX_DEFERRED {
        return Deferral::Full;
    }
    let addr = Arc::as_ptr(sub) as usize;
    match s.index.get(&addr) {
        None if fanout < 2 => return Deferral::PushNow,
        None => {
            s.index.insert(addr, NOT_DEFERRED);
            return Deferral::PushNow;
        }
        Some(&NOT_DEFERRED) if fanout < 2 => return Deferral::PushNow,
        Some(_) => {}
    }
    let id = (
        d.body.identity(),
        d.header.as_ptr() as usize,
        d.key.as_ptr() as usize,
    );
    if s.last != Some(id) {
        s.msgs.push(Msg {
            source: d.source,
            key: d.key.clone(),
            header: d.header.clone(),
            json_header: d.json_header.clone(),
            body: d.body.clone(),
        });
        s.last = Some(id);
    }
    let msg = (s.msgs.len() - 1) as u32;
    let State {
        subs, index, spare, ..
    } = s;
    let slot = index.get_mut(&addr).expect("seen above");
    if *slot == NOT_DEFERRED {
        subs.push((sub.clone(), spare.pop().unwrap_or_default()));
        *slot = subs.len() - 1;
    }
    subs[*slot].1.push(msg);
    s.deferred += 1;
    Deferral::Recorded
}

/// Pushes what the open batch (if any) recorded; refusals are counted in `drops`.
pub fn flush_open(limits: &Limits, drops: &crate::registry::Drops) {
    let (mut subs, msgs) = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.index.clear();
        s.last = None;
        s.deferred = 0;
        (std::mem::take(&mut s.subs), std::mem::take(&mut s.msgs))
    });
    if subs.is_empty() {
        return;
    }
    for (outbox, list) in subs.iter_mut() {
        let refused =
            outbox.try_push_deliveries(list.iter().map(|&i| msgs[i as usize].delivery()), limits);
        if refused > 0 {
            drops.count_refused(outbox, refused);
        }
        list.clear();
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        for (_, list) in subs.drain(..) {
            if s.spare.len() < 1024 && list.capacity() <= 1024 {
                s.spare.push(list);
            }
        }
        if s.subs.is_empty() && s.msgs.is_empty() {
            // Keep the allocations for the next batch.
            s.subs = subs;
            let mut msgs = msgs;
            msgs.clear();
            if msgs.capacity() <= MAX_DEFERRED {
                s.msgs = msgs;
            }
        }
    });
}

impl Batch {
    /// Pushes every delivery recorded so far (before the publisher's replies are
    /// queued and its arrival stamp moves on; see the module comment).
    pub fn flush(&self, limits: &Limits, drops: &crate::registry::Drops) {
        flush_open(limits, drops);
    }
}

/// Wakes `w` now, or at the end of the open batch.
pub fn wake(w: Waker) {
    let now = STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.open {
            s.wakers.push(w);
            None
        } else {
            Some(w)
        }
    });
    if let Some(w) = now {
        w.wake();
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let mut wakers = STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.open = false;
            // Only a panic ends a batch without its flush: drop what it recorded.
            s.subs.clear();
            s.msgs.clear();
            s.index.clear();
            s.last = None;
            s.deferred = 0;
            std::mem::take(&mut s.wakers)
        });
        // Woken outside the borrow: a waker may run arbitrary code.
        for w in wakers.drain(..) {
            w.wake();
        }
        // Give the (now empty) allocation back for the next batch, unless a wake opened
        // and filled a new one meanwhile.
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if s.wakers.is_empty() && wakers.capacity() <= 4096 {
                s.wakers = wakers;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn no_limits() -> Limits {
        let none = crate::config::OutputLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        Limits::new(none, none)
    }

    /// What the outbox holds, as text.
    fn queued(o: &Outbox) -> String {
        let mut out = std::collections::VecDeque::new();
        o.take_into(&mut out);
        out.iter().map(|b| String::from_utf8_lossy(b)).collect()
    }

    /// Publishes `msg` on `channel` to `subs` through the batch machinery, as the
    /// registry does.
    fn publish(subs: &[&Arc<Outbox>], channel: &'static [u8], msg: &'static str, l: &Limits) {
        let drops = crate::registry::Drops::default();
        let key = Bytes::from_static(channel);
        let header = Bytes::from_static(b"*3\r\n$7\r\nmessage\r\n");
        let body = Body::new(channel, &Bytes::from_static(msg.as_bytes()));
        let d = Delivery {
            source: Source::Channel,
            key: &key,
            header: &header,
            json_header: Source::Channel.json_header(),
            body: &body,
        };
        drops.push_all(subs.iter().copied(), subs.len(), &d, l);
    }

    #[test]
    fn a_batch_keeps_publish_order_per_subscriber_and_defers_only_repeats() {
        let l = no_limits();
        let (x, y, own) = (
            Arc::new(Outbox::new(10)),
            Arc::new(Outbox::new(11)),
            Arc::new(Outbox::new(1)),
        );
        let batch = begin(1).expect("no batch open");
        // x hears "solo" alone and "room" with y and the publisher itself.
        publish(&[&x], b"solo", "a", &l);
        publish(&[&x, &y, &own], b"room", "b", &l);
        publish(&[&x, &y, &own], b"room", "c", &l);
        publish(&[&x], b"solo", "d", &l);
        // First deliveries went out at once, the publisher's own always does, and the
        // repeats wait for the flush.
        assert_eq!(
            queued(&x),
            "*3\r\n$7\r\nmessage\r\n$4\r\nsolo\r\n$1\r\na\r\n\
             *3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            queued(&own),
            "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nb\r\n\
             *3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nc\r\n"
        );
        batch.flush(&l, &crate::registry::Drops::default());
        // Once x had a recorded delivery, the single-subscriber "d" was recorded too, so
        // it still follows "c".
        assert_eq!(
            queued(&x),
            "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nc\r\n\
             *3\r\n$7\r\nmessage\r\n$4\r\nsolo\r\n$1\r\nd\r\n"
        );
        assert_eq!(
            queued(&y),
            "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nb\r\n\
             *3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nc\r\n"
        );
        drop(batch);
        // Outside a batch everything goes out at once.
        publish(&[&x, &y], b"room", "e", &l);
        publish(&[&x, &y], b"room", "f", &l);
        assert_eq!(
            queued(&x),
            "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\ne\r\n\
             *3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nf\r\n"
        );
    }

    #[test]
    fn a_full_batch_flushes_before_it_records_more() {
        let l = no_limits();
        let (x, y) = (Arc::new(Outbox::new(10)), Arc::new(Outbox::new(11)));
        let batch = begin(1).expect("no batch open");
        for _ in 0..MAX_DEFERRED / 2 + 10 {
            publish(&[&x, &y], b"room", "m", &l);
        }
        let one = "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$1\r\nm\r\n";
        // The first delivery at once, then MAX_DEFERRED recorded and flushed, then one at
        // once again (first after the flush): the rest waits.
        let before_flush = queued(&x).len() / one.len();
        assert_eq!(before_flush, 1 + MAX_DEFERRED / 2 + 1);
        batch.flush(&l, &crate::registry::Drops::default());
        assert_eq!(
            queued(&x).len() / one.len(),
            MAX_DEFERRED / 2 + 10 - before_flush
        );
    }

    #[test]
    fn wakes_at_once_outside_a_batch_and_at_the_end_inside_one() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        wake(Waker::from(c.clone()));
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        {
            let b = begin(1).expect("no batch open");
            assert!(begin(1).is_none(), "batches do not nest");
            wake(Waker::from(c.clone()));
            wake(Waker::from(c.clone()));
            assert_eq!(c.0.load(Ordering::SeqCst), 1, "deferred while open");
            drop(b);
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 3);
        wake(Waker::from(c.clone()));
        assert_eq!(c.0.load(Ordering::SeqCst), 4, "closed batch: at once again");
    }
}
