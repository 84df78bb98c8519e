//! The named scenarios: how many connections subscribe to what, who publishes how, and
//! which numbers come out. Each one is bounded in time and count and closes every
//! connection it opened before returning.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::conn::Conn;
use crate::histogram::Histogram;
use crate::load::{self, PubStats, PublisherSpec, Shared, SubStats};
use crate::payload::{self, Header};
use crate::procfs::Probe;
use crate::report::{Better, Report};
use crate::resp::{self, Frame, Item};

/// Every scenario, in the order `compare` runs them.
pub(crate) const ALL: &[&str] = &[
    "fanout-100",
    "fanout-1000",
    "channels-10k",
    "publish-only",
    "patterns-0",
    "patterns-prefix-10k",
    "patterns-suffix-10k",
    "patterns-unanchored-10k",
    "patterns-after-remove",
    "memory-idle-10k",
    "memory-idle-18k",
    "slow-subscriber",
    "latency-10k",
    "rooms-1000x10",
    "large-64k-100",
    "large-1m-20",
    "fanout-100-resp3",
    "fanout-1000-resp3",
    "channels-10k-resp3",
    "notify-18k",
];

/// How a run is sized and where it points.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub(crate) addr: SocketAddr,
    pub(crate) probe: Option<Probe>,
    /// Measured time per throughput scenario.
    pub(crate) duration: Duration,
    /// Traffic before the measured window starts.
    pub(crate) warmup: Duration,
    /// respub's admin HTTP port, for the `ws-*` scenarios (browser subscribers).
    pub(crate) ws_addr: Option<SocketAddr>,
}

/// Upper bound for one scenario, including setup and teardown.
pub(crate) fn time_limit(cfg: &RunConfig) -> Duration {
    cfg.warmup + cfg.duration + Duration::from_secs(60)
}

pub(crate) async fn run(name: &str, cfg: &RunConfig) -> io::Result<Report> {
    const PAYLOAD: usize = 64;
    match name {
        "fanout-100" => fanout(cfg, 100, PAYLOAD, Proto::Resp2).await,
        "fanout-1000" => fanout(cfg, 1000, PAYLOAD, Proto::Resp2).await,
        "fanout-100-resp3" => fanout(cfg, 100, PAYLOAD, Proto::Resp3).await,
        "fanout-1000-resp3" => fanout(cfg, 1000, PAYLOAD, Proto::Resp3).await,
        // Not in ALL (`compare` runs both servers; redis-server has no WebSocket): run
        // them with `run --ws-addr`, scripts/bench-ws.sh puts them beside RESP fan-out.
        "fanout-10000" => fanout(cfg, 10_000, PAYLOAD, Proto::Resp2).await,
        "ws-fanout-1000" => ws_fanout(cfg, 1000, PAYLOAD).await,
        "ws-fanout-10000" => ws_fanout(cfg, 10_000, PAYLOAD).await,
        "channels-10k" => channels(cfg, 10_000, 200, PAYLOAD, Proto::Resp2).await,
        "channels-10k-resp3" => channels(cfg, 10_000, 200, PAYLOAD, Proto::Resp3).await,
        "notify-18k" => notifications(cfg, 18_000, 50_000.0, PAYLOAD).await,
        "publish-only" => publish_only(cfg, PAYLOAD).await,
        "patterns-0" => patterns(cfg, PatternShape::None, false, PAYLOAD).await,
        "patterns-prefix-10k" => patterns(cfg, PatternShape::Prefix, false, PAYLOAD).await,
        "patterns-suffix-10k" => patterns(cfg, PatternShape::Suffix, false, PAYLOAD).await,
        "patterns-unanchored-10k" => patterns(cfg, PatternShape::Unanchored, false, PAYLOAD).await,
        "patterns-after-remove" => patterns(cfg, PatternShape::Prefix, true, PAYLOAD).await,
        "memory-idle-10k" => memory_idle(cfg, 10_000).await,
        "memory-idle-18k" => memory_idle(cfg, 18_000).await,
        "slow-subscriber" => slow_subscriber(cfg).await,
        "latency-10k" => latency(cfg, 10_000.0, 100, PAYLOAD).await,
        "rooms-1000x10" => rooms(cfg, 1000, 10, 100, PAYLOAD).await,
        "large-64k-100" => fanout(cfg, 100, 64 * 1024, Proto::Resp2).await,
        "large-1m-20" => fanout(cfg, 20, 1024 * 1024, Proto::Resp2).await,
        _ => match crate::curves::Point::parse(name) {
            Some(point) => run_curve_point(cfg, point).await,
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown scenario {name:?}; known: {}", ALL.join(",")),
            )),
        },
    }
}

/// One point of a cost curve (`respub-bench curves`): 64-byte payloads and one channel
/// unless the sweep varies that; two pipelined publishers, flow-controlled like the rest.
async fn run_curve_point(cfg: &RunConfig, point: crate::curves::Point) -> io::Result<Report> {
    use crate::curves::Sweep;
    const PAYLOAD: usize = 64;
    match point.sweep {
        Sweep::Subscribers => fanout(cfg, point.x, PAYLOAD, Proto::Resp2).await,
        Sweep::Channels => channels(cfg, point.x, point.x.min(200), PAYLOAD, Proto::Resp2).await,
        Sweep::Payload => {
            fanout(
                cfg,
                crate::curves::PAYLOAD_SUBSCRIBERS,
                point.x,
                Proto::Resp2,
            )
            .await
        }
    }
}

/// Outstanding deliveries allowed (see `load`): about 5 MB of 64-byte messages, below the
/// 8 MB pubsub soft limit even if it all queued for one subscriber.
pub(crate) const WINDOW: u64 = 50_000;
/// For large payloads the window is also bounded in bytes: at most this much outstanding
/// per subscriber on average (half the 8 MB soft limit), and never less than one PUBLISH.
const WINDOW_BYTES_PER_SUB: u64 = 4 * 1024 * 1024;

/// The flow-control window of a run (see `load`).
fn window(subs: usize, fanout: u64, payload_size: usize) -> u64 {
    let by_bytes = subs as u64 * WINDOW_BYTES_PER_SUB / payload_size.max(1) as u64;
    WINDOW.min(by_bytes).max(fanout)
}
/// Concurrent connection attempts while setting up.
const CONNECT_CONCURRENCY: usize = 128;
/// Read buffer of a subscriber that receives traffic.
pub(crate) const SUB_BUF: usize = 64 * 1024;

/// Which protocol a subscriber connection speaks: RESP2, or RESP3 after `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Resp2,
    Resp3,
}

/// Opens one connection per entry of `groups` and sends `verb` with that entry's names,
/// waiting for every confirmation.
pub(crate) async fn open_subscribers(
    addr: SocketAddr,
    groups: Vec<Vec<Vec<u8>>>,
    verb: &'static [u8],
    confirm: &'static [u8],
    buf_size: usize,
) -> io::Result<Vec<Conn>> {
    open_subscribers_as(addr, groups, verb, confirm, buf_size, Proto::Resp2).await
}

/// `open_subscribers`, each connection first switched to `proto`.
async fn open_subscribers_as(
    addr: SocketAddr,
    groups: Vec<Vec<Vec<u8>>>,
    verb: &'static [u8],
    confirm: &'static [u8],
    buf_size: usize,
    proto: Proto,
) -> io::Result<Vec<Conn>> {
    let limit = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut set = JoinSet::new();
    for names in groups {
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore never closed");
            let mut conn = Conn::connect(addr, buf_size).await?;
            if proto == Proto::Resp3 {
                conn.hello3().await?;
            }
            if !names.is_empty() {
                conn.subscribe_like(verb, confirm, &names).await?;
            }
            Ok::<_, io::Error>(conn)
        });
    }
    let mut conns = Vec::with_capacity(set.len());
    while let Some(r) = set.join_next().await {
        conns.push(r.map_err(io::Error::other)??);
    }
    Ok(conns)
}

/// What the measured window is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    Deliveries,
    Publishes,
}

/// Runs publishers against ready subscribers: warm-up, measured window, stop, drain, and
/// the standard throughput report.
async fn measure(
    cfg: &RunConfig,
    subs: Vec<Conn>,
    payload_size: usize,
    publishers: Vec<PublisherSpec>,
    fanout: u64,
    counted: Counted,
) -> io::Result<Report> {
    measure_with(
        cfg,
        subs,
        Vec::new(),
        payload_size,
        publishers,
        fanout,
        counted,
    )
    .await
}

/// `measure` with WebSocket subscribers besides (or instead of) RESP ones.
async fn measure_with(
    cfg: &RunConfig,
    subs: Vec<Conn>,
    ws_subs: Vec<crate::ws::WsConn>,
    payload_size: usize,
    publishers: Vec<PublisherSpec>,
    fanout: u64,
    counted: Counted,
) -> io::Result<Report> {
    let shared = Shared::new(
        fanout,
        window(subs.len() + ws_subs.len(), fanout, payload_size),
    );
    let stop = CancellationToken::new();
    let mut sub_set: JoinSet<SubStats> = JoinSet::new();
    for ws in ws_subs {
        sub_set.spawn(crate::ws::subscriber(
            ws,
            shared.clone(),
            stop.clone(),
            payload_size,
        ));
    }
    for conn in subs {
        sub_set.spawn(load::subscriber(
            conn,
            shared.clone(),
            stop.clone(),
            payload_size,
        ));
    }
    let mut pub_set: JoinSet<io::Result<PubStats>> = JoinSet::new();
    for spec in publishers {
        let conn = Conn::connect(cfg.addr, SUB_BUF).await?;
        pub_set.spawn(load::publisher(conn, spec, shared.clone()));
    }

    tokio::time::sleep(cfg.warmup).await;
    let own = Probe {
        pid: std::process::id(),
    };
    let bench0 = own.cpu_seconds().ok();
    let cpu0 = cpu(cfg);
    let delivered0 = shared.delivered.load(Relaxed);
    let acked0 = shared.acked.load(Relaxed);
    let t0 = Instant::now();
    shared.window_start_ns.store(payload::now_ns(), Relaxed);

    tokio::time::sleep(cfg.duration).await;
    let cpu1 = cpu(cfg);
    let bench1 = own.cpu_seconds().ok();
    let delivered1 = shared.delivered.load(Relaxed);
    let acked1 = shared.acked.load(Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    shared.window_end_ns.store(payload::now_ns(), Relaxed);
    let rss = cfg.probe.and_then(|p| p.rss_bytes().ok());

    let mut report = Report::default();
    shared.stop.store(true, Relaxed);
    let mut pub_stats = Vec::new();
    let joined = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(r) = pub_set.join_next().await {
            match r.map_err(io::Error::other)? {
                Ok(s) => pub_stats.push(s),
                Err(e) => report.note(format!("publisher failed: {e}")),
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
    if joined.is_err() {
        report.note("publishers did not finish within 15 s of the stop");
    }
    let published = shared.published.load(Relaxed);
    let expected = published * fanout;
    drain(&shared, expected).await;
    stop.cancel();
    let mut subs = SubStats::default();
    let mut disconnects = 0u64;
    while let Some(r) = sub_set.join_next().await {
        let s = r.map_err(io::Error::other)?;
        subs.received += s.received;
        subs.order_errors += s.order_errors;
        subs.corrupt += s.corrupt;
        disconnects += u64::from(s.disconnected);
        subs.latency.merge(&s.latency);
    }
    let mut pubs = PubStats::default();
    for s in &pub_stats {
        pubs.errors += s.errors;
        pubs.reply_latency.merge(&s.reply_latency);
    }

    let cpu_used = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let (done, label, per_cpu_label) = match counted {
        Counted::Deliveries => (
            (delivered1 - delivered0) as f64,
            "deliveries/s",
            "deliveries per CPU-s",
        ),
        Counted::Publishes => (
            (acked1 - acked0) as f64,
            "publishes/s",
            "publishes per CPU-s",
        ),
    };
    report.push(label, "1/s", Better::Higher, Some(done / secs));
    report.push(
        per_cpu_label,
        "1/cpu-s",
        Better::Higher,
        cpu_used.filter(|&c| c > 0.0).map(|c| done / c),
    );
    // Utilisation rises with throughput, so it has no better direction on its own; the
    // per-CPU-second figure above is the efficiency comparison.
    report.push(
        "server CPU",
        "cpu-s/s",
        Better::Info,
        cpu_used.map(|c| c / secs),
    );
    report.push("server RSS", "MiB", Better::Lower, rss.map(mib));
    // The bench shares the machine with the server; if this is near the core count the
    // client, not the server, set the pace, and the per-CPU-second figure is the fair one.
    report.push(
        "bench CPU",
        "cpu-s/s",
        Better::Info,
        bench0.zip(bench1).map(|(a, b)| (b - a) / secs),
    );
    if counted == Counted::Deliveries {
        report.push(
            "publishes/s",
            "1/s",
            Better::Info,
            Some((acked1 - acked0) as f64 / secs),
        );
        report.push(
            "lost",
            "msgs",
            Better::Lower,
            Some(expected.saturating_sub(subs.received) as f64),
        );
        report.push(
            "order errors",
            "msgs",
            Better::Lower,
            Some(subs.order_errors as f64),
        );
        push_latency(&mut report, "latency", &subs.latency);
        if subs.latency.count() == 0 {
            report.note("no message sent inside the measured window was received");
        }
    } else {
        push_latency(&mut report, "PUBLISH reply", &pubs.reply_latency);
    }
    if subs.corrupt > 0 {
        report.note(format!("{} malformed frames at subscribers", subs.corrupt));
    }
    if disconnects > 0 {
        report.note(format!(
            "{disconnects} subscriber connections were closed by the server"
        ));
    }
    if pubs.errors > 0 {
        report.note(format!("{} PUBLISH error replies", pubs.errors));
    }
    if subs.received > expected {
        report.note(format!(
            "subscribers received {} more messages than published",
            subs.received - expected
        ));
    }
    Ok(report)
}

/// Waits until subscribers have everything or stop making progress for a second.
pub(crate) async fn drain(shared: &Shared, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = shared.delivered.load(Relaxed);
    let mut last_change = Instant::now();
    while Instant::now() < deadline {
        let now = shared.delivered.load(Relaxed);
        if now >= expected {
            return;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn push_latency(report: &mut Report, what: &'static str, h: &Histogram) {
    let names: [(&'static str, f64); 3] = match what {
        "latency" => [
            ("latency p50", 0.5),
            ("latency p99", 0.99),
            ("latency p999", 0.999),
        ],
        _ => [
            ("PUBLISH reply p50", 0.5),
            ("PUBLISH reply p99", 0.99),
            ("PUBLISH reply p999", 0.999),
        ],
    };
    for (name, q) in names {
        report.push(
            name,
            "us",
            Better::Lower,
            h.quantile(q).map(|ns| ns as f64 / 1000.0),
        );
    }
}

fn cpu(cfg: &RunConfig) -> Option<f64> {
    cfg.probe.and_then(|p| p.cpu_seconds().ok())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn names(prefix: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

fn publishers(
    n: u32,
    channels: Vec<Vec<u8>>,
    payload_size: usize,
    rate: Option<f64>,
) -> Vec<PublisherSpec> {
    let channels = Arc::new(channels);
    (0..n)
        .map(|id| PublisherSpec {
            id,
            first: id as usize * channels.len() / n as usize,
            channels: channels.clone(),
            payload_size,
            // 128 PUBLISHes per write, fewer for large payloads (at most ~256 KiB).
            batch: (256 * 1024 / payload_size.max(1)).clamp(1, 128),
            rate,
        })
        .collect()
}

/// One channel, `subs` subscriber connections speaking `proto`, two pipelined publishers.
async fn fanout(
    cfg: &RunConfig,
    subs: usize,
    payload_size: usize,
    proto: Proto,
) -> io::Result<Report> {
    one_channel(cfg, b"bench.fanout", subs, proto, 2, payload_size, None).await
}

/// `subs` connections speaking `proto` on one channel, `pubs` publishers to it, paced at
/// `rate` messages per second each or unlimited.
async fn one_channel(
    cfg: &RunConfig,
    channel: &[u8],
    subs: usize,
    proto: Proto,
    pubs: u32,
    payload_size: usize,
    rate: Option<f64>,
) -> io::Result<Report> {
    let conns = open_subscribers_as(
        cfg.addr,
        vec![vec![channel.to_vec()]; subs],
        b"SUBSCRIBE",
        b"subscribe",
        SUB_BUF,
        proto,
    )
    .await?;
    let pubs = publishers(pubs, vec![channel.to_vec()], payload_size, rate);
    measure(
        cfg,
        conns,
        payload_size,
        pubs,
        subs as u64,
        Counted::Deliveries,
    )
    .await
}

/// One channel, `subs` WebSocket subscribers on respub's admin port (JSON protocol),
/// two pipelined RESP publishers: the browser fan-out of issue 12.
async fn ws_fanout(cfg: &RunConfig, subs: usize, payload_size: usize) -> io::Result<Report> {
    let admin = cfg
        .ws_addr
        .ok_or_else(|| io::Error::other("ws-* scenarios need --ws-addr (respub's admin port)"))?;
    let channel = "bench.fanout";
    let conns = crate::ws::open(admin, subs, channel, CONNECT_CONCURRENCY).await?;
    let pubs = publishers(2, vec![channel.as_bytes().to_vec()], payload_size, None);
    measure_with(
        cfg,
        Vec::new(),
        conns,
        payload_size,
        pubs,
        subs as u64,
        Counted::Deliveries,
    )
    .await
}

/// `channels` channels with one subscriber each, spread over `conns` connections speaking
/// `proto`; two publishers go round-robin over all channels from different starting points.
async fn channels(
    cfg: &RunConfig,
    channels: usize,
    conns: usize,
    payload_size: usize,
    proto: Proto,
) -> io::Result<Report> {
    let per_conn = channels / conns;
    let groups: Vec<Vec<Vec<u8>>> = (0..conns)
        .map(|c| names("bench.ch.", c * per_conn..(c + 1) * per_conn))
        .collect();
    let subs =
        open_subscribers_as(cfg.addr, groups, b"SUBSCRIBE", b"subscribe", SUB_BUF, proto).await?;
    let pubs = publishers(
        2,
        names("bench.ch.", 0..per_conn * conns),
        payload_size,
        None,
    );
    measure(cfg, subs, payload_size, pubs, 1, Counted::Deliveries).await
}

/// Chat rooms: `rooms` channels with `members` subscriber connections each (one room per
/// connection), and `pubs` pipelined publishers going round-robin over the rooms from
/// different starting points.
async fn rooms(
    cfg: &RunConfig,
    rooms: usize,
    members: usize,
    pubs: u32,
    payload_size: usize,
) -> io::Result<Report> {
    let groups: Vec<Vec<Vec<u8>>> = (0..rooms * members)
        .map(|c| vec![format!("room.{}", c % rooms).into_bytes()])
        .collect();
    let subs = open_subscribers(cfg.addr, groups, b"SUBSCRIBE", b"subscribe", SUB_BUF).await?;
    let pubs = publishers(pubs, names("room.", 0..rooms), payload_size, None);
    measure(
        cfg,
        subs,
        payload_size,
        pubs,
        members as u64,
        Counted::Deliveries,
    )
    .await
}

/// Per-user notifications ("500k users, 50k msg/s"): `users` connections each subscribed to
/// its own `user:<id>:notifications`; four publishers paced at `rate` messages per second
/// in all, each going through the users in its own random order. The work is fixed, so
/// latency and server CPU are the comparison.
async fn notifications(
    cfg: &RunConfig,
    users: usize,
    rate: f64,
    payload_size: usize,
) -> io::Result<Report> {
    const PUBLISHERS: u64 = 4;
    let channel = |id: usize| format!("user:{id}:notifications").into_bytes();
    let groups: Vec<Vec<Vec<u8>>> = (0..users).map(|id| vec![channel(id)]).collect();
    let subs = open_subscribers(cfg.addr, groups, b"SUBSCRIBE", b"subscribe", 4096).await?;
    let pubs = (0..PUBLISHERS)
        .map(|id| {
            let mut order: Vec<Vec<u8>> = (0..users).map(channel).collect();
            shuffle(&mut order, 0x9E37_79B9_7F4A_7C15 ^ id);
            PublisherSpec {
                id: id as u32,
                first: 0,
                channels: Arc::new(order),
                payload_size,
                batch: 128,
                rate: Some(rate / PUBLISHERS as f64),
            }
        })
        .collect();
    measure(cfg, subs, payload_size, pubs, 1, Counted::Deliveries).await
}

/// Fisher-Yates with a xorshift generator: a fixed, seedable order without a rand crate.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Four pipelined publishers to a channel nobody subscribes to.
async fn publish_only(cfg: &RunConfig, payload_size: usize) -> io::Result<Report> {
    let pubs = publishers(4, vec![b"bench.nobody".to_vec()], payload_size, None);
    measure(cfg, Vec::new(), payload_size, pubs, 0, Counted::Publishes).await
}

#[derive(Debug, Clone, Copy)]
enum PatternShape {
    None,
    Prefix,
    Suffix,
    Unanchored,
}

/// 10,000 distinct patterns on 100 connections (or none), none of which match the
/// channel one pipelined publisher sends to; optionally all removed again first.
async fn patterns(
    cfg: &RunConfig,
    shape: PatternShape,
    remove: bool,
    payload_size: usize,
) -> io::Result<Report> {
    const PATTERNS: usize = 10_000;
    const CONNS: usize = 100;
    let pattern = |n: usize| -> Vec<u8> {
        match shape {
            PatternShape::None | PatternShape::Prefix => format!("tenant:{n}:*"),
            PatternShape::Suffix => format!("*.errors{n}"),
            PatternShape::Unanchored => format!("*x{n}?y*"),
        }
        .into_bytes()
    };
    let groups: Vec<Vec<Vec<u8>>> = match shape {
        PatternShape::None => Vec::new(),
        _ => (0..CONNS)
            .map(|c| {
                (c * PATTERNS / CONNS..(c + 1) * PATTERNS / CONNS)
                    .map(pattern)
                    .collect()
            })
            .collect(),
    };
    let mut subs = open_subscribers(cfg.addr, groups, b"PSUBSCRIBE", b"psubscribe", 4096).await?;
    if remove {
        for conn in &mut subs {
            // Without arguments the server sends one frame per removed pattern, in its own
            // order; read until the remaining count reaches 0.
            conn.command(&[b"PUNSUBSCRIBE"]).await?;
            loop {
                let left = conn
                    .next_frame(|f| match f.items() {
                        [Item::Bulk(b"punsubscribe"), _, Item::Int(n)] => Some(*n),
                        _ => None,
                    })
                    .await?
                    .ok_or_else(|| io::Error::other("unexpected reply to PUNSUBSCRIBE"))?;
                if left == 0 {
                    break;
                }
            }
        }
    }
    // Matches none of the shapes: no "tenant:" prefix, no ".errors" and no 'x'.
    let pubs = publishers(
        1,
        vec![b"bench.publish.target".to_vec()],
        payload_size,
        None,
    );
    measure(cfg, subs, payload_size, pubs, 0, Counted::Publishes).await
}

/// `subs` subscribers of one channel, one publisher paced at `rate` messages per second.
async fn latency(
    cfg: &RunConfig,
    rate: f64,
    subs: usize,
    payload_size: usize,
) -> io::Result<Report> {
    one_channel(
        cfg,
        b"bench.latency",
        subs,
        Proto::Resp2,
        1,
        payload_size,
        Some(rate),
    )
    .await
}

/// `n` idle connections, each subscribed to its own channel; reports server memory per
/// connection.
async fn memory_idle(cfg: &RunConfig, n: usize) -> io::Result<Report> {
    let probe = cfg
        .probe
        .ok_or_else(|| io::Error::other("memory scenarios need --server-pid"))?;
    let before = probe.rss_bytes()?;
    let cpu0 = cpu(cfg);
    let t0 = Instant::now();
    let groups: Vec<Vec<Vec<u8>>> = (0..n)
        .map(|i| vec![format!("bench.idle.{i}").into_bytes()])
        .collect();
    let conns = open_subscribers(cfg.addr, groups, b"SUBSCRIBE", b"subscribe", 128).await?;
    let setup = t0.elapsed().as_secs_f64();
    // Every confirmation has arrived, so the server has built all per-connection state.
    let at_setup = probe.rss_bytes()?;
    let cpu1 = cpu(cfg);
    // Idle connections are what this scenario is about, and servers trim idle clients
    // (redis frees an idle client's query buffer after 2 s in clientsCron), so the
    // headline is taken after the connections have been idle for the run duration.
    tokio::time::sleep(cfg.duration).await;
    let idle = probe.rss_bytes()?;
    let per_conn = |rss: u64| Some((rss as f64 - before as f64) / n as f64);
    let mut report = Report::default();
    report.push(
        "RSS per idle connection",
        "bytes",
        Better::Lower,
        per_conn(idle),
    );
    report.push(
        "RSS per conn at setup end",
        "bytes",
        Better::Lower,
        per_conn(at_setup),
    );
    report.push("RSS before", "MiB", Better::Info, Some(mib(before)));
    report.push("RSS after idle", "MiB", Better::Lower, Some(mib(idle)));
    report.push("connections", "", Better::Info, Some(conns.len() as f64));
    report.push("connect+subscribe", "s", Better::Lower, Some(setup));
    report.push(
        "server CPU for setup",
        "cpu-s",
        Better::Lower,
        cpu0.zip(cpu1).map(|(a, b)| b - a),
    );
    drop(conns);
    Ok(report)
}

/// One subscriber that never reads, one that does, and a publisher of 1 MiB messages:
/// does the server bound its memory, drop the slow one, and keep serving everyone else?
async fn slow_subscriber(cfg: &RunConfig) -> io::Result<Report> {
    const SIZE: usize = 1024 * 1024;
    // Paced at 100 MiB/s for the scenario duration, so the 50 ms RSS and 10 ms PING
    // samplers see the whole episode, and a server that never drops the slow subscriber
    // grows by at most `messages` MiB.
    const INTERVAL: Duration = Duration::from_millis(10);
    let messages = ((cfg.duration.as_secs_f64() / INTERVAL.as_secs_f64()) as u64).clamp(50, 600);
    let flood_limit = INTERVAL * messages as u32 + Duration::from_secs(10);
    let channel = b"bench.flood".to_vec();
    let probe = cfg.probe;

    let mut slow = Conn::connect(cfg.addr, 4096).await?;
    slow.subscribe_like(b"SUBSCRIBE", b"subscribe", std::slice::from_ref(&channel))
        .await?;
    let normal = open_subscribers(
        cfg.addr,
        vec![vec![channel.clone()]],
        b"SUBSCRIBE",
        b"subscribe",
        2 * SIZE,
    )
    .await?
    .pop()
    .expect("one connection requested");
    let mut publisher = Conn::connect(cfg.addr, 4096).await?;
    let mut pinger = Conn::connect(cfg.addr, 4096).await?;
    pinger.ping().await?;
    let baseline = probe.and_then(|p| p.rss_bytes().ok());

    let shared = Shared::new(0, 0);
    shared.window_start_ns.store(0, Relaxed);
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    tasks.spawn(load::subscriber(normal, shared.clone(), stop.clone(), SIZE));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if let Some(rss) = probe.and_then(|p| p.rss_bytes().ok()) {
                    peak = peak.max(rss);
                }
            }
            peak
        })
    };
    let ping_task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut h = Histogram::default();
            let mut failures = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let t = Instant::now();
                match pinger.ping().await {
                    Ok(()) => h.record(t.elapsed().as_nanos() as u64),
                    Err(_) => failures += 1,
                }
            }
            (h, failures)
        })
    };

    // Sequential PUBLISH: each reply time is how long the server kept this publisher waiting.
    let mut out = bytes::BytesMut::with_capacity(SIZE + 64);
    let mut stall = Histogram::default();
    let mut sent = 0u64;
    let mut last_count = None;
    let flood_start = Instant::now();
    let mut report = Report::default();
    let mut peak_inline = 0u64;
    while sent < messages && flood_start.elapsed() < flood_limit {
        tokio::time::sleep_until((flood_start + INTERVAL * sent as u32).into()).await;
        out.clear();
        resp::encode_publish_head(&mut out, &channel, SIZE);
        payload::write(
            &mut out,
            SIZE,
            Header {
                publisher: 0,
                seq: sent + 1,
                sent_ns: payload::now_ns(),
            },
        );
        out.extend_from_slice(b"\r\n");
        let t = Instant::now();
        publisher.send(&out).await?;
        sent += 1;
        shared.published.fetch_add(1, Relaxed);
        let reply = publisher
            .next_frame(|f| match f {
                Frame::Scalar(Item::Int(n)) => Some(n),
                _ => None,
            })
            .await?;
        stall.record(t.elapsed().as_nanos() as u64);
        // Also sample right after each reply: the peak often sits between sampler ticks.
        if let Some(rss) = probe.and_then(|p| p.rss_bytes().ok()) {
            peak_inline = peak_inline.max(rss);
        }
        match reply {
            Some(n) => last_count = Some(n),
            None => report.note("PUBLISH returned a non-integer reply"),
        }
    }
    let flood_secs = flood_start.elapsed().as_secs_f64();
    drain(&shared, sent).await;
    stop.cancel();
    let peak = sampler.await.map_err(io::Error::other)?.max(peak_inline);
    let (pings, ping_failures) = ping_task.await.map_err(io::Error::other)?;
    let mut normal_stats = SubStats::default();
    while let Some(r) = tasks.join_next().await {
        normal_stats = r.map_err(io::Error::other)?;
    }

    // The slow subscriber was never read; drain what the kernel and server hold for it
    // and see whether the stream ends (the server closed it) within a few seconds.
    let (slow_bytes, slow_closed) = drain_to_eof(&mut slow, Duration::from_secs(3)).await;
    let _ = slow.stream.shutdown().await;

    report.push(
        "RSS growth (peak-baseline)",
        "MiB",
        Better::Lower,
        baseline
            .zip(Some(peak).filter(|&p| p > 0))
            .map(|(b, p)| mib(p.saturating_sub(b))),
    );
    report.push(
        "slow subscriber dropped",
        "1=yes",
        Better::Info,
        Some(if slow_closed { 1.0 } else { 0.0 }),
    );
    report.push(
        "slow subscriber got",
        "MiB",
        Better::Info,
        Some(mib(slow_bytes)),
    );
    report.push("published", "msgs", Better::Info, Some(sent as f64));
    report.push(
        "last PUBLISH count",
        "subs",
        Better::Info,
        last_count.map(|n| n as f64),
    );
    report.push(
        "normal subscriber got",
        "msgs",
        Better::Info,
        Some(normal_stats.received as f64),
    );
    report.push(
        "normal subscriber lost",
        "msgs",
        Better::Lower,
        Some(sent.saturating_sub(normal_stats.received) as f64),
    );
    report.push(
        "order errors",
        "msgs",
        Better::Lower,
        Some(normal_stats.order_errors as f64),
    );
    report.push(
        "PING p99 during flood",
        "ms",
        Better::Lower,
        pings.quantile(0.99).map(|ns| ns as f64 / 1e6),
    );
    report.push(
        "publisher stall (max reply)",
        "ms",
        Better::Lower,
        stall.quantile(1.0).map(|ns| ns as f64 / 1e6),
    );
    report.push("flood duration", "s", Better::Lower, Some(flood_secs));
    if normal_stats.disconnected {
        report.note("the normal subscriber was disconnected");
    }
    if ping_failures > 0 {
        report.note(format!("{ping_failures} PINGs failed"));
    }
    if sent < messages {
        report.note(format!(
            "flood stopped by its time limit after {sent} of {messages} messages"
        ));
    }
    Ok(report)
}

/// Reads and discards until EOF/error (true) or until `limit` passes (false).
async fn drain_to_eof(conn: &mut Conn, limit: Duration) -> (u64, bool) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match tokio::time::timeout_at(deadline, conn.stream.read(&mut buf)).await {
            Err(_) => return (total, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (total, true),
            Ok(Ok(n)) => total += n as u64,
        }
    }
}
