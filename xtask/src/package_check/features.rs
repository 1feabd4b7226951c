//! `cargo check` of the feature sets that the workspace-wide
//! `--all-features` builds of CI never see.

use anyhow::Result;

use crate::cargo::Cargo;

/// The `cargo check` runs of the feature check, each a list of arguments.
const FEATURE_CHECKS: &[&[&str]] = &[
    &["check", "-p", "happy-connect", "--no-default-features"],
    &[
        "check",
        "-p",
        "happy-connect",
        "--no-default-features",
        "--features",
        "serde",
    ],
    &[
        "check",
        "-p",
        "happy-connect",
        "--no-default-features",
        "--features",
        "hyper",
    ],
    &[
        "check",
        "-p",
        "happy-connect",
        "--no-default-features",
        "--features",
        "reqwest",
    ],
    &["check", "-p", "stable-addr", "--no-default-features"],
    &["check", "--workspace", "--all-features"],
];

/// Runs each check in turn; the first that fails stops the run.
pub(super) fn check() -> Result<()> {
    println!("feature combinations:");
    for args in FEATURE_CHECKS {
        let check = Cargo::new(*args);
        println!("  {check}");
        check.run()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_is_a_cargo_check_and_one_takes_everything() {
        assert!(
            FEATURE_CHECKS
                .iter()
                .all(|args| args.first() == Some(&"check"))
        );
        assert!(
            FEATURE_CHECKS.contains(&&["check", "--workspace", "--all-features"][..]),
            "the whole workspace with every feature"
        );
    }
}
