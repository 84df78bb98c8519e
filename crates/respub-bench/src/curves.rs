//! Cost curves (issue 13): deliveries/s and server CPU of respub and redis-server as one
//! dimension of the load grows while the others stay put: subscribers per channel
//! (1 -> 10,000), channels with one subscriber each (1 -> 100,000) and payload size
//! (16 B -> 1 MiB). Each point is an ordinary flow-controlled scenario (`curve-<sweep>-<x>`)
//! run by `compare`, so the servers are fresh per run and alternate which goes first.
//!
//! `curves` writes the medians as JSON; `plot` turns that JSON into an SVG (two rows of
//! log-x charts: throughput, then server CPU) and a markdown table, so the picture in the
//! README can be regenerated from the numbers without running anything again.
//!
//! The SVG is written by hand rather than with plotters: plotters lays text out with a font
//! backend (FreeType/fontconfig, or a bundled font file) even for SVG output, and six line
//! charts with log axes need about 150 lines of string formatting and no font at all.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::report::Row;

/// What a sweep varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// One channel, N subscriber connections.
    Subscribers,
    /// N channels with one subscriber each, on min(N, 200) connections.
    Channels,
    /// One channel with `PAYLOAD_SUBSCRIBERS` subscribers, N-byte payloads.
    Payload,
}

/// Subscribers of the payload sweep (the same as the `large-1m-20` scenario).
pub(crate) const PAYLOAD_SUBSCRIBERS: usize = 20;

const SWEEPS: [(Sweep, &str, &[usize]); 3] = [
    (Sweep::Subscribers, "subs", &[1, 10, 100, 1_000, 10_000]),
    (
        Sweep::Channels,
        "channels",
        &[1, 10, 100, 1_000, 10_000, 100_000],
    ),
    (
        Sweep::Payload,
        "payload",
        &[16, 256, 4_096, 65_536, 1_048_576],
    ),
];

/// One point of one sweep, named `curve-<sweep>-<x>` as a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) sweep: Sweep,
    pub(crate) x: usize,
}

impl Point {
    /// The point a scenario name stands for; only the sweep's own x values are accepted.
    pub(crate) fn parse(name: &str) -> Option<Point> {
        let rest = name.strip_prefix("curve-")?;
        SWEEPS.iter().find_map(|(sweep, tag, xs)| {
            let x: usize = rest.strip_prefix(tag)?.strip_prefix('-')?.parse().ok()?;
            xs.contains(&x).then_some(Point { sweep: *sweep, x })
        })
    }
}

/// Every point's scenario name, sweep by sweep.
pub(crate) fn scenario_names() -> Vec<String> {
    SWEEPS
        .iter()
        .flat_map(|(_, tag, xs)| xs.iter().map(move |x| format!("curve-{tag}-{x}")))
        .collect()
}

/// The medians of a `curves` run as JSON, with what the reader needs to know about the run.
pub(crate) fn to_json(rows: &[Row], machine: &str, rounds: usize, command: &str) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "scenario": r.scenario,
                "metric": r.metric,
                "unit": r.unit,
                "respub": r.a,
                "redis": r.b,
            })
        })
        .collect();
    json!({
        "machine": machine,
        "rounds": rounds,
        "command": command,
        "rows": rows,
    })
}

/// One server's value of `metric` at every point of `sweep` that has one.
fn series(json: &Value, sweep: Sweep, metric: &str, server: &str) -> Vec<(f64, f64)> {
    let rows = json["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r["metric"] == metric)
        .filter_map(|r| {
            let p = Point::parse(r["scenario"].as_str()?)?;
            (p.sweep == sweep).then_some((p.x as f64, r[server].as_f64()?))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

const TITLES: [(Sweep, &str); 3] = [
    (Sweep::Subscribers, "subscribers per channel"),
    (Sweep::Channels, "channels (1 subscriber each)"),
    (Sweep::Payload, "payload bytes (20 subscribers)"),
];
const THROUGHPUT: &str = "deliveries/s";
const CPU: &str = "server CPU";
const PER_CPU: &str = "deliveries per CPU-s";
const COLORS: [(&str, &str); 2] = [("respub", "#1f6fb4"), ("redis", "#c0392b")];

/// The markdown table of a `curves` JSON: one block of rows per sweep.
pub(crate) fn markdown(json: &Value) -> String {
    let mut md = String::new();
    md.push_str(
        "| sweep | x | respub deliveries/s | redis deliveries/s | ratio | respub CPU (cpu-s/s) \
         | redis CPU (cpu-s/s) | per CPU-s ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (sweep, title) in TITLES {
        let get = |metric: &str, server: &str| series(json, sweep, metric, server);
        let (a, b) = (get(THROUGHPUT, "respub"), get(THROUGHPUT, "redis"));
        let (ca, cb) = (get(CPU, "respub"), get(CPU, "redis"));
        let (pa, pb) = (get(PER_CPU, "respub"), get(PER_CPU, "redis"));
        let at = |s: &[(f64, f64)], x: f64| s.iter().find(|p| p.0 == x).map(|p| p.1);
        let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) if y > 0.0 => format!("{:.2}", x / y),
            _ => "-".to_string(),
        };
        let num =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        let mut xs: Vec<f64> = a.iter().chain(b.iter()).map(|p| p.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for x in xs {
            let label = if sweep == Sweep::Payload {
                bytes(x)
            } else {
                si(x)
            };
            let _ = writeln!(
                md,
                "| {title} | {label} | {} | {} | {} | {} | {} | {} |",
                num(at(&a, x), 0),
                num(at(&b, x), 0),
                ratio(at(&a, x), at(&b, x)),
                num(at(&ca, x), 2),
                num(at(&cb, x), 2),
                ratio(at(&pa, x), at(&pb, x)),
            );
        }
    }
    md
}

/// A payload size in binary units: 16 B, 4 KiB, 1 MiB.
fn bytes(v: f64) -> String {
    let v = v as u64;
    match v {
        v if v >= 1 << 20 && v % (1 << 20) == 0 => format!("{} MiB", v >> 20),
        v if v >= 1 << 10 && v % (1 << 10) == 0 => format!("{} KiB", v >> 10),
        v => format!("{v} B"),
    }
}

/// Compact number for axis labels and tables: 1, 10, 1k, 64k, 1M.
fn si(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if (scaled - scaled.round()).abs() < 0.05 {
        format!("{}{suffix}", scaled.round())
    } else {
        format!("{scaled:.1}{suffix}")
    }
}

const PANEL_W: f64 = 400.0;
const PANEL_H: f64 = 290.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 48.0;

/// The SVG of a `curves` JSON: throughput (log y) on the first row, server CPU on the
/// second, one column per sweep; blue respub, red redis-server.
pub(crate) fn svg(json: &Value) -> String {
    let width = PANEL_W * 3.0;
    let height = PANEL_H * 2.0 + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let machine = json["machine"].as_str().unwrap_or("");
    let _ = writeln!(
        out,
        r#"<text x="10" y="{}" font-size="11" fill="gray">respub (blue) vs redis-server (red), medians; {}</text>"#,
        height - 12.0,
        escape(machine)
    );
    for (col, (sweep, title)) in TITLES.iter().enumerate() {
        let x0 = col as f64 * PANEL_W;
        for (row, (metric, label, log_y)) in [
            (THROUGHPUT, "deliveries/s", true),
            (CPU, "server CPU (cpu-s/s)", false),
        ]
        .into_iter()
        .enumerate()
        {
            let lines: Vec<(&str, Vec<(f64, f64)>)> = COLORS
                .iter()
                .map(|(server, color)| (*color, series(json, *sweep, metric, server)))
                .collect();
            panel(
                &mut out,
                x0,
                row as f64 * PANEL_H,
                title,
                label,
                log_y,
                &lines,
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One chart: frame, grid, labelled ticks, and one polyline with dots per series.
fn panel(
    out: &mut String,
    x0: f64,
    y0: f64,
    title: &str,
    y_label: &str,
    log_y: bool,
    lines: &[(&str, Vec<(f64, f64)>)],
) {
    let all: Vec<(f64, f64)> = lines.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    let (plot_x, plot_y) = (x0 + LEFT, y0 + TOP);
    let (plot_w, plot_h) = (PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="13" font-weight="bold">{} vs {}</text>"#,
        plot_x + plot_w / 2.0,
        y0 + 20.0,
        escape(y_label),
        escape(title)
    );
    let _ = writeln!(
        out,
        "<rect x=\"{plot_x}\" y=\"{plot_y}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#333\"/>"
    );
    let positive = |v: f64| v.max(1e-9);
    let (x_lo, x_hi) = decades(all.iter().map(|p| positive(p.0)));
    let (y_lo, y_hi) = if log_y {
        decades(all.iter().map(|p| positive(p.1)))
    } else {
        let max = all.iter().map(|p| p.1).fold(0.0, f64::max);
        (0.0, ((max * 4.0).ceil() / 4.0).max(0.25))
    };
    let sx = |x: f64| plot_x + (positive(x).log10() - x_lo) / (x_hi - x_lo) * plot_w;
    let sy = |y: f64| {
        let t = if log_y {
            (positive(y).log10() - y_lo) / (y_hi - y_lo)
        } else {
            (y - y_lo) / (y_hi - y_lo)
        };
        plot_y + plot_h - t * plot_h
    };
    // X ticks at every power of ten.
    let mut e = x_lo;
    while e <= x_hi + 1e-9 {
        let x = sx(10f64.powf(e));
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{plot_y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            plot_y + plot_h,
            plot_y + plot_h + 15.0,
            si(10f64.powf(e))
        );
        e += 1.0;
    }
    // Y ticks: powers of ten, or five even steps.
    let ticks: Vec<f64> = if log_y {
        (y_lo as i32..=y_hi as i32).map(|e| 10f64.powi(e)).collect()
    } else {
        (0..=4)
            .map(|i| y_lo + (y_hi - y_lo) * i as f64 / 4.0)
            .collect()
    };
    for v in ticks {
        let y = sy(v);
        let text = if log_y { si(v) } else { format!("{v:.2}") };
        let _ = writeln!(
            out,
            "<line x1=\"{plot_x}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{text}</text>",
            plot_x + plot_w,
            plot_x - 6.0,
            y + 4.0
        );
    }
    for (color, points) in lines {
        let path: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for &(x, y) in points {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>",
                sx(x),
                sy(y)
            );
        }
    }
}

/// The whole decades (as log10 exponents) that cover `values`.
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_name_parses_back_and_nothing_else_does() {
        let names = scenario_names();
        assert_eq!(names.len(), 16);
        for name in &names {
            assert!(Point::parse(name).is_some(), "{name}");
        }
        assert_eq!(
            Point::parse("curve-payload-1048576"),
            Some(Point {
                sweep: Sweep::Payload,
                x: 1_048_576
            })
        );
        assert_eq!(Point::parse("curve-subs-7"), None);
        assert_eq!(Point::parse("curve-subs-"), None);
        assert_eq!(Point::parse("fanout-100"), None);
    }

    #[test]
    fn json_round_trips_into_table_and_chart() {
        let rows = vec![
            Row::sample("curve-subs-1", THROUGHPUT, 100.0, 50.0),
            Row::sample("curve-subs-10", THROUGHPUT, 1000.0, 400.0),
            Row::sample("curve-subs-10", CPU, 1.5, 1.0),
            Row::sample("curve-subs-10", PER_CPU, 900.0, 450.0),
        ];
        let json = to_json(&rows, "test machine", 1, "respub-bench curves");
        let md = markdown(&json);
        assert!(
            md.contains(
                "| subscribers per channel | 10 | 1000 | 400 | 2.50 | 1.50 | 1.00 | 2.00 |"
            ),
            "{md}"
        );
        assert!(md.contains("| subscribers per channel | 1 | 100 | 50 | 2.00 | - | - | - |"));
        let payload = to_json(
            &[Row::sample("curve-payload-65536", THROUGHPUT, 3.0, 1.0)],
            "m",
            1,
            "c",
        );
        assert!(markdown(&payload)
            .contains("| payload bytes (20 subscribers) | 64 KiB | 3 | 1 | 3.00 |"));
        let svg = svg(&json);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        // Two series with two and one points on the throughput chart of the first sweep.
        assert_eq!(svg.matches("<polyline").count(), 2 * 2 * 3);
        assert_eq!(svg.matches("<circle").count(), 2 * 2 + 2);
    }
}
