//! `lab down`: stops the lab's processes and removes its namespaces, and
//! what a crashed or interrupted run left behind; another lab that is up
//! (from another checkout, say) is left alone unless `--all` says
//! otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::netns::{exists, lab_of, lab_pid, leftovers, orphans};
use super::process::{alive, stop_pids};
use super::{parts, read_state};
use crate::host;

/// The processes running in the namespace `ns`.
fn pids_in(ns: &str) -> Vec<u32> {
    host::output(&["ip", "netns", "pids", ns])
        .map(|out| {
            out.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Stops the processes the state names and every process in the
/// namespaces it removes: the state's, any other of the same lab, and
/// those of labs nothing runs in any more and whose maker is gone (every
/// lab namespace with `all`). Then deletes those namespaces, lets each
/// part undo what outlives them, and removes the state file.
pub(super) fn down(state_path: &Path, all: bool) -> Result<()> {
    let state = read_state(state_path).unwrap_or_else(|err| {
        eprintln!("lab down: ignoring the state file: {err:#}");
        None
    });
    let mut namespaces: Vec<String> = Vec::new();
    let mut pids = Vec::new();
    if let Some(s) = &state {
        pids.extend(s.processes.values().map(|p| p.pid));
        namespaces.extend(s.namespaces.values().filter(|ns| exists(ns)).cloned());
    }
    // A namespace of this lab that the state does not list (a run stopped
    // between making it and recording it) is this lab's all the same.
    let ours: BTreeSet<String> = namespaces
        .iter()
        .filter_map(|ns| lab_of(ns))
        .chain(state.as_ref().map(|s| s.prefix.trim_end_matches('-')))
        .map(str::to_owned)
        .collect();
    let (same_lab, others): (Vec<String>, Vec<String>) = leftovers()
        .into_iter()
        .filter(|ns| !namespaces.contains(ns))
        .partition(|ns| lab_of(ns).is_some_and(|lab| ours.contains(lab)));
    namespaces.extend(same_lab);
    let removed_others = if all {
        others.clone()
    } else {
        let maker_alive = |ns: &str| lab_pid(ns).is_some_and(alive);
        orphans(&others, |ns| maker_alive(ns) || !pids_in(ns).is_empty())
    };
    let kept: BTreeSet<&str> = others
        .iter()
        .filter(|ns| !removed_others.contains(ns))
        .filter_map(|ns| lab_of(ns))
        .collect();
    namespaces.extend(removed_others);
    // Whatever runs in a namespace being removed goes with it (a Miredo
    // restarted by a test has a pid the state may not know).
    for ns in &namespaces {
        pids.extend(pids_in(ns));
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
        errors.extend((part.down)(&namespaces));
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
    if !kept.is_empty() {
        let kept: Vec<&str> = kept.into_iter().collect();
        println!(
            "lab down: left the namespaces of the labs up or coming up ({}); \
             `cargo xtask lab down --all` removes them too",
            kept.join(", ")
        );
    }
    if !errors.is_empty() {
        bail!("lab down: {}", errors.join("; "));
    }
    Ok(())
}
