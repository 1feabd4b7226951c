//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask bench [--quick] [--filter TEXT]` runs every criterion
//!   benchmark of the workspace, then prints a table of medians and ratios
//!   against their baselines and writes it to `target/bench-summary.json`.
//! - `cargo xtask test` runs the whole test suite (the README's test command).

mod bench;

use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bench [--quick] [--filter TEXT]   run the criterion benchmarks, print medians and
                                    ratios to baselines, write target/bench-summary.json
  test                              run every test of the workspace
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "bench" => bench::run(&bench::Options::parse(&rest)?),
        "test" => {
            if let Some(extra) = rest.first() {
                bail!("`test` takes no arguments, got {extra:?}");
            }
            cargo(&["test", "--workspace", "--all-features"])
        }
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown command {other:?}")
        }
    }
}

/// Runs cargo from the workspace root with the given arguments.
fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), std::path::Path::to_path_buf)
}
