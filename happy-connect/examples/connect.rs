//! Connects to a listener this example opens on 127.0.0.1 with
//! [`happy_connect::connect`], the plain-tokio way in, and prints the
//! report.
//!
//! ```text
//! cargo run -p happy-connect --example connect
//! ```
//!
//! The host is an IP literal, so no DNS query is sent; give a name
//! (`happy_connect::connect("example.com", 80)`) to see the queries too.

use std::net::Ipv4Addr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await?;
        stream
            .write_all(format!("hello {peer}\n").as_bytes())
            .await?;
        Ok::<_, std::io::Error>(())
    });

    // A `ConnectError` turns into an `io::Error` with `?`.
    let (mut stream, report) = happy_connect::connect("127.0.0.1", port).await?;
    println!("{report}");

    let mut greeting = String::new();
    stream.read_to_string(&mut greeting).await?;
    print!("server says: {greeting}");
    server.await??;
    Ok(())
}
