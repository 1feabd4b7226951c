//! Fetches a page with hyper-util's client and [`HappyConnector`], from a
//! hyper server this example starts on 127.0.0.1, and prints the report of
//! the connection.
//!
//! "dual.test" resolves (through a static table, no DNS) to `::1` and
//! `127.0.0.1`: the IPv6 attempt is refused and the race moves on.
//!
//! ```text
//! cargo run -p happy-connect --example hyper_client --features hyper
//! ```
//!
//! With the system's DNS, use `Connector::new()` as it is and any URL.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use happy_connect::integrations::hyper::HappyConnector;
use happy_connect::resolve::StaticResolver;
use happy_connect::{AaaaPolicy, ConnectReport, Connector};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let port = serve().await?;

    let mut connector = Connector::new();
    connector
        .set_resolver(StaticResolver::new().with(
            "dual.test",
            &[
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
            ],
        ))
        .set_aaaa(AaaaPolicy::Always);
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HappyConnector::new(connector));

    let res = client
        .get(format!("http://dual.test:{port}/hello").parse()?)
        .await?;
    println!("{}", res.status());
    if let Some(report) = res.extensions().get::<ConnectReport>() {
        println!("{report}");
    }
    let body = res.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&body));
    Ok(())
}

/// Starts a hyper HTTP/1 server on 127.0.0.1 and returns its port.
async fn serve() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|req: Request<Incoming>| async move {
                    let body = format!("hello from {}", req.uri().path());
                    Ok::<_, Infallible>(Response::new(body))
                });
                if let Err(err) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("server: {err}");
                }
            });
        }
    });
    Ok(port)
}
