//! The commands that read this host's state from the kernel: `probe`,
//! `wait-stable`, and
//! the kernel's source addresses for `sort` destinations given without
//! `@SOURCE`.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::Args;
use happy_connect::Connector;
use happy_connect::nat64::Nat64Report;
use happy_connect::probe::{
    Capabilities, Change, Dest, Interface, Snapshot, SourceInfo, SourceResolver,
};
use happy_connect::sort::{Source, SourceAttrs};
use happy_connect::stable::{self as stable_addr, Filter, Pending, StableAddr, Status, Tracker};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::{parse_duration, print_json};

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Print JSON: {"interfaces": [...], "capabilities": {...}, "nat64": {...}}.
    #[arg(long)]
    json: bool,
    /// How long to wait for the routers' answer to a Router Solicitation
    /// (their NAT64 prefix, RFC 8781): 500ms, 2s; 0 sends none.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "500ms")]
    ra_wait: Duration,
    /// Leave NAT64 out: no Router Solicitation, no ipv4only.arpa query.
    #[arg(long)]
    no_nat64: bool,
}

/// What `probe` learned about NAT64: the connector's report, and what
/// became of the Router Solicitation.
struct Nat64Probe {
    report: Result<Nat64Report, String>,
    solicitation: String,
}

/// Asks the routers to advertise (their PREF64 options reach the host
/// view), waits up to `ra_wait` for a NAT64 prefix to come, then asks the
/// DNS64 server (RFC 7050) through the system resolver.
fn nat64_probe(ra_wait: Duration) -> Result<Nat64Probe, Failure> {
    let connector = Connector::new();
    let view = connector.host_view();
    let ready = Duration::from_secs(2);
    let mut changes = view
        .subscribe(ready)
        .map_err(|err| Failure::Negative(format!("cannot read the host: {err}")))?;
    let solicitation = if ra_wait.is_zero() {
        "not sent (--ra-wait 0)".to_owned()
    } else {
        match view.solicit_routers() {
            Ok(0) => "not sent: no interface with a link-local IPv6 address".to_owned(),
            Ok(n) => {
                let start = Instant::now();
                let heard = loop {
                    let left = ra_wait.saturating_sub(start.elapsed());
                    match changes.recv_timeout(Some(left)) {
                        Some(Ok(Change::Nat64)) => break true,
                        Some(Ok(_)) if !left.is_zero() => {}
                        _ => break false,
                    }
                };
                let waited = start.elapsed().as_secs_f64() * 1000.0;
                if heard {
                    format!("sent on {n} interface(s); a router answered in {waited:.0} ms")
                } else {
                    format!("sent on {n} interface(s); no NAT64 prefix within {waited:.0} ms")
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
                "not sent (a raw ICMPv6 socket needs CAP_NET_RAW): a prefix routers announce \
                 is heard at their next advertisement"
                    .to_owned()
            }
            Err(err) => format!("not sent: {err}"),
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure::Negative(format!("cannot start the async runtime: {err}")))?;
    let report = runtime
        .block_on(connector.nat64())
        .map_err(|err| err.to_string());
    Ok(Nat64Probe {
        report,
        solicitation,
    })
}

fn nat64_json(probe: &Nat64Probe) -> Value {
    let mut v = match &probe.report {
        Ok(r) => json!({
            "prefixes": r.prefixes.iter().map(|p| json!({
                "prefix": p.prefix.to_string(),
                "source": p.source.name(),
                "detail": p.source.to_string(),
            })).collect::<Vec<_>>(),
            "synthesis": r.synthesis.map(|p| p.to_string()),
            "reason": r.reason,
            "discovery": r.discovery,
            "ignored": r.ignored,
        }),
        Err(err) => json!({ "error": err }),
    };
    v["router_solicitation"] = json!(probe.solicitation);
    v
}

fn print_nat64(probe: &Nat64Probe) {
    match &probe.report {
        Ok(r) => {
            if r.prefixes.is_empty() {
                println!("nat64: no prefix known");
            }
            for p in &r.prefixes {
                println!("nat64: {p}");
            }
            println!("nat64: {}", r.reason);
            if let Some(d) = &r.discovery {
                println!("nat64: {d}");
            }
            for why in &r.ignored {
                println!("nat64: ignored {why}");
            }
        }
        Err(err) => println!("nat64: unknown: {err}"),
    }
    println!("nat64: router solicitation {}", probe.solicitation);
}

pub(crate) fn probe(args: &ProbeArgs) -> Result<(), Failure> {
    let snapshot = capture()?;
    let caps = snapshot.capabilities();
    let interfaces = snapshot.interfaces_in_preference_order();
    let nat64 = if args.no_nat64 {
        None
    } else {
        Some(nat64_probe(args.ra_wait)?)
    };
    if args.json {
        let list: Vec<Value> = interfaces.iter().map(|i| interface_json(i)).collect();
        let mut out = json!({
            "interfaces": list,
            "capabilities": capabilities_json(&caps),
        });
        if let Some(n) = &nat64 {
            out["nat64"] = nat64_json(n);
        }
        print_json(&out);
        return Ok(());
    }
    println!("capabilities: {}", capabilities_line(&caps));
    if let Some(n) = &nat64 {
        print_nat64(n);
    }
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
