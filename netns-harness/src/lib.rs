//! Throwaway network namespaces for the workspace's root tests.
//!
//! A [`Netns`] is created with `ip netns add` (loopback up), deleted by its
//! `Drop` (so a failing assertion still cleans up, and the namespace takes
//! its interfaces and nft tables along), and entered by [`Netns::run`],
//! which runs a closure on a scoped thread that has called `setns(2)`: the
//! sockets, netlink sockets included, that the closure opens live in the
//! namespace.
//!
//! Creating a namespace needs root. Without it [`Netns::new`] panics with a
//! message that says so: a root test fails, it never skips, so a CI run
//! that lost its privileges is noticed.
//!
//! The harness shells out to `ip` and `nft` to build the test's world; the
//! libraries under test never do. It also holds the fixtures several
//! crates' tests share: veth pairs, a `tun` device held open (so that it
//! has a carrier, as when Miredo runs) and configured as Miredo configures
//! its Teredo interface, an nftables blackhole, and Router Advertisements
//! sent by hand ([`ra`]).
//!
//! Linux only: elsewhere the crate is empty.
//!
//! ```no_run
//! use netns_harness::Netns;
//!
//! let ns = Netns::new("ex");
//! ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
//! let inside = ns.run(|| std::net::TcpListener::bind("127.0.0.1:0").is_ok());
//! assert!(inside);
//! ```

// Elsewhere the crate is empty, and the links of its docs lead nowhere.
#![cfg_attr(not(target_os = "linux"), allow(rustdoc::broken_intra_doc_links))]
#![cfg(target_os = "linux")]

pub mod ra;

use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

/// Numbers the namespaces of this process.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// `ip netns add` mounts the shared `/run/netns` on first use; two at once
/// can race, so creation is serialised.
static CREATE: Mutex<()> = Mutex::new(());

/// Panics unless the process runs as root, naming what needs it.
///
/// # Panics
///
/// When the effective user is not root.
pub fn require_root(what: &str) {
    let euid = fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    assert_eq!(euid, 0, "{what} needs root; run the root tests as root");
}

/// A network namespace named `PREFIX-<pid>-<n>` with `lo` up, deleted on
/// drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace and brings `lo` up. `prefix` tells whose it
    /// is, should one ever be left behind.
    ///
    /// # Panics
    ///
    /// When not root, or when `ip` fails.
    pub fn new(prefix: &str) -> Self {
        require_root("creating a network namespace");
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        {
            let _guard = CREATE.lock().unwrap_or_else(PoisonError::into_inner);
            run(&["ip", "netns", "add", &name]);
        }
        // From here on the guard exists, so a failure below still deletes
        // the namespace.
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`.
    ///
    /// # Panics
    ///
    /// When the command fails; the message carries its standard error.
    pub fn ip(&self, args: &[&str]) {
        ip_in(&self.name, args);
    }

    /// Runs `program args...` inside the namespace (`ip netns exec`).
    ///
    /// # Panics
    ///
    /// When the command fails; the message carries its standard error.
    pub fn exec(&self, program: &str, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run(&all);
    }

    /// Runs `nft args...` inside the namespace.
    ///
    /// # Panics
    ///
    /// When the command fails; the message carries its standard error.
    pub fn nft(&self, args: &[&str]) {
        self.exec("nft", args);
    }

    /// The namespace's nft ruleset, for failure messages.
    pub fn ruleset(&self) -> String {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "list", "ruleset"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(nft list ruleset: {e})"))
    }

    /// `ip -6 addr show dev DEV` in the namespace, for assertions and
    /// failure messages.
    pub fn addr_show(&self, dev: &str) -> String {
        Command::new("ip")
            .args(["-n", &self.name, "-6", "addr", "show", "dev", dev])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(ip addr show: {e})"))
    }

    /// Writes `value` to `/proc/sys/KEY` as the namespace sees it (`KEY`
    /// with `/` separators, e.g. `net/ipv6/conf/va/dad_transmits`).
    ///
    /// # Panics
    ///
    /// When the write fails.
    pub fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{key}");
        self.run(|| fs::write(&path, value))
            .unwrap_or_else(|e| panic!("write {value:?} to {path}: {e}"));
    }

    /// Runs `f` on a thread that has entered the namespace and returns its
    /// result; a panic in `f` is passed on to the caller.
    ///
    /// # Panics
    ///
    /// When the namespace cannot be entered, or `f` panics.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: setns gets a descriptor that stays open for the
                // call and a namespace type; it changes only this thread's
                // network namespace (sockets opened afterwards on this
                // thread live there), which ends with the thread.
                #[allow(unsafe_code)]
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Netns {
    /// Creates a veth pair, `a` here and `b` in `peer`, both down.
    ///
    /// # Panics
    ///
    /// When `ip` fails.
    pub fn veth(&self, a: &str, peer: &Self, b: &str) {
        self.ip(&[
            "link", "add", a, "type", "veth", "peer", "name", b, "netns", &peer.name,
        ]);
    }

    /// A `tun` device named `name` in this namespace, held open by this
    /// process as Miredo holds its own: it is up and has a carrier
    /// (`IFF_RUNNING`) until the returned handle drops, which deletes it.
    ///
    /// # Panics
    ///
    /// When the device cannot be created or raised.
    pub fn tun(&self, name: &str) -> HeldTun {
        let fd = self
            .run(|| open_tun(name))
            .unwrap_or_else(|e| panic!("tun {name}: {e}"));
        self.ip(&["link", "set", name, "up"]);
        HeldTun {
            _fd: fd,
            name: name.to_owned(),
        }
    }

    /// A Teredo interface as Miredo sets one up once qualified: a held
    /// [`tun`](Self::tun) named `name` with `addr`/32 (no DAD) and a
    /// default IPv6 route through it at Miredo's metric, 1029.
    ///
    /// # Panics
    ///
    /// When `ip` fails.
    pub fn teredo_tun(&self, name: &str, addr: &str) -> HeldTun {
        let tun = self.tun(name);
        self.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{addr}/32"),
            "dev",
            name,
            "nodad",
        ]);
        self.ip(&[
            "-6", "route", "add", "default", "dev", name, "metric", "1029",
        ]);
        tun
    }

    /// Drops every forwarded packet to `prefix` (an nftables table `T`,
    /// chain `forward`): the path to it becomes a blackhole, as a broken
    /// network makes it, for packets this namespace routes.
    ///
    /// # Panics
    ///
    /// When `nft` fails.
    pub fn blackhole(&self, prefix: &str) {
        let family = if prefix.contains(':') { "ip6" } else { "ip" };
        self.nft(&["add", "table", "inet", "T"]);
        self.nft(&[
            "add", "chain", "inet", "T", "forward", "{", "type", "filter", "hook", "forward",
            "priority", "0", ";", "}",
        ]);
        self.nft(&[
            "add", "rule", "inet", "T", "forward", family, "daddr", prefix, "drop",
        ]);
    }

    /// Removes every [`blackhole`](Self::blackhole).
    ///
    /// # Panics
    ///
    /// When `nft` fails.
    pub fn lift_blackholes(&self) {
        self.nft(&["delete", "table", "inet", "T"]);
    }
}

/// A `tun` device held open; dropping it closes the descriptor, which
/// deletes the device.
#[derive(Debug)]
pub struct HeldTun {
    _fd: OwnedFd,
    name: String,
}

impl HeldTun {
    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Opens `/dev/net/tun` and attaches a layer-3 device without packet
/// information (`IFF_TUN | IFF_NO_PI`, as Miredo asks) named `name`, in
/// the calling thread's namespace.
fn open_tun(name: &str) -> std::io::Result<OwnedFd> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    // struct ifreq: the name, then a union whose first member is the
    // short ifr_flags; 40 bytes on every Linux ABI.
    let mut ifreq = [0u8; 40];
    let bytes = name.as_bytes();
    if bytes.len() >= 16 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("interface name {name:?} is longer than 15 bytes"),
        ));
    }
    ifreq[..bytes.len()].copy_from_slice(bytes);
    let flags = i16::try_from(libc::IFF_TUN | libc::IFF_NO_PI).unwrap_or(0);
    ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, for which the
    // 40-byte buffer is the right size; it lives across the call, and the
    // descriptor is open.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, ifreq.as_mut_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file.into())
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace takes its interfaces and nft tables along.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs `ip -n NAME args...` for a namespace known by name (another
/// thread's, say).
///
/// # Panics
///
/// When the command fails; the message carries its standard error.
pub fn ip_in(name: &str, args: &[&str]) {
    let mut all = vec!["ip", "-n", name];
    all.extend_from_slice(args);
    run(&all);
}

/// Runs a command (`args[0]` with the rest as arguments).
///
/// # Panics
///
/// When `args` is empty, or the command cannot start or fails; the message
/// carries its standard error.
pub fn run(args: &[&str]) {
    let (program, rest) = args.split_first().expect("a command to run");
    let out = Command::new(program)
        .args(rest)
        .output()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The harness's tests. Making a namespace needs root, as for every user
/// of the harness: that test fails, not skips, without it.
#[cfg(test)]
mod root {
    use super::*;

    /// The index of interface `name` in the calling thread's namespace;
    /// 0 when there is none.
    fn if_index(name: &str) -> u32 {
        let name = std::ffi::CString::new(name).unwrap();
        // SAFETY: if_nametoindex reads the NUL-terminated string, which
        // outlives the call.
        #[allow(unsafe_code)]
        unsafe {
            libc::if_nametoindex(name.as_ptr())
        }
    }

    #[test]
    fn namespace_is_entered_and_deleted() {
        let ns = Netns::new("nh");
        let name = ns.name().to_owned();
        let pinned = format!("/run/netns/{name}");
        assert!(std::path::Path::new(&pinned).exists());
        ns.ip(&[
            "link", "add", "nh-va", "type", "veth", "peer", "name", "nh-vb",
        ]);
        // Inside, the veth exists and lo is up (127.0.0.1 can be bound only
        // then); outside, the veth does not exist.
        let (index, bound) = ns.run(|| {
            (
                if_index("nh-va"),
                std::net::UdpSocket::bind("127.0.0.1:0").is_ok(),
            )
        });
        assert_ne!(index, 0, "nh-va is not in {name}");
        assert!(bound, "lo is not up in {name}");
        assert_eq!(
            if_index("nh-va"),
            0,
            "nh-va leaked into the test's namespace"
        );
        drop(ns);
        assert!(
            !std::path::Path::new(&pinned).exists(),
            "{name} survived its drop"
        );
    }

    #[test]
    fn a_held_tun_has_a_carrier_until_dropped() {
        let ns = Netns::new("nh");
        let show = |ns: &Netns| {
            let out = Command::new("ip")
                .args(["-n", ns.name(), "link", "show", "dev", "nh-tun"])
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let tun = ns.teredo_tun("nh-tun", "2001:0:c633:640a:8000:f227:bd6a:13fe");
        assert_eq!(tun.name(), "nh-tun");
        let link = show(&ns).expect("the device exists");
        assert!(
            link.contains("LOWER_UP") && !link.contains("NO-CARRIER"),
            "{link}"
        );
        assert!(ns.addr_show("nh-tun").contains("2001:0:c633:640a"));
        drop(tun);
        assert_eq!(show(&ns), None, "the device is gone with its holder");
    }

    #[test]
    fn a_failing_command_panics_with_its_stderr() {
        let err = std::panic::catch_unwind(|| run(&["ip", "link", "show", "dev", "no-such-if0"]))
            .unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("no-such-if0") && msg.contains("failed"),
            "{msg}"
        );
    }
}
