//! A connected socket (TCP or Unix) registered with the I/O driver for read interest
//! alone, the way redis-server registers its clients.
//!
//! Why not tokio's `TcpStream`: it registers every socket for read *and* write
//! interest, edge-triggered, and a socket is writable the moment it is accepted. So
//! the registration itself puts the socket on epoll's ready list, and it stays there
//! until the driver next collects events. Bytes that arrive meanwhile do not move it:
//! epoll then reports that socket ahead of sockets whose bytes arrived earlier, and
//! `conn::arrival` stamps it first. That was the largest cause of issue 11's misses: a
//! client connects A and B and at once sends `SUBSCRIBE x` on A and `PUBLISH x` on B;
//! B's registration was still on the ready list when A's bytes arrived, and B's
//! PUBLISH ran first (`:0`) in about one try in five (983 of 5,000; none of 20,000
//! since). A write-space event (after a write found the buffer full) can do the same
//! to a busy subscriber. redis-server registers only read interest until it has
//! output pending, so neither happens there.
//!
//! The design:
//! - The socket's own descriptor is registered for read interest only, so epoll
//!   reports it only when bytes (or the end) arrive, in arrival order.
//! - Writes go straight to the socket. Only when one finds the socket full is a second
//!   descriptor made (`dup`, so epoll keeps a separate entry for it) and registered
//!   for write interest; it is kept for the connection's life. Its events never touch
//!   the read entry's place on the ready list. Most connections never fill their
//!   socket and never make it.
//! - If the `dup` fails (out of descriptors), writing falls back to retrying after a
//!   millisecond: slower for that client, never stuck. `Server::bind` raises the
//!   open-file limit to twice `maxclients` so that it does not happen in practice.
//!
//! `AsyncFd::with_interest` is deprecated in tokio because an `AsRawFd` type may not
//! own its descriptor; here the inner value is a std socket that owns it, closed only
//! when the `AsyncFd` (which deregisters first) drops it, so the use is sound. The
//! non-deprecated replacement is `unsafe`, which this crate forbids.

use bytes::BytesMut;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// What a std socket type gives this module: reading and writing through a shared
/// borrow, and a second descriptor for the same socket.
pub trait Connected: AsRawFd + Send + Sync + Sized + 'static
where
    for<'a> &'a Self: Read + Write,
{
    fn duplicate(&self) -> io::Result<Self>;
}

impl Connected for std::net::TcpStream {
    fn duplicate(&self) -> io::Result<Self> {
        self.try_clone()
    }
}

impl Connected for std::os::unix::net::UnixStream {
    fn duplicate(&self) -> io::Result<Self> {
        self.try_clone()
    }
}

/// Plain TCP.
pub type TcpSocket = Socket<std::net::TcpStream>;
/// A Unix domain socket.
pub type UnixSocket = Socket<std::os::unix::net::UnixStream>;

#[derive(Debug)]
pub struct Socket<S: Connected>
where
    for<'a> &'a S: Read + Write,
{
    read: AsyncFd<S>,
    /// Made on the first write that finds the socket full; `Err` if `dup` failed.
    write: OnceLock<io::Result<AsyncFd<S>>>,
    /// A write found the socket full before `write` existed: `writable` must wait.
    blocked: AtomicBool,
}

impl<S: Connected> Socket<S>
where
    for<'a> &'a S: Read + Write,
{
    /// Registers `socket` (made non-blocking here) for read interest.
    pub fn new(socket: S, nonblocking: impl FnOnce(&S) -> io::Result<()>) -> io::Result<Self> {
        nonblocking(&socket)?;
        #[allow(deprecated)] // sound here: see the module comment
        let read = AsyncFd::with_interest(socket, Interest::READABLE)?;
        Ok(Socket {
            read,
            write: OnceLock::new(),
            blocked: AtomicBool::new(false),
        })
    }

    pub fn get_ref(&self) -> &S {
        self.read.get_ref()
    }

    /// Polls read readiness (registers `cx`'s waker with the I/O driver when pending).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.read.poll_read_ready(cx).map_ok(|_| ())
    }

    /// Reads what is there; `WouldBlock` (clearing readiness) when nothing is.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read.try_io(Interest::READABLE, |s| (&*s).read(buf))
    }

    /// Like `try_read`, appending to `buf`'s spare capacity.
    pub fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        super::read_into_spare(buf, |spare| self.try_read(spare))
    }

    fn writer(&self) -> Option<&AsyncFd<S>> {
        self.write.get()?.as_ref().ok()
    }

    /// Writes what fits now; `WouldBlock` when nothing does.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.writer() {
            // Once registered, tokio's readiness says when to try (and is cleared on a
            // `WouldBlock`, so the next edge is waited for).
            Some(w) => w.try_io(Interest::WRITABLE, |s| (&*s).write_vectored(bufs)),
            None => {
                let r = self.read.get_ref().write_vectored(bufs);
                if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                    self.blocked.store(true, Relaxed);
                }
                r
            }
        }
    }

    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write_vectored(&[IoSlice::new(buf)])
    }

    /// Waits until the socket may take more bytes. Until a write has found it full,
    /// that is at once (nothing is registered for write interest before that).
    pub async fn writable(&self) -> io::Result<()> {
        if self.write.get().is_none() && !self.blocked.load(Relaxed) {
            return Ok(());
        }
        let registered = self.write.get_or_init(|| {
            let dup = self.read.get_ref().duplicate()?;
            #[allow(deprecated)] // sound here: see the module comment
            AsyncFd::with_interest(dup, Interest::WRITABLE)
        });
        match registered {
            Ok(w) => w.writable().await.map(|_| ()),
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok(())
            }
        }
    }

    /// Writes all of `buf`, waiting as needed.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.try_write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<S: Connected> AsRawFd for Socket<S>
where
    for<'a> &'a S: Read + Write,
{
    fn as_raw_fd(&self) -> RawFd {
        self.read.get_ref().as_raw_fd()
    }
}
