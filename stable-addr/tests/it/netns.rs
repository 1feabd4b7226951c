//! Throwaway network namespaces: created with `ip netns add`, deleted by
//! a Drop guard (so a failing assertion still cleans up), and entered by a
//! scoped thread that calls `setns(2)`.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

/// Numbers namespaces within this process.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// `ip netns add` sets up the shared `/run/netns` mount on first use; two
/// at once can race, so creation is serialised.
static CREATE: Mutex<()> = Mutex::new(());

/// A network namespace named `sa-<pid>-<n>`, deleted on drop.
pub(crate) struct Netns {
    pub(crate) name: String,
}

impl Netns {
    /// Creates a namespace; panics (fails the test) when not root.
    pub(crate) fn new() -> Self {
        let euid = fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(u32::MAX);
        assert_eq!(
            euid, 0,
            "root tests need root (to create network namespaces); run them as root"
        );
        let name = format!(
            "sa-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _guard = CREATE.lock().unwrap_or_else(PoisonError::into_inner);
        run(&["ip", "netns", "add", &name]);
        Self { name }
    }

    /// Runs `ip -n NAME args...`, panicking on failure.
    pub(crate) fn ip(&self, args: &[&str]) {
        Self::ip_in(&self.name, args);
    }

    /// Runs `ip -n name args...`, panicking on failure.
    pub(crate) fn ip_in(name: &str, args: &[&str]) {
        let mut all = vec!["ip", "-n", name];
        all.extend_from_slice(args);
        run(&all);
    }

    /// `ip -6 addr show dev IF` in the namespace.
    pub(crate) fn addr_show(&self, dev: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-6", "addr", "show", "dev", dev])
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes `value` to `/proc/sys/<key>` as seen inside the namespace.
    pub(crate) fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{key}");
        self.run(|| fs::write(&path, value))
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }

    /// Runs `f` on a thread that has entered the namespace.
    pub(crate) fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                // SAFETY: setns takes a descriptor we own (kept open for the
                // call) and a namespace type; it only changes this thread's
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
        // Deleting the namespace deletes its interfaces too.
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
