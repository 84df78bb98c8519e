//! `respub-bench`: a pub/sub load generator that speaks RESP to any server on 127.0.0.1,
//! and a side-by-side comparison of respub against redis-server (issue: "Fan-out engine
//! that beats Redis, and a benchmark that proves it side by side").
//!
//! It encodes commands with the respub library's RESP encoder and measures whatever server
//! binary it is pointed at (respub, redis-server, or another respub build for an A/B).

mod backplane;
mod compare;
mod conn;
mod curves;
mod histogram;
mod load;
mod payload;
mod procfs;
mod report;
mod resp;
mod scenarios;
mod server;
mod targets;
mod tls;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use compare::CompareConfig;
use procfs::Probe;
use scenarios::RunConfig;

const USAGE: &str = "\
usage:
  respub-bench run --addr 127.0.0.1:PORT [--server-pid PID] --scenario NAME
                   [--duration S] [--warmup S] [--quick] [--threads N]
  respub-bench compare [--rounds N] [--respub PATH] [--redis PATH] [--scenarios a,b,...]
                   [--duration S] [--warmup S] [--quick] [--tls] [--markdown FILE] [--threads N]
  respub-bench backplane [--respub PATH] [--nats PATH] [--redis PATH|none] [--subs N] [--rate R]
                   [--duration S] [--warmup S] [--quick] [--threads N]
  respub-bench curves [--rounds N] [--respub PATH] [--redis PATH] [--duration S] [--warmup S]
                   [--quick] [--json FILE] [--svg FILE] [--markdown FILE] [--threads N]
  respub-bench plot --json FILE [--svg FILE] [--markdown FILE]
  respub-bench list
  respub-bench run ... --scenario ws-fanout-1000|ws-fanout-10000 --ws-addr 127.0.0.1:ADMIN_PORT
                   (respub only: WebSocket subscribers on the admin port; fanout-10000 is
                   the RESP figure beside it; scripts/bench-ws.sh runs all four)

run      one scenario against an already running server (CPU and RSS need --server-pid;
         slow-subscriber expects the server to run with
         --client-output-buffer-limit \"pubsub 32mb 8mb 60\")
compare  starts a fresh respub and redis-server per scenario run on free 127.0.0.1 ports,
         alternating which goes first, for N rounds (default 3; 1 with --quick), and prints
         medians side by side as text and markdown; --tls: every connection over TLS
         (certificates made with openssl; servers get --port 0 --tls-port P)
curves   cost curves: `compare` over every point of three sweeps (subscribers per channel
         1..10k, channels 1..100k, payload 16 B..1 MiB), medians written as JSON (default
         curves.json), then drawn as SVG (curves.svg) and a markdown table (curves.md)
plot     redraws the SVG and the markdown table from a `curves` JSON
backplane  one respub against three respub nodes over a 3-server NATS cluster (issue
         10): subscribers on every node, the publisher on one; deliveries/s local and
         cross-node, latency p50/p99, CPU of every process. --subs per node (default 50),
         --rate publishes/s of the latency runs (default 5000), --nats default
         /usr/sbin/nats-server; then the same on a 3-master Redis Cluster of --redis
         (default /usr/bin/redis-server; `none` skips it)
defaults: --duration 3 --warmup 1 (quick: 1 and 0.3); --respub = `respub` next to this
         executable; --redis /usr/bin/redis-server; --threads 2 (bench runtime workers)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match real_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("respub-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Flags as `--name value` pairs (and bare `--quick`).
struct Flags {
    pairs: Vec<(String, Option<String>)>,
}

impl Flags {
    fn parse(args: &[String]) -> Result<Flags, String> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument {a:?}\n{USAGE}"));
            };
            if name == "quick" || name == "tls" {
                pairs.push((name.to_string(), None));
                continue;
            }
            let v = it
                .next()
                .ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?;
            pairs.push((name.to_string(), Some(v.clone())));
        }
        Ok(Flags { pairs })
    }

    fn check_known(&self, known: &[&str]) -> Result<(), String> {
        for (n, _) in &self.pairs {
            if !known.contains(&n.as_str()) {
                return Err(format!("unknown flag --{n}\n{USAGE}"));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("bad value for --{name}: {v:?}"))
            })
            .transpose()
    }

    fn seconds(&self, name: &str, default: f64) -> Result<Duration, String> {
        let s = self.parsed::<f64>(name)?.unwrap_or(default);
        if !(0.0..=600.0).contains(&s) {
            return Err(format!("--{name} must be between 0 and 600 seconds"));
        }
        Ok(Duration::from_secs_f64(s))
    }
}

fn real_main(args: &[String]) -> Result<(), String> {
    let Some(cmd) = args.first() else {
        return Err(USAGE.to_string());
    };
    let flags = Flags::parse(&args[1..])?;
    let quick = flags.has("quick");
    let duration = flags.seconds("duration", if quick { 1.0 } else { 3.0 })?;
    let warmup = flags.seconds("warmup", if quick { 0.3 } else { 1.0 })?;
    let threads = flags.parsed::<usize>("threads")?.unwrap_or(2).clamp(1, 64);
    match cmd.as_str() {
        "list" => {
            for s in scenarios::ALL {
                println!("{s}");
            }
            Ok(())
        }
        "run" => {
            flags.check_known(&[
                "addr",
                "server-pid",
                "scenario",
                "ws-addr",
                "duration",
                "warmup",
                "quick",
                "threads",
            ])?;
            let addr: SocketAddr = flags
                .parsed("addr")?
                .ok_or_else(|| format!("run needs --addr\n{USAGE}"))?;
            if !addr.ip().is_loopback() {
                return Err("--addr must be a 127.0.0.1 address".to_string());
            }
            let scenario = flags
                .get("scenario")
                .ok_or_else(|| format!("run needs --scenario\n{USAGE}"))?
                .to_string();
            let probe = flags.parsed::<u32>("server-pid")?.map(|pid| Probe { pid });
            if probe.is_none() {
                eprintln!("note: no --server-pid, so server CPU and RSS are not reported");
            }
            let cfg = RunConfig {
                addr,
                probe,
                duration,
                warmup,
                ws_addr: flags.parsed("ws-addr")?,
            };
            block_on(threads, async move {
                let limit = scenarios::time_limit(&cfg);
                let report = tokio::time::timeout(limit, scenarios::run(&scenario, &cfg))
                    .await
                    .map_err(|_| format!("scenario did not finish within {limit:?}"))?
                    .map_err(|e| e.to_string())?;
                report.print(&scenario);
                Ok(())
            })
        }
        "compare" => {
            flags.check_known(&[
                "rounds",
                "respub",
                "redis",
                "scenarios",
                "duration",
                "warmup",
                "quick",
                "markdown",
                "threads",
                "tls",
            ])?;
            let scenario_list: Vec<String> = match flags.get("scenarios") {
                Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
                None => scenarios::ALL.iter().map(|s| s.to_string()).collect(),
            };
            for s in &scenario_list {
                if !scenarios::ALL.contains(&s.as_str()) && curves::Point::parse(s).is_none() {
                    return Err(format!(
                        "unknown scenario {s:?}; known: {}",
                        scenarios::ALL.join(",")
                    ));
                }
            }
            let cfg = compare_config(&flags, scenario_list, duration, warmup)?;
            let overall = compare_limit(&cfg);
            block_on(threads, async move {
                tokio::time::timeout(overall, compare::compare(cfg))
                    .await
                    .map_err(|_| format!("compare did not finish within {overall:?}"))?
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        }
        "curves" => {
            flags.check_known(&[
                "rounds", "respub", "redis", "duration", "warmup", "quick", "json", "svg",
                "markdown", "threads",
            ])?;
            let json_path = PathBuf::from(flags.get("json").unwrap_or("curves.json"));
            let svg_path = PathBuf::from(flags.get("svg").unwrap_or("curves.svg"));
            let md_path = PathBuf::from(flags.get("markdown").unwrap_or("curves.md"));
            let mut cfg = compare_config(&flags, curves::scenario_names(), duration, warmup)?;
            // The comparison's own markdown would be the long per-metric table; the curves
            // table is written below instead.
            cfg.markdown = None;
            let overall = compare_limit(&cfg);
            let command = format!("respub-bench {}", args.join(" "));
            let rounds = cfg.rounds;
            block_on(threads, async move {
                let rows = tokio::time::timeout(overall, compare::compare(cfg))
                    .await
                    .map_err(|_| format!("curves did not finish within {overall:?}"))?
                    .map_err(|e| e.to_string())?;
                let json = curves::to_json(&rows, &machine(), rounds, &command);
                let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
                write_file(&json_path, &text)?;
                write_file(&svg_path, &curves::svg(&json))?;
                write_file(&md_path, &curves::markdown(&json))?;
                Ok(())
            })
        }
        "plot" => {
            flags.check_known(&["json", "svg", "markdown"])?;
            let json_path = flags
                .get("json")
                .ok_or_else(|| format!("plot needs --json\n{USAGE}"))?;
            let text = std::fs::read_to_string(json_path)
                .map_err(|e| format!("cannot read {json_path}: {e}"))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{json_path} is not curves JSON: {e}"))?;
            write_file(
                &PathBuf::from(flags.get("svg").unwrap_or("curves.svg")),
                &curves::svg(&json),
            )?;
            write_file(
                &PathBuf::from(flags.get("markdown").unwrap_or("curves.md")),
                &curves::markdown(&json),
            )
        }
        "backplane" => {
            flags.check_known(&[
                "respub", "nats", "redis", "subs", "rate", "duration", "warmup", "quick", "threads",
            ])?;
            let respub = match flags.get("respub") {
                Some(p) => PathBuf::from(p),
                None => std::env::current_exe()
                    .map_err(|e| e.to_string())?
                    .with_file_name("respub"),
            };
            let cfg = backplane::BackplaneBench {
                respub,
                nats: PathBuf::from(flags.get("nats").unwrap_or("/usr/sbin/nats-server")),
                redis: match flags.get("redis").unwrap_or("/usr/bin/redis-server") {
                    "none" => None,
                    p => Some(PathBuf::from(p)),
                },
                subs: flags.parsed::<usize>("subs")?.unwrap_or(50).clamp(1, 2000),
                rate: flags
                    .parsed::<f64>("rate")?
                    .unwrap_or(5000.0)
                    .clamp(1.0, 1e6),
                duration,
                warmup,
            };
            // Four runs, each bounded by its own timeouts; this bounds the whole.
            let overall = (duration + warmup) * 6 + Duration::from_secs(240);
            block_on(threads, async move {
                tokio::time::timeout(overall, backplane::run(cfg))
                    .await
                    .map_err(|_| format!("backplane bench did not finish within {overall:?}"))?
                    .map_err(|e| e.to_string())
            })
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// The servers and rounds of `compare` and `curves`.
fn compare_config(
    flags: &Flags,
    scenarios: Vec<String>,
    duration: Duration,
    warmup: Duration,
) -> Result<CompareConfig, String> {
    let rounds = flags
        .parsed::<usize>("rounds")?
        .unwrap_or(if flags.has("quick") { 1 } else { 3 })
        .clamp(1, 20);
    let respub = match flags.get("respub") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("respub"),
    };
    Ok(CompareConfig {
        respub,
        redis: PathBuf::from(flags.get("redis").unwrap_or("/usr/bin/redis-server")),
        rounds,
        scenarios,
        duration,
        warmup,
        markdown: flags.parsed("markdown")?,
        tls: flags.has("tls"),
    })
}

/// Bounds a whole comparison: every run has its own limit, so this only triggers if
/// something is badly wrong.
fn compare_limit(cfg: &CompareConfig) -> Duration {
    let per_run = scenarios::time_limit(&RunConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        probe: None,
        duration: cfg.duration,
        warmup: cfg.warmup,
        ws_addr: None,
    }) + Duration::from_secs(25);
    per_run * (2 * cfg.rounds * cfg.scenarios.len()) as u32
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("written: {}", path.display());
    Ok(())
}

/// What the numbers were measured on: CPU model, cores, kernel and the UTC date.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (y, m, d) = civil_date(days);
    format!(
        "{model}, {cores} cores, Linux {}, {y:04}-{m:02}-{d:02}",
        kernel.trim()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One multi-threaded runtime for everything; ctrl-c drops the work future, which drops
/// (and so kills) any server the bench started and aborts every connection task.
fn block_on(
    threads: usize,
    work: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    payload::init_clock();
    // The memory scenarios hold up to 18k sockets; servers started by `compare` inherit
    // the raised limit too.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < 20_000 => eprintln!("note: open-file limit is {n}; memory-idle-18k may fail"),
        Ok(_) => {}
        Err(e) => eprintln!("note: cannot raise the open-file limit: {e}"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted; servers stopped".to_string()),
        }
    });
    // Do not wait for stuck tasks: every server guard has already been dropped.
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_date_matches_known_days() {
        assert_eq!(super::civil_date(0), (1970, 1, 1));
        assert_eq!(super::civil_date(11_016), (2000, 2, 29));
        assert_eq!(super::civil_date(20_788), (2026, 12, 1));
    }
}
