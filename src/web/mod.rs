//! Browsers subscribe directly (issue 12): `GET /ws` (WebSocket, a JSON protocol),
//! `GET /sse?channel=a&pattern=p*` (Server-Sent Events) and an opt-in demo page at `/`,
//! all on the admin HTTP port. A browser client is one more subscriber of the same
//! registry with a byte-bounded outbox (in the JSON wire format, `conn::wire`), so
//! PUBSUB NUMSUB, INFO, CLIENT LIST/KILL, output limits and ACL rules apply to it as to
//! a RESP client.
//!
//! This module owns admission (Origin, protected mode, `http-max-clients`,
//! `maxclients`), credentials and the HTTP side; `session` owns the client's
//! subscriptions, `ws` and `sse` the two transports.

pub mod auth;
pub mod session;
pub mod sse;
pub mod ws;

use crate::server::Shared;
use auth::{Jwt, Principal, TokenError};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

/// Browser state in `Shared`.
#[derive(Debug, Default)]
pub struct WebState {
    /// Token keys (`jwt-secret`, `jwt-key-file`), read once at start.
    pub jwt: Option<Jwt>,
    /// WebSocket + SSE clients now (`http-max-clients`).
    pub clients: AtomicUsize,
    /// The admin port's address (CLIENT LIST `laddr=` of browser clients).
    pub local_addr: OnceLock<SocketAddr>,
    /// Cancelled when shutdown starts: browser connections say goodbye and end.
    pub stop: CancellationToken,
}

/// A place under `http-max-clients`, given back on drop.
#[derive(Debug)]
pub struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.web.clients.fetch_sub(1, Relaxed);
    }
}

fn refuse(status: StatusCode, text: &str) -> Response {
    (status, format!("{text}\n")).into_response()
}

/// Why a request was not admitted: its HTTP status and text.
#[derive(Debug)]
pub struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

/// The checks before anything is set up: Origin, protected mode, draining, the client
/// caps. Returns the slot the connection holds.
fn admit(shared: &Arc<Shared>, headers: &HeaderMap, peer: SocketAddr) -> Result<Slot, Refusal> {
    let cfg = shared.config();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !auth::origin_allowed(&cfg.web.allowed_origins, origin, host) {
        return Err(Refusal(StatusCode::FORBIDDEN, crate::error::WEB_ORIGIN));
    }
    if shared.protected_refuses(&crate::transport::Peer::Tcp(peer)) {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        return Err(Refusal(StatusCode::FORBIDDEN, crate::error::WEB_PROTECTED));
    }
    if shared.draining.load(Relaxed) {
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::WEB_SHUTTING_DOWN,
        ));
    }
    if shared.clients.len() as u64 >= shared.maxclients.load(Relaxed) {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::WEB_MAXCLIENTS,
        ));
    }
    let now = shared.web.clients.fetch_add(1, Relaxed) as u64;
    let slot = Slot(shared.clone());
    if now >= cfg.web.max_clients {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::WEB_TOO_MANY_CLIENTS,
        ));
    }
    Ok(slot)
}

/// Credentials a request carries before any message.
#[derive(Debug)]
pub enum Credentials {
    Token(String),
    Password(Vec<u8>, Vec<u8>),
}

/// `?token=`, `Authorization: Bearer <token>` or `Authorization: Basic <user:pass>`.
fn credentials(headers: &HeaderMap, query: &[(String, String)]) -> Option<Credentials> {
    if let Some((_, t)) = query.iter().find(|(k, _)| k == "token") {
        return Some(Credentials::Token(t.clone()));
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Credentials::Token(rest.trim().to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let colon = raw.iter().position(|&b| b == b':')?;
        return Some(Credentials::Password(
            raw[..colon].to_vec(),
            raw[colon + 1..].to_vec(),
        ));
    }
    None
}

/// Checks credentials: a principal, or the text of the refusal. Failures count in INFO
/// `acl_access_denied_auth` like a failed AUTH.
pub fn authenticate(shared: &Shared, creds: Credentials) -> Result<Principal, &'static str> {
    let r = match creds {
        Credentials::Token(t) => match &shared.web.jwt {
            Some(jwt) => jwt
                .verify(&t)
                .map(Principal::Token)
                .map_err(TokenError::text),
            None => Err(TokenError::NotConfigured.text()),
        },
        Credentials::Password(user, pass) => shared
            .acl
            .user(&user)
            .filter(|u| u.enabled && u.password_ok(&pass))
            .map(Principal::User)
            .ok_or(crate::error::WEB_WRONGPASS),
    };
    if r.is_err() {
        shared.acl.denied.auth.fetch_add(1, Relaxed);
    }
    r
}

/// Who the request is before any message: its credentials, or the `default` user when
/// it needs no password (as a RESP client is let in), or nobody yet.
fn initial_principal(
    shared: &Shared,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Option<Principal>, &'static str> {
    match credentials(headers, query) {
        Some(c) => authenticate(shared, c).map(Some),
        None if !shared.acl.default_needs_auth() => {
            Ok(Some(Principal::User(shared.acl.default_user())))
        }
        None => Ok(None),
    }
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// Seconds since the epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a principal's token runs out, as a tokio instant (a year away for none, or for
/// a later `exp`: a signed but absurd `exp` must not overflow the clock).
fn deadline(p: Option<&Principal>) -> tokio::time::Instant {
    const YEAR: u64 = 86400 * 365;
    let left = p
        .and_then(Principal::expires)
        .map_or(YEAR, |exp| exp.saturating_sub(unix_now()).min(YEAR));
    tokio::time::Instant::now() + std::time::Duration::from_secs(left)
}

/// The demo page (`http-demo yes`), else 404.
pub async fn demo(axum::extract::State(shared): axum::extract::State<Arc<Shared>>) -> Response {
    if !shared.config().web.demo {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(include_str!("demo.html")).into_response()
}
