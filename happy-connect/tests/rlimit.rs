//! Descriptors: none leaked by failed, timed-out or cancelled connects, and
//! a clear error when the process runs out of them.
//!
//! A test binary of its own, because both tests watch or change
//! process-wide state (the descriptor table, `RLIMIT_NOFILE`) that other
//! tests running in parallel would disturb; a lock runs them one at a
//! time.

#![cfg(target_os = "linux")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use happy_connect::resolve::StaticResolver;
use happy_connect::{ConnectErrorKind, Connector};
use socket2::{Domain, Socket, Type};
use tokio::task::JoinSet;

/// One test at a time: they share the descriptor table and its limit.
static ALONE: Mutex<()> = Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How many descriptors the process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    l.local_addr().expect("bound").port()
}

/// A listener on `ip:port` with a backlog of 1 that never accepts, its
/// accept queue filled so that further SYNs are dropped and connects hang.
/// Returns what must be kept: the listener and the queued connections.
fn blackhole(ip: Ipv4Addr, port: u16) -> (Socket, Vec<std::net::TcpStream>) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((ip, port)).into())
        .expect("bind");
    socket.listen(1).expect("listen");
    let addr = socket
        .local_addr()
        .expect("bound")
        .as_socket()
        .expect("inet");
    let mut queued = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, ms(200)) {
            Ok(stream) => queued.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (socket, queued),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

/// How a connect of the leak test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum End {
    Refused,
    TimedOut,
    Cancelled,
}

#[test]
fn no_descriptor_leaks() {
    let _alone = alone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let refused_port = closed_port();
    let (listener, _queued) = blackhole(Ipv4Addr::LOCALHOST, 0);
    let hole_port = listener
        .local_addr()
        .expect("bound")
        .as_socket()
        .expect("inet")
        .port();
    rt.block_on(async move {
        let mut connector = Connector::new();
        connector.race_mut().total_timeout = ms(20);
        // Refusals come back at once on loopback, but 200 connects at a time
        // on two cores can keep one from being polled for 20 ms: the refused
        // group gets a budget that only a real hang would exceed.
        let mut patient = connector.clone();
        patient.race_mut().total_timeout = Duration::from_secs(10);
        // Lazy state (the source cache's netlink socket) is opened by the
        // first connect, so one runs before counting.
        let _ = connector.connect("127.0.0.1", refused_port).await;
        let before = open_fds();
        let start = Instant::now();
        const TOTAL: usize = 10_000;
        const AT_ONCE: usize = 200;
        let mut tasks = JoinSet::new();
        let mut ends = std::collections::BTreeMap::<End, usize>::new();
        let mut unexpected = Vec::new();
        let mut record = |end: Result<End, String>| match end {
            Ok(end) => *ends.entry(end).or_default() += 1,
            Err(what) => unexpected.push(what),
        };
        for i in 0..TOTAL {
            if tasks.len() >= AT_ONCE {
                record(tasks.join_next().await.expect("a task").expect("no panic"));
            }
            let connector = connector.clone();
            let patient = patient.clone();
            tasks.spawn(async move {
                match i % 3 {
                    0 => match patient.connect("127.0.0.1", refused_port).await {
                        Err(e) if e.kind() == ConnectErrorKind::AllAttemptsFailed => {
                            Ok(End::Refused)
                        }
                        other => Err(format!("refused port: {other:?}")),
                    },
                    1 => match connector.connect("127.0.0.1", hole_port).await {
                        Err(e) if e.kind() == ConnectErrorKind::TimedOut => Ok(End::TimedOut),
                        other => Err(format!("blackholed port: {other:?}")),
                    },
                    _ => match tokio::time::timeout(ms(5), patient.connect("127.0.0.1", hole_port))
                        .await
                    {
                        Err(_elapsed) => Ok(End::Cancelled),
                        Ok(other) => Err(format!("cancelled connect: {other:?}")),
                    },
                }
            });
        }
        while let Some(end) = tasks.join_next().await {
            record(end.expect("no panic"));
        }
        let elapsed = start.elapsed();
        // Aborted attempt tasks close their sockets when the runtime next
        // polls them: give it a moment.
        let mut after = open_fds();
        for _ in 0..50 {
            if after <= before {
                break;
            }
            tokio::time::sleep(ms(20)).await;
            after = open_fds();
        }
        println!(
            "descriptors: {before} before, {after} after {TOTAL} connects ({ends:?}) in {elapsed:?}"
        );
        assert!(
            unexpected.is_empty(),
            "{} connects ended unexpectedly, the first: {:?}",
            unexpected.len(),
            &unexpected[..unexpected.len().min(3)]
        );
        assert_eq!(ends.values().sum::<usize>(), TOTAL);
        assert!(after <= before, "{} descriptors leaked", after - before);
    });
}

/// Restores the descriptor limit when dropped.
struct Limit(libc::rlimit);

impl Limit {
    fn get() -> libc::rlimit {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one `rlimit` into the valid, exclusively
        // borrowed `lim`.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
        lim
    }

    fn set(lim: &libc::rlimit) {
        // SAFETY: setrlimit only reads the valid `rlimit` it is given; the
        // process-wide effect is what this test wants, and the lock keeps
        // the other test of this binary from running meanwhile.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, lim) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }

    /// Lowers the soft limit to `soft` until the guard drops.
    fn lower_to(soft: u64) -> Self {
        let old = Self::get();
        Self::set(&libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: old.rlim_max,
        });
        Self(old)
    }
}

impl Drop for Limit {
    fn drop(&mut self) {
        Self::set(&self.0);
    }
}

#[test]
fn descriptor_exhaustion() {
    let _alone = alone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Eight addresses, each blackholed, so every attempt holds its socket.
    let first = blackhole(Ipv4Addr::LOCALHOST, 0);
    let port = first
        .0
        .local_addr()
        .expect("bound")
        .as_socket()
        .expect("inet")
        .port();
    let mut holes = vec![first];
    let mut addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    for n in 2..=8 {
        let ip = Ipv4Addr::new(127, 0, 0, n);
        holes.push(blackhole(ip, port));
        addrs.push(IpAddr::V4(ip));
    }
    // A listener that completes handshakes (in its backlog) for the
    // connect after the failure.
    let good = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let good_port = good.local_addr().expect("bound").port();
    let mut connector = Connector::new();
    connector.set_resolver(
        StaticResolver::new()
            .with("several.test", &addrs)
            .with("good.test", &[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
    );
    connector.race_mut().set_attempt_delay(ms(10));
    connector.race_mut().total_timeout = ms(500);
    rt.block_on(async {
        // Opens the lazy state (netlink) before counting.
        let _ = connector.connect("good.test", good_port).await;
        let open = open_fds();
        let limit = Limit::lower_to(open as u64 + 5);
        let start = Instant::now();
        let err = connector
            .connect("several.test", port)
            .await
            .expect_err("out of descriptors");
        println!(
            "descriptor limit {}: {err} ({:?})",
            open + 5,
            start.elapsed()
        );
        let emfile = err
            .report()
            .attempts
            .iter()
            // EMFILE, whatever the C library calls it.
            .filter(|a| a.outcome.to_string().contains("os error 24"))
            .count();
        assert!(emfile > 0, "EMFILE not named: {err}");
        assert!(err.to_string().contains("os error 24"), "{err}");
        assert!(start.elapsed() < ms(500) + ms(300));

        // Its sockets are all closed again: within the same limit, a
        // connect works.
        let (stream, _) = connector
            .connect("good.test", good_port)
            .await
            .expect("descriptors are back");
        drop(stream);
        // And with the limit restored too.
        drop(limit);
        let (stream, _) = connector
            .connect("good.test", good_port)
            .await
            .expect("connects again");
        drop(stream);
        println!("descriptor limit restored: connects again; {emfile} attempts hit EMFILE");
    });
    drop(holes);
}

/// Out of descriptors before the first connect: the host view cannot
/// open its netlink sockets, and the report says so and why. With
/// descriptors back, a later connect finds the view started again (after
/// its back-off), with the host's capabilities.
#[test]
#[allow(clippy::field_reassign_with_default)] // ViewOptions is non-exhaustive
fn the_host_view_starts_again_after_running_out_of_descriptors() {
    use happy_connect::probe::{HostView, ViewOptions};

    let _alone = alone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let good = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = good.local_addr().expect("bound").port();
    let mut connector = Connector::new();
    connector
        .set_resolver(StaticResolver::new().with("good.test", &[IpAddr::V4(Ipv4Addr::LOCALHOST)]));
    rt.block_on(async {
        // No descriptor left: the limit just above the highest one open,
        // and every free one below it taken.
        let highest = std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .expect("some descriptor is open");
        let limit = Limit::lower_to(highest + 1);
        let fillers: Vec<std::fs::File> =
            std::iter::from_fn(|| std::fs::File::open("/dev/null").ok())
                .take(100_000)
                .collect();
        // A view of its own (the shared one may be up), made now: it
        // starts reading the host at once.
        let mut options = ViewOptions::default();
        options.retry_min = ms(50);
        connector.set_host_view(HostView::with_options(options));
        let failed = connector.connect("good.test", port).await;
        drop(fillers);
        drop(limit);
        let report = match &failed {
            Ok((_, report)) => report.clone(),
            Err(e) => e.report().clone(),
        };
        println!("out of descriptors:\n{report}");
        let why = report.host_unavailable.as_deref().unwrap_or_else(|| {
            panic!("the report does not say the view is unavailable:\n{report}")
        });
        assert!(why.contains("os error 24"), "{why}");
        assert!(report.capabilities.is_none(), "{report}");

        // Descriptors back: within a few back-offs the view reads the host.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            tokio::time::sleep(ms(60)).await;
            let (_stream, report) = connector
                .connect("good.test", port)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
            if report.host_unavailable.is_none() {
                println!("descriptors back:\n{report}");
                assert!(report.capabilities.is_some(), "{report}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the view did not start again within 5 s:\n{report}"
            );
        }
    });
}
