//! Load: 10,000 concurrent connects to one loopback listener from one
//! multi-thread runtime, against as many plain `tokio::net::TcpStream`
//! connects, with throughput and peak memory printed.
//!
//! A binary of its own: it raises the process's descriptor limit and
//! holds thousands of sockets, which would disturb other tests.

#![cfg(target_os = "linux")]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use happy_connect::Connector;
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const CONNECTS: usize = 10_000;

/// Raises the soft descriptor limit to the hard one; returns it.
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the valid `lim`.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the valid `lim`; raising the soft limit to
    // the hard one is always allowed and only affects this process.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0);
    lim.rlim_cur
}

/// A loopback listener with a 4096 backlog that accepts (and closes) in a
/// loop.
fn listener() -> (u16, TcpListener) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind");
    socket.listen(4096).expect("listen");
    socket.set_nonblocking(true).expect("non-blocking");
    let std: std::net::TcpListener = socket.into();
    let port = std.local_addr().expect("bound").port();
    (port, TcpListener::from_std(std).expect("tokio listener"))
}

fn serve(listener: TcpListener) {
    tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }
    });
}

/// A line of /proc/self/status, e.g. `VmHWM`.
fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
        .unwrap_or("?")
        .to_owned()
}

#[test]
fn ten_thousand_concurrent_connects() {
    let limit = raise_nofile();
    // Each connect holds one client socket until all are done, and the
    // server side is closed at once: about CONNECTS descriptors, plus room.
    assert!(
        limit >= CONNECTS as u64 + 1000,
        "load: the descriptor limit {limit} cannot be raised to {} (run as root, or raise \
         the hard limit with `ulimit -Hn`)",
        CONNECTS + 1000
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let rss_before = status("VmRSS");
        let (port, l) = listener();
        serve(l);
        let mut connector = Connector::new();
        connector.race_mut().total_timeout = Duration::from_secs(30);
        // Warm up (opens the source cache).
        drop(connector.connect("127.0.0.1", port).await.expect("warm-up"));

        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..CONNECTS {
            let connector = connector.clone();
            tasks.spawn(async move { connector.connect("127.0.0.1", port).await });
        }
        let mut streams = Vec::with_capacity(CONNECTS);
        let mut failures = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.expect("no panic") {
                Ok((stream, _report)) => streams.push(stream),
                Err(err) => failures.push(err.to_string()),
            }
        }
        let ours = start.elapsed();
        let hwm_ours = status("VmHWM");
        drop(streams);
        assert!(failures.is_empty(), "{} failed, e.g. {:?}", failures.len(), failures.first());

        let (port, l) = listener();
        serve(l);
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..CONNECTS {
            tasks.spawn(async move { TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await });
        }
        let mut streams = Vec::with_capacity(CONNECTS);
        while let Some(done) = tasks.join_next().await {
            streams.push(done.expect("no panic").expect("plain connect"));
        }
        let plain = start.elapsed();
        drop(streams);
        let rate = |d: Duration| CONNECTS as f64 / d.as_secs_f64();
        println!(
            "load: {CONNECTS} concurrent connects: happy-connect {:.0}/s ({ours:?}), plain tokio {:.0}/s ({plain:?}), ratio {:.2}",
            rate(ours),
            rate(plain),
            ours.as_secs_f64() / plain.as_secs_f64()
        );
        println!(
            "load: VmRSS before {rss_before}, VmHWM after the happy-connect run {hwm_ours}, at the end {}",
            status("VmHWM")
        );
    });
}
