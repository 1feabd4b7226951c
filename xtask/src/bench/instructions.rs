//! `cargo xtask bench --instructions`: the instructions one connect costs,
//! counted by Callgrind, for each way of `happy-connect`'s `connect_cost`
//! example, against plain tokio's. Unlike times, the counts do not drift
//! with a shared machine's load: a change that makes a connect cheaper
//! shows at once, however busy the machine.
//!
//! Each way runs twice, with `SHORT` and `LONG` connects; the difference,
//! divided by `LONG - SHORT`, is the cost of one connect without the
//! process's start, the runtime's and the warm-up connects. The count is
//! of user-space instructions only: what the kernel does for a socket is
//! the same for every way.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo::Cargo;
use crate::host;

/// The ways the example connects, the baseline last.
const WAYS: [&str; 4] = ["name", "name-no-history", "literal", "tokio"];
const BASELINE: &str = "tokio";
const SHORT: u64 = 500;
const LONG: u64 = 1500;

/// Builds the example, counts, prints the table.
pub(crate) fn run(target: &Path) -> Result<()> {
    let missing = host::install_missing(&[("valgrind", "valgrind")])?;
    if !missing.is_empty() {
        bail!(
            "counting instructions needs {} (run as root to have it installed)",
            missing.join(", ")
        );
    }
    Cargo::new([
        "build",
        "--release",
        "-p",
        "happy-connect",
        "--example",
        "connect_cost",
    ])
    .run()?;
    let example = target.join("release").join("examples").join("connect_cost");
    let mut rows = Vec::new();
    for way in WAYS {
        let short = collected(&example, way, SHORT)?;
        let long = collected(&example, way, LONG)?;
        let Some(per) = long.checked_sub(short) else {
            bail!(
                "{way}: {LONG} connects counted fewer instructions ({long}) than {SHORT} ({short})"
            );
        };
        rows.push((way, per / (LONG - SHORT)));
    }
    let base = rows
        .iter()
        .find(|(way, _)| *way == BASELINE)
        .map_or(0, |(_, per)| *per);
    println!("\ninstructions per connect (user space, Callgrind), against plain tokio:");
    for (way, per) in &rows {
        let ratio = if base > 0 {
            format!("{:.3}", *per as f64 / base as f64)
        } else {
            "-".to_owned()
        };
        println!("  {way:<16} {per:>8}  ratio {ratio}");
    }
    Ok(())
}

/// The instructions Callgrind counted for `count` connects of `way`.
fn collected(example: &Path, way: &str, count: u64) -> Result<u64> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(example)
        .args([way, &count.to_string()])
        .output()
        .with_context(|| format!("running {} under valgrind", example.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("connect_cost {way} {count} failed under valgrind:\n{stderr}");
    }
    parse_collected(&stderr)
        .with_context(|| format!("no \"Collected\" line in Callgrind's output:\n{stderr}"))
}

/// The total of Callgrind's `==PID== Collected : N` line.
fn parse_collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let (_, rest) = line.split_once("Collected :")?;
        rest.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::parse_collected;

    #[test]
    fn reads_callgrinds_total() {
        let stderr = "==1847== Events    : Ir\n==1847== Collected : 48118248\n==1847==\n";
        assert_eq!(parse_collected(stderr), Some(48_118_248));
        assert_eq!(parse_collected("==1== Collected : lots\n"), None);
        assert_eq!(parse_collected(""), None);
    }
}
