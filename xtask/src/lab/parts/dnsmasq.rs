//! DNS: the lab's names in one hosts file, served by dnsmasq on the
//! router's loopback with every query logged (the tests count them), and a
//! `resolv.conf` pointing at it for programs run in the leaves with `ip
//! netns exec`.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netns_harness::lab::LabState;

use super::network::{DNS_ADDR, PLAN, addr};
use super::{Build, Part, no_status, path_str};
use crate::lab::netns::{self, is_lab_name};
use crate::lab::process::alive;

pub(in crate::lab) const PART: Part = Part {
    name: "dnsmasq",
    up,
    status: no_status,
    down,
};

/// dnsmasq's query log, in the run directory.
pub(in crate::lab) const LOG: &str = "dnsmasq.log";
/// The hosts file, in the run directory.
pub(in crate::lab) const HOSTS: &str = "lab.hosts";

/// The leaves whose programs get the lab's `resolv.conf`.
const CLIENTS: [&str; 3] = ["t1", "t2", "srv"];

fn up(build: &mut Build<'_>) -> Result<()> {
    let teredo = |role: &str| {
        build
            .state
            .address(&format!("{role}_teredo"))
            .with_context(|| format!("no Teredo address of {role} in the state"))
    };
    let (t1_teredo, t2_teredo) = (teredo("t1")?, teredo("t2")?);
    build.state.names = names(t1_teredo, t2_teredo)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut hosts = String::from("# happy-connect lab names, served by dnsmasq\n");
    for (name, list) in &build.state.names {
        for a in list {
            let _ = writeln!(hosts, "{a} {name}");
        }
    }
    fs::write(&build.state.hosts_file, hosts)?;
    let argv = [
        "dnsmasq".to_owned(),
        "--no-daemon".to_owned(),
        "--conf-file=/dev/null".to_owned(),
        "--no-resolv".to_owned(),
        "--no-hosts".to_owned(),
        format!("--addn-hosts={}", path_str(&build.state.hosts_file)),
        "--local=/lab/".to_owned(),
        "--log-queries".to_owned(),
        format!("--log-facility={}", path_str(&build.state.dnsmasq_log)),
        format!("--listen-address={DNS_ADDR}"),
        "--bind-interfaces".to_owned(),
        "--cache-size=0".to_owned(),
    ];
    let out = build.state.run_dir.join("dnsmasq.out");
    build.spawn("dnsmasq", "router", &argv, &out)?;
    wait_dnsmasq(build.state)?;

    // Clients find the lab DNS through `ip netns exec`'s resolv.conf.
    for role in CLIENTS {
        let dir = Path::new("/etc/netns").join(build.ns(role)?);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::write(
            dir.join("resolv.conf"),
            format!("nameserver {DNS_ADDR}\noptions timeout:2 attempts:2\n"),
        )?;
    }
    Ok(())
}

/// The lab's DNS names and their addresses, given the clients' Teredo
/// addresses.
fn names(t1_teredo: IpAddr, t2_teredo: IpAddr) -> [(&'static str, Vec<IpAddr>); 8] {
    let (s4, s6, s6to4) = (addr(PLAN.srv_v4), addr(PLAN.srv_v6), addr(PLAN.srv_6to4));
    [
        ("dual.lab", vec![s4, s6]),
        ("v4only.lab", vec![s4]),
        ("v4-teredo2.lab", vec![s4, t2_teredo]),
        ("v4-teredo1.lab", vec![s4, t1_teredo]),
        ("teredo-t2.lab", vec![t2_teredo]),
        ("teredo-t1.lab", vec![t1_teredo]),
        ("all4.lab", vec![s6, s6to4, s4, t1_teredo]),
        ("srv.lab", vec![s4, s6]),
    ]
}

/// Waits up to 5 s for dnsmasq to log that it read the hosts file.
fn wait_dnsmasq(state: &LabState) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = state.processes["dnsmasq"].pid;
    loop {
        let log = fs::read_to_string(&state.dnsmasq_log).unwrap_or_default();
        if log.contains("read ") && (log.contains("addresses") || log.contains("names")) {
            return Ok(());
        }
        if !alive(pid) {
            bail!(
                "dnsmasq exited at start (see {} and {})",
                state.dnsmasq_log.display(),
                state.processes["dnsmasq"].log.display()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "dnsmasq did not read its hosts file within 5 s (see {})",
                state.dnsmasq_log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes the `/etc/netns/<lab namespace>/` directories of the removed
/// namespaces, and those a crashed lab left without their namespace.
fn down(removed: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if let Ok(dir) = fs::read_dir("/etc/netns") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_lab_name(&name) && (removed.contains(&name) || !netns::exists(&name)) {
                if let Err(err) = fs::remove_dir_all(entry.path()) {
                    errors.push(format!("removing {}: {err}", entry.path().display()));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teredo_names_carry_the_clients_addresses() {
        let (t1, t2) = (addr("2001:0:c612:a::1"), addr("2001:0:c612:a::2"));
        let names = names(t1, t2);
        let get = |n: &str| &names.iter().find(|(name, _)| *name == n).unwrap().1;
        assert_eq!(get("teredo-t1.lab"), &[t1]);
        assert_eq!(get("v4-teredo2.lab"), &[addr(PLAN.srv_v4), t2]);
        // The Windows order test needs all four kinds in one name.
        assert_eq!(get("all4.lab").len(), 4);
    }
}
