//! The lab's background processes: started in a namespace, checked,
//! signalled, stopped.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use netns_harness::lab::Process;

/// Starts a background process inside `ns`, its output going to `log`, in
/// a process group of its own (a Ctrl-C in the terminal leaves it to
/// `down`).
pub(super) fn spawn_in(ns: &str, argv: &[String], log: &Path) -> Result<Process> {
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
pub(super) fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

/// Sends `sig` (`-TERM`, `-KILL`, ...) to `pid`, quietly.
pub(super) fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// SIGTERM, then SIGKILL after a second.
pub(super) fn stop_pids(pids: &[u32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_one_is_not() {
        assert!(alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn a_stopped_process_is_gone() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(alive(pid));
        stop_pids(&[pid]);
        // Killed; a zombie until reaped, which `alive` does not count.
        assert!(!alive(pid));
        let status = child.wait().unwrap();
        assert!(!status.success());
    }
}
