//! Makes `COUNT` connects on loopback one after another, one way, and
//! exits: what `cargo xtask bench --instructions` runs under Callgrind to
//! count the instructions one connect costs, a figure that does not drift
//! with a shared machine's load as times do.
//!
//! ```text
//! cargo run --release -p happy-connect --example connect_cost -- name 1000
//! ```
//!
//! Ways: `name` (a name through a table resolver, as the `connect/loopback`
//! benchmark does), `name-no-history` (the same with history off),
//! `literal` (`127.0.0.1`) and `tokio` (plain `TcpStream::connect` to the
//! address, the baseline). Each connection is closed with an RST, so that
//! no TIME_WAIT piles up; one connect of each way is made first, so that
//! the host view and its caches are warm.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use happy_connect::Connector;
use happy_connect::resolve::StaticResolver;
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: connect_cost name|name-no-history|literal|tokio COUNT";

/// Closes with an RST (`SO_LINGER` 0).
fn close(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

#[derive(Clone, Copy)]
enum Way {
    Name,
    NameNoHistory,
    Literal,
    Tokio,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let way = match args.next().as_deref() {
        Some("name") => Way::Name,
        Some("name-no-history") => Way::NameNoHistory,
        Some("literal") => Way::Literal,
        Some("tokio") => Way::Tokio,
        _ => return Err(USAGE.into()),
    };
    let count: u32 = args.next().ok_or(USAGE)?.parse()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            }
        });
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let mut connector = Connector::new();
        connector.set_resolver(StaticResolver::new().with("bench.test", &[addr.ip()]));
        if matches!(way, Way::NameNoHistory) {
            connector.set_history(None);
        }
        // Warm: the host view, its source cache, and history's entries.
        for _ in 0..2 {
            close(connector.connect("bench.test", port).await?.0);
            close(connector.connect("127.0.0.1", port).await?.0);
        }
        for _ in 0..count {
            let stream = match way {
                Way::Name | Way::NameNoHistory => {
                    let (stream, report) = connector.connect("bench.test", port).await?;
                    drop(std::hint::black_box(report));
                    stream
                }
                Way::Literal => {
                    let (stream, report) = connector.connect("127.0.0.1", port).await?;
                    drop(std::hint::black_box(report));
                    stream
                }
                Way::Tokio => TcpStream::connect(addr).await?,
            };
            close(std::hint::black_box(stream));
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
