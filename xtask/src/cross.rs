//! `cargo xtask cross [--target T]... [--skip T]... [--no-tests]`: the
//! workspace on other targets.
//!
//! 1. Adds the rustup targets that are missing.
//! 2. As root on a Debian-like machine, installs the C cross compilers
//!    and Wine with apt-get when they are missing (the helper `cargo
//!    xtask test` uses).
//! 3. Lints and documents every target: clippy with `-D warnings` and
//!    rustdoc with `-D warnings`; all targets (tests, benches, examples)
//!    where the code can be built here, the library and binaries only
//!    where it can only be checked (Apple, FreeBSD, MSVC).
//! 4. Runs the whole test suite built for musl, natively (Teredo lab
//!    scenarios excluded, as `cargo xtask test` does), and the tests of
//!    the Windows-capable crates built for `x86_64-pc-windows-gnu` under
//!    Wine, with Linux's own view of the host (the `snapshot_json`
//!    example) to compare the Windows backend with.
//!    Then the `demo` built for musl and for Windows runs (under Wine for
//!    the latter) and must connect on loopback: each target's host view,
//!    resolver and sockets end to end.
//! 5. Prints what was checked and what ran, per target.
//!
//! Wine 8 lacks `bcryptprimitives.dll`, whose `ProcessPrng` the standard
//! library imports since Rust 1.78, so a Windows test binary would not
//! even load. A small DLL built here with mingw provides it on top of
//! advapi32's `RtlGenRandom`, in a Wine prefix of the project's own
//! (`target/wine`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cargo::{Cargo, Teed};
use crate::{host, lab};

/// How far a target is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Everything is built (tests, benches, examples): this machine has
    /// the target's C compiler and linker.
    Build,
    /// The library and binaries are checked only: no SDK or linker here.
    Check,
}

/// The targets, in the order they are taken.
const TARGETS: [(&str, Depth); 9] = [
    ("x86_64-unknown-linux-gnu", Depth::Build),
    ("aarch64-unknown-linux-gnu", Depth::Build),
    ("x86_64-unknown-linux-musl", Depth::Build),
    ("x86_64-pc-windows-gnu", Depth::Build),
    ("x86_64-apple-darwin", Depth::Check),
    ("aarch64-apple-darwin", Depth::Check),
    ("aarch64-apple-ios", Depth::Check),
    ("x86_64-unknown-freebsd", Depth::Check),
    ("x86_64-pc-windows-msvc", Depth::Check),
];

/// The machine's own target: checked without `--target`, so that it
/// shares its build with the plain `cargo clippy` and `cargo doc` runs.
const HOST: &str = "x86_64-unknown-linux-gnu";

/// The Windows test target, run under Wine.
const WINDOWS_GNU: &str = "x86_64-pc-windows-gnu";

/// The musl target, whose test binaries run on this machine.
const MUSL: &str = "x86_64-unknown-linux-musl";

/// Crates left out of a target's lint and docs, and why. Each one is
/// printed in the summary, so that it is not forgotten.
const LEFT_OUT: &[(&str, &str, &str)] = &[(
    "windows",
    "xtask",
    "a tool of the developer's Unix machine (the lab uses Unix process groups)",
)];

/// The crates whose tests run under Wine: every crate that has Windows
/// code or runs anywhere. happy-connect's library tests run after them
/// (its integration tests need Linux namespaces and Unix sockets).
const WINDOWS_TESTED: [&str; 4] = ["teredo-addr", "rfc3484-sort", "iface-probe", "stable-addr"];

/// The programs (and files) the cross builds and Wine need, with their
/// Debian packages. The AArch64 C library's headers are only a
/// recommendation of the cross compiler, which is installed without
/// recommendations; C code built for the target (ring's) needs them.
const PROGRAMS: &[(&str, &str)] = &[
    ("musl-gcc", "musl-tools"),
    ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    (
        "/usr/aarch64-linux-gnu/include/stdio.h",
        "libc6-dev-arm64-cross",
    ),
    ("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"),
    ("wine", "wine"),
    ("wineboot", "wine"),
    ("wineserver", "wine"),
    ("/usr/lib/wine/wine64", "wine64"),
];

/// The source of the `ProcessPrng` stand-in for Wine (see the module
/// docs). `ProcessPrng` is documented to always succeed; should
/// `RtlGenRandom` ever fail, FALSE makes the standard library stop rather
/// than use bytes that are not random.
const PROCESS_PRNG_C: &str = r"/* ProcessPrng for Wine 8, which lacks bcryptprimitives.dll: Rust's
   standard library (1.78 and later) imports it for random numbers.
   Written for happy-connect's `cargo xtask cross`. */
#include <windows.h>

/* advapi32's RtlGenRandom, exported under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
";

/// The options of `cargo xtask cross`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Only these targets (all when empty).
    only: Vec<String>,
    /// Not these.
    skip: Vec<String>,
    /// Lint and docs only.
    no_tests: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut opts = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--target" | "--skip" => {
                    let Some(target) = args.next() else {
                        bail!("{arg} needs a target triple");
                    };
                    if !TARGETS.iter().any(|(t, _)| t == target) {
                        let known: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
                        bail!("unknown target {target:?}; known: {}", known.join(", "));
                    }
                    if arg == "--target" {
                        opts.only.push(target.clone());
                    } else {
                        opts.skip.push(target.clone());
                    }
                }
                "--no-tests" => opts.no_tests = true,
                other => bail!("unknown cross option {other:?}"),
            }
        }
        Ok(opts)
    }

    fn wants(&self, target: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|t| t == target))
            && !self.skip.iter().any(|t| t == target)
    }
}

/// What happened to one target.
#[derive(Debug, Default)]
struct Report {
    target: String,
    /// Each step: its name, how long it took, and its failure if any.
    steps: Vec<(String, Duration, Option<String>)>,
    /// Said in the summary: crates left out, what Wine stubs, ...
    notes: Vec<String>,
}

impl Report {
    fn failed(&self) -> bool {
        self.steps.iter().any(|(_, _, failure)| failure.is_some())
    }
}

/// Test counts summed over the `test result:` lines of a run.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    binaries: u32,
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Counts {
    /// Adds one `test result: ok. 3 passed; 0 failed; 1 ignored; ...`
    /// line; other lines are ignored.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        self.binaries += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = number.parse::<u64>() else {
                continue;
            };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} test binaries, {} passed, {} failed, {} ignored",
            self.binaries, self.passed, self.failed, self.ignored
        )
    }
}

/// `cargo xtask cross`.
pub(crate) fn run(opts: &Options) -> Result<()> {
    let start = Instant::now();
    let targets: Vec<(&str, Depth)> = TARGETS
        .iter()
        .copied()
        .filter(|(t, _)| opts.wants(t))
        .collect();
    if targets.is_empty() {
        bail!("no target left to take");
    }
    add_rustup_targets(&targets)?;
    let missing = host::install_missing(PROGRAMS)?;
    if !missing.is_empty() {
        bail!(
            "missing programs: {}; install them (as root on Debian, `cargo xtask cross` does)",
            missing.join(", ")
        );
    }
    let mut reports = Vec::new();
    for &(target, depth) in &targets {
        println!("\n==> cross: {target}");
        let mut report = Report {
            target: target.to_owned(),
            ..Report::default()
        };
        check(target, depth, &mut report);
        if !opts.no_tests && target == MUSL {
            test_musl(&mut report);
        }
        if !opts.no_tests && target == WINDOWS_GNU {
            if let Err(e) = test_windows(&mut report) {
                report.steps.push((
                    "tests under Wine".into(),
                    Duration::ZERO,
                    Some(format!("{e:#}")),
                ));
            }
        }
        reports.push(report);
    }
    print_summary(&reports, start.elapsed());
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("cross: failures on {}", failed.join(", "));
    }
    Ok(())
}

/// Adds the targets rustup lacks; asks rustup nothing when none is
/// missing (so that an offline machine with every target is fine).
fn add_rustup_targets(targets: &[(&str, Depth)]) -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup (needed to add the cross targets)")?;
    if !out.status.success() {
        bail!(
            "`rustup target list --installed` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let installed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_owned())
        .collect();
    let missing: Vec<&str> = targets
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !installed.contains(*t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("cross: rustup target add {}", missing.join(" "));
    let status = Command::new("rustup")
        .args(["target", "add"])
        .args(&missing)
        .status()
        .context("cannot run rustup")?;
    if !status.success() {
        bail!(
            "`rustup target add {}` failed ({status})",
            missing.join(" ")
        );
    }
    Ok(())
}

/// The crates left out of `target`, with why.
fn left_out(target: &str) -> Vec<(&'static str, &'static str)> {
    LEFT_OUT
        .iter()
        .filter(|(pattern, _, _)| target.contains(pattern))
        .map(|&(_, krate, why)| (krate, why))
        .collect()
}

/// The environment a target's build needs: the C cross compiler for
/// build scripts (ring, in the tests' TLS) and the linker.
fn target_env(target: &str) -> Vec<(String, String)> {
    let var = target.replace('-', "_");
    match target {
        "aarch64-unknown-linux-gnu" => vec![
            (format!("CC_{var}"), "aarch64-linux-gnu-gcc".into()),
            (
                format!("CARGO_TARGET_{}_LINKER", var.to_uppercase()),
                "aarch64-linux-gnu-gcc".into(),
            ),
        ],
        MUSL => vec![(format!("CC_{var}"), "musl-gcc".into())],
        _ => Vec::new(),
    }
}

/// `cargo ARGS...` with `env`, announced; its output goes to the terminal
/// as it comes and is also kept for the summary.
fn cargo_teed(args: &[String], env: &[(String, String)]) -> Result<Teed> {
    let cargo = Cargo::new(args).envs(env.iter().cloned());
    println!("cross: {cargo}");
    cargo.tee()
}

/// The first error line of cargo's output, for the summary.
fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("failed (see above)")
        .to_owned()
}

/// One step of a report: runs cargo, records how long and whether it
/// failed. Returns what cargo printed.
fn step(
    report: &mut Report,
    name: &str,
    args: &[String],
    env: &[(String, String)],
) -> Option<Teed> {
    let start = Instant::now();
    let result = cargo_teed(args, env);
    let failure = match &result {
        Ok(teed) if teed.success => None,
        Ok(teed) => Some(first_error(&teed.stderr)),
        Err(e) => Some(format!("{e:#}")),
    };
    report
        .steps
        .push((name.to_owned(), start.elapsed(), failure));
    result.ok()
}

/// Clippy and rustdoc for one target.
fn check(target: &str, depth: Depth, report: &mut Report) {
    let env = target_env(target);
    let mut common = vec!["--workspace".to_owned(), "--all-features".to_owned()];
    if target != HOST {
        common.extend(["--target".to_owned(), target.to_owned()]);
    }
    for (krate, why) in left_out(target) {
        common.extend(["--exclude".to_owned(), krate.to_owned()]);
        report
            .notes
            .push(format!("{krate} left out of lint and docs: {why}"));
    }
    let mut clippy = vec!["clippy".to_owned()];
    clippy.extend(common.iter().cloned());
    let what = match depth {
        Depth::Build => {
            clippy.push("--all-targets".to_owned());
            "clippy, all targets"
        }
        Depth::Check => {
            clippy.extend(["--lib".to_owned(), "--bins".to_owned()]);
            "clippy, lib and bins"
        }
    };
    clippy.extend(["--".to_owned(), "-D".to_owned(), "warnings".to_owned()]);
    step(report, what, &clippy, &env);
    let mut doc = vec!["doc".to_owned(), "--no-deps".to_owned()];
    doc.extend(common);
    let mut doc_env = env;
    doc_env.push(("RUSTDOCFLAGS".to_owned(), "-D warnings".to_owned()));
    step(report, "doc", &doc, &doc_env);
}

/// The whole suite built for musl, run here (root and namespace tests
/// included; the lab's scenarios need the lab, which `cargo xtask test`
/// brings up, and are left out).
fn test_musl(report: &mut Report) {
    if let Err(e) = lab::ensure_packages() {
        report.steps.push((
            "test packages".into(),
            Duration::ZERO,
            Some(format!("{e:#}")),
        ));
        return;
    }
    let args: Vec<String> = [
        "test",
        "--no-fail-fast",
        "--workspace",
        "--all-features",
        "--target",
        MUSL,
        "--",
        "--skip",
        "lab_scenarios::",
    ]
    .map(String::from)
    .to_vec();
    if let Some(teed) = step(report, "tests (native)", &args, &target_env(MUSL)) {
        let mut counts = Counts::default();
        teed.stdout.lines().for_each(|l| counts.add_line(l));
        report.notes.push(format!("tests run natively: {counts}"));
    }
    demo(report, MUSL, &target_env(MUSL), "natively");
}

/// `happy-connect demo` built for `target` and run (natively, or by the
/// runner `env` names): it must connect on loopback, which takes the
/// target's host view, resolver and sockets end to end.
fn demo(report: &mut Report, target: &str, env: &[(String, String)], how: &str) {
    let mut args = demo_args(target, "run");
    args.extend(["--", "demo"].map(String::from));
    let name = format!("demo {how}");
    let Some(teed) = step(report, &name, &args, env) else {
        return;
    };
    match teed
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("connected to 127.0.0.1:"))
    {
        Some(line) => report
            .notes
            .push(format!("demo {how}: the loopback race {}", line.trim())),
        None if teed.success => report.steps.push((
            format!("{name}: the loopback race"),
            Duration::ZERO,
            Some("the demo did not connect to 127.0.0.1 (see its output above)".into()),
        )),
        None => {}
    }
}

/// cargo's arguments that build (`command` "build") or run ("run") the
/// command-line tool for `target`, without the tool's own arguments.
fn demo_args(target: &str, command: &str) -> Vec<String> {
    [
        command,
        "-q",
        "-p",
        "happy-connect",
        "--features",
        "cli",
        "--target",
        target,
    ]
    .map(String::from)
    .to_vec()
}

/// The Windows-capable crates' tests under Wine, then happy-connect's
/// library tests if they build, then the demo: all built first, and run
/// once Wine's server is up and its network device answers
/// ([`WineServer`]).
fn test_windows(report: &mut Report) -> Result<()> {
    let target_dir = target_dir();
    let cross_dir = target_dir.join("cross");
    fs::create_dir_all(&cross_dir)
        .with_context(|| format!("cannot create {}", cross_dir.display()))?;
    let prefix = wine_prefix(&target_dir, &cross_dir)?;
    let view = linux_view(&cross_dir)?;
    let mut env = vec![
        ("WINEPREFIX".to_owned(), path_str(&prefix)),
        ("WINEDEBUG".to_owned(), "-all".to_owned()),
        (
            "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER".to_owned(),
            "wine".to_owned(),
        ),
        ("IFACE_PROBE_LINUX_VIEW".to_owned(), path_str(&view)),
    ];
    env.extend(target_env(WINDOWS_GNU));
    let mut tests = ["test", "--no-fail-fast", "--all-features"]
        .map(String::from)
        .to_vec();
    for krate in WINDOWS_TESTED {
        tests.extend(["-p".to_owned(), krate.to_owned()]);
    }
    tests.extend(["--target", WINDOWS_GNU].map(String::from));
    let lib_tests: Vec<String> = [
        "test",
        "-p",
        "happy-connect",
        "--lib",
        "--all-features",
        "--target",
        WINDOWS_GNU,
    ]
    .map(String::from)
    .to_vec();
    // Everything Wine runs is built first, so that Wine, once ready, runs
    // the binaries back to back. A failed build is left to the step that
    // runs it, which builds again and says why.
    for build in [&tests, &lib_tests, &demo_args(WINDOWS_GNU, "build")] {
        let mut build = build.clone();
        if build[0] == "test" {
            build.push("--no-run".to_owned());
        }
        let _ = cargo_teed(&build, &env);
    }
    let server = WineServer::start(&env);
    match server.wait_ready(&cross_dir.join("ipconfig.txt")) {
        Ok(runs) => report
            .notes
            .push(format!("Wine was ready at run {runs} of its ipconfig")),
        // Said, not fatal: the tests then show what is missing.
        Err(e) => report.notes.push(format!("{e:#}")),
    }
    let version = wine_version(&env);
    tests.extend(["--", "--show-output"].map(String::from));
    if let Some(teed) = step(report, "tests under Wine", &tests, &env) {
        let out = teed.stdout;
        let mut counts = Counts::default();
        out.lines().for_each(|l| counts.add_line(l));
        report.notes.push(format!(
            "tests of {} under {version}: {counts}",
            WINDOWS_TESTED.join(", ")
        ));
        // What the tests said about Wine: what it stubs, what it lacks.
        let said: BTreeSet<&str> = out
            .lines()
            .filter(|l| l.contains("Wine") && !l.starts_with("test "))
            .map(str::trim)
            .collect();
        report.notes.extend(said.into_iter().map(str::to_owned));
    }
    if let Some(teed) = step(
        report,
        "happy-connect lib tests under Wine",
        &lib_tests,
        &env,
    ) {
        let mut counts = Counts::default();
        teed.stdout.lines().for_each(|l| counts.add_line(l));
        report
            .notes
            .push(format!("happy-connect lib tests under {version}: {counts}"));
    }
    demo(report, WINDOWS_GNU, &env, "under Wine");
    drop(server);
    Ok(())
}

/// The prefix's Wine server, started and made ready before the first
/// Windows binary runs, and ended when dropped (an early return
/// included).
///
/// The first Wine process of a session starts the server and its
/// services, `winedevice` among them, which makes the `\\.\Nsi` device
/// that `GetAdaptersAddresses` opens; a test asking at that moment found
/// no device (`ERROR_FILE_NOT_FOUND`). Here the services start first,
/// with their output to a file (daemons holding a pipe would keep a
/// captured step from ending), and the binaries run only once Wine's
/// `ipconfig` lists loopback's address. The server then stays up between
/// binaries, and for a minute after the last.
struct WineServer {
    env: Vec<(String, String)>,
}

impl WineServer {
    /// How long `ipconfig` is given to list loopback, asked every 500 ms.
    const READY_WITHIN: Duration = Duration::from_secs(30);

    /// How long the server stays up after its last process, should the
    /// guard not end it.
    const LINGER: &str = "-p60";

    fn start(env: &[(String, String)]) -> Self {
        let server = Self { env: env.to_vec() };
        let _ = server
            .command("wineserver")
            .arg(Self::LINGER)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        server
    }

    /// Runs Wine's `ipconfig` until it lists loopback's address, its
    /// output in `out`; gives the number of runs.
    fn wait_ready(&self, out: &Path) -> Result<u32> {
        let deadline = Instant::now() + Self::READY_WITHIN;
        let mut runs = 0;
        loop {
            runs += 1;
            let listed = self.ipconfig(out, deadline)?;
            if listed.contains("127.0.0.1") {
                return Ok(runs);
            }
            if Instant::now() >= deadline {
                bail!(
                    "Wine's ipconfig did not list 127.0.0.1 within {:?} ({runs} runs); it said: {}",
                    Self::READY_WITHIN,
                    listed.trim()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// One run of `ipconfig`, killed at `deadline`; what it printed.
    fn ipconfig(&self, out: &Path, deadline: Instant) -> Result<String> {
        let stdout =
            fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut child = self
            .command("wine")
            .arg("ipconfig")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run wine")?;
        while child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "Wine's ipconfig did not end within {:?}",
                    Self::READY_WITHIN
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(fs::read_to_string(out).unwrap_or_default())
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }
}

impl Drop for WineServer {
    fn drop(&mut self) {
        let _ = self
            .command("wineserver")
            .arg("-k")
            .stdin(Stdio::null())
            .status();
    }
}

/// The target directory: `CARGO_TARGET_DIR`, else the workspace's.
fn target_dir() -> PathBuf {
    let root = crate::workspace_root();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The project's Wine prefix, made on first use, with the `ProcessPrng`
/// stand-in built and installed in its `system32`.
fn wine_prefix(target_dir: &Path, cross_dir: &Path) -> Result<PathBuf> {
    let prefix = target_dir.join("wine");
    let env = [
        ("WINEPREFIX", prefix.as_os_str()),
        ("WINEDEBUG", "-all".as_ref()),
    ];
    if !prefix.join("system.reg").is_file() {
        println!("cross: making the Wine prefix {}", prefix.display());
        let out = Command::new("wineboot")
            .arg("-i")
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .context("cannot run wineboot")?;
        if !out.status.success() || !prefix.join("system.reg").is_file() {
            bail!(
                "wineboot -i failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let source = cross_dir.join("processprng.c");
    let dll = cross_dir.join("bcryptprimitives.dll");
    fs::write(&source, PROCESS_PRNG_C)
        .with_context(|| format!("cannot write {}", source.display()))?;
    let out = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(&dll)
        .arg(&source)
        .arg("-ladvapi32")
        .output()
        .context("cannot run x86_64-w64-mingw32-gcc")?;
    if !out.status.success() {
        bail!(
            "building {} failed: {}",
            dll.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let system32 = prefix.join("drive_c/windows/system32");
    fs::copy(&dll, system32.join("bcryptprimitives.dll"))
        .with_context(|| format!("cannot install the DLL in {}", system32.display()))?;
    Ok(prefix)
}

/// Wine's version, as `wine --version` says it.
fn wine_version(env: &[(String, String)]) -> String {
    Command::new("wine")
        .arg("--version")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "wine".to_owned())
}

/// Linux's own view of this host (netlink), written to a file for the
/// Windows backend's tests to compare with.
fn linux_view(cross_dir: &Path) -> Result<PathBuf> {
    let cargo = Cargo::new([
        "run",
        "--quiet",
        "-p",
        "iface-probe",
        "--example",
        "snapshot_json",
    ]);
    println!("cross: {cargo}");
    let view = cargo
        .read_stdout()
        .context("the snapshot_json example failed")?;
    let path = cross_dir.join("linux-view.json");
    fs::write(&path, view).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The per-target summary.
fn print_summary(reports: &[Report], total: Duration) {
    let mut text = String::new();
    let _ = writeln!(text, "\n==> cross summary ({:.0?} in all)", total);
    for report in reports {
        let verdict = if report.failed() { "FAILED" } else { "ok" };
        let _ = writeln!(text, "{} [{verdict}]", report.target);
        for (name, took, failure) in &report.steps {
            match failure {
                None => {
                    let _ = writeln!(text, "    {name}: ok ({:.0?})", took);
                }
                Some(why) => {
                    let _ = writeln!(text, "    {name}: FAILED ({:.0?}): {why}", took);
                }
            }
        }
        for note in &report.notes {
            let _ = writeln!(text, "    - {note}");
        }
    }
    print!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_result_lines_are_summed() {
        let mut c = Counts::default();
        c.add_line("test result: ok. 67 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.09s");
        c.add_line("running 3 tests");
        c.add_line("test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.1s");
        assert_eq!((c.binaries, c.passed, c.failed, c.ignored), (2, 68, 2, 2));
    }

    #[test]
    fn options_name_known_targets() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let o = Options::parse(&args(&["--target", MUSL, "--skip", HOST])).unwrap();
        assert!(o.wants(MUSL) && !o.wants(HOST) && !o.wants(WINDOWS_GNU));
        assert!(Options::parse(&args(&["--target", "sparc-sun-solaris"])).is_err());
        assert!(Options::parse(&args(&["--skip"])).is_err());
    }

    #[test]
    fn windows_leaves_out_what_does_not_build_there() {
        let out: Vec<&str> = left_out(WINDOWS_GNU).iter().map(|(k, _)| *k).collect();
        assert_eq!(out, ["xtask"]);
        assert!(left_out(MUSL).is_empty());
    }
}
