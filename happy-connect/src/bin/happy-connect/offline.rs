//! The commands that need no network: `teredo`, `classify` and `sort`
//! (which asks the kernel only for destinations given without a source).

use std::net::{IpAddr, Ipv6Addr};

use clap::Args;
use happy_connect::addr::{TeredoAddr, classify as classify_addr};
use happy_connect::sort::{Destination, Source, SourceAttrs, explain};
use serde_json::{Value, json};

use crate::args::{parse_policy, print_json};
use crate::{Failure, online};

#[derive(Debug, Args)]
pub(crate) struct TeredoArgs {
    /// The IPv6 address to decode (2001:0::/32).
    address: String,
    /// Print JSON: {"address", "server", "client", "port", "flags", "cone"}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ClassifyArgs {
    /// Addresses to classify (IPv4 or IPv6).
    #[arg(required = true, value_name = "ADDR")]
    addresses: Vec<String>,
    /// Policy table for precedence and label: rfc6724, rfc3484, windows, glibc, system or gai:PATH.
    #[arg(long, default_value = "rfc6724", value_name = "P")]
    policy: String,
    /// Print a JSON array of {"address", "kind", "scope", "precedence", "label"}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SortArgs {
    /// Destinations as DEST@SOURCE[,ATTR...]; @- means no usable source.
    /// ATTR is deprecated, home, careof, tunnel, temporary or plen=N. A
    /// destination without @ gets the source the kernel would use
    /// (link-local ones take a zone: fe80::1%eth0).
    #[arg(
        value_name = "DEST[@SOURCE[,ATTR...]]",
        required_unless_present = "example"
    )]
    destinations: Vec<String>,
    /// Sort a built-in mix of native IPv6, 6to4, IPv4 and Teredo destinations.
    #[arg(long, conflicts_with = "destinations")]
    example: bool,
    /// Policy table: rfc6724 (default), rfc3484, windows, glibc, system or gai:PATH.
    #[arg(long, default_value = "rfc6724", value_name = "P")]
    policy: String,
    /// Show, for each entry, the rule that placed it before the next one.
    #[arg(long)]
    explain: bool,
    /// Print JSON: {"policy", "order": [{"address", "source", "precedence", "label", "scope", "rule"}]}.
    #[arg(long)]
    json: bool,
}

/// The built-in example for `sort --example`: one destination of each kind,
/// each with the source a dual-stack host with 6to4 and Teredo would use,
/// listed worst first so that the sort visibly reorders them.
const EXAMPLE: &[&str] = &[
    "2001:0:4136:e378:8000:63bf:3fff:fdd2@2001:0:c633:640a:8000:f227:bd6a:13fe,tunnel",
    "198.51.100.20@192.0.2.45",
    "2002:cb00:7101::10@2002:c000:22d::1,tunnel,plen=48",
    "2001:db8:1::10@2001:db8:1::2,plen=64",
];

pub(crate) fn teredo(args: &TeredoArgs) -> Result<(), Failure> {
    let ip: Ipv6Addr = args
        .address
        .parse()
        .map_err(|_| Failure::BadInput(format!("{:?} is not an IPv6 address", args.address)))?;
    let teredo = TeredoAddr::from_ipv6(ip).map_err(|err| Failure::Negative(err.to_string()))?;
    if args.json {
        print_json(&json!({
            "address": ip.to_string(),
            "server": teredo.server().to_string(),
            "client": teredo.client().to_string(),
            "port": teredo.port(),
            "flags": teredo.flags().bits(),
            "cone": teredo.is_cone(),
        }));
    } else {
        println!("address  {ip}");
        println!("server   {}", teredo.server());
        println!("client   {}", teredo.client());
        println!("port     {}", teredo.port());
        println!(
            "flags    {:#06x} ({})",
            teredo.flags().bits(),
            if teredo.is_cone() { "cone" } else { "not cone" }
        );
    }
    Ok(())
}

pub(crate) fn classify(args: &ClassifyArgs) -> Result<(), Failure> {
    let policy = parse_policy(&args.policy)?;
    let addresses = args
        .addresses
        .iter()
        .map(|text| parse_ip(text, "address"))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<Value> = addresses
        .iter()
        .map(|&ip| {
            json!({
                "address": ip.to_string(),
                "kind": classify_addr(ip).name(),
                "scope": policy.scope(ip).name(),
                "precedence": policy.precedence(ip),
                "label": policy.label(ip),
            })
        })
        .collect();
    if args.json {
        print_json(&Value::Array(rows));
        return Ok(());
    }
    let table: Vec<Vec<String>> = addresses
        .iter()
        .map(|&ip| {
            vec![
                ip.to_string(),
                classify_addr(ip).name().to_owned(),
                policy.scope(ip).name().to_owned(),
                policy.precedence(ip).to_string(),
                policy.label(ip).to_string(),
            ]
        })
        .collect();
    print_table(
        &["address", "kind", "scope", "prec", "label"],
        &table,
        |_| None,
    );
    Ok(())
}

pub(crate) fn sort(args: &SortArgs) -> Result<(), Failure> {
    let policy = parse_policy(&args.policy)?;
    let specs: Vec<&str> = if args.example {
        EXAMPLE.to_vec()
    } else {
        args.destinations.iter().map(String::as_str).collect()
    };
    let parsed = specs
        .iter()
        .map(|spec| parse_destination(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dests = with_kernel_sources(parsed)?;
    happy_connect::sort::sort(&policy, &mut dests);
    let rules = explain(&policy, &dests);

    let order: Vec<Value> = dests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "address": d.addr.to_string(),
                "source": d.source.map(|s| s.addr.to_string()),
                "precedence": policy.precedence(d.addr),
                "label": policy.label(d.addr),
                "scope": policy.scope(d.addr).name(),
                "rule": rules.get(i).map(|r| r.number()),
            })
        })
        .collect();
    if args.json {
        print_json(&json!({ "policy": policy.name(), "order": order }));
        return Ok(());
    }

    println!("policy: {}", policy.name());
    let table: Vec<Vec<String>> = dests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            vec![
                (i + 1).to_string(),
                d.addr.to_string(),
                d.source
                    .map_or_else(|| "-".to_owned(), |s| s.addr.to_string()),
                classify_addr(d.addr).name().to_owned(),
                policy.precedence(d.addr).to_string(),
                policy.label(d.addr).to_string(),
                policy.scope(d.addr).name().to_owned(),
            ]
        })
        .collect();
    let note = |i: usize| {
        args.explain
            .then(|| {
                rules
                    .get(i)
                    .map(|rule| format!("   #{} before #{} by {rule}", i + 1, i + 2))
            })
            .flatten()
    };
    print_table(
        &[
            "#",
            "destination",
            "source",
            "kind",
            "prec",
            "label",
            "scope",
        ],
        &table,
        note,
    );
    Ok(())
}

fn parse_ip(text: &str, what: &str) -> Result<IpAddr, Failure> {
    text.parse()
        .map_err(|_| Failure::BadInput(format!("{what} {text:?} is not an IPv4 or IPv6 address")))
}

/// A `sort` destination as given: with its source, or waiting for the
/// kernel's.
enum Spec {
    Sourced(Destination),
    Unsourced(online::Unsourced),
}

/// Fills in the kernel's sources, in one batch, for the destinations given
/// without one; the kernel is not asked at all when every source is given.
fn with_kernel_sources(specs: Vec<Spec>) -> Result<Vec<Destination>, Failure> {
    let unsourced: Vec<online::Unsourced> = specs
        .iter()
        .filter_map(|s| match s {
            Spec::Unsourced(u) => Some(u.clone()),
            Spec::Sourced(_) => None,
        })
        .collect();
    let mut found = if unsourced.is_empty() {
        Vec::new()
    } else {
        online::kernel_sources(&unsourced)?
    }
    .into_iter();
    Ok(specs
        .into_iter()
        .map(|spec| match spec {
            Spec::Sourced(d) => d,
            Spec::Unsourced(u) => Destination {
                addr: u.addr,
                source: found.next().flatten(),
            },
        })
        .collect())
}

/// Parses `DEST@SOURCE[,ATTR...]`, `DEST@-`, or a bare `DEST` (with an
/// optional `%ZONE`) whose source the kernel will give.
fn parse_destination(spec: &str) -> Result<Spec, Failure> {
    let Some((dest, source)) = spec.split_once('@') else {
        let (addr, zone) = match spec.split_once('%') {
            Some((addr, zone)) if !zone.is_empty() => (addr, Some(zone.to_owned())),
            Some(_) => {
                return Err(Failure::BadInput(format!(
                    "destination {spec:?} has an empty zone after %"
                )));
            }
            None => (spec, None),
        };
        let addr = parse_ip(addr, "destination")?;
        if zone.is_some() && !addr.is_ipv6() {
            return Err(Failure::BadInput(format!(
                "destination {spec:?}: only IPv6 addresses take a %zone"
            )));
        }
        return Ok(Spec::Unsourced(online::Unsourced { addr, zone }));
    };
    let addr = parse_ip(dest, "destination")?;
    let mut parts = source.split(',');
    let source_text = parts.next().unwrap_or_default();
    if source_text == "-" {
        if let Some(attr) = parts.next() {
            return Err(Failure::BadInput(format!(
                "destination {spec:?}: attribute {attr:?} given but @- says there is no source"
            )));
        }
        return Ok(Spec::Sourced(Destination { addr, source: None }));
    }
    let source_addr = parse_ip(source_text, "source")?;
    let mut attrs = SourceAttrs::default();
    for attr in parts {
        match attr {
            "deprecated" => attrs.deprecated = true,
            "home" => attrs.home = true,
            "careof" => attrs.care_of = true,
            "tunnel" => attrs.tunnel = true,
            "temporary" => attrs.temporary = true,
            _ => {
                let Some(value) = attr.strip_prefix("plen=") else {
                    return Err(Failure::BadInput(format!(
                        "destination {spec:?}: unknown attribute {attr:?} (expected deprecated, home, careof, tunnel, temporary or plen=N)"
                    )));
                };
                let max = if source_addr.is_ipv4() { 32 } else { 128 };
                match value.parse::<u8>() {
                    Ok(n) if n <= max => attrs.prefix_len = Some(n),
                    _ => {
                        return Err(Failure::BadInput(format!(
                            "destination {spec:?}: prefix length {value:?} is not a number from 0 to {max}"
                        )));
                    }
                }
            }
        }
    }
    Ok(Spec::Sourced(Destination {
        addr,
        source: Some(Source {
            addr: source_addr,
            attrs,
        }),
    }))
}

/// Prints rows under headers, each column as wide as its widest cell;
/// columns whose cells are all numbers are right-aligned. `note(i)` may
/// add a line under row `i`.
fn print_table(headers: &[&str], rows: &[Vec<String>], note: impl Fn(usize) -> Option<String>) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..headers.len())
        .map(|c| rows.iter().all(|r| r[c].parse::<u64>().is_ok()))
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let text: Vec<String> = cells
            .enumerate()
            .map(|(c, cell)| {
                let w = widths[c];
                if numeric[c] {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(&mut headers.iter().copied());
    for (i, row) in rows.iter().enumerate() {
        line(&mut row.iter().map(String::as_str));
        if let Some(note) = note(i) {
            println!("{note}");
        }
    }
}
