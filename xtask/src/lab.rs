//! `cargo xtask lab up|down|status|test [--install]`: a real Teredo lab in
//! network namespaces, and the end-to-end tests that run in it.
//!
//! Topology (every name carries a per-run prefix `hcl<pid>-`):
//!
//! ```text
//!                 ts  198.18.0.10, .11 (miredo-server)
//!                  |
//!   t1 ---------- r (router: forwarding, nft table, dnsmasq on 198.18.255.53)
//!   198.18.1.2     |  \
//!   + Teredo       |   srv 198.18.3.2, 2001:db8:3::2, 2002:c612:302::2
//!                  t2 198.18.2.2, 2001:db8:2::2, 2002:c612:202::2 + Teredo
//! ```
//!
//! The state (namespaces, addresses, pids, logs) goes to a JSON file,
//! `target/lab/state.json` or `$HAPPY_CONNECT_LAB`, which `down`, `status`
//! and the tests (`happy-connect/tests/lab`) read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::cargo::Cargo;

/// The packages the lab needs (Debian/Ubuntu names).
const PACKAGES: &[&str] = &[
    "miredo",
    "miredo-server",
    "dnsmasq-base",
    "nftables",
    "iproute2",
    "procps",
];

/// The programs the lab runs, and the package each comes from.
const BINARIES: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("nft", "nftables"),
    ("miredo", "miredo"),
    ("miredo-server", "miredo-server"),
    ("dnsmasq", "dnsmasq-base"),
    ("sysctl", "procps"),
];

/// The start of every lab namespace name; the pid of the `up` follows.
const PREFIX_STEM: &str = "hcl";

/// How long `up` waits for both Miredo clients to qualify.
const QUALIFY_TIMEOUT: Duration = Duration::from_secs(20);

/// The address dnsmasq answers on, on the router's loopback.
const DNS_ADDR: &str = "198.18.255.53";

/// The UDP port the Miredo clients bind (fixed so that a restarted client
/// gets the same Teredo address).
const MIREDO_PORT: u16 = 3545;

/// Everything `down`, `status` and the tests need to know about a lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    /// The per-run name prefix, `hcl<pid>-`.
    prefix: String,
    /// Configuration files and logs.
    run_dir: PathBuf,
    /// Namespace names by role: router, teredo_server, t1, t2, srv.
    namespaces: BTreeMap<String, String>,
    /// Addresses by role (`t1_v4`, `t1_teredo`, `srv_v6`, ...).
    addresses: BTreeMap<String, String>,
    /// The lab's DNS server, `IP:53`.
    dns_server: String,
    /// dnsmasq's query log.
    dnsmasq_log: PathBuf,
    /// The hosts file dnsmasq serves the lab names from.
    hosts_file: PathBuf,
    /// The DNS names and their addresses.
    names: BTreeMap<String, Vec<String>>,
    /// The nft table and chain in the router that tests add drop rules to.
    nft_table: String,
    nft_chain: String,
    /// The processes started, by role.
    processes: BTreeMap<String, Process>,
    /// How long `up` took, in milliseconds.
    up_ms: u64,
}

/// One background process of the lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Process {
    pid: u32,
    netns: String,
    /// The command run inside `netns` (what a test restarts).
    argv: Vec<String>,
    log: PathBuf,
}

/// The options of `lab up` and `lab test`.
#[derive(Debug, Default)]
struct Options {
    install: bool,
    /// `lab test` only: what follows `--`, passed to the test binary.
    test_args: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut opts = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--install" => opts.install = true,
                "--" => opts.test_args.extend(args.by_ref().cloned()),
                other => bail!("unknown lab option {other:?}"),
            }
        }
        Ok(opts)
    }
}

/// `cargo xtask lab ...`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("`lab` needs a command: up, down, status or test");
    };
    let state_path = state_path();
    match command.as_str() {
        "up" => {
            let opts = Options::parse(rest)?;
            if !opts.test_args.is_empty() {
                bail!("`lab up` takes no test arguments");
            }
            let state = up(&opts, &state_path)?;
            print_summary(&state, &state_path);
            Ok(())
        }
        "down" => {
            no_args(rest)?;
            down(&state_path)
        }
        "status" => {
            no_args(rest)?;
            status(&state_path)
        }
        "test" => test(&Options::parse(rest)?, &state_path),
        other => bail!("unknown lab command {other:?} (up, down, status, test)"),
    }
}

fn no_args(rest: &[String]) -> Result<()> {
    match rest.first() {
        Some(extra) => bail!("unexpected argument {extra:?}"),
        None => Ok(()),
    }
}

/// `$HAPPY_CONNECT_LAB` or `<workspace>/target/lab/state.json`.
fn state_path() -> PathBuf {
    match std::env::var_os("HAPPY_CONNECT_LAB") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => crate::workspace_root().join("target/lab/state.json"),
    }
}

fn read_state(path: &Path) -> Result<Option<State>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a lab state file", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_state(path: &Path, state: &State) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(state)?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

// ---------------------------------------------------------------- checks

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Where a program is: `name` itself when it is a path, else the first
/// match in `PATH` (and the sbin directories, which a root `PATH` may
/// lack).
pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].into_iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Installs the test suite's packages with apt-get when some program is
/// missing and we are root; otherwise leaves the machine alone (the tests
/// then say what is missing). `cargo xtask test` calls this so that the
/// whole suite runs on a fresh machine.
pub(crate) fn ensure_packages() -> Result<()> {
    let missing = BINARIES.iter().any(|(bin, _)| find_in_path(bin).is_none());
    if missing && can_install() {
        check_prerequisites(&Options {
            install: true,
            ..Options::default()
        })?;
    }
    Ok(())
}

/// Whether this process may install packages: root on a machine with
/// apt-get.
fn can_install() -> bool {
    is_root() && find_in_path("apt-get").is_some()
}

/// Installs with apt-get the packages of those `binaries` (program, or
/// path, and the package it comes from) that are missing, when root on a
/// machine with apt-get; otherwise leaves the machine alone and returns
/// the programs still missing, for the caller to report.
pub(crate) fn install_missing(binaries: &[(&str, &str)]) -> Result<Vec<String>> {
    let missing = |binaries: &[(&str, &str)]| -> Vec<(String, String)> {
        binaries
            .iter()
            .filter(|(bin, _)| find_in_path(bin).is_none())
            .map(|(bin, pkg)| ((*bin).to_owned(), (*pkg).to_owned()))
            .collect()
    };
    let before = missing(binaries);
    if !before.is_empty() && can_install() {
        let mut packages: Vec<&str> = before.iter().map(|(_, pkg)| pkg.as_str()).collect();
        packages.sort_unstable();
        packages.dedup();
        apt_install(&packages)?;
    }
    Ok(missing(binaries)
        .into_iter()
        .map(|(bin, pkg)| format!("{bin} (package {pkg})"))
        .collect())
}

/// `apt-get update`, then installs `packages` without recommends.
fn apt_install(packages: &[&str]) -> Result<()> {
    println!("installing {}", packages.join(" "));
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run_cmd_env(&["apt-get", "update", "-q"], &env)?;
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run_cmd_env(&install, &env)?;
    Ok(())
}

fn check_prerequisites(opts: &Options) -> Result<()> {
    if !is_root() {
        bail!(
            "the lab needs root (network namespaces, tun devices, /etc/netns): \
             run `sudo -E cargo xtask lab ...`"
        );
    }
    if opts.install {
        apt_install(PACKAGES)?;
    }
    let missing: Vec<String> = BINARIES
        .iter()
        .filter(|(bin, _)| find_in_path(bin).is_none())
        .map(|(bin, pkg)| format!("{bin} (package {pkg})"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing programs: {}; install them or pass --install",
            missing.join(", ")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- commands

fn run_cmd_env(argv: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command, failing with its standard error.
fn cmd(argv: &[&str]) -> Result<String> {
    run_cmd_env(argv, &[])
}

/// `ip -n NS ARGS...`.
fn ip(ns: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip", "-n", ns];
    argv.extend_from_slice(args);
    cmd(&argv)
}

/// `ip netns exec NS ARGS...`.
fn netns_exec(ns: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip", "netns", "exec", ns];
    argv.extend_from_slice(args);
    cmd(&argv)
}

/// Starts a background process inside `ns`, its output going to `log`, in
/// a process group of its own (a Ctrl-C in the terminal leaves it to
/// `down`).
fn spawn_in(ns: &str, argv: &[String], log: &Path) -> Result<Process> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {} in {ns}", argv[0]))?;
    Ok(Process {
        pid: child.id(),
        netns: ns.to_owned(),
        argv: argv.to_vec(),
        log: log.to_path_buf(),
    })
}

/// Whether the process runs (a zombie does not count).
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// SIGTERM, then SIGKILL after a second.
fn stop_pids(pids: &[u32]) {
    let live: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    for &pid in &live {
        signal(pid, "-TERM");
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline && live.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in &live {
        if alive(pid) {
            signal(pid, "-KILL");
        }
    }
}

// ---------------------------------------------------------------- up

/// The lab's fixed addressing plan.
struct Plan {
    ts_v4: [&'static str; 2],
    t1_v4: &'static str,
    t2_v4: &'static str,
    t2_v6: &'static str,
    t2_6to4: &'static str,
    srv_v4: &'static str,
    srv_v6: &'static str,
    srv_6to4: &'static str,
}

const PLAN: Plan = Plan {
    ts_v4: ["198.18.0.10", "198.18.0.11"],
    t1_v4: "198.18.1.2",
    t2_v4: "198.18.2.2",
    t2_v6: "2001:db8:2::2",
    t2_6to4: "2002:c612:202::2",
    srv_v4: "198.18.3.2",
    srv_v6: "2001:db8:3::2",
    srv_6to4: "2002:c612:302::2",
};

fn up(opts: &Options, state_path: &Path) -> Result<State> {
    check_prerequisites(opts)?;
    if let Some(old) = read_state(state_path)? {
        if old
            .namespaces
            .values()
            .any(|ns| Path::new("/var/run/netns").join(ns).exists())
        {
            bail!(
                "a lab ({}) is already up according to {}: run `cargo xtask lab down` first",
                old.prefix,
                state_path.display()
            );
        }
    }
    let started = Instant::now();
    let prefix = format!("{PREFIX_STEM}{}-", std::process::id());
    let state_dir = state_path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let run_dir = state_dir.join(format!("run-{}", prefix.trim_end_matches('-')));
    let _ = fs::remove_dir_all(&run_dir);
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let run_dir = fs::canonicalize(&run_dir)?;
    let ns = |role: &str| format!("{prefix}{role}");
    let mut state = State {
        prefix: prefix.clone(),
        run_dir: run_dir.clone(),
        namespaces: [
            ("router", ns("r")),
            ("teredo_server", ns("ts")),
            ("t1", ns("t1")),
            ("t2", ns("t2")),
            ("srv", ns("srv")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        addresses: BTreeMap::new(),
        dns_server: format!("{DNS_ADDR}:53"),
        dnsmasq_log: run_dir.join("dnsmasq.log"),
        hosts_file: run_dir.join("lab.hosts"),
        names: BTreeMap::new(),
        nft_table: "inet lab".to_owned(),
        nft_chain: "forward".to_owned(),
        processes: BTreeMap::new(),
        up_ms: 0,
    };
    // Written first, so that a failed `up` can still be taken down.
    write_state(state_path, &state)?;
    match build(&mut state, state_path) {
        Ok(()) => {
            state.up_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            write_state(state_path, &state)?;
            Ok(state)
        }
        Err(err) => {
            eprintln!("lab: up failed, taking the lab down again");
            print_logs(&state);
            if let Err(down_err) = down(state_path) {
                eprintln!("lab: down after the failed up failed too: {down_err:#}");
            }
            Err(err)
        }
    }
}

fn print_logs(state: &State) {
    for (role, p) in &state.processes {
        if let Ok(text) = fs::read_to_string(&p.log) {
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            eprintln!("--- {role} ({}), last lines:", p.log.display());
            for line in tail.iter().rev() {
                eprintln!("    {line}");
            }
        }
    }
}

fn build(state: &mut State, state_path: &Path) -> Result<()> {
    let n = state.namespaces.clone();
    let (r, ts, t1, t2, srv) = (
        n["router"].as_str(),
        n["teredo_server"].as_str(),
        n["t1"].as_str(),
        n["t2"].as_str(),
        n["srv"].as_str(),
    );
    // No DAD anywhere: link-local addresses that stay tentative for a
    // second or two make the first packets of a connection wait for a
    // retransmission.
    let no_dad = "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && \
                  echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad";
    for name in [r, ts, t1, t2, srv] {
        cmd(&["ip", "netns", "add", name])?;
        ip(name, &["link", "set", "lo", "up"])?;
        let setup = if name == r {
            format!(
                "{no_dad} && echo 1 > /proc/sys/net/ipv4/ip_forward && \
                 echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"
            )
        } else {
            no_dad.to_owned()
        };
        netns_exec(name, &["sh", "-c", &setup])?;
    }
    ip(r, &["addr", "add", &format!("{DNS_ADDR}/32"), "dev", "lo"])?;

    // One veth pair per leaf: `<leaf role>` in the router, `eth0` in the leaf.
    let link = |leaf_ns: &str, rname: &str, subnet: u8| -> Result<()> {
        ip(
            r,
            &[
                "link", "add", rname, "type", "veth", "peer", "name", "eth0", "netns", leaf_ns,
            ],
        )?;
        ip(
            r,
            &[
                "addr",
                "add",
                &format!("198.18.{subnet}.1/24"),
                "dev",
                rname,
            ],
        )?;
        ip(r, &["link", "set", rname, "up"])?;
        ip(leaf_ns, &["link", "set", "eth0", "up"])?;
        Ok(())
    };
    link(ts, "ts", 0)?;
    link(t1, "t1", 1)?;
    link(t2, "t2", 2)?;
    link(srv, "srv", 3)?;
    for a in PLAN.ts_v4 {
        ip(ts, &["addr", "add", &format!("{a}/24"), "dev", "eth0"])?;
    }
    for (leaf, a) in [(t1, PLAN.t1_v4), (t2, PLAN.t2_v4), (srv, PLAN.srv_v4)] {
        ip(leaf, &["addr", "add", &format!("{a}/24"), "dev", "eth0"])?;
    }
    for (leaf, gw) in [
        (ts, "198.18.0.1"),
        (t1, "198.18.1.1"),
        (t2, "198.18.2.1"),
        (srv, "198.18.3.1"),
    ] {
        ip(leaf, &["route", "add", "default", "via", gw])?;
    }
    // Native IPv6 (and a 6to4-looking address) on t2 and srv.
    let v6 = |ns: &str, dev: &str, addr: &str| -> Result<()> {
        ip(ns, &["-6", "addr", "add", addr, "dev", dev, "nodad"]).map(drop)
    };
    v6(r, "t2", "2001:db8:2::1/64")?;
    v6(r, "srv", "2001:db8:3::1/64")?;
    v6(t2, "eth0", &format!("{}/64", PLAN.t2_v6))?;
    v6(t2, "eth0", &format!("{}/64", PLAN.t2_6to4))?;
    v6(srv, "eth0", &format!("{}/64", PLAN.srv_v6))?;
    v6(srv, "eth0", &format!("{}/64", PLAN.srv_6to4))?;
    ip(
        t2,
        &["-6", "route", "add", "default", "via", "2001:db8:2::1"],
    )?;
    ip(
        srv,
        &["-6", "route", "add", "default", "via", "2001:db8:3::1"],
    )?;
    ip(
        r,
        &[
            "-6",
            "route",
            "add",
            "2002:c612:202::/48",
            "via",
            PLAN.t2_v6,
        ],
    )?;
    ip(
        r,
        &[
            "-6",
            "route",
            "add",
            "2002:c612:302::/48",
            "via",
            PLAN.srv_v6,
        ],
    )?;
    // The table tests add their drop rules to.
    netns_exec(
        r,
        &[
            "nft",
            "add table inet lab; \
             add chain inet lab forward { type filter hook forward priority 0; policy accept; }",
        ],
    )?;

    let addrs = &mut state.addresses;
    for (k, v) in [
        ("router_dns", DNS_ADDR),
        ("teredo_server", PLAN.ts_v4[0]),
        ("teredo_server2", PLAN.ts_v4[1]),
        ("t1_v4", PLAN.t1_v4),
        ("t2_v4", PLAN.t2_v4),
        ("t2_v6", PLAN.t2_v6),
        ("t2_6to4", PLAN.t2_6to4),
        ("srv_v4", PLAN.srv_v4),
        ("srv_v6", PLAN.srv_v6),
        ("srv_6to4", PLAN.srv_6to4),
    ] {
        addrs.insert(k.to_owned(), v.to_owned());
    }

    // The Teredo server, then the two clients.
    let run_dir = state.run_dir.clone();
    let server_conf = run_dir.join("miredo-server.conf");
    fs::write(
        &server_conf,
        format!("ServerBindAddress {}\n", PLAN.ts_v4[0]),
    )?;
    let server = spawn_in(
        ts,
        &[
            "miredo-server".to_owned(),
            "-f".to_owned(),
            "-c".to_owned(),
            path_str(&server_conf),
            "-p".to_owned(),
            path_str(&run_dir.join("miredo-server.pid")),
        ],
        &run_dir.join("miredo-server.log"),
    )?;
    state.processes.insert("miredo_server".to_owned(), server);
    write_state(state_path, state)?;
    // Give the server a moment to bind before the clients send their
    // first router solicitation (they retry anyway).
    std::thread::sleep(Duration::from_millis(100));
    for (role, client_ns) in [("t1", t1), ("t2", t2)] {
        let conf = run_dir.join(format!("miredo-{role}.conf"));
        fs::write(
            &conf,
            format!(
                "RelayType client\nInterfaceName teredo\nServerAddress {}\nBindPort {MIREDO_PORT}\n",
                PLAN.ts_v4[0]
            ),
        )?;
        let p = spawn_in(
            client_ns,
            &[
                "miredo".to_owned(),
                "-f".to_owned(),
                "-c".to_owned(),
                path_str(&conf),
                "-p".to_owned(),
                path_str(&run_dir.join(format!("miredo-{role}.pid"))),
            ],
            &run_dir.join(format!("miredo-{role}.log")),
        )?;
        state.processes.insert(format!("miredo_{role}"), p);
    }
    write_state(state_path, state)?;
    let deadline = Instant::now() + QUALIFY_TIMEOUT;
    for (role, client_ns) in [("t1", t1), ("t2", t2)] {
        let addr = wait_teredo(client_ns, deadline).with_context(|| {
            format!(
                "the Miredo client {role} did not qualify with the Teredo server {} within {}s \
                 (see {})",
                PLAN.ts_v4[0],
                QUALIFY_TIMEOUT.as_secs(),
                state.processes[&format!("miredo_{role}")].log.display()
            )
        })?;
        state.addresses.insert(format!("{role}_teredo"), addr);
    }
    let t1_teredo = state.addresses["t1_teredo"].clone();
    let t2_teredo = state.addresses["t2_teredo"].clone();

    // DNS: one hosts file served by dnsmasq in the router.
    let s4 = PLAN.srv_v4.to_owned();
    let names: [(&str, Vec<String>); 8] = [
        ("dual.lab", vec![s4.clone(), PLAN.srv_v6.to_owned()]),
        ("v4only.lab", vec![s4.clone()]),
        ("v4-teredo2.lab", vec![s4.clone(), t2_teredo.clone()]),
        ("v4-teredo1.lab", vec![s4.clone(), t1_teredo.clone()]),
        ("teredo-t2.lab", vec![t2_teredo.clone()]),
        ("teredo-t1.lab", vec![t1_teredo.clone()]),
        (
            "all4.lab",
            vec![
                PLAN.srv_v6.to_owned(),
                PLAN.srv_6to4.to_owned(),
                s4,
                t1_teredo,
            ],
        ),
        (
            "srv.lab",
            vec![PLAN.srv_v4.to_owned(), PLAN.srv_v6.to_owned()],
        ),
    ];
    state.names = names.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut hosts = String::from("# happy-connect lab names, served by dnsmasq\n");
    for (name, list) in &state.names {
        for a in list {
            let _ = writeln!(hosts, "{a} {name}");
        }
    }
    fs::write(&state.hosts_file, hosts)?;
    let dnsmasq = spawn_in(
        r,
        &[
            "dnsmasq".to_owned(),
            "--no-daemon".to_owned(),
            "--conf-file=/dev/null".to_owned(),
            "--no-resolv".to_owned(),
            "--no-hosts".to_owned(),
            format!("--addn-hosts={}", path_str(&state.hosts_file)),
            "--local=/lab/".to_owned(),
            "--log-queries".to_owned(),
            format!("--log-facility={}", path_str(&state.dnsmasq_log)),
            format!("--listen-address={DNS_ADDR}"),
            "--bind-interfaces".to_owned(),
            "--cache-size=0".to_owned(),
        ],
        &run_dir.join("dnsmasq.out"),
    )?;
    state.processes.insert("dnsmasq".to_owned(), dnsmasq);
    write_state(state_path, state)?;
    wait_dnsmasq(state)?;

    // Clients find the lab DNS through `ip netns exec`'s resolv.conf.
    for leaf in [t1, t2, srv] {
        let dir = Path::new("/etc/netns").join(leaf);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::write(
            dir.join("resolv.conf"),
            format!("nameserver {DNS_ADDR}\noptions timeout:2 attempts:2\n"),
        )?;
    }
    Ok(())
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Polls the `teredo` interface of `ns` until it has a non-tentative
/// global 2001:0::/32 address; returns it.
fn wait_teredo(ns: &str, deadline: Instant) -> Result<String> {
    loop {
        if let Ok(out) = ip(ns, &["-6", "-o", "addr", "show", "dev", "teredo"]) {
            if let Some(addr) = teredo_address(&out) {
                return Ok(addr);
            }
        }
        if Instant::now() >= deadline {
            bail!("no qualified Teredo address on interface `teredo` in {ns}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The first Teredo address in `ip -o -6 addr` output that is not
/// tentative.
fn teredo_address(out: &str) -> Option<String> {
    out.lines()
        .filter(|l| !l.contains("tentative"))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet6")?;
            let cidr = words.next()?;
            let addr = cidr.split('/').next()?;
            let lower = addr.to_ascii_lowercase();
            (lower.starts_with("2001:0:") || lower.starts_with("2001::")).then(|| addr.to_owned())
        })
}

fn wait_dnsmasq(state: &State) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = state.processes["dnsmasq"].pid;
    loop {
        let log = fs::read_to_string(&state.dnsmasq_log).unwrap_or_default();
        if log.contains("read ") && (log.contains("addresses") || log.contains("names")) {
            return Ok(());
        }
        if !alive(pid) {
            bail!(
                "dnsmasq exited at start (see {} and {})",
                state.dnsmasq_log.display(),
                state.processes["dnsmasq"].log.display()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "dnsmasq did not read its hosts file within 5 s (see {})",
                state.dnsmasq_log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn print_summary(state: &State, state_path: &Path) {
    println!(
        "lab {} up in {} ms; state in {}",
        state.prefix,
        state.up_ms,
        state_path.display()
    );
    for (role, ns) in &state.namespaces {
        println!("  netns {role:<14} {ns}");
    }
    for (k, v) in &state.addresses {
        println!("  {k:<16} {v}");
    }
    for (name, list) in &state.names {
        println!("  {name:<16} {}", list.join(" "));
    }
}

// ---------------------------------------------------------------- down

/// Every namespace whose name looks like a lab's: `hcl<digits>-...`.
fn leftover_namespaces() -> Vec<String> {
    let out = cmd(&["ip", "netns", "list"]).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| is_lab_name(name))
        .map(str::to_owned)
        .collect()
}

fn is_lab_name(name: &str) -> bool {
    name.strip_prefix(PREFIX_STEM)
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn down(state_path: &Path) -> Result<()> {
    let state = read_state(state_path).unwrap_or_else(|err| {
        eprintln!("lab: ignoring the state file: {err:#}");
        None
    });
    let mut namespaces = leftover_namespaces();
    let mut pids = Vec::new();
    if let Some(s) = &state {
        pids.extend(s.processes.values().map(|p| p.pid));
        for ns in s.namespaces.values() {
            if !namespaces.contains(ns) && Path::new("/var/run/netns").join(ns).exists() {
                namespaces.push(ns.clone());
            }
        }
    }
    // Whatever runs in a lab namespace is the lab's (a Miredo restarted by
    // a test has a pid the state may not know).
    for ns in &namespaces {
        if let Ok(out) = cmd(&["ip", "netns", "pids", ns]) {
            pids.extend(out.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    stop_pids(&pids);
    let mut errors = Vec::new();
    for ns in &namespaces {
        if let Err(err) = cmd(&["ip", "netns", "del", ns]) {
            errors.push(format!("{err:#}"));
        }
    }
    if let Ok(dir) = fs::read_dir("/etc/netns") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_lab_name(&name) {
                if let Err(err) = fs::remove_dir_all(entry.path()) {
                    errors.push(format!("removing {}: {err}", entry.path().display()));
                }
            }
        }
    }
    if state.is_some() {
        fs::remove_file(state_path)
            .with_context(|| format!("removing {}", state_path.display()))?;
    }
    println!(
        "lab down: stopped {} process(es), removed {} namespace(s)",
        pids.len(),
        namespaces.len()
    );
    if !errors.is_empty() {
        bail!("lab down: {}", errors.join("; "));
    }
    Ok(())
}

// ---------------------------------------------------------------- status

fn status(state_path: &Path) -> Result<()> {
    let Some(state) = read_state(state_path)? else {
        let leftovers = leftover_namespaces();
        println!("no lab state at {}", state_path.display());
        if !leftovers.is_empty() {
            println!(
                "leftover lab namespaces (run `cargo xtask lab down`): {}",
                leftovers.join(" ")
            );
        }
        return Ok(());
    };
    println!("{}", serde_json::to_string_pretty(&state)?);
    for (role, p) in &state.processes {
        println!(
            "{role:<14} pid {:<8} {}",
            p.pid,
            if alive(p.pid) {
                "running"
            } else {
                "NOT RUNNING"
            }
        );
    }
    for (role, ns) in &state.namespaces {
        let exists = Path::new("/var/run/netns").join(ns).exists();
        println!(
            "netns {role:<14} {ns:<16} {}",
            if exists { "present" } else { "MISSING" }
        );
    }
    for role in ["t1", "t2"] {
        let ns = &state.namespaces[role];
        let now = ip(ns, &["-6", "-o", "addr", "show", "dev", "teredo"])
            .ok()
            .and_then(|o| teredo_address(&o));
        println!(
            "teredo {role}: {}",
            now.unwrap_or_else(|| "no qualified address".to_owned())
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- test

fn test(opts: &Options, state_path: &Path) -> Result<()> {
    let started = Instant::now();
    // A lab left by a crashed run would make `up` refuse.
    if read_state(state_path)?.is_some() || !leftover_namespaces().is_empty() {
        println!("lab: removing a previous lab first");
        down(state_path)?;
    }
    let state = up(opts, state_path)?;
    print_summary(&state, state_path);
    // Should this process die (Ctrl-C), a watchdog in its own session takes
    // the lab down.
    let watchdog = spawn_watchdog(state_path);
    let mut args: Vec<&str> = vec![
        "test",
        "-p",
        "happy-connect",
        "--all-features",
        "--test",
        "lab",
        "--",
        "--test-threads=1",
        // Every test prints the reports it checked: show them.
        "--nocapture",
    ];
    args.extend(opts.test_args.iter().map(String::as_str));
    let status = Cargo::new(args)
        .env("HAPPY_CONNECT_LAB", state_path)
        .status();
    let down_result = down(state_path);
    if let Some(pid) = watchdog {
        signal(pid, "-KILL");
    }
    println!(
        "lab test: {:.1} s in all (lab up {:.1} s)",
        started.elapsed().as_secs_f64(),
        Duration::from_millis(state.up_ms).as_secs_f64()
    );
    let status = status?;
    down_result?;
    if !status.success() {
        bail!("the lab tests failed ({status})");
    }
    Ok(())
}

/// A shell in a new session that runs `lab down` once this process is
/// gone without having killed it first.
fn spawn_watchdog(state_path: &Path) -> Option<u32> {
    let exe = std::env::current_exe().ok()?;
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         HAPPY_CONNECT_LAB='{state}' '{exe}' lab down",
        pid = std::process::id(),
        state = state_path.display(),
        exe = exe.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(|c| c.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names() {
        assert!(is_lab_name("hcl123-t1"));
        assert!(!is_lab_name("hcl-t1"));
        assert!(!is_lab_name("hclx1-t1"));
        assert!(!is_lab_name("other"));
    }

    #[test]
    fn teredo_from_ip_output() {
        let out = "5: teredo    inet6 2001:0:c612:a:2c8c:3cd:39ed:fdfd/32 scope global \\       valid_lft forever preferred_lft forever\n";
        assert_eq!(
            teredo_address(out).as_deref(),
            Some("2001:0:c612:a:2c8c:3cd:39ed:fdfd")
        );
        assert_eq!(
            teredo_address(&out.replace("global", "global tentative")),
            None
        );
    }
}
