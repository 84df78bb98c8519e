//! redis-rs (the `redis` crate, pinned in Cargo.toml) against respub, used as its users
//! use it: the blocking `Connection::as_pubsub()` with `get_message` and a read timeout,
//! the tokio `get_async_pubsub()` with its `on_message` stream (also split into sink and
//! stream), RESP3 push delivery through a push sender on a multiplexed connection and on a
//! blocking connection, PUBLISH receiver counts and PUBSUB NUMSUB/CHANNELS/NUMPAT.
//!
//! Every check runs against respub and against a real redis-server (`mod <check>` holds
//! one test per server), so a check that fails on redis-server is a wrong check. Blocking
//! checks run on `spawn_blocking`, off the test's tokio runtime.

mod support;

use std::time::Duration;

use futures_util::StreamExt as _;
use redis::{AsyncCommands as _, Commands as _, Msg, ProtocolVersion, PushInfo, PushKind, Value};
use support::{Kind, Server};

/// Bound on every wait for a message or a push.
const WAIT: Duration = Duration::from_secs(5);

fn client(server: &Server, protocol: ProtocolVersion) -> redis::Client {
    let proto = match protocol {
        ProtocolVersion::RESP2 => "resp2",
        _ => "resp3",
    };
    redis::Client::open(format!("redis://{}/?protocol={proto}", server.addr)).expect("valid url")
}

fn bulk(s: &[u8]) -> Value {
    Value::BulkString(s.to_vec())
}

/// `PUBSUB NUMSUB ch...` as (channel, count) pairs.
fn numsub(con: &mut redis::Connection, channels: &[&str]) -> Vec<(String, i64)> {
    redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channels)
        .query(con)
        .expect("PUBSUB NUMSUB")
}

async fn numsub_async(
    con: &mut redis::aio::MultiplexedConnection,
    channels: &[&str],
) -> Vec<(String, i64)> {
    redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channels)
        .query_async(con)
        .await
        .expect("PUBSUB NUMSUB")
}

fn publish(con: &mut redis::Connection, channel: &str, payload: &[u8]) -> i64 {
    con.publish(channel, payload).expect("PUBLISH")
}

async fn publish_async(
    con: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    payload: &str,
) -> i64 {
    con.publish(channel, payload).await.expect("PUBLISH")
}

/// Bounded poll until PUBSUB NUMSUB and NUMPAT show the given counts.
fn wait_subscribed(con: &mut redis::Connection, want: &[(&str, i64)], numpat: i64) {
    let channels: Vec<&str> = want.iter().map(|(c, _)| *c).collect();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = numsub(con, &channels);
        let npat: i64 = redis::cmd("PUBSUB")
            .arg("NUMPAT")
            .query(con)
            .expect("NUMPAT");
        if got == pairs(want) && npat == numpat {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "PUBSUB still shows {got:?}, NUMPAT {npat}; want {want:?}, NUMPAT {numpat}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

fn msg_parts(m: &Msg) -> (Option<String>, String, Vec<u8>) {
    (
        m.get_pattern().expect("pattern"),
        m.get_channel_name().to_string(),
        m.get_payload_bytes().to_vec(),
    )
}

fn parts(
    pattern: Option<&str>,
    channel: &str,
    payload: &[u8],
) -> (Option<String>, String, Vec<u8>) {
    (
        pattern.map(str::to_string),
        channel.to_string(),
        payload.to_vec(),
    )
}

// ---------------------------------------------------------------------------------------
// Blocking API: Connection::as_pubsub()
// ---------------------------------------------------------------------------------------

fn check_sync_pubsub(server: &Server, protocol: ProtocolVersion) {
    let client = client(server, protocol);
    let mut publisher = client.get_connection().expect("publisher connection");
    let mut con = client.get_connection().expect("subscriber connection");
    let resp3 = protocol == ProtocolVersion::RESP3;
    let tag = if resp3 { "rs3" } else { "rs2" };
    let (a, b, pat) = (
        format!("{tag}.s.a"),
        format!("{tag}.s.b"),
        format!("{tag}.p.*"),
    );
    let none = format!("{tag}.none");
    {
        let mut pubsub = con.as_pubsub();
        pubsub.subscribe(&[&a, &b]).expect("SUBSCRIBE");
        pubsub.psubscribe(&pat).expect("PSUBSCRIBE");
        // The blocking PubSub does not wait for every confirmation: in RESP2 it returns on
        // the first reply (the second channel's and the pattern's confirmations are still
        // unread), in RESP3 it does not wait at all. Users wait for PUBSUB to show them.
        wait_subscribed(&mut publisher, &[(&a, 1), (&b, 1)], 1);
        pubsub
            .set_read_timeout(Some(WAIT))
            .expect("set_read_timeout");

        let pchan = format!("{tag}.p.x");
        assert_eq!(publish(&mut publisher, &b, b"to b"), 1);
        assert_eq!(publish(&mut publisher, &pchan, b"to p"), 1);
        let binary: &[u8] = b"\x00bin\r\n*1\r\n$0\r\n\xff";
        assert_eq!(publish(&mut publisher, &a, binary), 1);
        assert_eq!(publish(&mut publisher, &a, b""), 1);
        assert_eq!(publish(&mut publisher, &none, b"x"), 0);
        let want = [
            parts(None, &b, b"to b"),
            parts(Some(&pat), &pchan, b"to p"),
            parts(None, &a, binary),
            parts(None, &a, b""),
        ];
        for w in &want {
            let m = pubsub.get_message().expect("get_message");
            assert_eq!(msg_parts(&m), *w);
        }
        assert_eq!(
            numsub(&mut publisher, &[&a, &b, &none]),
            pairs(&[(a.as_str(), 1), (b.as_str(), 1), (none.as_str(), 0)])
        );
        // get_message skipped the confirmations, so PING now reads its own answer:
        // ["pong", ""] in RESP2 subscriber mode, PONG in RESP3.
        if resp3 {
            assert_eq!(pubsub.ping::<String>().expect("PING"), "PONG");
            assert_eq!(pubsub.ping_message::<String>("hi").expect("PING hi"), "hi");
        } else {
            assert_eq!(pubsub.ping::<Vec<String>>().expect("PING"), ["pong", ""]);
            assert_eq!(
                pubsub.ping_message::<Vec<String>>("hi").expect("PING hi"),
                ["pong", "hi"]
            );
        }

        // Nothing published: get_message gives up after the read timeout.
        pubsub
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("set_read_timeout");
        let t0 = std::time::Instant::now();
        let err = pubsub.get_message().expect_err("no message was published");
        assert!(err.is_timeout(), "expected a timeout, got {err:?}");
        assert!(t0.elapsed() >= Duration::from_millis(250));
        pubsub
            .set_read_timeout(Some(WAIT))
            .expect("set_read_timeout");

        pubsub.unsubscribe(&a).expect("UNSUBSCRIBE");
        wait_subscribed(&mut publisher, &[(&a, 0), (&b, 1)], 1);
        assert_eq!(publish(&mut publisher, &a, b"gone"), 0);
        assert_eq!(publish(&mut publisher, &b, b"still"), 1);
        let m = pubsub.get_message().expect("get_message after UNSUBSCRIBE");
        assert_eq!(msg_parts(&m), parts(None, &b, b"still"));
        assert_eq!(
            numsub(&mut publisher, &[&a, &b]),
            pairs(&[(a.as_str(), 0), (b.as_str(), 1)])
        );
        // Dropping the PubSub sends UNSUBSCRIBE + PUNSUBSCRIBE and waits for the
        // confirmations down to count 0, leaving a normal connection.
    }
    assert_eq!(
        numsub(&mut publisher, &[&a, &b]),
        pairs(&[(a.as_str(), 0), (b.as_str(), 0)])
    );
    let npat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(npat, 0);
    assert_eq!(publish(&mut con, &b, b"from the old subscriber"), 0);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

/// RESP3 pushes on a blocking connection with a push sender (`subscribe_resp3`), the
/// subscriber publishing to itself. Where the pushes of a self-PUBLISH go relative to its
/// `:N` reply depends on the Redis version (7.0 writes them before the reply, 7.2+ after
/// it; respub follows 7.2+, see redis-pubsub-semantics.md T9), so this check only relies
/// on what both guarantee: they are in before the reply to the next command (PING).
fn check_sync_resp3_push_sender(server: &Server) {
    let client = client(server, ProtocolVersion::RESP3);
    let mut con = client.get_connection().expect("connection");
    let (tx, rx) = std::sync::mpsc::channel::<PushInfo>();
    con.set_push_sender(tx);
    con.subscribe_resp3("rs3.push.sync").expect("SUBSCRIBE");
    con.psubscribe_resp3("rs3.push.sy*").expect("PSUBSCRIBE");
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut con).unwrap(),
        "PONG"
    );
    assert_eq!(
        publish(&mut con, "rs3.push.sync", b"self"),
        2,
        "one channel subscription and one pattern, both this connection"
    );
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut con).unwrap(),
        "PONG"
    );
    let got: Vec<PushInfo> = rx.try_iter().collect();
    assert_eq!(
        got,
        vec![
            PushInfo {
                kind: PushKind::Subscribe,
                data: vec![bulk(b"rs3.push.sync"), Value::Int(1)],
            },
            PushInfo {
                kind: PushKind::PSubscribe,
                data: vec![bulk(b"rs3.push.sy*"), Value::Int(2)],
            },
            PushInfo {
                kind: PushKind::Message,
                data: vec![bulk(b"rs3.push.sync"), bulk(b"self")],
            },
            PushInfo {
                kind: PushKind::PMessage,
                data: vec![bulk(b"rs3.push.sy*"), bulk(b"rs3.push.sync"), bulk(b"self")],
            },
        ]
    );
    con.unsubscribe_resp3("rs3.push.sync").expect("UNSUBSCRIBE");
    con.punsubscribe_resp3("rs3.push.sy*")
        .expect("PUNSUBSCRIBE");
    assert_eq!(publish(&mut con, "rs3.push.sync", b"after"), 0);
    let got: Vec<PushInfo> = rx.try_iter().collect();
    assert_eq!(
        got,
        vec![
            PushInfo {
                kind: PushKind::Unsubscribe,
                data: vec![bulk(b"rs3.push.sync"), Value::Int(1)],
            },
            PushInfo {
                kind: PushKind::PUnsubscribe,
                data: vec![bulk(b"rs3.push.sy*"), Value::Int(0)],
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------
// tokio API: get_async_pubsub(), multiplexed connection with a push sender
// ---------------------------------------------------------------------------------------

async fn next_msg(stream: &mut (impl futures_util::Stream<Item = Msg> + Unpin)) -> Msg {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("timed out waiting for a message")
        .expect("message stream ended")
}

async fn check_async_pubsub(server: &Server, protocol: ProtocolVersion) {
    let client = client(server, protocol);
    let tag = if protocol == ProtocolVersion::RESP3 {
        "ra3"
    } else {
        "ra2"
    };
    let (a, b, pat) = (
        format!("{tag}.s.a"),
        format!("{tag}.s.b"),
        format!("{tag}.p.*"),
    );
    let mut publisher = client
        .get_multiplexed_async_connection()
        .await
        .expect("publisher connection");
    let mut pubsub = client.get_async_pubsub().await.expect("get_async_pubsub");
    pubsub.subscribe(&[&a, &b]).await.expect("SUBSCRIBE");
    pubsub.psubscribe(&pat).await.expect("PSUBSCRIBE");
    assert_eq!(
        numsub_async(&mut publisher, &[&a, &b]).await,
        pairs(&[(a.as_str(), 1), (b.as_str(), 1)])
    );
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg(format!("{tag}.*"))
        .query_async(&mut publisher)
        .await
        .unwrap();
    channels.sort();
    assert_eq!(channels, [a.clone(), b.clone()]);
    let pchan = format!("{tag}.p.q");
    assert_eq!(publish_async(&mut publisher, &a, "one").await, 1);
    assert_eq!(publish_async(&mut publisher, &pchan, "two").await, 1);
    assert_eq!(publish_async(&mut publisher, &b, "three").await, 1);
    {
        let mut stream = pubsub.on_message();
        for w in [
            parts(None, &a, b"one"),
            parts(Some(&pat), &pchan, b"two"),
            parts(None, &b, b"three"),
        ] {
            assert_eq!(msg_parts(&next_msg(&mut stream).await), w);
        }
    }
    pubsub.unsubscribe(&a).await.expect("UNSUBSCRIBE");
    pubsub.punsubscribe(&pat).await.expect("PUNSUBSCRIBE");
    assert_eq!(publish_async(&mut publisher, &a, "gone").await, 0);
    assert_eq!(publish_async(&mut publisher, &pchan, "gone").await, 0);
    assert_eq!(
        numsub_async(&mut publisher, &[&a, &b]).await,
        pairs(&[(a.as_str(), 0), (b.as_str(), 1)])
    );

    // split(): keep reading on the stream while the sink changes subscriptions.
    let (mut sink, mut stream) = pubsub.split();
    let c = format!("{tag}.s.c");
    sink.subscribe(&c).await.expect("SUBSCRIBE on the sink");
    assert_eq!(publish_async(&mut publisher, &c, "via sink").await, 1);
    assert_eq!(publish_async(&mut publisher, &b, "still b").await, 1);
    assert_eq!(
        msg_parts(&next_msg(&mut stream).await),
        parts(None, &c, b"via sink")
    );
    assert_eq!(
        msg_parts(&next_msg(&mut stream).await),
        parts(None, &b, b"still b")
    );
    drop((sink, stream));
    // The dedicated pub/sub connection is closed with it, releasing every subscription.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = numsub_async(&mut publisher, &[&b, &c]).await;
        if n == pairs(&[(b.as_str(), 0), (c.as_str(), 0)]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still subscribed: {n:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The RESP3 way redis-rs recommends: one multiplexed connection, subscriptions through
/// it, deliveries through the push sender, normal commands on the same connection.
async fn check_async_resp3_push(server: &Server) {
    let client = client(server, ProtocolVersion::RESP3);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PushInfo>();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("multiplexed connection");
    let mut publisher = client
        .get_multiplexed_async_connection()
        .await
        .expect("publisher connection");
    con.subscribe(&["rs3.mx.a", "rs3.mx.b"])
        .await
        .expect("SUBSCRIBE");
    con.psubscribe("rs3.mx.*").await.expect("PSUBSCRIBE");
    let mut next = async || {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("timed out waiting for a push")
            .expect("push channel closed")
    };
    let push = |kind, data: &[&str]| PushInfo {
        kind,
        data: data.iter().map(|d| bulk(d.as_bytes())).collect(),
    };
    let confirm = |kind, name: &[u8], n| PushInfo {
        kind,
        data: vec![bulk(name), Value::Int(n)],
    };
    assert_eq!(next().await, confirm(PushKind::Subscribe, b"rs3.mx.a", 1));
    assert_eq!(next().await, confirm(PushKind::Subscribe, b"rs3.mx.b", 2));
    assert_eq!(next().await, confirm(PushKind::PSubscribe, b"rs3.mx.*", 3));
    assert_eq!(
        numsub_async(&mut publisher, &["rs3.mx.a", "rs3.mx.b"]).await,
        pairs(&[("rs3.mx.a", 1), ("rs3.mx.b", 1)])
    );
    let npat: i64 = redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query_async(&mut publisher)
        .await
        .unwrap();
    assert_eq!(npat, 1);

    assert_eq!(publish_async(&mut publisher, "rs3.mx.b", "hello").await, 2);
    assert_eq!(
        next().await,
        push(PushKind::Message, &["rs3.mx.b", "hello"])
    );
    assert_eq!(
        next().await,
        push(PushKind::PMessage, &["rs3.mx.*", "rs3.mx.b", "hello"])
    );
    // RESP3 lets the subscribed connection run normal commands, PUBLISH included.
    assert_eq!(publish_async(&mut con, "rs3.mx.a", "self").await, 2);
    assert_eq!(next().await, push(PushKind::Message, &["rs3.mx.a", "self"]));
    assert_eq!(
        next().await,
        push(PushKind::PMessage, &["rs3.mx.*", "rs3.mx.a", "self"])
    );
    let echoed: String = redis::cmd("ECHO")
        .arg("still a connection")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(echoed, "still a connection");

    con.unsubscribe("rs3.mx.a").await.expect("UNSUBSCRIBE");
    assert_eq!(next().await, confirm(PushKind::Unsubscribe, b"rs3.mx.a", 2));
    con.punsubscribe("rs3.mx.*").await.expect("PUNSUBSCRIBE");
    assert_eq!(
        next().await,
        confirm(PushKind::PUnsubscribe, b"rs3.mx.*", 1)
    );
    assert_eq!(publish_async(&mut publisher, "rs3.mx.a", "x").await, 0);
    assert_eq!(publish_async(&mut publisher, "rs3.mx.b", "last").await, 1);
    assert_eq!(next().await, push(PushKind::Message, &["rs3.mx.b", "last"]));
    assert!(rx.try_recv().is_err(), "no other push");
}

// ---------------------------------------------------------------------------------------
// One test per check and server
// ---------------------------------------------------------------------------------------

/// `both!(name, |server| async { ... })` makes `name::respub` and `name::redis`.
macro_rules! both {
    ($name:ident, $check:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn respub() {
                let server = Server::start(Kind::Respub, &[]).await;
                ($check)(server).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let server = Server::start(Kind::Redis, &[]).await;
                ($check)(server).await;
            }
        }
    };
}

/// Run a blocking check off the runtime; its panic becomes this test's panic, unchanged.
async fn blocking(server: Server, f: fn(&Server)) {
    if let Err(e) = tokio::task::spawn_blocking(move || f(&server)).await {
        std::panic::resume_unwind(e.into_panic());
    }
}

both!(sync_pubsub_resp2, |s| blocking(s, |s| check_sync_pubsub(
    s,
    ProtocolVersion::RESP2
)));
both!(sync_pubsub_resp3, |s| blocking(s, |s| check_sync_pubsub(
    s,
    ProtocolVersion::RESP3
)));
both!(sync_resp3_push_sender, |s| blocking(
    s,
    check_sync_resp3_push_sender
));
both!(async_pubsub_resp2, |s: Server| async move {
    check_async_pubsub(&s, ProtocolVersion::RESP2).await
});
both!(async_pubsub_resp3, |s: Server| async move {
    check_async_pubsub(&s, ProtocolVersion::RESP3).await
});
both!(async_resp3_push, |s: Server| async move {
    check_async_resp3_push(&s).await
});
