//! Probes. `/healthz` (liveness) answers 200 while the process serves HTTP at all: a
//! restart would not help anything it could detect. `/readyz` (readiness) answers 200
//! while the RESP listeners accept and shutdown has not begun, and 503 from the moment
//! it begins (`Shared::draining`), so Kubernetes takes the pod out of its Service while
//! connected clients drain.

use crate::server::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

pub async fn readyz(State(shared): State<Arc<Shared>>) -> (StatusCode, &'static str) {
    if shared.draining.load(Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else if !shared.listening.load(Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "not listening\n")
    } else if !shared.backplane.ready() {
        // `backplane-ready-required yes` and NATS is not connected (issue 10).
        (StatusCode::SERVICE_UNAVAILABLE, "backplane disconnected\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}
