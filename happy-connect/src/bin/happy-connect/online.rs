//! The commands that read this host's state from the kernel: `probe`, and
//! the kernel's source addresses for `sort` destinations given without
//! `@SOURCE`.

use std::net::IpAddr;

use clap::Args;
use happy_connect::probe::{Capabilities, Dest, Interface, Snapshot, SourceInfo, SourceResolver};
use happy_connect::sort::{Source, SourceAttrs};
use serde_json::{Value, json};

use crate::Failure;

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
        crate::offline::print_json(&json!({
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
