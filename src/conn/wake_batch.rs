//! Deferred wake-ups: one wake per subscriber per batch of a publisher's commands.
//!
//! A delivery queues its bytes in the subscriber's outbox at once (the outbox's ordering
//! rules are about where bytes are queued, and nothing here changes that); what it may
//! also do is wake the subscriber's task, which then takes what is queued and writes it.
//! Woken per delivery, a subscriber on the other worker thread races the publisher: it
//! wakes, writes one message with its own system call, parks, and is woken again by the
//! next PUBLISH of the same pipeline. Redis instead appends to every client's buffer
//! while it runs a batch of commands and writes each client once per event-loop turn.
//!
//! This module is the same idea for wake-ups. While a connection runs the commands of
//! one read (`Conn::after_input`, synchronous, at most `COMMANDS_PER_TURN` commands), a
//! `Batch` is open on the thread: the wakers that pushes return are collected instead of
//! woken, and woken together when the batch ends. Each subscriber then finds every
//! message of the batch queued and writes them with one vectored write. The outbox
//! hands out a waker only once per park (`waker_wants_data`), so the list holds each
//! subscriber at most once and its size is bounded by the number of subscribers.
//!
//! Rules that keep this safe:
//! - A batch never spans an `.await`: it is opened and closed inside one synchronous
//!   call, so the thread-local list cannot move to another task or be forgotten.
//! - Only data wake-ups are deferred. Closing an outbox (limit, CLIENT KILL, shutdown)
//!   wakes at once.
//! - Outside a batch (a publish from a timer, the admin port, a test) `wake` wakes at
//!   once, as before. Batches do not nest: an inner `begin` returns `None`.
//! - The publisher's own reply is unaffected (it is written by the publisher's task,
//!   which is running), so the extra delay a subscriber sees is bounded by the time one
//!   batch takes to run.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::task::Waker;

thread_local! {
    /// `Some` while a batch is open on this thread; the Vec is kept between batches.
    static PENDING: RefCell<(bool, Vec<Waker>)> = const { RefCell::new((false, Vec::new())) };
}

/// An open batch; wakes everything deferred when dropped. Not `Send`: it belongs to the
/// thread whose list it fills.
#[derive(Debug)]
pub struct Batch {
    _thread_bound: PhantomData<*const ()>,
}

/// Opens a batch on this thread, or returns `None` if one is already open.
pub fn begin() -> Option<Batch> {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.0 {
            return None;
        }
        p.0 = true;
        Some(Batch {
            _thread_bound: PhantomData,
        })
    })
}

/// Wakes `w` now, or at the end of the open batch.
pub fn wake(w: Waker) {
    let now = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.0 {
            p.1.push(w);
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
        let mut wakers = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.0 = false;
            std::mem::take(&mut p.1)
        });
        // Woken outside the borrow: a waker may run arbitrary code.
        for w in wakers.drain(..) {
            w.wake();
        }
        // Give the (now empty) allocation back for the next batch, unless a wake opened
        // and filled a new one meanwhile.
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.1.is_empty() && wakers.capacity() <= 4096 {
                p.1 = wakers;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_at_once_outside_a_batch_and_at_the_end_inside_one() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        wake(Waker::from(c.clone()));
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        {
            let b = begin().expect("no batch open");
            assert!(begin().is_none(), "batches do not nest");
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
