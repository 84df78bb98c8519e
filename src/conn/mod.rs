//! One task per connection: it owns the stream (a `transport::Stream`, whatever the
//! wire), the client's protocol version and its subscriptions. It reads and decodes
//! requests, runs them through `cmd`, and writes whatever the outbox holds (its own
//! replies and publishers' deliveries) with vectored writes. Reading, writing and outbox events are awaited in one `select!`, so
//! an idle connection is one small future with no buffers.
//!
//! Ordering: within the connection, `outbox` (its module doc lists the rules) decides
//! where racing deliveries go; across connections, `arrival` makes commands take effect
//! in the order their bytes were read. Every command ends in `Outbox::finish_command`
//! when it may have touched subscriptions or the protocol.
//!
//! Exit: whatever ends the task (EOF, QUIT, limit, shutdown, or a panic), `Conn`'s
//! `Drop` removes its subscriptions, its arrival stamp and its `maxclients` slot. The
//! normal path does it first, asynchronously and in slices, so a client leaving with a
//! million subscriptions does not hold a worker thread (or a registry lock) for long.

pub mod arrival;
pub mod client;
pub mod outbox;
pub mod session;
pub mod wake_batch;
pub mod wire;

use crate::cmd::{self, Ctx, Out};
use crate::error::{protocol_error_text, ConnError};
use crate::registry::Namespace;
use crate::resp::{Decoder, Encoder, Proto, ProtocolError};
use crate::server::Shared;
use crate::transport::Stream;
use arrival::{Class, Stamp};
use bytes::{Buf, Bytes, BytesMut};
use client::Client;
use outbox::{CloseReason, Event, Finish, Source};
use session::{Session, Subscriptions};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Waker;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Bytes asked of the kernel per read when nothing bigger is pending.
const READ_CHUNK: usize = 16 * 1024;
/// Own replies are pushed to the outbox once this many are buffered mid-batch.
const REPLY_FLUSH: usize = 64 * 1024;
thread_local! {
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Commands run before the task yields to others (a long pipeline of PUBLISHes to many
/// subscribers would otherwise delay every subscriber this worker thread serves).
const COMMANDS_PER_TURN: u64 = 128;
/// Deliveries made before the task yields (16 PUBLISHes to 1000 subscribers).
const DELIVERIES_PER_TURN: u64 = 16 * 1024;

/// Most iovecs per write.
const MAX_IOVECS: usize = 64;

/// Subscriptions removed per registry call when a client leaves; the task yields
/// between slices, so other clients on its worker are served meanwhile.
const TEARDOWN_SLICE: usize = 1024;

/// Output an unauthenticated client may have queued before it is closed: it can't make
/// the server buffer replies to a pipeline of guesses it never reads (Redis 7.2.8+,
/// CVE-2025-21605, uses the same 1 KiB).
const UNAUTHENTICATED_OUTPUT: u64 = 1024;

/// How a connection ended.
#[derive(Debug)]
enum End {
    Eof,
    /// QUIT, or a protocol error after its reply was written.
    Closed,
    Outbox(CloseReason),
    Shutdown,
}

struct Conn {
    shared: Arc<Shared>,
    client: Arc<Client>,
    stamp: Arc<Stamp>,
    read_waker: Waker,
    /// The ticket for bytes read after the last read, applied once its commands ran.
    next_ticket: Option<u64>,
    /// An ordered command read but set aside until earlier readers ran (`arrival`).
    deferred: Option<Vec<Bytes>>,
    /// The strongest class of ordered command already allowed to run at the current
    /// stamp (`arrival` step 5); a mutation allowed implies observations are.
    order_ok: Option<Class>,
    /// The class of the set-aside command while it waits for its turn.
    waiting_turn: Option<Class>,
    /// The set-aside command is held by CLIENT PAUSE (its stamp stays, marked held).
    paused: bool,
    /// The protocol the outbox encodes deliveries in.
    outbox_resp3: bool,
    /// Counted in `Shared::readers` (cleared once it stops running commands).
    reader: bool,
    /// Subscriptions, stamp and client slot are released (else `Drop` does it).
    released: bool,
    session: Session,
    decoder: Decoder,
    rbuf: BytesMut,
    out: Out,
    /// Taken from the outbox, not yet fully written.
    writing: VecDeque<Bytes>,
    /// A malformed request ended the connection (after its error reply is written).
    protocol_error: Option<ProtocolError>,
    /// Commands run in the current read batch (stats are updated once per batch).
    batch_commands: u64,
    /// The read buffer still holds commands: a batch stopped at COMMANDS_PER_TURN.
    more_input: bool,
}

/// Runs one connection to its end and removes every trace of it.
pub async fn serve(
    shared: Arc<Shared>,
    stream: Stream,
    client: Arc<Client>,
    stamp: Arc<Stamp>,
    token: CancellationToken,
) {
    let authenticated = !shared.acl.default_needs_auth();
    shared.readers.fetch_add(1, Relaxed);
    let mut conn = Conn {
        read_waker: stamp.read_waker(),
        stamp,
        next_ticket: None,
        deferred: None,
        order_ok: None,
        waiting_turn: None,
        paused: false,
        outbox_resp3: false,
        reader: true,
        released: false,
        decoder: Decoder::new(shared.decode_limits()),
        session: Session {
            authenticated,
            ..Session::default()
        },
        rbuf: BytesMut::new(),
        out: Out::default(),
        writing: VecDeque::new(),
        protocol_error: None,
        batch_commands: 0,
        more_input: false,
        shared,
        client,
    };
    let mut end = conn.run(&stream, &token).await;
    if let (Ok(End::Closed), Some(e)) = (&end, conn.protocol_error) {
        end = Err(ConnError::Protocol(e));
    }
    if matches!(end, Ok(End::Shutdown)) {
        conn.stop_reading();
        conn.drain_on_shutdown(&stream).await;
    }
    let id = conn.client.id;
    let peer = conn.client.addr.clone();
    match &end {
        Ok(End::Outbox(CloseReason::OutputLimit)) => {
            conn.shared
                .stats
                .output_limit_disconnections
                .fetch_add(1, Relaxed);
            warn!(
                client = id,
                %peer,
                reason = "slow_consumer",
                "client closed for overcoming of output buffer limits"
            );
        }
        Err(ConnError::Protocol(p)) => {
            // Redis logs these only at verbose: one bad client must not flood the log.
            conn.shared.stats.protocol_errors.fetch_add(1, Relaxed);
            if crate::logging::budget(&crate::logging::PROTOCOL_ERROR_LOG) {
                debug!(client = id, %peer, reason = "protocol_error", error = %String::from_utf8_lossy(&protocol_error_text(*p)));
            }
        }
        Err(ConnError::Limit(what)) => {
            if crate::logging::budget(&crate::logging::LIMIT_LOG) {
                warn!(client = id, %peer, reason = "limit", limit = what);
            }
        }
        other => debug!(client = id, %peer, end = ?other, "client gone"),
    }
    conn.release().await;
}

impl Conn {
    async fn run(&mut self, stream: &Stream, token: &CancellationToken) -> Result<End, ConnError> {
        let outbox = self.client.outbox.clone();
        let stamp = self.stamp.clone();
        let read_waker = self.read_waker.clone();
        let shared = self.shared.clone();
        // Created once: a fresh `cancelled()` per pass would register with the token's
        // shared waiter list (one lock for every connection) on each loop pass.
        let cancelled = token.cancelled();
        tokio::pin!(cancelled);
        loop {
            // TLS: handshake records and ciphertext left in rustls are output too.
            let want_write = !self.writing.is_empty() || outbox.has_data() || stream.wants_write();
            if self.session.close_after_reply && !want_write {
                return Ok(End::Closed);
            }
            let read_ok = self.read_allowed();
            if !read_ok && self.deferred.is_none() {
                // A paused or closing client must not hold others back (arrival step 4).
                // A command already read and waiting for its turn keeps the stamp: it
                // arrived then, and without an entry it would never be woken.
                self.stamp.release();
            }
            let more = read_ok && self.more_input;
            let waiting = self.waiting_turn;
            let paused = self.paused;
            tokio::select! {
                biased;
                _ = &mut cancelled => return Ok(End::Shutdown),
                ev = outbox.wait(!want_write) => {
                    if let Event::Closed(reason) = ev {
                        return Ok(End::Outbox(reason));
                    }
                }
                // Reading comes before writing: a reply leaves only once the socket was
                // found empty, so whatever the client sends in answer to it arrives with
                // a wake and is stamped in arrival order (`arrival` steps 1 and 4).
                r = std::future::poll_fn(|cx| stamp.poll_read_ready(stream, cx, &read_waker)),
                    if read_ok && !more && waiting.is_none() => {
                    r?;
                    if !self.read(stream)? {
                        return Ok(End::Eof);
                    }
                }
                r = stream.writable(), if want_write => {
                    r?;
                    self.flush(stream)?;
                }
                // Commands left over from a long batch run after other tasks had a turn.
                _ = tokio::task::yield_now(), if more => {
                    self.more_input = false;
                    self.after_input()?;
                }
                // A set-aside command's turn came (`arrival` step 5).
                _ = std::future::poll_fn(|cx| stamp.poll_turn(waiting.unwrap_or(Class::Mutator), cx)),
                    if waiting.is_some() => {
                    self.waiting_turn = None;
                    self.after_input()?;
                }
                // The pause that held the set-aside command ended: it runs now, at the
                // place in arrival order it had when it was held.
                _ = shared.pause.wait_end(), if paused => {
                    self.paused = false;
                    self.order_ok = None;
                    self.after_input()?;
                }
            }
        }
    }

    /// Reads what the socket has and runs every complete command. Ok(false) on EOF.
    fn read(&mut self, stream: &Stream) -> Result<bool, ConnError> {
        // Readiness may have been set while the task ran, without a wake to stamp it.
        self.stamp.hold();
        self.order_ok = None;
        let read = if self.rbuf.is_empty() {
            // Nothing pending: read into this thread's scratch buffer and keep only what
            // arrived. A per-read 16 KiB allocation would leave every idle connection
            // owning heap pages it touched once.
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let n = stream.try_read(&mut scratch[..])?;
                self.rbuf = BytesMut::from(&scratch[..n]);
                Ok(n)
            })
        } else {
            let want = self
                .decoder
                .needed()
                .unwrap_or(0)
                .clamp(READ_CHUNK, 64 * 1024 * 1024);
            if self.rbuf.capacity() - self.rbuf.len() < want / 2 {
                self.rbuf.reserve(want);
            }
            stream.try_read_buf(&mut self.rbuf)
        };
        match read {
            Ok(0) => return Ok(false),
            Ok(n) => {
                if self.next_ticket.is_none() {
                    self.next_ticket = Some(self.stamp.next_ticket());
                }
                self.shared
                    .stats
                    .net_input_bytes
                    .fetch_add(n as u64, Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e.into()),
        }
        self.after_input()?;
        Ok(true)
    }

    /// Runs the commands waiting in the read buffer and checks the query buffer limit.
    fn after_input(&mut self) -> Result<(), ConnError> {
        // Deliveries to other connections are queued once per subscriber when the
        // commands have run, and subscribers woken once when the batch ends.
        let batch = wake_batch::begin(self.client.id);
        if let Err(e) = self.process() {
            // The error reply is queued; the run loop flushes it and then closes.
            self.protocol_error = Some(e);
        }
        // Before the replies and before the stamp moves on (`wake_batch` says why).
        if let Some(b) = &batch {
            b.flush(&self.shared.limits, &self.shared.registry.drops);
        }
        self.push_replies();
        if !self.more_input && self.deferred.is_none() {
            // Everything read so far has run (arrival step 3).
            if let Some(t) = self.next_ticket.take() {
                self.stamp.advance(t);
                self.order_ok = None;
            }
        }
        if cmd::auth_required(&self.shared, &self.session)
            && self.client.outbox.queued() > UNAUTHENTICATED_OUTPUT
        {
            self.shared
                .stats
                .unauthenticated_output_disconnections
                .fetch_add(1, Relaxed);
            return Err(ConnError::Limit("unauthenticated-output"));
        }
        let pending = self.rbuf.len() as u64 + self.decoder.pending_bytes() as u64;
        self.client.qbuf.store(pending, Relaxed);
        self.client
            .argv_mem
            .store(self.decoder.argv_mem() as u64, Relaxed);
        // Redis compares the query buffer and the MULTI queue together (#12961).
        let held = pending + self.client.multi_mem.load(Relaxed);
        if held > self.shared.query_buffer_limit.load(Relaxed) {
            self.shared
                .stats
                .query_limit_disconnections
                .fetch_add(1, Relaxed);
            return Err(ConnError::Limit("client-query-buffer-limit"));
        }
        if self.rbuf.is_empty() {
            // Idle connections keep no read buffer.
            self.rbuf = BytesMut::new();
        }
        Ok(())
    }

    fn process(&mut self) -> Result<(), ProtocolError> {
        // The first command of a batch reads the clock; each later one starts when the
        // one before it ended (`Out::clock`): nothing between them waits.
        self.out.clock = None;
        let result = self.process_commands();
        // Per read batch rather than per command: a clock read and shared counters
        // bumped per PUBLISH showed up in profiles.
        self.shared.stats.flush(&mut self.out.pending);
        self.out.clock = None;
        self.session.deliveries = 0;
        if self.batch_commands > 0 {
            self.client.touch();
            self.shared
                .stats
                .commands
                .fetch_add(self.batch_commands, Relaxed);
            self.batch_commands = 0;
        }
        result
    }

    fn process_commands(&mut self) -> Result<(), ProtocolError> {
        while !self.session.close_after_reply {
            if self.batch_commands >= COMMANDS_PER_TURN
                || self.session.deliveries >= DELIVERIES_PER_TURN
            {
                // Let the subscribers this batch woke write before running more.
                self.more_input = true;
                break;
            }
            let args = match self.deferred.take() {
                Some(args) => Ok(Some(args)),
                None => {
                    let authenticated = !cmd::auth_required(&self.shared, &self.session);
                    self.decoder.decode(&mut self.rbuf, authenticated)
                }
            };
            match args {
                Ok(Some(args)) => {
                    if !self.execute(args) {
                        // Set aside until earlier readers ran; the run loop waits for
                        // the turn and then comes back here.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let text = protocol_error_text(e);
                    Encoder::new(&mut self.out.buf, self.session.proto).error(&text);
                    self.session.close_after_reply = true;
                    self.client.outbox.seal();
                    // Counted as an `ERR` error reply, as redis-server 7.0.15 does.
                    self.shared.stats.record_error(&text);
                    return Err(e);
                }
            }
            if self.out.buf.len() >= REPLY_FLUSH {
                self.push_replies();
            }
            if self.out.buf.len() as u64 + self.client.outbox.queued() > UNAUTHENTICATED_OUTPUT
                && cmd::auth_required(&self.shared, &self.session)
            {
                // Stop answering guesses the client does not read; after_input closes it.
                break;
            }
        }
        Ok(())
    }

    /// Runs one command. Returns false, keeping `args` in `deferred`, when the command
    /// must wait for connections that read earlier (`arrival` step 5).
    fn execute(&mut self, args: Vec<Bytes>) -> bool {
        let found = cmd::lookup(&args, &self.shared.renames);
        #[cfg(debug_assertions)]
        if args[0].eq_ignore_ascii_case(b"respub-debug-panic") {
            // Tests prove that a panicking connection task leaks nothing (see Drop).
            panic!("respub-debug-panic: a test asked this connection task to panic");
        }
        if self.shared.pause.active()
            && cmd::held_by_pause(&self.shared, &self.session, &found, &args)
        {
            // CLIENT PAUSE: set aside like a command waiting for its turn. It keeps its
            // place in arrival order, but nobody waits for it while the pause lasts
            // (Redis lets everyone else go on); the pause's end puts it back.
            let class = match &found {
                Ok(spec) if spec.observes() => Class::Observer,
                Ok(spec) if spec.ordered() => Class::Mutator,
                _ => Class::Unknown,
            };
            self.stamp.hold_for_pause(class);
            self.paused = true;
            self.deferred = Some(args);
            return false;
        }
        if let Ok(spec) = &found {
            if spec.ordered() {
                let class = if spec.observes() {
                    Class::Observer
                } else {
                    Class::Mutator
                };
                let allowed = matches!(
                    (self.order_ok, class),
                    (Some(Class::Mutator), _) | (Some(Class::Observer), Class::Observer)
                );
                if !allowed {
                    if !self.stamp.try_turn(class, None) {
                        self.deferred = Some(args);
                        self.waiting_turn = Some(class);
                        return false;
                    }
                    self.order_ok = Some(class);
                }
            }
        }
        self.batch_commands += 1;
        let was_pubsub = self.pubsub_limits();
        let mut ctx = Ctx {
            shared: &self.shared,
            client: &self.client,
            session: &mut self.session,
            out: &mut self.out,
        };
        cmd::run(&mut ctx, found, args);
        if self.session.close_after_reply {
            self.client.outbox.seal();
        }
        let resp3 = self.session.proto == Proto::Resp3;
        let switch_resp3 = (resp3 != self.outbox_resp3).then_some(resp3);
        let pubsub = self.pubsub_limits();
        if self.session.corked || switch_resp3.is_some() || was_pubsub || pubsub {
            // The outbox's ordering rules, applied once the reply is complete.
            self.session.corked = false;
            self.outbox_resp3 = resp3;
            let subs = &self.session.subs;
            self.client.outbox.finish_command(
                &mut self.out.buf,
                &self.shared.limits,
                Finish {
                    switch_resp3,
                    pubsub,
                },
                |source, key| subs.holds(source, key),
            );
        }
        true
    }

    fn push_replies(&mut self) {
        if !self.out.buf.is_empty() {
            let finish = Finish {
                switch_resp3: None,
                pubsub: self.pubsub_limits(),
            };
            self.client.outbox.finish_command(
                &mut self.out.buf,
                &self.shared.limits,
                finish,
                |_, _| true,
            );
        }
        if self.out.buf.capacity() > REPLY_FLUSH && self.out.buf.is_empty() {
            // A big reply (SUBSCRIBE of thousands of channels) must not leave its buffer
            // behind on an otherwise idle connection.
            self.out.buf = BytesMut::new();
        }
    }

    /// Whether the subscriber output limits apply: subscriptions, or MONITOR (a monitor
    /// is bounded like a subscriber, so a slow one is dropped rather than grow).
    fn pubsub_limits(&self) -> bool {
        self.session.subs.total() > 0 || self.session.monitor
    }

    /// Whether the connection takes more commands now (not closing, not paused).
    fn read_allowed(&self) -> bool {
        !self.paused
            && !self.session.close_after_reply
            && self.client.outbox.queued() < self.shared.reply_pause_bytes.load(Relaxed)
    }

    /// Writes as much as the socket takes without blocking.
    fn flush(&mut self, stream: &Stream) -> Result<(), ConnError> {
        loop {
            if self.writing.is_empty() {
                self.client.outbox.take_into(&mut self.writing);
                if self.writing.is_empty() {
                    return Ok(stream.try_write_pending()?);
                }
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (slot, bytes) in slices.iter_mut().zip(&self.writing) {
                *slot = IoSlice::new(bytes);
                count += 1;
            }
            match stream.try_write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(mut n) => {
                    self.shared
                        .stats
                        .net_output_bytes
                        .fetch_add(n as u64, Relaxed);
                    self.client.outbox.consumed(n as u64);
                    while n > 0 {
                        let front = self
                            .writing
                            .front_mut()
                            .expect("written bytes came from the queue");
                        if front.len() <= n {
                            n -= front.len();
                            self.writing.pop_front();
                        } else {
                            front.advance(n);
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// This connection runs no more commands: it leaves the arrival order and the
    /// count of readers that shutdown waits for.
    fn stop_reading(&mut self) {
        self.stamp.release();
        self.deferred = None;
        self.waiting_turn = None;
        self.paused = false;
        if std::mem::take(&mut self.reader) && self.shared.readers.fetch_sub(1, Relaxed) == 1 {
            self.shared.quiesced.notify_waiters();
        }
    }

    /// On shutdown: keeps writing until every connection has stopped running commands
    /// (so a message whose PUBLISH was acknowledged before shutdown reaches subscribers
    /// still connected) and this outbox is empty, within `shutdown-timeout`.
    async fn drain_on_shutdown(&mut self, stream: &Stream) {
        let limit = std::time::Duration::from_secs(self.shared.shutdown_timeout());
        let outbox = self.client.outbox.clone();
        let shared = self.shared.clone();
        let _ = tokio::time::timeout(limit, async {
            loop {
                let quiesced = shared.quiesced.notified();
                let idle = shared.readers.load(Relaxed) == 0;
                let want_write =
                    !self.writing.is_empty() || outbox.has_data() || stream.wants_write();
                if idle && !want_write {
                    return;
                }
                tokio::select! {
                    r = stream.writable(), if want_write => {
                        if r.is_err() || self.flush(stream).is_err() {
                            return;
                        }
                    }
                    ev = outbox.wait(!want_write) => {
                        if matches!(ev, Event::Closed(_)) {
                            return;
                        }
                    }
                    _ = quiesced, if !idle => {}
                }
            }
        })
        .await;
    }

    /// Removes every trace of the connection: subscriptions (in slices, yielding
    /// between them), the arrival stamp, counters and the client slot. A teardown that
    /// fits in one slice keeps the arrival stamp until it is done, so a command read
    /// after this client's EOF (PUBSUB NUMSUB) sees it gone; a bigger one lets others
    /// go first rather than hold their ordered commands.
    async fn release(&mut self) {
        let id = self.client.id;
        let subs = std::mem::take(&mut self.session.subs);
        if subs.total() > 0 {
            self.shared.stats.pubsub_clients.fetch_sub(1, Relaxed);
        }
        if subs.total() > TEARDOWN_SLICE {
            self.stamp.release();
        }
        let trim = subs.total() >= crate::memtrim::TRIM_AFTER_SUBSCRIPTIONS;
        self.client.outbox.close(CloseReason::Shutdown);
        let registry = &self.shared.registry;
        let lists = [
            (Source::Channel, subs.channels),
            (Source::Pattern, subs.patterns),
            (Source::Shard, subs.shard_channels),
        ];
        let mut first = true;
        for (source, set) in lists {
            let mut names: Vec<Bytes> = set.into_iter().collect();
            while !names.is_empty() {
                if !first {
                    tokio::task::yield_now().await;
                }
                first = false;
                // Taken off the end and dropped here, so the names are freed a slice at
                // a time too, not in one long drop at the end.
                let slice = names.split_off(names.len().saturating_sub(TEARDOWN_SLICE));
                match source {
                    Source::Channel => registry.unsubscribe(Namespace::Channel, &slice, id),
                    Source::Pattern => registry.punsubscribe(&slice, id),
                    Source::Shard => registry.unsubscribe(Namespace::Shard, &slice, id),
                }
            }
        }
        if trim {
            crate::memtrim::trim_soon();
        }
        self.finish_release();
    }

    fn finish_release(&mut self) {
        self.shared.monitors.remove(self.client.id);
        self.stop_reading();
        // A read wake already on its way must not stamp a connection that is gone.
        self.stamp.retire();
        self.client.outbox.close(CloseReason::Shutdown);
        self.shared.clients.remove(self.client.id);
        self.released = true;
    }
}

/// The exit path of last resort: a connection task that panicked (or was dropped
/// without finishing) still gives back everything it held.
impl Drop for Conn {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let id = self.client.id;
        let subs: Subscriptions = std::mem::take(&mut self.session.subs);
        if subs.total() > 0 {
            self.shared.stats.pubsub_clients.fetch_sub(1, Relaxed);
        }
        let registry = &self.shared.registry;
        registry.unsubscribe(Namespace::Channel, subs.channels.iter(), id);
        registry.punsubscribe(subs.patterns.iter(), id);
        registry.unsubscribe(Namespace::Shard, subs.shard_channels.iter(), id);
        self.finish_release();
    }
}
