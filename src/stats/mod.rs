//! Server-wide counters reported by INFO and the admin port's /metrics. Relaxed
//! atomics: they are statistics, not synchronisation. Per-command counters and
//! histograms (`commands`), error codes (`errors`), SLOWLOG (`slowlog`) and the latency
//! monitor (`latency`) live in the submodules; this module knows nothing about commands
//! or sockets beyond the names it is given.

pub mod commands;
pub mod errors;
pub mod histogram;
pub mod latency;
pub mod slowlog;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Debug)]
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
    /// PUBLISH calls (messages published to channels).
    pub published: AtomicU64,
    /// SPUBLISH calls.
    pub spublished: AtomicU64,
    /// Sum of PUBLISH/SPUBLISH replies: deliveries attempted. /metrics reports
    /// delivered = this - `Registry::drops`.
    pub delivered: AtomicU64,
    /// AUTH / HELLO AUTH refused for a wrong password.
    pub auth_failures: AtomicU64,
    pub per_command: commands::CommandStats,
    pub errors: errors::ErrorStats,
    pub slowlog: slowlog::SlowLog,
    pub latency: latency::LatencyMonitor,
}

impl Stats {
    /// `command_names[i]` names per-command slot `i` (`cmd::table::slot`).
    pub fn new(command_names: Vec<&'static str>) -> Self {
        Stats {
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            ops_per_sec: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            output_limit_disconnections: AtomicU64::new(0),
            query_limit_disconnections: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            unauthenticated_output_disconnections: AtomicU64::new(0),
            pubsub_clients: AtomicI64::new(0),
            published: AtomicU64::new(0),
            spublished: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            auth_failures: AtomicU64::new(0),
            per_command: commands::CommandStats::new(command_names),
            errors: errors::ErrorStats::default(),
            slowlog: slowlog::SlowLog::default(),
            latency: latency::LatencyMonitor::default(),
        }
    }

    /// Refreshes the hot-path copies of the settings this module reads.
    pub fn apply_config(&self, c: &crate::config::Config) {
        self.slowlog
            .threshold_us
            .store(c.slowlog_log_slower_than, Relaxed);
        self.slowlog.set_max_len(c.slowlog_max_len);
        self.latency
            .threshold_ms
            .store(c.latency_monitor_threshold, Relaxed);
        self.per_command.tracking.store(c.latency_tracking, Relaxed);
    }

    /// Counts one call of command `slot` into the connection's `pending` instead of the
    /// shared counters (`commands::Pending`); `flush` adds it. A call of another
    /// command flushes first, so one `Pending` holds one command's calls.
    pub fn gather(
        &self,
        pending: &mut commands::Pending,
        slot: usize,
        took: std::time::Duration,
        failed: bool,
    ) {
        if pending.slot() != Some(slot) {
            self.flush(pending);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let tracking = self.per_command.tracking.load(Relaxed);
        if !pending.count(slot, nanos, failed, tracking) {
            self.flush(pending);
            pending.count(slot, nanos, failed, tracking);
        }
    }

    /// Adds a connection's gathered counts to the shared ones.
    pub fn flush(&self, pending: &mut commands::Pending) {
        if pending.is_empty() {
            return;
        }
        self.per_command.add(pending);
        for (counter, n) in [
            (&self.published, pending.published),
            (&self.spublished, pending.spublished),
            (&self.delivered, pending.delivered),
        ] {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        *pending = commands::Pending::default();
    }

    /// One error reply: the total and its code (INFO errorstats).
    pub fn record_error(&self, text: &[u8]) {
        self.error_replies.fetch_add(1, Relaxed);
        self.errors.record(text);
    }

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
            &self.published,
            &self.spublished,
            &self.delivered,
            &self.auth_failures,
        ] {
            c.store(0, Relaxed);
        }
        self.per_command.reset();
        self.errors.reset();
    }
}
