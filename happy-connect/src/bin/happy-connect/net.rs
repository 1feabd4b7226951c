//! The commands that use the network: `resolve` and `connect`.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use happy_connect::resolve::StaticResolver;
use happy_connect::{AaaaPolicy, Connector, Plan, Strategy};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::Failure;
use crate::args::{parse_duration, parse_policy, print_json};
use crate::history::HistoryArgs;

/// `--aaaa`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Aaaa {
    /// Skip AAAA when Teredo is the host's only IPv6.
    Auto,
    /// Always ask.
    Always,
    /// Never ask.
    Never,
}

impl From<Aaaa> for AaaaPolicy {
    fn from(a: Aaaa) -> Self {
        match a {
            Aaaa::Auto => Self::Auto,
            Aaaa::Always => Self::Always,
            Aaaa::Never => Self::Never,
        }
    }
}

/// `--strategy`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StrategyArg {
    /// RFC 8305: start the next attempt every attempt delay.
    Race,
    /// One attempt at a time in sorted order.
    Sequential,
}

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// The name to resolve.
    name: String,
    /// Whether to ask for AAAA: auto skips it on Teredo-only hosts.
    #[arg(long, value_enum, default_value = "auto")]
    aaaa: Aaaa,
    /// Policy table: rfc6724 (default), rfc3484, windows, glibc, system or gai:PATH.
    #[arg(long, default_value = "rfc6724", value_name = "P")]
    policy: String,
    /// Print JSON: {"name", "queries": [...], "order": [...]}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    names: NameArgs,
    #[command(flatten)]
    history: HistoryArgs,
}

/// `--resolve`: names answered without DNS.
#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// Answer NAME with these addresses instead of asking DNS, as curl's
    /// --resolve does (repeatable): --resolve example.test=2001:db8::1,192.0.2.1
    #[arg(long, value_name = "NAME=ADDR,...", value_parser = parse_resolve)]
    resolve: Vec<(String, Vec<IpAddr>)>,
}

impl NameArgs {
    /// Makes the connector answer the names given from the table (and no
    /// other name: a name not in it has no address).
    fn apply(&self, connector: &mut Connector) {
        if self.resolve.is_empty() {
            return;
        }
        let table = self
            .resolve
            .iter()
            .fold(StaticResolver::new(), |t, (name, addrs)| {
                t.with(name, addrs)
            });
        connector.set_resolver(table);
    }
}

/// Parses `NAME=ADDR[,ADDR...]`.
fn parse_resolve(text: &str) -> Result<(String, Vec<IpAddr>), String> {
    let (name, addrs) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=ADDR[,ADDR...]"))?;
    if name.is_empty() || addrs.is_empty() {
        return Err(format!("{text:?} is not NAME=ADDR[,ADDR...]"));
    }
    let addrs = addrs
        .split(',')
        .map(|a| {
            a.parse::<IpAddr>()
                .map_err(|_| format!("{a:?} in {text:?} is not an IP address"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_owned(), addrs))
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Host name or IP address.
    host: String,
    /// TCP port.
    port: u16,
    /// Race the candidates (RFC 8305) or try them one at a time.
    #[arg(long, value_enum, default_value = "race")]
    strategy: StrategyArg,
    /// Connection Attempt Delay in milliseconds (clamped to 10..2000).
    #[arg(long, value_name = "MS", default_value_t = 250)]
    attempt_delay: u64,
    /// Longest one attempt may take: 500ms, 3s, 2m.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "10s")]
    attempt_timeout: Duration,
    /// Longest the whole connect may take.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "30s")]
    timeout: Duration,
    /// Policy table: rfc6724 (default), rfc3484, windows, glibc, system or gai:PATH.
    #[arg(long, default_value = "rfc6724", value_name = "P")]
    policy: String,
    /// Whether to ask for AAAA: auto skips it on Teredo-only hosts.
    #[arg(long, value_enum, default_value = "auto")]
    aaaa: Aaaa,
    /// Close as soon as connected instead of relaying stdin and stdout.
    #[arg(short = 'z')]
    zero_io: bool,
    /// Print the report as JSON (on standard error).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    names: NameArgs,
    #[command(flatten)]
    history: HistoryArgs,
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure::Negative(format!("cannot start the async runtime: {err}")))
}

pub(crate) fn resolve(args: &ResolveArgs) -> Result<(), Failure> {
    let mut connector = Connector::new();
    connector.race_mut().policy = parse_policy(&args.policy)?;
    connector.set_aaaa(args.aaaa.into());
    args.names.apply(&mut connector);
    let history = args.history.open();
    connector.set_history(Some(history.clone()));
    let result = runtime()?.block_on(connector.resolve(&args.name));
    // Nothing is learned without connecting, but what expired goes.
    args.history.save(&history);
    let (plan, error) = match result {
        Ok(plan) => (plan, None),
        Err(err) => {
            let message = err.to_string();
            (Plan::from(err.into_report()), Some(message))
        }
    };
    if args.json {
        print_json(&serde_json::to_value(&plan).unwrap_or(Value::Null));
    } else {
        print!("{plan}");
    }
    match error {
        None => Ok(()),
        Some(message) => Err(Failure::Negative(message)),
    }
}

pub(crate) fn connect(args: &ConnectArgs) -> Result<(), Failure> {
    let mut connector = Connector::new();
    connector.set_aaaa(args.aaaa.into());
    args.names.apply(&mut connector);
    let history = args.history.open();
    connector.set_history(Some(history.clone()));
    let race = connector.race_mut();
    race.policy = parse_policy(&args.policy)?;
    race.strategy = match args.strategy {
        StrategyArg::Race => Strategy::Race,
        StrategyArg::Sequential => Strategy::Sequential,
    };
    race.set_attempt_delay(Duration::from_millis(args.attempt_delay));
    race.attempt_timeout = args.attempt_timeout;
    race.total_timeout = args.timeout;
    let runtime = runtime()?;
    let connected = runtime.block_on(connector.connect(&args.host, args.port));
    // What this connect taught is kept whether or not it connected.
    args.history.save(&history);
    let (stream, report) = match connected {
        Ok(pair) => pair,
        Err(err) => {
            let message = err.to_string();
            let report = err.into_report();
            if args.json {
                eprintln!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                eprintln!("{report}");
            }
            return Err(Failure::Negative(message));
        }
    };
    if args.json {
        eprintln!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        eprintln!("{report}");
    }
    if args.zero_io {
        return Ok(());
    }
    let relayed = runtime.block_on(relay(stream));
    // A read of standard input may still be blocked on its thread: do not
    // wait for it.
    runtime.shutdown_background();
    relayed.map_err(|err| Failure::Negative(format!("connection failed while relaying: {err}")))
}

/// Copies standard input to the connection and the connection to standard
/// output until the peer closes; end of input half-closes the connection,
/// as `nc -N` does, so the peer's answer still flows back.
async fn relay(stream: tokio::net::TcpStream) -> std::io::Result<()> {
    let (mut from_peer, mut to_peer) = stream.into_split();
    let upload = async move {
        let mut stdin = tokio::io::stdin();
        tokio::io::copy(&mut stdin, &mut to_peer).await?;
        to_peer.shutdown().await
    };
    let download = async move {
        let mut stdout = tokio::io::stdout();
        tokio::io::copy(&mut from_peer, &mut stdout).await?;
        stdout.flush().await
    };
    tokio::pin!(upload, download);
    // The download decides when we are done; an upload error ends it too.
    tokio::select! {
        result = &mut download => result,
        result = &mut upload => match result {
            Ok(()) => download.await,
            Err(err) => Err(err),
        },
    }
}
