//! Throwaway network namespaces for the root tests: created with `ip netns
//! add` (loopback up), deleted by a Drop guard so that a failing assertion
//! still cleans up, and entered by a thread that calls `setns(2)`, so the
//! connector under test opens its sockets (and its netlink sockets) inside.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
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

/// A network namespace named `hc-<pid>-<n>` with `lo` up, deleted on drop.
pub(crate) struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace and brings `lo` up. Panics (fails the test,
    /// never skips it) when not root or when `ip` fails.
    pub(crate) fn new() -> Self {
        let euid = fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(u32::MAX);
        assert_eq!(
            euid, 0,
            "root tests need root (to create network namespaces and nft rules); run them as root"
        );
        let name = format!(
            "hc-{}-{}",
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
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`, panicking on failure.
    pub(crate) fn ip(&self, args: &[&str]) {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend_from_slice(args);
        run(&all);
    }

    /// Runs `nft args...` inside the namespace, panicking on failure.
    pub(crate) fn nft(&self, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", &self.name, "nft"];
        all.extend_from_slice(args);
        run(&all);
    }

    /// The namespace's nft ruleset, for failure messages.
    pub(crate) fn ruleset(&self) -> String {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "list", "ruleset"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(nft list ruleset: {e})"))
    }

    /// Runs `f` on a thread that has entered the namespace; a panic in `f`
    /// is passed on to the caller.
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: setns gets a descriptor that stays open for the
                // call and a namespace type; it changes only this thread's
                // network namespace (sockets opened afterwards on this
                // thread live there), which ends with the thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace takes its interfaces and nft tables along.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command, panicking with its stderr when it fails.
fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
