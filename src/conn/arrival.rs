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
//!    shutting down) releases its stamp too, and so does its cleanup guard.
//! 5. **Writing a reply.** While the server's write to a socket is in the kernel, it
//!    holds that socket's lock, and bytes the client sends meanwhile (it may already
//!    have the reply) wait in the socket's backlog without telling epoll. Another
//!    connection's later bytes could then be reported first. So a connection holds a
//!    stamp, taken just before, across writing replies; afterwards it looks at the
//!    socket itself (the driver may not have reported those bytes yet) and keeps the
//!    stamp and reads at once if anything is there, or releases it, under the lock.
//! 6. **Wait your turn.** Before a command that reads or changes who is subscribed
//!    (SUBSCRIBE and UNSUBSCRIBE families, PUBLISH, SPUBLISH, PUBSUB, EXEC, RESET) a
//!    connection checks that no other connection holds a lower stamp. If one does, the
//!    command is set aside and the task yields until the earlier reader has run what it
//!    read. Once a connection is first it stays first until its stamp changes: tickets
//!    only grow, so no newcomer can get in front of it.
//!
//! Deadlock is impossible: a connection only waits for lower tickets, and the lowest
//! never waits. The cost is one short global lock per read event (not per delivery, not
//! per command), and a check once per read batch for connections that run ordered
//! commands. What this cannot order is bytes that sat unread in a busy connection's
//! socket behind a full read buffer: they are ordered as if they arrived when the
//! previous read returned (step 3).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use tokio::net::TcpStream;

/// The global ticket counter and who holds which ticket.
#[derive(Debug, Default)]
pub struct Sequencer {
    next: AtomicU64,
    /// `(ticket, connection id)` of every connection with unread or unrun input.
    pending: Mutex<BTreeSet<(u64, u64)>>,
}

impl Sequencer {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<(u64, u64)>> {
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
}

impl Stamp {
    pub fn new(seq: Arc<Sequencer>, id: u64) -> Arc<Stamp> {
        Arc::new(Stamp {
            seq,
            id,
            ticket: AtomicU64::new(0),
            task: Mutex::new(None),
        })
    }

    fn set(&self, pending: &mut BTreeSet<(u64, u64)>, ticket: u64) {
        let old = self.ticket.swap(ticket, Relaxed);
        if old != 0 {
            pending.remove(&(old, self.id));
        }
        if ticket != 0 {
            pending.insert((ticket, self.id));
        }
    }

    /// Step 1: stamps the connection unless it already holds a (lower) stamp.
    fn on_wake(&self) {
        let mut pending = self.seq.lock();
        if self.ticket.load(Relaxed) == 0 {
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

    /// Step 5: after writing replies, keeps the stamp if the socket has bytes (they may
    /// have arrived during the write, unreported), else releases it. True if bytes wait.
    pub fn settle_after_write(&self, stream: &TcpStream) -> bool {
        let mut pending = self.seq.lock();
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let waiting = socket2::SockRef::from(stream)
            .peek(&mut probe)
            .is_ok_and(|n| n > 0);
        if !waiting {
            self.set(&mut pending, 0);
        }
        waiting
    }

    /// Step 6: whether no other connection holds a lower stamp.
    pub fn is_first(&self) -> bool {
        let pending = self.seq.lock();
        let mine = self.ticket.load(Relaxed);
        match pending.first() {
            None => true,
            Some(&(t, id)) => id == self.id || (mine != 0 && t > mine),
        }
    }

    /// Polls read readiness through a `ReadWaker`, releasing the stamp (under the lock,
    /// step 4) when there is nothing to read.
    pub fn poll_read_ready(
        self: &Arc<Self>,
        stream: &TcpStream,
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
        assert!(a.is_first());
        assert!(!b.is_first(), "A's bytes arrived first");
        let next = a.next_ticket();
        a.advance(next);
        assert!(b.is_first(), "A moved past B once it ran what it read");
        assert!(!a.is_first());
        b.release();
        assert!(a.is_first());
        a.release();
        assert_eq!(seq.pending(), 0);
    }

    #[test]
    fn a_second_wake_keeps_the_first_stamp() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq.clone(), 2);
        a.on_wake();
        b.on_wake();
        a.on_wake();
        assert!(a.is_first());
        assert_eq!(seq.pending(), 2);
    }

    #[test]
    fn a_connection_without_stamp_is_first_only_when_nobody_waits() {
        let seq = Arc::new(Sequencer::default());
        let a = Stamp::new(seq.clone(), 1);
        let b = Stamp::new(seq, 2);
        assert!(a.is_first());
        b.on_wake();
        assert!(!a.is_first());
        a.hold();
        assert!(!a.is_first(), "a stamp taken now is later than B's");
    }
}
