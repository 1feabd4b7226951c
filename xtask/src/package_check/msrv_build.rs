//! The whole workspace checked with the toolchain of its declared
//! `rust-version`, when rustup has it (or, with `--install-msrv`, can
//! fetch it).

use std::process::Command;

use anyhow::{Result, bail};

use super::msrv_survey::parse_version;
use crate::cargo::Cargo;

/// Checks the whole workspace (all features, all targets) with the
/// toolchain of the declared `rust-version`, when rustup has it; with
/// `install`, asks rustup for it first (bounded to 10 minutes). Without
/// the toolchain it says so and passes: the survey and clippy's lint
/// stand in.
pub(super) fn check(version: &str, install: bool) -> Result<()> {
    let mut toolchain = installed_toolchain(version);
    if toolchain.is_none() && install {
        println!("installing Rust {version}: rustup toolchain install {version} --profile minimal");
        let status = Command::new("timeout")
            .args(["600", "rustup", "toolchain", "install", version])
            .args(["--profile", "minimal"])
            .status();
        match status {
            Ok(s) if s.success() => toolchain = installed_toolchain(version),
            Ok(s) => println!("  rustup could not install it ({s})"),
            Err(e) => println!("  could not run rustup: {e}"),
        }
    }
    let Some(toolchain) = toolchain else {
        println!(
            "Rust {version} is not installed, so the workspace is not built with it; \
             the rust-version survey above and clippy's incompatible_msrv lint stand in"
        );
        return Ok(());
    };
    let check = Cargo::new([
        "check",
        "--workspace",
        "--all-features",
        "--all-targets",
        "--locked",
    ])
    .toolchain(&toolchain)
    .env(
        "CARGO_TARGET_DIR",
        crate::workspace_root().join("target").join("msrv"),
    );
    println!("minimum Rust: {check}");
    if !check.status()?.success() {
        bail!("the workspace does not build with Rust {toolchain}, its declared rust-version");
    }
    Ok(())
}

/// The installed rustup toolchain for Rust `version` (same major and
/// minor), by name.
fn installed_toolchain(version: &str) -> Option<String> {
    let out = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .ok()?;
    matching_toolchain(&String::from_utf8_lossy(&out.stdout), version)
}

/// The first toolchain in `rustup toolchain list` output whose version
/// has the major and minor of `version`.
fn matching_toolchain(list: &str, version: &str) -> Option<String> {
    let (major, minor, _) = parse_version(version)?;
    list.lines()
        .filter_map(|line| line.split_whitespace().next())
        .find(|name| {
            name.split('-')
                .next()
                .and_then(parse_version)
                .is_some_and(|(ma, mi, _)| (ma, mi) == (major, minor))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchains_match_on_major_and_minor() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\n\
                    nightly-x86_64-unknown-linux-gnu\n\
                    1.85.0-x86_64-unknown-linux-gnu\n\
                    1.95.0-x86_64-unknown-linux-gnu\n";
        assert_eq!(
            matching_toolchain(list, "1.85").as_deref(),
            Some("1.85.0-x86_64-unknown-linux-gnu")
        );
        assert_eq!(
            matching_toolchain(list, "1.95.1").as_deref(),
            Some("1.95.0-x86_64-unknown-linux-gnu")
        );
        assert_eq!(matching_toolchain(list, "1.88"), None);
        assert_eq!(matching_toolchain("", "1.85"), None);
    }
}
