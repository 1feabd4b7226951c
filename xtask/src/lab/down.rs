//! `lab down`: stops the lab's processes and removes its namespaces, also
//! what a crashed or interrupted run left behind.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::netns::{exists, leftovers};
use super::process::stop_pids;
use super::{parts, read_state};
use crate::host;

/// Stops every process the state names or that runs in a lab namespace,
/// deletes every lab namespace (the state's and leftovers), lets each part
/// undo what outlives the namespaces, and removes the state file.
pub(super) fn down(state_path: &Path) -> Result<()> {
    let state = read_state(state_path).unwrap_or_else(|err| {
        eprintln!("lab: ignoring the state file: {err:#}");
        None
    });
    let mut namespaces = leftovers();
    let mut pids = Vec::new();
    if let Some(s) = &state {
        pids.extend(s.processes.values().map(|p| p.pid));
        for ns in s.namespaces.values() {
            if !namespaces.contains(ns) && exists(ns) {
                namespaces.push(ns.clone());
            }
        }
    }
    // Whatever runs in a lab namespace is the lab's (a Miredo restarted by
    // a test has a pid the state may not know).
    for ns in &namespaces {
        if let Ok(out) = host::output(&["ip", "netns", "pids", ns]) {
            pids.extend(out.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    stop_pids(&pids);
    let mut errors = Vec::new();
    for ns in &namespaces {
        if let Err(err) = host::output(&["ip", "netns", "del", ns]) {
            errors.push(format!("{err:#}"));
        }
    }
    for part in parts::PARTS.iter().rev() {
        errors.extend((part.down)(state.as_ref()));
    }
    if state.is_some() {
        fs::remove_file(state_path)
            .with_context(|| format!("removing {}", state_path.display()))?;
    }
    println!(
        "lab down: stopped {} process(es), removed {} namespace(s)",
        pids.len(),
        namespaces.len()
    );
    if !errors.is_empty() {
        bail!("lab down: {}", errors.join("; "));
    }
    Ok(())
}
