//! The paired benchmark's results (`happy-connect/benches/paired.rs`,
//! a harness-less bench that alternates ours and plain tokio round by
//! round): `target/paired/results.json`, an array of `{id, unit, median,
//! baseline_id, baseline_median, ratio, overhead, rounds}`. Read only when this run
//! wrote it, so that an earlier run's file never reaches the summary.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::summary::{Entry, Source};

/// The file, under the target directory.
pub(super) const RESULTS: &str = "paired/results.json";

/// One result as the bench writes it. JSON has no NaN: a median or ratio
/// the bench could not compute comes as `null`.
#[derive(Debug, Deserialize)]
struct Written {
    id: String,
    unit: String,
    median: Option<f64>,
    baseline_id: String,
    baseline_median: Option<f64>,
    ratio: Option<f64>,
    rounds: u64,
    /// Absent from files written before the bench measured it.
    #[serde(default)]
    overhead: Option<f64>,
}

/// The paired results under `target` written at `since` or later; none
/// when the file is missing or older (the bench did not run: another
/// platform, or a `cargo bench` that stopped before it).
pub(super) fn read(target: &Path, since: SystemTime) -> Result<Vec<Entry>> {
    let path = target.join(RESULTS);
    let Ok(meta) = fs::metadata(&path) else {
        return Ok(Vec::new());
    };
    if meta.modified()? < since {
        return Ok(Vec::new());
    }
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("reading the paired results {}", path.display()))
}

/// The entries of the file's text.
fn parse(text: &str) -> Result<Vec<Entry>> {
    let written: Vec<Written> =
        serde_json::from_str(text).context("not an array of paired results")?;
    written
        .into_iter()
        .map(|w| {
            let Some(median) = w.median else {
                bail!("{} has no median", w.id);
            };
            if w.rounds == 0 {
                bail!("{} ran no rounds", w.id);
            }
            Ok(Entry {
                id: w.id,
                source: Source::Paired,
                unit: w.unit,
                median,
                baseline_id: Some(w.baseline_id),
                baseline_median: w.baseline_median,
                ratio: w.ratio,
                rounds: Some(w.rounds),
                overhead: w.overhead,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// What the bench wrote in a `--quick` run filtered to `rss`.
    const RSS: &str = r#"[
      {
        "id": "rss/load",
        "unit": "kB",
        "median": 45120.0,
        "baseline_id": "rss_baseline/load",
        "baseline_median": 40300.0,
        "ratio": 1.1196,
        "overhead": 4790.0,
        "rounds": 3
      }
    ]"#;

    #[test]
    fn results_become_paired_entries() {
        let entries = parse(RSS).unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e.id.as_str(), e.source), ("rss/load", Source::Paired));
        assert_eq!(e.unit, "kB");
        assert_eq!(e.median, 45120.0);
        assert_eq!(e.baseline_id.as_deref(), Some("rss_baseline/load"));
        assert_eq!(e.baseline_median, Some(40300.0));
        assert_eq!(e.ratio, Some(1.1196));
        assert_eq!(e.rounds, Some(3));
        assert_eq!(e.overhead, Some(4790.0));
        let older = RSS.replace("\"overhead\": 4790.0,", "");
        assert_eq!(parse(&older).unwrap()[0].overhead, None, "{older}");
        assert!(
            parse("[]").unwrap().is_empty(),
            "a filter that matched none"
        );
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let err = format!("{:#}", parse("{}").unwrap_err());
        assert!(err.contains("not an array of paired results"), "{err}");
        let no_median = RSS.replace("45120.0", "null");
        let err = format!("{:#}", parse(&no_median).unwrap_err());
        assert!(err.contains("rss/load has no median"), "{err}");
        let no_rounds = RSS.replace("\"rounds\": 3", "\"rounds\": 0");
        assert!(parse(&no_rounds).is_err());
    }

    #[test]
    fn only_a_file_written_by_this_run_counts() {
        let target = std::env::temp_dir().join(format!("xtask-paired-{}", std::process::id()));
        fs::create_dir_all(target.join("paired")).unwrap();
        let before = SystemTime::now() - Duration::from_secs(60);
        assert!(read(&target, before).unwrap().is_empty(), "no file");
        fs::write(target.join(RESULTS), RSS).unwrap();
        let fresh = read(&target, before).unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        let stale = read(&target, later).unwrap();
        fs::write(target.join(RESULTS), "garbage").unwrap();
        let garbage = read(&target, before).map_err(|e| format!("{e:#}"));
        fs::remove_dir_all(&target).unwrap();
        assert_eq!(fresh.len(), 1);
        assert!(stale.is_empty(), "an older file was read");
        let err = garbage.unwrap_err();
        assert!(err.contains("paired/results.json"), "{err}");
    }
}
