//! Prints what the connector sees of this host: its interfaces in RFC 3484
//! order, their addresses with every flag, the capabilities that decide the
//! AAAA query, and the kernel's source for a few destinations.
//!
//! ```text
//! cargo run -p happy-connect --example probe [DEST...]
//! ```

use std::net::IpAddr;

use happy_connect::probe::{Snapshot, SourceResolver};
use happy_connect::{AaaaPolicy, HostCapabilities};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let snapshot = Snapshot::capture()?;
    for iface in snapshot.interfaces_in_preference_order() {
        println!(
            "{} {} ({}, mtu {})",
            iface.index,
            iface.name,
            iface.kind.name(),
            iface.mtu
        );
        for a in &iface.addresses {
            println!(
                "    {}/{} {} [{}]",
                a.ip,
                a.prefix_len,
                a.class.name(),
                a.flags
            );
        }
    }
    let caps = snapshot.capabilities();
    println!("\n{caps:?}");
    let decision = AaaaPolicy::Auto.decide(Some(&HostCapabilities::from(caps)));
    println!(
        "AAAA query: {} ({})\n",
        if decision.send { "sent" } else { "skipped" },
        decision.reason
    );

    let mut dests: Vec<IpAddr> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    if dests.is_empty() {
        dests = vec!["127.0.0.1".parse()?, "::1".parse()?, "192.0.2.1".parse()?];
    }
    let mut resolver = SourceResolver::new()?;
    for (dest, source) in dests.iter().zip(resolver.sources(&snapshot, &dests)?) {
        match source {
            Some(s) => println!(
                "{dest} from {} (interface {}, {})",
                s.addr,
                s.oif,
                s.class.name()
            ),
            None => println!("{dest}: no route"),
        }
    }
    Ok(())
}
