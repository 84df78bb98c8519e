//! Debian's `prometheus-redis-exporter` (redis_exporter 1.45, installed by
//! tests/clients/setup.sh) scraping respub as it scrapes Redis: `redis_up 1`, the pub/sub
//! gauges, per-command series from INFO commandstats / errorstats / latencystats, no
//! scrape error, nothing logged at warning or above, and no error reply caused by what
//! the exporter sends (CLIENT SETNAME, CONFIG GET *, INFO ALL, LATENCY LATEST, SLOWLOG
//! LEN, SLOWLOG GET 1). Every check runs against redis-server 7.0.15 too.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{cmd, free_port, Kind, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EXPORTER: &str = "/usr/bin/prometheus-redis-exporter";

/// The exporter process; killed by its own PID on Drop.
struct Exporter {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn start_exporter(redis: SocketAddr) -> Exporter {
    assert!(
        std::path::Path::new(EXPORTER).exists(),
        "{EXPORTER} is missing: run tests/clients/setup.sh (apt package prometheus-redis-exporter)"
    );
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = std::env::temp_dir().join(format!(
        "respub-admin-exporter-{}-{port}.log",
        std::process::id()
    ));
    let file = std::fs::File::create(&log).expect("exporter log file");
    let child = Command::new(EXPORTER)
        .arg("--redis.addr")
        .arg(format!("redis://{redis}"))
        .arg("--web.listen-address")
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log fd"))
        .stderr(file)
        .spawn()
        .expect("start prometheus-redis-exporter");
    let exporter = Exporter { child, addr, log };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the exporter never listened on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    exporter
}

async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("scrape within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of the sample line that starts with `series ` (exact name and labels).
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn check(kind: Kind) {
    let label = kind.label();
    let server = Server::start(kind, &[]).await;
    // Known state: 2 channels (a: 2 subscribers, b: 1), 1 pattern, 3 PUBLISH, 1 error.
    let mut subs = Vec::new();
    for ch in ["a", "a", "b"] {
        let mut c = server.connect().await;
        c.send(&cmd(&["SUBSCRIBE", ch])).await;
        c.read_frame().await;
        subs.push(c);
    }
    let mut p = server.connect().await;
    p.send(&cmd(&["PSUBSCRIBE", "x*"])).await;
    p.read_frame().await;
    subs.push(p);
    let mut c = server.connect().await;
    for (ch, n) in [("a", b":2\r\n"), ("a", b":2\r\n"), ("b", b":1\r\n")] {
        c.roundtrip(&cmd(&["PUBLISH", ch, "m"]), n).await;
    }
    c.send(&cmd(&["NOSUCHCMD"])).await;
    c.read_frame().await;

    let exporter = start_exporter(server.addr).await;
    let (status, scrape) = http_get(exporter.addr, "/metrics").await;
    assert_eq!(status, 200, "{label}: exporter /metrics");

    assert_eq!(
        value(&scrape, "redis_up"),
        Some(1.0),
        "{label}: redis_up\n{scrape}"
    );
    assert_eq!(
        value(&scrape, "redis_exporter_last_scrape_error{err=\"\"}"),
        Some(0.0),
        "{label}: last scrape error\n{scrape}"
    );
    assert_eq!(
        value(&scrape, "redis_pubsub_channels"),
        Some(2.0),
        "{label}"
    );
    assert_eq!(
        value(&scrape, "redis_pubsub_patterns"),
        Some(1.0),
        "{label}"
    );
    assert_eq!(
        value(&scrape, "redis_connected_clients"),
        Some(6.0),
        "{label}"
    );
    assert_eq!(
        value(&scrape, "redis_commands_total{cmd=\"publish\"}"),
        Some(3.0),
        "{label}: from INFO commandstats"
    );
    assert!(
        value(
            &scrape,
            "redis_commands_duration_seconds_total{cmd=\"publish\"}"
        )
        .is_some_and(|v| v > 0.0),
        "{label}: commandstats usec"
    );
    assert_eq!(
        value(&scrape, "redis_errors_total{err=\"ERR\"}"),
        Some(1.0),
        "{label}: from INFO errorstats"
    );
    for q in ["50", "99", "99.9"] {
        let series = format!("redis_latency_percentiles_usec{{cmd=\"publish\",quantile=\"{q}\"}}");
        assert!(
            value(&scrape, &series).is_some_and(|v| v > 0.0),
            "{label}: {series} from INFO latencystats"
        );
    }
    assert!(value(&scrape, "redis_slowlog_length").is_some(), "{label}");

    // Nothing the exporter sent was answered with an error: the only error reply is
    // the test's own NOSUCHCMD.
    c.send(&cmd(&["INFO", "errorstats"])).await;
    let es = String::from_utf8_lossy(&c.read_frame().await).into_owned();
    assert!(
        es.contains("errorstat_ERR:count=1\r\n") && !es.contains("count=2"),
        "{label}: the scrape caused error replies: {es}"
    );
    let log = std::fs::read_to_string(&exporter.log).expect("exporter log");
    for bad in ["level=error", "level=warning", "level=fatal"] {
        assert!(!log.contains(bad), "{label}: exporter logged {bad}:\n{log}");
    }
    drop(subs);
}

#[tokio::test]
async fn redis_exporter_scrapes_redis_server() {
    check(Kind::Redis).await;
}

#[tokio::test]
async fn redis_exporter_scrapes_respub() {
    check(Kind::Respub).await;
}
