//! What a [`Tracker`](super::Tracker) judges ([`Filter`]) and what it
//! folds in ([`Event`]).

use std::fmt;
use std::net::IpAddr;

use iface_probe::AddrFlags;

/// Which addresses a wait is about. See the [module docs](super) for what
/// each one waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Filter {
    /// Every IPv4 and IPv6 unicast address on every up interface.
    All,
    /// Every address on the interface with this index.
    Interface(u32),
    /// Every address on the interface with this name.
    InterfaceName(String),
    /// One address, on whichever interface carries it.
    Address(IpAddr),
    /// Any Teredo address (`2001:0::/32`), as Miredo configures it.
    Teredo,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all addresses"),
            Self::Interface(index) => write!(f, "addresses on interface {index}"),
            Self::InterfaceName(name) => write!(f, "addresses on {name}"),
            Self::Address(ip) => write!(f, "address {ip}"),
            Self::Teredo => f.write_str("a teredo address"),
        }
    }
}

/// One change the tracker folds in. The waits make these from a host
/// view's changes; tests make them by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An address appeared, changed (`RTM_NEWADDR`) or went away
    /// (`RTM_DELADDR`, `removed: true`).
    Address {
        /// The interface the address is on.
        ifindex: u32,
        /// The local address.
        ip: IpAddr,
        /// The prefix length.
        prefix_len: u8,
        /// Its state.
        flags: AddrFlags,
        /// Whether this is a removal.
        removed: bool,
    },
    /// An interface appeared or changed (`RTM_NEWLINK`) or went away
    /// (`RTM_DELLINK`, `removed: true`, which also drops its addresses).
    Link {
        /// The interface index.
        ifindex: u32,
        /// The interface name.
        name: String,
        /// Whether it is administratively up (`IFF_UP`).
        up: bool,
        /// Whether this is a removal.
        removed: bool,
    },
    /// Events were lost (the subscriber fell behind, or the host view
    /// restarted): forget the current view; a
    /// fresh dump follows, ended by [`Event::Synced`].
    Resync,
    /// The dump is complete: the view is whole from here on.
    Synced,
}
