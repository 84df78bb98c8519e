//! `respub-bench backplane`: the NATS backplane (issue 10) against one node.
//!
//! Two topologies with the same subscribers and the same publisher:
//!
//! - single: one respub (no backplane), `3 x subs` subscribers on one channel, one
//!   pipelined publisher;
//! - cluster: three `nats-server` processes with routes and three respub nodes, each on
//!   its own NATS server; `subs` subscribers on each node, the publisher on node A. Node
//!   A's subscribers are local deliveries, B's and C's cross nodes.
//!
//! Each topology runs twice: unthrottled (flow control as in the other scenarios: at
//! most `WINDOW` deliveries outstanding), for deliveries/s, and at a fixed publish rate,
//! for the latency a delivery takes from the publisher's stamp to the subscriber. The
//! cluster figures minus the single ones are what crossing NATS adds. Every process is
//! started on free loopback ports and killed by PID when the run ends; CPU is read from
//! /proc for each of them.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::conn::Conn;
use crate::histogram::Histogram;
use crate::load::{self, PubStats, PublisherSpec, Shared, SubStats};
use crate::payload;
use crate::procfs::Probe;
use crate::resp::{Frame, Item};
use crate::scenarios::{drain, open_subscribers, SUB_BUF, WINDOW};
use crate::server::{free_port, ServerProcess};

const PAYLOAD: usize = 64;
const CHANNEL: &[u8] = b"bench.backplane";

#[derive(Debug, Clone)]
pub(crate) struct BackplaneBench {
    pub(crate) respub: PathBuf,
    pub(crate) nats: PathBuf,
    /// redis-server for the Redis Cluster comparison; `None` skips it.
    pub(crate) redis: Option<PathBuf>,
    /// Subscribers per node (single: three times this on its one node).
    pub(crate) subs: usize,
    /// Publishes per second of the latency runs.
    pub(crate) rate: f64,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
}

/// A nats-server started by the bench; SIGKILLed by PID and reaped on drop.
#[derive(Debug)]
struct Nats {
    child: Child,
    port: u16,
    http: u16,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn http_get(port: u16, path: &str) -> String {
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await?;
        let mut b = Vec::new();
        s.read_to_end(&mut b).await?;
        Ok::<_, io::Error>(String::from_utf8_lossy(&b).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), fetch)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Three nats-server processes with full-mesh routes, waited on until routed.
async fn nats_cluster(bin: &Path, dir: &Path) -> io::Result<Vec<Nats>> {
    let ports: Vec<(u16, u16, u16)> = (0..3)
        .map(|_| Ok((free_port()?, free_port()?, free_port()?)))
        .collect::<io::Result<_>>()?;
    let mut servers = Vec::new();
    for (i, &(port, http, cport)) in ports.iter().enumerate() {
        let routes: Vec<String> = ports
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| format!("nats-route://127.0.0.1:{}", p.2))
            .collect();
        let conf = dir.join(format!("nats{i}.conf"));
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\ncluster {{\n  name: bench\n  \
                 listen: 127.0.0.1:{cport}\n  routes: [{}]\n}}\n",
                routes.join(", ")
            ),
        )?;
        let log = std::fs::File::create(dir.join(format!("nats{i}.log")))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", bin.display()))
            })?;
        servers.push(Nats { child, port, http });
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for s in &servers {
        while !http_get(s.http, "/routez")
            .await
            .contains("\"num_routes\": 2")
        {
            if Instant::now() > deadline {
                return Err(io::Error::other("NATS routes did not form in 15 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(servers)
}

/// Sends one command and returns the first reply's raw integer or bulk text.
async fn ask(addr: SocketAddr, args: &[&[u8]]) -> io::Result<String> {
    let mut c = Conn::connect(addr, 64 * 1024).await?;
    c.command(args).await?;
    c.next_frame(|f| {
        let text = |i: &Item<'_>| match i {
            Item::Bulk(b) | Item::Simple(b) | Item::Error(b) => {
                String::from_utf8_lossy(b).into_owned()
            }
            Item::Int(n) => n.to_string(),
            Item::Nil | Item::Aggregate => String::new(),
        };
        match &f {
            Frame::Scalar(i) => text(i),
            Frame::Array { .. } => f.items().iter().map(text).collect::<Vec<_>>().join(" "),
        }
    })
    .await
}

/// Waits until `check` holds for the reply of `args`, at most `limit`.
async fn wait_for(
    addr: SocketAddr,
    args: &[&[u8]],
    limit: Duration,
    check: impl Fn(&str) -> bool,
) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let r = ask(addr, args).await?;
        if check(&r) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{addr}: {:?} never as expected, last reply {r:?}",
                String::from_utf8_lossy(&args.concat())
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one run measured.
#[derive(Debug, Default)]
struct Run {
    publishes_per_s: f64,
    deliveries_per_s: f64,
    /// Deliveries stamped inside the window, per second: [local, cross-node].
    by_side: [f64; 2],
    latency: [Histogram; 2],
    lost: u64,
    order_errors: u64,
    /// CPU-seconds per second of each server process, by label.
    cpu: Vec<(String, f64)>,
    notes: Vec<String>,
}

/// `groups[i]` subscriber connections on `nodes[i]`; node 0 is the publisher's.
async fn measure(
    nodes: &[SocketAddr],
    per_node: usize,
    rate: Option<f64>,
    probes: &[(String, Probe)],
    cfg: &BackplaneBench,
    cluster_wide_numsub: bool,
) -> io::Result<Run> {
    let total = per_node * nodes.len();
    let shared = Shared::new(total as u64, WINDOW);
    let stop = CancellationToken::new();
    let mut subs: JoinSet<(usize, SubStats)> = JoinSet::new();
    for (i, addr) in nodes.iter().enumerate() {
        let conns = open_subscribers(
            *addr,
            vec![vec![CHANNEL.to_vec()]; per_node],
            b"SUBSCRIBE",
            b"subscribe",
            SUB_BUF,
        )
        .await?;
        for conn in conns {
            let (shared, stop) = (shared.clone(), stop.clone());
            subs.spawn(async move { (i, load::subscriber(conn, shared, stop, PAYLOAD).await) });
        }
    }
    if nodes.len() > 1 {
        // Every node counted (respub: scatter-gather NUMSUB; Redis Cluster counts its own
        // node only, so each node is asked), then a moment for the NATS interest to
        // reach the publisher's server; what is still lost is reported.
        let want = total.to_string();
        let own = per_node.to_string();
        let numsub = [&b"PUBSUB"[..], b"NUMSUB", CHANNEL];
        // respub answers NUMSUB for the whole cluster, Redis Cluster for its node.
        let expect = if cluster_wide_numsub { want } else { own };
        for n in nodes {
            wait_for(*n, &numsub, Duration::from_secs(15), |r| {
                r.ends_with(&format!(" {expect}"))
            })
            .await?;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let spec = PublisherSpec {
        id: 0,
        channels: std::sync::Arc::new(vec![CHANNEL.to_vec()]),
        first: 0,
        payload_size: PAYLOAD,
        batch: 128,
        rate,
    };
    let conn = Conn::connect(nodes[0], SUB_BUF).await?;
    let publisher = tokio::spawn(load::publisher(conn, spec, shared.clone()));

    tokio::time::sleep(cfg.warmup).await;
    let cpu0: Vec<Option<f64>> = probes.iter().map(|(_, p)| p.cpu_seconds().ok()).collect();
    let delivered0 = shared.delivered.load(Relaxed);
    let acked0 = shared.acked.load(Relaxed);
    let t0 = Instant::now();
    shared.window_start_ns.store(payload::now_ns(), Relaxed);
    tokio::time::sleep(cfg.duration).await;
    let cpu1: Vec<Option<f64>> = probes.iter().map(|(_, p)| p.cpu_seconds().ok()).collect();
    let delivered1 = shared.delivered.load(Relaxed);
    let acked1 = shared.acked.load(Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    shared.window_end_ns.store(payload::now_ns(), Relaxed);
    shared.stop.store(true, Relaxed);

    let mut run = Run::default();
    let pub_stats: PubStats = match tokio::time::timeout(Duration::from_secs(15), publisher).await {
        Ok(Ok(Ok(s))) => s,
        Ok(Ok(Err(e))) => return Err(e),
        Ok(Err(e)) => return Err(io::Error::other(e)),
        Err(_) => return Err(io::Error::other("publisher did not stop within 15 s")),
    };
    if pub_stats.errors > 0 {
        run.notes
            .push(format!("{} PUBLISH errors", pub_stats.errors));
    }
    let expected = shared.published.load(Relaxed) * total as u64;
    drain(&shared, expected).await;
    stop.cancel();
    let mut received = 0;
    while let Some(r) = subs.join_next().await {
        let (i, s) = r.map_err(io::Error::other)?;
        let side = usize::from(i > 0);
        received += s.received;
        run.order_errors += s.order_errors;
        run.by_side[side] += s.latency.count() as f64 / secs;
        run.latency[side].merge(&s.latency);
        if s.disconnected {
            run.notes
                .push(format!("a subscriber on node {i} was disconnected"));
        }
    }
    run.lost = expected.saturating_sub(received);
    run.publishes_per_s = (acked1 - acked0) as f64 / secs;
    run.deliveries_per_s = (delivered1 - delivered0) as f64 / secs;
    for (((label, _), a), b) in probes.iter().zip(cpu0).zip(cpu1) {
        if let (Some(a), Some(b)) = (a, b) {
            run.cpu.push((label.clone(), (b - a) / secs));
        }
    }
    Ok(run)
}

fn us(h: &Histogram, q: f64) -> String {
    h.quantile(q)
        .map_or("n/a".to_string(), |ns| format!("{:.0}", ns as f64 / 1000.0))
}

fn print(title: &str, r: &Run) {
    println!("{title}");
    println!("  publishes/s                 {:>12.0}", r.publishes_per_s);
    println!("  deliveries/s (all)          {:>12.0}", r.deliveries_per_s);
    println!("  deliveries/s local          {:>12.0}", r.by_side[0]);
    println!("  deliveries/s cross-node     {:>12.0}", r.by_side[1]);
    println!(
        "  latency local p50/p99 us    {:>12}",
        format!("{}/{}", us(&r.latency[0], 0.5), us(&r.latency[0], 0.99))
    );
    println!(
        "  latency cross p50/p99 us    {:>12}",
        format!("{}/{}", us(&r.latency[1], 0.5), us(&r.latency[1], 0.99))
    );
    println!(
        "  lost / order errors         {:>12}",
        format!("{}/{}", r.lost, r.order_errors)
    );
    let cpu: Vec<String> = r.cpu.iter().map(|(l, c)| format!("{l} {c:.2}")).collect();
    println!("  CPU-s/s                     {}", cpu.join(", "));
    for n in &r.notes {
        println!("  note: {n}");
    }
}

pub(crate) async fn run(cfg: BackplaneBench) -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("respub-bench-backplane-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&cfg, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(cfg: &BackplaneBench, dir: &Path) -> io::Result<()> {
    println!(
        "backplane bench: {} subscribers per node x 3, one publisher, {PAYLOAD}-byte \
         payloads, {:?} measured after {:?} warm-up; latency runs at {} publishes/s",
        cfg.subs, cfg.duration, cfg.warmup, cfg.rate
    );
    {
        let single = ServerProcess::start_with(&cfg.respub, dir, "single", &[]).await?;
        let probes = vec![
            ("respub".to_string(), Probe { pid: single.pid() }),
            (
                "bench".to_string(),
                Probe {
                    pid: std::process::id(),
                },
            ),
        ];
        let nodes = [single.addr];
        let r = measure(&nodes, 3 * cfg.subs, None, &probes, cfg, true).await?;
        print("single node, unthrottled", &r);
        let r = measure(&nodes, 3 * cfg.subs, Some(cfg.rate), &probes, cfg, true).await?;
        print(&format!("single node, {} publishes/s", cfg.rate), &r);
    }
    let nats = nats_cluster(&cfg.nats, dir).await?;
    let mut nodes = Vec::new();
    for (i, n) in nats.iter().enumerate() {
        let extra: Vec<String> = [
            "--backplane",
            "nats",
            "--backplane-cluster-name",
            "bench",
            "--backplane-nats-url",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("nats://127.0.0.1:{}", n.port)])
        .collect();
        nodes.push(ServerProcess::start_with(&cfg.respub, dir, &format!("node{i}"), &extra).await?);
    }
    for n in &nodes {
        wait_for(
            n.addr,
            &[b"INFO", b"backplane"],
            Duration::from_secs(15),
            |r| r.contains("backplane_connected:1") && r.contains("backplane_peers:2"),
        )
        .await?;
    }
    let mut probes: Vec<(String, Probe)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("respub{i}"), Probe { pid: n.pid() }))
        .collect();
    probes.extend(
        nats.iter()
            .enumerate()
            .map(|(i, n)| (format!("nats{i}"), Probe { pid: n.child.id() })),
    );
    probes.push((
        "bench".to_string(),
        Probe {
            pid: std::process::id(),
        },
    ));
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let r = measure(&addrs, cfg.subs, None, &probes, cfg, true).await?;
    print("3 nodes over NATS, unthrottled", &r);
    let r = measure(&addrs, cfg.subs, Some(cfg.rate), &probes, cfg, true).await?;
    print(&format!("3 nodes over NATS, {} publishes/s", cfg.rate), &r);
    report_drops(&nodes).await?;
    drop(nodes);
    drop(nats);
    if let Some(redis) = &cfg.redis {
        redis_cluster(cfg, redis, dir).await?;
    }
    Ok(())
}

/// The same two runs on a 3-master Redis Cluster (no replicas): PUBLISH on node A is
/// broadcast over the cluster bus to every node, which delivers to its subscribers.
async fn redis_cluster(cfg: &BackplaneBench, redis: &Path, dir: &Path) -> io::Result<()> {
    let mut nodes = Vec::new();
    for i in 0..3 {
        // The bus port is set explicitly: the default (port + 10000) may not exist.
        let bus = free_port()?;
        let extra: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            &bus.to_string(),
            "--cluster-config-file",
            &format!("nodes-bench-{i}-{}.conf", std::process::id()),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        nodes.push(ServerProcess::start_with(redis, dir, &format!("redis{i}"), &extra).await?);
    }
    let cli = redis.with_file_name("redis-cli");
    let mut create = Command::new(&cli);
    create.args(["--cluster", "create"]);
    for n in &nodes {
        create.arg(n.addr.to_string());
    }
    let out = create
        .args(["--cluster-yes"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cli.display())))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        )));
    }
    for n in &nodes {
        wait_for(
            n.addr,
            &[b"CLUSTER", b"INFO"],
            Duration::from_secs(20),
            |r| r.contains("cluster_state:ok"),
        )
        .await?;
    }
    let mut probes: Vec<(String, Probe)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("redis{i}"), Probe { pid: n.pid() }))
        .collect();
    probes.push((
        "bench".to_string(),
        Probe {
            pid: std::process::id(),
        },
    ));
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let r = measure(&addrs, cfg.subs, None, &probes, cfg, false).await?;
    print("3-node Redis Cluster (redis-server), unthrottled", &r);
    let r = measure(&addrs, cfg.subs, Some(cfg.rate), &probes, cfg, false).await?;
    print(
        &format!(
            "3-node Redis Cluster (redis-server), {} publishes/s",
            cfg.rate
        ),
        &r,
    );
    Ok(())
}

async fn report_drops(nodes: &[ServerProcess]) -> io::Result<()> {
    for n in nodes {
        let i = ask(n.addr, &[b"INFO", b"backplane"]).await?;
        let dropped: Vec<&str> = i
            .lines()
            .filter(|l| l.starts_with("backplane_dropped") && !l.ends_with(":0"))
            .collect();
        if !dropped.is_empty() {
            println!("  node {}: {}", n.addr, dropped.join(" "));
        }
    }
    Ok(())
}
