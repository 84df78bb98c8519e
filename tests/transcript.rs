//! Byte-exact, respub-only transcripts (RESP2 and RESP3): the behaviour that cannot be
//! compared against the installed redis-server 7.0.15 because respub deliberately follows
//! Redis 7.2+ (see KNOWN_DIFFERENCES in tests/differential.rs), content-only checks (INFO),
//! the slow-consumer disconnect, and the spec's observed [obs] byte strings written out
//! literally so a failure reads without a second server.
//!
//! `RESPUB_BIN=/usr/bin/redis-server cargo test --test transcript` runs these against Redis
//! 7.0.15: every test passes there except the 7.2+ ones (`resp3_self_publish_*`,
//! `client_setinfo_*`, `hello_noauth_text_is_the_7_2_one`), which is the point of those,
//! and the two `memory_*` ones (Debian's Redis is built with jemalloc, and its memory
//! figures are its own).

mod support;

use std::time::Duration;

use support::{bulk, cmd, frame_payload, line, show_trunc, Client, Kind, Server};

async fn respub(args: &[&str]) -> Server {
    Server::start(Kind::Respub, args).await
}

/// Send HELLO 3 and check the reply is the 7-entry map (values of version/id not pinned).
async fn hello3(c: &mut Client) {
    c.send(&line("HELLO 3")).await;
    let f = c.read_frame().await;
    let prefix = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n";
    assert!(
        f.starts_with(prefix),
        "HELLO 3 reply: {}",
        show_trunc(&f, 300)
    );
    let tail =
        b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    assert!(f.ends_with(tail), "HELLO 3 reply: {}", show_trunc(&f, 300));
    let proto = b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:";
    assert!(
        f.windows(proto.len()).any(|w| w == proto),
        "HELLO 3 reply: {}",
        show_trunc(&f, 300)
    );
}

const CONTEXT_ERR_TAIL: &str =
    "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";

fn context_err(cmd_name: &str) -> Vec<u8> {
    format!("-ERR Can't execute '{cmd_name}{CONTEXT_ERR_TAIL}").into_bytes()
}

// ---------------------------------------------------------------------------------------
// 7.2+ behaviour (KNOWN_DIFFERENCES rows "self-publish-order" and "client-setinfo")
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn resp3_self_publish_pushes_follow_the_reply() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    hello3(&mut c).await;
    c.roundtrip(
        &line("SUBSCRIBE foo"),
        b">3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:1\r\n",
    )
    .await;
    // 7.2+: the :N reply first, then the client's own push (7.0.15 does the opposite).
    c.roundtrip(
        &line("PUBLISH foo bar"),
        b":1\r\n>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
    )
    .await;
    c.roundtrip(
        &line("PSUBSCRIBE f*"),
        b">3\r\n$10\r\npsubscribe\r\n$2\r\nf*\r\n:2\r\n",
    )
    .await;
    c.roundtrip(
        &line("PUBLISH foo baz"),
        b":2\r\n>3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbaz\r\n>4\r\n$8\r\npmessage\r\n$2\r\nf*\r\n$3\r\nfoo\r\n$3\r\nbaz\r\n",
    )
    .await;
    c.roundtrip(
        &line("SSUBSCRIBE s"),
        b">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    )
    .await;
    c.roundtrip(
        &line("SPUBLISH s x"),
        b":1\r\n>3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n",
    )
    .await;
    c.send(b"PING\r\n").await;
    c.expect(b"+PONG\r\n").await;
    c.expect_silence(50).await;
}

#[tokio::test]
async fn resp3_self_publish_inside_multi_pushes_follow_exec() {
    // Upstream 7.2 test "publish to self inside multi": exec -> {abc 1 1 def}, then the
    // two messages.
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    hello3(&mut c).await;
    c.roundtrip(
        &line("SUBSCRIBE foo"),
        b">3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:1\r\n",
    )
    .await;
    c.roundtrip(&line("MULTI"), b"+OK\r\n").await;
    for w in ["PING abc", "PUBLISH foo bar", "PUBLISH foo vaz", "PING def"] {
        c.roundtrip(&line(w), b"+QUEUED\r\n").await;
    }
    c.roundtrip(
        &line("EXEC"),
        b"*4\r\n$3\r\nabc\r\n:1\r\n:1\r\n$3\r\ndef\r\n\
          >3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nbar\r\n\
          >3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\nvaz\r\n",
    )
    .await;
    c.expect_silence(50).await;
}

#[tokio::test]
async fn client_setinfo_is_accepted() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    // redis-py / ioredis / node-redis / go-redis handshakes (client-handshakes.md).
    c.roundtrip(&line("CLIENT SETINFO LIB-NAME redis-py"), b"+OK\r\n")
        .await;
    c.roundtrip(&line("CLIENT SETINFO LIB-VER 5.3.1"), b"+OK\r\n")
        .await;
    c.roundtrip(&line("client SETINFO LIB-NAME ioredis"), b"+OK\r\n")
        .await;
    c.roundtrip(&line("client setinfo lib-ver 5.11.1"), b"+OK\r\n")
        .await;
    hello3(&mut c).await;
    c.roundtrip(&line("CLIENT SETINFO LIB-NAME node-redis"), b"+OK\r\n")
        .await;
    c.roundtrip(&line("CLIENT SETINFO LIB-VER 6.3.1"), b"+OK\r\n")
        .await;
    c.roundtrip(&line("PING"), b"+PONG\r\n").await;
}

#[tokio::test]
async fn client_setinfo_in_resp2_subscribe_mode_gets_the_context_error() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    c.roundtrip(
        &line("SUBSCRIBE a"),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    )
    .await;
    c.roundtrip(
        &line("CLIENT SETINFO LIB-NAME x"),
        &context_err("client|setinfo"),
    )
    .await;
    c.roundtrip(&line("PING"), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
}

// ---------------------------------------------------------------------------------------
// INFO (KNOWN_DIFFERENCES row "info-content"): only required fields are checked.
// ---------------------------------------------------------------------------------------

fn info_fields(text: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(text)
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn info_has_the_fields_clients_need() {
    let srv = respub(&[]).await;
    let mut sub = srv.connect().await;
    let mut c = srv.connect().await;
    sub.roundtrip(
        &line("SUBSCRIBE a b"),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    )
    .await;
    sub.roundtrip(
        &line("PSUBSCRIBE p*"),
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
    )
    .await;
    sub.roundtrip(
        &line("SSUBSCRIBE s"),
        b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
    )
    .await;

    // ioredis sends lowercase `info` and needs a bulk string with loading:0.
    c.send(&line("info")).await;
    let f = c.read_frame().await;
    assert_eq!(
        f[0],
        b'$',
        "INFO must be a bulk string in RESP2: {}",
        show_trunc(&f, 200)
    );
    let text = frame_payload(&f).expect("INFO payload");
    assert!(text.starts_with(b"# "), "INFO starts with a section header");
    let fields = info_fields(text);
    assert_eq!(field(&fields, "loading"), Some("0"), "loading:0");
    assert_eq!(field(&fields, "role"), Some("master"), "role:master");
    assert!(
        field(&fields, "redis_version").is_some_and(|v| !v.is_empty()),
        "redis_version"
    );
    assert_eq!(
        field(&fields, "connected_clients"),
        Some("2"),
        "connected_clients"
    );
    assert_eq!(
        field(&fields, "pubsub_channels"),
        Some("2"),
        "pubsub_channels"
    );
    assert_eq!(
        field(&fields, "pubsub_patterns"),
        Some("1"),
        "pubsub_patterns"
    );
    for name in [
        "tcp_port",
        "uptime_in_seconds",
        "maxclients",
        "total_connections_received",
    ] {
        assert!(field(&fields, name).is_some(), "INFO lacks {name}");
    }
    assert_eq!(
        field(&fields, "tcp_port"),
        Some(srv.addr.port().to_string().as_str())
    );

    c.send(&line("INFO server")).await;
    let f = c.read_frame().await;
    let fields = info_fields(frame_payload(&f).expect("payload"));
    assert!(
        field(&fields, "redis_version").is_some(),
        "INFO server has redis_version"
    );

    // RESP3: a verbatim string with the txt format.
    hello3(&mut c).await;
    c.send(&line("INFO")).await;
    let f = c.read_frame().await;
    assert_eq!(
        f[0],
        b'=',
        "INFO must be a verbatim string in RESP3: {}",
        show_trunc(&f, 200)
    );
    let text = frame_payload(&f).expect("payload");
    assert!(text.starts_with(b"txt:"), "verbatim format txt");
    let fields = info_fields(&text[4..]);
    assert_eq!(field(&fields, "loading"), Some("0"));
}

// ---------------------------------------------------------------------------------------
// Literal transcripts of the spec's observed byte strings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn resp2_subscribe_transcript() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    let mut p = srv.connect().await;
    c.roundtrip(
        &line("SUBSCRIBE ch1 ch2 ch1"),
        b"*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n\
          *3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n\
          *3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:2\r\n",
    )
    .await;
    c.roundtrip(
        &line("PSUBSCRIBE ch*"),
        b"*3\r\n$10\r\npsubscribe\r\n$3\r\nch*\r\n:3\r\n",
    )
    .await;
    c.roundtrip(
        &line("SSUBSCRIBE s1"),
        b"*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n",
    )
    .await;
    c.roundtrip(&line("PING"), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    c.roundtrip(&line("PING foo"), b"*2\r\n$4\r\npong\r\n$3\r\nfoo\r\n")
        .await;
    c.roundtrip(&line("PUBSUB NUMPAT"), &context_err("pubsub|numpat"))
        .await;
    c.roundtrip(&line("PUBLISH ch1 x"), &context_err("publish"))
        .await;
    c.roundtrip(
        &line("NOSUCH x"),
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
    )
    .await;
    c.roundtrip(
        &line("PUBLISH x"),
        b"-ERR wrong number of arguments for 'publish' command\r\n",
    )
    .await;

    p.roundtrip(&line("PUBLISH ch1 hello"), b":2\r\n").await;
    c.expect(
        b"*3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\nhello\r\n\
          *4\r\n$8\r\npmessage\r\n$3\r\nch*\r\n$3\r\nch1\r\n$5\r\nhello\r\n",
    )
    .await;
    p.roundtrip(&line("SPUBLISH s1 hi"), b":1\r\n").await;
    c.expect(b"*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n")
        .await;
    p.roundtrip(
        &line("PUBSUB NUMSUB ch1 ch1 zz"),
        b"*6\r\n$3\r\nch1\r\n:1\r\n$3\r\nch1\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
    )
    .await;

    c.roundtrip(
        &line("UNSUBSCRIBE nosuch"),
        b"*3\r\n$11\r\nunsubscribe\r\n$6\r\nnosuch\r\n:3\r\n",
    )
    .await;
    c.roundtrip(
        &line("SUNSUBSCRIBE"),
        b"*3\r\n$12\r\nsunsubscribe\r\n$2\r\ns1\r\n:0\r\n",
    )
    .await;
    c.roundtrip(&line("RESET"), b"+RESET\r\n").await;
    c.roundtrip(&line("PING"), b"+PONG\r\n").await;
    c.roundtrip(
        &line("UNSUBSCRIBE"),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    c.roundtrip(
        &line("PUNSUBSCRIBE"),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    c.roundtrip(
        &line("SUNSUBSCRIBE"),
        b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    p.roundtrip(&line("PUBSUB NUMSUB ch1"), b"*2\r\n$3\r\nch1\r\n:0\r\n")
        .await;
    p.roundtrip(&line("PUBSUB NUMPAT"), b":0\r\n").await;
    c.roundtrip(&line("QUIT"), b"+OK\r\n").await;
    c.expect_eof().await;
}

#[tokio::test]
async fn resp3_subscribe_transcript() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    let mut p = srv.connect().await;
    hello3(&mut c).await;
    c.roundtrip(
        &line("UNSUBSCRIBE"),
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
    )
    .await;
    c.roundtrip(
        &line("SUBSCRIBE ch1"),
        b">3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n",
    )
    .await;
    c.roundtrip(&line("PING"), b"+PONG\r\n").await;
    c.roundtrip(&line("PING x"), b"$1\r\nx\r\n").await;
    c.roundtrip(&line("PUBSUB NUMSUB ch1"), b"*2\r\n$3\r\nch1\r\n:1\r\n")
        .await;
    c.roundtrip(&line("CLIENT GETNAME"), b"_\r\n").await;
    p.roundtrip(&cmd(&[&b"PUBLISH"[..], b"ch1", b"a\0\r\nb"]), b":1\r\n")
        .await;
    c.expect(b">3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\na\0\r\nb\r\n")
        .await;
    // CLIENT REPLY OFF silences replies, never pushes (T5).
    c.send(&line("CLIENT REPLY OFF")).await;
    c.send(&line("PING")).await;
    p.roundtrip(&line("PUBLISH ch1 m2"), b":1\r\n").await;
    c.expect(b">3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$2\r\nm2\r\n")
        .await;
    c.roundtrip(
        &line("UNSUBSCRIBE ch1"),
        b">3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:0\r\n",
    )
    .await;
    c.roundtrip(&line("CLIENT REPLY ON"), b"+OK\r\n").await;
    c.roundtrip(&line("RESET"), b"+RESET\r\n").await;
    c.roundtrip(&line("CLIENT GETNAME"), b"$-1\r\n").await;
}

#[tokio::test]
async fn pubsub_help_transcript() {
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    let mut want = format!("*{}\r\n", lines.len());
    for l in lines {
        want.push_str(&format!("+{l}\r\n"));
    }
    c.roundtrip(&line("PUBSUB HELP"), want.as_bytes()).await;
    c.roundtrip(
        &line("PUBSUB foo"),
        b"-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n",
    )
    .await;
    c.roundtrip(
        &line("PUBSUB channels a b"),
        b"-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n",
    )
    .await;
    c.roundtrip(
        &line("PUBSUB NUMPAT x"),
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
    )
    .await;
    c.roundtrip(
        &line("PUBSUB"),
        b"-ERR wrong number of arguments for 'pubsub' command\r\n",
    )
    .await;
}

#[tokio::test]
async fn multi_subscribe_emits_more_frames_than_exec_header() {
    // T8 / upstream issue #12207, observed on 7.0.15 and kept by 7.2+.
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    c.send(b"MULTI\r\nSUBSCRIBE a b\r\nPING\r\nEXEC\r\n").await;
    c.expect(
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n\
          *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
          *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
          *2\r\n$4\r\npong\r\n$0\r\n\r\n",
    )
    .await;
    c.send(b"MULTI\r\nSSUBSCRIBE s\r\nEXEC\r\n").await;
    c.expect(&context_err("multi")).await;
    c.expect(b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n")
        .await;
    // EXEC itself rejected by the context check takes the EXECABORT form [obs 7.0.15].
    c.expect(b"-EXECABORT Transaction discarded because of: ")
        .await;
    c.expect(&context_err("exec")[5..]).await;
}

// ---------------------------------------------------------------------------------------
// Slow consumer: client-output-buffer-limit pubsub (spec §6, T11)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn slow_subscriber_is_disconnected_others_unaffected() {
    slow_consumer(SlowVia::Resp2Channel).await;
}

#[tokio::test]
async fn slow_resp3_pattern_subscriber_is_disconnected_others_unaffected() {
    // RESP3 subscribers are in the pubsub class too (spec §6), and pattern deliveries count.
    slow_consumer(SlowVia::Resp3Pattern).await;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SlowVia {
    Resp2Channel,
    Resp3Pattern,
}

async fn slow_consumer(via: SlowVia) {
    let srv = respub(&["--client-output-buffer-limit", "pubsub 1mb 256kb 60"]).await;
    // A small receive window, so the non-reader's backlog builds up in the server rather
    // than in our kernel.
    let mut slow = Client::connect_small_rcvbuf(srv.addr, 4096).await;
    let mut reader = srv.connect().await;
    let mut publ = srv.connect().await;
    let mut query = srv.connect().await;
    let confirm = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n";
    match via {
        SlowVia::Resp2Channel => slow.roundtrip(&line("SUBSCRIBE feed"), confirm).await,
        SlowVia::Resp3Pattern => {
            hello3(&mut slow).await;
            slow.roundtrip(
                &line("PSUBSCRIBE fe?d"),
                b">3\r\n$10\r\npsubscribe\r\n$4\r\nfe?d\r\n:1\r\n",
            )
            .await;
        }
    }
    reader.roundtrip(&line("SUBSCRIBE feed"), confirm).await;

    const MSG: usize = 64 * 1024;
    const MAX_MESSAGES: usize = 2000; // 125 MiB: far beyond 1 MiB + kernel buffers
    let payload_for = |i: usize| -> Vec<u8> {
        let mut p = format!("{i:08}:").into_bytes();
        p.resize(MSG, b'a' + (i % 26) as u8);
        p
    };
    let expect_message = |i: usize| -> Vec<u8> {
        let mut m = b"*3\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n".to_vec();
        m.extend(bulk(&payload_for(i)));
        m
    };

    let started = std::time::Instant::now();
    let mut dropped_at = None;
    let mut i = 0;
    // Lock-step: publish one message, check the reply, let the reader consume it. The
    // reader therefore never has more than one message queued; the slow one piles up.
    while i < MAX_MESSAGES {
        publ.send(&cmd(&[&b"PUBLISH"[..], b"feed", &payload_for(i)]))
            .await;
        let reply = publ.read_frame().await;
        assert!(
            reply == b":2\r\n" || reply == b":1\r\n",
            "publisher got {} for message {i}",
            show_trunc(&reply, 200)
        );
        reader.expect(&expect_message(i)).await;
        i += 1;
        if reply == b":1\r\n" {
            dropped_at = Some(i);
            break;
        }
    }
    let dropped_at = dropped_at.unwrap_or_else(|| {
        panic!("slow subscriber still counted after {MAX_MESSAGES} x 64 KiB messages")
    });

    eprintln!("slow subscriber ({via:?}) dropped after {dropped_at} messages of 64 KiB");
    // The slow one sees EOF (possibly mid-frame, without any error frame) in bounded time.
    match slow.drain_until_eof(Duration::from_secs(10)).await {
        Ok(bytes) => assert!(
            bytes < dropped_at * (MSG + 64) + confirm.len(),
            "slow subscriber received more than was published"
        ),
        Err(bytes) => panic!("slow subscriber not closed within 10 s (read {bytes} bytes)"),
    }

    // Everyone else carries on: more messages, all in order, counted once.
    for _ in 0..5 {
        publ.send(&cmd(&[&b"PUBLISH"[..], b"feed", &payload_for(i)]))
            .await;
        publ.expect(b":1\r\n").await;
        reader.expect(&expect_message(i)).await;
        i += 1;
    }
    query
        .roundtrip(&line("PUBSUB NUMSUB feed"), b"*2\r\n$4\r\nfeed\r\n:1\r\n")
        .await;
    query.roundtrip(&line("PUBSUB NUMPAT"), b":0\r\n").await;
    query.roundtrip(&line("PING"), b"+PONG\r\n").await;
    reader
        .roundtrip(&line("PING"), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "slow-consumer scenario took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hello_noauth_text_is_the_7_2_one() {
    // KNOWN_DIFFERENCES row "hello-noauth-text" (redis/redis PR #11809, 7.2+).
    let srv = respub(&["--requirepass", "pw"]).await;
    let mut c = srv.connect().await;
    let want: &[u8] = b"-NOAUTH HELLO must be called with the client already authenticated, \
        otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the \
        client and select the RESP protocol version at the same time\r\n";
    c.roundtrip(&line("HELLO 3"), want).await;
    c.roundtrip(&line("HELLO"), want).await;
    c.roundtrip(&line("PING"), b"-NOAUTH Authentication required.\r\n")
        .await;
    c.send(&line("HELLO 3 AUTH default pw")).await;
    let f = c.read_frame().await;
    assert!(f.starts_with(b"%7\r\n"), "{}", show_trunc(&f, 200));
}

/// LATENCY GRAPH and DOCTOR once the latency monitor has samples: respub's own text, on
/// purpose. Redis draws an ASCII sparkline (GRAPH) and follows DOCTOR's spike list with
/// advice about its keyspace, persistence and memory, none of which respub has; respub
/// lists the samples instead. LATEST, HISTORY and RESET keep Redis's shapes (checked
/// here and, with the monitor off, in tests/differential/slowlog_latency.rs). Against
/// redis-server, the GRAPH and DOCTOR text checks fail, which is the point.
#[tokio::test]
async fn latency_graph_and_doctor_with_samples_are_respubs_own() {
    let server = respub(&[]).await;
    let mut c = server.connect().await;
    c.roundtrip(&line("CONFIG SET latency-monitor-threshold 1"), b"+OK\r\n")
        .await;
    // A transaction of 20,000 PUBLISH takes well over 1 ms: EXEC is a `command` event.
    // Retried (bounded) in case a fast machine does it in under a millisecond.
    let mut latest = Vec::new();
    for _ in 0..5 {
        c.roundtrip(&line("MULTI"), b"+OK\r\n").await;
        let mut batch = Vec::new();
        for _ in 0..20_000 {
            batch.extend(line("PUBLISH nobody x"));
        }
        c.send(&batch).await;
        c.read_frames(20_000).await;
        c.send(&line("EXEC")).await;
        c.read_frame().await;
        c.send(&line("LATENCY LATEST")).await;
        latest = c.read_frame().await;
        if latest != b"*0\r\n" {
            break;
        }
    }
    // `command` for EXEC; a PUBLISH inside it that was slow too adds `fast-command`.
    let (_, events) = support::split_aggregate(&latest).expect("LATEST is an array");
    let mut names = Vec::new();
    for e in &events {
        let (_, fields) = support::split_aggregate(e).expect("an event is an array");
        assert_eq!(fields.len(), 4, "{}", show_trunc(&latest, 300));
        assert!(fields[1..].iter().all(|f| f.starts_with(b":")));
        names.push(fields[0].clone());
    }
    assert!(
        names.contains(&bulk(b"command")),
        "{}",
        show_trunc(&latest, 300)
    );
    assert!(names
        .iter()
        .all(|n| *n == bulk(b"command") || *n == bulk(b"fast-command")));

    c.send(&line("LATENCY HISTORY command")).await;
    let history = c.read_frame().await;
    let (_, samples) = support::split_aggregate(&history).expect("HISTORY is an array");
    assert!(!samples.is_empty());

    c.send(&line("LATENCY GRAPH command")).await;
    let graph = c.read_frame().await;
    let text = frame_payload(&graph).expect("GRAPH is a bulk string");
    assert!(
        text.starts_with(b"command - high "),
        "{}",
        show_trunc(&graph, 300)
    );

    c.send(&line("LATENCY DOCTOR")).await;
    let doctor = c.read_frame().await;
    let text = frame_payload(&doctor).expect("DOCTOR is a bulk string");
    assert!(
        text.starts_with(b"Dave, I have observed latency spikes in this Redis instance.")
            && text.windows(11).any(|w| w == b". command: "),
        "{}",
        show_trunc(&doctor, 400)
    );

    let reset = format!(":{}\r\n", events.len());
    c.roundtrip(&line("LATENCY RESET"), reset.as_bytes()).await;
    c.roundtrip(&line("LATENCY LATEST"), b"*0\r\n").await;
}

// ---------------------------------------------------------------------------------------
// Admin commands (issue 8) where respub answers differently on purpose
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn memory_malloc_stats_is_the_libc_answer() {
    // KNOWN_DIFFERENCES row "memory-malloc-stats": respub runs on glibc malloc, and Redis
    // built with libc answers this bulk string (object.c, no USE_JEMALLOC).
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    c.roundtrip(
        &line("MEMORY MALLOC-STATS"),
        b"$45\r\nStats not supported for the current allocator\r\n",
    )
    .await;
}

#[tokio::test]
async fn memory_stats_reports_the_process_and_an_empty_keyspace() {
    // KNOWN_DIFFERENCES row "memory-figures": the figures are respub's own. RSS from
    // /proc is in the allocator fields, the keyspace figures are an empty one's.
    let srv = respub(&[]).await;
    let mut c = srv.connect().await;
    c.send(&line("MEMORY STATS")).await;
    let f = c.read_frame().await;
    let text = String::from_utf8_lossy(&f).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    let value = |name: &str| -> String {
        let i = lines
            .iter()
            .position(|l| *l == name)
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        let v = lines[i + 1];
        if let Some(n) = v.strip_prefix(':') {
            n.to_string()
        } else {
            lines[i + 2].to_string()
        }
    };
    let rss: u64 = value("total.allocated").parse().unwrap();
    assert!(rss > 1024 * 1024, "total.allocated {rss}");
    let peak: u64 = value("peak.allocated").parse().unwrap();
    assert!(peak >= rss, "peak {peak} < {rss}");
    assert_eq!(value("keys.count"), "0");
    assert_eq!(value("dataset.bytes"), "0");
    assert_eq!(value("fragmentation"), "1");
}
