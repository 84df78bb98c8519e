//! Issue 13's targets, checked against the medians of a `compare` run: for each one the
//! measured value (a respub/redis ratio, or respub's own figure where the target is
//! absolute) and whether it is met. Targets whose scenario was not run are left out.
//! Why a target is missed is analysis, not arithmetic: README "Issue 13's targets" says.

use std::fmt::Write as _;

use crate::report::Row;

/// What a target compares.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// respub / redis of the metric.
    Ratio,
    /// respub's own value of the metric.
    Respub,
}

#[derive(Debug, Clone, Copy)]
struct Target {
    scenario: &'static str,
    metric: &'static str,
    measure: Measure,
    /// `true`: the measured value must be at least `bound`; `false`: at most.
    at_least: bool,
    bound: f64,
}

const fn ratio(scenario: &'static str, metric: &'static str, at_least: bool, bound: f64) -> Target {
    Target {
        scenario,
        metric,
        measure: Measure::Ratio,
        at_least,
        bound,
    }
}

const THROUGHPUT: &str = "deliveries/s";
const PER_CPU: &str = "deliveries per CPU-s";
const CPU: &str = "server CPU";
const P99: &str = "latency p99";

const TARGETS: &[Target] = &[
    ratio("channels-10k", THROUGHPUT, true, 1.5),
    ratio("channels-10k", PER_CPU, true, 1.2),
    ratio("fanout-100", THROUGHPUT, true, 1.5),
    ratio("fanout-100", PER_CPU, true, 1.5),
    ratio("fanout-1000", THROUGHPUT, true, 1.5),
    ratio("fanout-1000", PER_CPU, true, 1.5),
    ratio("rooms-1000x10", THROUGHPUT, true, 1.5),
    ratio("notify-18k", P99, false, 0.8),
    ratio("notify-18k", CPU, false, 1.0),
    ratio("large-64k-100", THROUGHPUT, true, 2.0),
    ratio("large-1m-20", THROUGHPUT, true, 2.0),
    ratio("fanout-100-resp3", THROUGHPUT, true, 1.5),
    ratio("fanout-100-resp3", PER_CPU, true, 1.5),
    ratio("fanout-1000-resp3", THROUGHPUT, true, 1.5),
    ratio("fanout-1000-resp3", PER_CPU, true, 1.5),
    ratio("channels-10k-resp3", THROUGHPUT, true, 1.5),
    ratio("channels-10k-resp3", PER_CPU, true, 1.2),
    ratio("latency-10k", P99, false, 0.8),
    ratio("latency-10k", CPU, false, 0.8),
    ratio("slow-subscriber", "PING p99 during flood", false, 1.0),
    ratio("publish-only", "publishes per CPU-s", true, 1.5),
    Target {
        scenario: "memory-idle-18k",
        metric: "RSS per idle connection",
        measure: Measure::Respub,
        at_least: false,
        bound: 2048.0,
    },
];

/// One checked target.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    scenario: &'static str,
    metric: &'static str,
    wanted: String,
    measured: Option<f64>,
    met: bool,
}

fn check(rows: &[Row]) -> Vec<Checked> {
    TARGETS
        .iter()
        .filter_map(|t| {
            let row = rows
                .iter()
                .find(|r| r.scenario == t.scenario && r.metric == t.metric)?;
            let measured = match t.measure {
                Measure::Ratio => match (row.a, row.b) {
                    (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                    _ => None,
                },
                Measure::Respub => row.a,
            };
            let met = measured.is_some_and(|v| {
                if t.at_least {
                    v >= t.bound
                } else {
                    v <= t.bound
                }
            });
            let op = if t.at_least { ">=" } else { "<=" };
            let wanted = match t.measure {
                Measure::Ratio => format!("respub/redis {op} {}", t.bound),
                Measure::Respub => format!("respub {op} {} {}", t.bound, row.unit),
            };
            Some(Checked {
                scenario: t.scenario,
                metric: t.metric,
                wanted,
                measured,
                met,
            })
        })
        .collect()
}

/// The targets as a markdown table (empty if no targeted scenario ran).
pub(crate) fn markdown(rows: &[Row]) -> String {
    let checked = check(rows);
    if checked.is_empty() {
        return String::new();
    }
    let mut md =
        String::from("| scenario | metric | target | measured | met |\n|---|---|---|---:|---|\n");
    for c in &checked {
        let measured = c.measured.map_or("-".to_string(), |v| {
            if v >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        });
        let _ = writeln!(
            md,
            "| {} | {} | {} | {measured} | {} |",
            c.scenario,
            c.metric,
            c.wanted,
            if c.met { "yes" } else { "**no**" }
        );
    }
    let met = checked.iter().filter(|c| c.met).count();
    let _ = writeln!(md, "\n{met} of {} targets met.", checked.len());
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_absolute_targets_are_checked_in_both_directions() {
        let rows = vec![
            Row::sample("channels-10k", THROUGHPUT, 160.0, 100.0),
            Row::sample("channels-10k", PER_CPU, 110.0, 100.0),
            Row::sample("latency-10k", P99, 0.7, 1.0),
            Row::sample("memory-idle-18k", "RSS per idle connection", 3700.0, 5900.0),
        ];
        let checked = check(&rows);
        let met: Vec<(&str, &str, bool)> = checked
            .iter()
            .map(|c| (c.scenario, c.metric, c.met))
            .collect();
        assert_eq!(
            met,
            vec![
                ("channels-10k", THROUGHPUT, true),
                ("channels-10k", PER_CPU, false),
                ("latency-10k", P99, true),
                ("memory-idle-18k", "RSS per idle connection", false),
            ]
        );
        let md = markdown(&rows);
        assert!(
            md.contains("| channels-10k | deliveries/s | respub/redis >= 1.5 | 1.60 | yes |"),
            "{md}"
        );
        assert!(md.contains("| memory-idle-18k | RSS per idle connection | respub <= 2048 bytes | 3700 | **no** |"), "{md}");
        assert!(md.ends_with("2 of 4 targets met.\n"));
        assert_eq!(markdown(&[]), "");
    }
}
