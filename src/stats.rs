//! Server-wide counters reported by INFO. Relaxed atomics: they are statistics, not
//! synchronisation.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands: AtomicU64,
    pub ops_per_sec: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    /// Clients closed for crossing `client-output-buffer-limit` (slow consumers).
    pub output_limit_disconnections: AtomicU64,
    /// Clients closed for crossing `client-query-buffer-limit`.
    pub query_limit_disconnections: AtomicU64,
    /// Clients closed for a malformed request (logged at debug only, rate-limited).
    pub protocol_errors: AtomicU64,
    /// Unauthenticated clients closed for leaving more than 1 KiB of replies unread.
    pub unauthenticated_output_disconnections: AtomicU64,
    /// Clients with at least one subscription (a gauge, not reset by RESETSTAT).
    pub pubsub_clients: AtomicI64,
}

impl Stats {
    /// CONFIG RESETSTAT: counters back to zero (gauges stay).
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands,
            &self.ops_per_sec,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
            &self.output_limit_disconnections,
            &self.query_limit_disconnections,
            &self.protocol_errors,
            &self.unauthenticated_output_disconnections,
        ] {
            c.store(0, Relaxed);
        }
    }
}
