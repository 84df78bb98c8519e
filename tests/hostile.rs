//! Hostile or careless clients (issue 11): pathological patterns, auth edge cases,
//! concurrent CONFIG SET, CLIENT LIST by id, SIGHUP. Each test crosses the bound and
//! then checks that other clients are still served.
//!
//! Set `RESPUB_BIN=/usr/bin/redis-server` to run the same checks against Redis; the
//! report of issue 11 lists which ones Redis itself fails (it stalls on the pattern).

mod support;

use std::time::{Duration, Instant};
use support::{cmd, Client, Kind, Server};

async fn start(extra: &[&str]) -> Server {
    Server::start(Kind::Respub, extra).await
}

/// A fresh client can still PING and PUBLISH.
async fn still_serves(server: &Server) {
    let mut c = server.connect().await;
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    c.roundtrip(&cmd(&["PUBLISH", "x", "y"]), b":0\r\n").await;
}

async fn client_id(c: &mut Client) -> u64 {
    c.send(&cmd(&["CLIENT", "ID"])).await;
    let frame = c.read_frame().await;
    std::str::from_utf8(&frame[1..frame.len() - 2])
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn long_class_pattern_does_not_stall_publish_or_others() {
    // `*[` + 100 KB class + `]` against a 100 KB channel: Redis's matcher (and ours
    // before issue 11) re-reads the class per channel byte, 10^10 steps.
    let server = start(&[]).await;
    let mut pattern = b"*[".to_vec();
    // No `x`, `y` or `z` in the class: `still_serves` publishes to `x`.
    pattern.extend(b"abcdefghijklmnopqrstuvw".iter().cycle().take(100_000));
    pattern.push(b']');
    let mut sub = server.connect().await;
    sub.send(&cmd(&[b"PSUBSCRIBE".as_slice(), &pattern])).await;
    let confirm = sub.read_frame().await;
    assert!(confirm.ends_with(b":1\r\n"), "{:?}", &confirm[..20]);
    let mut pinger = server.connect().await;
    pinger.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;

    let miss = vec![b'z'; 100_000];
    let mut publisher = server.connect().await;
    publisher
        .send(&cmd(&[b"PUBLISH".as_slice(), &miss, b"m"]))
        .await;
    let started = Instant::now();
    let mut slowest_ping = Duration::ZERO;
    let reply = loop {
        let t = Instant::now();
        pinger.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        slowest_ping = slowest_ping.max(t.elapsed());
        if let Ok(reply) = publisher
            .try_read_frame_within(Duration::from_millis(1))
            .await
        {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "PUBLISH against the long class took over 5 s"
        );
    };
    assert_eq!(reply, b":0\r\n");
    // "A few ms" with headroom for a loaded two-core test machine.
    assert!(
        slowest_ping < Duration::from_millis(50),
        "a PING took {slowest_ping:?} while the match ran"
    );
    // And the pattern still matches what it should.
    let mut hit = miss.clone();
    hit.push(b'q');
    publisher
        .roundtrip(&cmd(&[b"PUBLISH".as_slice(), &hit, b"m"]), b":1\r\n")
        .await;
    let message = sub.read_frame().await;
    assert!(message.starts_with(b"*4\r\n$8\r\npmessage\r\n"));
    assert!(message.ends_with(b"\r\n$1\r\nm\r\n"));
    still_serves(&server).await;
}

#[tokio::test]
async fn clearing_requirepass_lets_in_earlier_unauthenticated_clients() {
    // redis-server 7.0.15: authRequired() is evaluated per command, so a connection
    // opened under a password and never authenticated is served once the password is
    // cleared, and refused again once a password is set again.
    let server = start(&["--requirepass", "pw"]).await;
    let mut early = server.connect().await;
    early
        .roundtrip(&cmd(&["PING"]), b"-NOAUTH Authentication required.\r\n")
        .await;
    let mut admin = server.connect().await;
    admin.roundtrip(&cmd(&["AUTH", "pw"]), b"+OK\r\n").await;
    admin
        .roundtrip(&cmd(&["CONFIG", "SET", "requirepass", ""]), b"+OK\r\n")
        .await;
    early.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    // HELLO still wants the client itself authenticated (redis-server 7.0.15 checks
    // `c->authenticated` there, not authRequired). The rest of the text differs between
    // 7.0 and 7.2 (`HELLO <proto> AUTH`), so only its start is compared.
    early.send(&cmd(&["HELLO", "3"])).await;
    let reply = early.read_frame().await;
    assert!(
        reply.starts_with(b"-NOAUTH HELLO must be called with the client already authenticated"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    early
        .roundtrip(
            &cmd(&["SUBSCRIBE", "c"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
        )
        .await;
    admin
        .roundtrip(&cmd(&["PUBLISH", "c", "hi"]), b":1\r\n")
        .await;
    early
        .expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n")
        .await;
    let mut late = server.connect().await;
    late.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    admin
        .roundtrip(&cmd(&["CONFIG", "SET", "requirepass", "pw2"]), b"+OK\r\n")
        .await;
    // `early` never authenticated: shut out again. (`late` connected without a
    // password, so Redis counts it as authenticated.)
    let mut other = server.connect().await;
    other
        .roundtrip(&cmd(&["PING"]), b"-NOAUTH Authentication required.\r\n")
        .await;
    late.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    other
        .roundtrip(
            &cmd(&["AUTH", "pw"]),
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        )
        .await;
    other.roundtrip(&cmd(&["AUTH", "pw2"]), b"+OK\r\n").await;
    other.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
}

/// Pipelines `CONFIG SET name v; CONFIG GET name` for each value and checks every GET
/// sees the value just set.
async fn set_and_check(c: &mut Client, name: &str, values: &[String]) {
    let mut bytes = Vec::new();
    for v in values {
        bytes.extend(cmd(&["CONFIG", "SET", name, v]));
        bytes.extend(cmd(&["CONFIG", "GET", name]));
    }
    c.send(&bytes).await;
    for v in values {
        assert_eq!(c.read_frame().await, b"+OK\r\n");
        let want = format!("*2\r\n${}\r\n{name}\r\n${}\r\n{v}\r\n", name.len(), v.len());
        let got = c.read_frame().await;
        assert_eq!(
            String::from_utf8_lossy(&got),
            want,
            "another client's CONFIG SET undid this one"
        );
    }
}

#[tokio::test]
async fn concurrent_config_set_keeps_both_changes() {
    // Two clients setting different parameters at once: neither change may be lost
    // (the set used to be read, modified and written back under separate locks, so a
    // SET could write back a stale copy of the other client's parameter).
    let server = start(&[]).await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    const N: u64 = 5000;
    let timeouts: Vec<String> = (1..=N).map(|i| i.to_string()).collect();
    let bulks: Vec<String> = (1..=N).map(|i| (1024 * 1024 + i).to_string()).collect();
    tokio::join!(
        set_and_check(&mut a, "timeout", &timeouts),
        set_and_check(&mut b, "proto-max-bulk-len", &bulks),
    );
    let mut check = server.connect().await;
    let expect_get = |name: &str, v: &str| {
        format!("*2\r\n${}\r\n{name}\r\n${}\r\n{v}\r\n", name.len(), v.len()).into_bytes()
    };
    check
        .roundtrip(
            &cmd(&["CONFIG", "GET", "timeout"]),
            &expect_get("timeout", &timeouts[timeouts.len() - 1]),
        )
        .await;
    check
        .roundtrip(
            &cmd(&["CONFIG", "GET", "proto-max-bulk-len"]),
            &expect_get("proto-max-bulk-len", &bulks[bulks.len() - 1]),
        )
        .await;
    still_serves(&server).await;
}

#[tokio::test]
async fn client_list_id_answers_in_argument_order() {
    let server = start(&[]).await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let (ia, ib) = (client_id(&mut a).await, client_id(&mut b).await);
    // A repeated id repeats its line; an unknown id is skipped (redis-server 7.0.15).
    a.send(&cmd(&[
        "CLIENT",
        "LIST",
        "ID",
        &ib.to_string(),
        &ia.to_string(),
        &ib.to_string(),
        "999999",
        "0",
        "-1",
    ]))
    .await;
    let frame = a.read_frame().await;
    let text = String::from_utf8(frame).unwrap();
    let ids: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(ids, vec![ib, ia, ib], "{text}");
    a.roundtrip(
        &cmd(&["CLIENT", "LIST", "ID", "x"]),
        b"-ERR Invalid client ID\r\n",
    )
    .await;
    still_serves(&server).await;
}

#[tokio::test]
async fn sighup_and_sigalrm_do_not_stop_the_server() {
    // Redis ignores SIGHUP (logrotate, a closed terminal) and handles SIGALRM; the
    // default action of both is to terminate.
    let mut server = start(&[]).await;
    let mut c = server.connect().await;
    c.roundtrip(
        &cmd(&["SUBSCRIBE", "h"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nh\r\n:1\r\n",
    )
    .await;
    for sig in ["-HUP", "-ALRM", "-HUP"] {
        let status = std::process::Command::new("kill")
            .args([sig, &server.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let mut p = server.connect().await;
        p.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        p.roundtrip(&cmd(&["PUBLISH", "h", "still"]), b":1\r\n")
            .await;
        c.expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nh\r\n$5\r\nstill\r\n")
            .await;
    }
    assert!(server.is_running());
}
