//! Exit paths (issue 11 items 5 and 6): whatever ends a connection (a panic in its task,
//! a SIGTERM to the server, a client leaving with a huge subscription set) leaves no
//! trace behind, loses no acknowledged message, stalls no other client, and gives the
//! memory back.
//!
//! Heavy scenarios run one at a time (`ONE_AT_A_TIME`), and each one starts one server at
//! a time: latency and RSS are measured on the machine's two cores, not against the other
//! tests' floods. Where redis-server behaves the same, the same check runs against it to
//! prove the check; where it does not, the comment says why the test is respub-only.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{cmd, frame_len, show_trunc, Client, Kind, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Output limits off: a test client that falls behind while the test process decodes 50
/// streams must not be dropped as a slow consumer, which would change what is measured.
const NO_PUBSUB_LIMIT: [&str; 2] = ["--client-output-buffer-limit", "pubsub 0 0 0"];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `INFO <section>` and the integer value of `field` in it.
async fn info_field(c: &mut Client, section: &str, field: &str) -> u64 {
    c.send(&cmd(&["INFO", section])).await;
    let frame = c.read_frame().await;
    let text = String::from_utf8_lossy(support::frame_payload(&frame).expect("INFO bulk"));
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{field} in INFO {section}: {e}"))
}

/// Sends a command answered by an integer and returns it.
async fn int_reply(c: &mut Client, args: &[&str]) -> i64 {
    c.send(&cmd(args)).await;
    let frame = c.read_frame().await;
    assert_eq!(
        frame[0],
        b':',
        "{args:?} answered {}",
        show_trunc(&frame, 200)
    );
    std::str::from_utf8(&frame[1..frame.len() - 2])
        .expect("integer reply")
        .parse()
        .expect("integer reply")
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// Polls `done` on `watcher` (every 5 ms) until it holds or `within` has passed; returns
/// how long it took, or `None` on timeout.
async fn wait_until(
    watcher: &mut Client,
    within: Duration,
    mut done: impl AsyncFnMut(&mut Client) -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if done(watcher).await {
            return Some(started.elapsed());
        }
        if started.elapsed() > within {
            return None;
        }
        // Polling interval, bounded by `within`.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Channel count and pattern count as PUBSUB/INFO report them.
async fn channels_and_patterns(watcher: &mut Client) -> (u64, i64) {
    let channels = info_field(watcher, "stats", "pubsub_channels").await;
    let patterns = int_reply(watcher, &["PUBSUB", "NUMPAT"]).await;
    (channels, patterns)
}

/// Reads RESP frames from a socket without moving the buffer per frame (the support
/// `Client` drains per frame, which is quadratic for the 10^5-frame streams here).
struct Frames {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    pos: usize,
}

impl Frames {
    fn new(read: OwnedReadHalf) -> Frames {
        Frames {
            read,
            buf: Vec::with_capacity(256 * 1024),
            pos: 0,
        }
    }

    /// The next complete frame, `Ok(None)` on EOF (or a reset after the server closed),
    /// `Err` on a timeout of `within`, invalid RESP, or EOF inside a frame.
    async fn next(&mut self, within: Duration) -> Result<Option<&[u8]>, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match frame_len(&self.buf[self.pos..]) {
                Ok(Some(n)) => {
                    let start = self.pos;
                    self.pos += n;
                    return Ok(Some(&self.buf[start..start + n]));
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(format!(
                        "invalid RESP ({why}): {}",
                        show_trunc(&self.buf[self.pos..], 200)
                    ))
                }
            }
            self.buf.drain(..self.pos);
            self.pos = 0;
            self.buf.reserve(64 * 1024);
            match tokio::time::timeout_at(deadline, self.read.read_buf(&mut self.buf)).await {
                Err(_) => return Err(format!("no complete frame within {within:?}")),
                Ok(Ok(0)) => {
                    return if self.buf.is_empty() {
                        Ok(None)
                    } else {
                        Err(format!(
                            "EOF inside a frame: {}",
                            show_trunc(&self.buf, 200)
                        ))
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return if self.buf.is_empty() {
                        Ok(None)
                    } else {
                        Err(format!(
                            "reset inside a frame: {}",
                            show_trunc(&self.buf, 200)
                        ))
                    }
                }
                Ok(Err(e)) => return Err(format!("read: {e}")),
            }
        }
    }
}

/// A raw connection that subscribes to `names` with `verb` (SUBSCRIBE or PSUBSCRIBE),
/// `per_command` names per command, all pipelined, and reads every confirmation; the
/// subscription count in the last one must be `count_before + names.len()`.
async fn subscribe_bulk(
    addr: std::net::SocketAddr,
    batches: &[(&str, &[Vec<u8>])],
    per_command: usize,
) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (verb, names) in batches {
        for chunk in names.chunks(per_command) {
            let mut args: Vec<&[u8]> = vec![verb.as_bytes()];
            args.extend(chunk.iter().map(|n| n.as_slice()));
            wire.extend_from_slice(&cmd(&args));
        }
        expected.push((verb.to_ascii_lowercase(), names.len()));
    }
    // Written by its own task so the replies are read meanwhile (no pipeline deadlock).
    let writer = tokio::spawn(async move {
        write.write_all(&wire).await.expect("write subscriptions");
        write
    });
    let mut frames = Frames::new(read);
    let mut count = 0u64;
    for (verb, n) in expected {
        let head = format!("*3\r\n${}\r\n{verb}\r\n", verb.len());
        for _ in 0..n {
            let frame = frames
                .next(Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("{verb} confirmation {count}: {e}"))
                .unwrap_or_else(|| panic!("{verb} confirmation {count}: EOF"));
            count += 1;
            let tail = format!(":{count}\r\n");
            assert!(
                frame.starts_with(head.as_bytes()) && frame.ends_with(tail.as_bytes()),
                "confirmation {count}: want {head}…{tail}, got {}",
                show_trunc(frame, 200)
            );
        }
    }
    assert_eq!(
        frames.pos,
        frames.buf.len(),
        "bytes after the confirmations"
    );
    let write = writer.await.expect("writer task");
    frames.read.reunite(write).expect("same stream")
}

fn names(prefix: &str, suffix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}{i}{suffix}").into_bytes())
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. A panicking connection leaks nothing
// ---------------------------------------------------------------------------------------

/// respub-only: `RESPUB-DEBUG-PANIC` exists only in respub's debug builds (redis has no
/// way to make one client's handler panic without killing the server). The cleanup that
/// runs is `Conn`'s `Drop`, the path taken when the task unwinds.
#[tokio::test]
async fn a_panicking_connection_leaks_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Kind::Respub, &["--maxclients", "3"]).await;
    let mut observer = server.connect().await;
    let mut other = server.connect().await;
    other
        .roundtrip(
            &cmd(&["SUBSCRIBE", "other"]),
            b"*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:1\r\n",
        )
        .await;
    let connected_before = info_field(&mut observer, "clients", "connected_clients").await;
    let pubsub_before = info_field(&mut observer, "clients", "pubsub_clients").await;
    assert_eq!((connected_before, pubsub_before), (2, 1));

    let mut doomed = server.connect().await;
    doomed
        .roundtrip(
            &cmd(&["SUBSCRIBE", "a", "b"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
        )
        .await;
    doomed
        .roundtrip(
            &cmd(&["PSUBSCRIBE", "p*", "q*"]),
            b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nq*\r\n:4\r\n",
        )
        .await;
    doomed
        .roundtrip(
            &cmd(&["SSUBSCRIBE", "s1", "s2"]),
            b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n:2\r\n",
        )
        .await;
    const NUMSUB: &[&str] = &["PUBSUB", "NUMSUB", "a", "b"];
    const SHARDNUMSUB: &[&str] = &["PUBSUB", "SHARDNUMSUB", "s1", "s2"];
    let numsub = |n: u32| format!("*4\r\n$1\r\na\r\n:{n}\r\n$1\r\nb\r\n:{n}\r\n").into_bytes();
    let shardnumsub =
        |n: u32| format!("*4\r\n$2\r\ns1\r\n:{n}\r\n$2\r\ns2\r\n:{n}\r\n").into_bytes();
    // The state the panic must clean up is really there.
    observer.roundtrip(&cmd(NUMSUB), &numsub(1)).await;
    observer.roundtrip(&cmd(SHARDNUMSUB), &shardnumsub(1)).await;
    assert_eq!(int_reply(&mut observer, &["PUBSUB", "NUMPAT"]).await, 2);
    assert_eq!(
        info_field(&mut observer, "clients", "connected_clients").await,
        3
    );
    assert_eq!(
        info_field(&mut observer, "clients", "pubsub_clients").await,
        2
    );
    // And maxclients is reached: a fourth connection is turned away.
    let mut fourth = server.connect().await;
    fourth
        .expect(b"-ERR max number of clients reached\r\n")
        .await;
    fourth.expect_eof().await;

    doomed.send(&cmd(&["RESPUB-DEBUG-PANIC"])).await;
    match doomed.try_read_frame().await {
        Err(support::ReadError::Eof(partial)) if partial.is_empty() => {}
        Ok(frame) if frame.starts_with(b"-ERR unknown command") => {
            panic!("RESPUB-DEBUG-PANIC is unknown: this test needs a debug build of respub")
        }
        other => panic!("the panicking connection should just close, got {other:?}"),
    }

    // The unwinding task may close the socket before its Drop has run: wait (bounded).
    let cleaned = wait_until(
        &mut observer,
        Duration::from_secs(2),
        async |o: &mut Client| {
            info_field(o, "clients", "connected_clients").await == connected_before
                && info_field(o, "clients", "pubsub_clients").await == pubsub_before
                && int_reply(o, &["PUBSUB", "NUMPAT"]).await == 0
                && info_field(o, "stats", "pubsub_channels").await == 1
                && info_field(o, "stats", "pubsubshard_channels").await == 0
        },
    )
    .await;
    // Exact checks (with readable failures) whether or not the wait succeeded.
    observer.roundtrip(&cmd(NUMSUB), &numsub(0)).await;
    observer.roundtrip(&cmd(SHARDNUMSUB), &shardnumsub(0)).await;
    assert_eq!(int_reply(&mut observer, &["PUBSUB", "NUMPAT"]).await, 0);
    assert_eq!(
        info_field(&mut observer, "clients", "connected_clients").await,
        connected_before
    );
    assert_eq!(
        info_field(&mut observer, "clients", "pubsub_clients").await,
        pubsub_before
    );
    assert_eq!(
        info_field(&mut observer, "stats", "pubsub_channels").await,
        1
    );
    assert_eq!(
        info_field(&mut observer, "stats", "pubsubshard_channels").await,
        0
    );
    assert!(cleaned.is_some(), "cleanup state mismatch");
    eprintln!("panic cleanup visible after {cleaned:?}");

    // The maxclients slot is free again: a third connection is accepted and served.
    let mut newcomer = server.connect().await;
    newcomer.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    // The panicked client's channel names work for a new subscriber, and nobody else
    // (no dead entry) is counted on them.
    newcomer
        .roundtrip(
            &cmd(&["SUBSCRIBE", "a"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
        )
        .await;
    observer
        .roundtrip(&cmd(&["PUBLISH", "a", "hi"]), b":1\r\n")
        .await;
    newcomer
        .expect(b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n")
        .await;
    observer
        .roundtrip(&cmd(&["PUBLISH", "pq", "hi"]), b":0\r\n")
        .await;
    observer
        .roundtrip(&cmd(&["SPUBLISH", "s1", "hi"]), b":0\r\n")
        .await;
    // The subscriber that was there all along is still served.
    observer
        .roundtrip(&cmd(&["PUBLISH", "other", "still"]), b":1\r\n")
        .await;
    other
        .expect(b"*3\r\n$7\r\nmessage\r\n$5\r\nother\r\n$5\r\nstill\r\n")
        .await;
    other
        .roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
}

// ---------------------------------------------------------------------------------------
// 2. SIGTERM during a flood loses no acknowledged message
// ---------------------------------------------------------------------------------------

const FLOOD_SUBSCRIBERS: usize = 50;
/// Acknowledged PUBLISHes before the signal.
const ACKED_BEFORE_SIGNAL: u64 = 5_000;
/// PUBLISHes sent but not yet answered, at most (the flood stays a pipeline, but the
/// subscribers' backlog in the server stays bounded).
const FLOOD_WINDOW: usize = 2_000;
const FLOOD_BATCH: usize = 50;
/// Seconds given to respub (and redis 7's `shutdown-timeout`) to flush on SIGTERM.
const SHUTDOWN_TIMEOUT: u64 = 5;
/// Exit within `SHUTDOWN_TIMEOUT` + this: a debug build on a loaded 2-core machine.
const EXIT_MARGIN: Duration = Duration::from_secs(5);

fn flood_message(seq: u64) -> Vec<u8> {
    let payload = format!("{seq:08}");
    format!("*3\r\n$7\r\nmessage\r\n$5\r\nflood\r\n$8\r\n{payload}\r\n").into_bytes()
}

/// What one SIGTERM-during-flood run saw.
#[derive(Debug)]
struct FloodRun {
    acked: u64,
    /// The subscriber count each acknowledged PUBLISH answered, by sequence number.
    reached: Vec<u32>,
    acked_at_signal: u64,
    sent: u64,
    /// Messages each subscriber received (all in order, no gap: checked while reading).
    received: Vec<u64>,
    exit: std::process::ExitStatus,
    exit_after: Duration,
}

async fn flood_then_sigterm(kind: Kind) -> FloodRun {
    let timeout = SHUTDOWN_TIMEOUT.to_string();
    let mut args = vec!["--shutdown-timeout", timeout.as_str()];
    args.extend(NO_PUBSUB_LIMIT);
    let mut server = Server::start(kind, &args).await;
    let addr = server.addr;

    let mut readers = Vec::new();
    for _ in 0..FLOOD_SUBSCRIBERS {
        let stream = TcpStream::connect(addr).await.expect("connect subscriber");
        let (read, mut write) = stream.into_split();
        write
            .write_all(&cmd(&["SUBSCRIBE", "flood"]))
            .await
            .expect("subscribe");
        let mut frames = Frames::new(read);
        let confirm = frames
            .next(Duration::from_secs(5))
            .await
            .expect("confirmation");
        assert_eq!(
            confirm,
            Some(b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n".as_slice())
        );
        // Each subscriber reads until EOF and checks order as it goes; the write half is
        // kept open (dropping it would half-close, which a server may treat as a quit).
        readers.push(tokio::spawn(async move {
            let _write = write;
            let mut next = 0u64;
            let within =
                Duration::from_secs(SHUTDOWN_TIMEOUT) + EXIT_MARGIN + Duration::from_secs(20);
            loop {
                match frames.next(within).await {
                    Ok(None) => return Ok(next),
                    Ok(Some(frame)) => {
                        if frame != flood_message(next) {
                            return Err(format!(
                                "after {next} messages in order, got {}",
                                show_trunc(frame, 200)
                            ));
                        }
                        next += 1;
                    }
                    Err(e) => return Err(format!("after {next} messages: {e}")),
                }
            }
        }));
    }

    let stream = TcpStream::connect(addr).await.expect("connect publisher");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let window = Arc::new(tokio::sync::Semaphore::new(FLOOD_WINDOW));
    let sent = Arc::new(AtomicU64::new(0));
    let writer = {
        let window = window.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut seq = 0u64;
            // Bounded: stops when the server stops taking bytes (EOF/reset), when the
            // reader closes the window at EOF, or after 30 s.
            while started.elapsed() < Duration::from_secs(30) {
                let Ok(permits) = window.acquire_many(FLOOD_BATCH as u32).await else {
                    break;
                };
                permits.forget();
                let mut batch = Vec::with_capacity(FLOOD_BATCH * 48);
                for _ in 0..FLOOD_BATCH {
                    batch.extend_from_slice(&cmd(&["PUBLISH", "flood", &format!("{seq:08}")]));
                    seq += 1;
                }
                match tokio::time::timeout(Duration::from_secs(5), write.write_all(&batch)).await {
                    Ok(Ok(())) => sent.store(seq, Relaxed),
                    _ => break,
                }
            }
            // Keep the write half until the end so the socket is not half-closed early.
            write
        })
    };

    let mut replies = Frames::new(read);
    let mut acked = 0u64;
    let mut reached = Vec::new();
    let mut acked_at_signal = None;
    let mut signalled_at = None;
    loop {
        let within = if signalled_at.is_some() {
            Duration::from_secs(SHUTDOWN_TIMEOUT) + EXIT_MARGIN
        } else {
            Duration::from_secs(10)
        };
        match replies.next(within).await {
            Ok(None) => break,
            Ok(Some(frame)) => {
                let n = frame
                    .strip_prefix(b":")
                    .and_then(|f| f.strip_suffix(b"\r\n"))
                    .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u32>().ok())
                    .unwrap_or_else(|| {
                        panic!(
                            "{} PUBLISH reply {acked}: {}",
                            kind.label(),
                            show_trunc(frame, 200)
                        )
                    });
                reached.push(n);
                acked += 1;
                window.add_permits(1);
            }
            Err(e) => panic!(
                "{} publisher after {acked} replies (signalled: {}): {e}",
                kind.label(),
                signalled_at.is_some()
            ),
        }
        if acked == ACKED_BEFORE_SIGNAL && signalled_at.is_none() {
            let status = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(server.pid().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -TERM failed");
            signalled_at = Some(Instant::now());
            acked_at_signal = Some(acked);
        }
    }
    window.close();
    let signalled_at = signalled_at.unwrap_or_else(|| {
        panic!(
            "{}: publisher saw EOF after only {acked} replies, before the signal",
            kind.label()
        )
    });
    let _write = writer.await.expect("writer task");

    let mut received = Vec::new();
    for (i, r) in readers.into_iter().enumerate() {
        match r.await.expect("subscriber task") {
            Ok(n) => received.push(n),
            Err(e) => panic!("{} subscriber {i}: {e}", kind.label()),
        }
    }

    let exit = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(
            signalled_at.elapsed() < Duration::from_secs(SHUTDOWN_TIMEOUT) + EXIT_MARGIN,
            "{} still running {:?} after SIGTERM",
            kind.label(),
            signalled_at.elapsed()
        );
        // Polling interval, bounded by the deadline above.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    FloodRun {
        acked,
        reached,
        acked_at_signal: acked_at_signal.expect("set with signalled_at"),
        sent: sent.load(Relaxed),
        received,
        exit,
        exit_after: signalled_at.elapsed(),
    }
}

/// Run against both servers. redis-server 7.0.15 does not promise this in general: on
/// SIGTERM its `prepareForShutdown` flushes only replicas' output buffers and exits, so
/// whatever a subscriber's output buffer still holds is dropped, and a PUBLISH reply can
/// be written before it (`_writeToClient` stops after 64 KiB per client per event-loop
/// turn). Here the window of `FLOOD_WINDOW` unanswered PUBLISHes keeps each subscriber's
/// share of one turn (at most one 16 KiB read of commands) far below 64 KiB and the
/// loopback socket buffers, so redis writes everything it acknowledged and the check
/// holds for it too (12 runs of 12). respub promises it outright: `drain_on_shutdown`
/// stops every connection from running commands, then flushes every outbox within
/// `shutdown-timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_flooding_delivers_every_acknowledged_message() {
    let _alone = ONE_AT_A_TIME.lock().await;
    for kind in [Kind::Respub, Kind::Redis] {
        // The original bug lost messages in about 1 run in 5.
        for run in 1..=3 {
            let r = flood_then_sigterm(kind).await;
            let least = r.received.iter().min().copied().unwrap_or(0);
            let most = r.received.iter().max().copied().unwrap_or(0);
            let label = kind.label();
            eprintln!(
                "sigterm {label} run {run}: acked {} ({} before the signal), sent {}, subscribers got {least}..={most}, exit {} after {:?}",
                r.acked, r.acked_at_signal, r.sent, r.exit, r.exit_after
            );
            // A PUBLISH answered `:N` was delivered to N subscribers, and each of them must
            // receive it (output limits are off, so only the shutdown closes a subscriber,
            // and it must flush first): exactly N subscribers hold message k (the readers
            // checked order and gaps). N is 50 on both servers today; a smaller N (one
            // subscriber released while others still published) is allowed, a lost
            // message is not.
            let mut below_all = 0;
            for (k, &n) in r.reached.iter().enumerate() {
                let holding = r.received.iter().filter(|&&got| got > k as u64).count();
                assert_eq!(
                    holding, n as usize,
                    "{label} run {run}: PUBLISH {k} answered :{n} but {holding} subscribers received it (got per subscriber: {:?})",
                    r.received
                );
                if n as usize != FLOOD_SUBSCRIBERS {
                    below_all += 1;
                }
            }
            eprintln!("sigterm {label} run {run}: {below_all} replies below :{FLOOD_SUBSCRIBERS}");
            assert!(
                r.exit.success(),
                "{label} run {run}: exit status {}",
                r.exit
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Leaving with many subscriptions does not stall others
// ---------------------------------------------------------------------------------------

const TEARDOWN_CHANNELS: usize = 200_000;
const TEARDOWN_PATTERNS: usize = 20_000;
/// Issue 11 wants "a few ms" in a release build; this is a DEBUG build on a shared,
/// loaded 2-core machine, so the bound only catches a teardown that holds a worker (or
/// a registry lock) for the whole set. Release build measured here (2 cores, shared):
/// slowest PING 1.9-10.8 ms with a worker per core, 33-48 ms with one worker thread.
const PING_BOUND: Duration = Duration::from_millis(250);

struct Teardown {
    took: Option<Duration>,
    max_ping: Duration,
    pings: u64,
    subscribe_took: Duration,
}

async fn big_client_leaves(kind: Kind, extra: &[&str]) -> Teardown {
    let mut args = NO_PUBSUB_LIMIT.to_vec();
    args.extend(extra);
    let server = Server::start(kind, &args).await;
    let channels = names("ch:", "", TEARDOWN_CHANNELS);
    // Distinct literal prefixes: the shape a pattern index files by prefix.
    let patterns = names("p", ":*", TEARDOWN_PATTERNS);
    let started = Instant::now();
    let big = subscribe_bulk(
        server.addr,
        &[("SUBSCRIBE", &channels[..]), ("PSUBSCRIBE", &patterns[..])],
        1000,
    )
    .await;
    let subscribe_took = started.elapsed();
    let mut watcher = server.connect().await;
    assert_eq!(
        channels_and_patterns(&mut watcher).await,
        (TEARDOWN_CHANNELS as u64, TEARDOWN_PATTERNS as i64)
    );

    let mut pinger = server.connect().await;
    pinger.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    let stop = Arc::new(AtomicBool::new(false));
    let ping_task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut max = Duration::ZERO;
            let mut pings = 0u64;
            while !stop.load(Relaxed) {
                let t = Instant::now();
                pinger.send(&cmd(&["PING"])).await;
                // Generous: a stall is measured and reported, not cut off at 2 s.
                match pinger.try_read_frame_within(Duration::from_secs(30)).await {
                    Ok(f) => assert_eq!(f, b"+PONG\r\n"),
                    Err(e) => panic!("PING during teardown: {e}"),
                }
                max = max.max(t.elapsed());
                pings += 1;
            }
            (max, pings)
        })
    };

    drop(big); // close: the server sees EOF with 220,000 subscriptions to remove
    let took = wait_until(
        &mut watcher,
        Duration::from_secs(5),
        async |w: &mut Client| channels_and_patterns(w).await == (0, 0),
    )
    .await;
    stop.store(true, Relaxed);
    let (max_ping, pings) = ping_task.await.expect("ping task");
    // The server still serves: new subscriptions and deliveries work.
    let mut sub = server.connect().await;
    sub.roundtrip(
        &cmd(&["SUBSCRIBE", "ch:7"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nch:7\r\n:1\r\n",
    )
    .await;
    assert_eq!(int_reply(&mut watcher, &["PUBLISH", "ch:7", "m"]).await, 1);
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nch:7\r\n$1\r\nm\r\n")
        .await;
    Teardown {
        took,
        max_ping,
        pings,
        subscribe_took,
    }
}

/// Both servers must finish the teardown; only respub is held to the PING bound (redis
/// tears a client down synchronously in its one thread, so its figure is a reference).
/// respub runs twice: as deployed (a worker per core), and with one worker thread, where
/// a teardown that does not yield stalls every other client for its whole length (with
/// two workers the other one picks up the PINGs, so that run alone would not notice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_with_many_subscriptions_does_not_stall_others() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let runs = [
        ("respub", big_client_leaves(Kind::Respub, &[]).await),
        (
            "respub --worker-threads 1",
            big_client_leaves(Kind::Respub, &["--worker-threads", "1"]).await,
        ),
        ("redis", big_client_leaves(Kind::Redis, &[]).await),
    ];
    for (label, t) in &runs {
        eprintln!(
            "teardown {label}: {TEARDOWN_CHANNELS} channels + {TEARDOWN_PATTERNS} patterns subscribed in {:?}, gone after {:?}, {} PINGs, slowest {:?}",
            t.subscribe_took, t.took, t.pings, t.max_ping
        );
    }
    for (label, t) in &runs {
        assert!(t.took.is_some(), "{label}: teardown not finished in 5 s");
        if label.starts_with("respub") {
            assert!(
                t.max_ping < PING_BOUND,
                "{label}: a PING took {:?} during the teardown (bound {PING_BOUND:?})",
                t.max_ping
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. RSS returns after a big subscriber leaves
// ---------------------------------------------------------------------------------------

const RSS_CHANNELS: usize = 500_000;
/// How long RSS may take to come down once the subscriptions are gone. redis-server
/// 7.0.15 (jemalloc, 10 s dirty-page decay) measured here: under half the growth after
/// 8-12 s, back to its baseline + 8 MiB after about 22 s.
const RSS_SETTLE: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct Rss {
    before: u64,
    with: u64,
    after: u64,
    after_took: Duration,
}

impl Rss {
    fn returned(&self, after: u64) -> bool {
        // After minus before under half the growth.
        after.saturating_sub(self.before) * 2 < self.with.saturating_sub(self.before)
    }
}

async fn rss_with_big_subscriber(kind: Kind) -> Rss {
    let server = Server::start(kind, &NO_PUBSUB_LIMIT).await;
    let pid = server.pid();
    let mut watcher = server.connect().await;
    assert_eq!(channels_and_patterns(&mut watcher).await, (0, 0));
    let before = rss_kib(pid);
    let channels = names("subscription:", "", RSS_CHANNELS);
    let big = subscribe_bulk(server.addr, &[("SUBSCRIBE", &channels[..])], 1000).await;
    drop(channels);
    assert_eq!(
        channels_and_patterns(&mut watcher).await,
        (RSS_CHANNELS as u64, 0)
    );
    let with = rss_kib(pid);
    drop(big);
    let gone = wait_until(
        &mut watcher,
        Duration::from_secs(10),
        async |w: &mut Client| channels_and_patterns(w).await == (0, 0),
    )
    .await;
    assert!(
        gone.is_some(),
        "{}: subscriptions not removed in 10 s",
        kind.label()
    );
    let mut rss = Rss {
        before,
        with,
        after: rss_kib(pid),
        after_took: Duration::ZERO,
    };
    let started = Instant::now();
    while !rss.returned(rss.after) && started.elapsed() < RSS_SETTLE {
        // Polling interval, bounded by RSS_SETTLE.
        tokio::time::sleep(Duration::from_millis(100)).await;
        rss.after = rss_kib(pid);
    }
    rss.after_took = started.elapsed();
    // Still serving.
    watcher.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    rss
}

/// Issue 11's RSS finding: redis-server returns to about its baseline once a client with
/// half a million subscriptions leaves. The requirement checked on both: what stays
/// allocated afterwards is under half of what the subscriptions grew.
///
/// Measured on glibc malloc, release build, before src/memtrim.rs: 3.9 -> 177 MiB with
/// 500,000 channels, still 101 MiB 20 s after the subscriber left (56-86% of the growth
/// kept; the freed small blocks stay in malloc's heaps), and this test was ignored.
/// redis-server 7.0.15 goes 12 -> 118 MiB and is back under half the growth after 8-12 s.
/// Tried then: jemalloc with its background purge thread passes this (48% left after 4 s)
/// and mimalloc too, but jemalloc kept 105 MiB RSS after the fanout-100 bench where glibc
/// keeps 7 MiB, and mimalloc cost 930 bytes more per idle connection; neither was kept.
/// Now a teardown of 65,536 subscriptions or more is followed by `malloc_trim(0)` on a
/// blocking thread: debug build 18 -> 236 MiB, back to +31% of the growth within 0.1 s
/// (redis-server: +45% after 11 s in the same run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_returns_after_a_big_subscriber_leaves() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let respub = rss_with_big_subscriber(Kind::Respub).await;
    let redis = rss_with_big_subscriber(Kind::Redis).await;
    for (kind, r) in [(Kind::Respub, &respub), (Kind::Redis, &redis)] {
        eprintln!(
            "rss {} ({RSS_CHANNELS} channels): before {} KiB, with {} KiB (+{}), after {} KiB (+{}, polled {:?})",
            kind.label(),
            r.before,
            r.with,
            r.with.saturating_sub(r.before),
            r.after,
            r.after.saturating_sub(r.before),
            r.after_took
        );
    }
    for (kind, r) in [(Kind::Redis, &redis), (Kind::Respub, &respub)] {
        assert!(
            r.with > r.before,
            "{}: RSS did not grow with {RSS_CHANNELS} subscriptions: {r:?}",
            kind.label()
        );
        assert!(
            r.returned(r.after),
            "{}: RSS still {} KiB above the start after the subscriber left (grew {} KiB): {r:?}",
            kind.label(),
            r.after.saturating_sub(r.before),
            r.with.saturating_sub(r.before)
        );
    }
}

/// Open descriptors of a process.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
        .count()
}

/// A client costs one descriptor, as in Redis, until its socket fills: respub registers a
/// second one for write readiness only then (src/transport/socket.rs). Its first version
/// made the second one on every connection's first reply, so 10,000 clients took 20,000
/// descriptors and hit the open-file limit at half of `maxclients`. A subscriber that does
/// not read gets its second descriptor, and still receives every message once it reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_costs_one_descriptor_until_its_socket_fills() {
    const CLIENTS: usize = 300;
    for kind in [Kind::Respub, Kind::Redis] {
        let server = Server::start(kind, &NO_PUBSUB_LIMIT).await;
        let pid = server.pid();
        let before = fd_count(pid);
        let mut clients = Vec::with_capacity(CLIENTS);
        for i in 0..CLIENTS {
            let mut c = server.connect().await;
            c.send(&cmd(&["SUBSCRIBE", &format!("fd{i}")])).await;
            c.read_frame().await;
            clients.push(c);
        }
        let with = fd_count(pid);
        assert!(
            with <= before + CLIENTS + 8,
            "{}: {CLIENTS} clients that each read a reply took {} descriptors",
            kind.label(),
            with - before
        );
        // One client stops reading while 8 MiB is published to it.
        let mut slow = Client::connect_small_rcvbuf(server.addr, 4096).await;
        slow.send(&cmd(&["SUBSCRIBE", "flood"])).await;
        slow.read_frame().await;
        let mut p = server.connect().await;
        let payload = "x".repeat(64 * 1024);
        const N: usize = 128;
        for _ in 0..N {
            p.send(&cmd(&["PUBLISH", "flood", &payload])).await;
            assert_eq!(p.read_frame().await, b":1\r\n");
        }
        if kind == Kind::Respub {
            // The slow subscriber's task meets the full socket on its own time.
            let deadline = Instant::now() + Duration::from_secs(5);
            while fd_count(pid) <= with + 2 {
                assert!(
                    Instant::now() < deadline,
                    "the slow subscriber's socket never filled: the test did not reach its point"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        for i in 0..N {
            let f = slow.read_frame().await;
            assert!(
                f.len() > payload.len(),
                "{}: message {i} to the slow subscriber: {}",
                kind.label(),
                show_trunc(&f, 100)
            );
        }
        drop(clients);
    }
}
