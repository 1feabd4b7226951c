//! Namespaces, the `ip` command, and re-running a test inside a namespace.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use iface_probe::{Address, Interface, Snapshot};

/// Set in the child process: the name of the test it runs the body of.
const CHILD_VAR: &str = "IFACE_PROBE_IT_CHILD";
/// Set in the child process: `key=value` pairs, `;`-separated, from setup.
const VARS_VAR: &str = "IFACE_PROBE_IT_VARS";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short name: `ipt-<pid>-<n>`, at most 15 bytes so that it also
/// works as an interface name.
pub(crate) fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id() % 1_000_000;
    format!("ipt-{pid}-{n}")
}

/// Runs `ip ARGS`, panicking with its output if it fails.
pub(crate) fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0")
}

/// A network namespace deleted on drop (with every interface in it).
pub(crate) struct Netns {
    pub(crate) name: String,
}

impl Netns {
    /// Creates a namespace with `lo` up.
    pub(crate) fn new() -> Self {
        let name = unique_name();
        ip(&["netns", "add", &name]);
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n NAME ARGS`.
    pub(crate) fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Runs `ip netns exec NAME sysctl -qw SETTING`.
    pub(crate) fn sysctl(&self, setting: &str) {
        ip(&["netns", "exec", &self.name, "sysctl", "-qw", setting]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Creates a veth pair, `a` in `ns_a` and `b` in `ns_b`, both down, and
/// returns their names.
pub(crate) fn veth(ns_a: &Netns, ns_b: &Netns) -> (String, String) {
    let (a, b) = (unique_name(), unique_name());
    ip(&[
        "link", "add", &a, "netns", &ns_a.name, "type", "veth", "peer", "name", &b, "netns",
        &ns_b.name,
    ]);
    (a, b)
}

/// The values the parent passed to the child.
pub(crate) struct Vars(BTreeMap<String, String>);

impl Vars {
    pub(crate) fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("no variable {key}"))
    }
}

/// Fails the test unless it runs as root.
pub(crate) fn require_root() {
    assert!(
        is_root(),
        "this test builds network namespaces and needs root (tests under `root::` fail without it)"
    );
}

/// Runs a test in a namespace. In the test process: checks for root, runs
/// `setup`, which builds the namespaces (keeping them alive by returning
/// them) and returns the namespace to run in plus variables for the body,
/// then re-runs this test binary for the test `name` inside that
/// namespace and fails if it fails. In that child process: runs `body`.
pub(crate) fn in_netns<S, G>(name: &str, setup: S, body: fn(&Vars))
where
    S: FnOnce() -> (G, String, Vec<(&'static str, String)>),
{
    if let Ok(child) = std::env::var(CHILD_VAR) {
        assert_eq!(child, name, "child process runs another test");
        let vars = std::env::var(VARS_VAR).unwrap_or_default();
        let vars = vars
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        body(&Vars(vars));
        return;
    }
    require_root();
    let (guard, ns, vars) = setup();
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, name)
        .env(VARS_VAR, vars.join(";"))
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    drop(guard);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "body of {name} failed in namespace {ns}:\n{stdout}\n{stderr}"
    );
}

/// Snapshots until `pred` holds or `timeout` passes; returns the last one.
pub(crate) fn wait_for(timeout: Duration, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let start = Instant::now();
    loop {
        let snap = Snapshot::capture().expect("capture");
        if pred(&snap) || start.elapsed() > timeout {
            return snap;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address `ip` on interface `name` in the snapshot.
pub(crate) fn addr<'a>(snap: &'a Snapshot, name: &str, ip: &str) -> &'a Address {
    let ip: IpAddr = ip.parse().unwrap();
    iface(snap, name)
        .addresses
        .iter()
        .find(|a| a.ip == ip)
        .unwrap_or_else(|| panic!("no {ip} on {name}: {snap:#?}"))
}

/// The interface `name` in the snapshot.
pub(crate) fn iface<'a>(snap: &'a Snapshot, name: &str) -> &'a Interface {
    snap.interface_by_name(name)
        .unwrap_or_else(|| panic!("no interface {name}: {snap:#?}"))
}

/// The source address a UDP socket gets when connected to `dest`
/// (nothing is sent); `None` when `connect` fails.
pub(crate) fn udp_source(dest: IpAddr, scope_id: u32) -> Option<IpAddr> {
    let (bind, target): (SocketAddr, SocketAddr) = match dest {
        IpAddr::V4(_) => ("0.0.0.0:0".parse().unwrap(), SocketAddr::new(dest, 9)),
        IpAddr::V6(v6) => (
            "[::]:0".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new(v6, 9, 0, scope_id)),
        ),
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(target).ok()?;
    Some(sock.local_addr().ok()?.ip())
}
