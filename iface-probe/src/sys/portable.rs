//! The portable backend, on every Unix: `getifaddrs` for interfaces and
//! addresses, connected UDP sockets for the kernel's source addresses,
//! and polling for changes. It knows less than a native backend (no
//! address flags or lifetimes, no routes), so the native one is the
//! default; on Linux it runs in the tests beside netlink, to check that
//! both see the same host.

use std::io;
use std::time::{Duration, Instant};

use super::Notice;
use super::ifaddrs;
use super::udp;
use super::wake::{Interrupter, WakePipe, poll_two};
use crate::model::Route;
use crate::reach::Reach;
use crate::snapshot::Snapshot;
use crate::source::Dest;

/// How often the portable backend reads the host again, having no way to
/// be told of changes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The backend's name, where it is a system's native one.
#[allow(dead_code)]
pub(crate) const NAME: &str = "portable";
/// Not told when DAD ends (not told anything).
#[allow(dead_code)]
pub(crate) const REPORTS_DAD: bool = false;
/// Reads the host again every [`POLL_INTERVAL`].
#[allow(dead_code)]
pub(crate) const POLLS_EVERY: Option<Duration> = Some(POLL_INTERVAL);

/// Reads the interfaces and asks for the representative destinations.
pub(crate) fn capture() -> io::Result<Snapshot> {
    let entries = ifaddrs::entries()?;
    let mut snap = Snapshot {
        interfaces: ifaddrs::interfaces(&entries),
        ..Snapshot::default()
    };
    snap.reach = Some(udp::reach(&snap)?);
    Ok(snap)
}

/// Source lookups over connected UDP sockets.
#[derive(Debug)]
pub(crate) struct Lookups;

impl Lookups {
    pub(crate) fn open() -> io::Result<Self> {
        Ok(Self)
    }

    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        udp::lookups(dests)
    }

    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        capture()
    }

    pub(crate) fn reach(&mut self, snap: &Snapshot) -> io::Result<Reach> {
        udp::reach(snap)
    }
}

/// No notifications: a [`Notice::Resync`] every [`POLL_INTERVAL`], so that
/// a view re-reads the host and finds the differences itself.
#[derive(Debug)]
pub(crate) struct Notifier {
    wake: WakePipe,
    next_poll: Instant,
}

impl Notifier {
    /// There is no socket, so no buffer to size.
    pub(crate) fn open(_buffer: Option<usize>) -> io::Result<Self> {
        Ok(Self {
            wake: WakePipe::new()?,
            next_poll: Instant::now() + POLL_INTERVAL,
        })
    }

    pub(crate) fn interrupter(&self) -> Interrupter {
        self.wake.interrupter()
    }

    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        let now = Instant::now();
        if now < self.next_poll {
            let until_poll = self.next_poll - now;
            let limit = timeout.map_or(until_poll, |t| t.min(until_poll));
            // Waiting on the wake pipe alone (twice: poll takes two).
            poll_two(self.wake.fd(), self.wake.fd(), Some(limit))?;
            self.wake.drain();
        }
        if Instant::now() >= self.next_poll {
            self.next_poll = Instant::now() + POLL_INTERVAL;
            out.push(Notice::Resync);
        }
        Ok(())
    }
}
