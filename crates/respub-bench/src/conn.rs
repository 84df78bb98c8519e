//! One client connection with its read buffer, for setup-time request/reply exchanges
//! (SUBSCRIBE confirmations, PING). The hot loops in `load` take the socket and buffer
//! apart and parse in place.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::resp::{self, Frame, Item};
use crate::tls::{self, Stream};

/// How long any single setup exchange may take before the run is declared failed.
pub(crate) const SETUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection plus unparsed bytes `buf[start..end]`.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) buf: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Conn {
    /// Connects to `addr`, which must be a loopback address (the bench never targets
    /// other hosts).
    pub(crate) async fn connect(addr: SocketAddr, buf_size: usize) -> io::Result<Conn> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::other("respub-bench only targets 127.0.0.1"));
        }
        let stream = tokio::time::timeout(SETUP_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let stream = tokio::time::timeout(SETUP_TIMEOUT, tls::wrap(stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        Ok(Conn {
            stream,
            buf: vec![0; buf_size.max(64)],
            start: 0,
            end: 0,
        })
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    pub(crate) async fn command(&mut self, args: &[&[u8]]) -> io::Result<()> {
        let mut out = bytes::BytesMut::new();
        resp::encode_command(&mut out, args);
        self.send(&out).await
    }

    /// Makes room for more input: moves the unparsed tail to the front, and doubles the
    /// buffer when a single frame does not fit.
    pub(crate) fn make_room(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
    }

    /// Reads more bytes; EOF is an error because setup never expects the server to close.
    async fn fill(&mut self) -> io::Result<()> {
        self.make_room();
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// Reads the next frame and hands it to `f`, failing after `SETUP_TIMEOUT`.
    pub(crate) async fn next_frame<R>(&mut self, f: impl FnOnce(Frame<'_>) -> R) -> io::Result<R> {
        let deadline = tokio::time::Instant::now() + SETUP_TIMEOUT;
        loop {
            if let Some((frame, used)) = resp::parse_frame(&self.buf[self.start..self.end])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
            {
                let r = f(frame);
                self.start += used;
                return Ok(r);
            }
            tokio::time::timeout_at(deadline, self.fill())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply in time"))??;
        }
    }

    /// Sends `verb name...` (SUBSCRIBE/PSUBSCRIBE/PUNSUBSCRIBE) and waits for one
    /// confirmation per name, checking each has the expected kind.
    pub(crate) async fn subscribe_like(
        &mut self,
        verb: &[u8],
        confirm: &[u8],
        names: &[Vec<u8>],
    ) -> io::Result<()> {
        let mut args: Vec<&[u8]> = Vec::with_capacity(names.len() + 1);
        args.push(verb);
        args.extend(names.iter().map(Vec::as_slice));
        self.command(&args).await?;
        for _ in 0..names.len().max(1) {
            let ok = self
                .next_frame(|f| matches!(f.items().first(), Some(Item::Bulk(k)) if *k == confirm))
                .await?;
            if !ok {
                return Err(io::Error::other(format!(
                    "unexpected reply to {}",
                    String::from_utf8_lossy(verb)
                )));
            }
        }
        Ok(())
    }

    /// `HELLO 3`: switches the connection to RESP3, so deliveries arrive as `>` pushes.
    pub(crate) async fn hello3(&mut self) -> io::Result<()> {
        self.command(&[b"HELLO", b"3"]).await?;
        let ok = self
            .next_frame(|f| f == Frame::Scalar(Item::Aggregate))
            .await?;
        if ok {
            Ok(())
        } else {
            Err(io::Error::other("HELLO 3 did not answer with a map"))
        }
    }

    /// PING round trip; returns an error unless the reply is `+PONG`.
    pub(crate) async fn ping(&mut self) -> io::Result<()> {
        self.send(b"*1\r\n$4\r\nPING\r\n").await?;
        let ok = self
            .next_frame(|f| f == Frame::Scalar(Item::Simple(b"PONG")))
            .await?;
        if ok {
            Ok(())
        } else {
            Err(io::Error::other("PING did not return PONG"))
        }
    }
}
