//! The NATS backplane (issue 10): many respub nodes act as one pub/sub server.
//!
//! Owns the bridge between this node's registry and a NATS cluster; leaves who is
//! subscribed to what to the registry, and the RESP side to `cmd`.
//!
//! Data flow, as in Redis Cluster's "local first":
//!
//! 1. PUBLISH delivers to this node's subscribers exactly as without a backplane, then
//!    [`Backplane::forward`] puts the message in a byte-bounded queue and returns; it
//!    never waits for NATS. A full queue drops the message for the other nodes only,
//!    and counts it (`link::outbound` drains the queue into NATS, in order).
//! 2. Interest: the registry notes each channel that gains its first or loses its last
//!    subscriber (`interest`); `link::reconcile` holds one NATS subscription per such
//!    channel, so a message only crosses to nodes that want it. A node with patterns
//!    also takes the channel firehose and matches it locally with the same matcher.
//!    Exact subscriptions deliver to exact subscribers only and the firehose to pattern
//!    subscribers only, so each local subscription gets each message once.
//! 3. The NATS connection is opened with `no_echo`: the server never hands a node its
//!    own publications back, so a local subscriber is not served twice.
//! 4. PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB ask the other nodes
//!    (`gather`) and merge their answers with the local one.
//!
//! NATS being down never stops local pub/sub: async-nats reconnects (to any member of
//! the NATS cluster) and re-subscribes what it held; the queue meanwhile fills and
//! drops are counted.

mod counts;
mod gather;
mod interest;
mod link;
pub mod subject;

pub use gather::{Answer, Query};

use crate::config::backplane::{BackplaneConfig, Oversize};
use crate::registry::Namespace;
use crate::server::Shared;
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use subject::Subjects;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Per-message bookkeeping counted against `backplane-queue-bytes` besides its bytes.
const QUEUE_OVERHEAD: u64 = 64;

/// Payloads up to this size are copied into the queue, so a queued message never pins
/// the publisher's whole read buffer.
const COPY_MAX: usize = 16 * 1024;

/// Counters for INFO `# Backplane` and /metrics. Relaxed: they are statistics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages handed to NATS.
    pub sent: AtomicU64,
    /// Messages that came from other nodes.
    pub received: AtomicU64,
    /// Every message the NATS client handed to one of this node's tasks (channel,
    /// firehose and control subscriptions): the NATS client's `in_messages` minus this is
    /// what it read but nobody took (inbound drops, plus messages of a subscription
    /// being removed, plus any still buffered).
    pub consumed: AtomicU64,
    /// Deliveries to this node's subscribers made from them.
    pub delivered: AtomicU64,
    pub dropped_queue_full: AtomicU64,
    pub dropped_oversize: AtomicU64,
    pub dropped_subject_too_long: AtomicU64,
    pub dropped_nats_error: AtomicU64,
    /// Messages a NATS subscription dropped for being over `backplane-inbound-capacity`.
    /// async-nats reports each through a 128-event channel that it fills without
    /// waiting, so a burst of more drops than the event task drains in time is
    /// undercounted: a lower bound (compare `backplane_nats_in_msgs` with received).
    pub dropped_inbound: AtomicU64,
    /// PUBLISH refused by `backplane-oversize refuse`.
    pub refused_oversize: AtomicU64,
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    /// Cluster-wide PUBSUB requests sent, and those that ended before every known
    /// node answered.
    pub requests: AtomicU64,
    pub requests_partial: AtomicU64,
    /// Gauges kept by the link task.
    pub nats_subscriptions: AtomicU64,
    pub firehose: AtomicBool,
    pub local_only_channels: AtomicU64,
}

/// One message waiting for NATS.
#[derive(Debug)]
struct Outgoing {
    ns: Namespace,
    channel: Bytes,
    payload: Bytes,
}

impl Outgoing {
    fn cost(&self) -> u64 {
        (self.channel.len() + self.payload.len()) as u64 + QUEUE_OVERHEAD
    }
}

/// The backplane of one node. Inactive (every call a no-op) with `backplane none`.
#[derive(Debug)]
pub struct Backplane {
    config: BackplaneConfig,
    node: String,
    subjects: Subjects,
    pub stats: Stats,
    interest: Arc<interest::Interest>,
    tx: mpsc::UnboundedSender<Outgoing>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    queued: AtomicU64,
    connected: AtomicBool,
    client: OnceLock<async_nats::Client>,
    gather: gather::Gather,
    /// Wakes `link::control` to say hello at once (after a (re)connect).
    hello_now: tokio::sync::Notify,
    /// Other nodes' receiver counts for `backplane-publish-count cluster`.
    counts: counts::RemoteCounts,
}

impl Backplane {
    /// Checks the settings: a bad URL or credential file stops the start with its reason.
    pub fn check(config: &BackplaneConfig) -> Result<(), String> {
        if config.nats {
            link::check(config)?;
        }
        Ok(())
    }

    /// Prepares; nothing connects before [`Backplane::start`].
    pub fn new(config: &BackplaneConfig, run_id: &str) -> Backplane {
        let (tx, rx) = mpsc::unbounded_channel();
        let node: String = run_id.chars().take(16).collect();
        Backplane {
            config: config.clone(),
            subjects: Subjects::new(&config.cluster_name),
            gather: gather::Gather::new(&node),
            node,
            stats: Stats::default(),
            interest: Arc::default(),
            tx,
            rx: Mutex::new(Some(rx)),
            queued: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            client: OnceLock::new(),
            hello_now: tokio::sync::Notify::new(),
            counts: counts::RemoteCounts::new(config.count_cache as usize),
        }
    }

    pub fn active(&self) -> bool {
        self.config.nats
    }

    /// What the registry must tell about interest changes, when active.
    pub fn watch(&self) -> Option<Arc<dyn crate::registry::InterestWatch>> {
        self.active()
            .then(|| self.interest.clone() as Arc<dyn crate::registry::InterestWatch>)
    }

    /// Connects and spawns the link tasks on `tracker`; they end with `token`.
    pub fn start(shared: &Arc<Shared>, token: &CancellationToken, tracker: &TaskTracker) {
        if shared.backplane.active() {
            link::start(shared, token, tracker);
        }
    }

    /// `Err(max_payload)` when `backplane-oversize refuse` and `len` is over NATS's
    /// `max_payload`: PUBLISH then replies with an error and delivers nothing.
    pub fn check_size(&self, len: usize) -> Result<(), usize> {
        if !self.active() || self.config.oversize != Oversize::Refuse {
            return Ok(());
        }
        match self.client.get() {
            Some(c) if len > c.max_payload() => {
                self.stats.refused_oversize.fetch_add(1, Relaxed);
                Err(c.max_payload())
            }
            _ => Ok(()),
        }
    }

    /// Hands a message this node published to the other nodes. Never waits.
    pub fn forward(&self, ns: Namespace, channel: &Bytes, payload: &Bytes) {
        if !self.active() {
            return;
        }
        if let Some(c) = self.client.get() {
            if payload.len() > c.max_payload() {
                self.stats.dropped_oversize.fetch_add(1, Relaxed);
                return;
            }
        }
        let copy = |b: &Bytes| {
            if b.len() <= COPY_MAX {
                Bytes::copy_from_slice(b)
            } else {
                b.clone()
            }
        };
        let m = Outgoing {
            ns,
            channel: copy(channel),
            payload: copy(payload),
        };
        let cost = m.cost();
        let before = self.queued.fetch_add(cost, Relaxed);
        if before + cost > self.config.queue_bytes {
            self.queued.fetch_sub(cost, Relaxed);
            self.stats.dropped_queue_full.fetch_add(1, Relaxed);
            return;
        }
        if self.tx.send(m).is_err() {
            // The link task is gone (shutdown).
            self.queued.fetch_sub(cost, Relaxed);
            self.stats.dropped_nats_error.fetch_add(1, Relaxed);
        }
    }

    /// What PUBLISH adds to its reply: the other nodes' receivers of `channel` as last
    /// seen with `backplane-publish-count cluster`, else 0. Never waits.
    pub fn remote_receivers(&self, ns: Namespace, channel: &[u8]) -> u64 {
        if !self.active() || !self.config.publish_count_cluster {
            return 0;
        }
        self.counts.lookup(ns, channel)
    }

    /// Answers of the other nodes to `query` (empty when inactive or disconnected).
    /// Blocks the calling connection at most `backplane-request-timeout`.
    pub fn gather(&self, query: &Query) -> Vec<Answer> {
        match (self.active(), self.client.get()) {
            (true, Some(client)) if self.connected.load(Relaxed) => self.gather.ask(
                client,
                &self.subjects,
                query,
                self.config.request_timeout_ms,
                &self.stats,
            ),
            _ => Vec::new(),
        }
    }

    /// `/readyz`: false only when `backplane-ready-required` and NATS is not connected.
    pub fn ready(&self) -> bool {
        !(self.active() && self.config.ready_required && !self.connected.load(Relaxed))
    }

    fn dropped_total(&self) -> [(&'static str, u64); 5] {
        let s = &self.stats;
        [
            ("queue_full", s.dropped_queue_full.load(Relaxed)),
            ("oversize", s.dropped_oversize.load(Relaxed)),
            ("subject_too_long", s.dropped_subject_too_long.load(Relaxed)),
            ("nats_error", s.dropped_nats_error.load(Relaxed)),
            ("inbound_slow", s.dropped_inbound.load(Relaxed)),
        ]
    }

    /// INFO `# Backplane` (only when active or asked for by name).
    pub fn info(&self, out: &mut String) {
        let s = &self.stats;
        out.push_str("# Backplane\r\n");
        let mut w = |k: &str, v: &dyn std::fmt::Display| {
            let _ = write!(out, "{k}:{v}\r\n");
        };
        w("backplane", &(if self.active() { "nats" } else { "none" }));
        if !self.active() {
            return;
        }
        w("backplane_cluster_name", &self.config.cluster_name);
        w("backplane_node_id", &self.node);
        w(
            "backplane_connected",
            &u8::from(self.connected.load(Relaxed)),
        );
        let server = self
            .client
            .get()
            .and_then(|c| c.try_server_info())
            .map(|i| format!("{}:{}", i.host, i.port))
            .unwrap_or_default();
        w("backplane_server", &server);
        w("backplane_connects", &s.connects.load(Relaxed));
        w("backplane_disconnects", &s.disconnects.load(Relaxed));
        w("backplane_peers", &self.gather.live_peers());
        w(
            "backplane_nats_subscriptions",
            &s.nats_subscriptions.load(Relaxed),
        );
        w("backplane_firehose", &u8::from(s.firehose.load(Relaxed)));
        w(
            "backplane_local_only_channels",
            &s.local_only_channels.load(Relaxed),
        );
        w("backplane_interest_pending", &self.interest.pending());
        w("backplane_queue_bytes", &self.queued.load(Relaxed));
        w("backplane_queue_limit", &self.config.queue_bytes);
        w("backplane_sent", &s.sent.load(Relaxed));
        w("backplane_received", &s.received.load(Relaxed));
        let in_msgs = self
            .client
            .get()
            .map_or(0, |c| c.statistics().in_messages.load(Relaxed));
        w("backplane_nats_in_msgs", &in_msgs);
        w(
            "backplane_inbound_unconsumed",
            &in_msgs.saturating_sub(s.consumed.load(Relaxed)),
        );
        w("backplane_delivered", &s.delivered.load(Relaxed));
        for (reason, n) in self.dropped_total() {
            w(&format!("backplane_dropped_{reason}"), &n);
        }
        w(
            "backplane_refused_oversize",
            &s.refused_oversize.load(Relaxed),
        );
        w("backplane_requests", &s.requests.load(Relaxed));
        w(
            "backplane_requests_partial",
            &s.requests_partial.load(Relaxed),
        );
        w("backplane_count_cache_entries", &self.counts.len());
    }

    /// The `respub_backplane_*` series of /metrics (only when active).
    pub fn metrics(&self, out: &mut String) {
        if !self.active() {
            return;
        }
        let s = &self.stats;
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        };
        one(
            "respub_backplane_connected",
            "gauge",
            "1 while connected to NATS.",
            u64::from(self.connected.load(Relaxed)),
        );
        one(
            "respub_backplane_peers",
            "gauge",
            "Other nodes of this cluster seen in the last 3 seconds.",
            self.gather.live_peers() as u64,
        );
        one(
            "respub_backplane_queue_bytes",
            "gauge",
            "Bytes of messages waiting for NATS.",
            self.queued.load(Relaxed),
        );
        one(
            "respub_backplane_nats_subscriptions",
            "gauge",
            "NATS subscriptions held for this node's channels (and firehose).",
            s.nats_subscriptions.load(Relaxed),
        );
        one(
            "respub_backplane_connects_total",
            "counter",
            "Connections (first and re-) made to NATS.",
            s.connects.load(Relaxed),
        );
        one(
            "respub_backplane_sent_total",
            "counter",
            "Messages handed to NATS.",
            s.sent.load(Relaxed),
        );
        one(
            "respub_backplane_received_total",
            "counter",
            "Messages received from other nodes.",
            s.received.load(Relaxed),
        );
        one(
            "respub_backplane_deliveries_total",
            "counter",
            "Deliveries to this node's subscribers of messages from other nodes.",
            s.delivered.load(Relaxed),
        );
        let in_msgs = self
            .client
            .get()
            .map_or(0, |c| c.statistics().in_messages.load(Relaxed));
        one(
            "respub_backplane_inbound_unconsumed",
            "gauge",
            "Messages the NATS client read that no task took: inbound drops (exact, unlike \
             the dropped_total inbound_slow reason), messages of subscriptions being \
             removed, and any still buffered.",
            in_msgs.saturating_sub(s.consumed.load(Relaxed)),
        );
        one(
            "respub_backplane_requests_total",
            "counter",
            "Cluster-wide PUBSUB requests sent.",
            s.requests.load(Relaxed),
        );
        one(
            "respub_backplane_requests_partial_total",
            "counter",
            "Cluster-wide PUBSUB requests answered before every node replied.",
            s.requests_partial.load(Relaxed),
        );
        let _ = write!(
            out,
            "# HELP respub_backplane_dropped_total Messages not carried between nodes, by reason.\n\
             # TYPE respub_backplane_dropped_total counter\n"
        );
        for (reason, n) in self.dropped_total() {
            let _ = writeln!(
                out,
                "respub_backplane_dropped_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }
}
