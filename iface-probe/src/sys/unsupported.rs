//! Systems with neither `getifaddrs` nor IP Helper: every call fails with
//! [`io::ErrorKind::Unsupported`].

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use super::Notice;
use crate::model::Route;
use crate::snapshot::Snapshot;
use crate::source::Dest;

/// The backend's name.
pub(crate) const NAME: &str = "unsupported";
/// Nothing is reported.
pub(crate) const REPORTS_DAD: bool = false;
/// Nothing is read.
pub(crate) const POLLS_EVERY: Option<Duration> = None;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "iface-probe: no backend for this platform",
    )
}

pub(crate) fn capture() -> io::Result<Snapshot> {
    Err(unsupported())
}

/// Never exists: [`Lookups::open`] always fails.
#[derive(Debug)]
pub(crate) struct Lookups {
    never: Infallible,
}

impl Lookups {
    pub(crate) fn open() -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn routes(&mut self, _dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        match self.never {}
    }

    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        match self.never {}
    }

    pub(crate) fn reach(&mut self, _snap: &Snapshot) -> io::Result<crate::reach::Reach> {
        match self.never {}
    }
}

/// Never exists: [`Notifier::open`] always fails.
#[derive(Debug)]
pub(crate) struct Notifier {
    never: Infallible,
}

/// Never exists either.
#[derive(Debug, Clone)]
pub(crate) struct Interrupter {
    never: Infallible,
}

impl Interrupter {
    pub(crate) fn interrupt(&self) {
        match self.never {}
    }
}

impl Notifier {
    pub(crate) fn open(_buffer: Option<usize>) -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn interrupter(&self) -> Interrupter {
        match self.never {}
    }

    pub(crate) fn wait(
        &mut self,
        _timeout: Option<Duration>,
        _out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        match self.never {}
    }
}
