//! `cargo xtask bench`: run every benchmark of the workspace (`cargo bench
//! --workspace --bench '*'`) and summarise them: [`criterion`]'s results,
//! each with its baseline, and the [`paired`] benchmark's, whose baseline
//! ran alternately with it; [`summary`] prints the table and writes
//! `target/bench-summary.json`. With `--instructions`, it counts instead
//! the instructions one connect costs ([`instructions`]).

mod criterion;
mod instructions;
mod paired;
mod summary;

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use self::summary::Summary;
use crate::cargo::Cargo;

/// Command-line options of `cargo xtask bench`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    quick: bool,
    filter: Option<String>,
    instructions: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--instructions" => options.instructions = true,
                "--filter" => {
                    let Some(text) = args.next() else {
                        bail!("--filter needs a value (a substring or regex of benchmark ids)");
                    };
                    options.filter = Some(text.clone());
                }
                other => bail!(
                    "unknown argument {other:?} to `bench` (expected --quick, --filter TEXT or \
                     --instructions)"
                ),
            }
        }
        Ok(options)
    }
}

/// Runs the benchmarks, then prints and writes the summary of what this
/// run measured.
pub(crate) fn run(options: &Options) -> Result<()> {
    let root = crate::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    if options.instructions {
        return instructions::run(&target);
    }
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
    let measured = criterion::read(&criterion_dir, started)?;
    let paired = paired::read(&target, started)?;
    if measured.is_empty() && paired.is_empty() {
        bail!(
            "no benchmark results were written under {} or to {} (filter {:?} matched nothing?)",
            criterion_dir.display(),
            target.join(paired::RESULTS).display(),
            options.filter.as_deref().unwrap_or("")
        );
    }
    let summary = Summary::merge(measured, paired);
    print!("\n{}", summary.table());

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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!o.instructions);
        assert!(
            Options::parse(&["--instructions".to_owned()])
                .unwrap()
                .instructions
        );
    }
}
