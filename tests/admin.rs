//! Admin commands whose effect is on the process or on time, checked against respub and
//! against redis-server 7.0.15 with the same assertions: SHUTDOWN ends the process with
//! exit 0 after writing what was queued, CLIENT PAUSE holds commands until its timeout or
//! UNPAUSE, held commands keep their arrival order, LASTSAVE is the start time. SHUTDOWN
//! SAVE (nothing to save) is respub-only, with the reason (KNOWN_DIFFERENCES
//! "shutdown-save" in tests/differential.rs).

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{cmd, Kind, Server};

const BOTH: [Kind; 2] = [Kind::Respub, Kind::Redis];

/// Waits (bounded) for the process to exit and returns its status.
async fn exit_status(server: &mut Server) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not exit within 10 s of SHUTDOWN",
            server.kind.label()
        );
        // Polling interval for the exit, bounded by the deadline.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SHUTDOWN with `args`: the message published before it still reaches the subscriber,
/// every connection then closes (the shutting-down client gets no reply), and the
/// process exits 0 and stops listening.
async fn shutdown_with(kind: Kind, args: &[&str]) {
    let mut server = Server::start(kind, &[]).await;
    let mut sub = server.connect().await;
    sub.roundtrip(
        &cmd(&["SUBSCRIBE", "bye"]),
        b"*3\r\n$9\r\nsubscribe\r\n$3\r\nbye\r\n:1\r\n",
    )
    .await;
    let mut admin = server.connect().await;
    admin
        .roundtrip(&cmd(&["PUBLISH", "bye", "last"]), b":1\r\n")
        .await;
    let mut words = vec!["SHUTDOWN"];
    words.extend_from_slice(args);
    admin.send(&cmd(&words)).await;
    admin.expect_eof().await;
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$3\r\nbye\r\n$4\r\nlast\r\n")
        .await;
    sub.expect_eof().await;
    let status = exit_status(&mut server).await;
    assert!(
        status.success(),
        "{} SHUTDOWN {args:?}: exit status {status}",
        kind.label()
    );
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "{} still accepting after SHUTDOWN",
        kind.label()
    );
}

#[tokio::test]
async fn shutdown_closes_everyone_and_exits_zero() {
    for kind in BOTH {
        shutdown_with(kind, &[]).await;
    }
}

#[tokio::test]
async fn shutdown_nosave_now_force_exits_zero() {
    for kind in BOTH {
        shutdown_with(kind, &["NOSAVE", "NOW", "FORCE"]).await;
        shutdown_with(kind, &["now"]).await;
    }
}

#[tokio::test]
async fn shutdown_abort_keeps_serving() {
    for kind in BOTH {
        let server = Server::start(kind, &[]).await;
        let mut c = server.connect().await;
        c.roundtrip(
            &cmd(&["SHUTDOWN", "ABORT"]),
            b"-ERR No shutdown in progress.\r\n",
        )
        .await;
        c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    }
}

/// respub has nothing to save: SHUTDOWN SAVE shuts down as NOSAVE (exit 0). Redis
/// would write an RDB file here (and fail the shutdown if it could not), so this one
/// is not run against redis-server.
#[tokio::test]
async fn shutdown_save_with_nothing_to_save_exits_zero() {
    shutdown_with(Kind::Respub, &["SAVE"]).await;
}

#[tokio::test]
async fn client_pause_all_holds_commands_until_the_timeout() {
    for kind in BOTH {
        let server = Server::start(kind, &[]).await;
        let mut admin = server.connect().await;
        let mut c = server.connect().await;
        let start = Instant::now();
        admin
            .roundtrip(&cmd(&["CLIENT", "PAUSE", "400", "ALL"]), b"+OK\r\n")
            .await;
        c.send(&cmd(&["PING"])).await;
        admin.send(&cmd(&["CLIENT", "UNPAUSE"])).await;
        // Observation window: both stay held while the pause lasts.
        c.expect_silence(250).await;
        admin.expect_silence(1).await;
        c.expect(b"+PONG\r\n").await;
        admin.expect(b"+OK\r\n").await;
        let held = start.elapsed();
        assert!(
            held >= Duration::from_millis(400),
            "{}: released after {held:?}",
            kind.label()
        );
    }
}

#[tokio::test]
async fn client_pause_write_holds_publish_until_unpause() {
    for kind in BOTH {
        let server = Server::start(kind, &[]).await;
        let mut admin = server.connect().await;
        let mut sub = server.connect().await;
        let mut publisher = server.connect().await;
        sub.roundtrip(
            &cmd(&["SUBSCRIBE", "x"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n",
        )
        .await;
        admin
            .roundtrip(&cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]), b"+OK\r\n")
            .await;
        publisher.send(&cmd(&["PUBLISH", "x", "m"])).await;
        publisher.expect_silence(300).await;
        sub.expect_silence(1).await;
        // Not held under WRITE: PING, PUBSUB, and the pausing client's UNPAUSE.
        admin.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        admin
            .roundtrip(&cmd(&["PUBSUB", "NUMSUB", "x"]), b"*2\r\n$1\r\nx\r\n:1\r\n")
            .await;
        admin
            .roundtrip(&cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n")
            .await;
        publisher.expect(b":1\r\n").await;
        sub.expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\nm\r\n")
            .await;
    }
}

/// Held commands run in the order they arrived in once the pause ends: three clients
/// each send SUBSCRIBE/PUBLISH while paused, and what each PUBLISH counts shows the
/// order they took effect in.
#[tokio::test]
async fn held_commands_run_in_arrival_order() {
    for kind in BOTH {
        let server = Server::start(kind, &[]).await;
        let mut admin = server.connect().await;
        let mut a = server.connect().await;
        let mut b = server.connect().await;
        let mut p = server.connect().await;
        admin
            .roundtrip(&cmd(&["CLIENT", "PAUSE", "300", "ALL"]), b"+OK\r\n")
            .await;
        a.send(&cmd(&["SUBSCRIBE", "o"])).await;
        // Sent after A's bytes were read (A holds its place), then B, then the PUBLISH.
        a.expect_silence(50).await;
        b.send(&cmd(&["SUBSCRIBE", "o"])).await;
        b.expect_silence(50).await;
        p.send(&cmd(&["PUBLISH", "o", "1"])).await;
        a.expect(b"*3\r\n$9\r\nsubscribe\r\n$1\r\no\r\n:1\r\n")
            .await;
        b.expect(b"*3\r\n$9\r\nsubscribe\r\n$1\r\no\r\n:1\r\n")
            .await;
        p.expect(b":2\r\n").await;
    }
}

#[tokio::test]
async fn lastsave_is_the_start_time() {
    for kind in BOTH {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let server = Server::start(kind, &[]).await;
        let mut c = server.connect().await;
        c.send(&cmd(&["LASTSAVE"])).await;
        let f = c.read_frame().await;
        let t: u64 = std::str::from_utf8(&f[1..f.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            before <= t && t <= after,
            "{}: LASTSAVE {t} not in [{before}, {after}]",
            kind.label()
        );
    }
}
