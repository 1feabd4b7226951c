//! Prints this host's snapshot as JSON: each interface (index, name,
//! operational state, MTU, addresses with prefix length and flags) and the
//! kernel's answers for the representative destinations.
//!
//! `cargo xtask cross` runs it on Linux and hands its output to the
//! Windows backend's tests under Wine, whose IP Helper reads the same
//! host: the two backends must agree.
//!
//! `cargo run -p iface-probe --example snapshot_json [-- portable]`

use iface_probe::{Backend, Path, Snapshot};
use serde_json::{Value, json};

fn path(path: Option<Path>) -> Value {
    path.map_or(
        Value::Null,
        |p| json!({ "source": p.source.to_string(), "oif": p.oif }),
    )
}

fn main() -> std::io::Result<()> {
    let backend = match std::env::args().nth(1).as_deref() {
        None => Backend::Native,
        Some("portable") => Backend::Portable,
        Some(other) => {
            eprintln!("snapshot_json: unknown backend {other:?} (only `portable`)");
            std::process::exit(2);
        }
    };
    let snap = Snapshot::capture_with(backend)?;
    let interfaces: Vec<Value> = snap
        .interfaces
        .iter()
        .map(|i| {
            let addresses: Vec<Value> = i
                .addresses
                .iter()
                .map(|a| {
                    json!({
                        "ip": a.ip.to_string(),
                        "prefix_len": a.prefix_len,
                        "flags": a.flags.to_string(),
                    })
                })
                .collect();
            json!({
                "index": i.index,
                "name": i.name,
                "kind": i.kind.name(),
                "operational": i.is_operational(),
                "mtu": i.mtu,
                "addresses": addresses,
            })
        })
        .collect();
    let reach = snap.reach();
    let out = json!({
        "backend": backend.name(),
        "interfaces": interfaces,
        "reach": {
            "ipv4": path(reach.ipv4),
            "ipv6": path(reach.ipv6),
            "sixtofour": path(reach.sixtofour),
            "teredo": path(reach.teredo),
        },
    });
    println!("{out:#}");
    Ok(())
}
