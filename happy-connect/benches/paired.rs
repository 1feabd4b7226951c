//! Paired benchmarks: the connector against plain tokio, the two sides
//! alternated round by round in one run, so that the drift of a shared,
//! noisy machine falls on both alike and the ratio stays meaningful.
//! (Criterion measures one function after the other; a slow minute during
//! one of them would show as a difference that is not there.)
//!
//! | id | ours | baseline |
//! |---|---|---|
//! | `connect/loopback` | `Connector::connect("bench.test")`, a table resolver answering both queries at once | `TcpStream::connect(SocketAddr)` |
//! | `connect/literal` | `Connector::connect("127.0.0.1")` | `TcpStream::connect("127.0.0.1:PORT")` |
//! | `load/literal` | 10,000 concurrent connects by IP literal on a two-worker runtime | the same with plain tokio |
//! | `load/hosts` | 10,000 concurrent connects to `localhost` (hosts file) | plain tokio, which asks `getaddrinfo` on its blocking pool |
//! | `rss/load` | peak resident memory (`VmHWM`) of a process that runs `load/literal` once | the same with plain tokio |
//!
//! Each result is the two sides' medians, their ratio, and the overhead:
//! the median of the rounds' differences, ours minus the baseline.
//!
//! Each connect's stream is closed with an RST, so that no TIME_WAIT
//! accumulates between rounds. Results go to standard output and to
//! `target/paired/results.json`, which `cargo xtask bench` reads into its
//! summary. Arguments: `--quick` (fewer rounds), a filter (a substring of
//! ids); the rest of what cargo and criterion pass is ignored.
//!
//! Unix only: elsewhere the benchmark says so and does nothing.

#[cfg(unix)]
#[path = "paired/unix.rs"]
mod unix;

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(not(unix))]
fn main() {
    eprintln!("paired: the paired benchmarks run on Unix only");
}
