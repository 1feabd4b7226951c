//! Windows: IP Helper.

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use super::Notice;
use crate::model::Route;
use crate::snapshot::Snapshot;
use crate::source::Dest;

/// The backend's name.
pub(crate) const NAME: &str = "windows";
/// Windows reports the end of DAD as an address change.
pub(crate) const REPORTS_DAD: bool = true;
/// Notified of changes: no polling.
pub(crate) const POLLS_EVERY: Option<Duration> = None;

pub(crate) fn capture() -> io::Result<Snapshot> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "iface-probe: GetAdaptersAddresses is not wired yet",
    ))
}

/// Source lookups.
#[derive(Debug)]
pub(crate) struct Lookups;

impl Lookups {
    pub(crate) fn open() -> io::Result<Self> {
        Ok(Self)
    }

    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        super::udp::lookups(dests)
    }

    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        capture()
    }

    pub(crate) fn reach(&mut self, snap: &Snapshot) -> io::Result<crate::reach::Reach> {
        super::udp::reach(snap)
    }
}

/// Change notifications, delivered by the system's callbacks into a
/// channel.
#[derive(Debug)]
pub(crate) struct Notifier {
    rx: mpsc::Receiver<Option<Notice>>,
    tx: mpsc::Sender<Option<Notice>>,
}

/// Wakes a [`Notifier::wait`].
#[derive(Debug, Clone)]
pub(crate) struct Interrupter {
    tx: mpsc::Sender<Option<Notice>>,
}

impl Interrupter {
    pub(crate) fn interrupt(&self) {
        let _ = self.tx.send(None);
    }
}

impl Notifier {
    pub(crate) fn open(_buffer: Option<usize>) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        Ok(Self { rx, tx })
    }

    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter {
            tx: self.tx.clone(),
        }
    }

    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        let first = match timeout {
            Some(t) => self.rx.recv_timeout(t).ok(),
            None => self.rx.recv().ok(),
        };
        out.extend(first.flatten());
        out.extend(self.rx.try_iter().flatten());
        Ok(())
    }
}
