//! `cargo xtask fuzz NAME|all [--seconds N]`: the stable-toolchain fuzzers
//! of the `fuzz/` crate (one binary per target), built with the release
//! optimisations plus debug assertions and overflow checks (a `fuzz`
//! profile defined here through cargo's environment, so the workspace's
//! own release artifacts are left alone), then run for N seconds each.

use anyhow::{Result, bail};

use crate::cargo::Cargo;

/// Every target, in the order `all` runs them.
pub(crate) const TARGETS: &[&str] = &["teredo", "gai_conf", "netlink", "pfroute", "race"];

/// Command-line options of `cargo xtask fuzz`.
#[derive(Debug)]
pub(crate) struct Options {
    targets: Vec<&'static str>,
    seconds: String,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut name = None;
        let mut seconds = "10".to_owned();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let Some(n) = args.next() else {
                        bail!("--seconds needs a value");
                    };
                    if !n.parse::<f64>().is_ok_and(|s| s > 0.0 && s.is_finite()) {
                        bail!("--seconds takes a positive number, got {n:?}");
                    }
                    seconds.clone_from(n);
                }
                other if name.is_none() && !other.starts_with('-') => name = Some(other.to_owned()),
                other => bail!("unknown argument {other:?} to `fuzz`"),
            }
        }
        let Some(name) = name else {
            bail!("`fuzz` needs a target: {} or all", TARGETS.join(", "));
        };
        let targets = if name == "all" {
            TARGETS.to_vec()
        } else if let Some(t) = TARGETS.iter().find(|t| **t == name) {
            vec![*t]
        } else {
            bail!(
                "unknown fuzz target {name:?} (expected {} or all)",
                TARGETS.join(", ")
            );
        };
        Ok(Self { targets, seconds })
    }
}

/// The `fuzz` profile: release plus the checks a fuzzer wants to trip.
const PROFILE_ENV: &[(&str, &str)] = &[
    ("CARGO_PROFILE_FUZZ_INHERITS", "release"),
    ("CARGO_PROFILE_FUZZ_DEBUG_ASSERTIONS", "true"),
    ("CARGO_PROFILE_FUZZ_OVERFLOW_CHECKS", "true"),
];

/// `cargo ARGS...` with the `fuzz` profile defined.
fn cargo(args: &[&str]) -> Result<()> {
    Cargo::new(args).envs(PROFILE_ENV.iter().copied()).run()
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let mut build = vec![
        "build",
        "--quiet",
        "--profile",
        "fuzz",
        "-p",
        "happy-connect-fuzz",
    ];
    for t in &options.targets {
        build.extend(["--bin", t]);
    }
    cargo(&build)?;
    let mut failed = Vec::new();
    for t in &options.targets {
        let run = [
            "run",
            "--quiet",
            "--profile",
            "fuzz",
            "-p",
            "happy-connect-fuzz",
            "--bin",
            t,
            "--",
            "--seconds",
            &options.seconds,
        ];
        if let Err(err) = cargo(&run) {
            eprintln!("xtask: fuzz target {t} failed: {err:#}");
            failed.push(*t);
        }
    }
    if !failed.is_empty() {
        bail!("fuzz targets with a crash: {}", failed.join(", "));
    }
    Ok(())
}
