//! `lab up`: builds every part of the lab in order, recording each step in
//! the state as it goes, so that a failed `up` can be taken down again.

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use netns_harness::lab::LabState;

use super::netns::{PREFIX_STEM, exists};
use super::parts::{self, dnsmasq, network, nftables};
use super::{Options, down, prerequisites, read_state, write_state};

/// Builds the lab; returns its state, also written to `state_path`. On
/// failure it prints the processes' last log lines and takes down what
/// it built.
pub(super) fn up(opts: &Options, state_path: &Path) -> Result<LabState> {
    prerequisites::check(opts)?;
    if let Some(old) = read_state(state_path)? {
        if old.namespaces.values().any(|ns| exists(ns)) {
            bail!(
                "a lab ({}) is already up according to {}: run `cargo xtask lab down` first",
                old.prefix,
                state_path.display()
            );
        }
    }
    let started = Instant::now();
    let prefix = format!("{PREFIX_STEM}{}-", std::process::id());
    let state_dir = state_path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let run_dir = state_dir.join(format!("run-{}", prefix.trim_end_matches('-')));
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let run_dir = fs::canonicalize(&run_dir)?;
    let mut state = LabState {
        prefix,
        run_dir: run_dir.clone(),
        namespaces: BTreeMap::new(),
        addresses: BTreeMap::new(),
        dns_server: SocketAddr::new(network::DNS_ADDR.into(), 53),
        dnsmasq_log: run_dir.join(dnsmasq::LOG),
        hosts_file: run_dir.join(dnsmasq::HOSTS),
        names: BTreeMap::new(),
        nft_table: nftables::TABLE.to_owned(),
        nft_chain: nftables::CHAIN.to_owned(),
        processes: BTreeMap::new(),
        up_ms: 0,
        nat64: None,
    };
    // Written first, so that a failed `up` can still be taken down.
    write_state(state_path, &state)?;
    match parts::build(&mut state, state_path) {
        Ok(()) => {
            state.up_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            write_state(state_path, &state)?;
            Ok(state)
        }
        Err(err) => {
            eprintln!("lab: up failed, taking the lab down again");
            print_logs(&state);
            if let Err(down_err) = down::down(state_path, false) {
                eprintln!("lab: down after the failed up failed too: {down_err:#}");
            }
            Err(err)
        }
    }
}

/// The last lines of every process's log, after a failed `up`.
fn print_logs(state: &LabState) {
    for (role, p) in &state.processes {
        if let Ok(text) = fs::read_to_string(&p.log) {
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            eprintln!("--- {role} ({}), last lines:", p.log.display());
            for line in tail.iter().rev() {
                eprintln!("    {line}");
            }
        }
    }
}

/// What `lab up` prints: the namespaces, addresses and names.
pub(super) fn print_summary(state: &LabState, state_path: &Path) {
    println!(
        "lab {} up in {} ms; state in {}",
        state.prefix,
        state.up_ms,
        state_path.display()
    );
    for (role, ns) in &state.namespaces {
        println!("  netns {role:<14} {ns}");
    }
    for (k, v) in &state.addresses {
        println!("  {k:<16} {v}");
    }
    for (name, list) in &state.names {
        let list: Vec<String> = list.iter().map(ToString::to_string).collect();
        println!("  {name:<16} {}", list.join(" "));
    }
    parts::nat64::print_summary(state);
}
