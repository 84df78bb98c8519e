//! `GET /sse?channel=a&channel=b&pattern=p*[&token=..]`: Server-Sent Events.
//!
//! EventSource cannot send anything after the request, so everything is in it: the
//! channels and patterns (subscribed before the response starts; a denied one is a
//! 403 and nothing is subscribed), and the credentials (`token` query parameter or an
//! `Authorization` header). Each outbox line (confirmations first, then messages) is
//! one event, `data: <json>\n\n`, with the same JSON as over WebSocket. A comment line
//! is sent every `http-ping-interval` so proxies keep the stream open and a gone client
//! is noticed. The stream ends when the outbox closes (slow consumer, CLIENT KILL,
//! shutdown) or the token expires (after an `error` event).

use super::session::{error_line, BrowserConn, Transport};
use crate::conn::outbox::Event;
use crate::server::Shared;
use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub async fn handler(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let slot = match super::admit(&shared, &headers, peer) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let query = super::query_pairs(query.as_deref());
    let principal = match super::initial_principal(&shared, &headers, &query) {
        Ok(Some(p)) => p,
        Ok(None) => return super::refuse(StatusCode::UNAUTHORIZED, crate::error::WEB_NOAUTH),
        Err(text) => return super::refuse(StatusCode::UNAUTHORIZED, text),
    };
    let pick = |key: &str| -> Vec<Bytes> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| Bytes::copy_from_slice(v.as_bytes()))
            .collect()
    };
    let (channels, patterns) = (pick("channel"), pick("pattern"));
    if channels.is_empty() && patterns.is_empty() {
        return super::refuse(
            StatusCode::BAD_REQUEST,
            "ERR give at least one channel= or pattern= parameter",
        );
    }
    let denied = channels.iter().any(|c| !principal.may_subscribe(c, false))
        || patterns.iter().any(|p| !principal.may_subscribe(p, true));
    if denied {
        shared
            .acl
            .denied
            .channel
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return super::refuse(StatusCode::FORBIDDEN, crate::error::WEB_NOPERM_CHANNEL);
    }
    let ping_secs = shared.config().web.ping_interval;
    let mut conn = BrowserConn::open(shared, slot, peer, Transport::Sse);
    conn.login(principal);
    for (list, pattern) in [(&channels, false), (&patterns, true)] {
        if list.is_empty() {
            continue;
        }
        if let Err(text) = conn.subscribe(list, pattern, None) {
            return super::refuse(StatusCode::BAD_REQUEST, text);
        }
    }
    let expires = super::deadline(conn.principal.as_ref());
    let ping_every = Duration::from_secs(ping_secs.max(1));
    let state = Stream {
        conn,
        expires,
        ping: (ping_secs > 0)
            .then(|| tokio::time::interval_at(Instant::now() + ping_every, ping_every)),
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let chunk = s.next().await?;
        Some((Ok::<Bytes, Infallible>(chunk), s))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The response body's state; dropping it (client gone) drops the `BrowserConn`.
struct Stream {
    conn: BrowserConn,
    expires: Instant,
    ping: Option<tokio::time::Interval>,
    done: bool,
}

impl Stream {
    /// The next chunk of the event stream, or `None` at its end.
    async fn next(&mut self) -> Option<Bytes> {
        let Stream {
            conn,
            expires,
            ping,
            done,
        } = self;
        if *done {
            return None;
        }
        let outbox = conn.client.outbox.clone();
        let ping = async {
            match ping {
                Some(p) => p.tick().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = outbox.wait(true) => match ev {
                Event::Data => {
                    let mut taken = VecDeque::new();
                    outbox.take_into(&mut taken);
                    let n: u64 = taken.iter().map(|b| b.len() as u64).sum();
                    let mut out = BytesMut::with_capacity(n as usize + 16);
                    let mut at_line_start = true;
                    for seg in &taken {
                        for piece in seg.split_inclusive(|&b| b == b'\n') {
                            if at_line_start {
                                out.extend_from_slice(b"data: ");
                            }
                            out.extend_from_slice(piece);
                            at_line_start = piece.ends_with(b"\n");
                            if at_line_start {
                                out.extend_from_slice(b"\n");
                            }
                        }
                    }
                    // Handed to hyper, which takes the next chunk only once this one
                    // is written: counted as consumed from here.
                    outbox.consumed(n);
                    Some(out.freeze())
                }
                Event::Closed(_) => None,
            },
            _ = ping => Some(Bytes::from_static(b": ping\n\n")),
            _ = tokio::time::sleep_until(*expires) => {
                *done = true;
                let mut out = BytesMut::from(&b"data: "[..]);
                out.extend_from_slice(&error_line(crate::error::TOKEN_EXPIRED, None, None));
                out.extend_from_slice(b"\n");
                Some(out.freeze())
            }
            _ = conn.shared.web.stop.cancelled() => None,
        }
    }
}
