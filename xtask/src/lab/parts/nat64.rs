//! The lab's NAT64 part: an IPv6-only client behind a real NAT64
//! translator with DNS64, an IPv4-only server, and a router that announces
//! the translator's prefix in its Router Advertisements (RFC 8781).
//!
//! ```text
//!   n64c  2001:db8:6::2/64, IPv6 only (resolv.conf: unbound)
//!    |
//!   n64r  router: 2001:db8:6::1 (unbound, DNS64 under 2001:db8:64::/96)
//!    |          2001:db8:6::53 and 127.0.0.1 (dnsmasq: the lab's names)
//!    |          2001:db8:7::10 on lo (a native IPv6 host of the lab)
//!    |          tayga on tun `nat64`: 2001:db8:64::/96 <-> pool 192.168.255.0/24
//!    |          PREF64 Router Advertisements out of `n64c` (xtask itself)
//!   n64s  203.0.113.10/24, IPv4 only
//! ```
//!
//! unbound answers the client with `module-config: "dns64 iterator"` and
//! forwards every name to dnsmasq on the router's loopback: names unbound
//! served from its own local zones would bypass the dns64 module. dnsmasq
//! also listens on `2001:db8:6::53`, a server that does not synthesize.
//! tayga has a private IPv4 address of its own, so it is given its IPv6
//! one (`ipv6-addr`) too. Debian's radvd cannot send PREF64, so the router
//! is `xtask lab pref64-router`: a raw ICMPv6 socket that advertises every
//! ten minutes (lifetime 30 minutes) and answers each Router Solicitation.

use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netns_harness::lab::{LabState, Nat64Lab};

use super::{Build, Part, no_status, nothing_to_undo, path_str};
use crate::lab::netns::{exec, ip};
use crate::lab::process::alive;

pub(in crate::lab) const PART: Part = Part {
    name: "nat64",
    up,
    status: no_status,
    // The client's resolv.conf under /etc/netns goes with the lab's others
    // (the dnsmasq part removes every lab entry there).
    down: nothing_to_undo,
};

/// The translator's network-specific prefix (RFC 6052 §2.3).
const PREFIX: &str = "2001:db8:64::/96";
/// The first 96 bits of the prefix, as the PREF64 option carries them.
const PREFIX_ADDR: &str = "2001:db8:64::";
/// The PREF64 lifetime the router announces, and how often it repeats.
const RA_LIFETIME: Duration = Duration::from_secs(1800);
const RA_INTERVAL: Duration = Duration::from_secs(600);

/// The addressing plan.
const CLIENT_V6: &str = "2001:db8:6::2";
const ROUTER_V6: &str = "2001:db8:6::1";
const DNSMASQ_V6: &str = "2001:db8:6::53";
const NATIVE_V6: &str = "2001:db8:7::10";
const ROUTER_V4: &str = "203.0.113.1";
const SERVER_V4: &str = "203.0.113.10";
const TAYGA_V4: &str = "192.168.255.1";
const TAYGA_POOL: &str = "192.168.255.0/24";
const TAYGA_V6: &str = "2001:db8:46::1";

/// The router's interface towards the client, where advertisements go.
const RA_DEV: &str = "n64c";

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0u8; 4]))
}

/// Builds the NAT64 part of the lab.
fn up(build: &mut Build<'_>) -> Result<()> {
    let client = build.add_namespace("n64_client", "n64c")?;
    let router = build.add_namespace("n64_router", "n64r")?;
    let server = build.add_namespace("n64_server", "n64s")?;
    let run_dir = build.state.run_dir.join("nat64");
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    let lab = Nat64Lab {
        prefix: PREFIX.to_owned(),
        ra_interface: RA_DEV.to_owned(),
        hosts_file: run_dir.join("nat64.hosts"),
        dnsmasq_log: run_dir.join("dnsmasq.log"),
        unbound_log: run_dir.join("unbound.log"),
    };
    build.state.nat64 = Some(lab.clone());
    build.save()?;

    links(&client, &router, &server)?;
    for (k, v) in [
        ("n64_client", CLIENT_V6),
        ("n64_dns64", ROUTER_V6),
        ("n64_dnsmasq", DNSMASQ_V6),
        ("n64_native", NATIVE_V6),
        ("n64_server_v4", SERVER_V4),
        ("n64_router_v4", ROUTER_V4),
    ] {
        build.state.addresses.insert(k.to_owned(), addr(v));
    }
    build.save()?;

    // tayga: its tun device, routes to it, then the daemon in the
    // foreground.
    let tayga_conf = run_dir.join("tayga.conf");
    fs::write(
        &tayga_conf,
        format!(
            "tun-device nat64\nipv4-addr {TAYGA_V4}\nipv6-addr {TAYGA_V6}\nprefix {PREFIX}\n\
             dynamic-pool {TAYGA_POOL}\n"
        ),
    )?;
    exec(&router, &["tayga", "-c", &path_str(&tayga_conf), "--mktun"])?;
    ip(&router, &["link", "set", "nat64", "up"])?;
    // The router's own addresses on the tun, as tayga's documentation
    // has it: sources for what the kernel itself sends through it.
    ip(
        &router,
        &["addr", "add", "192.168.255.254/32", "dev", "nat64"],
    )?;
    ip(
        &router,
        &[
            "-6",
            "addr",
            "add",
            "2001:db8:46::2/128",
            "dev",
            "nat64",
            "nodad",
        ],
    )?;
    ip(&router, &["route", "add", TAYGA_POOL, "dev", "nat64"])?;
    ip(&router, &["-6", "route", "add", PREFIX, "dev", "nat64"])?;
    ip(
        &router,
        &[
            "-6",
            "route",
            "add",
            &format!("{TAYGA_V6}/128"),
            "dev",
            "nat64",
        ],
    )?;
    let argv = [
        "tayga".to_owned(),
        "-c".to_owned(),
        path_str(&tayga_conf),
        "-d".to_owned(),
    ];
    build.spawn("n64_tayga", "n64_router", &argv, &run_dir.join("tayga.log"))?;

    // dnsmasq: the names, ipv4only.arpa's two well-known addresses among
    // them (RFC 7050 §2.2), for unbound to synthesize from.
    let names: [(&str, Vec<&str>); 3] = [
        ("ipv4only.arpa", vec!["192.0.0.170", "192.0.0.171"]),
        ("v4only.nat64.lab", vec![SERVER_V4]),
        ("dual.nat64.lab", vec![SERVER_V4, NATIVE_V6]),
    ];
    let mut hosts = String::from("# the NAT64 lab's names, served by dnsmasq\n");
    for (name, list) in &names {
        for a in list {
            let _ = writeln!(hosts, "{a} {name}");
        }
        build
            .state
            .names
            .insert((*name).to_owned(), list.iter().map(|a| addr(a)).collect());
    }
    fs::write(&lab.hosts_file, hosts)?;
    let argv = [
        "dnsmasq".to_owned(),
        "--no-daemon".to_owned(),
        "--conf-file=/dev/null".to_owned(),
        "--no-resolv".to_owned(),
        "--no-hosts".to_owned(),
        format!("--addn-hosts={}", path_str(&lab.hosts_file)),
        "--local=/lab/".to_owned(),
        "--local=/arpa/".to_owned(),
        "--log-queries".to_owned(),
        format!("--log-facility={}", path_str(&lab.dnsmasq_log)),
        "--listen-address=127.0.0.1".to_owned(),
        format!("--listen-address={DNSMASQ_V6}"),
        "--bind-interfaces".to_owned(),
        "--cache-size=0".to_owned(),
    ];
    build.spawn(
        "n64_dnsmasq",
        "n64_router",
        &argv,
        &run_dir.join("dnsmasq.out"),
    )?;
    let pid = build.state.processes["n64_dnsmasq"].pid;
    wait_log(&lab.dnsmasq_log, pid, "read ", "dnsmasq")?;

    // unbound: DNS64 in front of dnsmasq, with a configuration of its own
    // (no trust anchor, no remote control: nothing leaves the lab).
    let unbound_conf = run_dir.join("unbound.conf");
    fs::write(&unbound_conf, unbound_config(&run_dir))?;
    let argv = [
        "unbound".to_owned(),
        "-d".to_owned(),
        "-c".to_owned(),
        path_str(&unbound_conf),
    ];
    build.spawn("n64_unbound", "n64_router", &argv, &lab.unbound_log)?;
    let pid = build.state.processes["n64_unbound"].pid;
    wait_log(&lab.unbound_log, pid, "start of service", "unbound")?;

    // The router's advertisements with PREF64.
    let exe = std::env::current_exe().context("the xtask binary's path")?;
    let ra_log = run_dir.join("pref64-router.log");
    let argv = [
        path_str(&exe),
        "lab".to_owned(),
        "pref64-router".to_owned(),
        RA_DEV.to_owned(),
        PREFIX_ADDR.to_owned(),
        RA_LIFETIME.as_secs().to_string(),
        RA_INTERVAL.as_secs().to_string(),
    ];
    build.spawn("n64_pref64_router", "n64_router", &argv, &ra_log)?;
    let pid = build.state.processes["n64_pref64_router"].pid;
    wait_log(&ra_log, pid, "advertised", "the PREF64 router")?;

    // The client resolves through unbound when run with `ip netns exec`.
    let dir = Path::new("/etc/netns").join(&client);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(
        dir.join("resolv.conf"),
        format!("nameserver {ROUTER_V6}\noptions timeout:2 attempts:2\n"),
    )?;
    Ok(())
}

/// The links, addresses and routes of the three namespaces.
fn links(client: &str, router: &str, server: &str) -> Result<()> {
    for name in [client, router, server] {
        // No DAD: the addresses are usable at once.
        exec(
            name,
            &[
                "sh",
                "-c",
                "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && \
                 echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
            ],
        )?;
    }
    exec(
        router,
        &[
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv4/ip_forward && \
             echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
        ],
    )?;
    for (peer, dev) in [(client, RA_DEV), (server, "n64s")] {
        ip(
            router,
            &[
                "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", peer,
            ],
        )?;
    }
    let v6 = |ns: &str, addr: &str, dev: &str| -> Result<()> {
        ip(ns, &["-6", "addr", "add", addr, "dev", dev, "nodad"]).map(drop)
    };
    v6(router, &format!("{ROUTER_V6}/64"), RA_DEV)?;
    v6(router, &format!("{DNSMASQ_V6}/128"), RA_DEV)?;
    v6(router, &format!("{NATIVE_V6}/128"), "lo")?;
    ip(
        router,
        &["addr", "add", &format!("{ROUTER_V4}/24"), "dev", "n64s"],
    )?;
    v6(client, &format!("{CLIENT_V6}/64"), "eth0")?;
    ip(
        server,
        &["addr", "add", &format!("{SERVER_V4}/24"), "dev", "eth0"],
    )?;
    for dev in [RA_DEV, "n64s"] {
        ip(router, &["link", "set", dev, "up"])?;
    }
    ip(client, &["link", "set", "eth0", "up"])?;
    ip(server, &["link", "set", "eth0", "up"])?;
    ip(client, &["-6", "route", "add", "default", "via", ROUTER_V6])?;
    ip(server, &["route", "add", "default", "via", ROUTER_V4])?;
    Ok(())
}

fn unbound_config(run_dir: &Path) -> String {
    format!(
        "server:
  interface: {ROUTER_V6}
  port: 53
  access-control: ::/0 allow
  access-control: 0.0.0.0/0 allow
  username: \"\"
  chroot: \"\"
  directory: \"{dir}\"
  pidfile: \"{dir}/unbound.pid\"
  use-syslog: no
  logfile: \"\"
  verbosity: 1
  log-queries: yes
  module-config: \"dns64 iterator\"
  dns64-prefix: {PREFIX}
  do-not-query-localhost: no
  qname-minimisation: no
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
remote-control:
  control-enable: no
forward-zone:
  name: \".\"
  forward-addr: 127.0.0.1@53
",
        dir = run_dir.display()
    )
}

/// Waits until `log` holds `needle`, for up to five seconds, failing early
/// if the process `pid` exits.
fn wait_log(log: &Path, pid: u32, needle: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if fs::read_to_string(log).unwrap_or_default().contains(needle) {
            return Ok(());
        }
        if !alive(pid) {
            bail!("{what} exited at start (see {})", log.display());
        }
        if Instant::now() >= deadline {
            bail!("{what} did not start within 5 s (see {})", log.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The NAT64 part's summary lines.
pub(in crate::lab) fn print_summary(state: &LabState) {
    if let Some(lab) = &state.nat64 {
        println!(
            "  nat64 prefix     {} (tayga; unbound DNS64 at {ROUTER_V6}, PREF64 on {})",
            lab.prefix, lab.ra_interface
        );
    }
}

/// `xtask lab pref64-router DEV PREFIX LIFETIME INTERVAL`, run inside the
/// router's namespace: advertises PREF64 out of `DEV` at once, then every
/// `INTERVAL` seconds and in answer to each Router Solicitation, until
/// killed.
#[cfg(target_os = "linux")]
pub(in crate::lab) fn pref64_router(args: &[String]) -> Result<()> {
    use std::io::Write as _;

    use netns_harness::ra::{RouterAdvertiser, pref64_option};

    let [dev, prefix, lifetime, interval] = args else {
        bail!("usage: xtask lab pref64-router DEV PREFIX LIFETIME_S INTERVAL_S");
    };
    let prefix: std::net::Ipv6Addr = prefix
        .parse()
        .with_context(|| format!("{prefix:?} is not an IPv6 prefix address"))?;
    let lifetime: u64 = lifetime.parse().context("LIFETIME_S")?;
    let interval = Duration::from_secs(interval.parse().context("INTERVAL_S")?);
    // RFC 8781 §4: units of 8 seconds, 13 bits; code 0 is a /96.
    let scaled = u16::try_from(lifetime.div_ceil(8).min(0x1fff)).unwrap_or(0x1fff);
    let option = pref64_option(scaled, 0, prefix);
    let advertiser =
        RouterAdvertiser::open(dev).with_context(|| format!("raw ICMPv6 socket on {dev}"))?;
    let mut out = std::io::stdout();
    loop {
        advertiser.send(&[&option])?;
        let _ = writeln!(out, "advertised {prefix}/96 lifetime {lifetime} s on {dev}");
        let _ = out.flush();
        let next = Instant::now() + interval;
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if advertiser.wait_solicitation(left)? {
                let _ = writeln!(out, "solicited");
                break;
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(in crate::lab) fn pref64_router(_args: &[String]) -> Result<()> {
    bail!("the PREF64 router runs on Linux only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbound_runs_dns64_and_forwards_everything_to_dnsmasq() {
        let conf = unbound_config(Path::new("/run/lab"));
        for line in [
            "module-config: \"dns64 iterator\"",
            "dns64-prefix: 2001:db8:64::/96",
            "do-not-query-localhost: no",
            "forward-addr: 127.0.0.1@53",
            "control-enable: no",
            "interface: 2001:db8:6::1",
        ] {
            assert!(conf.contains(line), "{line}\n{conf}");
        }
        // No validator, so no trust anchor to fetch.
        assert!(!conf.contains("validator") && !conf.contains("trust-anchor"));
    }

    #[test]
    fn prefix_text_and_address_agree() {
        assert_eq!(PREFIX.split_once('/'), Some((PREFIX_ADDR, "96")));
    }
}
