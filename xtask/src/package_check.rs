//! `cargo xtask package-check`: what each publishable crate would ship,
//! and whether the feature combinations users pick still build.
//!
//! For every workspace member that may be published (`publish` not set to
//! `false`), `cargo package --list -p CRATE --allow-dirty` names the files
//! of its `.crate`. The check fails if one of them is test data, a fixture,
//! lab material, a binary dump, build output or CI script (see
//! [`FORBIDDEN`]), if a file every crate must ship is missing (see
//! [`REQUIRED`]), or if a shipped source file `include_bytes!`s or
//! `include_str!`s a file that is not shipped (the crate, or its unit
//! tests, would then not build from the `.crate`).
//!
//! `--list` needs neither the network nor the siblings on crates.io: it
//! only reads the manifests. (Building the `.crate` itself does need them,
//! for the lock file: `cargo package -p rfc3484-sort` alone fails with "no
//! matching package named `teredo-addr`" until `teredo-addr` is published;
//! `cargo package --workspace` packages the siblings together against a
//! temporary local registry, and `--exclude-lockfile` skips the lock file.)
//!
//! Then the locked dependencies' declared `rust-version`s are compared
//! with the workspace's (none may be newer), and, after the feature
//! check, the whole workspace is checked with the toolchain of that
//! `rust-version` when rustup has it (`--install-msrv` asks rustup for it
//! first; without it, the check says so and passes).
//!
//! Then `cargo check` runs for the feature sets that the workspace-wide
//! `--all-features` builds of CI never see: `happy-connect` without default
//! features and with each of `serde`, `hyper` and `reqwest` alone,
//! `stable-addr` without `tokio`, and the whole workspace with every
//! feature. `--skip-features` leaves them out.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo::Cargo;

/// Path fragments no published file may contain: a fragment ending in `/`
/// matches a directory at any depth, one starting with `.` and no `/`
/// matches a file extension.
const FORBIDDEN: &[&str] = &[
    "tests/fixtures/",
    "tests/data/",
    "tests/lab/",
    "target/",
    ".ci/",
    ".bin",
];

/// Files every published crate must contain.
const REQUIRED: &[&str] = &["Cargo.toml", "README.md", "CHANGELOG.md", "src/lib.rs"];

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

/// Runs the package check, then (unless skipped) the feature check.
pub(crate) fn run(options: &Options) -> Result<()> {
    let crates = publishable_crates()?;
    if crates.is_empty() {
        bail!("no publishable crate in the workspace");
    }
    let mut problems = Vec::new();
    println!("files each crate would publish (`cargo package --list`):");
    for (name, dir) in &crates {
        let files = package_list(name)?;
        let mut bad = check_files(&files);
        bad.extend(dangling_includes(dir, &files)?);
        let verdict = if bad.is_empty() { "ok" } else { "FAILED" };
        let sources = files.iter().filter(|f| f.starts_with("src/")).count();
        println!(
            "  {name:<16} {:>3} files, {sources:>3} in src/  {verdict}",
            files.len()
        );
        problems.extend(bad.into_iter().map(|p| format!("{name}: {p}")));
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("  {problem}");
        }
        bail!(
            "{} packaging problem(s); fix the `include` list of the crate's Cargo.toml",
            problems.len()
        );
    }
    let msrv = check_msrv()?;
    if options.skip_features {
        return Ok(());
    }
    println!("feature combinations:");
    for args in FEATURE_CHECKS {
        let check = Cargo::new(*args);
        println!("  {check}");
        check.run()?;
    }
    build_with_msrv(&msrv, options.install_msrv)
}

/// Checks the declared minimum Rust version against the locked
/// dependencies, every optional one included (`--all-features`): none may
/// declare a newer `rust-version` than the workspace's. Only this toolchain is installed here, so this (with
/// clippy's `incompatible_msrv` lint for the standard library) stands in
/// for a build with the minimum toolchain.
fn check_msrv() -> Result<String> {
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

/// Checks the whole workspace (all features, all targets) with the
/// toolchain of the declared `rust-version`, when rustup has it; with
/// `install`, asks rustup for it first (bounded to 10 minutes). Without
/// the toolchain it says so and passes: the survey and clippy's lint
/// stand in.
fn build_with_msrv(version: &str, install: bool) -> Result<()> {
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
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(str::parse::<u32>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// The names and directories of the workspace members whose `publish` is
/// not `false` (`cargo metadata` reports `publish: []` for
/// `publish = false`).
fn publishable_crates() -> Result<Vec<(String, PathBuf)>> {
    let out = Cargo::new(["metadata", "--no-deps", "--format-version", "1"]).read()?;
    let metadata: serde_json::Value =
        serde_json::from_str(&out).context("`cargo metadata` printed something other than JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("`cargo metadata` has no `packages` array")?;
    let mut names = Vec::new();
    for package in packages {
        let publishable = match &package["publish"] {
            serde_json::Value::Array(registries) => !registries.is_empty(),
            _ => true,
        };
        if publishable {
            let name = package["name"]
                .as_str()
                .context("a package without a name in `cargo metadata`")?;
            let dir = package["manifest_path"]
                .as_str()
                .map(Path::new)
                .and_then(Path::parent)
                .with_context(|| format!("{name} has no manifest path in `cargo metadata`"))?;
            names.push((name.to_owned(), dir.to_owned()));
        }
    }
    names.sort();
    Ok(names)
}

/// The files `cargo package` would put in the crate's `.crate`, as paths
/// relative to the crate's root with `/` separators.
fn package_list(name: &str) -> Result<Vec<String>> {
    let out = Cargo::new(["package", "--list", "-p", name, "--allow-dirty"]).read()?;
    Ok(out
        .lines()
        .map(|line| line.trim().replace('\\', "/"))
        .filter(|line| !line.is_empty())
        .collect())
}

/// What is wrong with a file list: forbidden files, then missing ones.
fn check_files(files: &[String]) -> Vec<String> {
    let mut problems: Vec<String> = files
        .iter()
        .filter_map(|file| {
            FORBIDDEN
                .iter()
                .find(|pattern| matches_forbidden(file, pattern))
                .map(|pattern| format!("ships {file} (matches {pattern:?})"))
        })
        .collect();
    for required in REQUIRED {
        if !files.iter().any(|f| f == required) {
            problems.push(format!("does not ship {required}"));
        }
    }
    problems
}

/// The `include_bytes!` and `include_str!` of the shipped Rust files that
/// name a file the package does not ship: such a crate builds here but not
/// from its `.crate` (a unit test including a fixture, say). Only literal
/// relative paths are checked; `concat!`/`env!` paths are left alone.
fn dangling_includes(crate_dir: &Path, files: &[String]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| f.ends_with(".rs")) {
        let text = std::fs::read_to_string(crate_dir.join(file))
            .with_context(|| format!("reading {}", crate_dir.join(file).display()))?;
        for included in included_paths(&text) {
            let Some(resolved) = resolve(file, included) else {
                continue;
            };
            if !files.contains(&resolved) {
                problems.push(format!(
                    "{file} includes {included:?}, which the package does not ship"
                ));
            }
        }
    }
    Ok(problems)
}

/// The literal paths given to `include_bytes!` and `include_str!` in `text`.
fn included_paths(text: &str) -> Vec<&str> {
    let mut paths = Vec::new();
    for mac in ["include_bytes!(\"", "include_str!(\""] {
        let mut rest = text;
        while let Some(at) = rest.find(mac) {
            rest = &rest[at + mac.len()..];
            if let Some(end) = rest.find('"') {
                paths.push(&rest[..end]);
            }
        }
    }
    paths
}

/// `included`, relative to the directory of `file`, as a package path with
/// `/` separators; `None` for absolute paths or paths leaving the package.
fn resolve(file: &str, included: &str) -> Option<String> {
    let base = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut parts: Vec<String> = Vec::new();
    for component in base.join(included).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// Whether `file` matches one [`FORBIDDEN`] pattern.
fn matches_forbidden(file: &str, pattern: &str) -> bool {
    if pattern.ends_with('/') {
        file.starts_with(pattern) || file.contains(&format!("/{pattern}"))
    } else {
        file.ends_with(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(files: &[&str]) -> Vec<String> {
        files.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn a_clean_list_passes() {
        let files = list(&[
            ".cargo_vcs_info.json",
            "Cargo.lock",
            "Cargo.toml",
            "Cargo.toml.orig",
            "CHANGELOG.md",
            "README.md",
            "src/lib.rs",
        ]);
        assert_eq!(check_files(&files), Vec::<String>::new());
    }

    #[test]
    fn fixtures_data_and_dumps_fail() {
        let files = list(&[
            "Cargo.toml",
            "CHANGELOG.md",
            "README.md",
            "src/lib.rs",
            "tests/fixtures/host/links.bin",
            "tests/data/policy-tables.json",
            "sub/tests/lab/run.sh",
            "dump.bin",
            ".ci/run",
        ]);
        let problems = check_files(&files);
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn includes_resolve_against_the_including_file() {
        let text = r#"
            #![doc = include_str!("../README.md")]
            const A: &[u8] = include_bytes!("../tests/fixtures/a.bin");
            const B: &str = include_str!("data/table.txt");
        "#;
        assert_eq!(
            included_paths(text),
            ["../tests/fixtures/a.bin", "../README.md", "data/table.txt"]
        );
        assert_eq!(
            resolve("src/lib.rs", "../README.md").as_deref(),
            Some("README.md")
        );
        assert_eq!(
            resolve("src/parse/mod.rs", "data/t.txt").as_deref(),
            Some("src/parse/data/t.txt")
        );
        assert_eq!(resolve("src/lib.rs", "../../outside.txt"), None);
    }

    #[test]
    fn an_include_of_an_unshipped_file_is_reported() {
        let dir = std::env::temp_dir().join(format!("package-check-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/lib.rs"),
            "#![doc = include_str!(\"../README.md\")]\n\
             #[cfg(test)] const F: &[u8] = include_bytes!(\"../tests/fixtures/a.bin\");\n",
        )
        .unwrap();
        let files = list(&["Cargo.toml", "README.md", "src/lib.rs"]);
        let problems = dangling_includes(&dir, &files).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            problems,
            ["src/lib.rs includes \"../tests/fixtures/a.bin\", which the package does not ship"]
        );
    }

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

    #[test]
    fn missing_readme_fails() {
        let files = list(&["Cargo.toml", "CHANGELOG.md", "src/lib.rs"]);
        assert_eq!(check_files(&files), ["does not ship README.md"]);
    }

    #[test]
    fn lookalikes_pass() {
        assert!(!matches_forbidden("src/bin/main.rs", ".bin"));
        assert!(!matches_forbidden("src/target.rs", "target/"));
        assert!(matches_forbidden("a/target/x", "target/"));
    }
}

/// The dependency tree carries one major version of each crate that
/// shares state with the connector's sockets and runtime: two tokios would
/// mean two reactors, two socket2s or hickorys two copies of types that do
/// not convert. A stand-in for `cargo deny`'s duplicate check, which cannot
/// be installed here.
#[cfg(test)]
mod duplicate_majors {
    use std::collections::BTreeMap;

    /// `1.54.1` is major 1; `0.6.5` is major 0.6, as Cargo counts it.
    fn major(version: &str) -> String {
        let mut parts = version.split('.');
        match (parts.next(), parts.next()) {
            (Some("0"), Some(minor)) => format!("0.{minor}"),
            (Some(major), _) => major.to_owned(),
            _ => version.to_owned(),
        }
    }

    #[test]
    fn one_major_version_of_tokio_socket2_and_hickory() {
        let lock = std::fs::read_to_string(super::super::workspace_root().join("Cargo.lock"))
            .expect("Cargo.lock is committed");
        let mut versions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut name = None;
        for line in lock.lines() {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"'));
            } else if let (Some(n), Some(v)) = (name, line.strip_prefix("version = ")) {
                versions
                    .entry(n)
                    .or_default()
                    .push(major(v.trim_matches('"')));
                name = None;
            }
        }
        for krate in ["tokio", "socket2", "hickory-resolver", "hickory-proto"] {
            let mut majors = versions.get(krate).cloned().unwrap_or_default();
            assert!(!majors.is_empty(), "{krate} is not in Cargo.lock");
            majors.sort();
            majors.dedup();
            assert_eq!(
                majors.len(),
                1,
                "{krate} appears in major versions {majors:?}"
            );
        }
    }

    #[test]
    fn majors_follow_cargo() {
        assert_eq!(major("1.54.1"), "1");
        assert_eq!(major("0.6.5"), "0.6");
        assert_eq!(major("0.25.2"), "0.25");
    }
}
