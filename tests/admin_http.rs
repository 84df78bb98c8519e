//! The admin HTTP port (issue 8): `/metrics` parsed by the Prometheus project's own text
//! parser (prometheus_client, pinned in tests/clients/python/requirements-admin.txt and
//! installed by tests/clients/setup.sh) with values checked after a known workload,
//! `/healthz`, and `/readyz` turning 503 on SIGTERM while clients drain.
//!
//! /metrics exists only in respub, so the workload is proven on redis-server through
//! what both servers have: the same INFO commandstats / errorstats / stats numbers are
//! asserted on both, and the /metrics numbers on respub must agree with them.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{cmd, free_port, Client, Kind, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "admin-test-pw";

/// One HTTP/1.0 GET (no chunked body to decode): (status, body). Err if nobody listens.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect"))??;
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "read"))??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// What the Prometheus parser made of a scrape.
#[derive(Debug, Default)]
struct Scrape {
    /// family name -> type
    families: BTreeMap<String, String>,
    /// (sample name, "k=v,k=v" sorted) -> value
    samples: BTreeMap<(String, String), f64>,
}

impl Scrape {
    fn value(&self, name: &str, labels: &str) -> f64 {
        *self
            .samples
            .get(&(name.to_string(), labels.to_string()))
            .unwrap_or_else(|| panic!("no sample {name}{{{labels}}} in the scrape"))
    }
}

fn parse_metrics(text: &str) -> Scrape {
    let python = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/python/.venv-admin/bin/python"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/admin_parse_metrics.py");
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is missing: run tests/clients/setup.sh (it installs the pinned prometheus_client)"
    );
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Prometheus parser");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("parser stdin");
        stdin.write_all(text.as_bytes()).expect("feed the parser");
    }
    let out = child.wait_with_output().expect("parser output");
    assert!(
        out.status.success(),
        "prometheus_client rejected /metrics: {}\n--- scrape ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut scrape = Scrape::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "family" => {
                scrape.families.insert(f[1].to_string(), f[2].to_string());
            }
            "sample" => {
                let v: f64 = f[3].parse().unwrap_or_else(|_| panic!("value in {line}"));
                scrape
                    .samples
                    .insert((f[1].to_string(), f[2].to_string()), v);
            }
            _ => panic!("unexpected parser line {line}"),
        }
    }
    scrape
}

async fn authed(server: &Server) -> Client {
    let mut c = server.connect().await;
    c.roundtrip(&cmd(&["AUTH", PASSWORD]), b"+OK\r\n").await;
    c
}

/// The fields of `INFO <section>` as a map.
async fn info(c: &mut Client, section: &str) -> BTreeMap<String, String> {
    c.send(&cmd(&["INFO", section])).await;
    let frame = c.read_frame().await;
    let text = String::from_utf8_lossy(&frame).into_owned();
    text.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `calls=5,usec=..` -> map.
fn fields(v: &str) -> BTreeMap<String, String> {
    v.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Clients the workload keeps connected: 3 RESP2 channel subscribers, 1 RESP3 pattern
/// subscriber (HELLO 3 AUTH), 1 shard subscriber, and the publisher.
struct Workload {
    _subscribers: Vec<Client>,
    publisher: Client,
}

/// 5 PUBLISH to `news` (3 subscribers + 1 pattern: 4 each), 2 SPUBLISH to `shard1`
/// (1 each), one unknown command, one wrong password.
async fn workload(server: &Server) -> Workload {
    let mut subs = Vec::new();
    for _ in 0..3 {
        let mut c = authed(server).await;
        c.roundtrip(
            &cmd(&["SUBSCRIBE", "news"]),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        )
        .await;
        subs.push(c);
    }
    let mut p = server.connect().await;
    p.send(&cmd(&["HELLO", "3", "AUTH", "default", PASSWORD]))
        .await;
    p.read_frame().await;
    p.roundtrip(
        &cmd(&["PSUBSCRIBE", "n*"]),
        b">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n",
    )
    .await;
    subs.push(p);
    let mut s = authed(server).await;
    s.roundtrip(
        &cmd(&["SSUBSCRIBE", "shard1"]),
        b"*3\r\n$10\r\nssubscribe\r\n$6\r\nshard1\r\n:1\r\n",
    )
    .await;
    subs.push(s);

    let mut publisher = authed(server).await;
    for i in 0..5 {
        publisher
            .roundtrip(&cmd(&["PUBLISH", "news", &format!("m{i}")]), b":4\r\n")
            .await;
    }
    for i in 0..2 {
        publisher
            .roundtrip(&cmd(&["SPUBLISH", "shard1", &format!("s{i}")]), b":1\r\n")
            .await;
    }
    publisher.send(&cmd(&["NOSUCHCMD"])).await;
    let e = publisher.read_frame().await;
    assert!(e.starts_with(b"-ERR unknown command"), "{e:?}");
    publisher.send(&cmd(&["AUTH", "wrong"])).await;
    let e = publisher.read_frame().await;
    assert!(e.starts_with(b"-WRONGPASS"), "{e:?}");
    // Every subscriber got its messages (so the counts below are deliveries made).
    for c in subs.iter_mut().take(4) {
        c.read_frames(5).await;
    }
    subs[4].read_frames(2).await;
    Workload {
        _subscribers: subs,
        publisher,
    }
}

/// What INFO must say after the workload, on redis-server and respub alike.
async fn check_info(kind: Kind, c: &mut Client) {
    let label = kind.label();
    let cs = info(c, "commandstats").await;
    let calls = |name: &str| fields(&cs[&format!("cmdstat_{name}")])["calls"].clone();
    assert_eq!(calls("publish"), "5", "{label} cmdstat_publish");
    assert_eq!(calls("spublish"), "2", "{label} cmdstat_spublish");
    assert_eq!(calls("subscribe"), "3", "{label} cmdstat_subscribe");
    assert_eq!(calls("hello"), "1", "{label} cmdstat_hello");
    let auth = fields(&cs["cmdstat_auth"]);
    assert_eq!(
        (auth["calls"].as_str(), auth["failed_calls"].as_str()),
        ("6", "1"),
        "{label} cmdstat_auth: 5 clients + the wrong password"
    );
    let es = info(c, "errorstats").await;
    assert_eq!(es["errorstat_ERR"], "count=1", "{label} errorstats");
    assert_eq!(es["errorstat_WRONGPASS"], "count=1", "{label} errorstats");
    let st = info(c, "stats").await;
    assert_eq!(st["total_error_replies"], "2", "{label}");
    assert_eq!(st["pubsub_channels"], "1", "{label}");
    assert_eq!(st["pubsub_patterns"], "1", "{label}");
    let ls = info(c, "latencystats").await;
    let p = fields(&ls["latency_percentiles_usec_publish"]);
    assert_eq!(
        p.keys().cloned().collect::<Vec<_>>(),
        ["p50", "p99", "p99.9"],
        "{label} latencystats percentiles"
    );
    assert!(
        p["p50"].parse::<f64>().is_ok_and(|v| v > 0.0),
        "{label} {p:?}"
    );
}

#[tokio::test]
async fn info_counts_the_workload_on_redis_and_respub() {
    for kind in [Kind::Redis, Kind::Respub] {
        let server = Server::start(kind, &["--requirepass", PASSWORD]).await;
        let mut w = workload(&server).await;
        check_info(kind, &mut w.publisher).await;
    }
}

#[tokio::test]
async fn metrics_report_a_known_workload() {
    let admin_port = free_port();
    let socket = std::env::temp_dir()
        .join(format!(
            "respub-admin-{}-{admin_port}.sock",
            std::process::id()
        ))
        .display()
        .to_string();
    let server = Server::start(
        Kind::Respub,
        &[
            "--requirepass",
            PASSWORD,
            "--admin-port",
            &admin_port.to_string(),
            "--admin-bind",
            "127.0.0.1",
            "--metrics-top-channels",
            "1",
            "--unixsocket",
            &socket,
        ],
    )
    .await;
    let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    let _workload = workload(&server).await;
    // One more client, over the Unix socket.
    let mut unix = tokio::net::UnixStream::connect(&socket)
        .await
        .expect("connect the unix socket");
    unix.write_all(&cmd(&["AUTH", PASSWORD]))
        .await
        .expect("write");
    let mut ok = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(2), unix.read_exact(&mut ok))
        .await
        .expect("AUTH reply in time")
        .expect("read");
    assert_eq!(&ok, b"+OK\r\n");
    let (status, body) = http_get(admin, "/metrics").await.expect("GET /metrics");
    assert_eq!(status, 200, "{body}");
    let m = parse_metrics(&body);

    for (family, kind) in [
        ("respub_connected_clients", "gauge"),
        ("respub_messages_published", "counter"),
        ("respub_messages_delivered", "counter"),
        ("respub_command_duration_seconds", "histogram"),
        ("process_resident_memory_bytes", "gauge"),
    ] {
        assert_eq!(
            m.families.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    // Clients: 5 RESP2 over TCP (3 subscribers, the shard subscriber, the publisher),
    // 1 RESP3 over TCP, 1 RESP2 over the Unix socket.
    let clients = |labels: &str| m.value("respub_connected_clients", labels);
    assert_eq!(clients("protocol=resp2,transport=tcp"), 5.0);
    assert_eq!(clients("protocol=resp3,transport=tcp"), 1.0);
    assert_eq!(clients("protocol=resp2,transport=unix"), 1.0);
    assert_eq!(clients("protocol=resp3,transport=unix"), 0.0);
    assert_eq!(m.value("respub_pubsub_clients", ""), 5.0);
    assert_eq!(m.value("respub_pubsub_channels", ""), 1.0);
    assert_eq!(m.value("respub_pubsub_patterns", ""), 1.0);
    assert_eq!(m.value("respub_pubsub_shard_channels", ""), 1.0);
    // Messages: published += N, delivered += N * receivers.
    assert_eq!(
        m.value("respub_messages_published_total", "kind=channel"),
        5.0
    );
    assert_eq!(
        m.value("respub_messages_published_total", "kind=shard"),
        2.0
    );
    assert_eq!(
        m.value("respub_messages_delivered_total", ""),
        5.0 * 4.0 + 2.0
    );
    for reason in ["slow_consumer", "disconnecting"] {
        let labels = format!("reason={reason}");
        assert_eq!(m.value("respub_deliveries_dropped_total", &labels), 0.0);
    }
    assert_eq!(
        m.value("respub_client_disconnections_total", "limit=output_buffer"),
        0.0
    );
    // Commands and errors, agreeing with INFO (checked on both servers above).
    assert_eq!(
        m.value("respub_command_calls_total", "command=publish"),
        5.0
    );
    assert_eq!(m.value("respub_command_calls_total", "command=auth"), 7.0);
    assert_eq!(
        m.value("respub_command_failed_calls_total", "command=auth"),
        1.0
    );
    assert_eq!(
        m.value("respub_command_duration_seconds_count", "command=publish"),
        5.0
    );
    assert_eq!(
        m.value(
            "respub_command_duration_seconds_bucket",
            "command=publish,le=+Inf"
        ),
        5.0
    );
    assert!(m.value("respub_command_duration_seconds_sum", "command=publish") > 0.0);
    assert_eq!(m.value("respub_error_replies_total", "code=ERR"), 1.0);
    assert_eq!(m.value("respub_error_replies_total", "code=WRONGPASS"), 1.0);
    assert_eq!(m.value("respub_auth_failures_total", ""), 1.0);
    assert_eq!(m.value("respub_rejected_connections_total", ""), 0.0);
    // Top-N: the cap of 1 keeps one series per namespace.
    assert_eq!(
        m.value("respub_channel_subscribers", "channel=news,kind=channel"),
        3.0
    );
    assert_eq!(
        m.value("respub_channel_subscribers", "channel=shard1,kind=shard"),
        1.0
    );
    let per_channel = m
        .samples
        .keys()
        .filter(|(n, _)| n == "respub_channel_subscribers")
        .count();
    assert_eq!(per_channel, 2);
    // Process.
    assert!(m.value("process_resident_memory_bytes", "") > 0.0);
    assert!(m.value("process_open_fds", "") >= 6.0);
    assert!(m.value("process_start_time_seconds", "") > 1.6e9);

    drop(unix);
    let _ = std::fs::remove_file(&socket);
}

#[tokio::test]
async fn healthz_and_readyz_answer_while_serving() {
    let admin_port = free_port();
    let server = Server::start(
        Kind::Respub,
        &[
            "--admin-port",
            &admin_port.to_string(),
            "--admin-bind",
            "127.0.0.1",
        ],
    )
    .await;
    let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    assert_eq!(http_get(admin, "/healthz").await.expect("healthz").0, 200);
    assert_eq!(http_get(admin, "/readyz").await.expect("readyz").0, 200);
    assert_eq!(http_get(admin, "/nope").await.expect("404").0, 404);
    drop(server);
}

/// SIGTERM with a subscriber that never reads and megabytes queued for it: shutdown
/// waits `shutdown-timeout` (3 s) for that output, and for that whole drain /readyz
/// answers 503 (the admin port stays up until the drain ends). Then the process exits
/// and the port refuses connections.
#[tokio::test]
async fn readyz_turns_503_on_sigterm_and_the_port_closes_at_exit() {
    let admin_port = free_port();
    let mut server = Server::start(
        Kind::Respub,
        &[
            "--admin-port",
            &admin_port.to_string(),
            "--admin-bind",
            "127.0.0.1",
            "--shutdown-timeout",
            "3",
            "--client-output-buffer-limit",
            "pubsub 0 0 0",
        ],
    )
    .await;
    let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    assert_eq!(http_get(admin, "/readyz").await.expect("readyz").0, 200);

    // A subscriber with a tiny receive buffer that never reads.
    let mut sub = Client::connect_small_rcvbuf(server.addr, 4096).await;
    sub.roundtrip(
        &cmd(&["SUBSCRIBE", "big"]),
        b"*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n",
    )
    .await;
    let mut publisher = server.connect().await;
    let payload = "x".repeat(1 << 20);
    for _ in 0..16 {
        publisher
            .roundtrip(&cmd(&["PUBLISH", "big", &payload]), b":1\r\n")
            .await;
    }

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
    let signalled = Instant::now();

    // 503 must show up while the process drains (bounded wait, polling the probe the
    // way kubelet does).
    let mut saw_503 = false;
    while signalled.elapsed() < Duration::from_secs(2) {
        match http_get(admin, "/readyz").await {
            Ok((503, body)) => {
                assert_eq!(body, "draining\n");
                saw_503 = true;
                break;
            }
            Ok((200, _)) => {}
            other => panic!("/readyz during the drain: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_503, "/readyz never answered 503 after SIGTERM");
    assert!(server.is_running(), "the drain should still be going on");
    // /healthz stays 200 during the drain: liveness is not readiness.
    assert_eq!(http_get(admin, "/healthz").await.expect("healthz").0, 200);

    // Exit after shutdown-timeout; the admin port closes with the process.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.try_wait().is_none() {
        assert!(
            Instant::now() < deadline,
            "respub did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        http_get(admin, "/readyz").await.is_err(),
        "the admin port still answers after exit"
    );
    drop(sub);
}

/// A slow consumer: `client-output-buffer-limit pubsub 1mb 0 0`, a subscriber that never
/// reads, 4 MiB published to it: redis-server and respub both close it (EOF). respub's
/// INFO `client_output_buffer_limit_disconnections` (a 7.4 field redis 7.0.15 lacks) and
/// /metrics count it under `limit="output_buffer"`, and the refused deliveries under
/// `reason="slow_consumer"`.
#[tokio::test]
async fn metrics_count_a_slow_consumer_and_its_dropped_deliveries() {
    /// Returns the publisher and the sum of the PUBLISH replies.
    async fn slow_consumer(server: &Server) -> (Client, u64) {
        let label = server.kind.label();
        let mut sub = Client::connect_small_rcvbuf(server.addr, 4096).await;
        sub.roundtrip(
            &cmd(&["SUBSCRIBE", "firehose"]),
            b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
        )
        .await;
        let mut publisher = server.connect().await;
        let payload = "x".repeat(256 * 1024);
        let mut receivers = 0;
        for _ in 0..16 {
            publisher
                .send(&cmd(&["PUBLISH", "firehose", &payload]))
                .await;
            // :1 until the closed subscriber is gone from the channel, then :0.
            match &publisher.read_frame().await[..] {
                b":1\r\n" => receivers += 1,
                b":0\r\n" => {}
                other => panic!("{label}: PUBLISH answered {other:?}"),
            }
        }
        assert!(
            sub.drain_until_eof(Duration::from_secs(5)).await.is_ok(),
            "{label}: the slow consumer was not closed"
        );
        (publisher, receivers)
    }
    let limit = ["--client-output-buffer-limit", "pubsub 1mb 0 0"];
    let redis = Server::start(Kind::Redis, &limit).await;
    slow_consumer(&redis).await;

    let admin_port = free_port();
    let port = admin_port.to_string();
    let mut args = limit.to_vec();
    args.extend(["--admin-port", &port, "--admin-bind", "127.0.0.1"]);
    let server = Server::start(Kind::Respub, &args).await;
    let (mut publisher, receivers) = slow_consumer(&server).await;
    // The count lands when the closed connection's task ends: wait for it, bounded.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let st = info(&mut publisher, "stats").await;
        if st["client_output_buffer_limit_disconnections"] == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "not counted: {st:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = http_get(SocketAddr::from(([127, 0, 0, 1], admin_port)), "/metrics")
        .await
        .expect("GET /metrics");
    assert_eq!(status, 200);
    let m = parse_metrics(&body);
    assert_eq!(
        m.value("respub_client_disconnections_total", "limit=output_buffer"),
        1.0
    );
    let dropped = m.value("respub_deliveries_dropped_total", "reason=slow_consumer");
    let delivered = m.value("respub_messages_delivered_total", "");
    assert!(
        dropped >= 1.0,
        "the delivery that crossed the limit is dropped"
    );
    assert_eq!(
        dropped + delivered,
        receivers as f64,
        "each receiver a PUBLISH counted is either delivered or dropped"
    );
    assert_eq!(
        m.value("respub_messages_published_total", "kind=channel"),
        16.0
    );
}

/// With `shutdown-delay`, SIGTERM turns /readyz to 503 at once while respub still
/// serves RESP clients for the delay (the window in which Kubernetes takes the pod out
/// of its Service), then exits.
#[tokio::test]
async fn readyz_is_503_during_shutdown_delay_while_clients_are_served() {
    let admin_port = free_port();
    let mut server = Server::start(
        Kind::Respub,
        &[
            "--admin-port",
            &admin_port.to_string(),
            "--admin-bind",
            "127.0.0.1",
            "--shutdown-delay",
            "2",
        ],
    )
    .await;
    let admin = SocketAddr::from(([127, 0, 0, 1], admin_port));
    let mut c = server.connect().await;
    assert_eq!(http_get(admin, "/readyz").await.expect("readyz").0, 200);
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
    let signalled = Instant::now();
    loop {
        let (code, body) = http_get(admin, "/readyz").await.expect("readyz");
        if code == 503 {
            assert_eq!(body, "draining\n");
            break;
        }
        assert!(signalled.elapsed() < Duration::from_secs(1), "still {code}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Still serving during the delay: a connected client and a new one.
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    let mut fresh = server.connect().await;
    fresh.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    assert!(signalled.elapsed() < Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.try_wait().is_none() {
        assert!(
            Instant::now() < deadline,
            "respub did not exit after the delay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "exited before the delay"
    );
}
