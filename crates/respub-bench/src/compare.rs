//! Side-by-side runs: a fresh server process per scenario run, the two servers alternating
//! which goes first, several rounds, then medians per metric.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::procfs::Probe;
use crate::report::{self, Better, Report, Row};
use crate::scenarios::{self, RunConfig};
use crate::server::ServerProcess;

#[derive(Debug, Clone)]
pub(crate) struct CompareConfig {
    pub(crate) respub: PathBuf,
    pub(crate) redis: PathBuf,
    pub(crate) rounds: usize,
    pub(crate) scenarios: Vec<String>,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    /// Where the markdown table is also written, if anywhere.
    pub(crate) markdown: Option<PathBuf>,
    /// Every connection over TLS (`tls`).
    pub(crate) tls: bool,
}

const NAMES: [&str; 2] = ["respub", "redis"];

/// Runs everything, prints the tables and returns the medians. Servers are stopped on every
/// path because each `ServerProcess` lives only inside `one_run`.
pub(crate) async fn compare(cfg: CompareConfig) -> io::Result<Vec<Row>> {
    let workdir = std::env::temp_dir().join(format!("respub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&workdir)?;
    if cfg.tls {
        crate::tls::enable(&workdir.join("tls"))?;
    }
    let bins = [cfg.respub.clone(), cfg.redis.clone()];
    for bin in &bins {
        if !bin.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("server binary {} not found", bin.display()),
            ));
        }
    }
    println!(
        "compare: respub={} redis={} rounds={} scenarios={} duration={:?} warmup={:?} \
         transport={}",
        bins[0].display(),
        bins[1].display(),
        cfg.rounds,
        cfg.scenarios.len(),
        cfg.duration,
        cfg.warmup,
        if cfg.tls { "tls" } else { "tcp" }
    );
    // results[scenario][server] = one report per round (None when the run failed).
    let mut results: BTreeMap<&str, [Vec<Option<Report>>; 2]> = BTreeMap::new();
    let started = Instant::now();
    let mut failures = 0;
    for round in 0..cfg.rounds {
        for (i, scenario) in cfg.scenarios.iter().enumerate() {
            let order = if (round + i) % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let r = one_run(&bins[s], &workdir, NAMES[s], scenario, &cfg).await;
                let line = match &r {
                    Ok(rep) => headline(rep),
                    Err(e) => {
                        failures += 1;
                        format!("FAILED: {e}")
                    }
                };
                println!(
                    "[{:>5.0}s] round {}/{} {:<24} {:<7} {}",
                    started.elapsed().as_secs_f64(),
                    round + 1,
                    cfg.rounds,
                    scenario,
                    NAMES[s],
                    line
                );
                results.entry(scenario.as_str()).or_default()[s].push(r.ok());
            }
        }
    }

    let mut rows = Vec::new();
    for scenario in &cfg.scenarios {
        let Some(per_server) = results.get(scenario.as_str()) else {
            continue;
        };
        rows.extend(medians(scenario, per_server));
    }
    let (text, md) = report::comparison_tables(&rows, NAMES[0], NAMES[1]);
    println!(
        "\nmedians over {} round(s); ratio = respub/redis; {} failed run(s); {:.0}s total\n",
        cfg.rounds,
        failures,
        started.elapsed().as_secs_f64()
    );
    println!("{text}");
    println!("{md}");
    let targets = crate::targets::markdown(&rows);
    let mut md = md;
    if !targets.is_empty() {
        println!("issue 13 targets, from these medians:\n\n{targets}");
        md.push_str("\n### Issue 13 targets, from these medians\n\n");
        md.push_str(&targets);
    }
    if let Some(path) = &cfg.markdown {
        std::fs::write(path, &md)?;
        println!("markdown written to {}", path.display());
    }
    for per_server in results.values() {
        for (s, reports) in per_server.iter().enumerate() {
            for rep in reports.iter().flatten() {
                for n in &rep.notes {
                    println!("note ({}): {n}", NAMES[s]);
                }
            }
        }
    }
    // Logs are only interesting when something failed.
    if failures == 0 {
        let _ = std::fs::remove_dir_all(&workdir);
    } else {
        println!("server logs kept in {}", workdir.display());
    }
    Ok(rows)
}

async fn one_run(
    bin: &Path,
    workdir: &Path,
    tag: &str,
    scenario: &str,
    cfg: &CompareConfig,
) -> io::Result<Report> {
    let server = ServerProcess::start(bin, workdir, tag).await?;
    let run_cfg = RunConfig {
        addr: server.addr,
        probe: Some(Probe { pid: server.pid() }),
        duration: cfg.duration,
        warmup: cfg.warmup,
        ws_addr: None,
    };
    let limit = scenarios::time_limit(&run_cfg);
    let r = tokio::time::timeout(limit, scenarios::run(scenario, &run_cfg))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("over {limit:?}")))?;
    drop(server);
    r
}

/// The first metric, which each scenario puts first because it is its headline.
fn headline(r: &Report) -> String {
    let mut s = r
        .metrics
        .first()
        .map(|m| format!("{} = {} {}", m.name, report::fmt_value(m.value), m.unit))
        .unwrap_or_default();
    if !r.notes.is_empty() {
        s.push_str(&format!(" ({} note(s))", r.notes.len()));
    }
    s
}

fn medians(scenario: &str, per_server: &[Vec<Option<Report>>; 2]) -> Vec<Row> {
    // Metric order comes from the first successful report of either server.
    let Some(template) = per_server.iter().flatten().flatten().next() else {
        return vec![Row {
            scenario: scenario.to_string(),
            metric: "all runs failed",
            unit: "",
            better: Better::Info,
            a: None,
            b: None,
        }];
    };
    template
        .metrics
        .iter()
        .map(|m| {
            let med = |s: usize| {
                let values: Vec<Option<f64>> = per_server[s]
                    .iter()
                    .flatten()
                    .map(|r| r.metrics.iter().find(|x| x.name == m.name)?.value)
                    .collect();
                report::median(&values)
            };
            Row {
                scenario: scenario.to_string(),
                metric: m.name,
                unit: m.unit,
                better: m.better,
                a: med(0),
                b: med(1),
            }
        })
        .collect()
}
