//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask bench [--quick] [--filter TEXT]` runs every benchmark of
//!   the workspace (criterion's, and the paired one that alternates ours
//!   and plain tokio), then prints a table of medians and ratios against
//!   their baselines and writes it to `target/bench-summary.json`;
//!   `--instructions` counts instead the instructions one connect costs,
//!   with Callgrind, against plain tokio's.
//! - `cargo xtask test [--no-lab]` runs the whole test suite (the README's
//!   test command): every crate's tests, then the lab's, Teredo and NAT64
//!   (root).
//! - `cargo xtask package-check [--skip-features] [--install-msrv]` checks
//!   what each publishable crate would ship and the dependencies' declared
//!   minimum Rust, then builds the feature combinations and, when rustup
//!   has (or, with `--install-msrv`, can fetch) it, the workspace with the
//!   declared minimum Rust.
//! - `cargo xtask lab up|down|status|test [--install]` runs the Teredo lab
//!   and its NAT64 part in network namespaces, and their end-to-end tests
//!   (root only).
//! - `cargo xtask fuzz NAME|all [--seconds N]` runs the stable-toolchain
//!   fuzzers of `fuzz/` for N seconds each.
//! - `cargo xtask cross [--target T]... [--skip T]... [--no-tests]` lints
//!   and documents the workspace for other targets, runs the tests built
//!   for musl, and the Windows crates' tests under Wine.

mod bench;
mod cargo;
mod cross;
mod fuzz;
mod host;
mod lab;
mod package_check;

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cargo::Cargo;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bench [--quick] [--filter TEXT]   run the benchmarks (criterion's and the paired one),
                                    print medians and ratios to baselines, write
                                    target/bench-summary.json
  bench --instructions              count the instructions one connect costs with
                                    Callgrind, each way against plain tokio's
  test [--no-lab]                   run every test of the workspace, then the lab's
                                    end-to-end tests (root; --no-lab leaves them out)
  package-check [--skip-features] [--install-msrv]
                                    check the files each crate would publish and the
                                    locked dependencies' rust-version, then `cargo check`
                                    the feature combinations and the workspace with the
                                    declared rust-version's toolchain if rustup has it
                                    (--install-msrv: fetch it first)
  lab up [--install]                start the Teredo and NAT64 lab in network namespaces (root)
  lab down [--all]                  stop it and remove its namespaces and those a crashed
                                    lab left (--all: also those of another lab that is up)
  lab status                        print the lab state and whether its processes run
  lab test [--install] [-- ARGS]    lab up, the lab tests (happy-connect/tests/lab; ARGS go
                                    to the test binary), lab down even on failure
  fuzz NAME|all [--seconds N]       run a stable-toolchain fuzzer of fuzz/ (teredo, gai_conf,
                                    netlink, pfroute, race) for N seconds (default 10), release build
  cross [--target T]... [--skip T]... [--no-tests]
                                    clippy and rustdoc (-D warnings) for the Linux (gnu, musl,
                                    aarch64), Windows, Apple and FreeBSD targets, the test suite
                                    built for musl, and the Windows crates' tests under Wine
                                    (root installs the cross compilers and Wine with apt-get)
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
        "package-check" => package_check::run(&package_check::Options::parse(&rest)?),
        "test" => {
            let lab = match rest.first().map(String::as_str) {
                None => true,
                Some("--no-lab") if rest.len() == 1 => false,
                Some(_) => bail!("`test` takes only --no-lab, got {rest:?}"),
            };
            // On a fresh machine (as root) the namespace tests and the lab
            // need packages the machine may not have yet.
            lab::ensure_packages()?;
            // The lab scenarios run in their own step, with the lab up.
            Cargo::new([
                "test",
                "--workspace",
                "--all-features",
                "--",
                "--skip",
                "lab_scenarios::",
            ])
            .run()?;
            if lab {
                lab::run(&["test".to_owned()])?;
            }
            Ok(())
        }
        "lab" => lab::run(&rest),
        "fuzz" => fuzz::run(&fuzz::Options::parse(&rest)?),
        "cross" => cross::run(&cross::Options::parse(&rest)?),
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

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), std::path::Path::to_path_buf)
}
