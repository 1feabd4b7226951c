//! The dependency tree carries one major version of each crate that
//! shares state with the connector's sockets and runtime: two tokios would
//! mean two reactors, two socket2s or hickorys two copies of types that do
//! not convert. A stand-in for `cargo deny`'s duplicate check, which cannot
//! be installed here.

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
    let lock = std::fs::read_to_string(crate::workspace_root().join("Cargo.lock"))
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
