//! The `happy-connect` command-line tool.
//!
//! Exit status: 0 on success, 1 when the command ran but the answer is
//! negative (for example an address that is not Teredo), 2 on bad input.
//! Every error is one line on standard error.

mod args;
mod demo;
mod history;
mod net;
mod offline;
mod online;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Teredo-aware connect-by-name: decode, classify and order addresses the
/// way Windows orders them (native IPv6, 6to4, IPv4, Teredo), or by RFC 6724.
#[derive(Debug, Parser)]
#[command(name = "happy-connect", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A tour: this host for real (probe, loopback race), then the Teredo
    /// scenarios on simulated hosts next to glibc's behaviour.
    Demo,
    /// Decode a Teredo address (RFC 4380, RFC 5991): server, client, port, flags.
    Teredo(offline::TeredoArgs),
    /// Classify addresses: kind, scope, and the policy's precedence and label.
    Classify(offline::ClassifyArgs),
    /// Order destinations by RFC 6724 rules 1-10 under a policy table.
    Sort(offline::SortArgs),
    /// Show this host's interfaces in RFC 3484 order and its IPv6/Teredo capabilities.
    Probe(online::ProbeArgs),
    /// Wait until addresses are stable (DAD done, Teredo qualified), like
    /// Windows' NotifyStableUnicastIpAddressTable.
    WaitStable(online::WaitStableArgs),
    /// Resolve a name: the queries sent or skipped (and why), the answers,
    /// and the order a connect would try.
    Resolve(net::ResolveArgs),
    /// Connect by name (race or sequential), print the report, then relay
    /// stdin and stdout over the connection like nc.
    Connect(net::ConnectArgs),
}

/// Why a command did not succeed, and so which exit status it gets.
#[derive(Debug)]
enum Failure {
    /// The command ran; the answer is "no" (exit status 1).
    Negative(String),
    /// The input was bad (exit status 2).
    BadInput(String),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err),
    };
    let result = match cli.command {
        Command::Demo => demo::demo(),
        Command::Teredo(args) => offline::teredo(&args),
        Command::Classify(args) => offline::classify(&args),
        Command::Sort(args) => offline::sort(&args),
        Command::Probe(args) => online::probe(&args),
        Command::WaitStable(args) => online::wait_stable(&args),
        Command::Resolve(args) => net::resolve(&args),
        Command::Connect(args) => net::connect(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Negative(msg)) => {
            eprintln!("happy-connect: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::BadInput(msg)) => {
            eprintln!("happy-connect: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Help and version go to standard output as usual; a usage error becomes
/// one line on standard error (clap's first line, which names the problem)
/// and exit status 2.
fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            // clap's message spans lines (the problem, tips, usage); keep the
            // lines that state the problem and join them into one.
            let text = err.render().to_string();
            let line = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:"))
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("tip:")
                        && !l.starts_with("For more information")
                })
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("happy-connect: {line} (see --help)");
            ExitCode::from(2)
        }
    }
}
