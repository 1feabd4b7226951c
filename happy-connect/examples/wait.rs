//! Waits until this host's addresses are stable, or one address, or the
//! Teredo address, and prints the table: the Linux counterpart of
//! Windows' `NotifyStableUnicastIpAddressTable`.
//!
//! ```text
//! cargo run -p happy-connect --example wait               # every address
//! cargo run -p happy-connect --example wait -- teredo     # a qualified Teredo address
//! cargo run -p happy-connect --example wait -- 2001:db8::1
//! ```

use std::time::Duration;

use happy_connect::stable::{Filter, wait_stable};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = match std::env::args().nth(1).as_deref() {
        None => Filter::All,
        Some("teredo") => Filter::Teredo,
        Some(ip) => Filter::Address(ip.parse()?),
    };
    println!("waiting up to 10 s for {filter}");
    let table = wait_stable(filter, Duration::from_secs(10))?;
    for addr in table.addresses() {
        println!("  {addr}");
    }
    Ok(())
}
