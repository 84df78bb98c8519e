//! Browsers over WebSocket and SSE (issue 12), through the real binary: a WebSocket
//! client library (tokio-tungstenite) and an SSE client reading the event stream, next
//! to RESP publishers and redis-cli. Covers the JSON protocol and its counts, binary
//! payloads, auth failures (none, bad signature, expired, denied channel, bad Origin),
//! a slow WebSocket client dropped at its output limit while others keep receiving,
//! 1,000 WebSocket subscribers hearing one PUBLISH from redis-cli, and each browser
//! limit crossed once (http-max-clients, ws-max-message-size, max-subscriptions,
//! http-ping-interval).

mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::{cmd, free_port, Client, Kind, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "web-test-secret";

/// Starts respub with an admin port and waits until that port accepts too (it is bound
/// after the RESP port; a port taken meanwhile by another process means a retry).
async fn start(extra: &[&str]) -> (Server, SocketAddr) {
    for _ in 0..3 {
        let port = free_port();
        let mut args = vec![
            "--admin-port".to_string(),
            port.to_string(),
            "--admin-bind".to_string(),
            "127.0.0.1".to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(Kind::Respub, &args).await;
        let admin = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..100 {
            if TcpStream::connect(admin).await.is_ok() {
                return (server, admin);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("the admin port never accepted connections");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// Opens /ws (path may carry a query); `headers` are added to the upgrade request.
async fn ws_try(
    admin: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{admin}{path}").into_client_request().unwrap();
    for (k, v) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName =
            k.parse().expect("header name");
        req.headers_mut()
            .insert(name, v.parse().expect("header value"));
    }
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("websocket connect in time")
    .map(|(ws, _)| ws)
}

async fn ws(admin: SocketAddr, path: &str) -> Ws {
    ws_try(admin, path, &[]).await.expect("websocket upgrade")
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string()))
        .await
        .expect("ws send");
}

/// The next JSON text frame (pings skipped); fails after 5 s.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a websocket frame within 5 s")
            .expect("stream open")
            .expect("frame ok");
        match m {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Nothing but pings arrives for `ms`.
async fn silent(ws: &mut Ws, ms: u64) {
    let end = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        match tokio::time::timeout_at(end, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }
}

/// The close frame's code (or None if the socket just ended) within 10 s.
async fn closed(ws: &mut Ws) -> Option<u16> {
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(end, ws.next()).await {
            Err(_) => panic!("websocket still open after 10 s"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(f)))) => return f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

async fn resp(server: &Server, args: &[&str]) -> Vec<u8> {
    let mut c = Client::connect(server.addr).await;
    c.send(&cmd(args)).await;
    c.read_frame().await
}

async fn publish(server: &Server, channel: &str, data: &[u8]) -> Vec<u8> {
    let mut c = Client::connect(server.addr).await;
    c.send(&cmd(&[b"PUBLISH".as_slice(), channel.as_bytes(), data]))
        .await;
    c.read_frame().await
}

/// A minimal SSE client: one HTTP/1.0 request (no chunked encoding), then events.
struct Sse {
    status: u16,
    reader: BufReader<TcpStream>,
}

async fn sse(admin: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Sse {
    let mut s = TcpStream::connect(admin).await.expect("connect admin port");
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {admin}\r\nAccept: text/event-stream\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write request");
    let mut reader = BufReader::new(s);
    let mut status_line = String::new();
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut status_line))
        .await
        .expect("status line in time")
        .expect("read");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).await.expect("header");
        if h == "\r\n" || h.is_empty() {
            break;
        }
    }
    Sse { status, reader }
}

impl Sse {
    /// The next event's data as JSON (comments skipped); fails after 5 s.
    async fn next(&mut self) -> Value {
        let mut data = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
                .await
                .expect("an SSE line within 5 s")
                .expect("read");
            assert!(n > 0, "SSE stream ended");
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if !data.is_empty() {
                    return serde_json::from_str(&data).expect("JSON event");
                }
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
    }

    async fn body(mut self) -> String {
        let mut s = String::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), self.reader.read_to_string(&mut s)).await;
        s
    }
}

fn numsub(frame: &[u8]) -> String {
    support::show(frame)
}

#[tokio::test]
async fn websocket_protocol_counts_and_payloads() {
    let (server, admin) = start(&[]).await;
    let mut a = ws(admin, "/ws").await;
    send(
        &mut a,
        json!({"op": "subscribe", "channels": ["news", "sport"], "id": 7}),
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "subscribe", "channel": "news", "count": 1, "id": 7})
    );
    assert_eq!(
        next(&mut a).await,
        json!({"type": "subscribe", "channel": "sport", "count": 2, "id": 7})
    );
    send(&mut a, json!({"op": "psubscribe", "patterns": ["n*"]})).await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "psubscribe", "pattern": "n*", "count": 3})
    );

    // A RESP publisher reaches the browser: once through the channel, once the pattern.
    assert_eq!(
        publish(&server, "news", b"hello \"world\"\n").await,
        b":2\r\n"
    );
    assert_eq!(
        next(&mut a).await,
        json!({"type": "message", "channel": "news", "data": "hello \"world\"\n"})
    );
    assert_eq!(
        next(&mut a).await,
        json!({"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello \"world\"\n"})
    );
    // Not UTF-8: base64 with a flag.
    publish(&server, "sport", &[0xff, 0x00, 0x41]).await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "message", "channel": "sport", "data": "/wBB", "encoding": "base64"})
    );

    // PUBSUB NUMSUB and INFO count the browser client.
    assert_eq!(
        numsub(&resp(&server, &["PUBSUB", "NUMSUB", "news", "sport"]).await),
        numsub(b"*4\r\n$4\r\nnews\r\n:1\r\n$5\r\nsport\r\n:1\r\n")
    );
    let info = String::from_utf8(resp(&server, &["INFO", "clients"]).await).unwrap();
    assert!(info.contains("pubsub_clients:1"), "{info}");
    let list = String::from_utf8(resp(&server, &["CLIENT", "LIST"]).await).unwrap();
    assert!(list.contains("sub=2 psub=1"), "{list}");

    // The browser publishes; a RESP subscriber and the browser itself hear it, the
    // reply first (its own delivery follows it, as for a subscribed RESP client).
    let mut r = Client::connect(server.addr).await;
    r.send(&cmd(&["SUBSCRIBE", "news"])).await;
    r.read_frame().await;
    send(
        &mut a,
        json!({"op": "publish", "channel": "news", "data": "from browser", "id": "p1"}),
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "publish", "channel": "news", "count": 3, "id": "p1"})
    );
    assert_eq!(next(&mut a).await["data"], "from browser");
    assert_eq!(next(&mut a).await["type"], "pmessage");
    r.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$12\r\nfrom browser\r\n")
        .await;
    send(
        &mut a,
        json!({"op": "publish", "channel": "news", "data": "/wA=", "encoding": "base64"}),
    )
    .await;
    next(&mut a).await;
    r.expect(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\n\xff\x00\r\n")
        .await;
    next(&mut a).await;
    next(&mut a).await;

    send(&mut a, json!({"op": "ping", "data": "x"})).await;
    assert_eq!(next(&mut a).await, json!({"type": "pong", "data": "x"}));
    send(
        &mut a,
        json!({"op": "unsubscribe", "channels": ["news", "nope"]}),
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "unsubscribe", "channel": "news", "count": 2})
    );
    assert_eq!(
        next(&mut a).await,
        json!({"type": "unsubscribe", "channel": "nope", "count": 2})
    );
    send(&mut a, json!({"op": "punsubscribe"})).await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "punsubscribe", "pattern": "n*", "count": 1})
    );
    send(&mut a, json!({"op": "frobnicate"})).await;
    assert_eq!(
        next(&mut a).await["error"],
        "ERR bad request: expected a JSON object with a known \"op\""
    );
    a.send(Message::text("not json")).await.unwrap();
    assert_eq!(next(&mut a).await["type"], "error");

    // /metrics labels the client by transport.
    let metrics = http(admin, "/metrics", &[]).await.1;
    assert!(
        metrics.contains("respub_connected_clients{protocol=\"json\",transport=\"websocket\"} 1"),
        "{metrics}"
    );
    drop(a);
    // Leaving unsubscribes: NUMSUB drops to 0 for the browser's channel.
    let mut left = false;
    for _ in 0..50 {
        if resp(&server, &["PUBSUB", "NUMSUB", "sport"]).await == b"*2\r\n$5\r\nsport\r\n:0\r\n" {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(left, "the closed websocket's subscription was not removed");
}

/// One HTTP/1.0 GET: (status, body).
async fn http(admin: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let s = sse(admin, path, headers).await;
    let status = s.status;
    (status, s.body().await)
}

#[tokio::test]
async fn sse_streams_confirmations_and_messages() {
    let (server, admin) = start(&[]).await;
    let mut s = sse(admin, "/sse?channel=a&channel=b%20c&pattern=x.*", &[]).await;
    assert_eq!(s.status, 200);
    assert_eq!(
        s.next().await,
        json!({"type": "subscribe", "channel": "a", "count": 1})
    );
    assert_eq!(
        s.next().await,
        json!({"type": "subscribe", "channel": "b c", "count": 2})
    );
    assert_eq!(
        s.next().await,
        json!({"type": "psubscribe", "pattern": "x.*", "count": 3})
    );
    assert_eq!(publish(&server, "b c", b"one").await, b":1\r\n");
    assert_eq!(
        s.next().await,
        json!({"type": "message", "channel": "b c", "data": "one"})
    );
    assert_eq!(publish(&server, "x.1", b"two").await, b":1\r\n");
    assert_eq!(
        s.next().await,
        json!({"type": "pmessage", "pattern": "x.*", "channel": "x.1", "data": "two"})
    );
    let metrics = http(admin, "/metrics", &[]).await.1;
    assert!(metrics.contains("transport=\"sse\"} 1"), "{metrics}");
    // No channel: a clear 400.
    let (status, body) = http(admin, "/sse", &[]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn auth_failures_deliver_nothing() {
    let (server, admin) = start(&[
        "--requirepass",
        "pw",
        "--jwt-secret",
        SECRET,
        "--user",
        "reader on >rpw &chat.* +@all",
    ])
    .await;
    let good = |subscribe: Value| {
        token(
            SECRET,
            &json!({"sub": "ann", "exp": now() + 300, "subscribe": subscribe, "publish": []}),
        )
    };

    // No credentials: the socket opens, but nothing is allowed until auth.
    let mut a = ws(admin, "/ws").await;
    send(&mut a, json!({"op": "subscribe", "channels": ["chat.1"]})).await;
    assert_eq!(
        next(&mut a).await["error"],
        "NOAUTH Authentication required."
    );
    let (status, _) = http(admin, "/sse?channel=chat.1", &[]).await;
    assert_eq!(status, 401);

    // Bad signature, expired: refused before the upgrade (401), and over first message.
    let forged = token(
        "other-secret",
        &json!({"sub": "ann", "exp": now() + 300, "subscribe": ["*"]}),
    );
    let expired = token(
        SECRET,
        &json!({"sub": "ann", "exp": now() - 3600, "subscribe": ["*"]}),
    );
    for (t, text) in [
        (&forged, "WRONGPASS token signature invalid"),
        (&expired, "WRONGPASS token expired"),
    ] {
        let err = ws_try(admin, &format!("/ws?token={t}"), &[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        let auth = format!("Bearer {t}");
        let (status, body) = http(admin, "/sse?channel=chat.1", &[("Authorization", &auth)]).await;
        assert_eq!((status, body.trim()), (401, text));
        send(&mut a, json!({"op": "auth", "token": t})).await;
        assert_eq!(next(&mut a).await["error"], text);
    }
    send(
        &mut a,
        json!({"op": "auth", "user": "reader", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        next(&mut a).await["error"],
        "WRONGPASS invalid username-password pair or user is disabled."
    );

    // Denied channel: error frame / 403, and nothing subscribed.
    let t = good(json!(["chat.*"]));
    let mut b = ws(admin, &format!("/ws?token={t}")).await;
    send(
        &mut b,
        json!({"op": "subscribe", "channels": ["chat.1", "admin"]}),
    )
    .await;
    assert_eq!(
        next(&mut b).await["error"],
        "NOPERM No permissions to access a channel"
    );
    send(&mut b, json!({"op": "psubscribe", "patterns": ["chat.1*"]})).await;
    assert_eq!(
        next(&mut b).await["error"],
        "NOPERM No permissions to access a channel"
    );
    let (status, _) = http(admin, &format!("/sse?channel=admin&token={t}"), &[]).await;
    assert_eq!(status, 403);
    send(
        &mut b,
        json!({"op": "publish", "channel": "chat.1", "data": "x"}),
    )
    .await;
    assert_eq!(
        next(&mut b).await["error"],
        "NOPERM No permissions to publish to this channel"
    );
    let mut auth = Client::connect(server.addr).await;
    auth.send(&cmd(&["AUTH", "pw"])).await;
    auth.expect(b"+OK\r\n").await;
    auth.send(&cmd(&["PUBLISH", "admin", "secret"])).await;
    auth.expect(b":0\r\n").await;
    auth.send(&cmd(&["PUBLISH", "chat.1", "m"])).await;
    auth.expect(b":0\r\n").await;
    silent(&mut a, 200).await;
    silent(&mut b, 200).await;

    // Bad Origin: 403 before anything; the page's own origin is fine.
    let err = ws_try(
        admin,
        &format!("/ws?token={t}"),
        &[("Origin", "http://evil.example")],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let (status, _) = http(
        admin,
        &format!("/sse?channel=chat.1&token={t}"),
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, 403);
    let own = format!("http://{admin}");
    let mut c = ws_try(admin, &format!("/ws?token={t}"), &[("Origin", &own)])
        .await
        .expect("same origin");

    // The good ones then work: token (query), ACL user (first message), SSE.
    send(&mut c, json!({"op": "subscribe", "channels": ["chat.1"]})).await;
    assert_eq!(next(&mut c).await["count"], 1);
    send(
        &mut a,
        json!({"op": "auth", "user": "reader", "password": "rpw"}),
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        json!({"type": "auth", "user": "reader"})
    );
    send(&mut a, json!({"op": "psubscribe", "patterns": ["chat.*"]})).await;
    assert_eq!(next(&mut a).await["count"], 1);
    let mut s = sse(admin, &format!("/sse?channel=chat.1&token={t}"), &[]).await;
    assert_eq!(s.status, 200);
    s.next().await;
    auth.send(&cmd(&["PUBLISH", "chat.1", "hi"])).await;
    auth.expect(b":3\r\n").await;
    assert_eq!(next(&mut c).await["data"], "hi");
    assert_eq!(next(&mut a).await["data"], "hi");
    assert_eq!(s.next().await["data"], "hi");
    let info = String::from_utf8(resp(&server, &["AUTH", "pw"]).await).unwrap();
    assert_eq!(info, "+OK\r\n");
}

#[tokio::test]
async fn token_works_over_resp_auth() {
    let (server, _admin) = start(&["--jwt-secret", SECRET, "--requirepass", "pw"]).await;
    let t = token(
        SECRET,
        &json!({"sub": "bob", "exp": now() + 300, "subscribe": ["room.*"], "publish": ["room.1"]}),
    );
    let mut c = Client::connect(server.addr).await;
    c.send(&cmd(&["AUTH", "bob", &t])).await;
    c.expect(b"+OK\r\n").await;
    c.send(&cmd(&["PUBLISH", "room.1", "x"])).await;
    c.expect(b":0\r\n").await;
    c.send(&cmd(&["PUBLISH", "room.2", "x"])).await;
    c.expect(b"-NOPERM No permissions to access a channel\r\n")
        .await;
    c.send(&cmd(&["SUBSCRIBE", "other"])).await;
    c.expect(b"-NOPERM No permissions to access a channel\r\n")
        .await;
    c.send(&cmd(&["SUBSCRIBE", "room.2"])).await;
    c.expect(b"*3\r\n$9\r\nsubscribe\r\n$6\r\nroom.2\r\n:1\r\n")
        .await;
    // The token names its user: another name is refused.
    let mut d = Client::connect(server.addr).await;
    d.send(&cmd(&["AUTH", "eve", &t])).await;
    d.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        .await;
}

#[tokio::test]
async fn slow_websocket_client_is_dropped_while_others_keep_receiving() {
    let (server, admin) = start(&["--client-output-buffer-limit", "pubsub 256kb 0 0"]).await;
    // The slow one: a tiny receive buffer, and it never reads after subscribing.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&admin.into()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let stream = TcpStream::from_std(sock.into()).unwrap();
    let (mut slow, _) =
        tokio_tungstenite::client_async(format!("ws://{admin}/ws"), MaybeTlsStream::Plain(stream))
            .await
            .expect("slow client upgrade");
    send(
        &mut slow,
        json!({"op": "subscribe", "channels": ["firehose"]}),
    )
    .await;
    next(&mut slow).await;
    let mut good = Vec::new();
    for _ in 0..2 {
        let mut g = ws(admin, "/ws").await;
        send(&mut g, json!({"op": "subscribe", "channels": ["firehose"]})).await;
        next(&mut g).await;
        good.push(g);
    }
    const N: usize = 1200;
    let payload = "x".repeat(16 * 1024);
    let readers: Vec<_> = good
        .into_iter()
        .map(|mut g| {
            tokio::spawn(async move {
                for i in 0..N {
                    let m = next(&mut g).await;
                    assert_eq!(
                        m["data"].as_str().map(str::len),
                        Some(16 * 1024),
                        "message {i}"
                    );
                }
                g
            })
        })
        .collect();
    let mut p = Client::connect(server.addr).await;
    for _ in 0..N {
        p.send(&cmd(&["PUBLISH", "firehose", &payload])).await;
        p.read_frame().await;
    }
    let mut kept = Vec::new();
    for r in readers {
        kept.push(r.await.expect("good subscriber got every message"));
    }
    // The slow client is counted when its connection ends, after the server tried (for up
    // to a second) to send it a close frame through its full socket.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = String::from_utf8(resp(&server, &["INFO", "stats"]).await).unwrap();
        let numsub = resp(&server, &["PUBSUB", "NUMSUB", "firehose"]).await;
        if stats.contains("client_output_buffer_limit_disconnections:1")
            && numsub == b"*2\r\n$8\r\nfirehose\r\n:2\r\n"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stats}\nNUMSUB firehose: {}",
            String::from_utf8_lossy(&numsub)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(publish(&server, "firehose", b"after").await, b":2\r\n");
    for g in &mut kept {
        assert_eq!(next(g).await["data"], "after");
    }
    assert!(matches!(closed(&mut slow).await, Some(1008) | None));
}

#[tokio::test]
async fn a_thousand_websocket_subscribers_hear_redis_cli() {
    let _ = rlimit::increase_nofile_limit(8192);
    let (server, admin) = start(&[]).await;
    let mut clients = Vec::new();
    for _ in 0..1000 {
        let mut c = ws(admin, "/ws").await;
        send(&mut c, json!({"op": "subscribe", "channels": ["all"]})).await;
        clients.push(c);
    }
    for c in &mut clients {
        assert_eq!(next(c).await["type"], "subscribe");
    }
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &server.addr.port().to_string(),
            "PUBLISH",
            "all",
            "to everyone",
        ])
        .output()
        .expect("redis-cli is installed by tests/clients/setup.sh");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1000");
    for c in &mut clients {
        assert_eq!(
            next(c).await,
            json!({"type": "message", "channel": "all", "data": "to everyone"})
        );
    }
}

#[tokio::test]
async fn http_max_clients_is_enforced() {
    let (server, admin) = start(&["--http-max-clients", "2"]).await;
    let mut a = ws(admin, "/ws").await;
    let _s = sse(admin, "/sse?channel=c", &[]).await;
    let err = ws_try(admin, "/ws", &[]).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    let (status, _) = http(admin, "/sse?channel=c", &[]).await;
    assert_eq!(status, 503);
    // Those in are still served, and RESP clients too.
    send(&mut a, json!({"op": "subscribe", "channels": ["c"]})).await;
    assert_eq!(next(&mut a).await["count"], 1);
    assert_eq!(publish(&server, "c", b"m").await, b":2\r\n");
    drop(a);
    // A slot comes back when a client leaves.
    let mut ok = false;
    for _ in 0..50 {
        if ws_try(admin, "/ws", &[]).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok);
}

#[tokio::test]
async fn ws_max_message_size_is_enforced() {
    let (server, admin) = start(&["--ws-max-message-size", "1kb"]).await;
    let mut big = ws(admin, "/ws").await;
    let mut other = ws(admin, "/ws").await;
    let data = "y".repeat(2048);
    let _ = big
        .send(Message::text(
            json!({"op": "publish", "channel": "c", "data": data}).to_string(),
        ))
        .await;
    assert_eq!(closed(&mut big).await, Some(1009));
    send(&mut other, json!({"op": "subscribe", "channels": ["c"]})).await;
    assert_eq!(next(&mut other).await["count"], 1);
    assert_eq!(publish(&server, "c", b"small").await, b":1\r\n");
    assert_eq!(next(&mut other).await["data"], "small");
}

#[tokio::test]
async fn max_subscriptions_applies_to_browsers() {
    let (server, admin) = start(&["--max-subscriptions-per-client", "2"]).await;
    let mut a = ws(admin, "/ws").await;
    send(
        &mut a,
        json!({"op": "subscribe", "channels": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(
        next(&mut a).await["error"],
        "ERR max-subscriptions-per-client reached"
    );
    assert_eq!(
        publish(&server, "a", b"m").await,
        b":0\r\n",
        "refused whole"
    );
    send(&mut a, json!({"op": "subscribe", "channels": ["a", "b"]})).await;
    assert_eq!(next(&mut a).await["count"], 1);
    assert_eq!(next(&mut a).await["count"], 2);
    let (status, body) = http(admin, "/sse?channel=a&channel=b&channel=c", &[]).await;
    assert_eq!(
        (status, body.trim()),
        (400, "ERR max-subscriptions-per-client reached")
    );
}

#[tokio::test]
async fn silent_websocket_is_closed_after_two_ping_intervals() {
    let (_server, admin) = start(&["--http-ping-interval", "1"]).await;
    let mut quiet = ws(admin, "/ws").await;
    let mut lively = ws(admin, "/ws").await;
    // `quiet` does not read (so never answers pings) for 3.5 s; `lively` reads.
    let live = tokio::spawn(async move {
        silent(&mut lively, 3500).await;
        send(&mut lively, json!({"op": "ping"})).await;
        next(&mut lively).await
    });
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(closed(&mut quiet).await, Some(1008));
    assert_eq!(live.await.unwrap(), json!({"type": "pong"}));
}

#[tokio::test]
async fn demo_page_is_opt_in() {
    let (_server, admin) = start(&[]).await;
    assert_eq!(http(admin, "/", &[]).await.0, 404);
    let (_server, admin) = start(&["--http-demo", "yes"]).await;
    let (status, body) = http(admin, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains("new WebSocket(url)"), "{body}");
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is on the machine (tests/tls.rs uses it too)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `jwt-key-file` with an EC public key (ES256), and with a JWKS document (RS256,
/// the key picked by `kid`): tokens signed by the private halves are accepted, one
/// signed by another key of the same kind is not.
#[tokio::test]
async fn key_files_pem_and_jwks() {
    let dir = std::env::temp_dir().join(format!("respub-web-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, alg) in [("ec", "EC"), ("ec-other", "EC"), ("rsa", "RSA")] {
        let mut args = vec!["genpkey", "-algorithm", alg, "-out"];
        let key = format!("{name}.key");
        args.push(&key);
        if alg == "EC" {
            args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
        } else {
            args.extend(["-pkeyopt", "rsa_keygen_bits:2048"]);
        }
        openssl(&dir, &args);
        openssl(
            &dir,
            &[
                "pkey",
                "-in",
                &key,
                "-pubout",
                "-out",
                &format!("{name}.pub"),
            ],
        );
    }
    let claims = json!({"sub": "kf", "exp": now() + 300, "subscribe": ["k"]});
    let sign = |alg, kid: Option<&str>, key: jsonwebtoken::EncodingKey| {
        let mut h = jsonwebtoken::Header::new(alg);
        h.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    };
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();

    // PEM (EC public key): ES256.
    let pem = dir.join("ec.pub").display().to_string();
    let (_server, admin) = start(&["--jwt-key-file", &pem]).await;
    let good = sign(
        jsonwebtoken::Algorithm::ES256,
        None,
        jsonwebtoken::EncodingKey::from_ec_pem(&read("ec.key")).unwrap(),
    );
    let other = sign(
        jsonwebtoken::Algorithm::ES256,
        None,
        jsonwebtoken::EncodingKey::from_ec_pem(&read("ec-other.key")).unwrap(),
    );
    let mut c = ws(admin, &format!("/ws?token={good}")).await;
    send(&mut c, json!({"op": "subscribe", "channels": ["k"]})).await;
    assert_eq!(next(&mut c).await["count"], 1);
    let err = ws_try(admin, &format!("/ws?token={other}"), &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");

    // JWKS with an RSA key: its modulus and exponent from openssl's text dump.
    let out = std::process::Command::new("openssl")
        .args(["rsa", "-pubin", "-in", "rsa.pub", "-noout", "-modulus"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let modulus_hex = String::from_utf8(out.stdout).unwrap();
    let modulus_hex = modulus_hex.trim().trim_start_matches("Modulus=");
    let modulus: Vec<u8> = (0..modulus_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&modulus_hex[i..i + 2], 16).unwrap())
        .collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
        "n": b64.encode(&modulus), "e": b64.encode([1u8, 0, 1])}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
    let jwks_path = dir.join("jwks.json").display().to_string();
    let (_server2, admin2) = start(&["--jwt-key-file", &jwks_path]).await;
    let rsa = || jsonwebtoken::EncodingKey::from_rsa_pem(&read("rsa.key")).unwrap();
    let good = sign(jsonwebtoken::Algorithm::RS256, Some("k1"), rsa());
    let unknown_kid = sign(jsonwebtoken::Algorithm::RS256, Some("k2"), rsa());
    let mut s = sse(admin2, &format!("/sse?channel=k&token={good}"), &[]).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.next().await["count"], 1);
    let (status, body) = http(admin2, &format!("/sse?channel=k&token={unknown_kid}"), &[]).await;
    assert_eq!((status, body.trim()), (401, "WRONGPASS token invalid"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `reply-pause-bytes` holds for a browser too: one that sends requests and never reads
/// the replies stops being read once its unsent replies pass the limit, so its output
/// stays bounded, and the server keeps serving others.
#[tokio::test]
async fn a_websocket_that_never_reads_is_paused_at_reply_pause_bytes() {
    let (server, admin) = start(&["--reply-pause-bytes", "1mb"]).await;
    let mut flood = ws(admin, "/ws").await;
    let data = "z".repeat(64 * 1024);
    let sender = tokio::spawn(async move {
        // 1,000 pings of 64 KiB: ~64 MiB of pongs, none of them read (more than the
        // loopback socket buffers hold, so the server's output has to queue).
        for _ in 0..1000 {
            let ping = json!({"op": "ping", "data": data}).to_string();
            if flood.send(Message::text(ping)).await.is_err() {
                break;
            }
        }
        flood
    });
    let omem = || async {
        let list = String::from_utf8(resp(&server, &["CLIENT", "LIST"]).await).unwrap();
        list.split_whitespace()
            .filter_map(|f| f.strip_prefix("omem="))
            .filter_map(|v| v.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    };
    let mut peak = 0;
    for _ in 0..50 {
        peak = peak.max(omem().await);
        if peak > 512 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        peak > 512 * 1024,
        "the flood never queued output: peak omem={peak}"
    );
    // Still bounded a while later: the server stopped reading the flood.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = omem().await;
    let bound = 1024 * 1024 + 2 * 66 * 1024;
    assert!(
        peak <= bound && later <= bound,
        "unsent replies stop near reply-pause-bytes: {peak}, {later}"
    );
    assert!(!sender.is_finished(), "the flood was read to the end");
    sender.abort();
    let mut other = ws(admin, "/ws").await;
    send(&mut other, json!({"op": "ping"})).await;
    assert_eq!(next(&mut other).await, json!({"type": "pong"}));
}

/// A token that runs out while connected: the WebSocket gets an error frame and close
/// 1008, the SSE stream an error event and its end; nothing after.
#[tokio::test]
async fn connections_end_when_their_token_expires() {
    let (server, admin) = start(&["--jwt-secret", SECRET]).await;
    let t = token(
        SECRET,
        &json!({"sub": "short", "exp": now() + 3, "subscribe": ["e"]}),
    );
    let mut w = ws(admin, &format!("/ws?token={t}")).await;
    send(&mut w, json!({"op": "subscribe", "channels": ["e"]})).await;
    assert_eq!(next(&mut w).await["count"], 1);
    let mut s = sse(admin, &format!("/sse?channel=e&token={t}"), &[]).await;
    assert_eq!(s.next().await["count"], 1);
    assert_eq!(publish(&server, "e", b"before").await, b":2\r\n");
    assert_eq!(next(&mut w).await["data"], "before");
    assert_eq!(s.next().await["data"], "before");
    assert_eq!(next(&mut w).await["error"], "WRONGPASS token expired");
    assert_eq!(closed(&mut w).await, Some(1008));
    assert_eq!(s.next().await["error"], "WRONGPASS token expired");
    assert_eq!(s.body().await, "", "the SSE stream ends after the error");
    let mut gone = false;
    for _ in 0..40 {
        if resp(&server, &["PUBSUB", "NUMSUB", "e"]).await == b"*2\r\n$1\r\ne\r\n:0\r\n" {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "expired clients are unsubscribed");
}

/// A validly signed token with an absurd `exp` is simply a long-lived token.
#[tokio::test]
async fn a_far_future_exp_is_accepted() {
    let (server, admin) = start(&["--jwt-secret", SECRET]).await;
    let t = token(
        SECRET,
        &json!({"sub": "forever", "exp": u64::MAX / 2, "subscribe": ["f"]}),
    );
    let mut w = ws(admin, &format!("/ws?token={t}")).await;
    send(&mut w, json!({"op": "subscribe", "channels": ["f"]})).await;
    assert_eq!(next(&mut w).await["count"], 1);
    assert_eq!(publish(&server, "f", b"m").await, b":1\r\n");
    assert_eq!(next(&mut w).await["data"], "m");
}
