//! What each publishable crate would ship: `cargo package --list -p
//! CRATE --allow-dirty` for every member whose `publish` is not `false`,
//! checked for forbidden files ([`FORBIDDEN`]), required ones
//! ([`REQUIRED`]) and `include_bytes!`/`include_str!` of files the package
//! leaves out.

use std::path::{Component, Path, PathBuf};

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

/// Files every published crate must contain: the licence texts its
/// manifest names (MIT OR Apache-2.0) among them.
const REQUIRED: &[&str] = &[
    "Cargo.toml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE-APACHE",
    "LICENSE-MIT",
    "src/lib.rs",
];

/// Lists each publishable crate's files with a verdict; fails when one
/// crate has a problem, after naming them all.
pub(super) fn check() -> Result<()> {
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
    Ok(())
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
            "LICENSE-APACHE",
            "LICENSE-MIT",
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
            "LICENSE-APACHE",
            "LICENSE-MIT",
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
    fn missing_readme_fails() {
        let files = list(&[
            "Cargo.toml",
            "CHANGELOG.md",
            "LICENSE-APACHE",
            "LICENSE-MIT",
            "src/lib.rs",
        ]);
        assert_eq!(check_files(&files), ["does not ship README.md"]);
    }

    #[test]
    fn missing_licence_texts_fail() {
        let files = list(&["Cargo.toml", "CHANGELOG.md", "README.md", "src/lib.rs"]);
        assert_eq!(
            check_files(&files),
            ["does not ship LICENSE-APACHE", "does not ship LICENSE-MIT"]
        );
    }

    #[test]
    fn lookalikes_pass() {
        assert!(!matches_forbidden("src/bin/main.rs", ".bin"));
        assert!(!matches_forbidden("src/target.rs", "target/"));
        assert!(matches_forbidden("a/target/x", "target/"));
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
}
