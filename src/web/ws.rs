//! `GET /ws`: the WebSocket transport of the browser protocol.
//!
//! Two tasks per connection. The reader (the upgrade's task) parses requests and runs
//! them on the `BrowserConn`, whose replies and deliveries all go through the outbox.
//! The writer cuts the outbox's JSON lines into text frames, sends pings, and closes
//! the socket when the outbox is closed (slow consumer: 1008; CLIENT KILL: 1000;
//! shutdown: 1001) or the reader asks. A writer blocked on a client that does not read
//! still notices its outbox closing, so a slow consumer is dropped at the limit, never
//! waited for.

use super::auth::Principal;
use super::session::{error_line, put_id, BrowserConn, Transport};
use crate::conn::outbox::{CloseReason, Event, Outbox};
use crate::conn::wire::put_str;
use crate::server::Shared;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

pub async fn handler(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    let slot = match super::admit(&shared, &headers, peer) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let query = super::query_pairs(query.as_deref());
    let principal = match super::initial_principal(&shared, &headers, &query) {
        Ok(p) => p,
        Err(text) => return super::refuse(StatusCode::UNAUTHORIZED, text),
    };
    let web = shared.config().web;
    let max = usize::try_from(web.max_message_size).unwrap_or(usize::MAX);
    upgrade
        // tungstenite's defaults (128 KiB read chunk, 128 KiB write batch) would cost
        // ~256 KiB per idle browser; the outbox already batches what is written.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let mut conn = BrowserConn::open(shared, slot, peer, Transport::WebSocket);
            if let Some(p) = principal {
                conn.login(p);
            }
            run(conn, socket, web.ping_interval).await;
        })
        .into_response()
}

/// Bytes read from the socket at a time (a browser's requests are small).
const READ_BUFFER: usize = 4 * 1024;
/// Frames are batched up to this before a write (and always flushed per outbox take).
const WRITE_BUFFER: usize = 16 * 1024;

/// What the reader asks the writer to do.
#[derive(Debug)]
enum Control {
    /// Send what is queued, then a close frame, then stop.
    Close(u16, &'static str),
}

async fn run(mut conn: BrowserConn, socket: WebSocket, ping_secs: u64) {
    let (tx, mut rx) = socket.split();
    let outbox = conn.client.outbox.clone();
    let started = Instant::now();
    let last_heard = Arc::new(AtomicU64::new(0));
    let (ctl_tx, ctl_rx) = mpsc::channel(1);
    let mut writer = tokio::spawn(write_loop(
        tx,
        outbox.clone(),
        ctl_rx,
        ping_secs,
        last_heard.clone(),
        started,
        conn.shared.web.stop.clone(),
    ));
    let id = conn.client.id;
    loop {
        // A client that sends requests without reading the replies stops being read
        // once its unsent output passes `reply-pause-bytes`, as a RESP client does.
        if outbox.queued() > conn.shared.reply_pause_bytes.load(Relaxed) {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => continue,
                _ = &mut writer => {
                    drop(conn);
                    return;
                }
            }
        }
        let expires = super::deadline(conn.principal.as_ref());
        tokio::select! {
            msg = rx.next() => {
                last_heard.store(started.elapsed().as_millis() as u64, Relaxed);
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        conn.client.touch();
                        handle(&mut conn, text.as_bytes());
                    }
                    Some(Ok(Message::Binary(_))) => conn.reply(error_line(
                        "ERR binary frames are not accepted: send JSON text",
                        None,
                        None,
                    )),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        // Over ws-max-message-size, bad framing, or a reset.
                        debug!(client = id, error = %e, "websocket read failed");
                        let _ = ctl_tx.try_send(Control::Close(close_code::SIZE, "message too big or malformed"));
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(expires) => {
                conn.reply(error_line(crate::error::TOKEN_EXPIRED, None, None));
                let _ = ctl_tx.try_send(Control::Close(close_code::POLICY, "token expired"));
                break;
            }
            _ = &mut writer => {
                linger(&mut rx).await;
                drop(conn);
                return;
            }
        }
    }
    // The writer sends what is queued and a close frame (or sees the outbox close).
    // Refused when a close request (expiry, bad frame) is already queued: that one wins.
    let _ = ctl_tx.try_send(Control::Close(close_code::NORMAL, ""));
    if tokio::time::timeout(Duration::from_secs(2), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    drop(conn);
}

/// After the writer ended (its close frame sent, or the client dropped as a slow
/// consumer): keep reading, and discarding, until the client's close or EOF, at most
/// one second. Closing the socket with the client's pongs unread would reset the
/// connection, and a reset can destroy the close frame before the client reads it.
async fn linger(rx: &mut futures_util::stream::SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(m)) = rx.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// One request from the browser; replies (and errors) are queued on the outbox.
fn handle(conn: &mut BrowserConn, text: &[u8]) {
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(text) else {
        return conn.reply(error_line(crate::error::WEB_BAD_REQUEST, None, None));
    };
    let id = req.get("id");
    let Some(op) = req.get("op").and_then(|o| o.as_str()) else {
        return conn.reply(error_line(crate::error::WEB_BAD_REQUEST, None, id));
    };
    let names = |key: &str| -> Option<Option<Vec<Bytes>>> {
        match req.get(key) {
            None => Some(None),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(|s| Bytes::copy_from_slice(s.as_bytes())))
                .collect::<Option<Vec<_>>>()
                .map(Some),
            Some(serde_json::Value::String(s)) => {
                Some(Some(vec![Bytes::copy_from_slice(s.as_bytes())]))
            }
            Some(_) => None,
        }
    };
    let result = match op {
        "ping" => {
            let mut out = BytesMut::from(&b"{\"type\":\"pong\""[..]);
            if let Some(d) = req.get("data").and_then(|d| d.as_str()) {
                out.extend_from_slice(b",\"data\":");
                put_str(&mut out, d.as_bytes());
            }
            put_id(&mut out, id);
            out.extend_from_slice(b"}\n");
            conn.reply(out);
            Ok(())
        }
        "auth" => auth(conn, &req, id),
        "subscribe" | "psubscribe" => {
            let pattern = op == "psubscribe";
            match names(if pattern { "patterns" } else { "channels" }) {
                Some(Some(list)) if !list.is_empty() => conn.subscribe(&list, pattern, id),
                _ => Err(crate::error::WEB_BAD_REQUEST),
            }
        }
        "unsubscribe" | "punsubscribe" => {
            let pattern = op == "punsubscribe";
            match names(if pattern { "patterns" } else { "channels" }) {
                Some(list) => {
                    conn.unsubscribe(list.as_deref(), pattern, id);
                    Ok(())
                }
                None => Err(crate::error::WEB_BAD_REQUEST),
            }
        }
        "publish" => {
            let channel = req.get("channel").and_then(|c| c.as_str());
            let data = req.get("data").and_then(|d| d.as_str());
            let base64 = req.get("encoding").and_then(|e| e.as_str()) == Some("base64");
            match (channel, data) {
                (Some(c), Some(d)) => {
                    let payload = if base64 {
                        base64::engine::general_purpose::STANDARD
                            .decode(d)
                            .map(Bytes::from)
                            .map_err(|_| "ERR data is not valid base64")
                    } else {
                        Ok(Bytes::copy_from_slice(d.as_bytes()))
                    };
                    payload
                        .and_then(|p| conn.publish(&Bytes::copy_from_slice(c.as_bytes()), &p, id))
                }
                _ => Err(crate::error::WEB_BAD_REQUEST),
            }
        }
        _ => Err(crate::error::WEB_BAD_REQUEST),
    };
    if let Err(text) = result {
        conn.reply(error_line(text, Some(op), id));
    }
}

/// `{"op":"auth","token":..}` or `{"op":"auth","user":..,"password":..}`. A client may
/// authenticate again (a fresh token before the old one expires), as long as what it
/// holds stays allowed.
fn auth(
    conn: &mut BrowserConn,
    req: &serde_json::Value,
    id: Option<&serde_json::Value>,
) -> Result<(), &'static str> {
    let creds = match (
        req.get("token").and_then(|t| t.as_str()),
        req.get("user").and_then(|u| u.as_str()),
        req.get("password").and_then(|p| p.as_str()),
    ) {
        (Some(t), _, _) => super::Credentials::Token(t.to_string()),
        (None, user, Some(p)) => super::Credentials::Password(
            user.unwrap_or("default").as_bytes().to_vec(),
            p.as_bytes().to_vec(),
        ),
        _ => return Err(crate::error::WEB_BAD_REQUEST),
    };
    let principal: Principal = super::authenticate(&conn.shared, creds)?;
    if !conn.holds_only_allowed(&principal) {
        return Err(crate::error::WEB_NOPERM_CHANNEL);
    }
    let mut out = BytesMut::from(&b"{\"type\":\"auth\",\"user\":"[..]);
    put_str(&mut out, &principal.name());
    put_id(&mut out, id);
    out.extend_from_slice(b"}\n");
    conn.login(principal);
    conn.reply(out);
    Ok(())
}

type Tx = SplitSink<WebSocket, Message>;

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn write_loop(
    mut tx: Tx,
    outbox: Arc<Outbox>,
    mut ctl: mpsc::Receiver<Control>,
    ping_secs: u64,
    last_heard: Arc<AtomicU64>,
    started: Instant,
    stop: tokio_util::sync::CancellationToken,
) {
    let ping_every = Duration::from_secs(ping_secs.max(1));
    let mut tick = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut lines = Lines::default();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        tokio::select! {
            ev = outbox.wait(true) => match ev {
                Event::Data => {
                    let sent = tokio::select! {
                        r = send_queued(&mut tx, &outbox, &mut lines) => r,
                        ev = outbox.wait(false) => match ev {
                            // Closed while the client was not reading: drop it now.
                            Event::Closed(_) => return,
                            Event::Data => Ok(()),
                        },
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                Event::Closed(reason) => {
                    let frame = match reason {
                        CloseReason::OutputLimit => close(close_code::POLICY, "slow consumer: output buffer limit reached"),
                        CloseReason::Killed => close(close_code::NORMAL, "killed"),
                        CloseReason::Shutdown => close(close_code::AWAY, "going away"),
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(frame)).await;
                    return;
                }
            },
            c = ctl.recv() => {
                let (code, reason) = match c {
                    Some(Control::Close(code, reason)) => (code, reason),
                    None => (close_code::NORMAL, ""),
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    send_queued(&mut tx, &outbox, &mut lines).await?;
                    tx.send(close(code, reason)).await
                }).await;
                return;
            }
            _ = tick.tick(), if ping_secs > 0 => {
                let heard = last_heard.load(Relaxed);
                let silent = started.elapsed().as_millis() as u64 - heard.min(started.elapsed().as_millis() as u64);
                if silent > 2 * ping_secs * 1000 {
                    debug!(client = outbox.id(), reason = "ping_timeout", "closing silent websocket");
                    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(close(close_code::POLICY, "ping timeout"))).await;
                    outbox.close(CloseReason::Killed);
                    return;
                }
                if tx.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
            }
            _ = stop.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(close(close_code::AWAY, "going away"))).await;
                return;
            }
        }
    }
}

/// Sends every complete JSON line queued as one text frame each.
async fn send_queued(tx: &mut Tx, outbox: &Outbox, lines: &mut Lines) -> Result<(), axum::Error> {
    let mut taken = VecDeque::new();
    outbox.take_into(&mut taken);
    let mut bytes = 0u64;
    for seg in taken {
        bytes += seg.len() as u64;
        for line in lines.split(&seg) {
            let text = Utf8Bytes::try_from(line).unwrap_or_else(|_| {
                // Outbox lines are built from UTF-8 only (`conn::wire`).
                Utf8Bytes::from_static("{\"type\":\"error\",\"error\":\"ERR internal encoding\"}")
            });
            tx.feed(Message::Text(text)).await?;
        }
    }
    tx.flush().await?;
    outbox.consumed(bytes);
    Ok(())
}

/// Cuts a stream of segments at `\n` without copying, except for a line that spans
/// segments (a shared large body and its newline).
#[derive(Debug, Default)]
pub struct Lines {
    partial: BytesMut,
}

impl Lines {
    pub fn split(&mut self, seg: &Bytes) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', seg) {
            if self.partial.is_empty() {
                out.push(seg.slice(start..nl));
            } else {
                self.partial.extend_from_slice(&seg[start..nl]);
                out.push(self.partial.split().freeze());
            }
            start = nl + 1;
        }
        if start < seg.len() {
            self.partial.extend_from_slice(&seg[start..]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;
    use bytes::Bytes;

    #[test]
    fn lines_split_at_newlines_across_segments() {
        let mut l = Lines::default();
        assert_eq!(
            l.split(&Bytes::from_static(b"{a}\n{b")),
            vec![Bytes::from_static(b"{a}")]
        );
        assert_eq!(l.split(&Bytes::from_static(b"cd")), Vec::<Bytes>::new());
        assert_eq!(
            l.split(&Bytes::from_static(b"}\n{e}\n")),
            vec![Bytes::from_static(b"{bcd}"), Bytes::from_static(b"{e}")]
        );
    }
}
