//! Every limit a client can reach, crossed once, each followed by a check that the
//! server still serves everyone else. Limits are set low through redis-server style
//! flags so the tests stay small.

mod support;

use std::time::Duration;
use support::{cmd, Client, Kind, Server};

async fn respub(extra: &[&str]) -> Server {
    Server::start(Kind::Respub, extra).await
}

/// A fresh client can still PING and PUBLISH.
async fn still_serves(server: &Server) {
    let mut c = server.connect().await;
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    c.roundtrip(&cmd(&["PUBLISH", "x", "y"]), b":0\r\n").await;
}

#[tokio::test]
async fn proto_max_bulk_len_rejects_bigger_bulks() {
    let server = respub(&["--proto-max-bulk-len", "1mb"]).await;
    let mut c = server.connect().await;
    c.send(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n").await;
    c.expect(b"-ERR Protocol error: invalid bulk length\r\n")
        .await;
    c.expect_eof().await;
    // Exactly at the limit is fine.
    let mut ok = server.connect().await;
    let payload = vec![b'z'; 1024 * 1024];
    ok.send(&cmd(&[b"ECHO".as_slice(), &payload])).await;
    let frame = ok.read_frame().await;
    assert!(frame.starts_with(b"$1048576\r\n"));
    assert_eq!(frame.len(), "$1048576\r\n".len() + 1024 * 1024 + 2);
    still_serves(&server).await;
}

#[tokio::test]
async fn max_multibulk_len_rejects_bigger_counts() {
    let server = respub(&["--max-multibulk-len", "100"]).await;
    let mut c = server.connect().await;
    c.send(b"*101\r\n").await;
    c.expect(b"-ERR Protocol error: invalid multibulk length\r\n")
        .await;
    c.expect_eof().await;
    still_serves(&server).await;
}

#[tokio::test]
async fn max_inline_len_rejects_long_lines() {
    let server = respub(&["--max-inline-len", "2kb"]).await;
    let mut c = server.connect().await;
    c.send(&vec![b'a'; 3000]).await;
    c.expect(b"-ERR Protocol error: too big inline request\r\n")
        .await;
    c.expect_eof().await;
    still_serves(&server).await;
}

#[tokio::test]
async fn client_query_buffer_limit_closes_the_client() {
    let server = respub(&["--client-query-buffer-limit", "1mb"]).await;
    let mut c = server.connect().await;
    // A 4 MB bulk is within proto-max-bulk-len, but buffering it crosses the 1 MB
    // query buffer limit: the client is closed (Redis closes without a reply too).
    c.send(b"*2\r\n$4\r\nECHO\r\n$4000000\r\n").await;
    let chunk = vec![b'q'; 256 * 1024];
    let mut closed = false;
    for _ in 0..16 {
        if c.try_send(&chunk).await.is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        c.expect_eof().await;
    }
    let mut admin = server.connect().await;
    admin.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(admin.read_frame().await).unwrap();
    assert!(
        info.contains("client_query_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
    still_serves(&server).await;
}

#[tokio::test]
async fn maxclients_refuses_the_next_connection() {
    let server = respub(&["--maxclients", "2"]).await;
    // The harness's readiness probe may still be closing: wait for a slot each.
    let mut a = connect_when_free(&server).await;
    let b = connect_when_free(&server).await;
    let mut c = server.connect().await;
    c.expect(b"-ERR max number of clients reached\r\n").await;
    c.expect_eof().await;
    a.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(a.read_frame().await).unwrap();
    assert!(info.contains("rejected_connections:1\r\n"), "{info}");
    // A slot frees up when a client leaves.
    b.close().await;
    connect_when_free(&server).await;
}

/// Connects, retrying (bounded) while the server answers "max number of clients".
async fn connect_when_free(server: &Server) -> Client {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = server.connect().await;
        c.send(&cmd(&["PING"])).await;
        if c.read_frame().await == b"+PONG\r\n" {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "no slot freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn output_buffer_hard_limit_drops_only_the_slow_subscriber() {
    let server = respub(&["--client-output-buffer-limit", "pubsub", "1mb", "0", "0"]).await;
    let mut slow = Client::connect_small_rcvbuf(server.addr, 4096).await;
    slow.send(&cmd(&["SUBSCRIBE", "news"])).await;
    slow.expect(b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        .await;
    let mut fast = server.connect().await;
    fast.roundtrip(
        &cmd(&["SUBSCRIBE", "news"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    )
    .await;
    let mut publisher = server.connect().await;
    let payload = vec![b'p'; 64 * 1024];
    // 64 x 64 KiB = 4 MiB to a subscriber that never reads: far past the 1 MiB hard limit.
    let mut counts = Vec::new();
    for _ in 0..64 {
        publisher
            .send(&cmd(&[b"PUBLISH".as_slice(), b"news", &payload]))
            .await;
        counts.push(publisher.read_frame().await);
        let frame = fast.read_frame().await;
        assert!(frame.ends_with(&payload[payload.len() - 8..]) || frame.len() > 64 * 1024);
    }
    // The reader got everything; the publisher never saw an error, and the count
    // dropped from 2 to 1 once the slow subscriber was gone.
    assert!(
        counts.iter().all(|c| c == b":2\r\n" || c == b":1\r\n"),
        "{counts:?}"
    );
    assert_eq!(counts.last().unwrap(), b":1\r\n");
    slow.drain_until_eof(Duration::from_secs(5))
        .await
        .expect("slow subscriber is closed");
    publisher
        .roundtrip(
            &cmd(&["PUBSUB", "NUMSUB", "news"]),
            b"*2\r\n$4\r\nnews\r\n:1\r\n",
        )
        .await;
    publisher.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(publisher.read_frame().await).unwrap();
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
}

#[tokio::test]
async fn output_buffer_soft_limit_needs_time_above_it() {
    // Soft limit 64 KiB for more than 1 s; hard limit off.
    let server = respub(&["--client-output-buffer-limit", "pubsub", "0", "64kb", "1"]).await;
    let mut slow = Client::connect_small_rcvbuf(server.addr, 4096).await;
    slow.send(&cmd(&["SUBSCRIBE", "s"])).await;
    slow.expect(b"*3\r\n$9\r\nsubscribe\r\n$1\r\ns\r\n:1\r\n")
        .await;
    let mut publisher = server.connect().await;
    // 8 MiB: more than the kernel's socket buffers take, so the rest waits in respub.
    let payload = vec![b'x'; 32 * 1024];
    for _ in 0..256 {
        publisher
            .send(&cmd(&[b"PUBLISH".as_slice(), b"s", &payload]))
            .await;
        assert_eq!(publisher.read_frame().await, b":1\r\n");
    }
    // Above the soft limit now, but not for long: still subscribed.
    publisher
        .roundtrip(&cmd(&["PUBSUB", "NUMSUB", "s"]), b"*2\r\n$1\r\ns\r\n:1\r\n")
        .await;
    // The once-a-second check closes it after more than 1 s above the limit; the
    // subscriber must not read meanwhile (draining would reset the timer), so watch
    // for its subscription to disappear instead.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        publisher.send(&cmd(&["PUBSUB", "NUMSUB", "s"])).await;
        if publisher.read_frame().await == b"*2\r\n$1\r\ns\r\n:0\r\n" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "soft limit never enforced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    slow.drain_until_eof(Duration::from_secs(5))
        .await
        .expect("slow subscriber closed by the soft limit");
    still_serves(&server).await;
}

#[tokio::test]
async fn reply_pause_bytes_stops_reading_a_client_that_does_not_read() {
    let server = respub(&["--reply-pause-bytes", "256kb"]).await;
    // A raw socket that never reads (the harness client reads while it writes).
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut greedy = sock.connect(server.addr).await.unwrap();
    // 64 MiB of replies requested without reading any: the server stops reading this
    // client once 256 KiB of replies wait, so our writes stall (once the kernel's
    // socket buffers, a few MiB, are full) instead of the server buffering 64 MiB.
    let arg = vec![b'e'; 1024];
    let one = cmd(&[b"ECHO".as_slice(), &arg]);
    let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 256).collect();
    let total = 64 * 1024;
    let mut sent = 0usize;
    while sent < total {
        let write = tokio::io::AsyncWriteExt::write_all(&mut greedy, &batch);
        match tokio::time::timeout(Duration::from_millis(500), write).await {
            Ok(r) => {
                r.unwrap();
                sent += 256;
            }
            Err(_) => break,
        }
    }
    assert!(
        sent < total,
        "server kept reading a client that does not read"
    );
    let mut admin = server.connect().await;
    admin.send(&cmd(&["CLIENT", "LIST"])).await;
    let list = String::from_utf8(admin.read_frame().await).unwrap();
    let omem: u64 = list
        .lines()
        .filter(|l| l.contains("cmd=echo"))
        .find_map(|l| l.split(' ').find_map(|f| f.strip_prefix("omem=")))
        .and_then(|v| v.parse().ok())
        .expect("greedy client listed");
    // One read's worth of replies may land past the threshold, not more.
    assert!(omem < 256 * 1024 + 64 * 1024, "omem={omem}");
    still_serves(&server).await;
}

#[tokio::test]
async fn timeout_closes_idle_clients_but_not_subscribers() {
    let server = respub(&["--timeout", "1"]).await;
    let mut idle = server.connect().await;
    idle.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    let mut sub = server.connect().await;
    sub.roundtrip(
        &cmd(&["SUBSCRIBE", "t"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nt\r\n:1\r\n",
    )
    .await;
    idle.drain_until_eof(Duration::from_secs(5))
        .await
        .expect("idle client closed after the timeout");
    // The subscriber outlived it and still receives.
    let mut p = server.connect().await;
    p.roundtrip(&cmd(&["PUBLISH", "t", "m"]), b":1\r\n").await;
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nt\r\n$1\r\nm\r\n")
        .await;
}

#[tokio::test]
async fn databases_bounds_select() {
    let server = respub(&["--databases", "4"]).await;
    let mut c = server.connect().await;
    c.roundtrip(&cmd(&["SELECT", "3"]), b"+OK\r\n").await;
    c.roundtrip(&cmd(&["SELECT", "4"]), b"-ERR DB index is out of range\r\n")
        .await;
}

#[tokio::test]
async fn unauthenticated_clients_get_small_request_limits() {
    let server = respub(&["--requirepass", "pw"]).await;
    let mut c = server.connect().await;
    c.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n").await;
    c.expect(b"-ERR Protocol error: unauthenticated bulk length\r\n")
        .await;
    c.expect_eof().await;
    let mut ok = server.connect().await;
    ok.roundtrip(&cmd(&["AUTH", "pw"]), b"+OK\r\n").await;
    ok.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}

/// Resident memory of a server process, in KiB (Linux /proc).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// The CLIENT LIST field `name` of the client whose line contains `marker`.
async fn client_field(admin: &mut Client, marker: &str, name: &str) -> u64 {
    admin.send(&cmd(&["CLIENT", "LIST"])).await;
    let list = String::from_utf8(admin.read_frame().await).unwrap();
    list.lines()
        .filter(|l| l.contains(marker))
        .find_map(|l| {
            l.split(' ')
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} for {marker} in {list}"))
}

#[tokio::test]
async fn empty_argument_flood_is_stopped_at_the_query_buffer_limit() {
    // Issue 11: `*2000000000` and then millions of `$0` arguments used to count as 0
    // bytes against client-query-buffer-limit (CLIENT LIST qbuf=0) while the argument
    // vector grew without bound.
    let mut server = respub(&["--client-query-buffer-limit", "1mb"]).await;
    let pid = server.pid();
    let before = rss_kib(pid);
    let mut flood = server.connect().await;
    flood.send(b"*2000000000\r\n").await;
    let batch: Vec<u8> = b"$0\r\n\r\n".repeat(10_000);
    flood.send(&batch[..6 * 1000]).await;
    // Well under the limit: the partial command shows in qbuf, argument slots included.
    let mut admin = server.connect().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let qbuf = client_field(&mut admin, "cmd=NULL", "qbuf").await;
        if qbuf >= 1000 * (6 + 8) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "qbuf stayed {qbuf}");
    }
    // 500 x 10k arguments (5 million) would be hundreds of MB of argument slots.
    let mut closed = false;
    for _ in 0..500 {
        if flood.try_send(&batch).await.is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        flood.expect_eof().await;
    }
    admin.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(admin.read_frame().await).unwrap();
    assert!(
        info.contains("client_query_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
    let after = rss_kib(pid);
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    assert!(server.is_running());
    still_serves(&server).await;
}

#[tokio::test]
async fn multi_queue_counts_toward_the_query_buffer_limit() {
    // Redis since redis#12961 (7.4; not in redis-server 7.0.15): commands queued in
    // MULTI count as query buffer.
    let server = respub(&["--client-query-buffer-limit", "1mb"]).await;
    let mut tx = server.connect().await;
    tx.roundtrip(&cmd(&["CLIENT", "SETNAME", "tx"]), b"+OK\r\n")
        .await;
    tx.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    let payload = vec![b'm'; 64 * 1024];
    let publish = cmd(&[b"PUBLISH".as_slice(), b"ch", &payload]);
    for _ in 0..4 {
        tx.roundtrip(&publish, b"+QUEUED\r\n").await;
    }
    let mut admin = server.connect().await;
    assert_eq!(client_field(&mut admin, "name=tx", "multi").await, 4);
    let multi_mem = client_field(&mut admin, "name=tx", "multi-mem").await;
    assert!(multi_mem >= 4 * 64 * 1024, "multi-mem={multi_mem}");
    // 32 x 64 KiB = 2 MiB queued is past the 1 MiB limit: closed without a reply.
    let mut closed = false;
    for _ in 0..28 {
        if tx.try_send(&publish).await.is_err() {
            closed = true;
            break;
        }
        match tx.try_read_frame().await {
            Ok(reply) => assert_eq!(reply, b"+QUEUED\r\n"),
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a 2 MiB MULTI queue was accepted");
    admin.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(admin.read_frame().await).unwrap();
    assert!(
        info.contains("client_query_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
    still_serves(&server).await;
}

#[tokio::test]
async fn doomed_transaction_queues_nothing() {
    // Redis's queueMultiCommand stores nothing once EXEC is bound to fail, but still
    // answers QUEUED.
    let server = respub(&[]).await;
    let mut tx = server.connect().await;
    tx.roundtrip(&cmd(&["CLIENT", "SETNAME", "doomed"]), b"+OK\r\n")
        .await;
    tx.roundtrip(&cmd(&["MULTI"]), b"+OK\r\n").await;
    tx.roundtrip(&cmd(&["PUBLISH", "ch", "one"]), b"+QUEUED\r\n")
        .await;
    tx.send(&cmd(&["PUBLISH", "ch"])).await;
    tx.expect(b"-ERR wrong number of arguments for 'publish' command\r\n")
        .await;
    tx.roundtrip(&cmd(&["PUBLISH", "ch", "two"]), b"+QUEUED\r\n")
        .await;
    let mut admin = server.connect().await;
    assert_eq!(client_field(&mut admin, "name=doomed", "multi").await, 1);
    tx.roundtrip(
        &cmd(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    )
    .await;
    assert_eq!(
        client_field(&mut admin, "name=doomed", "multi-mem").await,
        0
    );
    still_serves(&server).await;
}

#[tokio::test]
async fn max_subscriptions_per_client_refuses_the_whole_command() {
    let server = respub(&["--max-subscriptions-per-client", "3"]).await;
    let mut c = server.connect().await;
    c.send(&cmd(&["SUBSCRIBE", "a", "b"])).await;
    c.read_frames(2).await;
    // Two more would make four: refused whole, nothing subscribed.
    c.roundtrip(
        &cmd(&["PSUBSCRIBE", "p*", "q*"]),
        b"-ERR max-subscriptions-per-client reached\r\n",
    )
    .await;
    let mut other = server.connect().await;
    other
        .roundtrip(&cmd(&["PUBSUB", "NUMPAT"]), b":0\r\n")
        .await;
    // Repeats and channels already held don't count; one new one fits exactly.
    c.send(&cmd(&["SUBSCRIBE", "a", "c", "c"])).await;
    let frames = c.read_frames(3).await;
    assert!(frames[2].ends_with(b":3\r\n"), "{frames:?}");
    // Unsubscribing makes room again; the limit also changes at run time.
    other
        .roundtrip(
            &cmd(&["CONFIG", "SET", "max-subscriptions-per-client", "0"]),
            b"+OK\r\n",
        )
        .await;
    c.send(&cmd(&["SSUBSCRIBE", "s1", "s2"])).await;
    let frames = c.read_frames(2).await;
    assert!(frames[1].ends_with(b":2\r\n"), "{frames:?}");
    still_serves(&server).await;
}
