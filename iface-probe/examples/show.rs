//! Prints this host's interfaces (in preference order), its capabilities,
//! and the kernel's source address for each destination given as an
//! argument (`fe80::1%2` for a zone).
//!
//! `cargo run -p iface-probe --example show -- 2001:db8::1 192.0.2.1`

use std::net::IpAddr;

use iface_probe::{Dest, Snapshot, SourceResolver};

fn main() -> std::io::Result<()> {
    let snap = Snapshot::capture()?;
    for iface in snap.interfaces_in_preference_order() {
        println!(
            "{:>3} {:<16} {:<9} {:?} up={} running={} mtu={} oper={}",
            iface.index,
            iface.name,
            iface.kind,
            snap.preference(iface),
            iface.up,
            iface.running,
            iface.mtu,
            iface.oper_state
        );
        for a in &iface.addresses {
            println!("      {}/{} {} [{}]", a.ip, a.prefix_len, a.class, a.flags);
        }
    }
    println!("{:?}", snap.capabilities());
    let dests: Vec<Dest> = std::env::args()
        .skip(1)
        .map(|arg| {
            let (ip, zone) = match arg.split_once('%') {
                Some((ip, zone)) => (ip.to_owned(), zone.parse().ok()),
                None => (arg, None),
            };
            let ip: IpAddr = ip.parse().expect("an IP address");
            Dest::new(ip, zone)
        })
        .collect();
    if !dests.is_empty() {
        let sources = SourceResolver::new()?.sources(&snap, &dests)?;
        for (dest, source) in dests.iter().zip(sources) {
            match source {
                Some(s) => println!("{} -> {} via {} ({})", dest.ip, s.addr, s.oif, s.class),
                None => println!("{} -> unreachable", dest.ip),
            }
        }
    }
    Ok(())
}
