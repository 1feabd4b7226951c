//! [`Netns`]: making, entering and deleting network namespaces, and the
//! fixtures built in them.

use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};

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

/// Where `ip netns` pins the namespaces it names.
const PINNED: &str = "/run/netns";

/// A network namespace: one made here (`PREFIX-<pid>-<n>`, deleted on
/// drop), or one made by someone else and only used here
/// ([`existing`](Self::existing), left in place).
#[derive(Debug)]
pub struct Netns {
    name: String,
    /// Whether this handle made the namespace, and so deletes it.
    owned: bool,
}

impl Netns {
    /// Creates the namespace and brings `lo` up. `prefix` tells whose it
    /// is, should one ever be left behind.
    ///
    /// # Panics
    ///
    /// When not root, or when `ip` fails.
    pub fn new(prefix: &str) -> Self {
        let ns = Self::empty(prefix);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Creates the namespace as the kernel makes it: only `lo`, left down,
    /// so there is no address and no route at all, not even to
    /// `127.0.0.1`.
    ///
    /// # Panics
    ///
    /// When not root, or when `ip` fails.
    pub fn empty(prefix: &str) -> Self {
        require_root("creating a network namespace");
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _guard = CREATE.lock().unwrap_or_else(PoisonError::into_inner);
        run(&["ip", "netns", "add", &name]);
        // From here on the handle exists, so a failure after this call
        // still deletes the namespace.
        Self { name, owned: true }
    }

    /// A namespace that exists already under `name` (made with `ip netns
    /// add`, or by the lab): it can be entered and changed like one made
    /// here, and is left in place when the handle drops.
    ///
    /// # Panics
    ///
    /// When not root, or when there is no namespace of that name.
    pub fn existing(name: &str) -> Self {
        require_root(&format!("using the network namespace {name}"));
        let pinned = Path::new(PINNED).join(name);
        assert!(
            pinned.exists(),
            "there is no network namespace {name} ({} is missing)",
            pinned.display()
        );
        Self {
            name: name.to_owned(),
            owned: false,
        }
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

    /// Adds `cidr` (`192.0.2.2/24`, `2001:db8::2/64`) to `dev`; an IPv6
    /// address without duplicate address detection, so that it is usable
    /// at once rather than tentative for a second or two.
    ///
    /// # Panics
    ///
    /// When `ip` fails.
    pub fn addr(&self, dev: &str, cidr: &str) {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", dev, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", dev]);
        }
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

    /// `program`, to be run inside the namespace: `ip netns exec NAME
    /// program`, not started. Unlike a thread that has entered the
    /// namespace, the program also sees the namespace's own files under
    /// `/etc/netns/NAME/` (its `resolv.conf`, say) in place of `/etc`'s.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
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
        let handle = self.open();
        thread::scope(|s| {
            s.spawn(|| {
                enter(&handle, &self.name);
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// Starts `f` on a new thread that has entered the namespace, for work
    /// that outlives the call (a listener that accepts until told to
    /// stop, say); joining the handle gives `f`'s result. Threads that `f`
    /// starts are in the namespace too.
    ///
    /// # Panics
    ///
    /// When the namespace cannot be opened. Should entering it fail, the
    /// new thread panics, which joining it reports.
    pub fn spawn<T, F>(&self, f: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let handle = self.open();
        let name = self.name.clone();
        thread::Builder::new()
            .name(format!("netns {name}"))
            .spawn(move || {
                enter(&handle, &name);
                drop(handle);
                f()
            })
            .unwrap_or_else(|e| panic!("start a thread for {}: {e}", self.name))
    }

    /// The namespace's pinned file, whose descriptor `setns(2)` takes.
    fn open(&self) -> File {
        let path = Path::new(PINNED).join(&self.name);
        File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
    }
}

/// Moves the calling thread into the namespace `file` refers to.
///
/// # Panics
///
/// When `setns(2)` fails (not root, say).
fn enter(file: &File, name: &str) {
    // SAFETY: setns gets a descriptor that stays open for the call and a
    // namespace type; it changes only this thread's network namespace
    // (sockets opened afterwards on this thread live there), and the
    // callers run it on threads of their own, which end with the work.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "setns into {name}: {}",
        std::io::Error::last_os_error()
    );
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
        self.addr(name, &format!("{addr}/32"));
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
        if !self.owned {
            return;
        }
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
        assert!(Path::new(&pinned).exists());
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
        assert!(!Path::new(&pinned).exists(), "{name} survived its drop");
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

    #[test]
    fn an_existing_namespace_is_used_and_left_in_place() {
        let made = Netns::new("nh");
        let pinned = format!("{PINNED}/{}", made.name());
        {
            let used = Netns::existing(made.name());
            used.ip(&[
                "link", "add", "nh-ex", "type", "veth", "peer", "name", "nh-ey",
            ]);
            assert_ne!(used.run(|| if_index("nh-ex")), 0);
        }
        assert!(
            Path::new(&pinned).exists(),
            "dropping a handle of an existing namespace deleted it"
        );
        assert_ne!(made.run(|| if_index("nh-ex")), 0, "the veth is gone");
    }

    #[test]
    fn a_missing_namespace_is_named() {
        let err = std::panic::catch_unwind(|| Netns::existing("nh-no-such-netns")).unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("no network namespace nh-no-such-netns"),
            "{msg}"
        );
    }

    #[test]
    fn an_empty_namespace_has_no_loopback() {
        let ns = Netns::empty("nh");
        // With lo up, this would be refused by the port; down, there is no
        // route to it at all.
        let connected = ns.run(|| std::net::TcpStream::connect("127.0.0.1:9").map(drop));
        let err = connected.expect_err("a connect to 127.0.0.1 went somewhere");
        assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH), "{err}");
        assert!(
            ns.addr_show("lo").trim().is_empty(),
            "lo has an IPv6 address"
        );
    }

    #[test]
    fn spawned_threads_and_commands_run_inside() {
        let ns = Netns::new("nh");
        ns.ip(&[
            "link", "add", "nh-sa", "type", "veth", "peer", "name", "nh-sb",
        ]);
        // The thread outlives `spawn`; so do the threads it starts.
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = ns.spawn(move || {
            rx.recv().unwrap();
            thread::spawn(|| if_index("nh-sa")).join().unwrap()
        });
        tx.send(()).unwrap();
        assert_ne!(thread.join().unwrap(), 0, "the spawned thread is outside");
        let status = ns
            .command("ip")
            .args(["link", "show", "dev", "nh-sa"])
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "ip netns exec does not see nh-sa: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}
