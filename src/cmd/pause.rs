//! CLIENT PAUSE / UNPAUSE: the server-wide pause state and which commands it holds.
//!
//! Redis semantics (processCommand, redis-server 7.0.15 checked): a command from a
//! normal client that passed every pre-check (unknown command, arity, auth, subscribe
//! context) is postponed while a pause of its class is in force, and runs when the pause
//! ends (UNPAUSE, or its timeout). ALL holds every command, CLIENT UNPAUSE from another
//! client and the pausing client's own next commands included; WRITE holds write and
//! may-replicate commands: PUBLISH, SPUBLISH, FLUSHALL, FLUSHDB, FUNCTION FLUSH, and an
//! EXEC whose queue holds one. SUBSCRIBE, PING and PUBSUB are not held under WRITE.
//! A held client reads nothing more until its command ran (Redis blocks it). Monitors
//! are replicas in Redis and are never paused.
//!
//! Holding is the connection's business (`conn`, which keeps the held command and its
//! place in arrival order, `conn::arrival` step 6); this module owns the state and the
//! decision. Locks: the pause state's mutex is taken first and the arrival sequencer's
//! inside it when a pause ends (`Pause::end`); nothing takes them the other way round.

use super::{parse_i64, table::flags, Ctx, Spec};
use crate::conn::arrival::Sequencer;
use crate::conn::session::Session;
use crate::error::CmdError;
use crate::server::Shared;
use bytes::Bytes;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a pause holds. Ordered: ALL is stricter than WRITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Write = 1,
    All = 2,
}

/// The server-wide pause. `mode` mirrors `state` for the hot path: while it is 0 no
/// command pays more than one Relaxed load.
#[derive(Debug, Default)]
pub struct Pause {
    mode: AtomicU8,
    state: Mutex<Option<(Instant, Mode)>>,
    ended: Notify,
    /// Held commands are put back in arrival order here when the pause ends.
    arrival: Arc<Sequencer>,
}

impl Pause {
    pub fn new(arrival: Arc<Sequencer>) -> Self {
        Pause {
            arrival,
            ..Pause::default()
        }
    }

    /// Ends the pause (under the state lock): held commands back in their places first,
    /// then their connections woken.
    fn end(&self, state: &mut Option<(Instant, Mode)>) {
        *state = None;
        self.mode.store(0, Relaxed);
        self.arrival.unhold_all();
        self.ended.notify_waiters();
    }

    /// One Relaxed load: whether any pause may be in force.
    pub fn active(&self) -> bool {
        self.mode.load(Relaxed) != 0
    }

    /// The mode in force now; a pause past its end is ended here.
    pub fn mode(&self) -> Option<Mode> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            Some((end, _)) if Instant::now() >= end => {
                self.end(&mut state);
                None
            }
            Some((_, mode)) => Some(mode),
            None => None,
        }
    }

    /// Redis `pauseClients`: a second pause keeps the later end and the stricter mode.
    pub fn pause(&self, end: Instant, mode: Mode) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let next = match *state {
            Some((e, m)) => (e.max(end), m.max(mode)),
            None => (end, mode),
        };
        *state = Some(next);
        self.mode.store(next.1 as u8, Relaxed);
    }

    pub fn unpause(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.end(&mut state);
    }

    /// Resolves once no pause is in force (UNPAUSE, or the end time passed).
    pub async fn wait_end(&self) {
        loop {
            // Created before the state is read: a notify_waiters in between still wakes it.
            let notified = self.ended.notified();
            let end = {
                let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                match *state {
                    Some((end, _)) => end,
                    None => return,
                }
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(end) => {
                    self.mode();
                }
            }
        }
    }
}

/// Whether `spec` (which passed the pre-checks) must wait for the pause to end.
pub fn holds(shared: &Shared, session: &Session, spec: &Spec) -> bool {
    if session.monitor {
        return false;
    }
    match shared.pause.mode() {
        None => false,
        Some(Mode::All) => true,
        Some(Mode::Write) => {
            spec.flags & flags::MAY_REPLICATE != 0
                || (spec.name == "exec"
                    && session.multi.as_ref().is_some_and(|queued| {
                        queued.iter().any(|args| {
                            super::lookup(args, &shared.renames)
                                .is_ok_and(|s| s.flags & flags::MAY_REPLICATE != 0)
                        })
                    }))
        }
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]
pub fn pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 4 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    let mut mode = Mode::All;
    if let Some(m) = args.get(3) {
        mode = match &m.to_ascii_lowercase()[..] {
            b"write" => Mode::Write,
            b"all" => Mode::All,
            _ => return Err(CmdError::PauseMode),
        };
    }
    let ms = parse_i64(&args[2]).map_err(|_| CmdError::PauseTimeoutNotInteger)?;
    if ms < 0 {
        return Err(CmdError::PauseTimeoutNegative);
    }
    // Far-future timeouts are capped at a year (tokio's timer cannot represent more).
    let ms = (ms as u64).min(365 * 24 * 3600 * 1000);
    ctx.shared
        .pause
        .pause(Instant::now() + Duration::from_millis(ms), mode);
    ctx.ok();
    Ok(())
}

pub fn unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared.pause.unpause();
    ctx.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_second_pause_keeps_the_later_end_and_the_stricter_mode() {
        let p = Pause::default();
        assert!(!p.active());
        let now = Instant::now();
        p.pause(now + Duration::from_millis(500), Mode::All);
        p.pause(now + Duration::from_millis(100), Mode::Write);
        assert_eq!(p.mode(), Some(Mode::All));
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(p.mode(), Some(Mode::All), "the later end holds");
        p.wait_end().await;
        assert_eq!(p.mode(), None);
        assert!(!p.active());
        assert!(Instant::now() >= now + Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn unpause_wakes_waiters() {
        let p = std::sync::Arc::new(Pause::default());
        p.pause(Instant::now() + Duration::from_secs(3600), Mode::Write);
        let waiter = tokio::spawn({
            let p = p.clone();
            async move { p.wait_end().await }
        });
        tokio::task::yield_now().await;
        p.unpause();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken by UNPAUSE")
            .expect("no panic");
    }
}
