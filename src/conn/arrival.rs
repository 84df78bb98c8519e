//! Arrival order across connections: a command whose bytes the server read earlier
//! takes effect before a command read later on another connection.
//!
//! Redis gets this for free: one thread reads sockets in the order epoll reports them
//! and runs each command as it reads it. Here every connection is its own task on a
//! multi-threaded runtime, so a task woken later can run first (tokio's LIFO slot, or
//! simply the other worker), and `SUBSCRIBE x` on A followed at once by `PUBLISH x` on B
//! could publish before the subscription exists (frameworks do exactly this).
//!
//! The mechanism, step by step:
//!
//! 1. **Stamp at wake.** A connection waits for read readiness through a waker of ours
//!    (`ReadWaker`). The I/O driver wakes tasks one at a time, in the order epoll
//!    reported their sockets, which is the order their bytes arrived. The first wake of
//!    an idle connection takes the next ticket from one global counter and records
//!    `(ticket, connection)` in the pending set: that connection has unread bytes that
//!    arrived at about that ticket.
//!    Two things make the driver's order the arrival order. Sockets are registered for
//!    read interest only (`transport::socket`): with write interest too, a socket just
//!    accepted (writable at once) sat on epoll's ready list from its registration, and
//!    its later bytes were reported ahead of other sockets' earlier ones. And the
//!    accept loop registers the read waker before the connection's task first runs
//!    (`Stamp::watch`), so a new connection's first bytes are stamped by their wake
//!    too, not when its task happens to run.
//! 2. **Hold while reading.** The stamp stays while the connection reads and runs what
//!    it read, across yields in the middle of a long batch.
//! 3. **Refresh after a read.** Right after a read returns bytes the connection takes a
//!    fresh ticket for whatever arrives next; once the commands of that read have all
//!    run, its stamp becomes that ticket. A connection that is never idle (a pipelining
//!    publisher) therefore keeps moving up instead of holding everyone back forever.
//! 4. **Release when idle.** The connection polls read readiness before it writes
//!    replies, so a client that answers a reply always finds it registered for a
//!    wake. The stamp is removed when read readiness is polled and
//!    found pending. That happens under the pending set's lock, and the driver's wake
//!    (step 1) takes the same lock, so a wake can never be lost between "found
//!    nothing" and "released". A connection that stops reading (output paused, closing,
//!    shutting down) releases its stamp too, and so does its cleanup guard, which also
//!    retires the stamp: the I/O driver may have collected the connection's read waker
//!    just before the connection read EOF and left, and call it afterwards; a retired
//!    stamp ignores that wake (a stamp taken then would never be released, and every
//!    later mutation would wait behind it for ever).
//! 5. **Wait your turn.** Before a command that reads or changes who is subscribed
//!    (SUBSCRIBE and UNSUBSCRIBE families, RESET, EXEC: mutations; PUBLISH, SPUBLISH,
//!    PUBSUB: observations) a connection declares which kind it is about to run and
//!    checks the connections with lower stamps: a mutation waits for all of them, an
//!    observation only for those not known to be observers (two PUBLISHes commute, so
//!    pipelining publishers don't queue behind each other). A command that must wait
//!    is set aside and its task sleeps; whoever releases, refreshes or declares a stamp
//!    wakes exactly the waiters that may run now (the first entry, and observers behind
//!    a run of observers). Once allowed, a connection stays allowed until its stamp
//!    changes: tickets only grow, so no newcomer can get in front of it.
//!
//! 6. **Held by CLIENT PAUSE.** A command the pause holds keeps its connection's stamp,
//!    marked held: nobody waits for a held entry (a paused client runs nothing, and Redis
//!    lets everyone else go on). When the pause ends, `Sequencer::unhold_all` clears
//!    every mark under the one lock, before any held task is woken, so held commands
//!    take effect in the order they arrived in, whichever task the runtime wakes first.
//!
//! Deadlock is impossible: a connection only waits for lower tickets, and the lowest
//! never waits (held entries are skipped, and a held connection waits for nobody). The
//! cost is one short global lock per read event (not per delivery, not per command),
//! and a check once per read batch for connections that run ordered
//! commands. A connection's class is what it reached first in its batch: one that
//! pipelines PUBLISH and then SUBSCRIBE in one read is an observer until it reaches the
//! SUBSCRIBE, so a later observer may pass it in between.
//!
//! What this cannot order (redis-server cannot either):
//! - Bytes that sat unread in a busy connection's socket behind a full read buffer are
//!   ordered as if they arrived when the previous read returned (step 3).
//! - While the server's write to a socket is in the kernel, the kernel holds that
//!   socket's lock; bytes the client sends meanwhile (on loopback it may already have
//!   the reply) wait in the socket's backlog and reach epoll only when the write
//!   returns, possibly after another connection's later bytes. redis-server's event
//!   loop has the same window. Holding a stamp across reply writes (and checking the
//!   socket with poll(2) afterwards) closed it in one test and opened a worse one in
//!   another: a connection preempted between its write and that check ran its next
//!   command with the early stamp, ahead of others. Measured: raw-socket back-to-back
//!   tries, 0 misses in 16,000 with it and 1 in 15,000 without; the stress test's
//!   fenced tries, 1-3 per 4,000 with it and 0 in 16,000 without. It was taken out.

use crate::transport::Stream;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// What a pending connection is known to be about to do (step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Not known yet: it has not reached an ordered command in what it read.
    Unknown,
    /// Its next ordered command only looks at subscriptions (PUBLISH, SPUBLISH, PUBSUB).
    Observer,
    /// Its next ordered command may change subscriptions (SUBSCRIBE, UNSUBSCRIBE, RESET,
    /// EXEC).
    Mutator,
}

#[derive(Debug)]
struct Entry {
    class: Class,
    /// Set while the connection waits for its turn.
    waiting: Option<Waker>,
    /// Its command is held by CLIENT PAUSE: nobody waits for it until the pause ends
    /// (`Sequencer::unhold_all`), then it is back in its place.
    held: bool,
}

type Pending = BTreeMap<(u64, u64), Entry>;

/// The global ticket counter and who holds which ticket.
#[derive(Debug, Default)]
pub struct Sequencer {
    next: AtomicU64,
    /// `(ticket, connection id)` of every connection with unread or unrun input.
    pending: Mutex<Pending>,
}

impl Sequencer {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ticket(&self) -> u64 {
        // Tickets start at 1: 0 means "no stamp" in `Stamp::ticket`.
        self.next.fetch_add(1, Relaxed) + 1
    }

    /// Connections holding a stamp (INFO / tests).
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// CLIENT PAUSE ended: every held command is back in its place, all at once, so
    /// held commands take effect in the order they arrived in whichever task wakes
    /// first.
    pub fn unhold_all(&self) {
        let mut pending = self.lock();
        for e in pending.values_mut() {
            e.held = false;
        }
        wake_runnable(&mut pending);
    }
}

/// Whether a command of `class` at `key` may run now: a mutation waits for every
/// earlier reader; an observation only for earlier readers that may mutate (two
/// PUBLISHes commute, so pipelining publishers don't queue behind each other).
fn may_run(pending: &Pending, key: (u64, u64), class: Class) -> bool {
    pending
        .range(..key)
        .all(|(_, e)| e.held || (class == Class::Observer && e.class == Class::Observer))
}

/// Wakes the waiting connections that may run now (called after any change): the
/// first entry, and observers behind a run of observers. Nothing past the first
/// non-observer can run, so the walk stops there.
fn wake_runnable(pending: &mut Pending) {
    let mut first = true;
    for entry in pending.values_mut() {
        if entry.held {
            continue;
        }
        if first || entry.class == Class::Observer {
            if let Some(w) = entry.waiting.take() {
                w.wake();
            }
        }
        first = false;
        if entry.class != Class::Observer {
            break;
        }
    }
}

/// One connection's place in the sequencer.
#[derive(Debug)]
pub struct Stamp {
    seq: Arc<Sequencer>,
    id: u64,
    /// The ticket held, 0 for none. Written only under the sequencer's lock; read
    /// without it as a hint.
    ticket: AtomicU64,
    /// The task's own waker, which `ReadWaker` forwards to.
    task: Mutex<Option<Waker>>,
    /// The connection is gone (`retire`); written and read under the sequencer's lock.
    retired: AtomicBool,
}

impl Stamp {
    pub fn new(seq: Arc<Sequencer>, id: u64) -> Arc<Stamp> {
        Arc::new(Stamp {
            seq,
            id,
            ticket: AtomicU64::new(0),
            task: Mutex::new(None),
            retired: AtomicBool::new(false),
        })
    }

    fn set(&self, pending: &mut Pending, ticket: u64) {
        let old = self.ticket.swap(ticket, Relaxed);
        if old != 0 {
            pending.remove(&(old, self.id));
        }
        if ticket != 0 {
            let entry = Entry {
                class: Class::Unknown,
                waiting: None,
                held: false,
            };
            pending.insert((ticket, self.id), entry);
        }
        if old != 0 {
            wake_runnable(pending);
        }
    }

    /// Step 1: stamps the connection unless it already holds a (lower) stamp.
    fn on_wake(&self) {
        let mut pending = self.seq.lock();
        if self.ticket.load(Relaxed) == 0 && !self.retired.load(Relaxed) {
            let t = self.seq.ticket();
            self.set(&mut pending, t);
        }
    }

    /// Ensures the connection holds a stamp before it reads (readiness was already set
    /// when it looked, so no wake stamped it).
    pub fn hold(&self) {
        if self.ticket.load(Relaxed) == 0 {
            self.on_wake();
        }
    }

    /// CLIENT PAUSE holds this connection's command of `class`: it keeps its place,
    /// but nobody waits for it until `Sequencer::unhold_all`.
    pub fn hold_for_pause(&self, class: Class) {
        self.hold();
        let mut pending = self.seq.lock();
        let key = (self.ticket.load(Relaxed), self.id);
        if let Some(e) = pending.get_mut(&key) {
            e.held = true;
            e.class = class;
            e.waiting = None;
        }
        wake_runnable(&mut pending);
    }

    /// Step 3: a ticket for the bytes that arrive after the read that just returned.
    pub fn next_ticket(&self) -> u64 {
        self.seq.ticket()
    }

    /// Step 3: everything read so far has run; the stamp becomes `ticket`.
    pub fn advance(&self, ticket: u64) {
        let mut pending = self.seq.lock();
        if self.ticket.load(Relaxed) != 0 {
            self.set(&mut pending, ticket);
        }
    }

    /// Step 4: the connection has nothing unread or unrun, or stopped reading.
    pub fn release(&self) {
        if self.ticket.load(Relaxed) != 0 {
            let mut pending = self.seq.lock();
            self.set(&mut pending, 0);
        }
    }

    /// The connection is gone: releases the stamp for good. A wake that arrives later
    /// (a read waker the I/O driver collected before the stream was dropped) stamps
    /// nothing (step 4).
    pub fn retire(&self) {
        let mut pending = self.seq.lock();
        self.retired.store(true, Relaxed);
        self.set(&mut pending, 0);
    }

    /// Step 5: whether a command of `class` may run now. If not, `waker` is woken when
    /// that may have changed. Declaring the class also lets others behind this
    /// connection know what it is about to do.
    pub fn try_turn(&self, class: Class, waker: Option<&Waker>) -> bool {
        let mut pending = self.seq.lock();
        let mine = self.ticket.load(Relaxed);
        if mine == 0 {
            // Not reading (cannot happen for a command just read); wait for everyone.
            return pending
                .values()
                .all(|e| e.held || (class == Class::Observer && e.class == Class::Observer));
        }
        let key = (mine, self.id);
        let changed = match pending.get_mut(&key) {
            Some(entry) if entry.class != Class::Mutator && entry.class != class => {
                entry.class = class;
                true
            }
            _ => false,
        };
        let runnable = may_run(&pending, key, class);
        if let Some(entry) = pending.get_mut(&key) {
            entry.waiting = if runnable { None } else { waker.cloned() };
        }
        if changed {
            wake_runnable(&mut pending);
        }
        runnable
    }

    /// Step 5 as a future: ready once a command of `class` may run.
    pub fn poll_turn(&self, class: Class, cx: &mut Context<'_>) -> Poll<()> {
        if self.try_turn(class, Some(cx.waker())) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Polls read readiness through a `ReadWaker`, releasing the stamp (under the lock,
    /// step 4) when there is nothing to read.
    pub fn poll_read_ready(
        self: &Arc<Self>,
        stream: &Stream,
        cx: &mut Context<'_>,
        waker: &Waker,
    ) -> Poll<std::io::Result<()>> {
        {
            let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
            match &*task {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *task = Some(cx.waker().clone()),
            }
        }
        let mut read_cx = Context::from_waker(waker);
        if self.ticket.load(Relaxed) == 0 {
            // Nothing to release; a wake racing with this poll stamps on its own.
            return stream.poll_read_ready(&mut read_cx);
        }
        let mut pending = self.seq.lock();
        let ready = stream.poll_read_ready(&mut read_cx);
        if ready.is_pending() {
            self.set(&mut pending, 0);
        }
        ready
    }

    /// Step 1 from the moment of accept: registers the read waker before the task first
    /// runs, so bytes that arrive meanwhile are stamped by their wake, in the order the
    /// driver reports them. If the driver already reported bytes (readiness set, no
    /// waker to call), the connection is stamped now.
    pub fn watch(self: &Arc<Self>, stream: &Stream) {
        let waker = self.read_waker();
        let mut cx = Context::from_waker(&waker);
        if stream.poll_read_ready(&mut cx).is_ready() {
            self.hold();
        }
    }

    /// The waker to pass to `poll_read_ready` (create once per connection).
    pub fn read_waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::new(ReadWaker(self.clone())))
    }
}

/// Wakes the connection task for read readiness, stamping it first (step 1).
#[derive(Debug)]
struct ReadWaker(Arc<Stamp>);

impl Wake for ReadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.on_wake();
        let task = self
            .0
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(w) = task {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_stamp_goes_first_and_refreshing_lets_others_pass() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq.clone(), 2);
        a.on_wake();
        b.on_wake();
        assert!(a.try_turn(Class::Mutator, None));
        assert!(
            !b.try_turn(Class::Observer, None),
            "A's bytes arrived first"
        );
        let next = a.next_ticket();
        a.advance(next);
        assert!(
            b.try_turn(Class::Observer, None),
            "A moved past B once it ran what it read"
        );
        assert!(!a.try_turn(Class::Mutator, None));
        b.release();
        assert!(a.try_turn(Class::Mutator, None));
        a.release();
        assert_eq!(seq.pending(), 0);
    }

    #[test]
    fn a_wake_after_the_connection_left_stamps_nothing() {
        // The I/O driver collected A's read waker, A read EOF and left, then the driver
        // called the waker. Before `retire`, that stamp stayed for ever and B's
        // SUBSCRIBE never ran (tests/unix_socket.rs found it as a hung PUBLISH).
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq.clone(), 2);
        let late = a.read_waker();
        a.on_wake();
        a.retire();
        late.wake_by_ref();
        assert_eq!(
            seq.pending(),
            0,
            "the late wake stamped a connection that left"
        );
        b.on_wake();
        assert!(b.try_turn(Class::Mutator, None));
    }

    #[test]
    fn a_second_wake_keeps_the_first_stamp() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq.clone(), 2);
        a.on_wake();
        b.on_wake();
        a.on_wake();
        assert!(a.try_turn(Class::Mutator, None));
        assert_eq!(seq.pending(), 2);
    }

    #[test]
    fn a_connection_without_stamp_is_first_only_when_nobody_waits() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq, 2);
        assert!(a.try_turn(Class::Mutator, None));
        b.on_wake();
        assert!(!a.try_turn(Class::Mutator, None));
        a.hold();
        assert!(
            !a.try_turn(Class::Observer, None),
            "a stamp taken now is later than B's"
        );
    }

    #[test]
    fn publishers_do_not_wait_for_each_other_but_for_a_subscriber() {
        let seq = Arc::new(Sequencer::default());
        let p1 = Stamp::new(seq.clone(), 1);
        let s = Stamp::new(seq.clone(), 2);
        let p2 = Stamp::new(seq.clone(), 3);
        p1.on_wake();
        p2.on_wake();
        assert!(p1.try_turn(Class::Observer, None));
        assert!(p2.try_turn(Class::Observer, None), "two PUBLISHes commute");
        s.on_wake();
        let p3 = Stamp::new(seq, 4);
        p3.on_wake();
        assert!(!p3.try_turn(Class::Observer, None), "S may be subscribing");
        assert!(!s.try_turn(Class::Mutator, None), "P1 and P2 read first");
        p1.release();
        p2.release();
        assert!(s.try_turn(Class::Mutator, None));
        s.release();
        assert!(p3.try_turn(Class::Observer, None));
    }

    #[test]
    fn a_held_command_blocks_nobody_until_unhold_then_keeps_its_place() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq.clone(), 2);
        a.on_wake();
        b.on_wake();
        a.hold_for_pause(Class::Mutator);
        assert!(
            b.try_turn(Class::Mutator, None),
            "a paused client holds nobody back"
        );
        seq.unhold_all();
        assert!(
            !b.try_turn(Class::Observer, None),
            "once the pause ends, A's earlier command goes first"
        );
        assert!(a.try_turn(Class::Mutator, None));
        a.release();
        assert!(b.try_turn(Class::Observer, None));
    }

    #[test]
    fn a_waiting_connection_is_woken_when_its_turn_comes() {
        use std::sync::atomic::AtomicBool;
        #[derive(Debug, Default)]
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Relaxed);
            }
        }
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq, 2);
        a.on_wake();
        b.on_wake();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        assert!(!b.try_turn(Class::Observer, Some(&waker)));
        assert!(!flag.0.load(Relaxed));
        a.release();
        assert!(flag.0.load(Relaxed), "B is first now and was woken");
        assert!(b.try_turn(Class::Observer, None));
    }
}
