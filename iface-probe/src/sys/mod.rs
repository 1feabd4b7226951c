//! The operating-system edge, one file per family of systems:
//!
//! | file | systems | interfaces | sources | changes |
//! | --- | --- | --- | --- | --- |
//! | `linux.rs` | Linux, Android | netlink dumps | batched `RTM_GETROUTE` | netlink groups |
//! | `bsd.rs` | macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly | `getifaddrs`, `SIOCGIFAFLAG_IN6`, `SIOCGIFALIFETIME_IN6` | connected UDP sockets | `PF_ROUTE` socket |
//! | `windows/` | Windows | `GetAdaptersAddresses` | `GetBestRoute2` (connected UDP sockets where it is a stub, as under Wine) | `NotifyUnicastIpAddressChange`, `NotifyRouteChange2`, `NotifyIpInterfaceChange` (polling where they are stubs) |
//! | `portable.rs` | every Unix | `getifaddrs` | connected UDP sockets | polling |
//! | `unsupported.rs` | anything else | `Unsupported` errors | | |
//!
//! Each fills the same crate-private items: `capture`, `Lookups` (open,
//! routes, capture) and `Notifier` (open, waker, wait). Everything above
//! this module is the same on every platform. Parsing the systems'
//! records is pure code outside `sys` (the `netlink` module, the BSD
//! `pfroute` module, `windows_records`), tested on recorded bytes or
//! hand-made records on any host.

use std::io;
use std::time::Duration;

use crate::model::{Address, Family, Interface, Route, RouteKind};
use crate::reach::{Path, Reach};
use crate::snapshot::Snapshot;
use crate::source::Dest;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
use linux as native;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod bsd;
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
use bsd as native;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as native;

#[cfg(unix)]
mod ifaddrs;
#[cfg(unix)]
mod portable;
#[cfg(any(unix, windows))]
mod udp;
#[cfg(unix)]
mod wake;

// Any other Unix (illumos, Solaris, Haiku, ...) has `getifaddrs` and
// UDP sockets: the portable backend is its native one.
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))
))]
use portable as native;

#[cfg(not(any(unix, windows)))]
mod unsupported;
#[cfg(not(any(unix, windows)))]
use unsupported as native;

#[cfg(not(unix))]
pub(crate) use native::Interrupter;
#[cfg(unix)]
pub(crate) use wake::Interrupter;

/// Which implementation reads the host.
///
/// ```
/// use iface_probe::{Backend, Snapshot};
/// # #[cfg(unix)] {
/// // getifaddrs and UDP sockets: fewer details than netlink, the same host.
/// let portable = Snapshot::capture_with(Backend::Portable)?;
/// assert!(portable.interfaces.iter().any(|i| i.is_loopback()));
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// The system's own interface (see the crate docs' platform table):
    /// netlink on Linux and Android, `getifaddrs` with the `in6` ioctls
    /// and a `PF_ROUTE` socket on macOS, iOS and the BSDs, IP Helper on
    /// Windows.
    #[default]
    Native,
    /// `getifaddrs` and connected UDP sockets, on every Unix: no address
    /// flags or lifetimes, no routes, and changes found by reading the
    /// host again every second. Kept to cross-check the native backends,
    /// and for systems without one.
    Portable,
}

impl Backend {
    /// A short lowercase name: `netlink`, `bsd`, `windows`, `portable`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => native::NAME,
            Self::Portable => "portable",
        }
    }

    /// Whether the backend is told when duplicate address detection ends
    /// (Linux's netlink and Windows' notifications are; a `PF_ROUTE`
    /// socket is not, so the BSD backend re-reads the flags while an
    /// address is tentative). A view uses this to know when to poll.
    pub fn reports_dad(self) -> bool {
        match self {
            Self::Native => native::REPORTS_DAD,
            Self::Portable => false,
        }
    }

    /// How often the backend reads the host again on its own, when it has
    /// no change notifications at all; `None` when it is notified.
    pub fn polls_every(self) -> Option<Duration> {
        match self {
            Self::Native => native::POLLS_EVERY,
            #[cfg(unix)]
            Self::Portable => Some(portable::POLL_INTERVAL),
            #[cfg(not(unix))]
            Self::Portable => None,
        }
    }
}

#[cfg(not(unix))]
fn no_portable() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "iface-probe: the portable backend needs getifaddrs (Unix)",
    )
}

/// One change the system reported, for a view of the host to fold in.
/// Only netlink says exactly what changed; the other systems say that
/// something did ([`Notice::Resync`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) enum Notice {
    /// An interface appeared or changed (without its addresses).
    Link(Interface),
    /// An interface went away, with its addresses.
    LinkRemoved(Interface),
    /// An address appeared or changed.
    Address { index: u32, address: Address },
    /// An address went away.
    AddressRemoved { index: u32, address: Address },
    /// A route appeared or changed.
    Route(Route),
    /// A route went away.
    RouteRemoved(Route),
    /// Policy rules changed: source addresses and reach may differ now.
    Rules,
    /// Options of a Router Advertisement received on interface `index`
    /// (PREF64 among them), from `router`.
    RouterOptions {
        index: u32,
        router: Option<std::net::Ipv6Addr>,
        options: Vec<crate::netlink::NdOption>,
    },
    /// Notifications were lost, or the system gives no details: read the
    /// whole host again.
    Resync,
}

/// The path of a route lookup's answer: its source and outgoing
/// interface, for a route that delivers packets.
pub(crate) fn path_of(route: &Route) -> Option<Path> {
    if !matches!(route.kind, RouteKind::Unicast | RouteKind::Local) {
        return None;
    }
    Some(Path::new(route.pref_src?, route.oif?))
}

/// Sends a Router Solicitation out of each interface in `indexes`, so that
/// the routers there advertise (their PREF64 options with the rest) now
/// rather than at their next periodic advertisement; returns on how many
/// interfaces it went out. Linux only: the other systems do not hand the
/// options to user space, so there is nothing to ask for.
pub(crate) fn solicit_routers(indexes: &[u32]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        linux::solicit_routers(indexes)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = indexes;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "iface-probe: router advertisement options are read on Linux only",
        ))
    }
}

/// Reads the whole host with `backend`.
pub(crate) fn capture(backend: Backend) -> io::Result<Snapshot> {
    match backend {
        Backend::Native => native::capture(),
        #[cfg(unix)]
        Backend::Portable => portable::capture(),
        #[cfg(not(unix))]
        Backend::Portable => Err(no_portable()),
    }
}

/// Asks the kernel which route (and so which source) it would use for
/// destinations, many at a time where the system allows.
#[derive(Debug)]
pub(crate) enum Lookups {
    Native(native::Lookups),
    #[cfg(unix)]
    Portable(portable::Lookups),
}

impl Lookups {
    pub(crate) fn open(backend: Backend) -> io::Result<Self> {
        match backend {
            Backend::Native => native::Lookups::open().map(Self::Native),
            #[cfg(unix)]
            Backend::Portable => portable::Lookups::open().map(Self::Portable),
            #[cfg(not(unix))]
            Backend::Portable => Err(no_portable()),
        }
    }

    /// The answer for each destination, in order: the route, or the
    /// positive errno of the refusal.
    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        match self {
            Self::Native(l) => l.routes(dests),
            #[cfg(unix)]
            Self::Portable(l) => l.routes(dests),
        }
    }

    /// Reads the whole host (reusing this lookup socket where it can).
    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        match self {
            Self::Native(l) => l.capture(),
            #[cfg(unix)]
            Self::Portable(l) => l.capture(),
        }
    }

    /// The IPv4 routes of every table: dumped alone where the system
    /// allows (netlink), else taken from a reading of the whole host.
    pub(crate) fn ipv4_routes(&mut self) -> io::Result<Vec<Route>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Self::Native(l) = self {
            return l.ipv4_routes();
        }
        let mut routes = self.capture()?.routes;
        routes.retain(|r| r.family == Family::Ipv4);
        Ok(routes)
    }

    /// The kernel's answers for the representative destinations, the
    /// interfaces found in `snap` where the system names only a source.
    pub(crate) fn reach(&mut self, snap: &Snapshot) -> io::Result<Reach> {
        match self {
            Self::Native(l) => l.reach(snap),
            #[cfg(unix)]
            Self::Portable(l) => l.reach(snap),
        }
    }
}

/// The system's change notifications, subscribed to when opened.
#[derive(Debug)]
pub(crate) enum Notifier {
    Native(native::Notifier),
    #[cfg(unix)]
    Portable(portable::Notifier),
}

impl Notifier {
    /// Subscribes; `buffer` sets the receive buffer where there is one
    /// (tests make it small to lose notices).
    pub(crate) fn open(backend: Backend, buffer: Option<usize>) -> io::Result<Self> {
        match backend {
            Backend::Native => native::Notifier::open(buffer).map(Self::Native),
            #[cfg(unix)]
            Backend::Portable => portable::Notifier::open(buffer).map(Self::Portable),
            #[cfg(not(unix))]
            Backend::Portable => Err(no_portable()),
        }
    }

    /// A handle that cuts a [`wait`](Self::wait) short, from any thread.
    pub(crate) fn interrupter(&self) -> Interrupter {
        match self {
            Self::Native(n) => n.interrupter(),
            #[cfg(unix)]
            Self::Portable(n) => n.interrupter(),
        }
    }

    /// Appends what the system reported, waiting up to `timeout` (`None`:
    /// without limit) for the first notice, or until woken. Returns with
    /// nothing appended on a timeout or a wake-up.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        match self {
            Self::Native(n) => n.wait(timeout, out),
            #[cfg(unix)]
            Self::Portable(n) => n.wait(timeout, out),
        }
    }
}
