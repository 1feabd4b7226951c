//! The paired benchmarks, on Unix (descriptor limits with `setrlimit`,
//! peak memory from `/proc/self/status` where there is one).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use happy_connect::Connector;
use happy_connect::resolve::{StaticResolver, SystemResolver};
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
/// Concurrent connects in a load round.
const LOAD: usize = 10_000;
/// Set in the child process that measures peak memory: `ours` or `tokio`.
const RSS_ENV: &str = "PAIRED_RSS_CHILD";

/// Command-line options.
struct Options {
    quick: bool,
    filter: Option<String>,
}

impl Options {
    fn parse() -> Self {
        let mut quick = false;
        let mut filter = None;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--quick" => quick = true,
                a if a.starts_with('-') => {}
                a => filter = Some(a.to_owned()),
            }
        }
        Self { quick, filter }
    }

    fn wants(&self, id: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| id.contains(f))
    }
}

/// One paired result.
struct Paired {
    id: String,
    unit: &'static str,
    /// Per operation, per round.
    ours: Vec<f64>,
    base: Vec<f64>,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Paired {
    fn ratio(&self) -> f64 {
        median(&self.ours) / median(&self.base)
    }

    /// What ours costs on top of the baseline, in the unit: the median of
    /// the rounds' differences. The ratio says how much slower; this says
    /// what the difference costs (microseconds per connect, kilobytes).
    fn overhead(&self) -> f64 {
        let differences: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.base)
            .map(|(ours, base)| ours - base)
            .collect();
        median(&differences)
    }

    fn print(&self) {
        let show = |v: f64| match self.unit {
            "ns" if v >= 1e6 => format!("{:.2} ms", v / 1e6),
            "ns" if v >= 1e3 => format!("{:.2} µs", v / 1e3),
            "ns" => format!("{v:.0} ns"),
            unit => format!("{v:.0} {unit}"),
        };
        let overhead = self.overhead();
        let sign = if overhead < 0.0 { "-" } else { "+" };
        println!(
            "{:<18} ours {:>10}  baseline {:>10}  ratio {:.3}  overhead {sign}{}  ({} rounds, alternated)",
            self.id,
            show(median(&self.ours)),
            show(median(&self.base)),
            self.ratio(),
            show(overhead.abs()),
            self.ours.len()
        );
    }
}

/// Runs `ours` and `base` `rounds` times each, alternating which goes
/// first, and records each round's value.
fn alternate(
    id: &str,
    unit: &'static str,
    rounds: usize,
    mut ours: impl FnMut() -> f64,
    mut base: impl FnMut() -> f64,
) -> Paired {
    let mut result = Paired {
        id: id.to_owned(),
        unit,
        ours: Vec::new(),
        base: Vec::new(),
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            result.base.push(base());
            result.ours.push(ours());
        } else {
            result.ours.push(ours());
            result.base.push(base());
        }
    }
    result
}

/// Closes with an RST (`SO_LINGER` 0), leaving no TIME_WAIT behind.
fn close(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Listening sockets on one loopback port, on 127.0.0.1 and (where the
/// host has it) ::1, each accepting and closing in a loop on the runtime
/// of the caller. Both families listen so that a name with both (such as
/// `localhost`, which the resolver answers with ::1 too) connects at the
/// first attempt, whichever family goes first. Several sockets share the
/// port (`SO_REUSEPORT`), so that their backlogs together hold a whole
/// load round: one backlog is capped at `net.core.somaxconn` (4096), and
/// a SYN that finds it full is retried a second later, which would
/// measure the kernel's retransmission timer instead of the connects.
fn listen() -> u16 {
    let bind = |ip: IpAddr, port: u16| -> std::io::Result<u16> {
        let domain = if ip.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let socket = Socket::new(domain, Type::STREAM, None)?;
        socket.set_reuse_port(true)?;
        if ip.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.bind(&SocketAddr::new(ip, port).into())?;
        socket.listen(4096)?;
        socket.set_nonblocking(true)?;
        let std: std::net::TcpListener = socket.into();
        let port = std.local_addr()?.port();
        let listener = TcpListener::from_std(std)?;
        tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            }
        });
        Ok(port)
    };
    for _ in 0..100 {
        let port = bind(V4, 0).expect("listen on 127.0.0.1");
        for _ in 1..4 {
            bind(V4, port).expect("listen on 127.0.0.1 again");
        }
        match bind(V6, port) {
            Ok(_) => {
                for _ in 1..4 {
                    bind(V6, port).expect("listen on ::1 again");
                }
                return port;
            }
            // Taken on ::1 by someone else: another port.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            // No IPv6 loopback: IPv4 alone.
            Err(_) => return port,
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1")
}

/// Raises the soft descriptor limit to the hard one; returns it.
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the valid `lim`.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) };
    assert_eq!(rc, 0, "getrlimit");
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the valid `lim`; raising the soft limit to
    // the hard one is always allowed and affects this process only.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) };
    assert_eq!(rc, 0, "setrlimit");
    lim.rlim_cur
}

/// The system's resolver, which answers `localhost` from the hosts file.
fn hosts_connector() -> Connector {
    let mut c = Connector::new();
    c.set_resolver(SystemResolver::new().expect("the system's resolver configuration"));
    c.race_mut().total_timeout = Duration::from_secs(60);
    c
}

/// `n` sequential connects, in nanoseconds per connect.
fn sequential<F, Fut>(rt: &Runtime, n: u32, connect: F) -> f64
where
    F: Fn() -> Fut,
    Fut: Future<Output = TcpStream>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            close(black_box(connect().await));
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    })
}

/// One load round: `LOAD` concurrent connects spawned at once, in
/// nanoseconds for the whole round.
async fn load_round<F, Fut>(connect: F) -> f64
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<TcpStream>> + Send + 'static,
{
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..LOAD {
        tasks.spawn(connect());
    }
    let mut streams = Vec::with_capacity(LOAD);
    while let Some(done) = tasks.join_next().await {
        streams.push(done.expect("no panic").expect("connected"));
    }
    let took = start.elapsed().as_nanos() as f64;
    for s in streams {
        close(s);
    }
    took
}

fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
}

fn connect_pairs(options: &Options, out: &mut Vec<Paired>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let port = rt.block_on(async { listen() });
    let addr = SocketAddr::new(V4, port);
    let literal = format!("127.0.0.1:{port}");
    let mut table = Connector::new();
    table.set_resolver(StaticResolver::new().with("bench.test", &[V4]));
    let plain = Connector::new();
    // Warm: the host view and its source cache.
    rt.block_on(async {
        let (s, report) = table.connect("bench.test", port).await.expect("connect");
        assert_eq!(report.winner.map(|w| w.address), Some(addr), "{report}");
        close(s);
        close(plain.connect("127.0.0.1", port).await.expect("connect").0);
    });
    let (rounds, n) = if options.quick { (11, 200) } else { (101, 200) };
    if options.wants("connect/loopback") {
        out.push(alternate(
            "connect/loopback",
            "ns",
            rounds,
            || {
                sequential(&rt, n, || async {
                    let (s, report) = table.connect("bench.test", port).await.expect("connect");
                    drop(black_box(report));
                    s
                })
            },
            || {
                sequential(&rt, n, || async {
                    TcpStream::connect(addr).await.expect("connect")
                })
            },
        ));
    }
    if options.wants("connect/literal") {
        out.push(alternate(
            "connect/literal",
            "ns",
            rounds,
            || {
                sequential(&rt, n, || async {
                    let (s, report) = plain.connect("127.0.0.1", port).await.expect("connect");
                    drop(black_box(report));
                    s
                })
            },
            || {
                sequential(&rt, n, || async {
                    TcpStream::connect(literal.as_str()).await.expect("connect")
                })
            },
        ));
    }
}

fn load_pairs(options: &Options, out: &mut Vec<Paired>) {
    let rt = multi_thread();
    let port = rt.block_on(async { listen() });
    let connector = {
        let mut c = Connector::new();
        c.race_mut().total_timeout = Duration::from_secs(60);
        c
    };
    let hosts = hosts_connector();
    rt.block_on(async {
        close(connector.connect("127.0.0.1", port).await.expect("warm").0);
        close(hosts.connect("localhost", port).await.expect("warm").0);
    });
    let rounds = if options.quick { 3 } else { 21 };
    if options.wants("load/literal") {
        out.push(alternate(
            "load/literal",
            "ns",
            rounds,
            || {
                rt.block_on(load_round(|| {
                    let c = connector.clone();
                    async move { c.connect("127.0.0.1", port).await.ok().map(|(s, _)| s) }
                }))
            },
            || {
                rt.block_on(load_round(|| async move {
                    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.ok()
                }))
            },
        ));
    }
    if options.wants("load/hosts") {
        out.push(alternate(
            "load/hosts",
            "ns",
            rounds,
            || {
                rt.block_on(load_round(|| {
                    let c = hosts.clone();
                    async move { c.connect("localhost", port).await.ok().map(|(s, _)| s) }
                }))
            },
            || {
                rt.block_on(load_round(|| async move {
                    TcpStream::connect(("localhost", port)).await.ok()
                }))
            },
        ));
    }
}

/// A line of /proc/self/status in kB, e.g. `VmHWM`.
fn status_kb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// In the child: one load round with one side; prints the peak RSS.
fn rss_child(side: &str) {
    let rt = multi_thread();
    rt.block_on(async {
        let port = listen();
        match side {
            "ours" => {
                let c = Connector::new();
                // Warm, as the load pairs are: the host view and its source
                // cache, which a process's first connect starts.
                close(c.connect("127.0.0.1", port).await.expect("warm").0);
                load_round(|| {
                    let c = c.clone();
                    async move { c.connect("127.0.0.1", port).await.ok().map(|(s, _)| s) }
                })
                .await;
            }
            _ => {
                close(
                    TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                        .await
                        .expect("warm"),
                );
                load_round(
                    || async move { TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.ok() },
                )
                .await;
            }
        }
    });
    println!("VmHWM {}", status_kb("VmHWM"));
}

/// Peak memory of a process that runs one load round, per side.
fn rss_pair(options: &Options, out: &mut Vec<Paired>) {
    if !options.wants("rss/load") {
        return;
    }
    let exe = std::env::current_exe().expect("this program");
    let run = |side: &str| {
        let output = std::process::Command::new(&exe)
            .env(RSS_ENV, side)
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM ")?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("the {side} child printed no VmHWM: {text}"))
    };
    let rounds = if options.quick { 3 } else { 5 };
    out.push(alternate(
        "rss/load",
        "kB",
        rounds,
        || run("ours"),
        || run("tokio"),
    ));
}

fn write(results: &[Paired]) {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = dir.join("paired");
    let _ = std::fs::create_dir_all(&dir);
    let entries: Vec<serde_json::Value> = results
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id,
                "unit": p.unit,
                "median": median(&p.ours),
                "baseline_id": p.id.replacen('/', "_baseline/", 1),
                "baseline_median": median(&p.base),
                "ratio": p.ratio(),
                "overhead": p.overhead(),
                "rounds": p.ours.len(),
            })
        })
        .collect();
    let path = dir.join("results.json");
    if let Err(e) = std::fs::write(
        &path,
        serde_json::to_string_pretty(&entries).unwrap_or_default(),
    ) {
        eprintln!("paired: cannot write {}: {e}", path.display());
    }
}

pub(crate) fn main() {
    if let Ok(side) = std::env::var(RSS_ENV) {
        raise_nofile();
        rss_child(&side);
        return;
    }
    let options = Options::parse();
    let limit = raise_nofile();
    assert!(
        limit >= LOAD as u64 + 1000,
        "paired: the descriptor limit {limit} cannot hold {LOAD} connects (raise the hard \
         limit with `ulimit -Hn`, or run as root)"
    );
    let mut results = Vec::new();
    connect_pairs(&options, &mut results);
    load_pairs(&options, &mut results);
    rss_pair(&options, &mut results);
    for r in &results {
        r.print();
    }
    write(&results);
}
