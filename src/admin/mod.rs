//! The admin HTTP port (`admin-port`, off by default; suggested 9736): Prometheus
//! `/metrics`, `/healthz` (liveness) and `/readyz` (readiness). It reads `Shared`
//! (statistics, the client table, the registry) and changes nothing.
//!
//! axum (on hyper) serves it because issue 12 adds WebSocket and SSE routes to this same
//! port, and axum carries both (`ws` feature, `Sse` responses) on the router built here.
//!
//! Lifetime: bound in `Server::bind` (a bad address fails the start, like the RESP
//! port), served from `Server::run` beside the RESP listeners, and stopped only after
//! the connections have drained, so /readyz answers 503 for the whole drain instead of
//! refusing connections.

pub mod health;
pub mod metrics;

use crate::server::Shared;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::error;

/// The routes: monitoring, and the browser endpoints of `crate::web`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::handler))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // Browsers (issue 12): `crate::web`.
        .route("/ws", get(crate::web::ws::handler))
        .route("/sse", get(crate::web::sse::handler))
        .route("/", get(crate::web::demo))
        .with_state(shared)
}

/// Serves until `stop` is cancelled; requests in flight then finish.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let app = router(shared);
    // The peer address is needed by /ws and /sse (protected mode, CLIENT LIST).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        error!(error = %e, "admin HTTP server failed");
    }
}
