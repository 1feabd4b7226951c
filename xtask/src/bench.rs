//! `cargo xtask bench`: run the criterion benchmarks and summarise them.
//!
//! Criterion leaves, for every benchmark it measured, a `new/benchmark.json`
//! (the benchmark's id) and a `new/estimates.json` (its statistics) under
//! `target/criterion/`. We read those back rather than parse criterion's
//! terminal output, and keep only the files this run wrote, so results of an
//! earlier run with another filter never leak into the summary.
//!
//! Baselines are paired by name: the baseline of `GROUP/PARAM` is
//! `GROUP_baseline/PARAM` (and of `GROUP` is `GROUP_baseline`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cargo::Cargo;

/// Command-line options of `cargo xtask bench`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    quick: bool,
    filter: Option<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--filter" => {
                    let Some(text) = args.next() else {
                        bail!("--filter needs a value (a substring or regex of benchmark ids)");
                    };
                    options.filter = Some(text.clone());
                }
                other => bail!(
                    "unknown argument {other:?} to `bench` (expected --quick or --filter TEXT)"
                ),
            }
        }
        Ok(options)
    }
}

/// One line of the summary.
#[derive(Debug, Serialize)]
struct Entry {
    id: String,
    median_ns: f64,
    baseline_id: Option<String>,
    ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Summary {
    benchmarks: Vec<Entry>,
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let root = super::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let started = SystemTime::now();

    let mut args = vec!["bench", "--workspace", "--bench", "*", "--"];
    if options.quick {
        // Quick mode stops each benchmark once two samples agree, and plots
        // are skipped: together they keep a CI run well under a minute.
        args.extend(["--quick", "--noplot"]);
    }
    if let Some(filter) = &options.filter {
        args.push(filter);
    }
    Cargo::new(&args).run()?;

    let criterion_dir = target.join("criterion");
    let mut measured = Vec::new();
    collect(&criterion_dir, started, &mut measured).with_context(|| {
        format!(
            "reading criterion results under {}",
            criterion_dir.display()
        )
    })?;
    if measured.is_empty() {
        bail!(
            "no benchmark results were written under {} (filter {:?} matched nothing?)",
            criterion_dir.display(),
            options.filter.as_deref().unwrap_or("")
        );
    }
    measured.sort_by(|a, b| a.0.cmp(&b.0));

    let summary = Summary {
        benchmarks: pair_baselines(&measured),
    };
    print_table(&summary);

    let path = target.join("bench-summary.json");
    fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("\nsummary written to {}", path.display());
    if !options.quick {
        println!(
            "criterion's HTML report, with plots: {}",
            criterion_dir.join("report").join("index.html").display()
        );
    }
    Ok(())
}

/// Walks criterion's output directory for `new/benchmark.json` files
/// written since `since`, collecting `(id, median in ns)`.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<(String, f64)>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == "new") {
            let bench = path.join("benchmark.json");
            let estimates = path.join("estimates.json");
            if !bench.is_file() || !estimates.is_file() {
                continue;
            }
            if fs::metadata(&estimates)?.modified()? < since {
                continue;
            }
            out.push(read_result(&bench, &estimates)?);
        } else {
            collect(&path, since, out)?;
        }
    }
    Ok(())
}

fn read_result(bench: &Path, estimates: &Path) -> Result<(String, f64)> {
    let bench_json: serde_json::Value = serde_json::from_slice(&fs::read(bench)?)
        .with_context(|| format!("parsing {}", bench.display()))?;
    let id = bench_json["full_id"]
        .as_str()
        .with_context(|| format!("{} has no \"full_id\" string", bench.display()))?
        .to_owned();
    let estimates_json: serde_json::Value = serde_json::from_slice(&fs::read(estimates)?)
        .with_context(|| format!("parsing {}", estimates.display()))?;
    let median = estimates_json["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("{} has no median.point_estimate", estimates.display()))?;
    Ok((id, median))
}

/// The id of the baseline that `id` is compared with, by the naming
/// convention described in the module docs.
fn baseline_of(id: &str) -> Option<String> {
    let (group, rest) = match id.split_once('/') {
        Some((group, rest)) => (group, Some(rest)),
        None => (id, None),
    };
    if group.ends_with("_baseline") {
        return None;
    }
    Some(match rest {
        Some(rest) => format!("{group}_baseline/{rest}"),
        None => format!("{group}_baseline"),
    })
}

fn pair_baselines(measured: &[(String, f64)]) -> Vec<Entry> {
    measured
        .iter()
        .map(|(id, median)| {
            let baseline = baseline_of(id)
                .and_then(|b| measured.iter().find(|(other, _)| *other == b))
                .filter(|(_, base)| *base > 0.0);
            Entry {
                id: id.clone(),
                median_ns: *median,
                baseline_id: baseline.map(|(b, _)| b.clone()),
                ratio: baseline.map(|(_, base)| median / base),
            }
        })
        .collect()
}

fn print_table(summary: &Summary) {
    let width = summary
        .benchmarks
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0)
        .max("benchmark".len());
    println!(
        "\n{:<width$}  {:>12}  {:>8}  baseline",
        "benchmark", "median", "ratio"
    );
    for e in &summary.benchmarks {
        let ratio = e
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
        println!(
            "{:<width$}  {:>12}  {:>8}  {}",
            e.id,
            human_time(e.median_ns),
            ratio,
            e.baseline_id.as_deref().unwrap_or("-")
        );
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

    #[test]
    fn baselines_pair_by_group_suffix() {
        assert_eq!(baseline_of("sort/8").as_deref(), Some("sort_baseline/8"));
        assert_eq!(
            baseline_of("policy_lookup").as_deref(),
            Some("policy_lookup_baseline")
        );
        assert_eq!(baseline_of("sort_baseline/8"), None);
    }

    #[test]
    fn ratio_is_median_over_baseline_median() {
        let measured = vec![
            ("sort/8".to_owned(), 50.0),
            ("sort_baseline/8".to_owned(), 200.0),
            ("gai_conf_parse".to_owned(), 900.0),
        ];
        let entries = pair_baselines(&measured);
        assert_eq!(entries[0].ratio, Some(0.25));
        assert_eq!(entries[0].baseline_id.as_deref(), Some("sort_baseline/8"));
        assert_eq!(entries[1].ratio, None);
        assert_eq!(entries[2].ratio, None);
    }

    #[test]
    fn options_reject_unknown_arguments() {
        assert!(Options::parse(&["--fast".to_owned()]).is_err());
        assert!(Options::parse(&["--filter".to_owned()]).is_err());
        let o = Options::parse(&[
            "--quick".to_owned(),
            "--filter".to_owned(),
            "sort".to_owned(),
        ])
        .unwrap();
        assert!(o.quick);
        assert_eq!(o.filter.as_deref(), Some("sort"));
    }
}
