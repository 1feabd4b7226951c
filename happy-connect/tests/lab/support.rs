//! The lab as the tests see it: its state file, code run inside its
//! network namespaces, TCP listeners there, and the CLI run there.

use std::fs;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use happy_connect::resolve::{ResolverOptions, SystemResolver};
use happy_connect::{ConnectReport, Connector};
use serde_json::Value;

/// The lab's state file, written by `cargo xtask lab up`.
pub(crate) struct Lab {
    pub(crate) path: PathBuf,
    pub(crate) state: Value,
}

impl Lab {
    /// Reads the state named by `$HAPPY_CONNECT_LAB`; panics (the test
    /// fails, it is not skipped) when there is none.
    pub(crate) fn load() -> Self {
        let Some(path) = std::env::var_os("HAPPY_CONNECT_LAB").filter(|p| !p.is_empty()) else {
            panic!(
                "HAPPY_CONNECT_LAB is not set: these tests need the Teredo lab; \
                 run them via `cargo xtask lab test` (as root)"
            );
        };
        let path = PathBuf::from(path);
        let text = fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "cannot read the lab state {} ({err}): run via `cargo xtask lab test`",
                path.display()
            )
        });
        let state = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not a lab state: {err}", path.display()));
        Self { path, state }
    }

    /// Writes the state back (after a test restarted a process).
    pub(crate) fn save(&self) {
        let text = serde_json::to_string_pretty(&self.state).expect("state serializes");
        fs::write(&self.path, text + "\n").expect("lab state written");
    }

    /// The namespace of a role: `router`, `teredo_server`, `t1`, `t2`, `srv`.
    pub(crate) fn ns(&self, role: &str) -> String {
        self.state["namespaces"][role]
            .as_str()
            .unwrap_or_else(|| panic!("no namespace {role:?} in the lab state"))
            .to_owned()
    }

    /// An address of the lab: `srv_v4`, `t1_teredo`, ...
    pub(crate) fn addr(&self, key: &str) -> IpAddr {
        self.state["addresses"][key]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no address {key:?} in the lab state"))
    }

    /// The lab's DNS server (dnsmasq in the router).
    pub(crate) fn dns(&self) -> SocketAddr {
        self.state["dns_server"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("dns_server in the lab state")
    }

    pub(crate) fn str_field(&self, key: &str) -> String {
        self.state[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key:?} in the lab state"))
            .to_owned()
    }

    /// How many `query[TYPE] NAME ` lines dnsmasq logged so far.
    pub(crate) fn query_count(&self, rtype: &str, name: &str) -> usize {
        // dnsmasq writes each line at once; leave it a moment anyway.
        std::thread::sleep(Duration::from_millis(50));
        let log = fs::read_to_string(self.str_field("dnsmasq_log")).expect("dnsmasq log readable");
        let needle = format!("query[{rtype}] {name} ");
        log.lines().filter(|l| l.contains(&needle)).count()
    }

    /// A connector that asks the lab's DNS server directly: a thread that
    /// joined a network namespace still sees the host's /etc/resolv.conf.
    pub(crate) fn connector(&self) -> Connector {
        let mut c = Connector::new();
        c.set_resolver(SystemResolver::with_nameservers(
            &[self.dns()],
            ResolverOptions::default()
                .with_timeout(Duration::from_secs(2))
                .with_cache(false),
        ));
        c
    }

    /// Runs the `happy-connect` binary inside the namespace of `role`
    /// (`ip netns exec`, so the namespace's resolv.conf applies).
    pub(crate) fn cli(&self, role: &str, args: &[&str]) -> Output {
        cli_command(&self.ns(role), args)
            .output()
            .expect("ip netns exec happy-connect runs")
    }
}

/// `ip netns exec NS happy-connect ARGS...`, not started.
pub(crate) fn cli_command(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_happy-connect")])
        .args(args);
    c
}

/// Runs a command and returns its standard output; panics when it fails.
pub(crate) fn sh(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Moves the calling thread into the network namespace `ns`.
fn enter_netns(ns: &str) {
    let path = format!("/var/run/netns/{ns}");
    let file = fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    // SAFETY: `setns` takes a file descriptor we own (kept open by `file`
    // for the duration of the call) and a constant flag; it only changes
    // the network namespace of this thread, which is a thread of our own
    // (see `in_netns`) and never returns to a pool that expects the host
    // namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "setns({path}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `f` on a new thread inside the network namespace `ns`.
pub(crate) fn in_netns<T, F>(ns: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        enter_netns(&ns);
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs the future `make()` builds on a tokio current-thread runtime on a
/// thread inside `ns` (every socket it opens, netlink included, is in
/// that namespace).
pub(crate) fn block_in<T, F, Fut>(ns: &str, make: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    in_netns(ns, move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(make())
    })
}

/// A TCP listener running on a thread inside a namespace; it accepts (and
/// closes) connections until dropped and records their peer addresses.
pub(crate) struct Listener {
    pub(crate) port: u16,
    peers: Arc<Mutex<Vec<(SocketAddr, SocketAddr)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on `addr` (port 0: any) inside `ns`. `[::]` takes IPv4 too.
    pub(crate) fn start(ns: &str, addr: SocketAddr) -> Self {
        let ns = ns.to_owned();
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let thread = {
            let peers = Arc::clone(&peers);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                enter_netns(&ns);
                let listener = match TcpListener::bind(addr) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(Err(format!("bind {addr} in {ns}: {e}")));
                        return;
                    }
                };
                listener.set_nonblocking(true).expect("non-blocking");
                let port = listener.local_addr().expect("local address").port();
                let _ = tx.send(Ok(port));
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, peer)) => {
                            let local = stream.local_addr().expect("local address");
                            // A dual-stack socket sees IPv4 peers as
                            // ::ffff:a.b.c.d: report them as IPv4.
                            let canon =
                                |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
                            peers
                                .lock()
                                .expect("peers")
                                .push((canon(peer), canon(local)));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => panic!("accept on {addr}: {e}"),
                    }
                }
            })
        };
        let port = rx
            .recv()
            .expect("listener thread answers")
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            port,
            peers,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits up to a second for `n` accepted connections; returns (peer,
    /// local) of each.
    pub(crate) fn accepted(&self, n: usize) -> Vec<(SocketAddr, SocketAddr)> {
        for _ in 0..200 {
            if self.peers.lock().expect("peers").len() >= n {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.peers.lock().expect("peers").clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The IPv6 wildcard with a port.
pub(crate) fn any6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port)
}

/// Prints a report, human and JSON, under a title.
pub(crate) fn show(title: &str, report: &ConnectReport) {
    println!("=== {title}\n{report}");
    println!(
        "json: {}",
        serde_json::to_string(report).unwrap_or_else(|e| e.to_string())
    );
}

/// A drop rule in the router's forward chain, removed when dropped (also
/// when the test panics).
pub(crate) struct Blackhole {
    router: String,
    table: String,
    chain: String,
}

impl Blackhole {
    /// Drops everything the router forwards to `dest`.
    pub(crate) fn ipv6(lab: &Lab, dest: IpAddr) -> Self {
        Self::rule(lab, &format!("ip6 daddr {dest} drop"))
    }

    /// Drops Teredo (UDP 3544) packets the router forwards to the Teredo
    /// server's two addresses, so a client cannot qualify.
    pub(crate) fn teredo_server(lab: &Lab) -> Self {
        let (a, b) = (lab.addr("teredo_server"), lab.addr("teredo_server2"));
        Self::rule(lab, &format!("ip daddr {{ {a}, {b} }} udp dport 3544 drop"))
    }

    fn rule(lab: &Lab, matches: &str) -> Self {
        let router = lab.ns("router");
        let table = lab.str_field("nft_table");
        let chain = lab.str_field("nft_chain");
        let rule = format!("add rule {table} {chain} {matches}");
        sh(&["ip", "netns", "exec", &router, "nft", &rule]);
        println!("router: {rule}");
        Self {
            router,
            table,
            chain,
        }
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        let flush = format!("flush chain {} {}", self.table, self.chain);
        let _ = Command::new("ip")
            .args(["netns", "exec", &self.router, "nft", &flush])
            .status();
    }
}

/// The qualified Teredo address of the namespace, if any.
pub(crate) fn teredo_now(ns: &str) -> Option<IpAddr> {
    let out = Command::new("ip")
        .args(["-n", ns, "-6", "-o", "addr", "show", "dev", "teredo"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("tentative"))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet6")?;
            let ip: IpAddr = words.next()?.split('/').next()?.parse().ok()?;
            matches!(ip, IpAddr::V6(v6) if happy_connect::addr::is_teredo(v6)).then_some(ip)
        })
}
