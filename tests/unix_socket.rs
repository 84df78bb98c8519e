//! Serving Redis's `unixsocket`: every check runs against respub and against
//! redis-server (7.0.15), started with the same flags, so the checks are proven on the
//! reference first.
//!
//! Covered: redis-cli -s, pub/sub across a Unix and a TCP client both ways, CLIENT
//! LIST / CLIENT INFO lines (masked as tests/differential.rs masks them, then compared
//! byte for byte between the two servers), CLIENT KILL ADDR / LADDR / old form with a
//! socket path, `maxclients` across both transports, `unixsocketperm`, a stale file at
//! the path, `port 0` (no TCP listener at all), the socket file removed at shutdown,
//! and arrival order across a Unix and a TCP connection (`conn::arrival`: with its
//! check switched off, respub missed 150-180 of the 300 tries; with it, none).

mod support;

use std::collections::HashSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use support::{
    cmd, diff_text, frame_len, line, mask_client_fields, show_trunc, Kind, Server, READ_TIMEOUT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const KINDS: [Kind; 2] = [Kind::Redis, Kind::Respub];

// ---------------------------------------------------------------------------------------
// Harness: a private directory, a raw Unix-socket client, a server without TCP
// ---------------------------------------------------------------------------------------

/// A directory of our own under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        // Short: a socket path must fit in sun_path (108 bytes).
        let dir = std::env::temp_dir().join(format!("rpu-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn sock(&self) -> String {
        self.0
            .join("s.sock")
            .to_str()
            .expect("utf-8 path")
            .to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A raw RESP client over a Unix socket, with bounded waits (like `support::Client`).
struct UClient {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl UClient {
    async fn connect(path: &str) -> UClient {
        let stream = tokio::time::timeout(READ_TIMEOUT, UnixStream::connect(path))
            .await
            .unwrap_or_else(|_| panic!("connect to {path} timed out"))
            .unwrap_or_else(|e| panic!("connect to {path}: {e}"));
        UClient {
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(READ_TIMEOUT, self.stream.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write");
    }

    /// Reads more; false at EOF.
    async fn fill(&mut self) -> bool {
        self.buf.reserve(16 * 1024);
        match tokio::time::timeout(READ_TIMEOUT, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => panic!(
                "read timed out after {READ_TIMEOUT:?}; unread: {}",
                show_trunc(&self.buf, 300)
            ),
            Ok(Ok(0)) => false,
            Ok(Ok(_)) => true,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Ok(Err(e)) => panic!("read: {e}"),
        }
    }

    async fn read_frame(&mut self) -> Vec<u8> {
        loop {
            match frame_len(&self.buf) {
                Ok(Some(n)) => return self.buf.drain(..n).collect(),
                Ok(None) => {}
                Err(why) => panic!("invalid RESP ({why}): {}", show_trunc(&self.buf, 300)),
            }
            if !self.fill().await {
                panic!("EOF before a whole frame: {}", show_trunc(&self.buf, 300));
            }
        }
    }

    async fn expect(&mut self, want: &[u8]) {
        while self.buf.len() < want.len() {
            if !self.fill().await {
                panic!(
                    "EOF before the expected bytes\n{}",
                    diff_text(want, &self.buf)
                );
            }
        }
        assert!(
            &self.buf[..want.len()] == want,
            "bytes differ\n{}",
            diff_text(want, &self.buf)
        );
        self.buf.drain(..want.len());
    }

    async fn roundtrip(&mut self, send: &[u8], want: &[u8]) {
        self.send(send).await;
        self.expect(want).await;
    }

    async fn expect_eof(&mut self) {
        while self.fill().await {}
        assert!(
            self.buf.is_empty(),
            "bytes before EOF: {}",
            show_trunc(&self.buf, 300)
        );
    }
}

/// A server started by hand (not through `support::Server`, which needs a TCP port to
/// probe). Killed by its own PID and reaped on drop.
struct Proc {
    child: Child,
    kind: Kind,
}

impl Proc {
    fn spawn(kind: Kind, args: &[&str]) -> Proc {
        let mut c = Command::new(kind.program());
        c.args(args)
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdin(Stdio::null());
        if std::env::var_os("RESPUB_TEST_LOG").is_none() {
            c.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", kind.program()));
        Proc { child, kind }
    }

    /// Waits (bounded) until `path` accepts a connection and answers PING.
    async fn wait_unix(&mut self, path: &str) {
        let deadline = Instant::now() + support::START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("{} exited early with {status}", self.kind.label());
            }
            if let Ok(s) = UnixStream::connect(path).await {
                let mut c = UClient {
                    stream: s,
                    buf: Vec::new(),
                };
                c.roundtrip(&line("PING"), b"+PONG\r\n").await;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not accepting on {path}",
                self.kind.label()
            );
            // Polling interval of the readiness probe, bounded by the deadline.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (bounded) for the process to exit and returns its status.
    async fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}",
                self.kind.label()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kind` with TCP on a free 127.0.0.1 port and a Unix socket at `path`, and
/// waits until both accept. Both servers bind TCP first: a TCP connect can succeed a
/// moment before the socket file exists (ENOENT) or listens (ECONNREFUSED).
async fn start(kind: Kind, path: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--unixsocket", path];
    args.extend_from_slice(extra);
    let srv = Server::start(kind, &args).await;
    let deadline = Instant::now() + support::START_TIMEOUT;
    while let Err(e) = UnixStream::connect(path).await {
        assert!(
            Instant::now() < deadline,
            "{}: {path} not accepting: {e}",
            kind.label()
        );
        // Polling interval of the readiness probe, bounded by the deadline.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    srv
}

/// Runs `redis-cli` with `args`; returns stdout. Panics if it fails to run.
fn redis_cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli (tests/clients/setup.sh installs it)");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Sends SIGTERM to a server this test started (by its PID).
fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM {pid}");
}

/// Socket inodes a process holds open (from /proc/PID/fd).
fn socket_inodes(pid: u32) -> HashSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_str()?.to_string();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

/// TCP sockets in LISTEN state (IPv4 and IPv6) held by `pid`.
fn tcp_listeners(pid: u32) -> usize {
    let mine = socket_inodes(pid);
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // sl local rem st ... inode (column 9)
            if cols.get(3) == Some(&"0A") && cols.get(9).is_some_and(|i| mine.contains(*i)) {
                n += 1;
            }
        }
    }
    n
}

fn mode(path: &str) -> u32 {
    std::fs::metadata(path)
        .expect("stat socket")
        .permissions()
        .mode()
        & 0o7777
}

fn is_socket(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// This process's umask (the servers inherit it), from /proc/self/status.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let v = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("Umask line");
    u32::from_str_radix(v.trim(), 8).expect("octal umask")
}

/// CLIENT LIST through `c` once exactly `n` clients (`c` included) are on the socket
/// at `path`. The start-up probes of `start` and `support::Server` close at once, but a
/// server notices a close asynchronously: poll (bounded) instead of counting on it.
async fn unix_clients(c: &mut UClient, path: &str, n: usize) -> String {
    let addr = format!("addr={path}:0 ");
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        c.send(&line("CLIENT LIST")).await;
        let list = payload(&c.read_frame().await);
        if list.lines().filter(|l| l.contains(&addr)).count() == n {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} clients on {path}: {list}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn payload(frame: &[u8]) -> String {
    String::from_utf8(support::frame_payload(frame).expect("bulk").to_vec()).expect("utf-8")
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn redis_cli_pings_over_the_socket() {
    for kind in KINDS {
        let dir = TempDir::new("cli");
        let path = dir.sock();
        let _srv = start(kind, &path, &[]).await;
        assert_eq!(redis_cli(&["-s", &path, "PING"]), "PONG\n", "{kind:?}");
        assert_eq!(
            redis_cli(&["-s", &path, "PUBLISH", "ch", "x"]),
            "0\n",
            "{kind:?}"
        );
        assert_eq!(
            redis_cli(&["-s", &path, "CONFIG", "GET", "unixsocket"]),
            format!("unixsocket\n{path}\n"),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn pubsub_crosses_unix_and_tcp_both_ways() {
    for kind in KINDS {
        let dir = TempDir::new("ps");
        let path = dir.sock();
        let srv = start(kind, &path, &[]).await;

        // Unix subscriber, TCP publisher.
        let mut usub = UClient::connect(&path).await;
        usub.roundtrip(
            &line("SUBSCRIBE news"),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        )
        .await;
        let mut tpub = srv.connect().await;
        tpub.roundtrip(&cmd(&["PUBLISH", "news", "hello unix"]), b":1\r\n")
            .await;
        usub.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nhello unix\r\n")
            .await;

        // TCP subscriber (RESP3 pattern), Unix publisher.
        let mut tsub = srv.connect().await;
        tsub.send(&line("HELLO 3")).await;
        tsub.read_frame().await;
        tsub.roundtrip(
            &line("PSUBSCRIBE n*"),
            b">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n",
        )
        .await;
        let mut upub = UClient::connect(&path).await;
        upub.roundtrip(&cmd(&["PUBLISH", "news", "hello tcp"]), b":2\r\n")
            .await;
        tsub.expect(b">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$9\r\nhello tcp\r\n")
            .await;
        usub.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$9\r\nhello tcp\r\n")
            .await;
        upub.roundtrip(&line("PUBSUB NUMSUB news"), b"*2\r\n$4\r\nnews\r\n:1\r\n")
            .await;
    }
}

/// CLIENT LIST and CLIENT INFO lines of Unix and TCP clients, masked, must be the same
/// bytes on respub and redis-server; the unmasked Unix fields are checked literally.
#[tokio::test]
async fn client_list_shows_unix_clients_as_redis_does() {
    let mut masked = Vec::new();
    for kind in KINDS {
        let dir = TempDir::new("cl");
        let path = dir.sock();
        let srv = start(kind, &path, &[]).await;
        let mut sub = UClient::connect(&path).await;
        sub.roundtrip(
            &line("SUBSCRIBE a"),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
        )
        .await;
        let mut tcp = srv.connect().await;
        tcp.roundtrip(&line("PING"), b"+PONG\r\n").await;
        let mut me = UClient::connect(&path).await;
        // Waits out the start-up probes (see `unix_clients`).
        let list = unix_clients(&mut me, &path, 2).await;
        me.send(&line("CLIENT INFO")).await;
        let info = payload(&me.read_frame().await);

        let unix_addr = format!("addr={path}:0 laddr={path}:0 ");
        let unix_lines: Vec<&str> = list.lines().filter(|l| l.contains(&unix_addr)).collect();
        assert_eq!(unix_lines.len(), 2, "{kind:?}: {list}");
        assert!(unix_lines[0].contains(" flags=PU "), "{kind:?}: {list}");
        assert!(unix_lines[1].contains(" flags=U "), "{kind:?}: {list}");
        let tcp_line = format!(" laddr={} ", srv.addr);
        assert!(
            list.lines()
                .any(|l| l.contains(&tcp_line) && l.contains(" flags=N ")),
            "{kind:?}: {list}"
        );
        assert!(info.contains(&unix_addr), "{kind:?}: {info}");
        masked.push((
            kind,
            mask_client_fields(&list, Some(&path)),
            mask_client_fields(&info, Some(&path)),
        ));
    }
    let (_, redis_list, redis_info) = &masked[0];
    let (_, respub_list, respub_info) = &masked[1];
    assert_eq!(
        respub_list,
        redis_list,
        "CLIENT LIST\n{}",
        diff_text(redis_list.as_bytes(), respub_list.as_bytes())
    );
    assert_eq!(respub_info, redis_info, "CLIENT INFO");
}

#[tokio::test]
async fn client_kill_matches_socket_paths() {
    for kind in KINDS {
        let dir = TempDir::new("kill");
        let path = dir.sock();
        let srv = start(kind, &path, &[]).await;
        let target = format!("{path}:0");

        // ADDR from a TCP client: both Unix clients go.
        let mut u1 = UClient::connect(&path).await;
        u1.roundtrip(
            &line("SUBSCRIBE k"),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\nk\r\n:1\r\n",
        )
        .await;
        let mut u2 = UClient::connect(&path).await;
        u2.roundtrip(&line("PING"), b"+PONG\r\n").await;
        let mut tcp = srv.connect().await;
        unix_clients(&mut u2, &path, 2).await;
        tcp.roundtrip(&cmd(&["CLIENT", "KILL", "ADDR", &target]), b":2\r\n")
            .await;
        u1.expect_eof().await;
        u2.expect_eof().await;

        // LADDR, from a Unix client, skipping itself (skipme defaults to yes).
        let mut u3 = UClient::connect(&path).await;
        u3.roundtrip(&line("PING"), b"+PONG\r\n").await;
        let mut me = UClient::connect(&path).await;
        me.roundtrip(&cmd(&["CLIENT", "KILL", "LADDR", &target]), b":1\r\n")
            .await;
        u3.expect_eof().await;
        // A TCP laddr does not match Unix clients.
        tcp.roundtrip(
            &cmd(&["CLIENT", "KILL", "LADDR", &srv.addr.to_string()]),
            b":0\r\n",
        )
        .await;

        // The old form kills the first client with that address: here the caller.
        me.roundtrip(&cmd(&["CLIENT", "KILL", &target]), b"+OK\r\n")
            .await;
        me.expect_eof().await;
        tcp.roundtrip(
            &cmd(&["CLIENT", "KILL", &target]),
            b"-ERR No such client\r\n",
        )
        .await;
    }
}

/// A Unix client the server admitted. Retries (bounded) while a connection that already
/// went away (the start-up probe, a killed client) still holds a `maxclients` slot: both
/// servers notice a close asynchronously.
async fn admitted(path: &str) -> UClient {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let mut c = UClient::connect(path).await;
        // A refused client may find the socket closed already (EPIPE); the refusal it
        // was sent is still there to read.
        let _ = c.stream.write_all(&line("PING")).await;
        let f = c.read_frame().await;
        if f == b"+PONG\r\n" {
            return c;
        }
        assert_eq!(f, b"-ERR max number of clients reached\r\n");
        assert!(Instant::now() < deadline, "no slot freed for {path}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn maxclients_counts_both_transports() {
    for kind in KINDS {
        let dir = TempDir::new("max");
        let path = dir.sock();
        let srv = start(kind, &path, &["--maxclients", "2"]).await;
        let u = admitted(&path).await;
        // The start-up probes may still hold slots for a moment: retry (bounded) until
        // the TCP client is in too. From then on two clients are in for sure.
        let deadline = Instant::now() + READ_TIMEOUT;
        let t = loop {
            let mut t = srv.connect().await;
            // A refused TCP client may see a reset instead of the refusal (the server
            // closed before our PING arrived): that too means "not admitted".
            let f = match t.try_send(&line("PING")).await {
                Ok(()) => t.try_read_frame().await,
                Err(e) => Err(support::ReadError::Io(e)),
            };
            match f {
                Ok(f) if f == b"+PONG\r\n" => break t,
                Ok(f) => assert_eq!(f, b"-ERR max number of clients reached\r\n", "{kind:?}"),
                Err(support::ReadError::Eof(p)) if p.is_empty() => {}
                Err(support::ReadError::Io(_)) => {}
                Err(e) => panic!("{kind:?}: {e}"),
            }
            assert!(Instant::now() < deadline, "{kind:?}: no slot for TCP");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let mut refused = UClient::connect(&path).await;
        refused
            .expect(b"-ERR max number of clients reached\r\n")
            .await;
        refused.expect_eof().await;
        let mut refused_tcp = srv.connect().await;
        refused_tcp
            .expect(b"-ERR max number of clients reached\r\n")
            .await;
        refused_tcp.expect_eof().await;
        // The TCP client leaves; its slot goes to the next Unix client.
        t.close().await;
        let mut again = admitted(&path).await;
        again.roundtrip(&line("PING"), b"+PONG\r\n").await;
        drop(u);
    }
}

#[tokio::test]
async fn unixsocketperm_sets_the_mode() {
    for kind in KINDS {
        for (perm, want) in [("700", 0o700), ("770", 0o770), ("0", 0o777 & !umask())] {
            let dir = TempDir::new("perm");
            let path = dir.sock();
            let _srv = start(kind, &path, &["--unixsocketperm", perm]).await;
            assert!(is_socket(&path), "{kind:?}");
            assert_eq!(mode(&path), want, "{kind:?} unixsocketperm {perm}");
            assert_eq!(
                redis_cli(&["-s", &path, "CONFIG", "GET", "unixsocketperm"]),
                format!("unixsocketperm\n{perm}\n"),
                "{kind:?}"
            );
            // Both settings are fixed at start, as in Redis.
            let mut c = UClient::connect(&path).await;
            for name in ["unixsocketperm", "unixsocket"] {
                let want = format!(
                    "-ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config\r\n"
                );
                c.roundtrip(&cmd(&["CONFIG", "SET", name, "777"]), want.as_bytes())
                    .await;
            }
        }
    }
}

/// A file left at the path (a crashed server's socket, or anything else) is replaced.
#[tokio::test]
async fn a_stale_file_at_the_path_is_replaced() {
    for kind in KINDS {
        let dir = TempDir::new("stale");
        let path = dir.sock();
        std::fs::write(&path, b"not a socket").expect("write stale file");
        let srv = start(kind, &path, &[]).await;
        assert!(is_socket(&path), "{kind:?}");
        UClient::connect(&path)
            .await
            .roundtrip(&line("PING"), b"+PONG\r\n")
            .await;
        drop(srv);

        // A socket file nobody listens on any more (SIGKILL leaves it behind).
        assert!(is_socket(&path), "{kind:?}: SIGKILL leaves the file");
        assert!(UnixStream::connect(&path).await.is_err(), "{kind:?}");
        let _srv = start(kind, &path, &[]).await;
        UClient::connect(&path)
            .await
            .roundtrip(&line("PING"), b"+PONG\r\n")
            .await;
    }
}

/// `port 0` means no TCP listener (redis-server's meaning); with no unixsocket either,
/// the server refuses to start.
#[tokio::test]
async fn port_zero_serves_only_the_socket() {
    for kind in KINDS {
        let dir = TempDir::new("p0");
        let path = dir.sock();
        let mut p = Proc::spawn(
            kind,
            &["--port", "0", "--bind", "127.0.0.1", "--unixsocket", &path],
        );
        p.wait_unix(&path).await;
        let pid = p.child.id();
        assert_eq!(tcp_listeners(pid), 0, "{kind:?}: a TCP listener exists");
        let mut c = UClient::connect(&path).await;
        c.send(&line("INFO server")).await;
        let info = payload(&c.read_frame().await);
        assert!(info.contains("\r\ntcp_port:0\r\n"), "{kind:?}: {info}");

        // The same probe sees the listener of a server with a port, so the 0 above
        // means something.
        let dir2 = TempDir::new("p1");
        let with_tcp = start(kind, &dir2.sock(), &[]).await;
        assert_eq!(tcp_listeners(with_tcp.pid()), 1, "{kind:?}");

        let mut nowhere = Proc::spawn(kind, &["--port", "0", "--bind", "127.0.0.1"]);
        let status = nowhere.wait_exit(support::START_TIMEOUT).await;
        assert!(!status.success(), "{kind:?}: {status}");
    }
}

/// SIGTERM: the server removes its socket file on the way out (Redis logs "Removing the
/// unix socket file.").
#[tokio::test]
async fn the_socket_file_is_removed_at_shutdown() {
    for kind in KINDS {
        let dir = TempDir::new("term");
        let path = dir.sock();
        let mut p = Proc::spawn(kind, &["--port", "0", "--unixsocket", &path]);
        p.wait_unix(&path).await;
        assert!(is_socket(&path));
        sigterm(p.child.id());
        let status = p.wait_exit(Duration::from_secs(10)).await;
        assert!(status.success(), "{kind:?}: {status}");
        assert!(
            !Path::new(&path).exists(),
            "{kind:?}: socket file left behind"
        );
    }
}

/// Arrival order across transports (`conn::arrival`): `SUBSCRIBE x<i>` written on a Unix
/// connection and, without waiting for its reply, `PUBLISH x<i>` on a TCP connection must
/// find the subscription (`:1`). Each try is fenced as in tests/stress.rs (`fence`): the
/// publisher and then the subscriber run a PING to completion first, without which
/// redis-server itself answers a few percent of such tries out of send order.
///
/// Until sockets were registered for read interest only (src/transport/socket.rs),
/// respub missed 2 of 7,500 such tries (one on the first try after connect) and had an
/// allowance of 50 per 1,000 here; 0 of 3,000 since (10 runs). Both servers now get the
/// allowance of tests/stress.rs (`ARRIVAL_WINDOW_PER_MILLE`, 10 per 1,000: a window in
/// the kernel that redis-server shares); with the ordering machinery off respub misses
/// 152-183 of 300.
#[tokio::test]
async fn arrival_order_holds_across_unix_and_tcp() {
    const TRIES: usize = 300;
    for kind in KINDS {
        let dir = TempDir::new("order");
        let path = dir.sock();
        let srv = start(kind, &path, &[]).await;
        let mut sub = UClient::connect(&path).await;
        let mut publisher = srv.connect().await;
        let mut misses = Vec::new();
        for i in 0..TRIES {
            let ch = format!("x{i}");
            publisher.roundtrip(&line("PING"), b"+PONG\r\n").await;
            let pong: &[u8] = if i == 0 {
                b"+PONG\r\n"
            } else {
                b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
            };
            sub.roundtrip(&line("PING"), pong).await;
            sub.send(&cmd(&["SUBSCRIBE", &ch])).await;
            publisher.send(&cmd(&["PUBLISH", &ch, "m"])).await;
            let receivers = publisher.read_frame().await;
            let confirm = format!(
                "*3\r\n$9\r\nsubscribe\r\n${}\r\n{ch}\r\n:{}\r\n",
                ch.len(),
                i + 1
            );
            sub.expect(confirm.as_bytes()).await;
            match &receivers[..] {
                b":1\r\n" => {
                    let msg = format!(
                        "*3\r\n$7\r\nmessage\r\n${}\r\n{ch}\r\n$1\r\nm\r\n",
                        ch.len()
                    );
                    sub.expect(msg.as_bytes()).await;
                }
                b":0\r\n" => misses.push(i),
                other => panic!("{kind:?}: PUBLISH answered {}", show_trunc(other, 100)),
            }
        }
        if !misses.is_empty() {
            println!(
                "{kind:?}: {} of {TRIES} tries out of arrival order: {misses:?}",
                misses.len()
            );
        }
        assert!(
            misses.len() <= TRIES * 10 / 1000,
            "{kind:?}: {} of {TRIES} PUBLISHes missed a SUBSCRIBE sent before them: {misses:?}",
            misses.len()
        );
    }
}

/// The other half of `transport::Peer`'s printing: an IPv6 peer is `[::1]:port`, with
/// brackets, in CLIENT INFO / CLIENT LIST (redis-server 7.0.15), and CLIENT KILL ADDR
/// takes that form.
#[tokio::test]
async fn ipv6_peers_print_in_brackets() {
    for kind in KINDS {
        let srv = Server::start(kind, &["--bind", "127.0.0.1", "::1"]).await;
        let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, srv.addr.port()));
        let mut s = tokio::time::timeout(READ_TIMEOUT, tokio::net::TcpStream::connect(v6))
            .await
            .expect("connect to [::1] timed out")
            .expect("connect to [::1] (is IPv6 loopback up?)");
        s.write_all(&line("CLIENT INFO")).await.expect("write");
        let mut buf = Vec::new();
        let n = loop {
            if let Some(n) = frame_len(&buf).expect("RESP") {
                break n;
            }
            let got = tokio::time::timeout(READ_TIMEOUT, s.read_buf(&mut buf))
                .await
                .expect("CLIENT INFO reply timed out")
                .expect("read");
            assert!(got > 0, "{kind:?}: EOF");
        };
        let info = payload(&buf[..n]);
        let local = s.local_addr().expect("local_addr").port();
        let want = format!("addr=[::1]:{local} laddr=[::1]:{} ", srv.addr.port());
        assert!(info.contains(&want), "{kind:?}: want {want:?} in {info}");
        let mut tcp = srv.connect().await;
        tcp.roundtrip(
            &cmd(&["CLIENT", "KILL", "ADDR", &format!("[::1]:{local}")]),
            b":1\r\n",
        )
        .await;
    }
}
