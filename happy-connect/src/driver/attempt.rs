//! One attempt: a Teredo source waited for when it must be stable, then
//! the socket's connect; and a connect to an IP address off the fast
//! path, which is that one attempt under the connect's timeouts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::Either;
use iface_probe::{HostView, Snapshot};
use tokio::net::TcpStream;
use tracing::debug;

use super::answers::{cached_candidates, candidates};
use super::literal_destination;
use super::slots::{AttemptFuture, AttemptResult};
use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::host::HostState;
use crate::race::{Candidate, is_teredo_ip};
use crate::report::{AttemptOutcome, ConnectReport, Event, Log};
use crate::socket::{self, SocketOptions};

/// A connect to an IP address that missed the fast path (the host view
/// starting, a source not cached yet, a Teredo source to wait for, NAT64):
/// its candidate, then its one attempt.
pub(super) async fn literal(
    connector: &Connector,
    view: &HostView,
    port: u16,
    start: Instant,
    mut log: Log,
    host_state: HostState,
    (ip, scope_id): (IpAddr, u32),
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let ip = literal_destination(&mut log, ip);
    let candidate = match cached_candidates(view, &host_state, &[ip], scope_id, port) {
        Some(c) => c[0],
        None => candidates(view, &host_state, &[ip], scope_id, port).await[0],
    };
    connect_one(connector, view, start, log, host_state, candidate).await
}

/// The one attempt of a connect to an IP address: the race's first
/// attempt, bounded by the attempt timeout and the total timeout alike.
pub(super) async fn connect_one(
    connector: &Connector,
    view: &HostView,
    start: Instant,
    mut log: Log,
    host: HostState,
    candidate: Candidate,
) -> Result<(TcpStream, ConnectReport), ConnectError> {
    let config = connector.race();
    let begun = start.elapsed();
    let limit = config
        .attempt_timeout
        .min(config.total_timeout.saturating_sub(begun));
    let attempt = attempt(connector, view, host.snapshot.as_deref(), candidate);
    drop(host);
    let ended = tokio::time::timeout(limit, attempt).await;
    let at = start.elapsed();
    let (outcome, stable_wait, stream) = match ended {
        Ok(AttemptResult {
            stable_wait,
            result: Ok(stream),
        }) => (AttemptOutcome::Connected, stable_wait, Some(stream)),
        Ok(AttemptResult {
            stable_wait,
            result: Err(outcome),
        }) => (outcome, stable_wait, None),
        Err(_) if limit < config.attempt_timeout => (AttemptOutcome::Abandoned, None, None),
        Err(_) => (AttemptOutcome::TimedOut, None, None),
    };
    let timed_out = outcome == AttemptOutcome::Abandoned;
    // Recorded once it is over, so that the events take no room while the
    // attempt runs.
    log.attempts.reserve_exact(1);
    log.push(Event::Start {
        address: candidate.addr(),
        source: candidate.dest.source.map(|s| s.addr),
        at: begun,
    });
    log.push(Event::End {
        index: 0,
        at,
        outcome,
        stable_wait,
    });
    match stream {
        Some(stream) => {
            let known = socket::known_local(&candidate, connector.socket());
            let local = socket::local_address(&stream, known);
            log.push(Event::Won { index: 0, local });
            Ok((stream, log.report_one(&candidate, None, start.elapsed())))
        }
        None => {
            let kind = if timed_out {
                ConnectErrorKind::TimedOut
            } else {
                ConnectErrorKind::AllAttemptsFailed
            };
            Err(ConnectError::new(
                kind,
                None,
                log.report_one(&candidate, None, start.elapsed()),
            ))
        }
    }
}

/// One attempt: waits (bounded) for a Teredo source to be stable first,
/// then connects. Without a wait (the usual case) it is the socket's
/// connect alone; the wait is boxed, so that it costs no room otherwise.
pub(super) fn attempt(
    connector: &Connector,
    view: &HostView,
    snapshot: Option<&Snapshot>,
    candidate: Candidate,
) -> Either<impl Future<Output = AttemptResult> + Send + 'static, AttemptFuture> {
    let address = candidate.addr();
    let source = candidate.dest.source.map(|s| s.addr);
    // Wait for stability (bounded) before going over Teredo: for the
    // Teredo source the kernel chose, or, when a Teredo destination has no
    // source because the Teredo client has not qualified yet, for the
    // client to qualify.
    let stable_filter = match source {
        Some(src) if is_teredo_ip(src) => Some(stable_addr::Filter::Address(src)),
        None if is_teredo_ip(address.ip()) && snapshot.is_some_and(Snapshot::teredo_qualifying) => {
            Some(stable_addr::Filter::Teredo)
        }
        _ => None,
    };
    let opts: Arc<SocketOptions> = connector.socket_options();
    debug!(%address, ?source, "attempt");
    let Some(filter) = stable_filter else {
        return Either::Left(async move {
            AttemptResult {
                stable_wait: None,
                result: connect_socket(address, &opts).await,
            }
        });
    };
    let stable_wait = connector.stable_wait();
    let view = view.clone();
    Either::Right(Box::pin(async move {
        let started = Instant::now();
        let stable = stable_addr::wait_stable_async_on(&view, filter, stable_wait).await;
        let waited = Some(started.elapsed());
        if let Err(err) = stable {
            return AttemptResult {
                stable_wait: waited,
                result: Err(AttemptOutcome::SourceNotStable(err.to_string())),
            };
        }
        AttemptResult {
            stable_wait: waited,
            result: connect_socket(address, &opts).await,
        }
    }))
}

/// The socket's connect, its failure as an attempt's outcome.
pub(super) async fn connect_socket(
    address: std::net::SocketAddr,
    opts: &SocketOptions,
) -> Result<TcpStream, AttemptOutcome> {
    socket::connect(address, opts)
        .await
        .map_err(|err| AttemptOutcome::from_io(&err))
}
