//! `/metrics` in the Prometheus text exposition format (version 0.0.4).
//!
//! Encoded by hand from the counters respub already keeps (`crate::stats`, the registry's
//! drop counters, the client table) rather than through a Prometheus client crate: the
//! hot path already records into Relaxed atomics and fixed per-command arrays for INFO,
//! and a crate's registry (prometheus, prometheus-client, metrics) would either double
//! every increment or need a collector adapter that reads these same atomics anyway. So
//! PUBLISH pays nothing for /metrics; a scrape reads the atomics and walks the client
//! table once (plus the channel table when `metrics-top-channels` is set).
//!
//! Names follow Prometheus conventions: `_total` counters, base units (seconds, bytes),
//! `respub_` prefix, `process_*` as the official clients name them.

use crate::cmd::info::{cpu_seconds, rss_bytes};
use crate::registry::Namespace;
use crate::server::Shared;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Prometheus histogram bounds, in nanoseconds: powers of two from ~1 µs to ~1.07 s,
/// every other power (exact boundaries of `stats::histogram`'s buckets).
const BOUNDS_NS: [u64; 11] = [
    1 << 10,
    1 << 12,
    1 << 14,
    1 << 16,
    1 << 18,
    1 << 20,
    1 << 22,
    1 << 24,
    1 << 26,
    1 << 28,
    1 << 30,
];

pub async fn handler(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&shared),
    )
}

/// A label value: UTF-8 (lossy for other bytes), with `\`, `"` and newline escaped.
fn label(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.head(name, kind, help);
        let _ = writeln!(self.0, "{name} {value}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

pub fn render(shared: &Shared) -> String {
    let stats = &shared.stats;
    let reg = &shared.registry;
    let mut o = Out(String::with_capacity(16 * 1024));

    // Clients, by protocol and transport: [resp2, resp3] x [tcp, unix], then browser
    // clients (issue 12), protocol "json" x [websocket, sse].
    let mut counts = [[0u64; 2]; 2];
    let mut web = [0u64; 2];
    let mut output_bytes = 0u64;
    shared.clients.for_each(|c| {
        match c.web.load(Relaxed) {
            0 => {
                let proto = usize::from(c.resp.load(Relaxed) == 3);
                let transport = usize::from(matches!(c.addr, crate::transport::Peer::Unix(_)));
                counts[proto][transport] += 1;
            }
            w => web[usize::from(w == 2)] += 1,
        }
        output_bytes += c.outbox.queued();
    });
    o.head(
        "respub_connected_clients",
        "gauge",
        "Connected clients by protocol version and transport.",
    );
    for (p, proto) in ["resp2", "resp3"].iter().enumerate() {
        for (t, transport) in ["tcp", "unix"].iter().enumerate() {
            o.sample(
                "respub_connected_clients",
                &format!("protocol=\"{proto}\",transport=\"{transport}\""),
                counts[p][t],
            );
        }
    }
    for (t, transport) in ["websocket", "sse"].iter().enumerate() {
        o.sample(
            "respub_connected_clients",
            &format!("protocol=\"json\",transport=\"{transport}\""),
            web[t],
        );
    }
    o.one(
        "respub_pubsub_clients",
        "gauge",
        "Clients with at least one subscription.",
        stats.pubsub_clients.load(Relaxed),
    );
    o.one(
        "respub_pubsub_channels",
        "gauge",
        "Channels with at least one subscriber.",
        reg.channel_count(Namespace::Channel),
    );
    o.one(
        "respub_pubsub_patterns",
        "gauge",
        "Distinct patterns with at least one subscriber.",
        reg.pattern_count(),
    );
    o.one(
        "respub_pubsub_shard_channels",
        "gauge",
        "Shard channels with at least one subscriber.",
        reg.channel_count(Namespace::Shard),
    );
    o.one(
        "respub_output_buffer_bytes",
        "gauge",
        "Bytes queued for clients and not yet written, all clients.",
        output_bytes,
    );

    // Messages.
    o.head(
        "respub_messages_published_total",
        "counter",
        "PUBLISH (kind=channel) and SPUBLISH (kind=shard) calls.",
    );
    o.sample(
        "respub_messages_published_total",
        "kind=\"channel\"",
        stats.published.load(Relaxed),
    );
    o.sample(
        "respub_messages_published_total",
        "kind=\"shard\"",
        stats.spublished.load(Relaxed),
    );
    let dropped = reg.drops.total();
    o.one(
        "respub_messages_delivered_total",
        "counter",
        "Messages queued to a subscriber (one per receiving subscription).",
        stats.delivered.load(Relaxed).saturating_sub(dropped),
    );
    o.head(
        "respub_deliveries_dropped_total",
        "counter",
        "Deliveries a subscriber's output buffer refused, by reason.",
    );
    o.sample(
        "respub_deliveries_dropped_total",
        "reason=\"slow_consumer\"",
        reg.drops.slow_consumer.load(Relaxed),
    );
    o.sample(
        "respub_deliveries_dropped_total",
        "reason=\"disconnecting\"",
        reg.drops.disconnecting.load(Relaxed),
    );
    o.head(
        "respub_client_disconnections_total",
        "counter",
        "Clients closed for crossing a limit, by limit.",
    );
    for (limit, c) in [
        ("output_buffer", &stats.output_limit_disconnections),
        ("query_buffer", &stats.query_limit_disconnections),
        (
            "unauthenticated_output",
            &stats.unauthenticated_output_disconnections,
        ),
        ("protocol_error", &stats.protocol_errors),
    ] {
        o.sample(
            "respub_client_disconnections_total",
            &format!("limit=\"{limit}\""),
            c.load(Relaxed),
        );
    }

    // Connections and errors.
    o.one(
        "respub_connections_received_total",
        "counter",
        "Connections accepted.",
        stats.connections_received.load(Relaxed),
    );
    o.one(
        "respub_rejected_connections_total",
        "counter",
        "Connections refused for maxclients.",
        stats.rejected_connections.load(Relaxed),
    );
    o.one(
        "respub_auth_failures_total",
        "counter",
        "AUTH and HELLO AUTH attempts with a wrong password.",
        stats.auth_failures.load(Relaxed),
    );
    o.one(
        "respub_commands_processed_total",
        "counter",
        "Commands processed.",
        stats.commands.load(Relaxed),
    );
    o.one(
        "respub_net_input_bytes_total",
        "counter",
        "Bytes read from clients.",
        stats.net_input_bytes.load(Relaxed),
    );
    o.one(
        "respub_net_output_bytes_total",
        "counter",
        "Bytes written to clients.",
        stats.net_output_bytes.load(Relaxed),
    );
    o.head(
        "respub_error_replies_total",
        "counter",
        "Error replies by error code (INFO errorstats).",
    );
    for (code, n) in stats.errors.readings() {
        o.sample(
            "respub_error_replies_total",
            &format!("code=\"{}\"", label(code.as_bytes())),
            n,
        );
    }

    // Commands.
    let readings = stats.per_command.readings();
    let metric = |o: &mut Out,
                  name: &str,
                  help: &str,
                  f: &dyn Fn(&crate::stats::commands::CommandReading) -> u64| {
        o.head(name, "counter", help);
        for r in &readings {
            o.sample(name, &format!("command=\"{}\"", r.name), f(r));
        }
    };
    metric(
        &mut o,
        "respub_command_calls_total",
        "Calls by command (INFO commandstats calls).",
        &|r| r.calls,
    );
    metric(
        &mut o,
        "respub_command_rejected_calls_total",
        "Calls refused before running, by command.",
        &|r| r.rejected,
    );
    metric(
        &mut o,
        "respub_command_failed_calls_total",
        "Calls that answered an error, by command.",
        &|r| r.failed,
    );
    o.head(
        "respub_command_duration_seconds",
        "histogram",
        "Time to run a command, by command (bounds are powers of two nanoseconds).",
    );
    for r in &readings {
        let total = r.latency.total();
        for b in BOUNDS_NS {
            let _ = writeln!(
                o.0,
                "respub_command_duration_seconds_bucket{{command=\"{}\",le=\"{}\"}} {}",
                r.name,
                b as f64 / 1e9,
                r.latency.count_below(b)
            );
        }
        let _ = writeln!(
            o.0,
            "respub_command_duration_seconds_bucket{{command=\"{}\",le=\"+Inf\"}} {total}",
            r.name
        );
        let _ = writeln!(
            o.0,
            "respub_command_duration_seconds_sum{{command=\"{}\"}} {}",
            r.name,
            r.nanos as f64 / 1e9
        );
        let _ = writeln!(
            o.0,
            "respub_command_duration_seconds_count{{command=\"{}\"}} {total}",
            r.name
        );
    }

    // Optional per-channel series, capped.
    let top = shared.config().metrics_top_channels as usize;
    if top > 0 {
        o.head(
            "respub_channel_subscribers",
            "gauge",
            "Subscribers of the channels with the most (metrics-top-channels caps the series).",
        );
        for (ns, kind) in [(Namespace::Channel, "channel"), (Namespace::Shard, "shard")] {
            for (channel, n) in reg.top_channels(ns, top) {
                o.sample(
                    "respub_channel_subscribers",
                    &format!("kind=\"{kind}\",channel=\"{}\"", label(&channel)),
                    n,
                );
            }
        }
    }

    // Process.
    let (user, sys) = cpu_seconds();
    o.one(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        user + sys,
    );
    o.one(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        rss_bytes(),
    );
    o.one(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        open_fds(),
    );
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        o.one(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            soft,
        );
    }
    o.one(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        shared.started_unix,
    );
    o.one(
        "respub_uptime_seconds",
        "gauge",
        "Seconds since start.",
        shared.started.elapsed().as_secs(),
    );
    let _ = write!(
        o.0,
        "# HELP respub_build_info respub version.\n# TYPE respub_build_info gauge\nrespub_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    shared.backplane.metrics(&mut o.0);
    o.0
}
