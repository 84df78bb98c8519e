//! Transports: the byte pipes a connection talks through. This module owns how a
//! listener accepts, what a stream can do, and how a peer's address reads in CLIENT LIST;
//! it knows nothing of RESP, commands or the outbox.
//!
//! ```text
//! socket -> transport (tcp | tls | unix | websocket) -> resp decode -> cmd -> registry
//!        -> outbox -> transport -> socket
//! ```
//!
//! The connection loop (`conn`) needs exactly four things from a stream, all through a
//! shared borrow because one `select!` polls reading and writing at once:
//!
//! 1. wait until readable (`poll_read_ready`, through the arrival stamp's waker:
//!    `conn::arrival` stamps a connection when this readiness fires, and releases its
//!    stamp only when this poll finds nothing to read),
//! 2. read what is there without waiting (`try_read`, `try_read_buf`),
//! 3. wait until writable (`writable`),
//! 4. write what fits without waiting (`try_write_vectored`).
//!
//! TCP and Unix streams are `socket::Socket`s, not tokio's stream types: registered with
//! the I/O driver for read interest only, so that epoll reports sockets in the order
//! their bytes arrived, which `conn::arrival` relies on (`socket` says why).
//!
//! `Stream` is an enum rather than a `Box<dyn Trait>`: the set of transports is closed
//! and known here; every call on the hot path (a read per wake, a write per flush)
//! stays a direct, inlinable call with no allocation per connection; and `writable()` is
//! an `async fn`, which a trait object could only offer as a boxed future per call.
//! Adding a transport is one variant and one arm per method, which the compiler checks.
//!
//! TLS (issue 7, rustls; `tls` says why rustls directly) is built this way: a `Tls`
//! variant holding the `TcpStream` and a `rustls::ServerConnection` behind a
//! `std::sync::Mutex` (only its own connection task locks it, never across an `.await`). The four operations keep their meaning over the
//! plaintext, with the TCP socket's readiness underneath:
//! - `poll_read_ready` must answer Ready while rustls still holds decrypted plaintext or
//!   unprocessed records, even if the TCP socket is empty; otherwise the arrival stamp
//!   is released with commands still unread and they would wait for the client's next
//!   bytes (step 4 of `conn::arrival`).
//! - `try_read` reads ciphertext with the inner `try_read`, feeds `read_tls` and
//!   `process_new_packets`, then copies plaintext out; `WouldBlock` only when neither
//!   the socket nor rustls has plaintext. Handshake and alert records produce output
//!   that must be written even when the outbox is empty, so TLS adds a
//!   `wants_write()` (false for TCP and Unix) that the loop ORs into its `want_write`.
//! - `try_write_vectored` hands plaintext to rustls and pushes ciphertext with the
//!   inner `try_write`; it may report plaintext accepted while ciphertext still waits
//!   in rustls (`wants_write()` covers that), and must cap how much plaintext it
//!   accepts so the outbox's byte accounting (`consumed`) stays a bound on memory.
//!
//! A WebSocket transport is the same shape one level up: frames decoded from an inner
//! stream (TCP or TLS) into a plaintext buffer, messages framed on the way out.

mod peer;
mod socket;
mod tcp;
mod tls;
mod unix;

pub use peer::Peer;
pub use socket::{TcpSocket, UnixSocket};
pub use tls::{TlsContext, TlsStream};
pub use unix::{bind_unix, UnixBinding};

use bytes::BytesMut;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpListener;

/// One accepted connection's byte pipe.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpSocket),
    Unix(UnixSocket),
    /// Boxed: a rustls session is a few KiB, and most connections are plain.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Polls read readiness (registers `cx`'s waker with the I/O driver when pending).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => s.poll_read_ready(cx),
            Stream::Unix(s) => s.poll_read_ready(cx),
            Stream::Tls(s) => s.poll_read_ready(cx),
        }
    }

    /// Reads what is available into `buf`; `WouldBlock` when nothing is, `Ok(0)` at EOF.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.try_read(buf),
            Stream::Unix(s) => s.try_read(buf),
            Stream::Tls(s) => s.try_read(buf),
        }
    }

    /// Like `try_read`, appending to `buf`'s spare capacity.
    pub fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.try_read_buf(buf),
            Stream::Unix(s) => s.try_read_buf(buf),
            Stream::Tls(s) => s.try_read_buf(buf),
        }
    }

    /// Waits until the stream may take more bytes.
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.writable().await,
            Stream::Unix(s) => s.writable().await,
            Stream::Tls(s) => s.as_tcp().writable().await,
        }
    }

    /// Writes what fits now from `bufs`, in order; `WouldBlock` when nothing fits.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.try_write_vectored(bufs),
            Stream::Unix(s) => s.try_write_vectored(bufs),
            Stream::Tls(s) => s.try_write_vectored(bufs),
        }
    }

    /// Writes all of `buf`, waiting as needed (the `maxclients` refusal only).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(buf).await,
            Stream::Unix(s) => s.write_all(buf).await,
            // redis-server 7.0 refuses a TLS client before its handshake (its write of
            // the error fails), so the client only sees the connection end: the same.
            Stream::Tls(_) => Ok(()),
        }
    }

    /// TLS records (handshake, alerts, encrypted output) wait to be written even if the
    /// outbox is empty; the loop ORs this into its `want_write`. False for TCP and Unix.
    pub fn wants_write(&self) -> bool {
        match self {
            Stream::Tls(s) => s.wants_write(),
            Stream::Tcp(_) | Stream::Unix(_) => false,
        }
    }

    /// Writes what `wants_write` reported, without waiting; Ok when nothing is left or
    /// the socket is full (readiness then says when to come back).
    pub fn try_write_pending(&self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => match s.try_write_pending() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                r => r,
            },
            Stream::Tcp(_) | Stream::Unix(_) => Ok(()),
        }
    }
}

/// `try_read_buf` for transports that read into an initialised slice (safe code cannot
/// read into uninitialised memory): zero-fills at most `READ_MAX` of `buf`'s spare
/// capacity, reads into it, and cuts it back to what was read. The cap matters: the
/// connection reserves up to a whole large argument at once, and zero-filling all of it
/// on every read would cost quadratic time for a 64 MiB bulk arriving 64 KiB at a time.
fn read_into_spare(
    buf: &mut BytesMut,
    read: impl FnOnce(&mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    const READ_MAX: usize = 64 * 1024;
    let start = buf.len();
    if buf.capacity() == start {
        buf.reserve(16 * 1024);
    }
    let end = buf.capacity().min(start + READ_MAX);
    buf.resize(end, 0);
    let r = read(&mut buf[start..]);
    buf.truncate(start + *r.as_ref().unwrap_or(&0));
    r
}

impl AsRawFd for Stream {
    /// The descriptor CLIENT LIST prints as `fd=`.
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.as_tcp().as_raw_fd(),
        }
    }
}

/// A bound listening socket of any transport.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixBinding),
    /// A TCP port speaking TLS; the context is shared with CONFIG SET (reloads).
    Tls(TcpListener, Arc<TlsContext>),
}

impl Listener {
    /// Accepts one connection: the stream, the peer's address (`addr=`) and the local
    /// one (`laddr=`), as CLIENT LIST shows them.
    pub async fn accept(&self) -> io::Result<(Stream, Peer, Peer)> {
        match self {
            Listener::Tcp(l) => tcp::accept(l).await,
            Listener::Unix(l) => l.accept().await,
            Listener::Tls(l, ctx) => tls::accept(l, ctx).await,
        }
    }

    /// The TCP address bound, `None` for other transports.
    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(_) | Listener::Tls(..) => None,
        }
    }

    /// The TLS address bound, `None` for other transports.
    pub fn tls_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Listener::Tls(l, _) => l.local_addr().ok(),
            Listener::Tcp(_) | Listener::Unix(_) => None,
        }
    }

    /// The socket file, `None` for other transports.
    pub fn unix_path(&self) -> Option<&str> {
        match self {
            Listener::Tcp(_) | Listener::Tls(..) => None,
            Listener::Unix(l) => Some(l.path()),
        }
    }

    /// Called once the server stops accepting on this listener: a Unix socket removes
    /// its file (Redis, `closeListeningSockets`: "Removing the unix socket file.").
    pub fn close(self) {
        if let Listener::Unix(l) = self {
            l.remove_file();
        }
    }
}
