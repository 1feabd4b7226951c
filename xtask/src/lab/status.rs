//! `lab status`: the state, and whether what it names still runs.

use std::path::Path;

use anyhow::Result;

use super::netns::{exists, leftovers};
use super::process::alive;
use super::{parts, read_state};

/// Prints the state, each process and namespace with whether it is there,
/// then each part's own checks.
pub(super) fn status(state_path: &Path) -> Result<()> {
    let Some(state) = read_state(state_path)? else {
        let leftovers = leftovers();
        println!("no lab state at {}", state_path.display());
        if !leftovers.is_empty() {
            println!(
                "leftover lab namespaces (run `cargo xtask lab down`): {}",
                leftovers.join(" ")
            );
        }
        return Ok(());
    };
    println!("{}", serde_json::to_string_pretty(&state)?);
    for (role, p) in &state.processes {
        println!(
            "{role:<14} pid {:<8} {}",
            p.pid,
            if alive(p.pid) {
                "running"
            } else {
                "NOT RUNNING"
            }
        );
    }
    for (role, ns) in &state.namespaces {
        println!(
            "netns {role:<14} {ns:<16} {}",
            if exists(ns) { "present" } else { "MISSING" }
        );
    }
    for part in parts::PARTS {
        for line in (part.status)(&state) {
            println!("{line}");
        }
    }
    Ok(())
}
