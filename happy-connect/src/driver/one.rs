//! A connect to an IP address, on the fast path: when the host view is up
//! and knows the source, the connect is one socket, one timer and the
//! report, in a future written by hand so that it holds little more than
//! a plain tokio connect does. Thousands of connects at once then cost
//! little more memory than plain tokio's.
//!
//! Everything else (a name, a host view still starting, a source not
//! cached yet, a Teredo source that must be stable first, a host where
//! NAT64 matters) takes the general path.

use std::future::{Future, Ready};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::Either;
use iface_probe::{Dest, Snapshot};
use pin_project_lite::pin_project;
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::connector::Connector;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::plan::{self, Target};
use crate::race::{Candidate, Strategy, is_teredo_ip};
use crate::report::{AttemptOutcome, ConnectReport, Event, HostCapabilities, Log};
use crate::socket;

pin_project! {
    /// The one attempt of a connect to an IP address.
    pub(crate) struct ConnectOne<'a, F> {
        host: &'a str,
        port: u16,
        strategy: Strategy,
        capabilities: HostCapabilities,
        candidate: Candidate,
        // The connection's local address, when known without asking.
        known_local: Option<IpAddr>,
        start: Instant,
        // When the attempt began, from `start`.
        begun: Duration,
        // Whether the timer is the total timeout (not the attempt's).
        total_bound: bool,
        #[pin]
        connect: F,
        #[pin]
        timer: Sleep,
    }
}

/// The socket's connect, or the error that prevented it.
pub(crate) type SocketConnect<C> = Either<C, Ready<io::Result<TcpStream>>>;

/// The fast path for `host`, when it applies.
pub(crate) fn prepare<'a>(
    connector: &Connector,
    host: &'a str,
    port: u16,
    start: Instant,
) -> Option<ConnectOne<'a, SocketConnect<impl Future<Output = io::Result<TcpStream>> + Send + use<>>>>
{
    if !plan::may_be_literal(host) {
        return None;
    }
    let view = connector.host_view();
    let (candidate, capabilities) = view.with_snapshot(|snapshot| {
        let snapshot = snapshot?;
        let Ok(Target::Literal { ip, scope_id }) = plan::target(host, Some(snapshot)) else {
            return None;
        };
        // On an IPv6-only host, or one whose routers announce a NAT64
        // prefix, the general path synthesizes and reports.
        if connector.nat64_state().engaged(snapshot) {
            return None;
        }
        let source = view.cached_source(&Dest::new(ip, Some(scope_id)))?;
        let candidate = plan::candidate(ip, source.as_ref(), port).with_scope_id(scope_id);
        if needs_stable_wait(&candidate, snapshot) {
            return None;
        }
        let capabilities = connector.with_facts(Some(snapshot), |f| f.capabilities)?;
        Some((candidate, capabilities))
    })?;
    let config = connector.race();
    let begun = start.elapsed();
    let total_left = config.total_timeout.saturating_sub(begun);
    let total_bound = total_left < config.attempt_timeout;
    let limit = config.attempt_timeout.min(total_left);
    let address = candidate.addr();
    let connect = match socket::open(address, connector.socket()) {
        Ok(socket) => Either::Left(socket.connect(address)),
        Err(err) => Either::Right(std::future::ready(Err(err))),
    };
    Some(ConnectOne {
        host,
        port,
        strategy: config.strategy,
        capabilities,
        candidate,
        known_local: socket::known_local(&candidate, connector.socket()),
        start,
        begun,
        total_bound,
        connect,
        timer: tokio::time::sleep(limit),
    })
}

/// Whether an attempt to `candidate` must first wait for a Teredo address
/// to be stable (see the general path's attempts).
fn needs_stable_wait(candidate: &Candidate, snapshot: &Snapshot) -> bool {
    match candidate.dest.source {
        Some(s) => is_teredo_ip(s.addr),
        None => is_teredo_ip(candidate.dest.addr) && snapshot.teredo_qualifying(),
    }
}

impl<F> Future for ConnectOne<'_, F>
where
    F: Future<Output = io::Result<TcpStream>>,
{
    type Output = Result<(TcpStream, ConnectReport), ConnectError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.connect.poll(cx) {
            Poll::Ready(Ok(stream)) => Ok(stream),
            Poll::Ready(Err(err)) => Err(AttemptOutcome::from_io(&err)),
            Poll::Pending => match this.timer.poll(cx) {
                Poll::Ready(()) if *this.total_bound => Err(AttemptOutcome::Abandoned),
                Poll::Ready(()) => Err(AttemptOutcome::TimedOut),
                Poll::Pending => return Poll::Pending,
            },
        };
        let mut log = Log::new(this.host, *this.port, *this.strategy);
        log.capabilities = Some(*this.capabilities);
        log.attempts.reserve_exact(1);
        let candidate = *this.candidate;
        let at = this.start.elapsed();
        log.push(Event::Start {
            address: candidate.addr(),
            source: candidate.dest.source.map(|s| s.addr),
            at: *this.begun,
        });
        Poll::Ready(match result {
            Ok(stream) => {
                log.push(Event::End {
                    index: 0,
                    at,
                    outcome: AttemptOutcome::Connected,
                    stable_wait: None,
                });
                let local = socket::local_address(&stream, *this.known_local);
                log.push(Event::Won { index: 0, local });
                Ok((stream, log.report_one(&candidate, this.start.elapsed())))
            }
            Err(outcome) => {
                let kind = if outcome == AttemptOutcome::Abandoned {
                    ConnectErrorKind::TimedOut
                } else {
                    ConnectErrorKind::AllAttemptsFailed
                };
                log.push(Event::End {
                    index: 0,
                    at,
                    outcome,
                    stable_wait: None,
                });
                Err(ConnectError::new(
                    kind,
                    None,
                    log.report_one(&candidate, this.start.elapsed()),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;
    use std::net::Ipv4Addr;

    use crate::connector::Connector;

    /// Thousands of connects at once each hold a clone of the connector
    /// and the connect's future: both stay close to what a plain tokio
    /// connect holds (the peak memory is measured by the `rss/load`
    /// benchmark).
    #[test]
    fn a_connect_by_literal_holds_little_more_than_tokio() {
        let connector = Connector::new();
        assert_eq!(
            size_of_val(&connector),
            size_of::<usize>(),
            "a clone is one pointer"
        );
        let ours = connector.connect("127.0.0.1", 9);
        let tokio = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, 9));
        let (ours, tokio) = (size_of_val(&ours), size_of_val(&tokio));
        assert!(
            ours <= tokio + 256,
            "the connect future is {ours} bytes, plain tokio's {tokio}"
        );
    }
}
