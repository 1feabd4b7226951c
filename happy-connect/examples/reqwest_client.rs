//! Fetches a page with reqwest and [`HappyResolve`] as its DNS resolver,
//! from a hyper server this example starts on 127.0.0.1.
//!
//! "dual.test" resolves (through a static table, no DNS) to `::1` and
//! `127.0.0.1`, in that order (RFC 6724). reqwest's own connector tries
//! `::1`, is refused, and falls back to `127.0.0.1`; it has no report to
//! give, so the example prints the plan it was handed instead.
//!
//! ```text
//! cargo run -p happy-connect --example reqwest_client --features reqwest
//! ```

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use happy_connect::integrations::reqwest::HappyResolve;
use happy_connect::resolve::StaticResolver;
use happy_connect::{AaaaPolicy, Connector};

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

    // The order reqwest is handed.
    println!(
        "the plan reqwest is handed:\n{}",
        connector.resolve("dual.test").await?
    );

    let client = reqwest::Client::builder()
        .dns_resolver(Arc::new(HappyResolve::new(connector)))
        .no_proxy()
        .build()?;
    let res = client
        .get(format!("http://dual.test:{port}/hello"))
        .send()
        .await?;
    println!("{} from {:?}", res.status(), res.remote_addr());
    println!("{}", res.text().await?);
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
