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
//! A NAT64 part (an IPv6-only client behind tayga with unbound's DNS64,
//! an IPv4-only server, PREF64 Router Advertisements) stands beside it.
//!
//! The lab is built from [`parts`], one file each (network, nftables,
//! Miredo, dnsmasq, NAT64), in the order `parts::PARTS` lists them; a part also
//! says what `status` checks and what `down` undoes beyond the namespaces
//! and processes it recorded. The state (namespaces, addresses, names,
//! pids, logs) is a [`LabState`], written to `target/lab/state.json` or
//! `$HAPPY_CONNECT_LAB`, which `down`, `status` and the tests
//! (`happy-connect/tests/lab`) read.
//!
//! The commands: [`up`], [`down`], [`status`], [`test`](mod@test); [`netns`] names
//! and finds the lab's namespaces and runs commands in them, [`process`]
//! starts and stops its background processes, [`prerequisites`] checks
//! for (and installs) the programs it needs.

mod down;
mod netns;
mod parts;
mod prerequisites;
mod process;
mod status;
mod test;
mod up;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use netns_harness::lab::LabState;

pub(crate) use prerequisites::ensure_packages;

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
            let state = up::up(&opts, &state_path)?;
            up::print_summary(&state, &state_path);
            Ok(())
        }
        "down" => {
            let all = match rest {
                [] => false,
                [flag] if flag == "--all" => true,
                [other, ..] => bail!("unexpected argument {other:?} (`lab down` takes --all)"),
            };
            down::down(&state_path, all)
        }
        "status" => {
            no_args(rest)?;
            status::status(&state_path)
        }
        "test" => test::test(&Options::parse(rest)?, &state_path),
        // Run by `up` inside the NAT64 router's namespace.
        "pref64-router" => parts::nat64::pref64_router(rest),
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
    LabState::path_from_env()
        .unwrap_or_else(|| crate::workspace_root().join("target/lab/state.json"))
}

/// The lab's state at `path`; `None` when there is none.
fn read_state(path: &Path) -> Result<Option<LabState>> {
    Ok(LabState::read(path)?)
}

/// Writes the lab's state to `path`.
fn write_state(path: &Path, state: &LabState) -> Result<()> {
    Ok(state.write(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_install_and_test_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = Options::parse(&args(&["--install", "--", "t5", "--exact"])).unwrap();
        assert!(o.install);
        assert_eq!(o.test_args, ["t5", "--exact"]);
        assert!(Options::parse(&args(&["--fast"])).is_err());
        assert!(
            run(&args(&["up", "--", "x"])).is_err(),
            "up takes no test arguments"
        );
        assert!(run(&args(&["down", "extra"])).is_err());
        assert!(run(&args(&["down", "--all", "extra"])).is_err());
        assert!(run(&args(&["sideways"])).is_err());
        assert!(run(&[]).is_err());
    }
}
