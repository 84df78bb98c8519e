//! The properties the fuzz targets (`fuzz/`, cargo-fuzz on nightly) check, kept in the
//! library so the same code also runs on stable inside `cargo test` (tests/fuzz.rs
//! replays the seed corpus and every crash ever found, plus a bounded random run).
//!
//! - [`decode_chunked`]: the request decoder gives the same commands and the same error
//!   whether the bytes arrive at once or cut at arbitrary points (it is resumable), never
//!   panics, and never holds more than the input.
//! - [`Session`]: whole command sequences from two connections racing against one
//!   in-process server with small limits; after each input the server still answers
//!   another client within a second and every connection of the input is gone from the
//!   client table (nothing leaked, nothing stuck).

use crate::config::Config;
use crate::resp::{DecodeLimits, Decoder, ProtocolError};
use crate::server::{Server, Shared};
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Small limits so the fuzzer reaches them.
fn limits() -> DecodeLimits {
    DecodeLimits {
        max_bulk_len: 4096,
        max_multibulk_len: 64,
        max_inline_len: 1024,
    }
}

type Outcome = (Vec<Vec<Bytes>>, Option<ProtocolError>);

fn decode_all(chunks: &[&[u8]], authenticated: bool) -> Outcome {
    let mut d = Decoder::new(limits());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf, authenticated) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "a command with no arguments");
                    out.push(args)
                }
                Ok(None) => break,
                Err(e) => {
                    // Terminal: the same bytes give the same error again.
                    assert_eq!(d.decode(&mut buf, authenticated), Err(e));
                    return (out, Some(e));
                }
            }
        }
    }
    (out, None)
}

/// First byte: bit 0 = authenticated, the rest seeds the cut points; then the request
/// bytes.
pub fn decode_chunked(data: &[u8]) {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let authenticated = flags & 1 == 1;
    let whole = decode_all(&[input], authenticated);
    let mut cuts = Vec::new();
    let mut rest = input;
    let mut seed = u32::from(flags).wrapping_mul(2_654_435_761) | 1;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed as usize % 7 + 1).min(rest.len());
        let (a, b) = rest.split_at(n);
        cuts.push(a);
        rest = b;
    }
    let pieces = decode_all(&cuts, authenticated);
    // A line with no newline yet is "too big" once the buffer holds more than the limit,
    // so where reads end decides whether a long line errs (in Redis too). Those errors
    // may differ; the commands before them must still agree.
    let size_dependent = |o: &Outcome| {
        matches!(
            o.1,
            Some(
                ProtocolError::TooBigInlineRequest
                    | ProtocolError::TooBigMbulkCountString
                    | ProtocolError::TooBigBulkCountString
            )
        )
    };
    if size_dependent(&whole) || size_dependent(&pieces) {
        let n = whole.0.len().min(pieces.0.len());
        assert_eq!(whole.0[..n], pieces.0[..n], "cut input decoded differently");
    } else {
        assert_eq!(whole, pieces, "cut input decoded differently");
    }
    let total: usize = whole.0.iter().flatten().map(Bytes::len).sum();
    assert!(total <= input.len(), "decoded more bytes than were sent");
}

/// One in-process server shared by every input of a run.
#[derive(Debug)]
pub struct Session {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Session {
    pub fn start() -> Session {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        // A free port: `port 0` means "no TCP listener", as in Redis.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("probe a free port")
            .port()
            .to_string();
        let mut config = Config::default();
        for (k, v) in [
            ("bind", "127.0.0.1"),
            ("port", port.as_str()),
            ("proto-max-bulk-len", "1mb"),
            ("client-query-buffer-limit", "1mb"),
            (
                "client-output-buffer-limit",
                "pubsub 64kb 16kb 1 normal 256kb 0 0",
            ),
            ("reply-pause-bytes", "64kb"),
            ("max-subscriptions-per-client", "1000"),
            ("maxclients", "64"),
        ] {
            config.apply(k, v).expect("fuzz config");
        }
        let server = runtime
            .block_on(Server::bind(config, None))
            .expect("bind the fuzz server");
        let addr = server.local_addrs()[0];
        let shared = server.shared().clone();
        runtime.spawn(server.run(std::future::pending()));
        Session {
            runtime,
            addr,
            shared,
        }
    }

    /// First byte splits the rest between connection A and B; each side's bytes are
    /// written in pieces while both read whatever comes back, then half-closed and read to
    /// the end; at most 200 ms per connection.
    pub fn run(&self, data: &[u8]) {
        let Some((&split, rest)) = data.split_first() else {
            return;
        };
        let at = rest.len() * usize::from(split) / 255;
        let (a, b) = rest.split_at(at);
        let addr = self.addr;
        self.runtime.block_on(async move {
            let one = |bytes: Vec<u8>| async move {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    return;
                };
                let mut sink = vec![0u8; 64 * 1024];
                let work = async {
                    for piece in bytes.chunks(97) {
                        if s.write_all(piece).await.is_err() {
                            return;
                        }
                        // Read what is there so replies never block the server's writes
                        // for long (a client that never reads is a separate test).
                        let _ =
                            tokio::time::timeout(Duration::from_millis(1), s.read(&mut sink)).await;
                    }
                    // Half-close: the server sees EOF, closes the client, and the read
                    // below ends at once instead of waiting out a silence.
                    let _ = s.shutdown().await;
                    while let Ok(n) = s.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_millis(200), work).await;
            };
            tokio::join!(one(a.to_vec()), one(b.to_vec()));
            self.assert_healthy().await;
        });
    }

    /// Another client is served at once, and the input's connections are gone.
    async fn assert_healthy(&self) {
        let ping = async {
            let mut s = TcpStream::connect(self.addr)
                .await
                .expect("connect after input");
            s.write_all(b"*1\r\n$4\r\nPING\r\n")
                .await
                .expect("write PING");
            let mut got = [0u8; 7];
            s.read_exact(&mut got).await.expect("read PONG");
            assert_eq!(&got, b"+PONG\r\n");
        };
        tokio::time::timeout(Duration::from_secs(1), ping)
            .await
            .expect("the server did not answer PING within 1 s after an input");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.shared.clients.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} connections of a finished input still in the client table",
                self.shared.clients.len()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
