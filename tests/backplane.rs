//! Many respub nodes as one pub/sub server over a NATS cluster (issue 10).
//!
//! Each test starts its own NATS cluster (`nats-server` processes with routes between
//! them on free loopback ports, from the Debian package tests/clients/setup.sh
//! installs) and three respub nodes, talks raw RESP to them, and ends every process it
//! started by its PID (Drop). The tests run one at a time (`SERIAL`): the failure
//! tests measure loss and time to resume, which a neighbour's flood would blur.
//!
//! Setup waits are bounded and event-driven: a node is ready when INFO says it is
//! connected and sees its peers; a subscription has crossed when the publisher's NATS
//! server lists the interest (monitoring endpoint /subsz), or when a probe published
//! on the other side arrives.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{cmd, frame_payload, free_port, show, split_aggregate, Client, Kind, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Bound of every "wait until" in this file.
const WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------
// NATS cluster
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Nats {
    conf: PathBuf,
    port: u16,
    http: u16,
    child: Option<Child>,
}

impl Nats {
    fn spawn(&mut self) {
        let mut c = Command::new("nats-server");
        c.arg("-c").arg(&self.conf).stdin(Stdio::null());
        if std::env::var_os("RESPUB_TEST_LOG").is_none() {
            c.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = c.spawn().unwrap_or_else(|e| {
            panic!("cannot start nats-server ({e}); tests/clients/setup.sh installs it (apt nats-server)")
        });
        self.child = Some(child);
    }

    /// SIGKILL to this server's own PID, and reap it.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn wait_accepting(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("nats-server {} exited: {status}", self.port);
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server {} not accepting",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// GET on the monitoring port; the body.
    async fn get(&self, path: &str) -> String {
        let fetch = async {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.http)).await?;
            s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
                .await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout(Duration::from_secs(3), fetch).await {
            Ok(Ok(b)) => {
                let text = String::from_utf8_lossy(&b).into_owned();
                text.split_once("\r\n\r\n")
                    .map(|x| x.1.to_string())
                    .unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    /// A number field of the monitoring JSON (`"total": 3`).
    async fn number(&self, path: &str, field: &str) -> Option<u64> {
        let body = self.get(path).await;
        let key = format!("\"{field}\":");
        let at = body.find(&key)? + key.len();
        body[at..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug)]
struct NatsCluster {
    servers: Vec<Nats>,
    dir: PathBuf,
}

impl NatsCluster {
    /// `n` servers with full-mesh routes; `extra` goes into every config file.
    async fn start(n: usize, extra: &str) -> NatsCluster {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "respub-backplane-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let mut servers = Vec::new();
        for (i, &(port, http, cport)) in ports.iter().enumerate() {
            let routes: Vec<String> = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| format!("nats-route://127.0.0.1:{}", p.2))
                .collect();
            let conf = dir.join(format!("nats{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\n{extra}\n\
                     cluster {{\n  name: bp\n  listen: 127.0.0.1:{cport}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                ),
            )
            .expect("write nats conf");
            let mut s = Nats {
                conf,
                port,
                http,
                child: None,
            };
            s.spawn();
            servers.push(s);
        }
        let mut c = NatsCluster { servers, dir };
        c.wait_formed().await;
        c
    }

    async fn wait_formed(&mut self) {
        for s in &mut self.servers {
            s.wait_accepting().await;
        }
        let want = self.servers.len() as u64 - 1;
        for s in &self.servers {
            let deadline = Instant::now() + WAIT;
            while s.number("/routez", "num_routes").await != Some(want) {
                assert!(Instant::now() < deadline, "NATS routes never formed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    fn urls(&self) -> String {
        self.servers
            .iter()
            .map(Nats::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn kill_all(&mut self) {
        self.servers.iter_mut().for_each(Nats::kill);
    }

    async fn restart_all(&mut self) {
        self.servers.iter_mut().for_each(Nats::spawn);
        self.wait_formed().await;
    }

    /// The server a node is connected to (INFO `backplane_server`).
    async fn server_of(&self, node: &Server) -> &Nats {
        let at = info(node).await["backplane_server"].clone();
        self.servers
            .iter()
            .find(|s| at.ends_with(&format!(":{}", s.port)))
            .unwrap_or_else(|| panic!("node connected to unknown NATS server {at:?}"))
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The NATS subject of a channel (the encoding of `backplane::subject`, restated so
/// the test checks the documented form, not the code's own).
fn subject(cluster: &str, ns: char, channel: &[u8]) -> String {
    let mut s = format!("respub.{cluster}.{ns}.");
    if channel.is_empty() {
        s.push('%');
    }
    for &b in channel {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Subscriptions to exactly `subject` that `server`'s routes announced (/routez).
async fn route_interest(server: &Nats, subject: &str) -> u64 {
    let body = server.get("/routez?subs=1").await;
    body.matches(&format!("\"{subject}\"")).count() as u64
}

/// Waits until `server` has at least `n` subscriptions for the literal `subject`:
/// its own clients' that match it (/subsz) plus those its routes announced for
/// exactly this subject (`wildcard` adds announced subscriptions to that wildcard).
async fn wait_interest(server: &Nats, subject: &str, wildcard: Option<&str>, n: u64) {
    let path = format!("/subsz?subs=1&test={}", subject.replace('%', "%25"));
    let deadline = Instant::now() + WAIT;
    loop {
        let mut total = server.number(&path, "total").await.unwrap_or(0);
        total += route_interest(server, subject).await;
        if let Some(w) = wildcard {
            total += route_interest(server, w).await;
        }
        if total >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "interest in {subject} never reached {n} on NATS :{} (have {total})",
            server.port
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// respub nodes
// ---------------------------------------------------------------------------------------

async fn node(urls: &str, cluster: &str, extra: &[&str]) -> Server {
    let mut args = vec![
        "--backplane",
        "nats",
        "--backplane-nats-url",
        urls,
        "--backplane-cluster-name",
        cluster,
    ];
    args.extend_from_slice(extra);
    Server::start(Kind::Respub, &args).await
}

async fn info(s: &Server) -> HashMap<String, String> {
    let mut c = s.connect().await;
    c.send(&cmd(&["INFO", "backplane"])).await;
    let f = c.read_frame().await;
    let text = String::from_utf8_lossy(frame_payload(&f).expect("INFO bulk")).into_owned();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

async fn stat(s: &Server, key: &str) -> u64 {
    info(s).await[key].parse().expect("numeric INFO field")
}

/// Waits (bounded) until INFO backplane satisfies `ok`; returns it.
async fn wait_info(
    s: &Server,
    what: &str,
    ok: impl Fn(&HashMap<String, String>) -> bool,
) -> HashMap<String, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let i = info(s).await;
        if ok(&i) {
            return i;
        }
        assert!(
            Instant::now() < deadline,
            "node {}: never {what}: {i:?}",
            s.addr
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Messages NATS wrote to the connection of the node with id `node` (/connz).
async fn connz_out_msgs(server: &Nats, node: &str) -> u64 {
    let body = server.get("/connz").await;
    let name = format!(" {node}\"");
    body.split("\"cid\":")
        .find(|conn| conn.contains(&name))
        .and_then(|conn| {
            let at = conn.find("\"out_msgs\":")? + "\"out_msgs\":".len();
            conn[at..]
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn num(i: &HashMap<String, String>, k: &str) -> u64 {
    i.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn wait_joined(nodes: &[&Server]) {
    let peers = nodes.len() as u64 - 1;
    for n in nodes {
        wait_info(n, "connected with all peers", |i| {
            num(i, "backplane_connected") == 1 && num(i, "backplane_peers") == peers
        })
        .await;
    }
}

/// Sends a (P|S)SUBSCRIBE and reads its confirmations.
async fn sub(c: &mut Client, verb: &str, names: &[&[u8]]) {
    let mut args: Vec<&[u8]> = vec![verb.as_bytes()];
    args.extend_from_slice(names);
    c.send(&cmd(&args)).await;
    c.read_frames(names.len()).await;
}

async fn resp3(s: &Server) -> Client {
    let mut c = s.connect().await;
    c.send(&cmd(&["HELLO", "3"])).await;
    c.read_frame().await;
    c
}

/// PUBLISH or SPUBLISH; the integer reply.
async fn publish(c: &mut Client, verb: &str, ch: &[u8], msg: &[u8]) -> i64 {
    c.send(&cmd(&[verb.as_bytes(), ch, msg])).await;
    let f = c.read_frame().await;
    assert_eq!(f[0], b':', "{verb} reply: {}", show(&f));
    std::str::from_utf8(&f[1..f.len() - 2])
        .unwrap()
        .parse()
        .unwrap()
}

/// The strings of a pushed message frame: kind, [pattern,] channel, payload.
fn parts(frame: &[u8]) -> Vec<Vec<u8>> {
    let (_, items) =
        split_aggregate(frame).unwrap_or_else(|| panic!("not a push: {}", show(frame)));
    items
        .iter()
        .map(|i| frame_payload(i).expect("bulk").to_vec())
        .collect()
}

fn payload_of(frame: &[u8]) -> Vec<u8> {
    parts(frame).pop().expect("payload")
}

/// Reads `n` frames, failing with what came if they do not.
async fn frames(c: &mut Client, n: usize, who: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match c.try_read_frame_within(Duration::from_secs(5)).await {
            Ok(f) => out.push(f),
            Err(e) => panic!("{who}: got {} of {n} frames, then {e}", out.len()),
        }
    }
    out
}

/// The payloads of `frames` that are of `kind`, in arrival order.
fn payloads(frames: &[Vec<u8>], kind: &[u8]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|f| parts(f))
        .filter(|p| p[0] == kind)
        .map(|mut p| p.pop().unwrap())
        .collect()
}

fn numbered(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}{i}").into_bytes())
        .collect()
}

/// SIGSTOP/SIGCONT to one PID; the guard resumes it on Drop so a failing test never
/// leaves a stopped process.
struct Stopped(u32);

impl Stopped {
    fn new(pid: u32) -> Stopped {
        signal(pid, "-STOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid} failed");
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// Channels, patterns and shard channels cross nodes in RESP2 and RESP3, binary channel
/// names included; each local subscription gets each message once, in publish order;
/// a node never gets its own messages back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_patterns_and_shard_channels_cross_nodes_once() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3, "").await;
    let cl = "t1";
    let a = node(&nats.servers[0].url(), cl, &[]).await;
    let b = node(&nats.servers[1].url(), cl, &[]).await;
    let c = node(&nats.servers[2].url(), cl, &[]).await;
    wait_joined(&[&a, &b, &c]).await;
    let bin: &[u8] = b"bin.\x00\xff *>.%41 x";

    let mut a_sub = a.connect().await; // on the publisher's own node
    sub(&mut a_sub, "SUBSCRIBE", &[b"news.x"]).await;
    let mut b_sub = b.connect().await; // RESP2, a channel and a binary channel
    sub(&mut b_sub, "SUBSCRIBE", &[b"news.x", bin]).await;
    let mut b_both = b.connect().await; // channel and pattern on one client
    sub(&mut b_both, "SUBSCRIBE", &[b"news.x"]).await;
    sub(&mut b_both, "PSUBSCRIBE", &[b"news.*"]).await;
    let mut c_pat = resp3(&c).await; // RESP3 pattern
    sub(&mut c_pat, "PSUBSCRIBE", &[b"news.*"]).await;
    let mut c_shard = resp3(&c).await; // the shard channel of the same name
    sub(&mut c_shard, "SSUBSCRIBE", &[b"news.x"]).await;

    // Interest as NATS :0 (node A's server) sees it: A's own subscription, the
    // channel subject from nats1 (B) and the firehose from nats1 and nats2.
    let n0 = &nats.servers[0];
    let fire = format!("respub.{cl}.c.*");
    wait_interest(n0, &subject(cl, 'c', b"news.x"), Some(&fire), 4).await;
    wait_interest(n0, &subject(cl, 'c', bin), None, 1).await;
    wait_interest(n0, &subject(cl, 's', b"news.x"), None, 1).await;

    const N: usize = 100;
    let mut p = a.connect().await;
    for i in 0..N {
        // The reply counts this node's receivers only, as in Redis Cluster.
        assert_eq!(
            publish(&mut p, "PUBLISH", b"news.x", format!("m{i}").as_bytes()).await,
            1
        );
        assert_eq!(
            publish(&mut p, "PUBLISH", bin, format!("b{i}").as_bytes()).await,
            0
        );
        if i % 2 == 0 {
            assert_eq!(
                publish(&mut p, "SPUBLISH", b"news.x", format!("s{i}").as_bytes()).await,
                0
            );
        }
    }
    let m = numbered("m", N);
    let b_n = numbered("b", N);
    let s: Vec<Vec<u8>> = (0..N)
        .step_by(2)
        .map(|i| format!("s{i}").into_bytes())
        .collect();

    let got = frames(&mut a_sub, N, "A local").await;
    assert_eq!(payloads(&got, b"message"), m);

    let got = frames(&mut b_sub, 2 * N, "B channel+binary").await;
    let on = |ch: &[u8]| -> Vec<Vec<u8>> {
        got.iter()
            .map(|f| parts(f))
            .filter(|p| p[1] == ch)
            .map(|mut p| p.pop().unwrap())
            .collect()
    };
    assert_eq!(on(b"news.x"), m, "B news.x: every message once, in order");
    assert_eq!(
        on(bin),
        b_n,
        "B binary channel: every message once, in order"
    );
    assert!(
        got[0].starts_with(b"*3\r\n$7\r\nmessage\r\n"),
        "RESP2 frames on B"
    );

    let got = frames(&mut b_both, 2 * N, "B channel+pattern client").await;
    assert_eq!(payloads(&got, b"message"), m);
    assert_eq!(payloads(&got, b"pmessage"), m);

    let got = frames(&mut c_pat, N, "C RESP3 pattern").await;
    assert!(
        got[0].starts_with(b">4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$6\r\nnews.x\r\n"),
        "{}",
        show(&got[0])
    );
    assert_eq!(payloads(&got, b"pmessage"), m);

    let got = frames(&mut c_shard, s.len(), "C RESP3 shard").await;
    assert!(
        got[0].starts_with(b">3\r\n$8\r\nsmessage\r\n"),
        "{}",
        show(&got[0])
    );
    assert_eq!(payloads(&got, b"smessage"), s);

    // Nothing more for anyone: a last message from B is the next (and only) frame
    // each subscriber of news.x gets; the shard subscriber gets nothing from it, so
    // its next frame is a shard message published after it.
    let mut pb = b.connect().await;
    assert_eq!(publish(&mut pb, "PUBLISH", b"news.x", b"end").await, 3);
    assert_eq!(publish(&mut pb, "SPUBLISH", b"news.x", b"send").await, 0);
    assert_eq!(payload_of(&frames(&mut a_sub, 1, "A end").await[0]), b"end");
    assert_eq!(payload_of(&frames(&mut b_sub, 1, "B end").await[0]), b"end");
    let both_end = frames(&mut b_both, 2, "B both end").await;
    assert!(both_end.iter().all(|f| payload_of(f) == b"end"));
    assert_eq!(payload_of(&frames(&mut c_pat, 1, "C end").await[0]), b"end");
    assert_eq!(
        payload_of(&frames(&mut c_shard, 1, "C shard end").await[0]),
        b"send"
    );

    // No self-echo: A received from NATS exactly B's one message on its channel.
    let ia = info(&a).await;
    assert_eq!(num(&ia, "backplane_received"), 1, "{ia:?}");
    assert_eq!(num(&ia, "backplane_sent"), (2 * N + N / 2) as u64, "{ia:?}");
    let ic = info(&c).await;
    // C: its firehose (patterns) and its shard subscription, nothing else.
    assert_eq!(num(&ic, "backplane_nats_subscriptions"), 2, "{ic:?}");
    assert_eq!(num(&ic, "backplane_firehose"), 1, "{ic:?}");
}

/// PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB answer for the whole
/// cluster from any node; a node that does not answer within
/// backplane-request-timeout is left out and the request counted as partial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_introspection_is_cluster_wide() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(3, "").await;
    let cl = "t2";
    let a = node(
        &nats.servers[0].url(),
        cl,
        &["--backplane-request-timeout", "300"],
    )
    .await;
    // B replies to PUBLISH with the cluster's receivers (last seen), keeping 2 channels.
    let b = node(
        &nats.servers[1].url(),
        cl,
        &[
            "--backplane-publish-count",
            "cluster",
            "--backplane-count-cache",
            "2",
        ],
    )
    .await;
    let c = node(&nats.servers[2].url(), cl, &[]).await;
    wait_joined(&[&a, &b, &c]).await;

    let mut subs = Vec::new();
    for (n, verb, names) in [
        (&a, "SUBSCRIBE", vec![&b"ch1"[..]]),
        (&a, "PSUBSCRIBE", vec![b"p*"]),
        (&b, "SUBSCRIBE", vec![b"ch1", b"ch2"]),
        (&b, "SUBSCRIBE", vec![b"ch1"]),
        (&c, "PSUBSCRIBE", vec![b"p*"]),
        (&c, "SSUBSCRIBE", vec![b"s1"]),
        (&c, "SUBSCRIBE", vec![b"ch1"]),
    ] {
        let mut cl = n.connect().await;
        sub(&mut cl, verb, &names).await;
        subs.push(cl);
    }
    let ask = |s: &Server, args: &'static [&'static str]| {
        let addr = s.addr;
        async move {
            let mut c = Client::connect(addr).await;
            c.send(&cmd(args)).await;
            c.read_frame().await
        }
    };
    for n in [&a, &b, &c] {
        assert_eq!(
            ask(n, &["PUBSUB", "NUMSUB", "ch1", "ch2", "zz"]).await,
            b"*6\r\n$3\r\nch1\r\n:4\r\n$3\r\nch2\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
            "NUMSUB from {}",
            n.addr
        );
        let chans = ask(n, &["PUBSUB", "CHANNELS"]).await;
        let mut names: Vec<Vec<u8>> = split_aggregate(&chans)
            .unwrap()
            .1
            .iter()
            .map(|f| frame_payload(f).unwrap().to_vec())
            .collect();
        names.sort();
        assert_eq!(names, [b"ch1".to_vec(), b"ch2".to_vec()]);
        assert_eq!(
            ask(n, &["PUBSUB", "CHANNELS", "*2"]).await,
            b"*1\r\n$3\r\nch2\r\n"
        );
        // p* on A and on C is one distinct pattern, as NUMPAT counts in Redis.
        assert_eq!(ask(n, &["PUBSUB", "NUMPAT"]).await, b":1\r\n");
        assert_eq!(
            ask(n, &["PUBSUB", "SHARDCHANNELS"]).await,
            b"*1\r\n$2\r\ns1\r\n"
        );
        assert_eq!(
            ask(n, &["PUBSUB", "SHARDNUMSUB", "s1", "ch1"]).await,
            b"*4\r\n$2\r\ns1\r\n:1\r\n$3\r\nch1\r\n:0\r\n"
        );
    }
    let mut q = b.connect().await;
    sub(&mut q, "PSUBSCRIBE", &[b"q*"]).await;
    assert_eq!(ask(&a, &["PUBSUB", "NUMPAT"]).await, b":2\r\n");

    // backplane-publish-count cluster on B: B's 2 receivers of ch1 at once, plus A's and
    // C's (1 each) once B has asked; never waiting. A still counts its own only.
    let mut pb = b.connect().await;
    let deadline = Instant::now() + WAIT;
    let mut first = None;
    loop {
        let n = publish(&mut pb, "PUBLISH", b"ch1", b"count").await;
        first.get_or_insert(n);
        if n == 4 {
            break;
        }
        assert!(n == 2 || n == 3, "B's count {n}");
        assert!(
            Instant::now() < deadline,
            "B never added the other nodes' receivers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        first,
        Some(2),
        "the first PUBLISH counts B's own receivers only"
    );
    let mut pa = a.connect().await;
    assert_eq!(publish(&mut pa, "PUBLISH", b"ch1", b"count").await, 1);
    // Crossing backplane-count-cache 2: more channels than it keeps; B's counts stay
    // right (ch2: 1 on B, none elsewhere; zz: none) and INFO shows at most 2 kept.
    let deadline = Instant::now() + WAIT;
    loop {
        let ch2 = publish(&mut pb, "PUBLISH", b"ch2", b"x").await;
        let px = publish(&mut pb, "PUBLISH", b"p-x", b"x").await;
        let zz = publish(&mut pb, "PUBLISH", b"zz", b"x").await;
        assert_eq!((ch2, zz), (1, 0));
        // p-x: A's and C's p* match it, as their PUBLISH would count (B's q* does not).
        assert!(px == 0 || px == 2, "p-x {px}");
        if px == 2 && stat(&b, "backplane_count_cache_entries").await <= 2 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    assert!(stat(&b, "backplane_count_cache_entries").await <= 2);
    let deadline = Instant::now() + WAIT;
    while publish(&mut pb, "PUBLISH", b"ch1", b"count").await != 4 {
        assert!(
            Instant::now() < deadline,
            "ch1's count never came back after eviction"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Crossing backplane-request-timeout: C stopped answers nothing; A waits 300 ms
    // and answers with its own and B's counts.
    let partial_before = stat(&a, "backplane_requests_partial").await;
    {
        let _stopped = Stopped::new(c.pid());
        let t = Instant::now();
        let r = ask(&a, &["PUBSUB", "NUMSUB", "ch1"]).await;
        let took = t.elapsed();
        assert_eq!(r, b"*2\r\n$3\r\nch1\r\n:3\r\n", "C left out");
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(2),
            "waited {took:?}"
        );
        eprintln!("NUMSUB with one node stopped answered in {took:?} (timeout 300 ms)");
    }
    assert_eq!(
        stat(&a, "backplane_requests_partial").await,
        partial_before + 1
    );
    // C back: complete answers again.
    let deadline = Instant::now() + WAIT;
    while ask(&a, &["PUBSUB", "NUMSUB", "ch1"]).await != b"*2\r\n$3\r\nch1\r\n:4\r\n" {
        assert!(Instant::now() < deadline, "C never answered again");
    }
}

/// A nats-server dies in the middle of a flood: the node that used it moves to
/// another member of the NATS cluster, delivery resumes, order holds, and what is
/// lost is one window around the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dying_nats_server_moves_the_node_and_delivery_resumes() {
    let _serial = SERIAL.lock().await;
    let mut nats = NatsCluster::start(3, "").await;
    let cl = "t3";
    // A knows only nats0 at start; it learns the others from the cluster.
    let a = node(&nats.servers[0].url(), cl, &[]).await;
    let b = node(&nats.servers[1].url(), cl, &[]).await;
    wait_joined(&[&a, &b]).await;
    let mut b_sub = b.connect().await;
    sub(&mut b_sub, "SUBSCRIBE", &[b"flood"]).await;
    wait_interest(&nats.servers[0], &subject(cl, 'c', b"flood"), None, 1).await;

    const N: usize = 6000;
    let sent = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let (addr, sent) = (a.addr, sent.clone());
        tokio::spawn(async move {
            let mut p = Client::connect(addr).await;
            for i in 0..N {
                assert_eq!(
                    publish(&mut p, "PUBLISH", b"flood", i.to_string().as_bytes()).await,
                    0
                );
                sent.store(i + 1, Relaxed);
                if i % 10 == 9 {
                    // About 5000 messages a second: the failure lands mid-flood.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };
    let receiver = tokio::spawn(async move {
        let mut got: Vec<(usize, Instant)> = Vec::new();
        while let Ok(f) = b_sub.try_read_frame_within(Duration::from_secs(5)).await {
            let n: usize = String::from_utf8(payload_of(&f)).unwrap().parse().unwrap();
            got.push((n, Instant::now()));
            if n == N - 1 {
                break;
            }
        }
        got
    });
    let deadline = Instant::now() + WAIT;
    while sent.load(Relaxed) < N / 3 {
        assert!(Instant::now() < deadline, "publisher stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = Instant::now();
    let sent_at_kill = sent.load(Relaxed);
    nats.servers[0].kill();
    publisher.await.expect("publisher");
    let got = receiver.await.expect("receiver");
    let seqs: Vec<usize> = got.iter().map(|g| g.0).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "order or duplicates broken"
    );
    let missing: Vec<usize> = (0..N).filter(|i| seqs.binary_search(i).is_err()).collect();
    // Everything published well after the failure arrived: delivery resumed.
    assert!(
        (N - N / 4..N).all(|i| seqs.binary_search(&i).is_ok()),
        "the last quarter did not all arrive; missing {} of {N}",
        missing.len()
    );
    // Loss is one window around the failure, not spread over the run.
    if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
        let window = last - first + 1;
        assert!(window < N / 2, "loss spread over {window} messages");
    }
    let resumed = got
        .iter()
        .find(|(n, t)| *t > killed_at && *n > sent_at_kill)
        .map(|(_, t)| t.duration_since(killed_at));
    let ia = wait_info(&a, "reconnected", |i| num(i, "backplane_connects") >= 2).await;
    assert!(!ia["backplane_server"].ends_with(&format!(":{}", nats.servers[0].port)));
    eprintln!(
        "nats-server killed after {sent_at_kill} of {N} messages: {} lost ({:?}..={:?}), \
         first later message at B after {resumed:?}; A now on {}; \
         A dropped_queue_full={} dropped_nats_error={}",
        missing.len(),
        missing.first(),
        missing.last(),
        ia["backplane_server"],
        ia["backplane_dropped_queue_full"],
        ia["backplane_dropped_nats_error"]
    );
}

/// All of NATS down: local pub/sub goes on unchanged, cross-node messages are dropped
/// once the queue is full and counted, /readyz follows backplane-ready-required. NATS
/// back: the nodes reconnect and their interest (including a subscription made during
/// the outage) is restored with no client action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_keeps_local_pubsub_and_interest_returns() {
    let _serial = SERIAL.lock().await;
    let mut nats = NatsCluster::start(3, "").await;
    let cl = "t4";
    let urls = nats.urls();
    let admin = free_port().to_string();
    let a = node(
        &urls,
        cl,
        &[
            "--backplane-queue-bytes",
            "4kb",
            "--admin-port",
            &admin,
            "--admin-bind",
            "127.0.0.1",
            "--backplane-ready-required",
            "yes",
        ],
    )
    .await;
    let b = node(&urls, cl, &[]).await;
    let c = node(&urls, cl, &[]).await;
    wait_joined(&[&a, &b, &c]).await;
    let readyz = || {
        let admin = admin.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(format!("127.0.0.1:{admin}"))
                .await
                .expect("admin port");
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await;
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    assert!(
        readyz().await.starts_with("HTTP/1.1 200"),
        "ready while connected"
    );

    let mut a_sub = a.connect().await;
    sub(&mut a_sub, "SUBSCRIBE", &[b"ch"]).await;
    let mut b_sub = b.connect().await;
    sub(&mut b_sub, "SUBSCRIBE", &[b"ch"]).await;
    let a_nats = nats.server_of(&a).await;
    wait_interest(a_nats, &subject(cl, 'c', b"ch"), None, 2).await;

    nats.kill_all();
    let down_at = Instant::now();
    wait_info(&a, "disconnected", |i| num(i, "backplane_connected") == 0).await;
    let r = readyz().await;
    assert!(
        r.starts_with("HTTP/1.1 503") && r.contains("backplane"),
        "{r}"
    );

    // A subscription made while NATS is down.
    let mut c_sub = c.connect().await;
    sub(&mut c_sub, "SUBSCRIBE", &[b"ch2"]).await;

    // Local pub/sub unchanged; past the NATS client's buffer and the 4kb queue the
    // messages for other nodes are dropped, and counted.
    const N: usize = 4000;
    let mut p = a.connect().await;
    let mut batch = Vec::new();
    for i in 0..N {
        batch.extend_from_slice(&cmd(&[&b"PUBLISH"[..], b"ch", format!("o{i}").as_bytes()]));
    }
    p.send(&batch).await;
    for f in frames(&mut p, N, "PUBLISH replies").await {
        assert_eq!(f, b":1\r\n");
    }
    assert_eq!(
        payloads(&frames(&mut a_sub, N, "A local").await, b"message"),
        numbered("o", N)
    );
    let ia = info(&a).await;
    let dropped = num(&ia, "backplane_dropped_queue_full");
    assert!(dropped > 0, "drops counted: {ia:?}");

    nats.restart_all().await;
    let back_at = Instant::now();
    for n in [&a, &b, &c] {
        wait_info(n, "reconnected", |i| num(i, "backplane_connected") == 1).await;
    }
    let reconnected = back_at.elapsed();
    assert!(readyz().await.starts_with("HTTP/1.1 200"), "ready again");

    // B's interest came back by itself: what A had queued arrives first (in order),
    // then new messages.
    let t = Instant::now();
    let mut outage: Vec<usize> = Vec::new();
    let mut i = 0;
    'wait_b: loop {
        assert!(t.elapsed() < WAIT, "B never received again");
        publish(&mut p, "PUBLISH", b"ch", format!("after{i}").as_bytes()).await;
        i += 1;
        while let Ok(f) = b_sub.try_read_frame_within(Duration::from_millis(50)).await {
            let m = String::from_utf8(payload_of(&f)).unwrap();
            if let Some(n) = m.strip_prefix('o') {
                outage.push(n.parse().unwrap());
            } else {
                break 'wait_b;
            }
        }
    }
    let b_resumed = t.elapsed();
    assert!(
        outage.windows(2).all(|w| w[0] < w[1]),
        "queued messages out of order"
    );
    assert!(
        outage.len() + dropped as usize <= N,
        "more delivered than sent"
    );
    // C's subscription from the outage reached NATS without any client action.
    let t = Instant::now();
    let mut j = 0;
    loop {
        assert!(t.elapsed() < WAIT, "C's outage subscription never crossed");
        publish(&mut p, "PUBLISH", b"ch2", format!("x{j}").as_bytes()).await;
        j += 1;
        if c_sub
            .try_read_frame_within(Duration::from_millis(50))
            .await
            .is_ok()
        {
            break;
        }
    }
    eprintln!(
        "NATS down {:?}: A dropped {dropped} of {N} for other nodes (queue 4kb), delivered \
         {} queued ones after restart; nodes reconnected {reconnected:?} after NATS \
         came back, B received new messages after {b_resumed:?} more, C's outage \
         subscription after {:?}",
        back_at.duration_since(down_at),
        outage.len(),
        t.elapsed()
    );
}

/// max_payload (drop or refuse), backplane-max-subject-len and
/// backplane-inbound-capacity, each crossed; the nodes go on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_subject_and_inbound_limits() {
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(1, "max_payload: 4096").await;
    let cl = "t5";
    let url = nats.urls();
    let a = node(&url, cl, &["--backplane-max-subject-len", "64"]).await;
    let b = node(&url, cl, &["--backplane-oversize", "refuse"]).await;
    let c = node(
        &url,
        cl,
        &[
            "--backplane-inbound-capacity",
            "16",
            "--worker-threads",
            "1",
        ],
    )
    .await;
    wait_joined(&[&a, &b, &c]).await;
    let n0 = &nats.servers[0];
    let big = vec![b'x'; 5000];
    let long = vec![b'L'; 100];

    let mut a_sub = a.connect().await;
    sub(&mut a_sub, "SUBSCRIBE", &[b"ch", &long]).await;
    let mut b_sub = b.connect().await;
    sub(&mut b_sub, "SUBSCRIBE", &[b"ch"]).await;
    let mut c_sub = c.connect().await;
    sub(&mut c_sub, "SUBSCRIBE", &[b"ch", &long]).await;
    wait_interest(n0, &subject(cl, 'c', b"ch"), None, 3).await;
    wait_interest(n0, &subject(cl, 'c', &long), None, 1).await;

    // Over max_payload with `drop`: delivered on A, not carried, counted.
    let mut pa = a.connect().await;
    assert_eq!(publish(&mut pa, "PUBLISH", b"ch", &big).await, 1);
    assert_eq!(payload_of(&frames(&mut a_sub, 1, "A big").await[0]), big);
    assert_eq!(publish(&mut pa, "PUBLISH", b"ch", b"small").await, 1);
    assert_eq!(
        payload_of(&frames(&mut c_sub, 1, "C after big").await[0]),
        b"small"
    );
    assert_eq!(
        payload_of(&frames(&mut b_sub, 1, "B after big").await[0]),
        b"small"
    );
    assert_eq!(
        payload_of(&frames(&mut a_sub, 1, "A small").await[0]),
        b"small"
    );
    assert_eq!(stat(&a, "backplane_dropped_oversize").await, 1);

    // With `refuse`: an error, delivered nowhere.
    let mut pb = b.connect().await;
    pb.send(&cmd(&[&b"PUBLISH"[..], b"ch", &big])).await;
    pb.expect(b"-ERR message larger than the backplane's max_payload (4096 bytes)\r\n")
        .await;
    assert_eq!(publish(&mut pb, "PUBLISH", b"ch", b"b-small").await, 1);
    for (c, who) in [(&mut b_sub, "B"), (&mut a_sub, "A"), (&mut c_sub, "C")] {
        assert_eq!(payload_of(&frames(c, 1, who).await[0]), b"b-small", "{who}");
    }
    assert_eq!(stat(&b, "backplane_refused_oversize").await, 1);

    // A channel whose subject is over A's 64 bytes: served on A only.
    assert_eq!(publish(&mut pa, "PUBLISH", &long, b"from-a").await, 1);
    assert_eq!(
        payload_of(&frames(&mut a_sub, 1, "A long").await[0]),
        b"from-a"
    );
    assert_eq!(publish(&mut pb, "PUBLISH", &long, b"from-b").await, 0);
    assert_eq!(
        payload_of(&frames(&mut c_sub, 1, "C long").await[0]),
        b"from-b"
    );
    let ia = info(&a).await;
    assert_eq!(num(&ia, "backplane_dropped_subject_too_long"), 1, "{ia:?}");
    assert_eq!(num(&ia, "backplane_local_only_channels"), 1, "{ia:?}");

    // backplane-inbound-capacity 16 on C: C stopped while 3000 messages queue up in
    // its socket, then resumed on one worker thread: the NATS client reads them all
    // before C's delivery task runs, and what does not fit is dropped and counted.
    const N: usize = 3000;
    let c_node = info(&c).await["backplane_node_id"].clone();
    {
        let _stopped = Stopped::new(c.pid());
        let mut batch = Vec::new();
        for i in 0..N {
            batch.extend_from_slice(&cmd(&[&b"PUBLISH"[..], b"ch", i.to_string().as_bytes()]));
        }
        pa.send(&batch).await;
        frames(&mut pa, N, "PUBLISH replies").await;
        let deadline = Instant::now() + WAIT;
        // NATS has written them all towards C (its connection's out_msgs).
        while connz_out_msgs(n0, &c_node).await < N as u64 {
            assert!(Instant::now() < deadline, "NATS never sent the flood to C");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let ic = wait_info(&c, "dropped inbound", |i| {
        num(i, "backplane_dropped_inbound_slow") > 0
    })
    .await;
    // What was not dropped is delivered, in order, and C still serves: a message
    // published after the flood arrives last. (async-nats reports drops through a
    // 128-event channel, so the counter is a lower bound for large bursts.)
    assert_eq!(publish(&mut pa, "PUBLISH", b"ch", b"alive").await, 1);
    let mut seqs: Vec<usize> = Vec::new();
    loop {
        let f = frames(&mut c_sub, 1, "C after the stop").await.remove(0);
        let p = String::from_utf8(payload_of(&f)).unwrap();
        if p == "alive" {
            break;
        }
        seqs.push(p.parse().unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "order");
    let dropped = num(&ic, "backplane_dropped_inbound_slow") as usize;
    assert!(
        seqs.len() < N && dropped <= N - seqs.len(),
        "{dropped} {}",
        seqs.len()
    );
    // The exact gap: what the NATS client read and no task took, now that all is
    // quiet, is every message C did not deliver (plus at most a few control ones).
    let ic = info(&c).await;
    let gap = num(&ic, "backplane_inbound_unconsumed") as usize;
    assert!(
        gap >= N - seqs.len() && gap <= N - seqs.len() + 16,
        "gap {gap}: {ic:?}"
    );
    eprintln!(
        "inbound capacity 16: C delivered {} of {N} after the stop, counted {dropped} drop \
         events, inbound_unconsumed {gap}",
        seqs.len()
    );
}

/// A real client: redis-py subscribed on node A, publishing on node C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_subscribed_on_one_node_publishing_on_another() {
    let _serial = SERIAL.lock().await;
    let python = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/python/.venv/bin/python"
    );
    assert!(
        std::path::Path::new(python).exists(),
        "{python} missing: run tests/clients/setup.sh (installs redis-py)"
    );
    let nats = NatsCluster::start(3, "").await;
    let cl = "t6";
    let a = node(&nats.servers[0].url(), cl, &[]).await;
    let b = node(&nats.servers[1].url(), cl, &[]).await;
    let c = node(&nats.servers[2].url(), cl, &[]).await;
    wait_joined(&[&a, &b, &c]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/backplane_redis_py.py");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(python)
            .args([
                script,
                &a.addr.port().to_string(),
                &c.addr.port().to_string(),
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("redis-py script timed out")
    .expect("run python");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "redis-py script failed");
    assert!(text.contains("redis-py backplane: ok"), "{text}");
    drop(b);
}

/// TLS and user/password to NATS; a wrong password keeps a node off the backplane while
/// its own pub/sub works; settings that cannot work stop the start with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_credentials_to_nats() {
    let _serial = SERIAL.lock().await;
    let dir = std::env::temp_dir().join(format!("respub-backplane-tls-{}", std::process::id()));
    let made = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/tls-certs.sh"
        ))
        .arg(&dir)
        .status()
        .expect("run tests/clients/tls-certs.sh");
    assert!(made.success(), "tls-certs.sh failed (needs openssl)");
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let nats = NatsCluster::start(
        1,
        &format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n\
             authorization {{\n  user: bp\n  password: \"s3cret\"\n}}",
            p("server.crt"),
            p("server.key")
        ),
    )
    .await;
    let url = format!("tls://127.0.0.1:{}", nats.servers[0].port);
    let ca = p("ca.crt");
    let good: [&str; 6] = [
        "--backplane-nats-tls-ca-file",
        &ca,
        "--backplane-nats-user",
        "bp",
        "--backplane-nats-password",
        "s3cret",
    ];
    let cl = "t7";
    let a = node(&url, cl, &good).await;
    let b = node(&url, cl, &good).await;
    wait_joined(&[&a, &b]).await;
    let mut b_sub = b.connect().await;
    sub(&mut b_sub, "SUBSCRIBE", &[b"secure"]).await;
    wait_interest(&nats.servers[0], &subject(cl, 'c', b"secure"), None, 1).await;
    let mut pa = a.connect().await;
    assert_eq!(publish(&mut pa, "PUBLISH", b"secure", b"over tls").await, 0);
    assert_eq!(
        payload_of(&frames(&mut b_sub, 1, "B over TLS").await[0]),
        b"over tls"
    );

    // Wrong password: the node serves its own clients and stays off the backplane (a
    // bounded look at a state that must not change).
    let mut bad_args = good;
    bad_args[5] = "wrong";
    let bad = node(&url, cl, &bad_args).await;
    let mut bad_sub = bad.connect().await;
    sub(&mut bad_sub, "SUBSCRIBE", &[b"secure"]).await;
    let mut pbad = bad.connect().await;
    assert_eq!(publish(&mut pbad, "PUBLISH", b"secure", b"local").await, 1);
    assert_eq!(
        payload_of(&frames(&mut bad_sub, 1, "bad local").await[0]),
        b"local"
    );
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        assert_eq!(
            num(&info(&bad).await, "backplane_connected"),
            0,
            "wrong password connected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And A's messages never reach it: B, on the backplane, gets the next one.
    assert_eq!(publish(&mut pa, "PUBLISH", b"secure", b"after").await, 0);
    assert_eq!(
        payload_of(&frames(&mut b_sub, 1, "B after").await[0]),
        b"after"
    );
    assert!(bad_sub
        .try_read_frame_within(Duration::from_millis(300))
        .await
        .is_err());

    // Settings that cannot work stop the start, with the reason.
    for (args, reason) in [
        (
            vec!["--backplane-nats-url", "bogus://x:1"],
            "backplane-nats-url",
        ),
        (vec!["--backplane-nats-user", "u"], "go together"),
        (
            vec![
                "--backplane-nats-token",
                "t",
                "--backplane-nats-user",
                "u",
                "--backplane-nats-password",
                "p",
            ],
            "one NATS authentication",
        ),
        (
            vec!["--backplane-nats-creds-file", "/nonexistent/x.creds"],
            "backplane-nats-creds-file",
        ),
        (
            vec!["--backplane-cluster-name", "a.b"],
            "backplane-cluster-name",
        ),
    ] {
        // Bounded: a start that wrongly succeeded would otherwise serve forever.
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::process::Command::new(Kind::Respub.program())
                .args([
                    "--port",
                    "0",
                    "--unixsocket",
                    &p("never.sock"),
                    "--backplane",
                    "nats",
                ])
                .args(&args)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{args:?}: respub started instead of refusing"))
        .expect("run respub");
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{args:?} started");
        assert!(text.contains(reason), "{args:?}: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// nkey authentication to NATS (a seed file), and a token; each carries messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nkey_and_token_authentication() {
    let _serial = SERIAL.lock().await;
    let user = nkeys::KeyPair::new_user();
    let dir = std::env::temp_dir().join(format!("respub-backplane-nkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed_file = dir.join("user.nk");
    std::fs::write(&seed_file, format!("{}\n", user.seed().unwrap())).unwrap();
    let seed_file = seed_file.to_string_lossy().into_owned();
    for (conf, args) in [
        (
            format!(
                "authorization {{\n  users = [ {{ nkey: \"{}\" }} ]\n}}",
                user.public_key()
            ),
            vec!["--backplane-nats-nkey-file", seed_file.as_str()],
        ),
        (
            "authorization {\n  token: \"t0ken\"\n}".to_string(),
            vec!["--backplane-nats-token", "t0ken"],
        ),
    ] {
        let nats = NatsCluster::start(1, &conf).await;
        let url = nats.urls();
        let cl = "t8";
        let a = node(&url, cl, &args).await;
        let b = node(&url, cl, &args).await;
        wait_joined(&[&a, &b]).await;
        let mut b_sub = b.connect().await;
        sub(&mut b_sub, "SUBSCRIBE", &[b"auth"]).await;
        wait_interest(&nats.servers[0], &subject(cl, 'c', b"auth"), None, 1).await;
        let mut pa = a.connect().await;
        assert_eq!(publish(&mut pa, "PUBLISH", b"auth", b"ok").await, 0);
        assert_eq!(
            payload_of(&frames(&mut b_sub, 1, "B").await[0]),
            b"ok",
            "{args:?}"
        );
    }
    // A file that is not an nkey seed stops the start.
    std::fs::write(dir.join("bad.nk"), "not a seed\n").unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(Kind::Respub.program())
            .args(["--port", "0", "--unixsocket"])
            .arg(dir.join("never.sock"))
            .args(["--backplane", "nats", "--backplane-nats-nkey-file"])
            .arg(dir.join("bad.nk"))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("respub started with a bad nkey file")
    .expect("run respub");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("not an nkey seed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Browsers are subscribers and publishers like RESP clients (issue 12 over issue 10): a
/// WebSocket client on node A receives what a RESP client publishes on node B, and what
/// the browser publishes reaches a RESP subscriber on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_publish_and_receive_across_nodes() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let _serial = SERIAL.lock().await;
    let nats = NatsCluster::start(2, "").await;
    let cl = "t9";
    let admin = free_port();
    let admin_s = admin.to_string();
    let a = node(
        &nats.servers[0].url(),
        cl,
        &["--admin-port", &admin_s, "--admin-bind", "127.0.0.1"],
    )
    .await;
    let b = node(&nats.servers[1].url(), cl, &[]).await;
    wait_joined(&[&a, &b]).await;

    let deadline = Instant::now() + WAIT;
    let mut ws = loop {
        // The admin port is bound after the RESP port.
        match tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{admin}/ws")).await {
            Ok((ws, _)) => break ws,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("websocket to node A: {e}"),
        }
    };
    type Ws = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;
    async fn next(ws: &mut Ws) -> serde_json::Value {
        loop {
            let m = tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("a websocket frame in time")
                .expect("open")
                .expect("frame");
            if let Message::Text(t) = m {
                return serde_json::from_str(t.as_str()).expect("JSON");
            }
        }
    }
    ws.send(Message::text(r#"{"op":"subscribe","channels":["web.in"]}"#))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await["type"], "subscribe");
    let mut b_sub = b.connect().await;
    sub(&mut b_sub, "SUBSCRIBE", &[b"web.out"]).await;
    // Both directions have crossed once each node's NATS server lists the other's interest.
    wait_interest(&nats.servers[1], &subject(cl, 'c', b"web.in"), None, 1).await;
    wait_interest(&nats.servers[0], &subject(cl, 'c', b"web.out"), None, 1).await;

    let mut b_pub = b.connect().await;
    assert_eq!(
        publish(&mut b_pub, "PUBLISH", b"web.in", b"to the browser").await,
        0
    );
    let m = next(&mut ws).await;
    assert_eq!(m["type"], "message");
    assert_eq!(m["channel"], "web.in");
    assert_eq!(m["data"], "to the browser");

    ws.send(Message::text(
        r#"{"op":"publish","channel":"web.out","data":"from the browser"}"#,
    ))
    .await
    .unwrap();
    let reply = next(&mut ws).await;
    assert_eq!(reply["type"], "publish");
    assert_eq!(reply["count"], 0, "local receivers only, as a RESP PUBLISH");
    let got = frames(&mut b_sub, 1, "B's subscriber").await;
    assert_eq!(
        payloads(&got, b"message"),
        vec![b"from the browser".to_vec()]
    );
    drop(ws);
}
