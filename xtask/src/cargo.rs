//! The one way xtask runs cargo: from the workspace root, as `$CARGO` (the
//! cargo that runs xtask) or, with [`Cargo::toolchain`], as another
//! toolchain's cargo through `rustup run`.
//!
//! ```text
//! Cargo::new(["test", "--workspace"]).run()?;            // output to the terminal
//! let json = Cargo::new(["metadata", ...]).read()?;      // standard output captured
//! let teed = Cargo::new(args).envs(env).tee()?;          // both, for a summary
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result, bail};

/// Variables the outer cargo sets that name its own toolchain's tools:
/// another toolchain's cargo must not inherit them.
const TOOLCHAIN_VARS: &[&str] = &["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN"];

/// A cargo command line, not started.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cargo {
    args: Vec<String>,
    env: Vec<(String, OsString)>,
    toolchain: Option<String>,
}

/// What [`Cargo::tee`] saw: the exit status and both streams, which also
/// went to the terminal as they came.
#[derive(Debug)]
pub(crate) struct Teed {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Where one of the child's output streams goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// To this process's stream, as it comes.
    Inherit,
    /// Into a string only.
    Capture,
    /// Both.
    Tee,
}

impl Cargo {
    /// `cargo ARGS...`.
    pub(crate) fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Sets an environment variable for cargo (and what it runs).
    pub(crate) fn env(mut self, key: impl Into<String>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several environment variables.
    pub(crate) fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Runs the cargo of rustup's toolchain `name` (`rustup run NAME cargo
    /// ...`) instead of the one running xtask; the outer cargo's variables
    /// that name its own tools are not passed on.
    pub(crate) fn toolchain(mut self, name: impl Into<String>) -> Self {
        self.toolchain = Some(name.into());
        self
    }

    /// Runs with the output going to the terminal; fails when cargo does.
    pub(crate) fn run(&self) -> Result<()> {
        let status = self.status()?;
        if !status.success() {
            bail!("`{self}` failed ({status})");
        }
        Ok(())
    }

    /// Runs with the output going to the terminal; returns how it ended.
    pub(crate) fn status(&self) -> Result<ExitStatus> {
        self.command()
            .status()
            .with_context(|| format!("could not run `{}`", self.program()))
    }

    /// Runs with both streams captured and returns standard output; on
    /// failure, the error carries standard error.
    pub(crate) fn read(&self) -> Result<String> {
        self.capture(Stream::Capture)
    }

    /// Runs with standard output captured and returned, standard error
    /// going to the terminal (build progress and warnings stay visible).
    pub(crate) fn read_stdout(&self) -> Result<String> {
        self.capture(Stream::Inherit)
    }

    /// Runs with both streams going to the terminal line by line as they
    /// come, and kept for the caller.
    pub(crate) fn tee(&self) -> Result<Teed> {
        let (status, stdout, stderr) = self.spawn(Stream::Tee, Stream::Tee)?;
        Ok(Teed {
            success: status.success(),
            stdout,
            stderr,
        })
    }

    fn capture(&self, stderr: Stream) -> Result<String> {
        let (status, stdout, errors) = self.spawn(Stream::Capture, stderr)?;
        if !status.success() {
            if errors.is_empty() {
                bail!("`{self}` failed ({status})");
            }
            bail!("`{self}` failed ({status}):\n{}", errors.trim_end());
        }
        Ok(stdout)
    }

    /// Starts cargo with the streams routed as asked, waits for it and
    /// returns its status and what was captured of each stream.
    fn spawn(&self, stdout: Stream, stderr: Stream) -> Result<(ExitStatus, String, String)> {
        let pipe = |s: Stream| match s {
            Stream::Inherit => Stdio::inherit(),
            Stream::Capture | Stream::Tee => Stdio::piped(),
        };
        let mut child = self
            .command()
            .stdin(Stdio::null())
            .stdout(pipe(stdout))
            .stderr(pipe(stderr))
            .spawn()
            .with_context(|| format!("could not run `{}`", self.program()))?;
        // Standard error on a thread of its own, so that neither pipe can
        // fill up while the other is read.
        let errors = child
            .stderr
            .take()
            .map(|s| std::thread::spawn(move || drain(s, stderr == Stream::Tee, true)));
        let out = child
            .stdout
            .take()
            .map(|s| drain(s, stdout == Stream::Tee, false))
            .unwrap_or_default();
        let err = errors
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        let status = child
            .wait()
            .with_context(|| format!("waiting for `{self}`"))?;
        Ok((status, out, err))
    }

    /// The program started: `$CARGO` (else `cargo`), or `rustup` for
    /// another toolchain.
    fn program(&self) -> String {
        if self.toolchain.is_some() {
            "rustup".to_owned()
        } else {
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(self.program());
        if let Some(toolchain) = &self.toolchain {
            command.args(["run", toolchain, "cargo"]);
            for var in TOOLCHAIN_VARS {
                command.env_remove(var);
            }
        }
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(crate::workspace_root());
        command
    }
}

/// The command line as a user would type it: `cargo ARGS...`, or `rustup
/// run TOOLCHAIN cargo ARGS...`.
impl fmt::Display for Cargo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(toolchain) = &self.toolchain {
            write!(f, "rustup run {toolchain} ")?;
        }
        f.write_str("cargo")?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// Reads a stream to its end, line by line, copying each line to this
/// process's standard output or error when `echo`; returns what it read.
fn drain(stream: impl Read, echo: bool, to_stderr: bool) -> String {
    let mut all = String::new();
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if echo {
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
        all.push_str(&line);
        all.push('\n');
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_typed() {
        let plain = Cargo::new(["check", "-p", "xtask"]);
        assert_eq!(plain.to_string(), "cargo check -p xtask");
        let other = Cargo::new(["check"]).toolchain("1.85.0-x86_64-unknown-linux-gnu");
        assert_eq!(
            other.to_string(),
            "rustup run 1.85.0-x86_64-unknown-linux-gnu cargo check"
        );
    }

    #[test]
    fn another_toolchain_goes_through_rustup_without_the_outer_tools() {
        let command = Cargo::new(["check"])
            .env("CARGO_TARGET_DIR", "/tmp/msrv")
            .toolchain("1.85")
            .command();
        assert_eq!(command.get_program(), "rustup");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["run", "1.85", "cargo", "check"]);
        let env: Vec<_> = command.get_envs().collect();
        for var in TOOLCHAIN_VARS {
            assert!(
                env.contains(&(std::ffi::OsStr::new(var), None)),
                "{var} is passed on: {env:?}"
            );
        }
        assert!(env.contains(&(
            std::ffi::OsStr::new("CARGO_TARGET_DIR"),
            Some(std::ffi::OsStr::new("/tmp/msrv"))
        )));
        assert_eq!(command.get_current_dir(), Some(&*crate::workspace_root()));
    }

    /// A real cargo: what `read` returns, and what its error says.
    #[test]
    fn read_returns_stdout_and_fails_with_stderr() {
        let version = Cargo::new(["--version"]).read().unwrap();
        assert!(version.starts_with("cargo "), "{version:?}");
        let err = Cargo::new(["no-such-subcommand-here"])
            .read()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`cargo no-such-subcommand-here` failed") && err.contains("no such"),
            "{err}"
        );
    }

    #[test]
    fn read_stdout_returns_stdout_and_fails_with_the_status() {
        let version = Cargo::new(["--version"]).read_stdout().unwrap();
        assert!(version.starts_with("cargo "), "{version:?}");
        let err = Cargo::new(["no-such-subcommand-here"])
            .read_stdout()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`cargo no-such-subcommand-here` failed (exit status: "),
            "{err}"
        );
    }

    #[test]
    fn tee_keeps_both_streams() {
        let teed = Cargo::new(["--version"]).tee().unwrap();
        assert!(teed.success);
        assert!(teed.stdout.starts_with("cargo "), "{:?}", teed.stdout);
        let teed = Cargo::new(["no-such-subcommand-here"]).tee().unwrap();
        assert!(!teed.success);
        assert!(teed.stderr.contains("no such"), "{:?}", teed.stderr);
    }
}
