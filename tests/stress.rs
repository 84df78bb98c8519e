//! Concurrency stress tests (issue 11, item 3): ordering and delivery guarantees that only
//! show up when several connections talk to the server at the same time.
//!
//! Every test runs its scenario against respub AND against redis-server (7.0.15, the
//! reference) at the same time, each on its own fresh process, so every check is proven on
//! the real thing. The clients write raw RESP on tokio `TcpStream`s and read the replies
//! frame by frame, so the tests control exactly what is sent and see every frame.
//!
//! The scenarios are bounded: each run stops after a maximum number of rounds or a time
//! budget, whichever comes first (a run below its minimum number of rounds goes on, up to
//! four times its budget, and fails loudly if it still falls short instead of passing
//! vacuously), and every read waits at most `WAIT`. The number of rounds depends on the
//! machine; the verdict does not: a correct server produces zero anomalies in any number
//! of rounds. The whole file takes about 20 s.
//!
//! Arrival order across connections is only as deterministic as redis-server makes it:
//! see `fence` for the one precaution that needs (without it redis-server itself answers
//! a few percent of immediate cross-connection tries out of send order).
//!
//! Each test prints one line per server and variant: rounds run, elapsed time, every anomaly
//! counter (stray / lost / out-of-order / wrong-count / misordered / wrong-encoding /
//! unexpected / bad-reply) and a few informational counters, then asserts all anomalies are
//! zero on both servers.
//!
//! Validate the checks with two Redis servers:
//! `RESPUB_BIN=/usr/bin/redis-server cargo test --test stress -- --nocapture`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use support::{cmd, frame_len, frame_payload, line, show_trunc, split_aggregate, Kind, Server};

/// Longest wait for any single frame or write. Generous: the machine is shared and both
/// servers run at once, but a correct server answers within milliseconds.
const WAIT: Duration = Duration::from_secs(5);

/// Exact RESP2 subscribe-context refusal of HELLO (spec §4).
const HELLO_REFUSED: &[u8] = b"-ERR Can't execute 'hello': only (P|S)SUBSCRIBE / \
(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";

// =======================================================================================
// Raw connection and frame decoding
// =======================================================================================

/// A raw RESP connection with its own read buffer. Unlike `support::Client` it never
/// panics (a stress run reports a failed read as the run's error) and consumes frames by
/// advancing an offset, so reading a flood of small frames is not quadratic.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    /// The last `RECENT` writes and frames, for the transcript of a failure.
    recent: VecDeque<(bool, Vec<u8>)>,
}

/// Writes and frames kept per connection for failure transcripts.
const RECENT: usize = 12;

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, String> {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connect to {addr} timed out"))?
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            pos: 0,
            recent: VecDeque::with_capacity(RECENT + 1),
        })
    }

    /// Open and switch to RESP3 when `resp3` (reading and checking the HELLO reply).
    async fn open_proto(addr: SocketAddr, resp3: bool) -> Result<Conn, String> {
        let mut c = Conn::open(addr).await?;
        if resp3 {
            c.send(&line("HELLO 3")).await?;
            let f = c.frame().await?;
            if f.first() != Some(&b'%') {
                return Err(format!("HELLO 3 answered {}", show_trunc(&f, 200)));
            }
        }
        Ok(c)
    }

    fn remember(&mut self, sent: bool, bytes: Vec<u8>) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((sent, bytes));
    }

    /// The last writes (`C:`) and frames (`S:`) on this connection, oldest first.
    fn transcript(&self) -> String {
        let mut s = String::new();
        for (sent, bytes) in &self.recent {
            let who = if *sent { "C" } else { "S" };
            s.push_str(&format!("\n        {who}: {}", show_trunc(bytes, 160)));
        }
        s
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.remember(true, bytes.to_vec());
        tokio::time::timeout(WAIT, self.stream.write_all(bytes))
            .await
            .map_err(|_| format!("write of {} bytes timed out after {WAIT:?}", bytes.len()))?
            .map_err(|e| format!("write: {e}"))
    }

    /// The next complete frame (raw bytes), waiting at most `WAIT`.
    async fn frame(&mut self) -> Result<Vec<u8>, String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match frame_len(&self.buf[self.pos..]) {
                Ok(Some(n)) => {
                    let f = self.buf[self.pos..self.pos + n].to_vec();
                    self.pos += n;
                    self.remember(false, f.clone());
                    return Ok(f);
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(format!(
                        "invalid RESP ({why}): {}",
                        show_trunc(&self.buf[self.pos..], 200)
                    ))
                }
            }
            // Only the unread tail (part of one frame) moves.
            self.buf.drain(..self.pos);
            self.pos = 0;
            self.buf.reserve(64 * 1024);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => {
                    return Err(format!(
                        "no complete frame within {WAIT:?}; partial: {}",
                        show_trunc(&self.buf, 200)
                    ))
                }
                Ok(Ok(0)) => {
                    return Err(format!(
                        "server closed the connection; partial: {}",
                        show_trunc(&self.buf, 200)
                    ))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Read and throw away whatever arrives until `stop` is set (a busy background
    /// subscriber). Returns the number of bytes discarded.
    async fn discard_until(mut self, stop: Arc<AtomicBool>) -> Result<u64, String> {
        let mut total = 0u64;
        let mut chunk = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(50), self.stream.read(&mut chunk))
                .await
            {
                Err(_) => {}
                Ok(Ok(0)) => return Err("noise subscriber: server closed".into()),
                Ok(Ok(n)) => total += n as u64,
                Ok(Err(e)) => return Err(format!("noise subscriber: read: {e}")),
            }
        }
        Ok(total)
    }
}

/// One element of a decoded array frame.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Bulk(Vec<u8>),
    Null,
    Int(i64),
    Other(Vec<u8>),
}

/// A `*` or `>` array frame, decoded one level deep.
#[derive(Debug)]
struct Arr {
    push: bool,
    items: Vec<Item>,
}

fn decode_arr(frame: &[u8]) -> Option<Arr> {
    let push = match frame.first()? {
        b'>' => true,
        b'*' => false,
        _ => return None,
    };
    let (_, raw) = split_aggregate(frame)?;
    let items = raw
        .iter()
        .map(|r| match r.first() {
            Some(b'_') => Item::Null,
            Some(b'$') if r.starts_with(b"$-1\r\n") => Item::Null,
            Some(b'$') => Item::Bulk(frame_payload(r).unwrap_or_default().to_vec()),
            Some(b':') => std::str::from_utf8(frame_payload(r).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse().ok())
                .map_or(Item::Other(r.clone()), Item::Int),
            _ => Item::Other(r.clone()),
        })
        .collect();
    Some(Arr { push, items })
}

/// Integer reply `:n`.
fn int_reply(frame: &[u8]) -> Option<i64> {
    if frame.first() != Some(&b':') {
        return None;
    }
    std::str::from_utf8(frame_payload(frame)?)
        .ok()?
        .parse()
        .ok()
}

/// Namespace of a subscription: exact channel, pattern or shard channel.
type Ns = u8;
const NS_CHANNEL: Ns = b'c';
const NS_PATTERN: Ns = b'p';
const NS_SHARD: Ns = b's';

/// What a pub/sub frame means.
#[derive(Debug)]
enum Event {
    /// `message`/`pmessage`/`smessage`: `sub` is the subscription it was delivered for
    /// (channel, pattern or shard channel), `channel` the channel it was published to.
    Message {
        push: bool,
        ns: Ns,
        sub: Vec<u8>,
        channel: Vec<u8>,
        payload: Vec<u8>,
    },
    /// A (un)subscribe confirmation: kind (`subscribe`, `punsubscribe`...), name (`None` for
    /// the null name of an argument-less unsubscribe with nothing to drop), count.
    Confirm {
        push: bool,
        kind: String,
        name: Option<Vec<u8>>,
        count: i64,
    },
    /// Anything else (replies to ordinary commands).
    Other,
}

fn event(frame: &[u8]) -> Event {
    let Some(Arr { push, items }) = decode_arr(frame) else {
        return Event::Other;
    };
    let Some(Item::Bulk(kind)) = items.first() else {
        return Event::Other;
    };
    let bulk = |i: usize| match items.get(i) {
        Some(Item::Bulk(b)) => Some(b.clone()),
        _ => None,
    };
    match (kind.as_slice(), items.len()) {
        (b"message" | b"smessage", 3) => match (bulk(1), bulk(2)) {
            (Some(ch), Some(payload)) => Event::Message {
                push,
                ns: if kind == b"message" {
                    NS_CHANNEL
                } else {
                    NS_SHARD
                },
                sub: ch.clone(),
                channel: ch,
                payload,
            },
            _ => Event::Other,
        },
        (b"pmessage", 4) => match (bulk(1), bulk(2), bulk(3)) {
            (Some(pat), Some(ch), Some(payload)) => Event::Message {
                push,
                ns: NS_PATTERN,
                sub: pat,
                channel: ch,
                payload,
            },
            _ => Event::Other,
        },
        (
            b"subscribe" | b"unsubscribe" | b"psubscribe" | b"punsubscribe" | b"ssubscribe"
            | b"sunsubscribe",
            3,
        ) => {
            let name = match &items[1] {
                Item::Bulk(b) => Some(b.clone()),
                Item::Null => None,
                _ => return Event::Other,
            };
            let Item::Int(count) = items[2] else {
                return Event::Other;
            };
            Event::Confirm {
                push,
                kind: String::from_utf8_lossy(kind).into_owned(),
                name,
                count,
            }
        }
        _ => Event::Other,
    }
}

/// Namespace a confirmation kind acts on, and whether it adds (true) or removes.
fn confirm_effect(kind: &str) -> (Ns, bool) {
    match kind {
        "subscribe" => (NS_CHANNEL, true),
        "unsubscribe" => (NS_CHANNEL, false),
        "psubscribe" => (NS_PATTERN, true),
        "punsubscribe" => (NS_PATTERN, false),
        "ssubscribe" => (NS_SHARD, true),
        _ => (NS_SHARD, false),
    }
}

/// Redis's PING reply: `+PONG` in RESP3 or with no subscription, else `*2 pong ""`.
fn pong(resp3: bool, subscribed: bool) -> &'static [u8] {
    if resp3 || !subscribed {
        b"+PONG\r\n"
    } else {
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    }
}

/// Minimal glob for the patterns used here (`prefix*`, `*suffix`).
fn glob_matches(pattern: &str, channel: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        channel.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        channel.ends_with(suffix)
    } else {
        pattern == channel
    }
}

/// Deterministic xorshift64* generator: the churn is the same on both servers.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// =======================================================================================
// Tally and the two-server harness
// =======================================================================================

/// Anomaly kinds, all printed (zeros included) in this order.
const ANOMALIES: &[&str] = &[
    "stray",
    "lost",
    "out-of-order",
    "wrong-count",
    "misordered",
    "wrong-encoding",
    "unexpected",
    "bad-reply",
];

/// Figures of one run (one server, one variant).
#[derive(Debug, Default)]
struct Tally {
    rounds: u64,
    /// A run with fewer rounds did not exercise anything worth a verdict.
    min_rounds: u64,
    anomalies: BTreeMap<&'static str, u64>,
    info: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
    /// The connection's recent traffic at the first anomaly.
    transcript: Option<String>,
    /// Why the run stopped early (a read timed out, the connection closed...).
    error: Option<String>,
    elapsed: Duration,
    /// Misordered tries accepted per 1,000 rounds: `ARRIVAL_WINDOW_PER_MILLE` for the
    /// back-to-back arrival checks, on both servers; 0 for everything else.
    misordered_per_mille: u64,
}

impl Tally {
    fn new(min_rounds: u64) -> Tally {
        Tally {
            min_rounds,
            ..Tally::default()
        }
    }

    fn anomaly(&mut self, what: &'static str, n: u64, detail: impl FnOnce() -> String) {
        debug_assert!(ANOMALIES.contains(&what), "{what}");
        *self.anomalies.entry(what).or_default() += n;
        if self.examples.len() < 6 {
            self.examples.push(format!("{what}: {}", detail()));
        }
    }

    /// Whether a run goes on: below `max` rounds and within `budget`, or past the budget
    /// (up to four times it) while the minimum is not reached yet, so a slow machine gives
    /// a slower run rather than a vacuous one.
    fn another_round(&self, max: u64, started: Instant, budget: Duration) -> bool {
        let elapsed = started.elapsed();
        self.rounds < max
            && (elapsed < budget || self.rounds < self.min_rounds)
            && elapsed < budget * 4
    }

    fn note(&mut self, what: &'static str, n: u64) {
        *self.info.entry(what).or_default() += n;
    }

    /// Keep `conn`'s recent traffic if this is the first anomaly seen.
    fn capture(&mut self, conn: &Conn) {
        if self.transcript.is_none() && !self.anomalies.is_empty() {
            self.transcript = Some(conn.transcript());
        }
    }

    /// `capture` for a pair of connections: both sides' recent traffic.
    fn capture_pair(&mut self, a: &Conn, b: &Conn) {
        if self.transcript.is_none() && !self.anomalies.is_empty() {
            self.transcript = Some(format!(
                "\n      A:{}\n      B:{}",
                a.transcript(),
                b.transcript()
            ));
        }
    }

    fn total_anomalies(&self) -> u64 {
        self.anomalies.values().sum()
    }

    fn summary(&self) -> String {
        let mut s = format!(
            "rounds={} time={:.1}s",
            self.rounds,
            self.elapsed.as_secs_f64()
        );
        for a in ANOMALIES {
            s.push_str(&format!(" {a}={}", self.anomalies.get(a).unwrap_or(&0)));
        }
        for (k, v) in &self.info {
            s.push_str(&format!(" [{k}={v}]"));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!("\n    STOPPED EARLY: {e}"));
        }
        for e in &self.examples {
            s.push_str(&format!("\n    e.g. {e}"));
        }
        if let Some(tr) = &self.transcript {
            s.push_str(&format!("\n    traffic up to the first anomaly:{tr}"));
        }
        s
    }

    /// `Some(reason)` if this run fails.
    fn verdict(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("stopped early: {e}"));
        }
        let misordered = self.anomalies.get("misordered").copied().unwrap_or(0);
        let accepted = self.rounds * self.misordered_per_mille / 1000;
        let counted = self.total_anomalies() - misordered.min(accepted);
        if counted > 0 {
            return Some(format!("{counted} anomalies"));
        }
        if self.rounds < self.min_rounds {
            return Some(format!(
                "only {} rounds (minimum {})",
                self.rounds, self.min_rounds
            ));
        }
        None
    }
}

/// One scenario at a time in this binary, and one server at a time in a scenario: each
/// server is measured on the machine's two cores alone, not against the other server, the
/// other scenarios' floods and their clients (on a 2-core machine that oversubscription
/// decides more races than either server does).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Run `scenario` against respub, then against redis-server, print every row, and fail
/// if any row of either server fails.
async fn on_both_servers<F, Fut>(name: &str, scenario: F)
where
    F: Fn(Kind) -> Fut,
    Fut: Future<Output = Vec<(String, Tally)>>,
{
    let _alone = ONE_AT_A_TIME.lock().await;
    let respub = scenario(Kind::Respub).await;
    let redis = scenario(Kind::Redis).await;
    let mut failures = Vec::new();
    for (kind, rows) in [(Kind::Respub, respub), (Kind::Redis, redis)] {
        for (label, tally) in rows {
            eprintln!(
                "stress {name} server={} {label}: {}",
                kind.label(),
                tally.summary()
            );
            if let Some(why) = tally.verdict() {
                failures.push(format!("{} {label}: {why}", kind.label()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name} failed:\n  {}",
        failures.join("\n  ")
    );
}

/// Pipeline `verb channel <seq>` (PUBLISH or SPUBLISH) in batches, rotating over
/// `channels`, until `stop` is set or `cap` commands were sent. Every reply must be an
/// integer. Returns the number of commands sent.
async fn flood(
    addr: SocketAddr,
    verb: &'static str,
    channels: Vec<String>,
    stop: Arc<AtomicBool>,
    pace: Pace,
) -> Result<u64, String> {
    let mut c = Conn::open(addr).await?;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) && seq < FLOOD_CAP {
        let batch_len = match pace {
            Pace::Paced => PACED_BATCH,
            Pace::Busy => BUSY_BATCH,
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        let mut batch = Vec::new();
        for _ in 0..batch_len {
            let ch = &channels[(seq % channels.len() as u64) as usize];
            batch.extend(cmd(&[verb, ch.as_str(), &seq.to_string()]));
            seq += 1;
        }
        c.send(&batch).await?;
        for _ in 0..batch_len {
            let f = c.frame().await?;
            if int_reply(&f).is_none() {
                return Err(format!("{verb} answered {}", show_trunc(&f, 200)));
            }
        }
    }
    Ok(seq)
}

/// How hard a flood publishes.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// `BUSY_BATCH` pipelined commands per millisecond: background load whose messages
    /// nobody parses. Heavy, but it leaves the server (and the shared machine) room to
    /// answer the connections under test within milliseconds.
    Busy,
    /// `PACED_BATCH` pipelined commands per millisecond: messages keep arriving at a rate a
    /// subscriber that checks every frame (debug build) can follow, so its rounds are not
    /// spent draining a backlog.
    Paced,
}

const PACED_BATCH: u64 = 8;
const BUSY_BATCH: u64 = 32;

/// Background load: `publishers` flood tasks over `channels`, stopped through the flag.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Result<u64, String>>>,
}

impl Load {
    fn start(
        addr: SocketAddr,
        verb: &'static str,
        channels: &[String],
        publishers: usize,
        pace: Pace,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..publishers)
            .map(|_| tokio::spawn(flood(addr, verb, channels.to_vec(), stop.clone(), pace)))
            .collect();
        Load { stop, tasks }
    }

    /// Stop the floods; returns the total commands sent, or the first flood error.
    async fn finish(self) -> Result<u64, String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = 0;
        for t in self.tasks {
            total += t.await.map_err(|e| format!("flood task: {e}"))??;
        }
        Ok(total)
    }
}

/// Upper bound on commands per flood task (the time budgets normally stop them first).
const FLOOD_CAP: u64 = 2_000_000;

// =======================================================================================
// Scenario 1: nothing for a subscription after the reply that removes it
// =======================================================================================

/// A control frame the subscriber waits for; message frames may arrive before it.
#[derive(Debug, Clone)]
enum Ctl {
    /// Confirmation `kind name count`; `None` name = any currently live name of that
    /// namespace (argument-less unsubscribe, whose frame order is unspecified).
    Confirm(&'static str, Option<&'static str>, i64),
    /// HELLO reply in the given protocol (RESP3 map, or RESP2 array starting `server`).
    Hello(u8),
    /// These exact bytes (`+RESET`, an error).
    Raw(&'static [u8]),
    /// The PING reply for the current protocol and subscription state.
    Pong,
}

#[derive(Debug, Clone)]
enum Step {
    Send(Vec<u8>),
    Expect(Ctl),
    /// Read until at least one message frame arrives (messages are flowing).
    AwaitMessage,
}

/// The subscriber's view: protocol and the subscriptions whose confirmation arrived and
/// whose removal reply did not.
#[derive(Debug, Default)]
struct SubState {
    resp3: bool,
    live: HashSet<(Ns, Vec<u8>)>,
    /// Removed (reply received) and not added again: tells a stray after the removal
    /// reply from one before the subscribe confirmation.
    removed: HashSet<(Ns, Vec<u8>)>,
}

impl SubState {
    fn add(&mut self, key: (Ns, Vec<u8>)) {
        self.removed.remove(&key);
        self.live.insert(key);
    }

    fn remove(&mut self, key: (Ns, Vec<u8>)) {
        self.live.remove(&key);
        self.removed.insert(key);
    }
}

/// Checks a message frame; `false` if the frame is not a message. `context` says what
/// the subscriber was waiting for (for the anomaly examples).
fn check_message(frame: &[u8], st: &SubState, t: &mut Tally, context: &dyn Fn() -> String) -> bool {
    let Event::Message { push, ns, sub, .. } = event(frame) else {
        return false;
    };
    t.note("messages", 1);
    if push != st.resp3 {
        t.anomaly("wrong-encoding", 1, || {
            format!(
                "message frame {} while the client is RESP{} (waiting for {})",
                show_trunc(frame, 120),
                if st.resp3 { 3 } else { 2 },
                context()
            )
        });
    }
    let key = (ns, sub);
    if !st.live.contains(&key) {
        let when = if st.removed.contains(&key) {
            "after the reply that removed its subscription"
        } else {
            "before its subscribe confirmation"
        };
        t.anomaly("stray", 1, || {
            format!(
                "{} {when} (waiting for {})",
                show_trunc(frame, 120),
                context()
            )
        });
    }
    true
}

/// Whether `frame` is the awaited control frame; applies its effect. Count and encoding
/// mismatches of an otherwise right confirmation are anomalies, not mismatches.
fn match_ctl(ctl: &Ctl, frame: &[u8], st: &mut SubState, t: &mut Tally) -> bool {
    match ctl {
        Ctl::Confirm(kind, name, count) => {
            let Event::Confirm {
                push,
                kind: got_kind,
                name: got_name,
                count: got_count,
            } = event(frame)
            else {
                return false;
            };
            if got_kind != *kind {
                return false;
            }
            let (ns, adds) = confirm_effect(kind);
            let Some(got_name) = got_name else {
                return false;
            };
            match name {
                Some(n) if n.as_bytes() != got_name.as_slice() => return false,
                None if !st.live.contains(&(ns, got_name.clone())) => return false,
                _ => {}
            }
            if push != st.resp3 {
                t.anomaly("wrong-encoding", 1, || {
                    format!(
                        "confirmation {} in the wrong protocol",
                        show_trunc(frame, 120)
                    )
                });
            }
            if got_count != *count {
                t.anomaly("wrong-count", 1, || {
                    format!("{} (want count {count})", show_trunc(frame, 120))
                });
            }
            if adds {
                st.add((ns, got_name));
            } else {
                st.remove((ns, got_name));
            }
            true
        }
        Ctl::Hello(3) if frame.first() == Some(&b'%') => {
            st.resp3 = true;
            true
        }
        Ctl::Hello(2)
            if decode_arr(frame).is_some_and(|a| {
                !a.push && a.items.first() == Some(&Item::Bulk(b"server".to_vec()))
            }) =>
        {
            st.resp3 = false;
            true
        }
        Ctl::Hello(_) => false,
        Ctl::Raw(bytes) if frame == *bytes => {
            if *bytes == b"+RESET\r\n" {
                for key in std::mem::take(&mut st.live) {
                    st.removed.insert(key);
                }
                st.resp3 = false;
            }
            true
        }
        Ctl::Raw(_) => false,
        Ctl::Pong => frame == pong(st.resp3, !st.live.is_empty()),
    }
}

async fn run_steps(
    c: &mut Conn,
    steps: &[Step],
    st: &mut SubState,
    t: &mut Tally,
) -> Result<(), String> {
    for step in steps {
        match step {
            Step::Send(bytes) => c.send(bytes).await?,
            Step::AwaitMessage => {
                let f = c.frame().await?;
                let is_message = check_message(&f, st, t, &|| "a message".to_string());
                t.capture(c);
                if !is_message {
                    t.anomaly("unexpected", 1, || {
                        format!("{} while waiting for a message", show_trunc(&f, 200))
                    });
                    t.capture(c);
                    return Err(format!("unexpected frame {}", show_trunc(&f, 200)));
                }
            }
            Step::Expect(ctl) => loop {
                let f = c.frame().await?;
                let is_message = check_message(&f, st, t, &|| format!("{ctl:?}"));
                t.capture(c);
                if is_message {
                    continue;
                }
                let matched = match_ctl(ctl, &f, st, t);
                t.capture(c);
                if matched {
                    break;
                }
                t.anomaly("unexpected", 1, || {
                    format!("{} while waiting for {ctl:?}", show_trunc(&f, 200))
                });
                t.capture(c);
                return Err(format!(
                    "unexpected frame {} while waiting for {ctl:?}",
                    show_trunc(&f, 200)
                ));
            },
        }
    }
    Ok(())
}

/// How the subscription is removed in a removal scenario.
#[derive(Debug, Clone, Copy)]
enum Removal {
    Channel,
    Pattern,
    Shard,
    UnsubscribeAll,
    Reset,
    /// RESP3 → HELLO 2 → refused HELLO 3 → UNSUBSCRIBE + HELLO 3 + SUBSCRIBE → back.
    HelloSwitch,
}

/// The flooded channels, the publish verb, the one-time setup and one round of steps.
fn removal_script(
    removal: Removal,
    resp3: bool,
) -> (&'static str, Vec<String>, Vec<Step>, Vec<Step>) {
    use Ctl::*;
    use Step::*;
    let hello3 = || {
        if resp3 {
            vec![Send(line("HELLO 3")), Expect(Hello(3))]
        } else {
            vec![]
        }
    };
    let chans = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let join = |v: &[&str]| v.iter().flat_map(|s| line(s)).collect::<Vec<u8>>();
    match removal {
        // Stays subscribed to `keep`, so a RESP2 PING answers `*2 pong ""`.
        Removal::Channel => (
            "PUBLISH",
            chans(&["c"]),
            [
                hello3(),
                vec![
                    Send(line("SUBSCRIBE keep")),
                    Expect(Confirm("subscribe", Some("keep"), 1)),
                ],
            ]
            .concat(),
            vec![
                Send(line("SUBSCRIBE c")),
                Expect(Confirm("subscribe", Some("c"), 2)),
                AwaitMessage,
                Send(join(&["UNSUBSCRIBE c", "PING"])),
                Expect(Confirm("unsubscribe", Some("c"), 1)),
                Expect(Pong),
            ],
        ),
        Removal::Pattern => (
            "PUBLISH",
            chans(&["pc.1"]),
            hello3(),
            vec![
                Send(line("PSUBSCRIBE pc.*")),
                Expect(Confirm("psubscribe", Some("pc.*"), 1)),
                AwaitMessage,
                Send(join(&["PUNSUBSCRIBE pc.*", "PING"])),
                Expect(Confirm("punsubscribe", Some("pc.*"), 0)),
                Expect(Pong),
            ],
        ),
        Removal::Shard => (
            "SPUBLISH",
            chans(&["s"]),
            [
                hello3(),
                vec![
                    Send(line("SUBSCRIBE keep")),
                    Expect(Confirm("subscribe", Some("keep"), 1)),
                ],
            ]
            .concat(),
            vec![
                Send(line("SSUBSCRIBE s")),
                Expect(Confirm("ssubscribe", Some("s"), 1)),
                AwaitMessage,
                Send(join(&["SUNSUBSCRIBE s", "PING"])),
                Expect(Confirm("sunsubscribe", Some("s"), 0)),
                Expect(Pong),
            ],
        ),
        Removal::UnsubscribeAll => (
            "PUBLISH",
            chans(&["a", "b"]),
            hello3(),
            vec![
                Send(line("SUBSCRIBE a b")),
                Expect(Confirm("subscribe", Some("a"), 1)),
                Expect(Confirm("subscribe", Some("b"), 2)),
                AwaitMessage,
                Send(join(&["UNSUBSCRIBE", "PING"])),
                Expect(Confirm("unsubscribe", None, 1)),
                Expect(Confirm("unsubscribe", None, 0)),
                Expect(Pong),
            ],
        ),
        // RESET returns to RESP2, so a RESP3 run says HELLO 3 again every round.
        Removal::Reset => (
            "PUBLISH",
            chans(&["rc"]),
            vec![],
            [
                if resp3 {
                    vec![
                        Send(join(&["HELLO 3", "SUBSCRIBE rc", "PSUBSCRIBE r*"])),
                        Expect(Hello(3)),
                    ]
                } else {
                    vec![Send(join(&["SUBSCRIBE rc", "PSUBSCRIBE r*"]))]
                },
                vec![
                    Expect(Confirm("subscribe", Some("rc"), 1)),
                    Expect(Confirm("psubscribe", Some("r*"), 2)),
                    AwaitMessage,
                    Send(join(&["RESET", "PING"])),
                    Expect(Raw(b"+RESET\r\n")),
                    Expect(Pong),
                ],
            ]
            .concat(),
        ),
        // Redis refuses HELLO in RESP2 subscribe mode, so the RESP2 → RESP3 switch happens
        // right after the last unsubscribe, in the same pipeline as the resubscribe.
        Removal::HelloSwitch => (
            "PUBLISH",
            chans(&["hc"]),
            vec![Send(line("HELLO 3")), Expect(Hello(3))],
            vec![
                Send(line("SUBSCRIBE hc")),
                Expect(Confirm("subscribe", Some("hc"), 1)),
                AwaitMessage,
                // RESP3 → RESP2 while subscribed: after the reply, only `*3` messages.
                Send(line("HELLO 2")),
                Expect(Hello(2)),
                AwaitMessage,
                // Refused in RESP2 subscribe mode: must not switch anything.
                Send(join(&["HELLO 3", "PING"])),
                Expect(Raw(HELLO_REFUSED)),
                Expect(Pong),
                AwaitMessage,
                // RESP2 → RESP3 right after the last unsubscribe: after the HELLO reply,
                // only `>3` pushes.
                Send(join(&["UNSUBSCRIBE hc", "HELLO 3", "SUBSCRIBE hc"])),
                Expect(Confirm("unsubscribe", Some("hc"), 0)),
                Expect(Hello(3)),
                Expect(Confirm("subscribe", Some("hc"), 1)),
                AwaitMessage,
                Send(join(&["UNSUBSCRIBE hc", "PING"])),
                Expect(Confirm("unsubscribe", Some("hc"), 0)),
                Expect(Pong),
            ],
        ),
    }
}

/// Most rounds per removal run, and its time budget.
const REMOVAL_ROUNDS: u64 = 800;
const REMOVAL_BUDGET: Duration = Duration::from_millis(2000);
const REMOVAL_MIN_ROUNDS: u64 = 20;

/// One subscriber doing removal rounds while two connections flood its channels.
async fn removal_run(addr: SocketAddr, removal: Removal, resp3: bool) -> Tally {
    let mut t = Tally::new(REMOVAL_MIN_ROUNDS);
    let started = Instant::now();
    let (verb, channels, setup, round) = removal_script(removal, resp3);
    let load = Load::start(addr, verb, &channels, 2, Pace::Paced);
    let result = async {
        let mut c = Conn::open(addr).await?;
        let mut st = SubState::default();
        run_steps(&mut c, &setup, &mut st, &mut t).await?;
        while t.another_round(REMOVAL_ROUNDS, started, REMOVAL_BUDGET) {
            run_steps(&mut c, &round, &mut st, &mut t).await?;
            t.rounds += 1;
        }
        Ok::<(), String>(())
    }
    .await;
    match load.finish().await {
        Ok(n) => t.note("published", n),
        Err(e) if result.is_ok() => t.error = Some(e),
        Err(_) => {}
    }
    if let Err(e) = result {
        t.error = Some(e);
    }
    t.elapsed = started.elapsed();
    t
}

/// Both protocols (except for the protocol-switch cycle, which starts in RESP3).
async fn removal_scenario(kind: Kind, removal: Removal) -> Vec<(String, Tally)> {
    let server = Server::start(kind, &[]).await;
    let protos: &[bool] = match removal {
        Removal::HelloSwitch => &[true],
        _ => &[false, true],
    };
    let mut rows = Vec::new();
    for &resp3 in protos {
        let label = match removal {
            Removal::HelloSwitch => "resp3->2->3".to_string(),
            _ => format!("resp{}", if resp3 { 3 } else { 2 }),
        };
        rows.push((label, removal_run(server.addr, removal, resp3).await));
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_after_unsubscribe_reply() {
    on_both_servers("no_message_after_unsubscribe_reply", |k| {
        removal_scenario(k, Removal::Channel)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pmessage_after_punsubscribe_reply() {
    on_both_servers("no_pmessage_after_punsubscribe_reply", |k| {
        removal_scenario(k, Removal::Pattern)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_smessage_after_sunsubscribe_reply() {
    on_both_servers("no_smessage_after_sunsubscribe_reply", |k| {
        removal_scenario(k, Removal::Shard)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_after_argumentless_unsubscribe_reply() {
    on_both_servers("no_message_after_argumentless_unsubscribe_reply", |k| {
        removal_scenario(k, Removal::UnsubscribeAll)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_after_reset_reply() {
    on_both_servers("nothing_after_reset_reply", |k| {
        removal_scenario(k, Removal::Reset)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_encoding_switches_exactly_at_hello_reply() {
    on_both_servers("message_encoding_switches_exactly_at_hello_reply", |k| {
        removal_scenario(k, Removal::HelloSwitch)
    })
    .await;
}

// =======================================================================================
// Scenario 2: no loss, per-publisher order and exact counts under subscription churn
// =======================================================================================

const CHURN_CHANNELS: [&str; 4] = ["stable", "c1", "c2", "c3"];
const CHURN_PATTERNS: [&str; 3] = ["c*", "*2", "s*"];
const CHURN_PUBLISHERS: usize = 3;
const CHURN_SUBSCRIBERS: usize = 4;
const CHURN_BUDGET: Duration = Duration::from_millis(3000);
/// Messages per publisher at most (over all channels).
const CHURN_CAP: u64 = 60_000;
const CHURN_MIN_OPS: u64 = 50;

/// What one publisher did: messages sent per channel and the sum of PUBLISH replies.
#[derive(Debug, Default)]
struct PubResult {
    sent: [u64; 4],
    deliveries: u64,
    bad_replies: Vec<String>,
}

/// Publishes `<p>:<seq>` (seq counted per channel) round-robin over `CHURN_CHANNELS`.
async fn churn_publisher(
    addr: SocketAddr,
    p: usize,
    resp3: bool,
    barrier: Arc<Barrier>,
    stop: Arc<AtomicBool>,
) -> Result<PubResult, String> {
    const BATCH: usize = 32;
    let mut c = Conn::open_proto(addr, resp3).await?;
    tokio::time::timeout(WAIT, barrier.wait())
        .await
        .map_err(|_| "barrier timed out (a subscriber failed to start)".to_string())?;
    let subs = CHURN_SUBSCRIBERS as i64;
    // Every subscriber holds `stable` from before the barrier to the end; the upper bound
    // is one delivery per subscriber for the channel plus one per matching pattern.
    let bounds: Vec<(i64, i64)> = CHURN_CHANNELS
        .iter()
        .map(|ch| {
            let pats = CHURN_PATTERNS
                .iter()
                .filter(|p| glob_matches(p, ch))
                .count() as i64;
            let lo = if *ch == "stable" { subs } else { 0 };
            (lo, subs * (1 + pats))
        })
        .collect();
    let mut r = PubResult::default();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) && (n as u64) < CHURN_CAP {
        let mut batch = Vec::new();
        let mut order = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            let k = n % CHURN_CHANNELS.len();
            let payload = format!("{p}:{}", r.sent[k]);
            batch.extend(cmd(&["PUBLISH", CHURN_CHANNELS[k], &payload]));
            r.sent[k] += 1;
            order.push(k);
            n += 1;
        }
        c.send(&batch).await?;
        for k in order {
            let f = c.frame().await?;
            match int_reply(&f) {
                Some(v) if (bounds[k].0..=bounds[k].1).contains(&v) => r.deliveries += v as u64,
                _ => {
                    r.bad_replies.push(format!(
                        "PUBLISH {} answered {} (expected {}..={})",
                        CHURN_CHANNELS[k],
                        show_trunc(&f, 80),
                        bounds[k].0,
                        bounds[k].1
                    ));
                    if let Some(v) = int_reply(&f) {
                        r.deliveries += v.max(0) as u64;
                    }
                }
            }
        }
    }
    Ok(r)
}

/// Per (subscription, channel, publisher): last sequence number seen, and whether a new
/// subscription interval began since (then any larger number may come next).
#[derive(Debug, Clone, Copy)]
struct Seen {
    last: u64,
    fresh: bool,
}

type TrackKey = (Ns, Vec<u8>, Vec<u8>, usize);

/// One churning subscriber's state and findings.
#[derive(Debug, Default)]
struct ChurnSub {
    resp3: bool,
    /// Subscriptions as sent (drives expected counts): channels and patterns.
    sent_channels: HashSet<String>,
    sent_patterns: HashSet<String>,
    /// Confirmations not yet received: (kind, name, count).
    pending: VecDeque<(&'static str, String, i64)>,
    /// Confirmed and not yet removed.
    live: HashSet<(Ns, Vec<u8>)>,
    seen: HashMap<TrackKey, Seen>,
    received: u64,
    ops: u64,
}

impl ChurnSub {
    fn count(&self) -> i64 {
        (self.sent_channels.len() + self.sent_patterns.len()) as i64
    }

    /// Queue the confirmations of `verb args` and update the as-sent state.
    fn expect(&mut self, verb: &'static str, args: &[&str]) {
        for a in args {
            let kind = match verb {
                "SUBSCRIBE" => {
                    self.sent_channels.insert(a.to_string());
                    "subscribe"
                }
                "UNSUBSCRIBE" => {
                    self.sent_channels.remove(*a);
                    "unsubscribe"
                }
                "PSUBSCRIBE" => {
                    self.sent_patterns.insert(a.to_string());
                    "psubscribe"
                }
                _ => {
                    self.sent_patterns.remove(*a);
                    "punsubscribe"
                }
            };
            self.pending.push_back((kind, a.to_string(), self.count()));
        }
    }

    /// Handle one frame; `Ok(false)` if it is neither a message nor a confirmation.
    fn handle(&mut self, frame: &[u8], t: &mut Tally) -> Result<bool, String> {
        match event(frame) {
            Event::Message {
                push,
                ns,
                sub,
                channel,
                payload,
            } => {
                self.received += 1;
                if push != self.resp3 {
                    t.anomaly("wrong-encoding", 1, || show_trunc(frame, 120));
                }
                if !self.live.contains(&(ns, sub.clone())) {
                    let name = String::from_utf8_lossy(&sub).into_owned();
                    let requested = if ns == NS_CHANNEL {
                        self.sent_channels.contains(&name)
                    } else {
                        self.sent_patterns.contains(&name)
                    };
                    let when = if requested {
                        "before its subscribe confirmation"
                    } else {
                        "after its unsubscribe confirmation"
                    };
                    t.anomaly("stray", 1, || format!("{} {when}", show_trunc(frame, 120)));
                    return Ok(true);
                }
                let text = String::from_utf8_lossy(&payload);
                let parsed = text
                    .split_once(':')
                    .and_then(|(p, s)| Some((p.parse::<usize>().ok()?, s.parse::<u64>().ok()?)));
                let Some((p, seq)) = parsed else {
                    t.anomaly("bad-reply", 1, || {
                        format!("message payload {text:?} is not <publisher>:<seq>")
                    });
                    return Ok(true);
                };
                let is_stable = ns == NS_CHANNEL && sub == b"stable";
                let key = (ns, sub, channel, p);
                match self.seen.get_mut(&key) {
                    None if is_stable && seq != 0 => {
                        t.anomaly("lost", seq, || {
                            format!("stable: first message from publisher {p} is {seq}, not 0")
                        });
                    }
                    None => {}
                    Some(s) if s.fresh && seq <= s.last => {
                        t.anomaly("out-of-order", 1, || {
                            format!("{}: {seq} after {}", show_trunc(frame, 80), s.last)
                        });
                    }
                    Some(s) if s.fresh => {}
                    Some(s) => {
                        if seq <= s.last {
                            t.anomaly("out-of-order", 1, || {
                                format!("{}: {seq} after {}", show_trunc(frame, 80), s.last)
                            });
                        } else if seq > s.last + 1 {
                            let gap = seq - s.last - 1;
                            t.anomaly("lost", gap, || {
                                format!(
                                    "{}: {seq} right after {} while subscribed",
                                    show_trunc(frame, 80),
                                    s.last
                                )
                            });
                        }
                    }
                }
                self.seen.insert(
                    key,
                    Seen {
                        last: seq,
                        fresh: false,
                    },
                );
                Ok(true)
            }
            Event::Confirm {
                push,
                kind,
                name,
                count,
            } => {
                let Some((want_kind, want_name, want_count)) = self.pending.pop_front() else {
                    t.anomaly("unexpected", 1, || {
                        format!("{} with no command pending", show_trunc(frame, 120))
                    });
                    return Err(format!("unexpected {}", show_trunc(frame, 120)));
                };
                if kind != want_kind || name.as_deref() != Some(want_name.as_bytes()) {
                    t.anomaly("unexpected", 1, || {
                        format!(
                            "{} while expecting {want_kind} {want_name}",
                            show_trunc(frame, 120)
                        )
                    });
                    return Err(format!("unexpected {}", show_trunc(frame, 120)));
                }
                if push != self.resp3 {
                    t.anomaly("wrong-encoding", 1, || show_trunc(frame, 120));
                }
                if count != want_count {
                    t.anomaly("wrong-count", 1, || {
                        format!("{} (bookkeeping says {want_count})", show_trunc(frame, 120))
                    });
                }
                let (ns, adds) = confirm_effect(&kind);
                let sub = want_name.into_bytes();
                if adds {
                    if self.live.insert((ns, sub.clone())) {
                        // A new interval: numbers may jump over what was published while
                        // not subscribed.
                        for (k, s) in self.seen.iter_mut() {
                            if k.0 == ns && k.1 == sub {
                                s.fresh = true;
                            }
                        }
                    }
                } else {
                    self.live.remove(&(ns, sub));
                }
                Ok(true)
            }
            Event::Other => Ok(false),
        }
    }
}

async fn churn_subscriber(
    addr: SocketAddr,
    s: usize,
    barrier: Arc<Barrier>,
    done: Arc<AtomicBool>,
    t: &mut Tally,
) -> Result<ChurnSub, String> {
    let resp3 = s % 2 == 1;
    let mut c = Conn::open_proto(addr, resp3).await?;
    let mut st = ChurnSub {
        resp3,
        ..ChurnSub::default()
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (s as u64 + 1));
    st.expect("SUBSCRIBE", &["stable"]);
    c.send(&line("SUBSCRIBE stable")).await?;
    while !st.pending.is_empty() {
        let f = c.frame().await?;
        if !st.handle(&f, t)? {
            return Err(format!("unexpected {}", show_trunc(&f, 120)));
        }
    }
    tokio::time::timeout(WAIT, barrier.wait())
        .await
        .map_err(|_| "barrier timed out (another client failed to start)".to_string())?;
    while !done.load(Ordering::Relaxed) {
        // 1 to 3 commands pipelined, each with 1 or 2 names (repeats allowed: a repeated
        // subscribe answers with an unchanged count, an unsubscribe of something not held
        // too).
        let mut out = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let patterns = rng.below(2) == 0;
            let verb = match (patterns, rng.below(2) == 0) {
                (false, true) => "SUBSCRIBE",
                (false, false) => "UNSUBSCRIBE",
                (true, true) => "PSUBSCRIBE",
                (true, false) => "PUNSUBSCRIBE",
            };
            let pool: &[&str] = if patterns {
                &CHURN_PATTERNS
            } else {
                &CHURN_CHANNELS[1..]
            };
            let args: Vec<&str> = (0..1 + rng.below(2))
                .map(|_| pool[rng.below(pool.len() as u64) as usize])
                .collect();
            st.expect(verb, &args);
            let mut parts = vec![verb];
            parts.extend(&args);
            out.extend(cmd(&parts));
        }
        c.send(&out).await?;
        while !st.pending.is_empty() {
            let f = c.frame().await?;
            let handled = st.handle(&f, t);
            t.capture(&c);
            if !handled? {
                return Err(format!("unexpected {}", show_trunc(&f, 120)));
            }
        }
        st.ops += 1;
    }
    // The publishers have all their replies, so every delivery they counted is queued
    // before this PING's reply.
    c.send(&line("PING")).await?;
    let want = pong(resp3, true);
    loop {
        let f = c.frame().await?;
        let handled = st.handle(&f, t);
        t.capture(&c);
        if handled? {
            continue;
        }
        if f != want {
            t.anomaly("unexpected", 1, || {
                format!("{} instead of the PING reply", show_trunc(&f, 120))
            });
            return Err(format!("unexpected {}", show_trunc(&f, 120)));
        }
        break;
    }
    Ok(st)
}

async fn churn_scenario(kind: Kind) -> Vec<(String, Tally)> {
    let server = Server::start(kind, &[]).await;
    let addr = server.addr;
    let started = Instant::now();
    let mut t = Tally::new(CHURN_MIN_OPS);
    let barrier = Arc::new(Barrier::new(CHURN_PUBLISHERS + CHURN_SUBSCRIBERS));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let publishers: Vec<_> = (0..CHURN_PUBLISHERS)
        .map(|p| {
            tokio::spawn(churn_publisher(
                addr,
                p,
                p == 2,
                barrier.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let subscribers: Vec<_> = (0..CHURN_SUBSCRIBERS)
        .map(|s| {
            let (barrier, done) = (barrier.clone(), done.clone());
            tokio::spawn(async move {
                let mut t = Tally::default();
                let r = churn_subscriber(addr, s, barrier, done, &mut t).await;
                (r, t)
            })
        })
        .collect();
    // The time budget (or the per-publisher cap) ends publishing.
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CHURN_BUDGET).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut pubs = Vec::new();
    for (p, h) in publishers.into_iter().enumerate() {
        match h.await {
            Ok(Ok(r)) => pubs.push(r),
            Ok(Err(e)) => t.error = Some(format!("publisher {p}: {e}")),
            Err(e) => t.error = Some(format!("publisher {p} task: {e}")),
        }
    }
    timer.abort();
    done.store(true, Ordering::Relaxed);
    let mut subs = Vec::new();
    for (s, h) in subscribers.into_iter().enumerate() {
        match h.await {
            Ok((r, sub_t)) => {
                for (k, v) in sub_t.anomalies {
                    *t.anomalies.entry(k).or_default() += v;
                }
                for e in sub_t.examples {
                    if t.examples.len() < 6 {
                        t.examples.push(format!("subscriber {s}: {e}"));
                    }
                }
                if t.transcript.is_none() {
                    t.transcript = sub_t.transcript.map(|tr| format!(" (subscriber {s}){tr}"));
                }
                match r {
                    Ok(st) => subs.push(st),
                    Err(e) => t.error = Some(format!("subscriber {s}: {e}")),
                }
            }
            Err(e) => t.error = Some(format!("subscriber {s} task: {e}")),
        }
    }
    if t.error.is_none() {
        churn_final_checks(&pubs, &subs, &mut t);
    }
    t.elapsed = started.elapsed();
    vec![("resp2+resp3".to_string(), t)]
}

/// After the last PING reply: nothing published while subscribed may be missing at the
/// tail, and the deliveries PUBLISH counted must equal the messages read.
fn churn_final_checks(pubs: &[PubResult], subs: &[ChurnSub], t: &mut Tally) {
    for r in pubs {
        for b in &r.bad_replies {
            t.anomaly("bad-reply", 1, || b.clone());
        }
    }
    let chan_index = |ch: &[u8]| CHURN_CHANNELS.iter().position(|c| c.as_bytes() == ch);
    for (s, st) in subs.iter().enumerate() {
        t.rounds += st.ops;
        t.note("received", st.received);
        for (p, r) in pubs.iter().enumerate() {
            let sent = r.sent[0];
            let last = st
                .seen
                .get(&(NS_CHANNEL, b"stable".to_vec(), b"stable".to_vec(), p))
                .map(|s| s.last + 1)
                .unwrap_or(0);
            if last != sent {
                t.anomaly("lost", sent.saturating_sub(last), || {
                    format!(
                        "subscriber {s}: stable from publisher {p}: {sent} published, last seen {last}"
                    )
                });
            }
        }
        // Every other subscription still held at the end, seen in its current interval,
        // must have seen its channel's last message.
        for ((ns, sub, ch, p), seen) in &st.seen {
            if seen.fresh || !st.live.contains(&(*ns, sub.clone())) {
                continue;
            }
            let Some(k) = chan_index(ch) else { continue };
            let sent = pubs[*p].sent[k];
            if seen.last + 1 != sent {
                t.anomaly("lost", sent.saturating_sub(seen.last + 1), || {
                    format!(
                        "subscriber {s}: {} {} on {} from publisher {p}: {sent} published, last seen {}",
                        *ns as char,
                        String::from_utf8_lossy(sub),
                        String::from_utf8_lossy(ch),
                        seen.last + 1
                    )
                });
            }
        }
    }
    let published: u64 = pubs.iter().map(|r| r.sent.iter().sum::<u64>()).sum();
    let deliveries: u64 = pubs.iter().map(|r| r.deliveries).sum();
    let received: u64 = subs.iter().map(|s| s.received).sum();
    t.note("published", published);
    t.note("publish-reply-sum", deliveries);
    if deliveries != received {
        t.anomaly("wrong-count", deliveries.abs_diff(received), || {
            format!("PUBLISH replies add up to {deliveries} deliveries, subscribers read {received} messages")
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_subscribers_lose_nothing_on_stable_channel() {
    on_both_servers(
        "churning_subscribers_lose_nothing_on_stable_channel",
        churn_scenario,
    )
    .await;
}

// =======================================================================================
// Scenario 3: commands on two connections take effect in arrival order
// =======================================================================================

/// Most tries per arrival-order run, and its time budget: without waiting (the race
/// itself) and after the reply (the happens-before case).
const NOWAIT_TRIES: u64 = 1000;
const NOWAIT_BUDGET: Duration = Duration::from_millis(2500);
const AFTER_REPLY_TRIES: u64 = 300;
const AFTER_REPLY_BUDGET: Duration = Duration::from_millis(1000);
const ARRIVAL_MIN_TRIES: u64 = 50;
const CLOSE_TRIES: u64 = 500;
const CLOSE_BUDGET: Duration = Duration::from_millis(2000);
const FRESH_TRIES: u64 = 1000;
const FRESH_BUDGET: Duration = Duration::from_millis(2500);

/// Before each half of a try, B and then A each run a PING to completion, so A is the
/// connection redis-server touched last. Without this fence redis-server 7.0.15 itself
/// answers a few percent of idle tries out of send order (measured here: 5-60 of 600):
/// its epoll loop is level-triggered, and a connection it served in the previous loop
/// stays on the kernel's ready list until the next poll, so when A's and B's bytes both
/// land before that poll and B is the older entry, B runs first. The fence leaves A as the
/// only possibly stale entry, and then redis-server answers in send order every time.
async fn fence(a: &mut Conn, b: &mut Conn, a_pong: &[u8]) -> Result<(), String> {
    for (c, want) in [(b, &b"+PONG\r\n"[..]), (a, a_pong)] {
        c.send(&line("PING")).await?;
        let f = c.frame().await?;
        if f != want {
            return Err(format!("fence PING answered {}", show_trunc(&f, 120)));
        }
    }
    Ok(())
}

/// Busy background for the arrival-order runs: a subscriber on `noise` that reads and
/// discards, and two connections flooding `noise`.
struct Noise {
    load: Load,
    reader: tokio::task::JoinHandle<Result<u64, String>>,
    reader_stop: Arc<AtomicBool>,
}

impl Noise {
    async fn start(addr: SocketAddr) -> Result<Noise, String> {
        let mut sub = Conn::open(addr).await?;
        sub.send(&line("SUBSCRIBE noise")).await?;
        let f = sub.frame().await?;
        if !matches!(event(&f), Event::Confirm { .. }) {
            return Err(format!("SUBSCRIBE noise answered {}", show_trunc(&f, 120)));
        }
        let reader_stop = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(sub.discard_until(reader_stop.clone()));
        let load = Load::start(addr, "PUBLISH", &["noise".to_string()], 2, Pace::Busy);
        Ok(Noise {
            load,
            reader,
            reader_stop,
        })
    }

    async fn finish(self, t: &mut Tally) -> Result<(), String> {
        t.note("noise-published", self.load.finish().await?);
        self.reader_stop.store(true, Ordering::Relaxed);
        self.reader
            .await
            .map_err(|e| format!("noise reader: {e}"))??;
        Ok(())
    }
}

/// The count in a `PUBSUB NUMSUB ch` reply (`*2 ch :n`).
fn numsub_count(frame: &[u8], ch: &str) -> Option<i64> {
    let a = decode_arr(frame)?;
    match a.items.as_slice() {
        [Item::Bulk(name), Item::Int(n)] if name == ch.as_bytes() => Some(*n),
        _ => None,
    }
}

/// Reads the next frame on A and requires it to be exactly `kind ch count`.
async fn expect_confirm(
    a: &mut Conn,
    resp3: bool,
    kind: &str,
    ch: &str,
    count: i64,
) -> Result<(), String> {
    let f = a.frame().await?;
    match event(&f) {
        Event::Confirm {
            push,
            kind: k,
            name: Some(n),
            count: c,
        } if push == resp3 && k == kind && n == ch.as_bytes() && c == count => Ok(()),
        _ => Err(format!(
            "wanted {kind} {ch} {count}, got {}",
            show_trunc(&f, 120)
        )),
    }
}

/// When B sends relative to A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Right after A's bytes are written, without reading A.
    NoWait,
    /// After A's confirmation has been read.
    AfterReply,
}

/// Per try: `SUBSCRIBE x<i>` on A then `PUBLISH x<i> m` on B (expect `:1`, and then the
/// message on A), then `UNSUBSCRIBE x<i>` on A then `PUBSUB NUMSUB x<i>` on B (expect 0).
async fn arrival_run(addr: SocketAddr, gap: Gap, busy: bool, resp3: bool) -> Tally {
    let mut t = Tally::new(ARRIVAL_MIN_TRIES);
    let (tries, budget) = match gap {
        Gap::NoWait => (NOWAIT_TRIES, NOWAIT_BUDGET),
        Gap::AfterReply => (AFTER_REPLY_TRIES, AFTER_REPLY_BUDGET),
    };
    let started = Instant::now();
    let noise = if busy {
        match Noise::start(addr).await {
            Ok(n) => Some(n),
            Err(e) => {
                t.error = Some(e);
                return t;
            }
        }
    } else {
        None
    };
    let result = async {
        let mut a = Conn::open_proto(addr, resp3).await?;
        let mut b = Conn::open_proto(addr, resp3).await?;
        for i in 0..tries {
            if !t.another_round(tries, started, budget) {
                break;
            }
            let ch = format!("x{i}");
            fence(&mut a, &mut b, pong(resp3, false)).await?;
            // Some tries let A sit idle first, so its SUBSCRIBE wakes an idle connection.
            if i % 8 == 3 {
                tokio::time::sleep(Duration::from_millis(2 + i % 4)).await;
                t.note("idle-first", 1);
            }
            a.send(&cmd(&["SUBSCRIBE", &ch])).await?;
            if gap == Gap::AfterReply {
                expect_confirm(&mut a, resp3, "subscribe", &ch, 1).await?;
            }
            b.send(&cmd(&["PUBLISH", &ch, "m"])).await?;
            let r = b.frame().await?;
            let delivered = match int_reply(&r) {
                Some(1) => true,
                Some(n) => {
                    t.anomaly("misordered", 1, || {
                        format!("try {i}: PUBLISH {ch} after SUBSCRIBE ({gap:?}) answered :{n}")
                    });
                    false
                }
                None => {
                    t.anomaly("bad-reply", 1, || {
                        format!("PUBLISH answered {}", show_trunc(&r, 120))
                    });
                    false
                }
            };
            t.capture_pair(&a, &b);
            if gap == Gap::NoWait {
                expect_confirm(&mut a, resp3, "subscribe", &ch, 1).await?;
            }
            if delivered {
                let f = a.frame().await?;
                match event(&f) {
                    Event::Message {
                        push,
                        ns: NS_CHANNEL,
                        channel,
                        payload,
                        ..
                    } if push == resp3 && channel == ch.as_bytes() && payload == b"m" => {}
                    _ => {
                        t.anomaly("lost", 1, || {
                            format!(
                                "try {i}: PUBLISH counted A but A got {}",
                                show_trunc(&f, 120)
                            )
                        });
                        return Err(format!("A out of step: {}", show_trunc(&f, 120)));
                    }
                }
            }
            fence(&mut a, &mut b, pong(resp3, true)).await?;
            a.send(&cmd(&["UNSUBSCRIBE", &ch])).await?;
            if gap == Gap::AfterReply {
                expect_confirm(&mut a, resp3, "unsubscribe", &ch, 0).await?;
            }
            b.send(&cmd(&["PUBSUB", "NUMSUB", &ch])).await?;
            let r = b.frame().await?;
            match numsub_count(&r, &ch) {
                Some(0) => {}
                Some(n) => t.anomaly("misordered", 1, || {
                    format!("try {i}: NUMSUB {ch} after UNSUBSCRIBE ({gap:?}) answered {n}")
                }),
                None => t.anomaly("bad-reply", 1, || {
                    format!("NUMSUB answered {}", show_trunc(&r, 120))
                }),
            }
            t.capture_pair(&a, &b);
            if gap == Gap::NoWait {
                expect_confirm(&mut a, resp3, "unsubscribe", &ch, 0).await?;
            }
            t.rounds += 1;
        }
        Ok::<(), String>(())
    }
    .await;
    if let Some(n) = noise {
        if let Err(e) = n.finish(&mut t).await {
            t.error.get_or_insert(e);
        }
    }
    if let Err(e) = result {
        t.error = Some(e);
    }
    t.elapsed = started.elapsed();
    t
}

/// Per try: two new connections, and at once `SUBSCRIBE z<i>` on A and `PUBLISH z<i> m`
/// on B, with no round trip on either before (in RESP3 each sends `HELLO 3` in the same
/// write). Frameworks do this when they start. The server may still be accepting A and
/// B when both commands arrive; redis-server answers `:1` every time. respub missed in
/// about one try in five while tokio registered sockets for write interest too
/// (src/transport/socket.rs says why); strict since.
async fn fresh_run(addr: SocketAddr, resp3: bool) -> Tally {
    let mut t = Tally::new(ARRIVAL_MIN_TRIES);
    let started = Instant::now();
    let hello: &[u8] = if resp3 { b"HELLO 3\r\n" } else { b"" };
    let result = async {
        for i in 0..FRESH_TRIES {
            if !t.another_round(FRESH_TRIES, started, FRESH_BUDGET) {
                break;
            }
            let ch = format!("z{i}");
            let mut a = Conn::open(addr).await?;
            let mut b = Conn::open(addr).await?;
            a.send(&[hello, &cmd(&["SUBSCRIBE", &ch])].concat()).await?;
            b.send(&[hello, &cmd(&["PUBLISH", &ch, "m"])].concat())
                .await?;
            if resp3 {
                for c in [&mut a, &mut b] {
                    let f = c.frame().await?;
                    if f.first() != Some(&b'%') {
                        return Err(format!("HELLO 3 answered {}", show_trunc(&f, 200)));
                    }
                }
            }
            let r = b.frame().await?;
            match int_reply(&r) {
                Some(1) => {}
                Some(n) => t.anomaly("misordered", 1, || {
                    format!("try {i}: PUBLISH {ch} on a new connection answered :{n}")
                }),
                None => t.anomaly("bad-reply", 1, || {
                    format!("PUBLISH answered {}", show_trunc(&r, 120))
                }),
            }
            expect_confirm(&mut a, resp3, "subscribe", &ch, 1).await?;
            if int_reply(&r) == Some(1) {
                let f = a.frame().await?;
                if !matches!(event(&f), Event::Message { channel, payload, .. }
                    if channel == ch.as_bytes() && payload == b"m")
                {
                    t.anomaly("lost", 1, || {
                        format!(
                            "try {i}: PUBLISH counted A but A got {}",
                            show_trunc(&f, 120)
                        )
                    });
                }
            }
            t.capture_pair(&a, &b);
            t.rounds += 1;
        }
        Ok::<(), String>(())
    }
    .await;
    if let Err(e) = result {
        t.error = Some(e);
    }
    t.elapsed = started.elapsed();
    t
}

/// Per try: a new connection subscribes to `y<i>` (confirmation read), closes its socket,
/// and at once B asks `PUBSUB NUMSUB y<i>`; 0 means the close took effect first.
async fn close_run(addr: SocketAddr) -> Tally {
    let mut t = Tally::new(ARRIVAL_MIN_TRIES);
    let started = Instant::now();
    let result = async {
        let mut b = Conn::open(addr).await?;
        for i in 0..CLOSE_TRIES {
            if !t.another_round(CLOSE_TRIES, started, CLOSE_BUDGET) {
                break;
            }
            let ch = format!("y{i}");
            let resp3 = i % 2 == 1;
            let mut a = Conn::open_proto(addr, resp3).await?;
            a.send(&cmd(&["SUBSCRIBE", &ch])).await?;
            expect_confirm(&mut a, resp3, "subscribe", &ch, 1).await?;
            drop(a);
            b.send(&cmd(&["PUBSUB", "NUMSUB", &ch])).await?;
            let r = b.frame().await?;
            match numsub_count(&r, &ch) {
                Some(0) => {}
                Some(n) => t.anomaly("misordered", 1, || {
                    format!(
                        "try {i}: NUMSUB {ch} sent right after the subscriber closed answered {n}"
                    )
                }),
                None => t.anomaly("bad-reply", 1, || {
                    format!("NUMSUB answered {}", show_trunc(&r, 120))
                }),
            }
            t.capture(&b);
            t.rounds += 1;
        }
        Ok::<(), String>(())
    }
    .await;
    if let Err(e) = result {
        t.error = Some(e);
    }
    t.elapsed = started.elapsed();
    t
}

/// One window is left in back-to-back arrival order, and redis-server has it too: while
/// the server's write to A is in the kernel, the kernel holds A's socket lock, so bytes
/// A's client sends on reading that reply wait in the socket's backlog and reach epoll
/// only when the write returns, possibly after B's later bytes. A preempted write makes
/// it wider. Measured: respub's release build 0 in 30,000 tries on a quiet machine; its
/// debug build (what `cargo test` runs) 1-2 per 1,000 in some runs while another build
/// kept both cores busy; redis-server 25 in 10,000 with a fresh pair of connections and
/// one PING each. Both servers get the same allowance, so the check still proves itself
/// on redis-server, and it still catches a regression of the mechanism (500-800 per
/// 1,000 without `conn::arrival`, 200 per 1,000 with tokio's read+write registration).
/// Every misordered try is printed. After a confirmed reply there is no race: strict.
const ARRIVAL_WINDOW_PER_MILLE: u64 = 10;

async fn arrival_scenario(kind: Kind, gap: Gap) -> Vec<(String, Tally)> {
    let server = Server::start(kind, &[]).await;
    let mut rows = Vec::new();
    for busy in [false, true] {
        for resp3 in [false, true] {
            let label = format!(
                "{} resp{}",
                if busy { "busy" } else { "idle" },
                if resp3 { 3 } else { 2 }
            );
            let mut tally = arrival_run(server.addr, gap, busy, resp3).await;
            if gap == Gap::NoWait {
                tally.misordered_per_mille = ARRIVAL_WINDOW_PER_MILLE;
            }
            rows.push((label, tally));
        }
    }
    rows
}

/// B's command right after A's, without reading A in between (the issue 11 race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_right_after_another_connections_command() {
    on_both_servers("command_right_after_another_connections_command", |k| {
        arrival_scenario(k, Gap::NoWait)
    })
    .await;
}

/// Once A has read its (un)subscribe confirmation, B's PUBLISH / NUMSUB must see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_subscription_change_is_visible_to_other_connections() {
    on_both_servers(
        "confirmed_subscription_change_is_visible_to_other_connections",
        |k| arrival_scenario(k, Gap::AfterReply),
    )
    .await;
}

/// SUBSCRIBE on a new connection, PUBLISH on another new one, at once: strict, both servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_new_connections_take_effect_in_arrival_order() {
    on_both_servers(
        "commands_on_new_connections_take_effect_in_arrival_order",
        |k| async move {
            let server = Server::start(k, &[]).await;
            let mut rows = Vec::new();
            for resp3 in [false, true] {
                let label = format!("resp{}", if resp3 { 3 } else { 2 });
                rows.push((label, fresh_run(server.addr, resp3).await));
            }
            rows
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numsub_after_subscriber_closes_is_zero() {
    on_both_servers("numsub_after_subscriber_closes_is_zero", |k| async move {
        let server = Server::start(k, &[]).await;
        let mut tally = close_run(server.addr).await;
        tally.misordered_per_mille = ARRIVAL_WINDOW_PER_MILLE;
        vec![("resp2+resp3".to_string(), tally)]
    })
    .await;
}
