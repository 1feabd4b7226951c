//! The lab as the tests see it: its state (the `LabState` that `cargo
//! xtask lab up` wrote), code run inside its network namespaces (entered
//! with `netns_harness`), TCP listeners there, and the CLI run there.

use std::fs;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use happy_connect::resolve::{ResolverOptions, SystemResolver};
use happy_connect::{ConnectReport, Connector};
use netns_harness::Netns;
use netns_harness::lab::{LabState, STATE_ENV};

/// The lab's state file, written by `cargo xtask lab up`.
pub(crate) struct Lab {
    pub(crate) path: PathBuf,
    pub(crate) state: LabState,
}

impl Lab {
    /// Reads the state named by `$HAPPY_CONNECT_LAB`; panics (the test
    /// fails, it is not skipped) when there is none.
    pub(crate) fn load() -> Self {
        let Some(path) = LabState::path_from_env() else {
            panic!(
                "{STATE_ENV} is not set: these tests need the Teredo lab; \
                 run them via `cargo xtask lab test` (as root)"
            );
        };
        let state = match LabState::read(&path) {
            Ok(Some(state)) => state,
            Ok(None) => panic!(
                "there is no lab state at {}: run via `cargo xtask lab test`",
                path.display()
            ),
            Err(err) => panic!("{err}: run via `cargo xtask lab test`"),
        };
        Self { path, state }
    }

    /// Writes the state back (after a test restarted a process).
    pub(crate) fn save(&self) {
        self.state
            .write(&self.path)
            .unwrap_or_else(|err| panic!("{err}"));
    }

    /// The namespace of a role: `router`, `teredo_server`, `t1`, `t2`, `srv`.
    pub(crate) fn ns(&self, role: &str) -> String {
        self.state
            .namespace(role)
            .unwrap_or_else(|| panic!("no namespace {role:?} in the lab state"))
            .to_owned()
    }

    /// The namespace of a role, to enter or run programs in (it stays when
    /// the handle drops).
    pub(crate) fn netns(&self, role: &str) -> Netns {
        self.state.netns(role)
    }

    /// An address of the lab: `srv_v4`, `t1_teredo`, ...
    pub(crate) fn addr(&self, key: &str) -> IpAddr {
        self.state
            .address(key)
            .unwrap_or_else(|| panic!("no address {key:?} in the lab state"))
    }

    /// The lab's DNS server (dnsmasq in the router).
    pub(crate) fn dns(&self) -> SocketAddr {
        self.state.dns_server
    }

    /// How many `query[TYPE] NAME ` lines dnsmasq logged so far.
    pub(crate) fn query_count(&self, rtype: &str, name: &str) -> usize {
        // dnsmasq writes each line at once; leave it a moment anyway.
        std::thread::sleep(Duration::from_millis(50));
        let log = fs::read_to_string(&self.state.dnsmasq_log).expect("dnsmasq log readable");
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

    /// Runs `program args...` inside the namespace of `role` (`ip netns
    /// exec`) and returns its standard output; panics when it fails.
    pub(crate) fn exec(&self, role: &str, program: &str, args: &[&str]) -> String {
        let out = self
            .netns(role)
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} in {role}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed in {role}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `ip netns exec NS happy-connect ARGS...`, not started.
pub(crate) fn cli_command(ns: &str, args: &[&str]) -> Command {
    let mut c = Netns::existing(ns).command(env!("CARGO_BIN_EXE_happy-connect"));
    c.args(args);
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

/// Runs `f` on a thread inside the network namespace `ns`.
pub(crate) fn in_netns<T, F>(ns: &str, f: F) -> T
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    Netns::existing(ns).run(f)
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
            Netns::existing(&ns).spawn(move || {
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
    router: Netns,
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
        let router = lab.netns("router");
        let table = lab.state.nft_table.clone();
        let chain = lab.state.nft_chain.clone();
        let rule = format!("add rule {table} {chain} {matches}");
        router.nft(&[&rule]);
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
        // Not `nft`, which panics on failure: a panic while the test is
        // already unwinding would abort the run.
        let flush = format!("flush chain {} {}", self.table, self.chain);
        let _ = self.router.command("nft").arg(flush).status();
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
