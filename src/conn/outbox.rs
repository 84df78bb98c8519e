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
//! # One encoding per wire format, not per client (issue 12)
//!
//! An outbox has a wire format (`Wire::Resp` for RESP sockets, `Wire::Json` for
//! WebSocket and SSE clients), fixed when the connection starts. A delivery carries both
//! headers (the RESP kind header and the JSON object head, each built once: constants
//! for `message`/`smessage`, cached per pattern for `pmessage`) and one shared `Body`.
//! The body's RESP form is encoded by the publisher up front; its JSON tail
//! (`"channel":..,"data":..}`) is encoded lazily, by the first JSON outbox that receives
//! it, into a `OnceLock` the body's clones share. So a PUBLISH to 10,000 browsers and
//! 10,000 RESP clients encodes the payload twice in all, and a PUBLISH no browser hears
//! never builds JSON. Each JSON outbox then copies (or, past `COPY_MAX`, shares) head +
//! tail + `\n` into its queue; the transport cuts the queue at newlines into WebSocket
//! frames or SSE events.
//!
//! # Ordering rules
//!
//! Redis runs one command at a time, so a client's stream is simply the frames in the
//! order they were produced. Here publishers run on other threads while the client's own
//! command runs, so the outbox decides where a racing delivery goes. Every command that
//! changes subscriptions or the protocol goes through `Outbox::cork` (at its effect
//! point) and `Outbox::finish_command` (when its reply is complete); those two apply:
//!
//! 1. A delivery pushed while the outbox is not corked is queued at once, behind
//!    everything queued before it. The reply of a command is queued when the command
//!    ends, so deliveries pushed before that precede the reply.
//! 2. A command that adds subscriptions (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, also inside
//!    EXEC) corks the outbox right before its first registry insert. From then on
//!    deliveries are held, and `finish_command` queues them after the reply: a
//!    subscribe confirmation always precedes the channel's first message, and
//!    deliveries published before the insert precede the confirmation.
//! 3. A subscribed client's PUBLISH corks before it publishes, so its own deliveries
//!    follow its reply (Redis 7.2+; 7.0 wrote them first).
//! 4. A command that removes subscriptions (UNSUBSCRIBE family, RESET, disconnect)
//!    removes them from the registry before its reply is queued, so every delivery for
//!    a removed subscription was pushed, and queued, before that reply (rule 1). If the
//!    outbox was corked by an earlier command of the same EXEC, held deliveries whose
//!    subscription is gone by the end are discarded: in Redis the whole EXEC is one
//!    step, so no publish could fall between its SUBSCRIBE and its UNSUBSCRIBE.
//!    Nothing for a channel is ever queued after the reply that removed it.
//! 5. A protocol switch (HELLO 2/3, RESET) is a hard boundary: what was queued before
//!    the reply is in the old protocol, the reply follows, and the switch takes effect
//!    under the same lock right after it. Held deliveries are kept unencoded and are
//!    encoded in the protocol in force when they are released.
//! 6. A sealed outbox (QUIT, CLIENT KILL of oneself, protocol error) takes its last
//!    reply and no more deliveries; held ones are dropped.
//! 7. The class of limits (pubsub or normal) follows the client's subscriptions, but a
//!    reply is checked against the class the client had when the command started if
//!    that was pubsub: the confirmations of an UNSUBSCRIBE of a million channels count
//!    as a subscriber's output, as in Redis.
//!
//! Arrival order across connections (a command read earlier on another connection takes
//! effect first) is not the outbox's business: see `conn::arrival`.

pub use super::wire::Wire;
use crate::config::OutputLimit;
use crate::resp::encode::{put_bulk, put_bulk_header};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};
use std::time::Duration;
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
    /// The JSON tail (`crate::conn::wire::message_tail`), built on first use by a JSON
    /// outbox and shared by every clone of this body (see the module comment).
    json: Arc<OnceLock<Bytes>>,
}

impl Body {
    /// Tells bodies apart while they are alive: every `Body::new` allocates its own head,
    /// and clones share it.
    pub(crate) fn identity(&self) -> usize {
        self.head.as_ptr() as usize
    }

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
                json: Arc::default(),
            };
        }
        Body {
            head: head.freeze(),
            payload: message.clone(),
            json: Arc::default(),
        }
    }

    /// The channel and payload back out of the RESP form this body was built in.
    fn parts(&self) -> (&[u8], &[u8]) {
        fn bulk(b: &[u8]) -> Option<(usize, usize)> {
            // `$<len>\r\n`: returns (start of data, len).
            let nl = memchr::memchr(b'\n', b)?;
            let len: usize = std::str::from_utf8(b.get(1..nl.checked_sub(1)?)?)
                .ok()?
                .parse()
                .ok()?;
            Some((nl + 1, len))
        }
        let h = &self.head[..];
        let Some((cs, clen)) = bulk(h) else {
            return (&[], &[]);
        };
        let channel = &h[cs..cs + clen];
        let rest = &h[cs + clen + 2..];
        if !self.payload.is_empty() {
            return (channel, &self.payload);
        }
        match bulk(rest) {
            Some((ps, plen)) => (channel, &rest[ps..ps + plen]),
            None => (channel, &[]),
        }
    }

    /// The JSON tail, encoded once for all JSON subscribers of this publish.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| {
            let (channel, payload) = self.parts();
            super::wire::message_tail(channel, payload)
        })
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

/// Which of a client's subscription sets a delivery came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Channel,
    Pattern,
    Shard,
}

impl Source {
    /// The JSON object head of a delivery through a channel or shard channel. A
    /// pattern's head names the pattern, so the registry builds and keeps one per
    /// pattern; `Pattern` here is never used for a delivery.
    pub fn json_header(self) -> &'static Bytes {
        static MESSAGE: OnceLock<Bytes> = OnceLock::new();
        static SMESSAGE: OnceLock<Bytes> = OnceLock::new();
        match self {
            Source::Channel | Source::Pattern => {
                MESSAGE.get_or_init(|| super::wire::message_head("message", None))
            }
            Source::Shard => SMESSAGE.get_or_init(|| super::wire::message_head("smessage", None)),
        }
    }
}

/// One delivery as the registry hands it over: the kind header (RESP2 form; the first
/// byte becomes `>` for RESP3 clients), the JSON object head for JSON outboxes, the
/// shared body, and the subscription it came through (channel, pattern or shard channel
/// name).
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub source: Source,
    pub key: &'a Bytes,
    pub header: &'a Bytes,
    pub json_header: &'a Bytes,
    pub body: &'a Body,
}

/// Wakes the connection a push returned a waker for: for data, once per batch of the
/// publisher's commands (`wake_batch`); for closing, at once.
fn wake_after_push(waker: Option<Waker>, open: bool) {
    match waker {
        Some(w) if open => super::wake_batch::wake(w),
        Some(w) => w.wake(),
        None => {}
    }
}

/// Bytes one delivery takes in an outbox of format `wire`.
fn wire_len(wire: Wire, header: &Bytes, json_header: &Bytes, body: &Body) -> u64 {
    match wire {
        Wire::Resp => (header.len() + body.len()) as u64,
        Wire::Json => (json_header.len() + body.json().len() + 1) as u64,
    }
}

/// A delivery held while the outbox is corked: kept unencoded (rule 5) and with its
/// subscription (rule 4).
#[derive(Debug)]
struct Held {
    source: Source,
    key: Bytes,
    header: Bytes,
    json_header: Bytes,
    body: Body,
}

/// What a finished command changes besides queueing its reply (`Outbox::finish_command`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    /// The client's protocol after the command (`Some(true)` for RESP3), when it changed.
    pub switch_resp3: Option<bool>,
    /// Whether the client holds subscriptions after the command.
    pub pubsub: bool,
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
    /// Mirrors `Inner::soft_since.is_some()`.
    over_soft: AtomicBool,
}

/// Smallest and largest allocation of the tail buffer. A full tail is never grown (which
/// would copy everything in it, and for big buffers fault in fresh pages every time): it
/// is frozen into `segments` and a new one, twice as large up to `TAIL_MAX`, takes over.
/// `TAIL_MAX` stays below glibc's mmap threshold (128 KiB), so chunks are reused from the
/// heap rather than mapped and unmapped per write.
const TAIL_MIN: usize = 4096;
const TAIL_MAX: usize = 64 * 1024;

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
        let needed = header.len() + body.len();
        if self.tail.capacity() - self.tail.len() < needed {
            let next = (self.tail.capacity() * 2)
                .clamp(TAIL_MIN, TAIL_MAX)
                .max(needed);
            let full = std::mem::replace(&mut self.tail, BytesMut::with_capacity(next));
            if !full.is_empty() {
                self.segments.push_back(full.freeze());
            }
        }
        let start = self.tail.len();
        self.tail.extend_from_slice(header);
        if resp3 && !header.is_empty() {
            self.tail[start] = b'>';
        }
        self.tail.extend_from_slice(body);
    }

    fn delivery(&mut self, header: &[u8], resp3: bool, body: &Body) {
        self.copy(header, resp3, &body.head);
        if !body.payload.is_empty() {
            self.share(body.payload.clone());
            self.copy(&[], false, b"\r\n");
        }
    }

    /// A JSON line: the object head, the shared tail, and the `\n` separator.
    fn json_delivery(&mut self, json_header: &[u8], body: &Body) {
        let tail = body.json();
        if tail.len() > COPY_MAX {
            self.copy(json_header, false, &[]);
            self.share(tail.clone());
            self.copy(&[], false, b"\n");
        } else {
            self.copy(json_header, false, tail);
            self.copy(&[], false, b"\n");
        }
    }

    fn push(&mut self, wire: Wire, resp3: bool, header: &[u8], json_header: &[u8], body: &Body) {
        match wire {
            Wire::Resp => self.delivery(header, resp3, body),
            Wire::Json => self.json_delivery(json_header, body),
        }
    }

    fn share(&mut self, bytes: Bytes) {
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
        self.segments.push_back(bytes);
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
    /// Deliveries that arrived while the connection was corked (rules 2-4).
    held: Option<Vec<Held>>,
    queued: u64,
    resp3: bool,
    wire: Wire,
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
            over_soft: AtomicBool::new(false),
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

    /// Sets the protocol outside a command (benches, tests); connections switch through
    /// `finish_command` (rule 5).
    pub fn set_resp3(&self, resp3: bool) {
        self.lock().resp3 = resp3;
    }

    /// Sets the wire format; done once, before the outbox is registered anywhere.
    pub fn set_wire(&self, wire: Wire) {
        self.lock().wire = wire;
    }

    /// Sets the limit class outside a command (benches, tests); connections change it
    /// through `cork`/`finish_command` (rule 7).
    pub fn set_pubsub(&self, pubsub: bool) {
        self.lock().pubsub = pubsub;
    }

    /// Queues one delivery, or holds it while corked. Never blocks on the client;
    /// returns false if the outbox is (now) closed.
    pub fn try_push_delivery(&self, d: &Delivery<'_>, limits: &Limits) -> bool {
        let (waker, open);
        {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.sealed {
                return inner.closed.is_none();
            }
            waker = self.queue_locked(&mut inner, d, limits);
            open = inner.closed.is_none();
        }
        wake_after_push(waker, open);
        open
    }

    /// Queues the deliveries a publisher's batch made for this outbox, in order, under
    /// one lock (`wake_batch`): each is placed exactly as `try_push_delivery` would
    /// place it at this moment, with the limits checked after each. Returns how many
    /// were refused because the outbox is (or, by one of them, became) closed.
    pub fn try_push_deliveries<'a>(
        &self,
        ds: impl Iterator<Item = Delivery<'a>>,
        limits: &Limits,
    ) -> u64 {
        let (mut waker, open);
        let mut refused = 0;
        {
            let mut inner = self.lock();
            waker = None;
            for d in ds {
                if inner.closed.is_some() {
                    refused += 1;
                    continue;
                }
                if inner.sealed {
                    continue;
                }
                if let Some(w) = self.queue_locked(&mut inner, &d, limits) {
                    waker = Some(w);
                }
                if inner.closed.is_some() {
                    refused += 1;
                }
            }
            open = inner.closed.is_none();
        }
        wake_after_push(waker, open);
        refused
    }

    /// Queues (or holds, while corked) one delivery on an open, unsealed outbox; the
    /// waker to wake once the lock is released, if any (`after_push`).
    fn queue_locked(&self, inner: &mut Inner, d: &Delivery<'_>, limits: &Limits) -> Option<Waker> {
        let (resp3, wire) = (inner.resp3, inner.wire);
        match inner.held.as_mut() {
            Some(held) => held.push(Held {
                source: d.source,
                key: d.key.clone(),
                header: d.header.clone(),
                json_header: d.json_header.clone(),
                body: d.body.clone(),
            }),
            None => inner
                .data
                .push(wire, resp3, d.header, d.json_header, d.body),
        }
        inner.queued += wire_len(wire, d.header, d.json_header, d.body);
        self.after_push(inner, limits)
    }

    /// Queues pre-encoded bytes that belong to no subscription (a MONITOR line) under
    /// the same limits as a delivery. Not held by a cork: the line describes a command
    /// that already ran, before this client's running command ends (rule 1).
    pub fn try_push_raw(&self, bytes: &Bytes, limits: &Limits) -> bool {
        let (waker, open);
        {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.sealed {
                return inner.closed.is_none();
            }
            inner.data.copy(&[], false, bytes);
            inner.queued += bytes.len() as u64;
            waker = self.after_push(&mut inner, limits);
            open = inner.closed.is_none();
        }
        wake_after_push(waker, open);
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
                Some(t) => over_soft = now.duration_since(t) > Duration::from_secs(soft_secs),
            }
        } else {
            inner.soft_since = None;
        }
        self.over_soft.store(inner.soft_since.is_some(), Relaxed);
        if over_hard || over_soft {
            return self.close_locked(inner, CloseReason::OutputLimit);
        }
        if inner.held.is_none() && inner.waker_wants_data {
            inner.waker_wants_data = false;
            return inner.waker.take();
        }
        None
    }

    /// Whether the soft limit was crossed and the outbox is waiting out its seconds
    /// (lock-free, so the cron can look at every client often).
    pub fn over_soft_limit(&self) -> bool {
        self.over_soft.load(Relaxed)
    }

    /// Re-checks the soft limit without a push (the cron calls it for outboxes over the
    /// soft limit every 100 ms, so a limit fires within that of its seconds; Redis's
    /// clientsCron compares whole seconds and fired 1-1.5 s late). Returns true if it
    /// closed the outbox.
    pub fn check_soft_limit(&self, limits: &Limits) -> bool {
        let waker;
        {
            let mut inner = self.lock();
            if inner.closed.is_some() || inner.soft_since.is_none() {
                return false;
            }
            let (_, soft, soft_secs) = limits.get(inner.pubsub);
            let expired = inner.soft_since.is_some_and(|t| {
                soft > 0 && inner.queued >= soft && t.elapsed() > Duration::from_secs(soft_secs)
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

    /// Starts holding deliveries back (rules 2 and 3); `pubsub` is true when the
    /// command adds subscriptions, so the subscriber limits apply from here on.
    pub fn cork(&self, pubsub: bool) {
        let mut inner = self.lock();
        if inner.held.is_none() {
            inner.held = Some(Vec::new());
        }
        inner.pubsub |= pubsub;
    }

    /// Queues a command's reply and applies the rest of the ordering rules in one step:
    /// the reply (checked against the limits of the class the client had, rule 7), then
    /// the protocol switch (rule 5), then the held deliveries whose subscription
    /// `subscribed` still reports (rule 4), encoded in the protocol now in force, and
    /// uncorks. A closed outbox discards everything.
    pub fn finish_command(
        &self,
        reply: &mut BytesMut,
        limits: &Limits,
        finish: Finish,
        subscribed: impl Fn(Source, &[u8]) -> bool,
    ) {
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
            if let Some(resp3) = finish.switch_resp3 {
                inner.resp3 = resp3;
            }
            if let Some(held) = inner.held.take() {
                let (resp3, wire) = (inner.resp3, inner.wire);
                for h in held {
                    let len = wire_len(wire, &h.header, &h.json_header, &h.body);
                    if inner.sealed || !subscribed(h.source, &h.key) {
                        // Counted when held; never queued.
                        inner.queued -= len;
                        continue;
                    }
                    // Re-encoded in the current protocol; the length is the same.
                    inner
                        .data
                        .push(wire, resp3, &h.header, &h.json_header, &h.body);
                }
            }
            inner.queued += added;
            let waker = self.after_push(&mut inner, limits);
            inner.pubsub = finish.pubsub;
            waker
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
            self.over_soft.store(false, Relaxed);
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
            json: Arc::default(),
        }
    }

    fn push(o: &Outbox, header: &'static [u8], body: &Body, l: &Limits) -> bool {
        let key = Bytes::from_static(b"c");
        let header = Bytes::from_static(header);
        o.try_push_delivery(
            &Delivery {
                source: Source::Channel,
                key: &key,
                header: &header,
                json_header: Source::Channel.json_header(),
                body,
            },
            l,
        )
    }

    fn sub() -> Finish {
        Finish {
            switch_resp3: None,
            pubsub: true,
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
        push(
            &o,
            b"*3\r\n$7\r\nmessage\r\n",
            &Body::new(b"a", &Bytes::from_static(b"b")),
            &l,
        );
        assert_eq!(drain(&o), b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    #[test]
    fn json_outboxes_share_one_encoding_per_publish() {
        let l = limits(0, 0, 0);
        let (a, b, r) = (Outbox::new(1), Outbox::new(2), Outbox::new(3));
        a.set_wire(Wire::Json);
        b.set_wire(Wire::Json);
        let body = Body::new(b"ch", &Bytes::from_static(b"hi"));
        for o in [&a, &b, &r] {
            push(o, b"*3\r\n$7\r\nmessage\r\n", &body, &l);
        }
        let line = b"{\"type\":\"message\",\"channel\":\"ch\",\"data\":\"hi\"}\n";
        assert_eq!(a.queued(), line.len() as u64, "counted in JSON bytes");
        assert_eq!(drain(&a), line);
        assert_eq!(drain(&b), line);
        assert_eq!(
            drain(&r),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        // One JSON tail for the publish, shared by every clone of the body.
        let copy = body.clone();
        let first = body.json().as_ptr();
        assert_eq!(copy.json().as_ptr(), first);
    }

    #[test]
    fn large_json_bodies_are_shared_not_copied() {
        let l = limits(0, 0, 0);
        let o = Outbox::new(1);
        o.set_wire(Wire::Json);
        let body = Body::new(b"c", &Bytes::from(vec![b'x'; COPY_MAX + 1]));
        push(&o, b"H", &body, &l);
        let mut q = VecDeque::new();
        o.take_into(&mut q);
        assert!(q.iter().any(|seg| seg.as_ptr() == body.json().as_ptr()));
        let wire: Vec<u8> = q.iter().flat_map(|b| b.iter().copied()).collect();
        let v: serde_json::Value = serde_json::from_slice(&wire[..wire.len() - 1]).unwrap();
        assert_eq!(v["data"].as_str().map(str::len), Some(COPY_MAX + 1));
        assert_eq!(wire.last(), Some(&b'\n'));
    }

    #[test]
    fn held_json_deliveries_follow_the_reply() {
        let o = Outbox::new(1);
        o.set_wire(Wire::Json);
        let l = limits(0, 0, 0);
        o.cork(true);
        push(&o, b"M", &Body::new(b"c", &Bytes::from_static(b"1")), &l);
        o.finish_command(
            &mut BytesMut::from(&b"{\"r\":1}\n"[..]),
            &l,
            sub(),
            |_, _| true,
        );
        let out = drain(&o);
        assert_eq!(
            out,
            b"{\"r\":1}\n{\"type\":\"message\",\"channel\":\"c\",\"data\":\"1\"}\n"
        );
        assert_eq!(o.queued(), 0);
    }

    #[test]
    fn held_deliveries_follow_the_reply() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.cork(true);
        push(&o, b"M", &raw(b"1"), &l);
        assert!(!o.has_data());
        o.finish_command(&mut BytesMut::from(&b":1\r\n"[..]), &l, sub(), |_, _| true);
        assert_eq!(drain(&o), b":1\r\nM1");
    }

    #[test]
    fn a_sealed_outbox_takes_replies_but_no_deliveries() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.cork(true);
        push(&o, b"M", &raw(b"1"), &l);
        o.seal();
        o.finish_command(&mut BytesMut::from(&b"+OK\r\n"[..]), &l, sub(), |_, _| true);
        assert!(push(&o, b"M", &raw(b"2"), &l), "still open, just silent");
        assert_eq!(drain(&o), b"+OK\r\n");
    }

    #[test]
    fn large_bodies_are_shared_not_copied() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        let payload = Bytes::from(vec![b'x'; COPY_MAX + 1]);
        let body = Body::new(b"ch", &payload);
        push(&o, b"H", &body, &l);
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
        assert!(push(&o, b"", &raw(&[0u8; 60]), &l));
        assert!(!push(&o, b"", &raw(&[0u8; 60]), &l));
        assert_eq!(o.closed(), Some(CloseReason::OutputLimit));
        assert!(!o.has_data());
    }

    #[test]
    fn normal_clients_use_the_normal_class() {
        let o = Outbox::new(1);
        let l = limits(10, 0, 0);
        assert!(push(&o, b"", &raw(&[0u8; 60]), &l));
        assert_eq!(o.closed(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn soft_limit_needs_more_than_its_seconds_above_it() {
        let o = Outbox::new(1);
        o.set_pubsub(true);
        let l = limits(0, 10, 2);
        assert!(push(&o, b"", &raw(&[0u8; 20]), &l));
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
        push(&o, b"", &raw(&[0u8; 20]), &l);
        tokio::time::advance(std::time::Duration::from_secs(5)).await;
        drain(&o);
        assert!(!o.check_soft_limit(&l));
        assert_eq!(o.closed(), None);
    }

    #[test]
    fn held_deliveries_of_a_removed_subscription_are_dropped() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.cork(true);
        push(&o, b"M", &raw(b"1"), &l);
        o.finish_command(&mut BytesMut::from(&b"+OK\r\n"[..]), &l, sub(), |_, _| {
            false
        });
        assert_eq!(drain(&o), b"+OK\r\n");
        assert_eq!(o.queued(), 0, "the dropped delivery is no longer counted");
    }

    #[test]
    fn a_protocol_switch_is_a_boundary() {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        o.set_resp3(true);
        push(&o, b"*3\r\n", &raw(b"a"), &l);
        o.cork(true);
        push(&o, b"*3\r\n", &raw(b"b"), &l);
        let finish = Finish {
            switch_resp3: Some(false),
            pubsub: true,
        };
        o.finish_command(&mut BytesMut::from(&b"+R\r\n"[..]), &l, finish, |_, _| true);
        push(&o, b"*3\r\n", &raw(b"c"), &l);
        assert_eq!(drain(&o), b">3\r\na+R\r\n*3\r\nb*3\r\nc");
    }

    #[tokio::test(start_paused = true)]
    async fn soft_limit_fires_right_after_its_seconds() {
        let o = Outbox::new(1);
        o.set_pubsub(true);
        let l = limits(0, 10, 1);
        push(&o, b"", &raw(&[0u8; 20]), &l);
        assert!(o.over_soft_limit());
        tokio::time::advance(std::time::Duration::from_millis(1100)).await;
        assert!(o.check_soft_limit(&l), "1.1 s is more than 1 s");
    }

    /// One step of the model below: a subscriber's command step or a publisher's PUBLISH,
    /// each atomic as in the server (the outbox's mutex; a PUBLISH holds the registry
    /// shard lock across its lookup and push, and SUBSCRIBE / UNSUBSCRIBE change the
    /// registry under that lock).
    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// SUBSCRIBE c: cork (rule 2), then the registry insert.
        Subscribe,
        /// Its reply, releasing what was held.
        SubscribeReply,
        /// HELLO 3's reply and protocol switch (rule 5).
        Hello3,
        /// UNSUBSCRIBE c: the registry removal (rule 4).
        Unsubscribe,
        UnsubscribeReply,
        /// QUIT: sealed, then its reply (rule 6).
        Quit,
        /// The connection task takes what is queued (any time).
        Take,
        /// PUBLISH c m<i> from another connection.
        Publish(u8),
    }

    /// Every interleaving of `a` and `b` that keeps each one's order.
    fn interleavings(a: &[Step], b: &[Step]) -> Vec<Vec<Step>> {
        if a.is_empty() || b.is_empty() {
            return vec![[a, b].concat()];
        }
        let mut out = Vec::new();
        for mut rest in interleavings(&a[1..], b) {
            rest.insert(0, a[0]);
            out.push(rest);
        }
        for mut rest in interleavings(a, &b[1..]) {
            rest.insert(0, b[0]);
            out.push(rest);
        }
        out
    }

    /// Runs one interleaving; returns the client's byte stream and, per message, whether
    /// it was published while the registry held the subscription and how its protocol
    /// should read (RESP3 after the HELLO 3 reply).
    fn run_model(steps: &[Step]) -> (Vec<u8>, Vec<(u8, bool)>) {
        let o = Outbox::new(1);
        let l = limits(0, 0, 0);
        let mut subscribed = false;
        let mut stream = Vec::new();
        let mut published = Vec::new();
        let finish = |o: &Outbox, reply: &[u8], switch: Option<bool>, sub: bool| {
            let mut r = BytesMut::from(reply);
            o.finish_command(
                &mut r,
                &l,
                Finish {
                    switch_resp3: switch,
                    pubsub: sub,
                },
                |_, _| sub,
            );
        };
        for step in steps {
            match *step {
                Step::Subscribe => {
                    o.cork(true);
                    subscribed = true;
                }
                Step::SubscribeReply => finish(&o, b"+sub\r\n", None, true),
                Step::Hello3 => finish(&o, b"+hello\r\n", Some(true), subscribed),
                Step::Unsubscribe => subscribed = false,
                Step::UnsubscribeReply => finish(&o, b"+unsub\r\n", None, false),
                Step::Quit => {
                    o.seal();
                    finish(&o, b"+OK\r\n", None, subscribed);
                }
                Step::Take => stream.extend(drain(&o)),
                Step::Publish(i) => {
                    published.push((i, subscribed));
                    if subscribed {
                        let m = [b'm', b'0' + i];
                        push(
                            &o,
                            b"*3\r\n$7\r\nmessage\r\n",
                            &Body::new(b"c", &Bytes::copy_from_slice(&m)),
                            &l,
                        );
                    }
                }
            }
        }
        stream.extend(drain(&o));
        (stream, published)
    }

    /// Splits the stream into replies (`+...`) and messages (`m<i>` with their protocol).
    fn tokens(mut s: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while !s.is_empty() {
            if s[0] == b'+' {
                let end = s.windows(2).position(|w| w == b"\r\n").expect("reply line") + 2;
                out.push(String::from_utf8_lossy(&s[1..end - 2]).into_owned());
                s = &s[end..];
                continue;
            }
            // *3 / >3, $7 message, $1 c, $2 m<i>
            let frame = |first: u8, i: u8| {
                let mut f = vec![first];
                f.extend_from_slice(b"3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nm");
                f.extend_from_slice(&[b'0' + i, b'\r', b'\n']);
                f
            };
            let found = (0..10u8).find_map(|i| {
                [(b'*', "2"), (b'>', "3")]
                    .into_iter()
                    .find_map(|(first, proto)| {
                        let f = frame(first, i);
                        s.starts_with(&f)
                            .then(|| (f.len(), format!("m{i}/resp{proto}")))
                    })
            });
            let (len, tok) = found
                .unwrap_or_else(|| panic!("unparsable stream at {:?}", String::from_utf8_lossy(s)));
            out.push(tok);
            s = &s[len..];
        }
        out
    }

    /// Model check of the ordering rules over every interleaving of a subscriber's
    /// SUBSCRIBE, HELLO 3, UNSUBSCRIBE (or QUIT) with three PUBLISHes, and with the
    /// connection task taking output at every point. What each interleaving's client
    /// must read is derived from the order of the steps, as Redis (one thread, one
    /// command at a time) would produce it, and compared with the byte stream.
    #[test]
    fn every_interleaving_of_commands_and_publishes_keeps_the_ordering_rules() {
        use Step::*;
        let publisher = [Publish(1), Publish(2), Publish(3)];
        let programs: [&[Step]; 2] = [
            &[
                Subscribe,
                SubscribeReply,
                Hello3,
                Unsubscribe,
                UnsubscribeReply,
            ],
            &[Subscribe, SubscribeReply, Take, Hello3, Take, Quit],
        ];
        let mut runs = 0;
        for program in programs {
            for steps in interleavings(program, &publisher) {
                let (stream, _) = run_model(&steps);
                let got = tokens(&stream);
                // Redis's stream for the same order of effects: a message is delivered iff
                // published while subscribed; it precedes the reply of the command
                // running when it was published unless that command corked (SUBSCRIBE:
                // held until after its reply); its protocol is the one in force when it
                // is queued; nothing follows QUIT's reply.
                let mut want: Vec<String> = Vec::new();
                let mut held: Vec<u8> = Vec::new();
                let (mut subscribed, mut corked, mut resp3, mut sealed) =
                    (false, false, false, false);
                let msg = |i: u8, resp3: bool| format!("m{i}/resp{}", if resp3 { 3 } else { 2 });
                for step in &steps {
                    match *step {
                        Subscribe => {
                            corked = true;
                            subscribed = true;
                        }
                        SubscribeReply => {
                            want.push("sub".into());
                            corked = false;
                            for i in held.drain(..) {
                                want.push(msg(i, resp3));
                            }
                        }
                        Hello3 => {
                            want.push("hello".into());
                            resp3 = true;
                        }
                        Unsubscribe => subscribed = false,
                        UnsubscribeReply => want.push("unsub".into()),
                        Quit => {
                            sealed = true;
                            want.push("OK".into());
                        }
                        Take => {}
                        Publish(i) if subscribed && !sealed => {
                            if corked {
                                held.push(i);
                            } else {
                                want.push(msg(i, resp3));
                            }
                        }
                        Publish(_) => {}
                    }
                }
                assert_eq!(got, want, "steps {steps:?}");
                runs += 1;
            }
        }
        // 5 subscriber steps with 3 publishes: C(8,3) = 56; 6 with 3: C(9,3) = 84.
        assert_eq!(runs, 56 + 84);
    }
}
