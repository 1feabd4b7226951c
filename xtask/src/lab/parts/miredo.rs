//! Teredo: a Miredo server in `ts` (two IPv4 addresses, as a Teredo server
//! needs) and a Miredo client in each of t1 and t2, which `up` waits to
//! qualify; their Teredo addresses go into the state.

use std::fs;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netns_harness::lab::LabState;

use super::network::PLAN;
use super::{Build, Part, nothing_to_undo, path_str};
use crate::lab::netns::ip;

pub(in crate::lab) const PART: Part = Part {
    name: "miredo",
    up,
    status,
    down: nothing_to_undo,
};

/// How long `up` waits for both Miredo clients to qualify.
const QUALIFY_TIMEOUT: Duration = Duration::from_secs(20);

/// The UDP port the Miredo clients bind (fixed so that a restarted client
/// gets the same Teredo address).
const MIREDO_PORT: u16 = 3545;

/// The client namespaces' roles.
const CLIENTS: [&str; 2] = ["t1", "t2"];

fn up(build: &mut Build<'_>) -> Result<()> {
    let run_dir = build.state.run_dir.clone();
    let server_conf = run_dir.join("miredo-server.conf");
    fs::write(
        &server_conf,
        format!("ServerBindAddress {}\n", PLAN.ts_v4[0]),
    )?;
    build.spawn(
        "miredo_server",
        "teredo_server",
        &[
            "miredo-server".to_owned(),
            "-f".to_owned(),
            "-c".to_owned(),
            path_str(&server_conf),
            "-p".to_owned(),
            path_str(&run_dir.join("miredo-server.pid")),
        ],
        &run_dir.join("miredo-server.log"),
    )?;
    // Give the server a moment to bind before the clients send their
    // first router solicitation (they retry anyway).
    std::thread::sleep(Duration::from_millis(100));
    for role in CLIENTS {
        let conf = run_dir.join(format!("miredo-{role}.conf"));
        fs::write(
            &conf,
            format!(
                "RelayType client\nInterfaceName teredo\nServerAddress {}\nBindPort {MIREDO_PORT}\n",
                PLAN.ts_v4[0]
            ),
        )?;
        build.spawn(
            &format!("miredo_{role}"),
            role,
            &[
                "miredo".to_owned(),
                "-f".to_owned(),
                "-c".to_owned(),
                path_str(&conf),
                "-p".to_owned(),
                path_str(&run_dir.join(format!("miredo-{role}.pid"))),
            ],
            &run_dir.join(format!("miredo-{role}.log")),
        )?;
    }
    let deadline = Instant::now() + QUALIFY_TIMEOUT;
    for role in CLIENTS {
        let ns = build.ns(role)?;
        let address = wait_teredo(&ns, deadline).with_context(|| {
            format!(
                "the Miredo client {role} did not qualify with the Teredo server {} within {}s \
                 (see {})",
                PLAN.ts_v4[0],
                QUALIFY_TIMEOUT.as_secs(),
                build.state.processes[&format!("miredo_{role}")]
                    .log
                    .display()
            )
        })?;
        let address = address
            .parse()
            .with_context(|| format!("`ip` printed a bad Teredo address {address:?}"))?;
        build
            .state
            .addresses
            .insert(format!("{role}_teredo"), address);
    }
    Ok(())
}

/// The clients' Teredo addresses as the kernel has them now.
fn status(state: &LabState) -> Vec<String> {
    CLIENTS
        .iter()
        .map(|role| {
            let now = state
                .namespace(role)
                .and_then(|ns| ip(ns, &["-6", "-o", "addr", "show", "dev", "teredo"]).ok())
                .and_then(|o| teredo_address(&o));
            format!(
                "teredo {role}: {}",
                now.unwrap_or_else(|| "no qualified address".to_owned())
            )
        })
        .collect()
}

/// Polls the `teredo` interface of `ns` until it has a non-tentative
/// global 2001:0::/32 address; returns it.
fn wait_teredo(ns: &str, deadline: Instant) -> Result<String> {
    loop {
        if let Ok(out) = ip(ns, &["-6", "-o", "addr", "show", "dev", "teredo"]) {
            if let Some(addr) = teredo_address(&out) {
                return Ok(addr);
            }
        }
        if Instant::now() >= deadline {
            bail!("no qualified Teredo address on interface `teredo` in {ns}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The first Teredo address in `ip -o -6 addr` output that is not
/// tentative.
fn teredo_address(out: &str) -> Option<String> {
    out.lines()
        .filter(|l| !l.contains("tentative"))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet6")?;
            let cidr = words.next()?;
            let addr = cidr.split('/').next()?;
            let lower = addr.to_ascii_lowercase();
            (lower.starts_with("2001:0:") || lower.starts_with("2001::")).then(|| addr.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teredo_from_ip_output() {
        let out = "5: teredo    inet6 2001:0:c612:a:2c8c:3cd:39ed:fdfd/32 scope global \\       valid_lft forever preferred_lft forever\n";
        assert_eq!(
            teredo_address(out).as_deref(),
            Some("2001:0:c612:a:2c8c:3cd:39ed:fdfd")
        );
        assert_eq!(
            teredo_address(&out.replace("global", "global tentative")),
            None
        );
    }
}
