//! The hot loops: pipelined publishers and verifying subscribers, plus the flow control
//! that keeps publishers from running ahead of subscribers.
//!
//! Flow control: a publisher may only write while
//! `published * fanout - delivered < window`, counted in deliveries. Without it a
//! pipelined publisher outruns the subscribers (which share the CPU with the server), the
//! server's per-subscriber output buffers grow until `client-output-buffer-limit` drops
//! them, and the run measures buffering instead of fan-out. The window is sized so that
//! even if all outstanding deliveries sat on one subscriber they would stay under the
//! 8 MB soft limit.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::conn::Conn;
use crate::histogram::Histogram;
use crate::payload::{self, Header};
use crate::resp::{self, Frame, Item};

/// Counters shared by all publishers and subscribers of one run.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Valid `message`/`pmessage` frames received by all subscribers.
    pub(crate) delivered: AtomicU64,
    /// PUBLISH commands written by all publishers.
    pub(crate) published: AtomicU64,
    /// PUBLISH replies read by all publishers.
    pub(crate) acked: AtomicU64,
    /// Deliveries each PUBLISH should cause; 0 disables flow control.
    pub(crate) fanout: u64,
    /// Outstanding deliveries allowed before publishers wait.
    pub(crate) window: u64,
    /// Publishers stop writing once this is set.
    pub(crate) stop: AtomicBool,
    /// Latency is recorded only for messages stamped inside [window_start, window_end).
    pub(crate) window_start_ns: AtomicU64,
    pub(crate) window_end_ns: AtomicU64,
    waiting: AtomicBool,
    progress: Notify,
}

impl Shared {
    pub(crate) fn new(fanout: u64, window: u64) -> Arc<Shared> {
        Arc::new(Shared {
            delivered: AtomicU64::new(0),
            published: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            fanout,
            window,
            stop: AtomicBool::new(false),
            window_start_ns: AtomicU64::new(u64::MAX),
            window_end_ns: AtomicU64::new(u64::MAX),
            waiting: AtomicBool::new(false),
            progress: Notify::new(),
        })
    }

    /// How many more PUBLISHes flow control allows right now.
    fn allowance(&self) -> u64 {
        if self.fanout == 0 {
            return u64::MAX;
        }
        let outstanding = (self.published.load(Relaxed) * self.fanout)
            .saturating_sub(self.delivered.load(Relaxed));
        self.window.saturating_sub(outstanding) / self.fanout
    }

    /// Waits until subscribers make progress (or a short timeout, so a lost message or a
    /// dropped subscriber slows the run down instead of hanging it).
    async fn wait_for_progress(&self) {
        let notified = self.progress.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        self.waiting.store(true, Relaxed);
        if self.allowance() > 0 {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
    }

    pub(crate) fn record_delivered(&self, n: u64) {
        if n > 0 {
            self.delivered.fetch_add(n, Relaxed);
        }
        if self.waiting.load(Relaxed) && self.waiting.swap(false, Relaxed) {
            self.progress.notify_waiters();
        }
    }

    fn in_window(&self, sent_ns: u64) -> bool {
        sent_ns >= self.window_start_ns.load(Relaxed) && sent_ns < self.window_end_ns.load(Relaxed)
    }
}

/// What one subscriber connection saw.
#[derive(Debug, Default)]
pub(crate) struct SubStats {
    pub(crate) received: u64,
    /// A message whose sequence number is not above the last one seen from its publisher.
    pub(crate) order_errors: u64,
    /// Frames that are not a well-formed message carrying one of our payloads.
    pub(crate) corrupt: u64,
    /// The server closed the connection (or it failed) before the run ended.
    pub(crate) disconnected: bool,
    pub(crate) latency: Histogram,
}

/// Reads and verifies messages until `stop` is cancelled or the server disconnects.
/// `payload_size` is what every payload must measure.
pub(crate) async fn subscriber(
    mut conn: Conn,
    shared: Arc<Shared>,
    stop: CancellationToken,
    payload_size: usize,
) -> SubStats {
    let mut stats = SubStats::default();
    let mut last_seq: Vec<u64> = Vec::new();
    loop {
        conn.make_room();
        let read = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            r = conn.stream.read(&mut conn.buf[conn.end..]) => r,
        };
        match read {
            Ok(0) | Err(_) => {
                stats.disconnected = true;
                break;
            }
            Ok(n) => conn.end += n,
        }
        let now = payload::now_ns();
        let before = stats.received;
        loop {
            match resp::parse_frame(&conn.buf[conn.start..conn.end]) {
                Ok(Some((frame, used))) => {
                    conn.start += used;
                    on_frame(frame, now, payload_size, &shared, &mut last_seq, &mut stats);
                }
                Ok(None) => break,
                Err(_) => {
                    stats.corrupt += 1;
                    stats.disconnected = true;
                    shared.record_delivered(stats.received - before);
                    return stats;
                }
            }
        }
        if conn.start == conn.end {
            conn.start = 0;
            conn.end = 0;
        }
        shared.record_delivered(stats.received - before);
    }
    stats
}

fn on_frame(
    frame: Frame<'_>,
    now: u64,
    payload_size: usize,
    shared: &Shared,
    last_seq: &mut Vec<u64>,
    stats: &mut SubStats,
) {
    let payload = match frame.items() {
        [Item::Bulk(b"message"), Item::Bulk(_), Item::Bulk(p)] => p,
        [Item::Bulk(b"pmessage"), Item::Bulk(_), Item::Bulk(_), Item::Bulk(p)] => p,
        _ => {
            stats.corrupt += 1;
            return;
        }
    };
    on_payload(payload, now, payload_size, shared, last_seq, stats);
}

/// Verifies one received payload (any wire format): header, order, latency.
pub(crate) fn on_payload(
    payload: &[u8],
    now: u64,
    payload_size: usize,
    shared: &Shared,
    last_seq: &mut Vec<u64>,
    stats: &mut SubStats,
) {
    let Some(Header {
        publisher,
        seq,
        sent_ns,
    }) = payload::read(payload).filter(|_| payload.len() == payload_size)
    else {
        stats.corrupt += 1;
        return;
    };
    let p = publisher as usize;
    if p >= 1024 {
        stats.corrupt += 1;
        return;
    }
    if p >= last_seq.len() {
        last_seq.resize(p + 1, 0);
    }
    // Sequence numbers start at 1 per publisher and the server keeps per-connection order,
    // so they must strictly increase on this connection (gaps are fine when this connection
    // only subscribes to some of the channels; loss is counted from totals).
    if seq <= last_seq[p] {
        stats.order_errors += 1;
    } else {
        last_seq[p] = seq;
    }
    stats.received += 1;
    if shared.in_window(sent_ns) && now >= sent_ns {
        stats.latency.record(now - sent_ns);
    }
}

/// How one publisher connection behaves.
#[derive(Debug, Clone)]
pub(crate) struct PublisherSpec {
    pub(crate) id: u32,
    /// Published round-robin, starting at `first`.
    pub(crate) channels: Arc<Vec<Vec<u8>>>,
    pub(crate) first: usize,
    pub(crate) payload_size: usize,
    /// PUBLISHes per write; two batches are kept in flight.
    pub(crate) batch: usize,
    /// Messages per second, or unlimited.
    pub(crate) rate: Option<f64>,
}

/// What one publisher connection saw.
#[derive(Debug, Default)]
pub(crate) struct PubStats {
    pub(crate) published: u64,
    pub(crate) acked: u64,
    /// Error replies to PUBLISH.
    pub(crate) errors: u64,
    /// Time from writing a batch to reading each reply of it (inside the window).
    pub(crate) reply_latency: Histogram,
}

/// Pipelines PUBLISH until `shared.stop`, then waits for every outstanding reply.
pub(crate) async fn publisher(
    mut conn: Conn,
    spec: PublisherSpec,
    shared: Arc<Shared>,
) -> io::Result<PubStats> {
    let mut stats = PubStats::default();
    let mut out = bytes::BytesMut::with_capacity(spec.batch * (spec.payload_size + 64));
    let mut next_channel = spec.first;
    let mut seq = 0u64;
    // (replies still expected, write time) per batch in flight, oldest first.
    let mut inflight: VecDeque<(usize, u64)> = VecDeque::new();
    let started = tokio::time::Instant::now();
    loop {
        let stopping = shared.stop.load(Relaxed);
        let mut pace_wait = None;
        while !stopping && inflight.len() < 2 {
            let mut n = (spec.batch as u64).min(shared.allowance());
            if let Some(rate) = spec.rate {
                let due = (started.elapsed().as_secs_f64() * rate) as u64;
                let allowed = due.saturating_sub(stats.published);
                if allowed == 0 {
                    let next =
                        started + Duration::from_secs_f64((stats.published + 1) as f64 / rate);
                    pace_wait = Some(next);
                }
                n = n.min(allowed);
            }
            if n == 0 {
                break;
            }
            out.clear();
            let now = payload::now_ns();
            for _ in 0..n {
                seq += 1;
                let channel = &spec.channels[next_channel];
                next_channel = (next_channel + 1) % spec.channels.len();
                resp::encode_publish_head(&mut out, channel, spec.payload_size);
                payload::write(
                    &mut out,
                    spec.payload_size,
                    Header {
                        publisher: spec.id,
                        seq,
                        sent_ns: now,
                    },
                );
                out.extend_from_slice(b"\r\n");
            }
            // Count before writing so subscribers can never appear ahead of publishers.
            shared.published.fetch_add(n, Relaxed);
            stats.published += n;
            conn.stream.write_all(&out).await?;
            inflight.push_back((n as usize, now));
        }
        if inflight.is_empty() {
            if stopping {
                return Ok(stats);
            }
            match pace_wait {
                Some(at) => tokio::time::sleep_until(at).await,
                None => shared.wait_for_progress().await,
            }
            continue;
        }
        read_replies(&mut conn, &mut inflight, &mut stats, &shared).await?;
    }
}

async fn read_replies(
    conn: &mut Conn,
    inflight: &mut VecDeque<(usize, u64)>,
    stats: &mut PubStats,
    shared: &Shared,
) -> io::Result<()> {
    conn.make_room();
    let n = tokio::time::timeout(
        crate::conn::SETUP_TIMEOUT,
        conn.stream.read(&mut conn.buf[conn.end..]),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no PUBLISH reply in time"))??;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the publisher connection",
        ));
    }
    conn.end += n;
    let now = payload::now_ns();
    let mut acked = 0;
    loop {
        let parsed = resp::parse_frame(&conn.buf[conn.start..conn.end])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let Some((frame, used)) = parsed else { break };
        conn.start += used;
        match frame {
            Frame::Scalar(Item::Int(_)) => {}
            _ => stats.errors += 1,
        }
        let Some(front) = inflight.front_mut() else {
            return Err(io::Error::other("reply without a PUBLISH in flight"));
        };
        if shared.in_window(front.1) {
            stats.reply_latency.record(now.saturating_sub(front.1));
        }
        front.0 -= 1;
        if front.0 == 0 {
            inflight.pop_front();
        }
        acked += 1;
    }
    stats.acked += acked;
    shared.acked.fetch_add(acked, Relaxed);
    Ok(())
}
