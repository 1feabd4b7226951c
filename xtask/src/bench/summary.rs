//! The summary: one entry per measured benchmark, criterion's and the
//! paired benchmark's together, printed as a table and written as JSON
//! (`target/bench-summary.json`).

use std::fmt::Write as _;

use serde::Serialize;

/// Where a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Source {
    /// A criterion benchmark; its baseline is a benchmark of its own.
    Criterion,
    /// `happy-connect/benches/paired.rs`: ours and the baseline alternated
    /// round by round in one run, the baseline measured with it.
    Paired,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Self::Criterion => "criterion",
            Self::Paired => "paired",
        }
    }
}

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) source: Source,
    /// The unit of the medians: `ns` (time per operation) or `kB`
    /// (memory).
    pub(super) unit: String,
    pub(super) median: f64,
    pub(super) baseline_id: Option<String>,
    pub(super) baseline_median: Option<f64>,
    /// `median / baseline_median`.
    pub(super) ratio: Option<f64>,
    /// Paired results: how many rounds each side ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rounds: Option<u64>,
    /// Paired results: the median of the rounds' differences (ours minus
    /// the baseline), in the unit: what the difference costs, where the
    /// ratio says how large it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) overhead: Option<f64>,
}

/// Everything this run measured.
#[derive(Debug, Serialize)]
pub(super) struct Summary {
    pub(super) benchmarks: Vec<Entry>,
}

impl Summary {
    /// Criterion's results and the paired ones in one list, by id (the
    /// same id from both sources: criterion's first).
    pub(super) fn merge(criterion: Vec<Entry>, paired: Vec<Entry>) -> Self {
        let mut benchmarks = criterion;
        benchmarks.extend(paired);
        benchmarks.sort_by(|a, b| a.id.cmp(&b.id).then(a.source.cmp(&b.source)));
        Self { benchmarks }
    }

    /// The table `cargo xtask bench` prints: median in its unit, ratio to
    /// the baseline, and the baseline (for a paired result, with its
    /// median, the overhead and the rounds, since the baseline has no line
    /// of its own).
    pub(super) fn table(&self) -> String {
        let width = self
            .benchmarks
            .iter()
            .map(|e| e.id.len())
            .max()
            .unwrap_or(0)
            .max("benchmark".len());
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{:<width$}  {:<9}  {:>12}  {:>8}  baseline",
            "benchmark", "source", "median", "ratio"
        );
        for e in &self.benchmarks {
            let ratio = e
                .ratio
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
            let mut baseline = e.baseline_id.clone().unwrap_or_else(|| "-".to_owned());
            if e.source == Source::Paired {
                let mut about = Vec::new();
                if let Some(m) = e.baseline_median {
                    about.push(human(m, &e.unit));
                }
                if let Some(o) = e.overhead {
                    let sign = if o < 0.0 { '-' } else { '+' };
                    about.push(format!("overhead {sign}{}", human(o.abs(), &e.unit)));
                }
                if let Some(r) = e.rounds {
                    about.push(format!("{r} rounds"));
                }
                if !about.is_empty() {
                    let _ = write!(baseline, " ({})", about.join(", "));
                }
            }
            let _ = writeln!(
                text,
                "{:<width$}  {:<9}  {:>12}  {:>8}  {baseline}",
                e.id,
                e.source.name(),
                human(e.median, &e.unit),
                ratio,
            );
        }
        text
    }
}

/// A value in its unit as people read it: times scaled from ns to s,
/// kilobytes as kB, anything else as it is.
pub(super) fn human(value: f64, unit: &str) -> String {
    match unit {
        "ns" => human_time(value),
        "kB" if value >= 1_000_000.0 => format!("{:.2} GB", value / 1_000_000.0),
        "kB" => format!("{value:.0} kB"),
        other => format!("{value} {other}"),
    }
}

fn human_time(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else {
        format!("{:.2} s", ns / 1_000_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, source: Source, unit: &str, median: f64) -> Entry {
        Entry {
            id: id.to_owned(),
            source,
            unit: unit.to_owned(),
            median,
            baseline_id: None,
            baseline_median: None,
            ratio: None,
            rounds: None,
            overhead: None,
        }
    }

    #[test]
    fn units_are_shown_as_themselves() {
        assert_eq!(human(950.0, "ns"), "950.0 ns");
        assert_eq!(human(21_300.0, "ns"), "21.30 µs");
        assert_eq!(human(45_120.0, "kB"), "45120 kB");
        assert_eq!(human(2_500_000.0, "kB"), "2.50 GB");
        assert_eq!(human(3.0, "allocs"), "3 allocs");
    }

    #[test]
    fn merged_by_id_criterion_first() {
        let summary = Summary::merge(
            vec![
                entry("sort/8", Source::Criterion, "ns", 50.0),
                entry("connect/loopback", Source::Criterion, "ns", 21_000.0),
            ],
            vec![
                entry("rss/load", Source::Paired, "kB", 45_000.0),
                entry("connect/loopback", Source::Paired, "ns", 20_000.0),
            ],
        );
        let order: Vec<(&str, Source)> = summary
            .benchmarks
            .iter()
            .map(|e| (e.id.as_str(), e.source))
            .collect();
        assert_eq!(
            order,
            [
                ("connect/loopback", Source::Criterion),
                ("connect/loopback", Source::Paired),
                ("rss/load", Source::Paired),
                ("sort/8", Source::Criterion),
            ]
        );
    }

    #[test]
    fn a_paired_line_shows_its_baseline_median_overhead_and_rounds() {
        let mut rss = entry("rss/load", Source::Paired, "kB", 45_120.0);
        rss.baseline_id = Some("rss_baseline/load".to_owned());
        rss.baseline_median = Some(40_300.0);
        rss.ratio = Some(45_120.0 / 40_300.0);
        rss.rounds = Some(3);
        rss.overhead = Some(4_820.0);
        let mut sort = entry("sort/8", Source::Criterion, "ns", 50.0);
        sort.baseline_id = Some("sort_baseline/8".to_owned());
        sort.baseline_median = Some(200.0);
        sort.ratio = Some(0.25);
        let table = Summary::merge(vec![sort], vec![rss]).table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("benchmark"), "{table}");
        assert!(
            lines[1].contains("rss/load")
                && lines[1].contains("paired")
                && lines[1].contains("45120 kB")
                && lines[1].contains("1.120")
                && lines[1].ends_with("rss_baseline/load (40300 kB, overhead +4820 kB, 3 rounds)"),
            "{table}"
        );
        assert!(
            lines[2].contains("criterion")
                && lines[2].contains("50.0 ns")
                && lines[2].ends_with("0.250  sort_baseline/8"),
            "{table}"
        );
    }

    #[test]
    fn json_carries_unit_source_and_baseline() {
        let mut rss = entry("rss/load", Source::Paired, "kB", 45_120.0);
        rss.baseline_id = Some("rss_baseline/load".to_owned());
        rss.rounds = Some(3);
        let json = serde_json::to_value(Summary::merge(
            vec![entry("race/events", Source::Criterion, "ns", 9.0)],
            vec![rss],
        ))
        .unwrap();
        let paired = &json["benchmarks"][1];
        assert_eq!(paired["source"], "paired");
        assert_eq!(paired["unit"], "kB");
        assert_eq!(paired["baseline_id"], "rss_baseline/load");
        assert_eq!(paired["rounds"], 3);
        let criterion = &json["benchmarks"][0];
        assert_eq!(criterion["source"], "criterion");
        assert_eq!(criterion["unit"], "ns");
        assert!(criterion.get("rounds").is_none());
    }
}
