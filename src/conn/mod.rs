//! One task per connection: it owns the socket, the client's protocol version and its
//! subscriptions. It reads and decodes requests, runs them through `cmd`, and writes
//! whatever the outbox holds (its own replies and publishers' deliveries) with
//! vectored writes. Reading, writing and outbox events are awaited in one `select!`, so
//! an idle connection is one small future with no buffers.

pub mod client;
pub mod outbox;
pub mod session;

use crate::cmd::{self, Ctx, Out};
use crate::error::{protocol_error_text, ConnError};
use crate::registry::Namespace;
use crate::resp::{Decoder, Encoder, ProtocolError};
use crate::server::Shared;
use bytes::{Buf, Bytes, BytesMut};
use client::Client;
use outbox::{CloseReason, Event};
use session::Session;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

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
    stream: TcpStream,
    client: Arc<Client>,
    token: CancellationToken,
) {
    let authenticated = shared.requirepass().is_none();
    let mut conn = Conn {
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
        conn.drain_on_shutdown(&stream).await;
    }
    let id = conn.client.id;
    let peer = conn.client.addr;
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
            info!(client = id, %peer, reason = "protocol_error", error = %String::from_utf8_lossy(&protocol_error_text(*p)));
        }
        Err(ConnError::Limit(what)) => {
            warn!(client = id, %peer, reason = "limit", limit = what);
        }
        other => debug!(client = id, %peer, end = ?other, "client gone"),
    }
    conn.cleanup();
}

impl Conn {
    async fn run(
        &mut self,
        stream: &TcpStream,
        token: &CancellationToken,
    ) -> Result<End, ConnError> {
        let outbox = self.client.outbox.clone();
        loop {
            let want_write = !self.writing.is_empty() || outbox.has_data();
            if self.session.close_after_reply && !want_write {
                return Ok(End::Closed);
            }
            let read_ok = !self.session.close_after_reply
                && outbox.queued() < self.shared.reply_pause_bytes.load(Relaxed);
            let more = read_ok && self.more_input;
            tokio::select! {
                biased;
                _ = token.cancelled() => return Ok(End::Shutdown),
                ev = outbox.wait(!want_write) => {
                    if let Event::Closed(reason) = ev {
                        return Ok(End::Outbox(reason));
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
                r = stream.readable(), if read_ok && !more => {
                    r?;
                    if !self.read(stream)? {
                        return Ok(End::Eof);
                    }
                }
            }
        }
    }

    /// Reads what the socket has and runs every complete command. Ok(false) on EOF.
    fn read(&mut self, stream: &TcpStream) -> Result<bool, ConnError> {
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
        if let Err(e) = self.process() {
            // The error reply is queued; the run loop flushes it and then closes.
            self.protocol_error = Some(e);
        }
        self.push_replies();
        let pending = self.rbuf.len() as u64 + self.decoder.pending_bytes() as u64;
        self.client.qbuf.store(pending, Relaxed);
        if pending > self.shared.query_buffer_limit.load(Relaxed) {
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
        let result = self.process_commands();
        // Per read batch rather than per command: a clock read and a shared counter
        // bumped per PUBLISH showed up in profiles.
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
            match self
                .decoder
                .decode(&mut self.rbuf, self.session.authenticated)
            {
                Ok(Some(args)) => self.execute(args),
                Ok(None) => break,
                Err(e) => {
                    Encoder::new(&mut self.out.buf, self.session.proto)
                        .error(&protocol_error_text(e));
                    self.session.close_after_reply = true;
                    self.client.outbox.seal();
                    self.shared.stats.error_replies.fetch_add(1, Relaxed);
                    return Err(e);
                }
            }
            if self.out.buf.len() >= REPLY_FLUSH {
                self.push_replies();
            }
        }
        Ok(())
    }

    fn execute(&mut self, args: Vec<Bytes>) {
        self.batch_commands += 1;
        let found = cmd::lookup(&args);
        // Deliveries that race with this command are held and written after its reply
        // (see outbox): only needed when the client is or may become a subscriber.
        let cork = self.session.subs.total() > 0 || found.as_ref().is_ok_and(|s| s.may_subscribe());
        if cork {
            self.client.outbox.cork();
        }
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
        if cork {
            self.client
                .outbox
                .uncork_with(&mut self.out.buf, &self.shared.limits);
        }
    }

    fn push_replies(&mut self) {
        if !self.out.buf.is_empty() {
            self.client
                .outbox
                .uncork_with(&mut self.out.buf, &self.shared.limits);
        }
    }

    /// Writes as much as the socket takes without blocking.
    fn flush(&mut self, stream: &TcpStream) -> Result<(), ConnError> {
        loop {
            if self.writing.is_empty() {
                self.client.outbox.take_into(&mut self.writing);
                if self.writing.is_empty() {
                    return Ok(());
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

    /// On shutdown, give queued output a bounded chance to reach the client.
    async fn drain_on_shutdown(&mut self, stream: &TcpStream) {
        let limit = std::time::Duration::from_secs(self.shared.shutdown_timeout());
        let _ = tokio::time::timeout(limit, async {
            while !self.writing.is_empty() || self.client.outbox.has_data() {
                if stream.writable().await.is_err() || self.flush(stream).is_err() {
                    break;
                }
            }
        })
        .await;
    }

    fn cleanup(&mut self) {
        let id = self.client.id;
        let subs = std::mem::take(&mut self.session.subs);
        if subs.total() > 0 {
            self.shared.stats.pubsub_clients.fetch_sub(1, Relaxed);
        }
        let registry = &self.shared.registry;
        registry.unsubscribe(Namespace::Channel, subs.channels.iter(), id);
        registry.punsubscribe(subs.patterns.iter(), id);
        registry.unsubscribe(Namespace::Shard, subs.shard_channels.iter(), id);
        self.client.outbox.close(CloseReason::Shutdown);
        self.shared.clients.remove(id);
    }
}
