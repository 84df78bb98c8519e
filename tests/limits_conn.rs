//! Connection-level limits from issue 11 (items 4 and 6): the 1 KiB of unread replies an
//! unauthenticated client may pile up (CVE-2025-21605), protocol errors counted rather
//! than logged, UNSUBSCRIBE confirmations held to the pubsub output limit, and a soft
//! output limit that fires close to its configured seconds.
//!
//! Each test crosses its limit and then checks that other clients are still served.
//! Where redis-server behaves the same the check also runs against it (the `_on_redis`
//! tests); the soft-limit timing differs on purpose (Redis counts whole seconds), so
//! Redis's figure is printed, not asserted.
//! Lives apart from tests/limits.rs only to keep merges apart.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::{cmd, frame_payload, free_port, show_trunc, Client, Kind, ReadError, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The tests of this file run one at a time: `soft_output_limit_fires_close_to_its_seconds`
/// measures a delay, and 100,000 subscriptions in a DEBUG build running beside it on a
/// loaded two-core machine would skew what it measures.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh client (authenticating with `password` if given) can still PING and PUBLISH.
async fn still_serves(addr: SocketAddr, password: Option<&str>) {
    let mut c = Client::connect(addr).await;
    if let Some(pw) = password {
        c.roundtrip(&cmd(&["AUTH", pw]), b"+OK\r\n").await;
    }
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    c.roundtrip(&cmd(&["PUBLISH", "x", "y"]), b":0\r\n").await;
}

/// A field of `INFO stats` as a number.
async fn info_stat(c: &mut Client, name: &str) -> u64 {
    c.send(&cmd(&["INFO", "stats"])).await;
    let frame = c.read_frame().await;
    let text = String::from_utf8_lossy(&frame);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO stats: {text}"))
}

async fn client_id(c: &mut Client) -> u64 {
    c.send(&cmd(&["CLIENT", "ID"])).await;
    let frame = c.read_frame().await;
    std::str::from_utf8(&frame[1..frame.len() - 2])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("CLIENT ID answered {}", show_trunc(&frame, 100)))
}

/// The `omem` of client `id` from a `CLIENT LIST ID id` reply, `None` if not listed.
fn omem_of(list_reply: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(frame_payload(list_reply).expect("CLIENT LIST bulk"));
    let line = text.lines().next()?;
    let omem = line
        .split(' ')
        .find_map(|f| f.strip_prefix("omem="))
        .and_then(|v| v.parse().ok());
    Some(omem.unwrap_or_else(|| panic!("no omem in {line}")))
}

// ---------------------------------------------------------------------------------------
// 1. Unauthenticated clients get 1 KiB of unread replies (issue 11 item 4)
// ---------------------------------------------------------------------------------------

const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Sends 10,000 `AUTH wrong` in one write, then reads until EOF (or until nothing came
/// for a second). Returns the number of WRONGPASS replies and whether the server closed.
async fn wrong_password_pipeline(addr: SocketAddr) -> (usize, bool) {
    let mut c = Client::connect(addr).await;
    let pipeline = cmd(&["AUTH", "wrong"]).repeat(10_000);
    // The server may close in the middle of our write; what it answered before that is
    // kept in the client's buffer (it reads while it writes, so a reset cannot drop it).
    let _ = c.try_send(&pipeline).await;
    let mut answers = 0;
    loop {
        match c.try_read_frame_within(Duration::from_secs(1)).await {
            Ok(frame) => {
                assert_eq!(
                    frame,
                    WRONGPASS,
                    "reply {answers}: {}",
                    show_trunc(&frame, 200)
                );
                answers += 1;
            }
            Err(ReadError::Eof(_)) => return (answers, true),
            Err(ReadError::Timeout(_)) => return (answers, false),
            Err(e) => panic!("after {answers} replies: {e}"),
        }
    }
}

/// Authenticates, then writes 10,000 PINGs in one write without reading anything, and
/// only then reads: all 10,000 PONGs must come back.
async fn authenticated_ping_pipeline(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut ok = [0u8; 5];
    s.write_all(&cmd(&["AUTH", "secret"])).await.unwrap();
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut ok))
        .await
        .expect("AUTH answered in time")
        .expect("AUTH answered");
    assert_eq!(&ok, b"+OK\r\n");
    let pings = cmd(&["PING"]).repeat(10_000);
    // 140 KB of requests and 70 KB of replies fit the kernel's socket buffers, so the
    // write finishes although nobody reads.
    tokio::time::timeout(Duration::from_secs(5), s.write_all(&pings))
        .await
        .expect("pipeline written in time")
        .expect("pipeline written");
    let want = b"+PONG\r\n".repeat(10_000);
    let mut got = vec![0u8; want.len()];
    match tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("authenticated pipeline cut off: {e}"),
        Err(_) => panic!("authenticated pipeline: not all 10,000 PONGs within 5 s"),
    }
    assert!(got == want, "PONGs differ: {}", show_trunc(&got, 300));
}

/// Both servers close an unauthenticated client whose replies pile up: the local
/// redis-server is Debian's 7.0.15-1~deb12u10, which carries the CVE-2025-21605 fix
/// (backported in deb12u4), so the same checks run against it.
async fn wrong_passwords_are_cut_off(kind: Kind) {
    let server = Server::start(kind, &["--requirepass", "secret"]).await;
    // A few guesses in one write are all answered, and the client stays.
    let mut few = server.connect().await;
    few.send(&cmd(&["AUTH", "wrong"]).repeat(10)).await;
    for frame in few.read_frames(10).await {
        assert_eq!(frame, WRONGPASS);
    }
    few.roundtrip(&cmd(&["PING"]), b"-NOAUTH Authentication required.\r\n")
        .await;

    let (answers, closed) = wrong_password_pipeline(server.addr).await;
    println!(
        "{}: {answers} WRONGPASS replies of 10,000 pipelined, closed={closed}",
        kind.label()
    );
    assert!(
        closed,
        "{}: still open after {answers} replies",
        kind.label()
    );
    // 1 KiB is 16 of these 64-byte replies. How many reach the client before the
    // close is not bounded from below: the pipeline arrives in one or two reads, the
    // limit is crossed before anything was written, and a client closed for its output
    // gets none of it (Redis writes nothing to a client flagged CLOSE_ASAP, redis#7202;
    // both servers answer 0 here).
    assert!(
        answers < 100,
        "{}: {answers} replies before the cut",
        kind.label()
    );
    let mut admin = server.connect().await;
    admin.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n").await;
    if kind == Kind::Respub {
        assert_eq!(
            info_stat(&mut admin, "respub_unauthenticated_output_disconnections").await,
            1
        );
    }
    still_serves(server.addr, Some("secret")).await;
    // The cut applies to unauthenticated clients only.
    authenticated_ping_pipeline(server.addr).await;
    if kind == Kind::Respub {
        assert_eq!(
            info_stat(&mut admin, "respub_unauthenticated_output_disconnections").await,
            1
        );
    }
    // The first client, still unauthenticated, was not disturbed.
    few.roundtrip(&cmd(&["AUTH", "secret"]), b"+OK\r\n").await;
    still_serves(server.addr, Some("secret")).await;
}

#[tokio::test]
async fn unauthenticated_pipeline_of_wrong_passwords_is_cut_off() {
    let _serial = SERIAL.lock().await;
    wrong_passwords_are_cut_off(Kind::Respub).await;
}

#[tokio::test]
async fn unauthenticated_pipeline_of_wrong_passwords_is_cut_off_on_redis() {
    let _serial = SERIAL.lock().await;
    wrong_passwords_are_cut_off(Kind::Redis).await;
}

// ---------------------------------------------------------------------------------------
// 2. Protocol errors are counted, not logged at the default level (issue 11 item 6)
// ---------------------------------------------------------------------------------------

/// A server whose stdout and stderr are captured (the harness discards them), started
/// without `--loglevel` unless `extra` gives one.
#[derive(Debug)]
struct LoggedServer {
    addr: SocketAddr,
    child: Child,
    readers: Vec<JoinHandle<Vec<u8>>>,
}

impl LoggedServer {
    async fn start(kind: Kind, extra: &[&str]) -> LoggedServer {
        let mut last_log = String::new();
        // As in support::Server::start: the port can be taken by another process between
        // our probe and the server's bind; that server exits and we try another port.
        for _attempt in 0..5 {
            let mut server = LoggedServer::spawn(kind, extra);
            let deadline = Instant::now() + support::START_TIMEOUT;
            loop {
                if server.child.try_wait().expect("try_wait").is_some() {
                    last_log = server.take_log();
                    break;
                }
                if std::net::TcpStream::connect(server.addr).is_ok() {
                    // A server that lost the race for the port exits at once.
                    if server.child.try_wait().expect("try_wait").is_none() {
                        return server;
                    }
                    continue;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} not accepting on {}",
                    kind.label(),
                    server.addr
                );
                // Readiness probe interval, bounded by the deadline.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        panic!("{} never started: {last_log}", kind.label());
    }

    fn spawn(kind: Kind, extra: &[&str]) -> LoggedServer {
        let port = free_port();
        let mut child = Command::new(kind.program())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", kind.program()));
        let mut readers = Vec::new();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        for mut pipe in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err) as Box<dyn std::io::Read + Send>,
        ] {
            readers.push(std::thread::spawn(move || {
                let mut buf = Vec::new();
                // Ends at EOF, when the server exits.
                let _ = pipe.read_to_end(&mut buf);
                buf
            }));
        }
        LoggedServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            readers,
        }
    }

    /// SIGTERM, wait (bounded) for the exit, and return everything it wrote.
    async fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.take_log()
    }

    fn take_log(&mut self) -> String {
        let mut log = Vec::new();
        for r in self.readers.drain(..) {
            log.extend(r.join().expect("log reader"));
        }
        String::from_utf8_lossy(&log).into_owned()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        // Its own PID only; reaped so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Log lines about a protocol error (respub: `reason="protocol_error"`; Redis:
/// `Protocol error (...) from client`).
fn protocol_error_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("protocol error") || l.contains("protocol_error")
        })
        .collect()
}

const BAD_CONNECTIONS: u64 = 200;

/// Opens 200 connections at once, sends each a malformed request, and checks each gets
/// the error reply and is closed. Returns how long that took.
async fn malformed_requests(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut bad = Vec::new();
    for _ in 0..BAD_CONNECTIONS {
        bad.push(Client::connect(addr).await);
    }
    for c in &mut bad {
        c.send(b"*1\r\n$x\r\n").await;
    }
    for c in &mut bad {
        c.expect(b"-ERR Protocol error: invalid bulk length\r\n")
            .await;
        c.expect_eof().await;
    }
    started.elapsed()
}

#[tokio::test]
async fn protocol_errors_are_counted_not_logged_at_default_level() {
    let _serial = SERIAL.lock().await;
    // Default loglevel (notice): no line per connection.
    let server = LoggedServer::start(Kind::Respub, &[]).await;
    malformed_requests(server.addr).await;
    let mut admin = Client::connect(server.addr).await;
    // The counter is bumped as each connection ends, before its socket closes; waiting
    // (bounded) for it only guards against a slow task after the EOF.
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_stat(&mut admin, "respub_protocol_error_disconnections").await < BAD_CONNECTIONS {
        assert!(
            Instant::now() < deadline,
            "respub_protocol_error_disconnections stayed below {BAD_CONNECTIONS}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        info_stat(&mut admin, "respub_protocol_error_disconnections").await,
        BAD_CONNECTIONS
    );
    still_serves(server.addr, None).await;
    let log = server.stop().await;
    // The capture works: the startup and exit lines (info level) are there.
    assert!(log.contains("Ready to accept connections"), "{log}");
    assert!(log.contains("ready to exit"), "{log}");
    let lines = protocol_error_lines(&log);
    assert!(
        lines.is_empty(),
        "{} protocol-error lines at the default level:\n{}",
        lines.len(),
        lines.join("\n")
    );

    // At debug level they are logged, at most 10 a second: proves the check above can
    // see them, and that 200 bad clients cannot write 200 lines.
    let server = LoggedServer::start(Kind::Respub, &["--loglevel", "debug"]).await;
    let took = malformed_requests(server.addr).await;
    still_serves(server.addr, None).await;
    let log = server.stop().await;
    let logged = protocol_error_lines(&log).len() as u64;
    println!(
        "respub --loglevel debug: {logged} protocol-error lines for {BAD_CONNECTIONS} bad clients in {took:?}"
    );
    let budget = 10 * (took.as_secs() + 2);
    assert!(
        logged >= 1 && logged <= budget && logged < BAD_CONNECTIONS,
        "{logged} protocol-error lines (budget {budget})"
    );
}

#[tokio::test]
async fn protocol_errors_are_not_logged_at_default_level_on_redis() {
    let _serial = SERIAL.lock().await;
    // Proves the log check: redis-server logs protocol errors at verbose only (and has
    // no counter for them, so INFO is not checked here).
    let server = LoggedServer::start(Kind::Redis, &[]).await;
    malformed_requests(server.addr).await;
    still_serves(server.addr, None).await;
    let log = server.stop().await;
    assert!(log.contains("Ready to accept connections"), "{log}");
    assert!(log.contains("ready to exit"), "{log}");
    let lines = protocol_error_lines(&log);
    assert!(lines.is_empty(), "{}", lines.join("\n"));

    let server = LoggedServer::start(Kind::Redis, &["--loglevel", "verbose"]).await;
    malformed_requests(server.addr).await;
    let log = server.stop().await;
    let logged = protocol_error_lines(&log).len();
    println!("redis-server --loglevel verbose: {logged} protocol-error lines for {BAD_CONNECTIONS} bad clients (no rate limit)");
    assert!(
        logged > 0,
        "the log check does not see Redis's lines:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. UNSUBSCRIBE-all confirmations count against the pubsub limit (issue 11 item 4)
// ---------------------------------------------------------------------------------------

const CHANNELS: usize = 100_000;
const PER_SUBSCRIBE: usize = 1_000;

fn channel(i: usize) -> String {
    format!("c:{i:06}")
}

async fn unsubscribe_all_is_held_to_the_pubsub_limit(kind: Kind) {
    let server = Server::start(
        kind,
        &["--client-output-buffer-limit", "pubsub", "1mb", "0", "0"],
    )
    .await;
    let mut sub = Client::connect_small_rcvbuf(server.addr, 4096).await;
    let id = client_id(&mut sub).await;
    for batch in 0..CHANNELS / PER_SUBSCRIBE {
        let first = batch * PER_SUBSCRIBE;
        let mut args = vec!["SUBSCRIBE".to_string()];
        args.extend((first..first + PER_SUBSCRIBE).map(channel));
        sub.send(&cmd(&args)).await;
        // Confirmations are read as they arrive: subscribing stays under the limit.
        for i in first..first + PER_SUBSCRIBE {
            let ch = channel(i);
            let want = format!(
                "*3\r\n$9\r\nsubscribe\r\n${}\r\n{ch}\r\n:{}\r\n",
                ch.len(),
                i + 1
            );
            let got = sub.read_frame().await;
            assert!(
                got == want.as_bytes(),
                "{}: confirmation {i}: {}",
                kind.label(),
                show_trunc(&got, 200)
            );
        }
    }
    // What UNSUBSCRIBE with no argument would send: one confirmation per channel, the
    // count going from 99,999 down to 0 (about 4.4 MB).
    let all_confirmations: usize = (0..CHANNELS).map(|left| 39 + left.to_string().len()).sum();
    let mut admin = server.connect().await;
    let list = cmd(&["CLIENT", "LIST", "ID", &id.to_string()]);
    admin.send(&list).await;
    assert!(omem_of(&admin.read_frame_busy().await).is_some());
    sub.send(&cmd(&["UNSUBSCRIBE"])).await;
    // The subscriber reads nothing from here on. As a pubsub client it crosses the 1 MiB
    // hard limit and is closed; a normal client (no limit) would keep it all queued.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        admin.send(&list).await;
        let Some(omem) = omem_of(&admin.read_frame_busy().await) else {
            break;
        };
        assert!(
            Instant::now() < deadline,
            "{}: subscriber still connected 10 s after UNSUBSCRIBE, omem={omem}",
            kind.label()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if kind == Kind::Respub {
        // redis-server 7.0.15 has no such counter (7.2 added it).
        assert_eq!(
            info_stat(&mut admin, "client_output_buffer_limit_disconnections").await,
            1
        );
    }
    let received = sub
        .drain_until_eof(Duration::from_secs(5))
        .await
        .unwrap_or_else(|n| panic!("{}: no EOF after {n} bytes", kind.label()));
    println!(
        "{}: subscriber closed after UNSUBSCRIBE; it received {received} of {all_confirmations} bytes of confirmations",
        kind.label()
    );
    assert!(
        received < all_confirmations,
        "{}: all {received} bytes delivered",
        kind.label()
    );
    // Its subscriptions are gone all the same.
    admin
        .roundtrip(
            &cmd(&["PUBSUB", "NUMSUB", &channel(0), &channel(CHANNELS - 1)]),
            format!(
                "*4\r\n$8\r\n{}\r\n:0\r\n$8\r\n{}\r\n:0\r\n",
                channel(0),
                channel(CHANNELS - 1)
            )
            .as_bytes(),
        )
        .await;
    still_serves(server.addr, None).await;
}

#[tokio::test]
async fn unsubscribe_all_confirmations_count_against_the_pubsub_limit() {
    let _serial = SERIAL.lock().await;
    unsubscribe_all_is_held_to_the_pubsub_limit(Kind::Respub).await;
}

#[tokio::test]
async fn unsubscribe_all_confirmations_count_against_the_pubsub_limit_on_redis() {
    let _serial = SERIAL.lock().await;
    // Redis classifies the client while it adds each reply, and it is still flagged
    // pubsub until the command ends.
    unsubscribe_all_is_held_to_the_pubsub_limit(Kind::Redis).await;
}

// ---------------------------------------------------------------------------------------
// 4. The soft output limit fires close to its seconds (issue 11 item 4)
// ---------------------------------------------------------------------------------------

const SOFT: u64 = 64 * 1024;
const SOFT_SECONDS: u64 = 2;

/// Bounds on the time from a subscriber crossing the 64 KiB soft limit to its
/// disconnect: `(at least, at most)`.
async fn soft_limit_delay(kind: Kind) -> (Duration, Duration) {
    let server = Server::start(
        kind,
        &["--client-output-buffer-limit", "pubsub", "0", "64kb", "2"],
    )
    .await;
    let mut slow = Client::connect_small_rcvbuf(server.addr, 4096).await;
    let id = client_id(&mut slow).await;
    slow.roundtrip(
        &cmd(&["SUBSCRIBE", "s"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\ns\r\n:1\r\n",
    )
    .await;
    let mut publisher = server.connect().await;
    let payload = vec![b'p'; 1024];
    let publish = cmd(&[b"PUBLISH".as_slice(), b"s", &payload]);
    let list = cmd(&["CLIENT", "LIST", "ID", &id.to_string()]);
    // Small bursts: what the subscriber's writer has not yet moved into the kernel can
    // overshoot the soft limit by one burst at most.
    const BURST: usize = 4;
    let mut burst = publish.repeat(BURST);
    burst.extend_from_slice(&list);
    // The trickle that keeps it over the limit once crossed (Redis checks the limit only
    // when it adds a reply), checked to be over it right before the push.
    let mut trickle = list.clone();
    trickle.extend_from_slice(&publish);
    trickle.extend_from_slice(&list);

    let started = Instant::now();
    let mut restarts = 0;
    'measure: loop {
        // Fill until over the limit. The crossing happened during the burst sent at
        // `before` and was seen at `after`.
        let mut crossing = None;
        for _ in 0..4096 {
            let before = Instant::now();
            publisher.send(&burst).await;
            for _ in 0..BURST {
                assert_eq!(publisher.read_frame().await, b":1\r\n");
            }
            let omem = omem_of(&publisher.read_frame().await).unwrap_or_else(|| {
                panic!(
                    "{}: subscriber closed while still being filled ({restarts} restarts, {:?} since the start)",
                    kind.label(),
                    started.elapsed()
                )
            });
            if omem >= SOFT {
                crossing = Some((before, Instant::now()));
                break;
            }
        }
        let (before, after) = crossing.expect("16 MiB published and never over the soft limit");
        let mut last_present = after;
        let mut next_publish = Instant::now() + Duration::from_millis(250);
        loop {
            let sent = Instant::now();
            let push = sent >= next_publish;
            let mut replies = Vec::new();
            if push {
                next_publish += Duration::from_millis(250);
                publisher.send(&trickle).await;
                replies.push(publisher.read_frame().await);
                let r = publisher.read_frame().await;
                assert!(r == b":1\r\n" || r == b":0\r\n", "{}", show_trunc(&r, 100));
            } else {
                publisher.send(&list).await;
            }
            replies.push(publisher.read_frame().await);
            let now = Instant::now();
            for reply in replies {
                let Some(omem) = omem_of(&reply) else {
                    slow.drain_until_eof(Duration::from_secs(5))
                        .await
                        .unwrap_or_else(|n| panic!("{}: no EOF after {n} bytes", kind.label()));
                    if kind == Kind::Respub {
                        assert_eq!(
                            info_stat(&mut publisher, "client_output_buffer_limit_disconnections")
                                .await,
                            1
                        );
                    }
                    still_serves(server.addr, None).await;
                    if restarts > 0 {
                        println!("{}: measurement restarted {restarts} times", kind.label());
                    }
                    return (
                        last_present.saturating_duration_since(after),
                        now.duration_since(before),
                    );
                };
                if omem < SOFT && sent.duration_since(before) < Duration::from_secs(SOFT_SECONDS) {
                    // The crossing was transient: the subscriber's writer moved what was
                    // queued into the kernel's buffers, and the next push under the limit
                    // resets the timer (in both servers). Measure from the next crossing.
                    restarts += 1;
                    assert!(
                        restarts <= 20,
                        "{}: never stayed over the soft limit",
                        kind.label()
                    );
                    continue 'measure;
                }
                last_present = sent;
            }
            assert!(
                now.duration_since(before) < Duration::from_secs(10),
                "{}: soft limit not enforced 10 s after crossing it",
                kind.label()
            );
            // CLIENT LIST polling interval: the measurement's resolution.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn soft_output_limit_fires_close_to_its_seconds() {
    let _serial = SERIAL.lock().await;
    let (at_least, at_most) = soft_limit_delay(Kind::Respub).await;
    println!(
        "respub: pubsub soft limit 64kb/{SOFT_SECONDS}s fired between {at_least:?} and {at_most:?} after crossing"
    );
    // Issue 11: "within a few hundred milliseconds of the configured time" (it took
    // 3.0-3.5 s for 2 s). respub re-checks every 100 ms; 600 ms leaves room for a DEBUG
    // build on a loaded two-core machine.
    assert!(
        at_most > Duration::from_secs(SOFT_SECONDS),
        "fired early: at most {at_most:?} after crossing"
    );
    assert!(
        at_least < Duration::from_millis(SOFT_SECONDS * 1000 + 600),
        "fired late: at least {at_least:?} after crossing"
    );

    // Reference only: Redis compares whole seconds and only when it adds a reply.
    let (at_least, at_most) = soft_limit_delay(Kind::Redis).await;
    println!(
        "redis-server (reference): soft limit 64kb/{SOFT_SECONDS}s fired between {at_least:?} and {at_most:?} after crossing"
    );
}
