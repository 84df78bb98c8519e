//! Scenario results as named metrics, and the tables that print them: one run, or medians
//! of several rounds side by side for two servers.

use std::fmt::Write as _;

/// Which direction is better, so ratios can be read at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Higher,
    Lower,
    /// Context only (counts, flags); no direction.
    Info,
}

#[derive(Debug, Clone)]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) value: Option<f64>,
    pub(crate) better: Better,
}

/// Everything one scenario run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) metrics: Vec<Metric>,
    /// Surprises worth reading (disconnects, errors, timeouts), one line each.
    pub(crate) notes: Vec<String>,
}

impl Report {
    pub(crate) fn push(
        &mut self,
        name: &'static str,
        unit: &'static str,
        better: Better,
        value: Option<f64>,
    ) {
        self.metrics.push(Metric {
            name,
            unit,
            value,
            better,
        });
    }

    pub(crate) fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    pub(crate) fn print(&self, scenario: &str) {
        println!("scenario {scenario}");
        for m in &self.metrics {
            println!("  {:<28} {:>14} {}", m.name, fmt_value(m.value), m.unit);
        }
        for n in &self.notes {
            println!("  note: {n}");
        }
    }
}

pub(crate) fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(v) if v.is_nan() => "n/a".to_string(),
        Some(v) if v == v.trunc() && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// Median of the values present; `None` when no run produced the metric.
pub(crate) fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// One comparison row: metric medians for both servers.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) metric: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) better: Better,
    pub(crate) a: Option<f64>,
    pub(crate) b: Option<f64>,
}

impl Row {
    /// A row of medians for tests: `a` respub's, `b` redis-server's, in bytes.
    #[cfg(test)]
    pub(crate) fn sample(scenario: &str, metric: &'static str, a: f64, b: f64) -> Row {
        Row {
            scenario: scenario.to_string(),
            metric,
            unit: "bytes",
            better: Better::Higher,
            a: Some(a),
            b: Some(b),
        }
    }

    fn ratio(&self) -> String {
        match (self.a, self.b, self.better) {
            (_, _, Better::Info) => "-".to_string(),
            (Some(a), Some(b), _) if b != 0.0 => {
                let r = a / b;
                // Pattern indexes make ratios span 1000x either way; keep 3 digits visible.
                match r.abs() {
                    x if x >= 100.0 => format!("{r:.0}"),
                    x if x >= 10.0 => format!("{r:.1}"),
                    x if x >= 0.1 || x == 0.0 => format!("{r:.2}"),
                    _ => format!("{r:.4}"),
                }
            }
            _ => "-".to_string(),
        }
    }

    fn better_mark(&self) -> &'static str {
        match self.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Info => "",
        }
    }
}

/// A fixed-width text table and a markdown table of the same rows.
pub(crate) fn comparison_tables(rows: &[Row], a_name: &str, b_name: &str) -> (String, String) {
    let mut text = String::new();
    let w_s = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let w_m = rows
        .iter()
        .map(|r| r.metric.len() + r.unit.len() + 3)
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        text,
        "{:<w_s$}  {:<w_m$}  {:>14}  {:>14}  {:>8}  better",
        "scenario", "metric", a_name, b_name, "ratio"
    );
    let mut md = format!(
        "| scenario | metric | {a_name} | {b_name} | {a_name}/{b_name} | better |\n|---|---|---:|---:|---:|---|\n"
    );
    let mut last = "";
    for r in rows {
        let scen = if r.scenario == last { "" } else { &r.scenario };
        last = &r.scenario;
        let metric = if r.unit.is_empty() {
            r.metric.to_string()
        } else {
            format!("{} ({})", r.metric, r.unit)
        };
        let _ = writeln!(
            text,
            "{:<w_s$}  {:<w_m$}  {:>14}  {:>14}  {:>8}  {}",
            scen,
            metric,
            fmt_value(r.a),
            fmt_value(r.b),
            r.ratio(),
            r.better_mark()
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            scen,
            metric,
            fmt_value(r.a),
            fmt_value(r.b),
            r.ratio(),
            r.better_mark()
        );
    }
    (text, md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ignores_missing_and_averages_even_counts() {
        assert_eq!(median(&[Some(3.0), None, Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median(&[Some(4.0), Some(1.0)]), Some(2.5));
        assert_eq!(median(&[None]), None);
    }

    #[test]
    fn value_formatting_is_compact() {
        assert_eq!(fmt_value(Some(1234567.0)), "1234567");
        assert_eq!(fmt_value(Some(1.5)), "1.50");
        assert_eq!(fmt_value(Some(1234.56)), "1235");
        assert_eq!(fmt_value(None), "n/a");
    }
}
