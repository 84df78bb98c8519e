//! MONITOR under load: every command of several pipelining clients reaches the monitor,
//! each client's in the order it sent them (checked against respub and redis-server);
//! and a monitor that does not read is dropped at the pubsub output limit while
//! publishers go on (respub only: Redis counts a monitor as a normal client, whose
//! output is unlimited by default; respub bounds it like a subscriber on purpose, see
//! the README section "Admin and fixture commands").

mod support;

use std::time::Duration;
use support::{cmd, Client, Kind, Server};

const CLIENTS: usize = 4;
const PER_CLIENT: usize = 500;

/// Parses `+<t> [db addr] "PUBLISH" "ch-<i>" "<seq>"` into (i, seq).
fn publish_of(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.trim_end().split(" \"");
    parts.next()?;
    if parts.next()? != "PUBLISH\"" {
        return None;
    }
    let ch = parts.next()?.trim_end_matches('"');
    let seq = parts.next()?.trim_end_matches('"');
    Some((ch.strip_prefix("ch-")?.parse().ok()?, seq.parse().ok()?))
}

#[tokio::test]
async fn monitor_sees_every_command_of_every_client_in_order() {
    for kind in [Kind::Respub, Kind::Redis] {
        let server = Server::start(kind, &[]).await;
        let mut monitor = server.connect().await;
        monitor.roundtrip(&cmd(&["MONITOR"]), b"+OK\r\n").await;
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let mut c = server.connect().await;
            tasks.push(tokio::spawn(async move {
                let mut batch = Vec::new();
                for seq in 0..PER_CLIENT {
                    batch.extend(cmd(&[
                        "PUBLISH".to_string(),
                        format!("ch-{i}"),
                        seq.to_string(),
                    ]));
                }
                c.send(&batch).await;
                for _ in 0..PER_CLIENT {
                    assert_eq!(c.read_frame().await, b":0\r\n");
                }
            }));
        }
        let mut next = [0usize; CLIENTS];
        for _ in 0..CLIENTS * PER_CLIENT {
            let line = monitor.read_frame().await;
            let (i, seq) = publish_of(&line).unwrap_or_else(|| {
                panic!(
                    "{}: not a PUBLISH line: {}",
                    kind.label(),
                    String::from_utf8_lossy(&line)
                )
            });
            assert_eq!(seq, next[i], "{}: client {i} out of order", kind.label());
            next[i] += 1;
        }
        for t in tasks {
            t.await.expect("publisher task");
        }
        assert_eq!(next, [PER_CLIENT; CLIENTS]);
        // Nothing else was fed: the next line is the PING sent now.
        let mut c = server.connect().await;
        c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        let line = monitor.read_frame().await;
        assert!(line.ends_with(b"\"PING\"\r\n"), "{}", kind.label());
    }
}

#[tokio::test]
async fn a_slow_monitor_is_dropped_and_publishers_do_not_wait() {
    let server = Server::start(
        Kind::Respub,
        &["--client-output-buffer-limit", "pubsub", "256kb", "0", "0"],
    )
    .await;
    let mut slow = Client::connect_small_rcvbuf(server.addr, 4096).await;
    slow.roundtrip(&cmd(&["MONITOR"]), b"+OK\r\n").await;
    let mut fast = server.connect().await;
    fast.roundtrip(&cmd(&["MONITOR"]), b"+OK\r\n").await;
    let mut publisher = server.connect().await;
    // 64 x 64 KiB lines = 4 MiB for a monitor that never reads: far past its 256 KiB
    // (and past what the kernel buffers for it).
    let payload = "p".repeat(64 * 1024);
    for _ in 0..64 {
        publisher
            .roundtrip(&cmd(&["PUBLISH", "ch", payload.as_str()]), b":0\r\n")
            .await;
        let line = fast.read_frame().await;
        assert!(line.ends_with(format!("\"{payload}\"\r\n").as_bytes()));
    }
    slow.drain_until_eof(Duration::from_secs(5))
        .await
        .expect("the slow monitor is closed");
    // The reading monitor stays, the server counts the drop and goes on serving.
    publisher.send(&cmd(&["INFO", "stats"])).await;
    let info = String::from_utf8(publisher.read_frame().await).unwrap();
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1\r\n"),
        "{info}"
    );
    assert!(fast.read_frame().await.ends_with(b"\"INFO\" \"stats\"\r\n"));
    let mut other = server.connect().await;
    other.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}
