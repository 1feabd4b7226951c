//! The lab's namespaces: their names, finding them (leftovers of a
//! crashed run included), and commands run in them.
//!
//! The lab builds its namespaces with `ip` and reports failures as errors,
//! as a command-line tool should; the tests enter them through
//! `netns_harness` ([`LabState::netns`](netns_harness::lab::LabState)).

use std::path::Path;

use anyhow::Result;

use crate::host;

/// The start of every lab namespace name; the pid of the `up` follows.
pub(super) const PREFIX_STEM: &str = "hcl";

/// Whether the namespace `name` exists.
pub(super) fn exists(name: &str) -> bool {
    Path::new("/var/run/netns").join(name).exists()
}

/// Whether `name` looks like a lab namespace's: `hcl<digits>-...`.
pub(super) fn is_lab_name(name: &str) -> bool {
    name.strip_prefix(PREFIX_STEM)
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Every namespace whose name looks like a lab's.
pub(super) fn leftovers() -> Vec<String> {
    let out = host::output(&["ip", "netns", "list"]).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| is_lab_name(name))
        .map(str::to_owned)
        .collect()
}

/// `ip -n NS ARGS...`.
pub(super) fn ip(ns: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip", "-n", ns];
    argv.extend_from_slice(args);
    host::output(&argv)
}

/// `ip netns exec NS ARGS...`.
pub(super) fn exec(ns: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip", "netns", "exec", ns];
    argv.extend_from_slice(args);
    host::output(&argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names() {
        assert!(is_lab_name("hcl123-t1"));
        assert!(!is_lab_name("hcl-t1"));
        assert!(!is_lab_name("hclx1-t1"));
        assert!(!is_lab_name("other"));
    }
}
