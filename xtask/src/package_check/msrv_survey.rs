//! The locked dependencies' declared `rust-version`s against the
//! workspace's: none may be newer.

use anyhow::{Context, Result, bail};

use crate::cargo::Cargo;

/// Checks the declared minimum Rust version against the locked
/// dependencies, every optional one included (`--all-features`): none may
/// declare a newer `rust-version` than the workspace's. Where rustup lacks
/// the minimum toolchain, this (with clippy's `incompatible_msrv` lint for
/// the standard library) stands in for a build with it. Returns the
/// `rust-version` as declared.
pub(super) fn check() -> Result<String> {
    let out = Cargo::new([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--all-features",
    ])
    .read()?;
    let metadata: serde_json::Value =
        serde_json::from_str(&out).context("`cargo metadata` printed something other than JSON")?;
    let msrv = msrv_survey(&metadata)?;
    println!(
        "minimum Rust {}: {} locked dependencies declare a rust-version no newer, \
         {} declare none, {} a newer one",
        msrv.ours,
        msrv.checked,
        msrv.undeclared,
        msrv.newer.len()
    );
    if !msrv.newer.is_empty() {
        for problem in &msrv.newer {
            eprintln!("  {problem}");
        }
        bail!(
            "locked dependencies need a newer Rust than the declared rust-version {}",
            msrv.ours
        );
    }
    Ok(msrv.declared)
}

/// What [`msrv_survey`] found.
#[derive(Debug)]
struct MsrvSurvey {
    /// The workspace's `rust-version` (the highest a member declares), as
    /// a full version.
    ours: String,
    /// The same, as declared (`1.85`).
    declared: String,
    /// Dependencies declaring a `rust-version` no newer than ours.
    checked: usize,
    /// Dependencies declaring none.
    undeclared: usize,
    /// Dependencies declaring a newer one: "name version needs Rust X".
    newer: Vec<String>,
}

/// Compares every non-member package of `cargo metadata`'s output with the
/// workspace's `rust-version`.
fn msrv_survey(metadata: &serde_json::Value) -> Result<MsrvSurvey> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .context("`cargo metadata` has no `workspace_members`")?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let packages = metadata["packages"]
        .as_array()
        .context("`cargo metadata` has no `packages` array")?;
    let is_member =
        |p: &serde_json::Value| p["id"].as_str().is_some_and(|id| members.contains(&id));
    let declared = |p: &serde_json::Value| p["rust_version"].as_str().and_then(parse_version);
    let (ours, as_declared) = packages
        .iter()
        .filter(|p| is_member(p))
        .filter_map(|p| Some((declared(p)?, p["rust_version"].as_str()?)))
        .max()
        .context("no workspace member declares a rust-version")?;
    let mut survey = MsrvSurvey {
        ours: format!("{}.{}.{}", ours.0, ours.1, ours.2),
        declared: as_declared.to_owned(),
        checked: 0,
        undeclared: 0,
        newer: Vec::new(),
    };
    for p in packages.iter().filter(|p| !is_member(p)) {
        match declared(p) {
            Some(v) if v > ours => survey.newer.push(format!(
                "{} {} needs Rust {}",
                p["name"].as_str().unwrap_or("?"),
                p["version"].as_str().unwrap_or("?"),
                p["rust_version"].as_str().unwrap_or("?")
            )),
            Some(_) => survey.checked += 1,
            None => survey.undeclared += 1,
        }
    }
    Ok(survey)
}

/// `1.85` or `1.85.1` as a comparable triple.
pub(super) fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(str::parse::<u32>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("1.85"), Some((1, 85, 0)));
        assert_eq!(parse_version("1.9.2"), Some((1, 9, 2)));
        assert!(parse_version("1.100") > parse_version("1.85"));
        assert_eq!(parse_version("1.x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }

    #[test]
    fn a_dependency_needing_a_newer_rust_is_found() {
        let metadata = serde_json::json!({
            "workspace_members": ["ours 0.1.0"],
            "packages": [
                {"id": "ours 0.1.0", "name": "ours", "version": "0.1.0", "rust_version": "1.85"},
                {"id": "old 1.0.0", "name": "old", "version": "1.0.0", "rust_version": "1.70"},
                {"id": "quiet 2.0.0", "name": "quiet", "version": "2.0.0", "rust_version": null},
                {"id": "new 0.26.0", "name": "new", "version": "0.26.0", "rust_version": "1.88"},
            ]
        });
        let survey = msrv_survey(&metadata).unwrap();
        assert_eq!(survey.ours, "1.85.0");
        assert_eq!(survey.declared, "1.85");
        assert_eq!((survey.checked, survey.undeclared), (1, 1));
        assert_eq!(survey.newer, ["new 0.26.0 needs Rust 1.88"]);
    }
}
