//! The outbox: one per connection, the only path bytes take to a client's socket.
//!
//! Publishers on any thread push pre-encoded frames into it without waiting (a short
//! mutex, never held across `.await`); the connection task takes what is queued and
//! writes it with vectored writes. The outbox counts queued bytes and applies Redis's
//! `client-output-buffer-limit` on every push: past the hard limit, or past the soft
//! limit for longer than its seconds, the outbox closes itself, drops what it held and
//! wakes its connection, which then goes away. The publisher never notices.
//!
//! Small frames are copied into one contiguous tail buffer (cheaper than a shared
//! refcount bumped from many cores, and one iovec per batch); large payloads are queued
//! as shared `Bytes` so a 1 MiB message fanned out to 1000 subscribers exists once.
//!
//! Corking: while a connection executes a command it corks its outbox, so deliveries
//! that arrive meanwhile (including the client's own PUBLISH to itself) are held and
//! appended after the command's reply. That gives Redis 7.2's ordering for RESP3
//! self-publish and guarantees a subscribe confirmation precedes the channel's messages.

use crate::config::OutputLimit;
use crate::resp::encode::{put_bulk, put_bulk_header};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::task::{Poll, Waker};
use tokio::time::Instant;

/// Frames at most this long are copied into the tail buffer; longer ones are shared.
const COPY_MAX: usize = 16 * 1024;

/// The part of a message frame after its kind header, encoded once per PUBLISH and
/// shared by every subscriber: `$<len>\r\n<channel>\r\n$<len>\r\n<payload>\r\n`.
/// A large payload is not copied: it stays the slice of the publisher's read buffer
/// it arrived in, and subscribers' outboxes share it.
#[derive(Debug, Clone)]
pub struct Body {
    /// Everything, or for a large payload everything before it.
    head: Bytes,
    /// Empty, or the large payload (followed by CRLF on the wire).
    payload: Bytes,
}

impl Body {
    pub fn new(channel: &[u8], message: &Bytes) -> Body {
        let mut head = BytesMut::with_capacity(channel.len() + 32 + message.len().min(COPY_MAX));
        put_bulk(&mut head, channel);
        put_bulk_header(&mut head, message.len());
        if message.len() <= COPY_MAX {
            head.extend_from_slice(message);
            head.extend_from_slice(b"\r\n");
            return Body {
                head: head.freeze(),
                payload: Bytes::new(),
            };
        }
        Body {
            head: head.freeze(),
            payload: message.clone(),
        }
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.head.len()
            + if self.payload.is_empty() {
                0
            } else {
                self.payload.len() + 2
            }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an outbox was closed from outside the connection task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Crossed `client-output-buffer-limit` (hard, or soft for too long).
    OutputLimit,
    /// CLIENT KILL.
    Killed,
    /// Server shutting down.
    Shutdown,
}

/// Byte-bounded queue of encoded frames for one client.
#[derive(Debug)]
pub struct Outbox {
    id: u64,
    inner: Mutex<Inner>,
    /// Bytes queued or taken but not yet written (CLIENT LIST `omem`); mirrors
    /// `Inner::queued` for lock-free reads.
    queued: AtomicU64,
}

#[derive(Debug, Default)]
struct Chunks {
    segments: VecDeque<Bytes>,
    tail: BytesMut,
}

impl Chunks {
    fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.tail.is_empty()
    }

    fn copy(&mut self, header: &[u8], resp3: bool, body: &[u8]) {
        if self.tail.capacity() - self.tail.len() < header.len() + body.len() {
            self.tail.reserve((header.len() + body.len()).max(4096));
        }
        let start = self.tail.len();
        self.tail.extend_from_slice(header);
        if resp3 && !header.is_empty() {
            self.tail[start] = b'>';
        }
        self.tail.extend_from_slice(body);
    }

    fn share(&mut self, bytes: Bytes) {
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
        self.segments.push_back(bytes);
    }

    fn append(&mut self, mut other: Chunks) {
        if other.segments.is_empty() {
            let t = other.tail;
            self.copy(&[], false, &t);
            return;
        }
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
        self.segments.append(&mut other.segments);
        self.tail = other.tail;
    }

    fn take_into(&mut self, out: &mut VecDeque<Bytes>) {
        out.append(&mut self.segments);
        if !self.tail.is_empty() {
            out.push_back(std::mem::take(&mut self.tail).freeze());
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    data: Chunks,
    /// Deliveries that arrived while the connection was corked.
    held: Option<Chunks>,
    queued: u64,
    resp3: bool,
    /// Whether limits for subscribed clients apply (the client has subscriptions).
    pubsub: bool,
    soft_since: Option<Instant>,
    closed: Option<CloseReason>,
    /// The client is closing after its last reply (QUIT, protocol error): Redis
    /// appends nothing more to such a client, so deliveries are dropped.
    sealed: bool,
    waker: Option<Waker>,
    /// The parked connection task wants to hear about new data, not only about closing.
    waker_wants_data: bool,
}

/// What the connection task is woken for.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Data,
    Closed(CloseReason),
}

/// The current limits, read on every push (set by config and CONFIG SET).
#[derive(Debug)]
pub struct Limits {
    pubsub: [AtomicU64; 3],
    normal: [AtomicU64; 3],
}

impl Limits {
    pub fn new(pubsub: OutputLimit, normal: OutputLimit) -> Self {
        let l = Limits {
            pubsub: Default::default(),
            normal: Default::default(),
        };
        l.set(pubsub, normal);
        l
    }

    pub fn set(&self, pubsub: OutputLimit, normal: OutputLimit) {
        for (slot, l) in [(&self.pubsub, pubsub), (&self.normal, normal)] {
            slot[0].store(l.hard, Relaxed);
            slot[1].store(l.soft, Relaxed);
            slot[2].store(l.soft_seconds, Relaxed);
        }
    }

    fn get(&self, pubsub: bool) -> (u64, u64, u64) {
        let s = if pubsub { &self.pubsub } else { &self.normal };
        (s[0].load(Relaxed), s[1].load(Relaxed), s[2].load(Relaxed))
    }
}

impl Outbox {
    pub fn new(id: u64) -> Self {
        Outbox {
            id,
            inner: Mutex::new(Inner::default()),
            queued: AtomicU64::new(0),
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock would be a bug in this file; the data is
        // plain bytes and counters, so continuing with it is safe.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> u64 {
        self.queued.load(Relaxed)
    }

    pub fn set_resp3(&self, resp3: bool) {
        self.lock().resp3 = resp3;
    }

    pub fn set_pubsub(&self, pubsub: bool) {
        self.lock().pubsub = pubsub;
    }

    /// Queues one delivery: `header` (a RESP2 array header and kind, first byte turned
    /// into `>` for RESP3 clients) followed by the shared `body`. Never blocks on the
    /// client; returns false if the outbox is (now) closed.
    pub fn try_push_delivery(&self, header: &[u8], body: &Body, limits: &Limits) -> bool {
        let (waker, open);
        {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.sealed {
                return inner.closed.is_none();
            }
            let resp3 = inner.resp3;
            let len = (header.len() + body.len()) as u64;
            let target = match inner.held.as_mut() {
                Some(h) => h,
                None => &mut inner.data,
            };
            target.copy(header, resp3, &body.head);
            if !body.payload.is_empty() {
                target.share(body.payload.clone());
                target.copy(&[], false, b"\r\n");
            }
            inner.queued += len;
            waker = self.after_push(&mut inner, limits);
            open = inner.closed.is_none();
        }
        if let Some(w) = waker {
            w.wake();
        }
        open
    }

    /// Limit check and wake decision after bytes were added; returns a waker to wake
    /// once the lock is released.
    fn after_push(&self, inner: &mut Inner, limits: &Limits) -> Option<Waker> {
        self.queued.store(inner.queued, Relaxed);
        let (hard, soft, soft_secs) = limits.get(inner.pubsub);
        let over_hard = hard > 0 && inner.queued >= hard;
        let mut over_soft = false;
        if soft > 0 && inner.queued >= soft {
            let now = Instant::now();
            match inner.soft_since {
                None => inner.soft_since = Some(now),
                Some(t) => over_soft = now.duration_since(t).as_secs() > soft_secs,
            }
        } else {
            inner.soft_since = None;
        }
        if over_hard || over_soft {
            return self.close_locked(inner, CloseReason::OutputLimit);
        }
        if inner.held.is_none() && inner.waker_wants_data {
            inner.waker_wants_data = false;
            return inner.waker.take();
        }
        None
    }

    /// Re-checks the soft limit without a push (called from the once-a-second cron, as
    /// Redis's clientsCron does). Returns true if it closed the outbox.
    pub fn check_soft_limit(&self, limits: &Limits) -> bool {
        let waker;
        {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.soft_since.is_none() {
                return false;
            }
            let (_, soft, soft_secs) = limits.get(inner.pubsub);
            let expired = inner.soft_since.is_some_and(|t| {
                soft > 0 && inner.queued >= soft && t.elapsed().as_secs() > soft_secs
            });
            if !expired {
                return false;
            }
            waker = self.close_locked(&mut inner, CloseReason::OutputLimit);
        }
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    fn close_locked(&self, inner: &mut Inner, reason: CloseReason) -> Option<Waker> {
        inner.closed = Some(reason);
        inner.data = Chunks::default();
        inner.held = None;
        inner.waker_wants_data = false;
        inner.waker.take()
    }

    /// Closes the outbox from outside (CLIENT KILL, shutdown). Idempotent.
    pub fn close(&self, reason: CloseReason) {
        let waker = {
            let mut inner = self.lock();
            if inner.closed.is_some() {
                return;
            }
            self.close_locked(&mut inner, reason)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn closed(&self) -> Option<CloseReason> {
        self.lock().closed
    }

    /// No more deliveries: the client closes once what is queued is written.
    pub fn seal(&self) {
        self.lock().sealed = true;
    }

    /// Starts holding deliveries back (see the module doc).
    pub fn cork(&self) {
        let mut inner = self.lock();
        if inner.held.is_none() {
            inner.held = Some(Chunks::default());
        }
    }

    /// Appends the connection's own replies, then everything held while corked, and
    /// uncorks. The reply counts against the same limits (Redis counts replies too).
    pub fn uncork_with(&self, reply: &mut BytesMut, limits: &Limits) {
        let waker = {
            let mut inner = self.lock();
            if inner.closed.is_some() {
                reply.clear();
                return;
            }
            let added = reply.len() as u64;
            if !reply.is_empty() {
                if reply.len() > COPY_MAX {
                    inner.data.share(reply.split().freeze());
                } else {
                    inner.data.copy(&[], false, reply);
                    reply.clear();
                }
            }
            if let Some(held) = inner.held.take() {
                if !inner.sealed {
                    inner.data.append(held);
                }
            }
            inner.queued += added;
            self.after_push(&mut inner, limits)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether anything is ready to be taken.
    pub fn has_data(&self) -> bool {
        !self.lock().data.is_empty()
    }

    /// Moves everything ready into `out`; those bytes stay counted until `consumed`.
    pub fn take_into(&self, out: &mut VecDeque<Bytes>) {
        self.lock().data.take_into(out);
    }

    /// `n` bytes reached the socket.
    pub fn consumed(&self, n: u64) {
        let mut inner = self.lock();
        inner.queued = inner.queued.saturating_sub(n);
        self.queued.store(inner.queued, Relaxed);
        if inner.soft_since.is_some() && inner.queued == 0 {
            inner.soft_since = None;
        }
    }

    /// Waits until the outbox is closed, or (if `want_data`) until data is ready.
    pub async fn wait(&self, want_data: bool) -> Event {
        poll_fn(|cx| {
            let mut inner = self.lock();
            if let Some(reason) = inner.closed {
                return Poll::Ready(Event::Closed(reason));
            }
            if want_data && !inner.data.is_empty() {
                return Poll::Ready(Event::Data);
            }
            match &inner.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => inner.waker = Some(cx.waker().clone()),
            }
            inner.waker_wants_data = want_data;
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(hard: u64, soft: u64, secs: u64) -> Limits {
        Limits::new(
            OutputLimit {
                hard,
                soft,
                soft_seconds: secs,
            },
            OutputLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
        )
    }

    /// A body that is exactly `bytes` (no RESP framing), for byte-count tests.
    fn raw(bytes: &[u8]) -> Body {
        Body {
            head: Bytes::copy_from_slice(bytes),
            payload: Bytes::new(),
        }
    }

    fn drain(o: &Outbox) -> Vec<u8> {
        let mut q = VecDeque::new();
        o.take_into(&mut q);
        let v: Vec<u8> = q.iter().flat_map(|b| b.iter().copied()).collect();
        o.consumed(v.len() as u64);
        v
    }

    #[test]
    fn resp3_clients_get_push_headers() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.set_resp3(true);
        o.try_push_delivery(
            b"*3\r\n$7\r\nmessage\r\n",
            &Body::new(b"a", &Bytes::from_static(b"b")),
            &l,
        );
        assert_eq!(drain(&o), b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    #[test]
    fn held_deliveries_follow_the_reply() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.cork();
        o.try_push_delivery(b"M", &raw(b"1"), &l);
        assert!(!o.has_data());
        o.uncork_with(&mut BytesMut::from(&b":1\r\n"[..]), &l);
        assert_eq!(drain(&o), b":1\r\nM1");
    }

    #[test]
    fn a_sealed_outbox_takes_replies_but_no_deliveries() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.cork();
        o.try_push_delivery(b"M", &raw(b"1"), &l);
        o.seal();
        o.uncork_with(&mut BytesMut::from(&b"+OK\r\n"[..]), &l);
        assert!(
            o.try_push_delivery(b"M", &raw(b"2"), &l),
            "still open, just silent"
        );
        assert_eq!(drain(&o), b"+OK\r\n");
    }

    #[test]
    fn large_bodies_are_shared_not_copied() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        let payload = Bytes::from(vec![b'x'; COPY_MAX + 1]);
        let body = Body::new(b"ch", &payload);
        o.try_push_delivery(b"H", &body, &l);
        let mut q = VecDeque::new();
        o.take_into(&mut q);
        assert_eq!(q.len(), 3, "head, shared payload, CRLF");
        assert_eq!(q[1].as_ptr(), payload.as_ptr());
        let wire: Vec<u8> = q.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(wire.len(), 1 + body.len());
        assert!(wire.starts_with(b"H$2\r\nch\r\n$16385\r\nxx"));
        assert!(wire.ends_with(b"xx\r\n"));
    }

    #[test]
    fn hard_limit_closes_and_drops_queue() {
        let o = Outbox::new(1);
        o.set_pubsub(true);
        let l = limits(100, 0, 0);
        assert!(o.try_push_delivery(b"", &raw(&[0u8; 60]), &l));
        assert!(!o.try_push_delivery(b"", &raw(&[0u8; 60]), &l));
        assert_eq!(o.closed(), Some(CloseReason::OutputLimit));
        assert!(!o.has_data());
    }

    #[test]
    fn normal_clients_use_the_normal_class() {
        let o = Outbox::new(1);
        let l = limits(10, 0, 0);
        assert!(o.try_push_delivery(b"", &raw(&[0u8; 60]), &l));
        assert_eq!(o.closed(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn soft_limit_needs_more_than_its_seconds_above_it() {
        let o = Outbox::new(1);
        o.set_pubsub(true);
        let l = limits(0, 10, 2);
        assert!(o.try_push_delivery(b"", &raw(&[0u8; 20]), &l));
        tokio::time::advance(std::time::Duration::from_secs(2)).await;
        assert!(!o.check_soft_limit(&l), "2 s is not more than 2 s");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert!(o.check_soft_limit(&l));
        assert_eq!(o.closed(), Some(CloseReason::OutputLimit));
    }

    #[tokio::test(start_paused = true)]
    async fn draining_resets_the_soft_timer() {
        let o = Outbox::new(1);
        o.set_pubsub(true);
        let l = limits(0, 10, 1);
        o.try_push_delivery(b"", &raw(&[0u8; 20]), &l);
        tokio::time::advance(std::time::Duration::from_secs(5)).await;
        drain(&o);
        assert!(!o.check_soft_limit(&l));
        assert_eq!(o.closed(), None);
    }
}
