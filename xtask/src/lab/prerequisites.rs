//! What the lab needs of the machine: root, and the programs it runs.

use anyhow::{Result, bail};

use super::Options;
use crate::host::{apt_install, can_install, find_in_path, is_root};

/// The packages the lab needs (Debian/Ubuntu names).
const PACKAGES: &[&str] = &[
    "miredo",
    "miredo-server",
    "dnsmasq-base",
    "nftables",
    "iproute2",
    "procps",
    "tayga",
    "unbound",
];

/// The programs the lab runs, and the package each comes from.
const BINARIES: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("nft", "nftables"),
    ("miredo", "miredo"),
    ("miredo-server", "miredo-server"),
    ("dnsmasq", "dnsmasq-base"),
    ("sysctl", "procps"),
    ("tayga", "tayga"),
    ("unbound", "unbound"),
];

/// Installs the test suite's packages with apt-get when some program is
/// missing and we are root; otherwise leaves the machine alone (the tests
/// then say what is missing). `cargo xtask test` calls this so that the
/// whole suite runs on a fresh machine.
pub(crate) fn ensure_packages() -> Result<()> {
    let missing = BINARIES.iter().any(|(bin, _)| find_in_path(bin).is_none());
    if missing && can_install() {
        check(&Options {
            install: true,
            ..Options::default()
        })?;
    }
    Ok(())
}

/// Fails unless root with every program the lab runs; with `--install`,
/// installs the packages first.
pub(super) fn check(opts: &Options) -> Result<()> {
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
