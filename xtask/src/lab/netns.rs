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

/// The lab a lab namespace belongs to: its name's `hcl<pid>` prefix.
pub(super) fn lab_of(name: &str) -> Option<&str> {
    is_lab_name(name)
        .then(|| name.split_once('-'))
        .flatten()
        .map(|(lab, _)| lab)
}

/// The pid of the `up` (or `test`) that made a lab namespace, from its
/// name.
pub(super) fn lab_pid(name: &str) -> Option<u32> {
    lab_of(name)?.strip_prefix(PREFIX_STEM)?.parse().ok()
}

/// Of the lab namespaces `names`, those of labs that nothing runs in any
/// more, which a crashed or interrupted run left behind: a lab with one
/// of its namespaces `busy` (a process in it, or the process that makes
/// the lab still alive) is another lab, up or coming up.
pub(super) fn orphans(names: &[String], busy: impl Fn(&str) -> bool) -> Vec<String> {
    let live: Vec<&str> = names
        .iter()
        .filter(|name| busy(name))
        .filter_map(|name| lab_of(name))
        .collect();
    names
        .iter()
        .filter(|name| lab_of(name).is_some_and(|lab| !live.contains(&lab)))
        .cloned()
        .collect()
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
        assert_eq!(lab_of("hcl123-t1"), Some("hcl123"));
        assert_eq!(lab_of("hcl123-nat64-router"), Some("hcl123"));
        assert_eq!(lab_of("other-t1"), None);
        assert_eq!(lab_pid("hcl123-nat64-router"), Some(123));
        assert_eq!(lab_pid("other-t1"), None);
    }

    #[test]
    fn orphans_are_the_labs_nothing_runs_in() {
        let names: Vec<String> = [
            "hcl1-t1",
            "hcl1-relay",
            "hcl2-t1",
            "hcl2-relay",
            "hcl3-relay",
        ]
        .map(str::to_owned)
        .to_vec();
        // Lab 2 runs a process in one namespace: all of it stays.
        let orphans = orphans(&names, |ns| ns == "hcl2-t1");
        assert_eq!(orphans, ["hcl1-t1", "hcl1-relay", "hcl3-relay"]);
        assert!(super::orphans(&names, |_| true).is_empty());
        assert_eq!(super::orphans(&names, |_| false), names);
    }
}
