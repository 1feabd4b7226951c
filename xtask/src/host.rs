//! The developer's machine: whether we are root, where a program is,
//! installing missing ones with apt-get, and running a program for its
//! output.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Whether the effective user is root.
pub(crate) fn is_root() -> bool {
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

/// Whether this process may install packages: root on a machine with
/// apt-get.
pub(crate) fn can_install() -> bool {
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
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    println!("installing {}", packages.join(" "));
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    output_env(&["apt-get", "update", "-q"], &env)?;
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    // The lab runs its own daemons in its namespaces: the packages' system
    // services (unbound's resolver, Miredo's client) must not start on the
    // host.
    let _no_services = NoServiceStarts::new()?;
    output_env(&install, &env)?;
    Ok(())
}

/// Runs `argv` and returns its standard output; fails with its standard
/// error.
pub(crate) fn output(argv: &[&str]) -> Result<String> {
    output_env(argv, &[])
}

/// [`output`] with environment variables set.
pub(crate) fn output_env(argv: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        bail!("no command to run");
    };
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {program}"))?;
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

/// Debian's `policy-rc.d` switch, on while it lives: package scripts may
/// not start services (exit status 101, "action forbidden"). Left alone
/// when the machine has one already (a container's).
pub(crate) struct NoServiceStarts {
    created: Option<PathBuf>,
}

impl NoServiceStarts {
    const PATH: &'static str = "/usr/sbin/policy-rc.d";

    pub(crate) fn new() -> Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let path = PathBuf::from(Self::PATH);
        if path.exists() {
            return Ok(Self { created: None });
        }
        fs::write(
            &path,
            "#!/bin/sh\n# written by cargo xtask lab --install\nexit 101\n",
        )
        .with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        Ok(Self {
            created: Some(path),
        })
    }
}

impl Drop for NoServiceStarts {
    fn drop(&mut self) {
        if let Some(path) = &self.created {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_by_name_or_path() {
        let sh = find_in_path("sh").expect("sh is in PATH");
        assert!(sh.is_file());
        assert_eq!(find_in_path(&sh.to_string_lossy()), Some(sh));
        assert_eq!(find_in_path("no-such-program-here"), None);
        assert_eq!(find_in_path("/no/such/program"), None);
    }

    #[test]
    fn output_is_stdout_and_failure_is_stderr() {
        assert_eq!(
            output(&["sh", "-c", "echo out; echo err >&2"]).unwrap(),
            "out\n"
        );
        let err = output(&["sh", "-c", "echo nope >&2; exit 3"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("failed") && err.ends_with("nope"), "{err}");
        assert!(output(&[]).is_err());
    }
}
