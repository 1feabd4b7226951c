//! Platforms without netlink: every call fails with
//! [`io::ErrorKind::Unsupported`].

use std::convert::Infallible;
use std::io;

use crate::model::Route;
use crate::snapshot::Snapshot;
use crate::source::Dest;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "iface-probe: unsupported platform",
    )
}

/// Never exists: [`RouteSocket::open`] always fails.
#[derive(Debug)]
pub(crate) struct RouteSocket {
    never: Infallible,
}

impl RouteSocket {
    pub(crate) fn open() -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn get_routes(&mut self, _dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        match self.never {}
    }
}

impl RouteSocket {
    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        match self.never {}
    }
}

/// Never exists: [`EventSocket::open`] always fails.
#[derive(Debug)]
pub(crate) struct EventSocket {
    never: Infallible,
}

impl EventSocket {
    pub(crate) fn open() -> io::Result<Self> {
        Err(unsupported())
    }

    pub(crate) fn drain(&mut self) -> io::Result<bool> {
        match self.never {}
    }
}

pub(crate) fn capture() -> io::Result<Snapshot> {
    Err(unsupported())
}
