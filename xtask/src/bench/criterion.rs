//! Criterion's results. Criterion leaves, for every benchmark it
//! measured, a `new/benchmark.json` (the benchmark's id) and a
//! `new/estimates.json` (its statistics) under `target/criterion/`. We
//! read those back rather than parse criterion's terminal output, and keep
//! only the files this run wrote, so results of an earlier run with
//! another filter never leak into the summary.
//!
//! Baselines are paired by name: the baseline of `GROUP/PARAM` is
//! `GROUP_baseline/PARAM` (and of `GROUP` is `GROUP_baseline`).

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::summary::{Entry, Source};

/// Every benchmark measured under `dir` since `since`, with its baseline
/// when that was measured too.
pub(super) fn read(dir: &Path, since: SystemTime) -> Result<Vec<Entry>> {
    let mut measured = Vec::new();
    collect(dir, since, &mut measured)
        .with_context(|| format!("reading criterion results under {}", dir.display()))?;
    measured.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pair_baselines(&measured))
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
                source: Source::Criterion,
                unit: "ns".to_owned(),
                median: *median,
                baseline_id: baseline.map(|(b, _)| b.clone()),
                baseline_median: baseline.map(|(_, base)| *base),
                ratio: baseline.map(|(_, base)| median / base),
                rounds: None,
                overhead: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
        assert_eq!(entries[0].baseline_median, Some(200.0));
        assert_eq!(entries[0].unit, "ns");
        assert_eq!(entries[1].ratio, None);
        assert_eq!(entries[2].ratio, None);
    }

    /// Criterion's files as it lays them out, one benchmark fresh and one
    /// from an earlier run.
    #[test]
    fn only_results_of_this_run_are_read() {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let write = |path: &str, id: &str, median: f64| {
            let new = dir.join(path).join("new");
            fs::create_dir_all(&new).unwrap();
            fs::write(
                new.join("benchmark.json"),
                format!(r#"{{"full_id": "{id}"}}"#),
            )
            .unwrap();
            fs::write(
                new.join("estimates.json"),
                format!(r#"{{"median": {{"point_estimate": {median}}}}}"#),
            )
            .unwrap();
        };
        write("sort/8", "sort/8", 50.0);
        write("sort_baseline/8", "sort_baseline/8", 200.0);
        let later = SystemTime::now() + Duration::from_secs(60);
        let stale = read(&dir, later).unwrap();
        let fresh = read(&dir, SystemTime::now() - Duration::from_secs(60)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert!(stale.is_empty());
        let ids: Vec<&str> = fresh.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["sort/8", "sort_baseline/8"]);
        assert_eq!(fresh[0].ratio, Some(0.25));
    }
}
