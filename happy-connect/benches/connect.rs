//! `connect/*` against `connect_baseline/*`: what the connector costs on
//! top of a plain tokio connect, on loopback.
//!
//! - `connect/loopback`: a [`Connector`] with a [`StaticResolver`] mapping
//!   `bench.test` to 127.0.0.1: two queries answered at once, the kernel's
//!   source for the address (from the connector's cache), the race, one
//!   attempt task, the report.
//! - `connect_baseline/loopback`: `tokio::net::TcpStream::connect` to the
//!   same socket address. The target is `connect/loopback` within 1.3× of
//!   it.
//! - `connect/hosts`: a [`Connector`] with [`SystemResolver::new`], which
//!   answers `localhost` from `/etc/hosts` (and from hickory's RFC 6761
//!   rules for the family the file lacks) without sending a query.
//! - `connect_baseline/hosts`: `TcpStream::connect("localhost:PORT")`,
//!   which asks `getaddrinfo` on tokio's blocking pool.
//!
//! One iteration is one connect and the close of its stream (with an RST,
//! as TIME_WAITs would pile up and skew later benchmarks). Everything
//! runs on one current-thread runtime; background tasks accept and drop
//! the connections, and one `block_on` spans a whole batch of iterations,
//! so the runtime's own entry cost is not counted.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::Criterion;
use happy_connect::Connector;
use happy_connect::resolve::{StaticResolver, SystemResolver};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Accepts and drops connections on `listener` for as long as the runtime
/// runs.
fn serve(rt: &Runtime, listener: TcpListener) {
    rt.spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                // A FIN: an RST could reach the client before its connect
                // future has seen the handshake complete, and fail it.
                drop(stream);
            }
        }
    });
}

/// Closes with an RST (`SO_LINGER` 0) rather than a FIN, so that no
/// TIME_WAIT is left behind: hundreds of thousands of them would slow
/// down the kernel's choice of a local port, and so every benchmark that
/// runs after another.
fn close(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// A listener on 127.0.0.1 and, when the host has IPv6 loopback, one on
/// ::1 with the same port.
fn listeners(rt: &Runtime) -> (u16, bool) {
    rt.block_on(async {
        for _ in 0..100 {
            let v4 = TcpListener::bind((V4, 0)).await.expect("bind 127.0.0.1");
            let port = v4.local_addr().expect("bound").port();
            match TcpListener::bind((V6, port)).await {
                Ok(v6) => {
                    serve(rt, v4);
                    serve(rt, v6);
                    return (port, true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(_) => {
                    // No IPv6 loopback: IPv4 alone.
                    serve(rt, v4);
                    return (port, false);
                }
            }
        }
        panic!("no port free on both 127.0.0.1 and ::1");
    })
}

/// Times `iters` connects made by `connect`, in one `block_on`.
fn time<F, Fut>(rt: &Runtime, iters: u64, connect: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = TcpStream>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            close(black_box(connect().await));
        }
        start.elapsed()
    })
}

fn bench_connect(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let (port, dual) = listeners(&rt);
    let addr = SocketAddr::new(V4, port);

    let mut by_table = Connector::new();
    by_table.set_resolver(StaticResolver::new().with("bench.test", &[V4]));
    let mut by_hosts = Connector::new();
    by_hosts.set_resolver(SystemResolver::new().expect("/etc/resolv.conf is usable"));

    // Once each before timing: they must connect where expected, and the
    // reports show the path taken.
    rt.block_on(async {
        let (_, report) = by_table.connect("bench.test", port).await.expect("connect");
        assert_eq!(report.winner.map(|w| w.address), Some(addr), "{report}");
        let (_, report) = by_hosts.connect("localhost", port).await.expect("connect");
        eprintln!(
            "connect/hosts goes this way ({}):\n{report}",
            if dual {
                "listening on ::1 and 127.0.0.1"
            } else {
                "listening on 127.0.0.1 only"
            }
        );
    });

    let mut group = c.benchmark_group("connect");
    group.bench_function("loopback", |b| {
        b.iter_custom(|iters| {
            time(&rt, iters, || async {
                let (stream, report) = by_table.connect("bench.test", port).await.expect("connect");
                drop(black_box(report));
                stream
            })
        });
    });
    group.bench_function("hosts", |b| {
        b.iter_custom(|iters| {
            time(&rt, iters, || async {
                let (stream, report) = by_hosts.connect("localhost", port).await.expect("connect");
                drop(black_box(report));
                stream
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("connect_baseline");
    group.bench_function("loopback", |b| {
        b.iter_custom(|iters| {
            time(&rt, iters, || async {
                TcpStream::connect(addr).await.expect("connect")
            })
        });
    });
    let host = format!("localhost:{port}");
    group.bench_function("hosts", |b| {
        b.iter_custom(|iters| {
            time(&rt, iters, || async {
                TcpStream::connect(host.as_str()).await.expect("connect")
            })
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_connect(&mut criterion);
    criterion.final_summary();
}
