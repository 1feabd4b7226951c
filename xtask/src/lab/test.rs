//! `lab test`: up, the lab's tests, and down whatever happened.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use netns_harness::lab::STATE_ENV;

use super::netns::leftovers;
use super::process::signal;
use super::{Options, down, read_state, up};
use crate::cargo::Cargo;

/// Brings the lab up (after taking down a previous one), runs
/// `happy-connect/tests/lab` one test at a time, and takes the lab down
/// even when the tests fail or this process is interrupted.
pub(super) fn test(opts: &Options, state_path: &Path) -> Result<()> {
    let started = Instant::now();
    // A lab left by a crashed run would make `up` refuse.
    if read_state(state_path)?.is_some() || !leftovers().is_empty() {
        println!("lab: removing a previous lab first");
        down::down(state_path, false)?;
    }
    let state = up::up(opts, state_path)?;
    up::print_summary(&state, state_path);
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
    let status = Cargo::new(args).env(STATE_ENV, state_path).status();
    let down_result = down::down(state_path, false);
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
         {STATE_ENV}='{state}' '{exe}' lab down",
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
