//! `cargo xtask package-check`: what each publishable crate would ship,
//! and whether the workspace builds as its users will build it. One module
//! per check, run in this order:
//!
//! 1. [`contents`]: the files of each publishable crate's `.crate`
//!    (`cargo package --list`, which needs neither the network nor the
//!    siblings on crates.io): no test data, fixtures, lab material, dumps,
//!    build output or CI scripts; the files every crate must ship; nothing
//!    a shipped source includes left out. (Building the `.crate` itself
//!    does need the siblings, for the lock file: `cargo package -p
//!    rfc3484-sort` alone fails with "no matching package named
//!    `teredo-addr`" until `teredo-addr` is published; `cargo package
//!    --workspace` packages the siblings together against a temporary
//!    local registry, and `--exclude-lockfile` skips the lock file.)
//! 2. [`msrv_survey`]: no locked dependency declares a newer
//!    `rust-version` than the workspace's.
//! 3. [`features`]: `cargo check` of the feature sets the workspace-wide
//!    `--all-features` builds never see (`--skip-features` leaves out this
//!    step and the next).
//! 4. [`msrv_build`]: the whole workspace checked with the toolchain of
//!    the declared `rust-version` when rustup has it (`--install-msrv`
//!    asks rustup for it first; without it, the step says so and passes).
//!
//! `duplicates.rs` is a unit test of the lock file: one major version of
//! the crates that share the connector's sockets and runtime.

mod contents;
#[cfg(test)]
mod duplicates;
mod features;
mod msrv_build;
mod msrv_survey;

use anyhow::{Result, bail};

/// Command-line options of `cargo xtask package-check`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    skip_features: bool,
    install_msrv: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--skip-features" => options.skip_features = true,
                "--install-msrv" => options.install_msrv = true,
                other => bail!(
                    "unknown argument {other:?} to `package-check` \
                     (expected --skip-features or --install-msrv)"
                ),
            }
        }
        Ok(options)
    }
}

/// Runs the checks in turn; the first that fails stops the run.
pub(crate) fn run(options: &Options) -> Result<()> {
    contents::check()?;
    let msrv = msrv_survey::check()?;
    if options.skip_features {
        return Ok(());
    }
    features::check()?;
    msrv_build::check(&msrv, options.install_msrv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_the_two_flags_only() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = Options::parse(&args(&["--skip-features", "--install-msrv"])).unwrap();
        assert!(o.skip_features && o.install_msrv);
        let o = Options::parse(&[]).unwrap();
        assert!(!o.skip_features && !o.install_msrv);
        let err = Options::parse(&args(&["--msrv"])).unwrap_err().to_string();
        assert!(err.contains("\"--msrv\""), "{err}");
    }
}
