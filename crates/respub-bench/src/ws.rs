//! WebSocket subscribers (issue 12): the browser side of a fan-out, for
//! `ws-fanout-1000` / `ws-fanout-10000`. Each connection opens `/ws` on the admin
//! port, subscribes with the JSON protocol, and verifies every message like the RESP
//! subscribers do (`load::on_payload`: payload header, per-publisher order, latency),
//! after undoing the JSON encoding (base64 when the payload is not UTF-8).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use crate::conn::SETUP_TIMEOUT;
use crate::load::{self, Shared, SubStats};
use crate::payload;

pub(crate) type WsConn = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `n` WebSocket connections to `admin` and subscribes each to `channel`, waiting
/// for every confirmation.
pub(crate) async fn open(
    admin: SocketAddr,
    n: usize,
    channel: &str,
    concurrency: usize,
) -> io::Result<Vec<WsConn>> {
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut set = JoinSet::new();
    let sub = serde_json::json!({"op": "subscribe", "channels": [channel]}).to_string();
    for _ in 0..n {
        let limit = limit.clone();
        let sub = sub.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore never closed");
            tokio::time::timeout(SETUP_TIMEOUT, async {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{admin}/ws"))
                    .await
                    .map_err(io::Error::other)?;
                ws.send(Message::text(sub))
                    .await
                    .map_err(io::Error::other)?;
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.as_str().contains("\"subscribe\"") => break,
                        Some(Ok(Message::Text(t))) => {
                            return Err(io::Error::other(format!(
                                "subscribe refused: {}",
                                t.as_str()
                            )))
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(io::Error::other(e)),
                        None => return Err(io::Error::other("closed during subscribe")),
                    }
                }
                Ok::<_, io::Error>(ws)
            })
            .await
            .map_err(|_| io::Error::other("websocket setup timed out"))?
        });
    }
    let mut conns = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        conns.push(r.map_err(io::Error::other)??);
    }
    Ok(conns)
}

/// Reads and verifies messages until `stop` is cancelled or the server disconnects.
pub(crate) async fn subscriber(
    mut ws: WsConn,
    shared: Arc<Shared>,
    stop: CancellationToken,
    payload_size: usize,
) -> SubStats {
    let mut stats = SubStats::default();
    let mut last_seq: Vec<u64> = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    loop {
        let msg = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            m = ws.next() => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => {
                stats.disconnected = true;
                break;
            }
        };
        let now = payload::now_ns();
        let before = stats.received;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            stats.corrupt += 1;
            continue;
        };
        let data = v.get("data").and_then(|d| d.as_str());
        let payload = match (data, v.get("encoding").and_then(|e| e.as_str())) {
            (Some(d), Some("base64")) => b64.decode(d).ok(),
            (Some(d), None) => Some(d.as_bytes().to_vec()),
            _ => None,
        };
        match payload {
            Some(p) => load::on_payload(&p, now, payload_size, &shared, &mut last_seq, &mut stats),
            None => stats.corrupt += 1,
        }
        shared.record_delivered(stats.received - before);
    }
    stats
}
