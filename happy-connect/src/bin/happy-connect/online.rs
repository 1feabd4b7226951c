//! The commands that read this host's state from the kernel: `probe`,
//! `wait-stable`, and
//! the kernel's source addresses for `sort` destinations given without
//! `@SOURCE`.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::Args;
use happy_connect::probe::{Capabilities, Dest, Interface, Snapshot, SourceInfo, SourceResolver};
use happy_connect::sort::{Source, SourceAttrs};
use happy_connect::stable::{self as stable_addr, Filter, Pending, StableAddr, Status, Tracker};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::{parse_duration, print_json};

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Print JSON: {"interfaces": [...], "capabilities": {...}}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn probe(args: &ProbeArgs) -> Result<(), Failure> {
    let snapshot = capture()?;
    let caps = snapshot.capabilities();
    let interfaces = snapshot.interfaces_in_preference_order();
    if args.json {
        let list: Vec<Value> = interfaces.iter().map(|i| interface_json(i)).collect();
        print_json(&json!({
            "interfaces": list,
            "capabilities": capabilities_json(&caps),
        }));
        return Ok(());
    }
    println!("capabilities: {}", capabilities_line(&caps));
    println!("interfaces, most preferred first (RFC 3484 order as Windows lists them):");
    for iface in interfaces {
        println!(
            "{:>3}  {}  {}  {}  mtu {}  {}",
            iface.index,
            iface.name,
            iface.kind.name(),
            if iface.up { "up" } else { "down" },
            iface.mtu,
            format!("{:?}", snapshot.preference(iface)).to_lowercase(),
        );
        for a in &iface.addresses {
            let flags = a.flags.to_string();
            println!(
                "       {}/{}  {}  {}{}{}",
                a.ip,
                a.prefix_len,
                a.class.name(),
                teredo_addr_scope(a.ip),
                if flags.is_empty() { "" } else { "  " },
                flags,
            );
        }
    }
    Ok(())
}

fn teredo_addr_scope(ip: IpAddr) -> &'static str {
    happy_connect::addr::scope(ip).name()
}

fn capture() -> Result<Snapshot, Failure> {
    Snapshot::capture()
        .map_err(|err| Failure::Negative(format!("cannot read interfaces from the kernel: {err}")))
}

fn capabilities_json(c: &Capabilities) -> Value {
    json!({
        "ipv4": c.ipv4,
        "native_ipv6": c.native_ipv6,
        "sixtofour": c.sixtofour,
        "teredo": c.teredo,
        "teredo_only": c.teredo_only,
    })
}

fn capabilities_line(c: &Capabilities) -> String {
    let mut parts = Vec::new();
    for (on, name) in [
        (c.ipv4, "ipv4"),
        (c.native_ipv6, "native-ipv6"),
        (c.sixtofour, "6to4"),
        (c.teredo, "teredo"),
        (c.teredo_only, "teredo-only"),
    ] {
        if on {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        "none (no usable address with a route)".to_owned()
    } else {
        parts.join(", ")
    }
}

fn interface_json(iface: &Interface) -> Value {
    let addresses: Vec<Value> = iface
        .addresses
        .iter()
        .map(|a| {
            let flags = a.flags.to_string();
            json!({
                "address": a.ip.to_string(),
                "prefix_len": a.prefix_len,
                "class": a.class.name(),
                "scope": teredo_addr_scope(a.ip),
                "flags": flags.split_whitespace().collect::<Vec<_>>(),
                "preferred_lft": a.preferred_lft,
                "valid_lft": a.valid_lft,
            })
        })
        .collect();
    json!({
        "index": iface.index,
        "name": iface.name,
        "kind": iface.kind.name(),
        "up": iface.up,
        "mtu": iface.mtu,
        "addresses": addresses,
    })
}

/// A destination of `sort` given without `@SOURCE`: an address, with a zone
/// (`fe80::1%eth0` or `fe80::1%2`) for link-local ones.
#[derive(Debug, Clone)]
pub(crate) struct Unsourced {
    pub(crate) addr: IpAddr,
    pub(crate) zone: Option<String>,
}

/// Asks the kernel, in one batch, which source it would use for each
/// destination, and with which attributes.
pub(crate) fn kernel_sources(dests: &[Unsourced]) -> Result<Vec<Option<Source>>, Failure> {
    let snapshot = capture()?;
    let mut batch = Vec::with_capacity(dests.len());
    for d in dests {
        let scope_id = match &d.zone {
            None => None,
            Some(zone) => Some(zone_index(&snapshot, zone).ok_or_else(|| {
                Failure::BadInput(format!(
                    "destination {}%{zone}: no interface named or numbered {zone:?}",
                    d.addr
                ))
            })?),
        };
        batch.push(Dest::from((d.addr, scope_id)));
    }
    let mut resolver = SourceResolver::new()
        .map_err(|err| Failure::Negative(format!("cannot open a netlink socket: {err}")))?;
    let infos = resolver
        .sources(&snapshot, &batch)
        .map_err(|err| Failure::Negative(format!("kernel source lookup failed: {err}")))?;
    Ok(infos.into_iter().map(|info| info.map(source_of)).collect())
}

fn zone_index(snapshot: &Snapshot, zone: &str) -> Option<u32> {
    match zone.parse::<u32>() {
        Ok(index) => snapshot.interface(index).map(|i| i.index),
        Err(_) => snapshot.interface_by_name(zone).map(|i| i.index),
    }
}

fn source_of(info: SourceInfo) -> Source {
    Source {
        addr: info.addr,
        attrs: SourceAttrs {
            deprecated: info.deprecated,
            home: info.home,
            care_of: false,
            tunnel: info.tunnel,
            temporary: info.temporary,
            prefix_len: info.prefix_len,
        },
    }
}

#[derive(Debug, Args)]
pub(crate) struct WaitStableArgs {
    /// How long to wait: 500ms, 3s, 2m (a bare number is seconds).
    #[arg(long, default_value = "10s", value_name = "DUR", value_parser = parse_duration)]
    timeout: Duration,
    /// Wait for every address on this interface.
    #[arg(long, value_name = "NAME", group = "what")]
    iface: Option<String>,
    /// Wait for this one address.
    #[arg(long, value_name = "IP", group = "what")]
    address: Option<IpAddr>,
    /// Wait for a Teredo address (2001:0::/32) to be present and qualified.
    #[arg(long, group = "what")]
    teredo: bool,
    /// Print JSON: {"stable", "waited_ms", "addresses", "pending", "failed"}.
    #[arg(long)]
    json: bool,
}

/// `wait-stable`: follows the kernel's address events through a
/// [`Tracker`] until the addresses of interest are stable, DAD fails, or
/// the timeout passes. On a terminal a live line shows what is pending.
pub(crate) fn wait_stable(args: &WaitStableArgs) -> Result<(), Failure> {
    let filter = if let Some(name) = &args.iface {
        Filter::InterfaceName(name.clone())
    } else if let Some(ip) = args.address {
        Filter::Address(ip)
    } else if args.teredo {
        Filter::Teredo
    } else {
        Filter::All
    };
    let live = !args.json && std::io::stderr().is_terminal();
    let started = Instant::now();
    let deadline = started.checked_add(args.timeout);
    // Subscribe before reading the table (the watch does both, in that
    // order), so no change between the two is lost.
    let mut watch = stable_addr::watch()
        .map_err(|err| Failure::Negative(format!("cannot watch address events: {err}")))?;
    let mut tracker = Tracker::new(filter.clone());
    let mut shown = String::new();
    let status = loop {
        if watch.is_settled() {
            let status = tracker.status();
            match &status {
                Status::Pending(pending) => {
                    if live {
                        let line = format!("waiting for {filter}: {}", join(pending));
                        if line != shown {
                            eprint!("\r\x1b[K{line}");
                            shown = line;
                        }
                    }
                }
                _ => break status,
            }
        }
        let now = Instant::now();
        let left = deadline.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(now)
        });
        if left.is_zero() {
            break tracker.status();
        }
        match watch.next_timeout(left) {
            Ok(Some(event)) => tracker.apply(event),
            Ok(None) => {}
            Err(err) => {
                return Err(Failure::Negative(format!(
                    "reading address events failed: {err}"
                )));
            }
        }
    };
    if live && !shown.is_empty() {
        eprint!("\r\x1b[K");
    }
    let waited_ms = started.elapsed().as_secs_f64() * 1000.0;
    report_wait(args.json, &filter, &status, waited_ms)
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn report_wait(
    json: bool,
    filter: &Filter,
    status: &Status,
    waited_ms: f64,
) -> Result<(), Failure> {
    let (stable, pending, failed): (&[StableAddr], &[Pending], &[stable_addr::Failure]) =
        match status {
            Status::Stable(addrs) => (addrs, &[], &[]),
            Status::Pending(p) => (&[], p, &[]),
            Status::Failed(f) => (&[], &[], f),
        };
    let ok = matches!(status, Status::Stable(_));
    if json {
        let addr_json = |ip: Option<IpAddr>| ip.map(|ip| ip.to_string());
        print_json(&json!({
            "stable": ok,
            "waited_ms": (waited_ms * 10.0).round() / 10.0,
            "addresses": stable.iter().map(|a| json!({
                "address": a.ip.to_string(),
                "prefix_len": a.prefix_len,
                "interface": a.ifname,
                "index": a.ifindex,
            })).collect::<Vec<_>>(),
            "pending": pending.iter().map(|p| json!({
                "address": addr_json(p.ip),
                "interface": p.ifname,
                "reason": p.reason.as_str(),
                "text": p.to_string(),
            })).collect::<Vec<_>>(),
            "failed": failed.iter().map(|f| json!({
                "address": addr_json(f.ip),
                "interface": f.ifname,
                "text": f.to_string(),
            })).collect::<Vec<_>>(),
        }));
    } else if ok {
        println!("{filter}: stable after {waited_ms:.1} ms");
        for a in stable {
            println!("  {a}");
        }
    }
    if ok {
        return Ok(());
    }
    let msg = if failed.is_empty() {
        format!(
            "{filter}: not stable after {waited_ms:.0} ms; pending: {}",
            join(pending)
        )
    } else {
        format!("{filter}: cannot become stable: {}", join(failed))
    };
    Err(Failure::Negative(msg))
}
