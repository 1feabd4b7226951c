//! The parts of the lab, one file each, built in the order of [`PARTS`].
//!
//! A part is three functions: `up` builds it, recording in the state (see
//! [`Build`]) every namespace and process it makes before making it;
//! `status` adds its own live checks to `lab status`; `down` undoes what
//! outlives the lab's namespaces and processes (files under `/etc/netns`,
//! say). Everything inside a namespace (interfaces, routes, nft tables)
//! goes with it, and `lab down` deletes the namespaces and stops the
//! processes itself, so most parts have nothing to undo.
//!
//! A new part is a new file here and one entry in [`PARTS`]; the tests
//! read what it recorded from the state (`netns_harness::lab::LabState`).

pub(super) mod dnsmasq;
mod miredo;
pub(super) mod nat64;
pub(super) mod network;
pub(super) mod nftables;

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use netns_harness::lab::LabState;

use super::netns;
use super::process::spawn_in;
use super::write_state;

/// One part of the lab.
pub(super) struct Part {
    /// Its name, in messages.
    pub(super) name: &'static str,
    /// Builds it.
    pub(super) up: fn(&mut Build<'_>) -> Result<()>,
    /// Lines `lab status` prints after the state (live checks).
    pub(super) status: fn(&LabState) -> Vec<String>,
    /// Undoes what outlives the namespaces; runs after they are deleted,
    /// with their names. Returns what it could not undo.
    pub(super) down: fn(&[String]) -> Vec<String>,
}

/// The parts, in build order (`down` runs them in reverse).
pub(super) const PARTS: &[Part] = &[
    network::PART,
    nftables::PART,
    miredo::PART,
    dnsmasq::PART,
    nat64::PART,
];

/// Builds every part in order, stopping at the first that fails.
pub(super) fn build(state: &mut LabState, state_path: &Path) -> Result<()> {
    let mut build = Build { state, state_path };
    for part in PARTS {
        (part.up)(&mut build).with_context(|| format!("lab part `{}`", part.name))?;
    }
    Ok(())
}

/// What a part builds with: the state so far, and where it is kept.
pub(super) struct Build<'a> {
    pub(super) state: &'a mut LabState,
    state_path: &'a Path,
}

impl Build<'_> {
    /// Writes the state as it is now.
    pub(super) fn save(&self) -> Result<()> {
        write_state(self.state_path, self.state)
    }

    /// The namespace of `role`, which an earlier part made.
    pub(super) fn ns(&self, role: &str) -> Result<String> {
        self.state
            .namespace(role)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no namespace {role:?} in the lab (parts built out of order?)"))
    }

    /// Makes the namespace `<prefix><short>` for `role`, with `lo` up,
    /// recorded in the state before it exists.
    pub(super) fn add_namespace(&mut self, role: &str, short: &str) -> Result<String> {
        let name = format!("{}{short}", self.state.prefix);
        self.state.namespaces.insert(role.to_owned(), name.clone());
        self.save()?;
        crate::host::output(&["ip", "netns", "add", &name])?;
        netns::ip(&name, &["link", "set", "lo", "up"])?;
        Ok(name)
    }

    /// Starts `argv` in the namespace of `ns_role` as the process `role`,
    /// its output appended to `log`; records it in the state and writes
    /// the state, so that `down` stops it should a later step fail.
    pub(super) fn spawn(
        &mut self,
        role: &str,
        ns_role: &str,
        argv: &[String],
        log: &Path,
    ) -> Result<()> {
        let ns = self.ns(ns_role)?;
        let process = spawn_in(&ns, argv, log)?;
        self.state.processes.insert(role.to_owned(), process);
        self.save()
    }
}

/// The `status` of a part with no live check.
fn no_status(_: &LabState) -> Vec<String> {
    Vec::new()
}

/// The `down` of a part with nothing outside its namespaces.
fn nothing_to_undo(_: &[String]) -> Vec<String> {
    Vec::new()
}

/// A path as an argument of a command line.
fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
