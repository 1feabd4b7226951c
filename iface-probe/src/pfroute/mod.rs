//! The records of macOS, iOS and the BSDs, decoded by pure code: the
//! `PF_ROUTE` socket's messages (`rt_msghdr`, `ifa_msghdr`, `if_msghdr`,
//! `if_announcemsghdr` and the socket addresses after them), the
//! `in6_ifreq` of the `SIOCGIFAFLAG_IN6` and `SIOCGIFALIFETIME_IN6`
//! ioctls, the `IN6_IFF_*` address flags and the `IFT_*` interface types.
//!
//! Nothing here touches the operating system: every system's encoding is
//! chosen by an [`Abi`] parameter, so that all of them compile, and are
//! tested on hand-made bytes, on any host (Linux included). The BSD
//! backend passes the encoding of the system it runs on, and checks at
//! compile time that the sizes and offsets used here are those of the
//! `libc` crate's definitions for that target.
//!
//! The systems differ more than their shared ancestry suggests:
//!
//! | | Apple (XNU) | FreeBSD | DragonFly | NetBSD | OpenBSD |
//! | --- | --- | --- | --- | --- | --- |
//! | `RTM_VERSION` | 5 | 5 | 7 (since 5.8) | 4 | 5 |
//! | `RTM_NEWADDR` / `RTM_IFINFO` / `RTM_IFANNOUNCE` | 0xc / 0xe / none | 0xc / 0xe / 0x11 | 0xc / 0xe / 0x11 | 0x16 / 0x14 / 0x10 | 0xc / 0xe / 0xf |
//! | header sizes `rt` / `if` / `ifa` / `ifan` (64-bit) | 92 / 112 / 20 / none | 152 / 168 / 20 / 24 | 152 / 176 / 28 / 24 | 120 / 152 / 32 / 24 | in each header (`*_hdrlen`) |
//! | socket addresses rounded to | 4 bytes | `sizeof(long)` | `sizeof(long)` | 8 bytes | `sizeof(long)` |
//! | `AF_INET6` | 30 | 28 | 28 | 24 | 24 |
//! | `SIOCGIFALIFETIME_IN6` | `_IOWR('i', 81, ...)` | 81 | 81 | 106 | 81 |
//! | lifetimes' clock | wall clock | uptime | uptime | wall clock | wall clock |
//!
//! A message that does not fit its layout (shorter than its header, a
//! length beyond the bytes read, a socket address running past the end)
//! is a [`ParseError`] that says where and what, never a panic.

mod iftype;
pub(crate) mod in6;
pub(crate) mod layout;
pub(crate) mod message;
mod sockaddr;

#[cfg(test)]
mod tests;

pub use iftype::link_kind;
pub use in6::{
    AddrLifetime, IN6_IFREQ_LEN, In6Ifreq, LifetimeClock, addr_flags, siocgifaflag_in6,
    siocgifalifetime_in6,
};
pub use message::{
    AddressHeader, Addrs, Announcement, Body, InterfaceHeader, Kind, Message, Messages, ParseError,
    Problem, RouteHeader, messages, parse,
};
pub use sockaddr::{SockAddr, unembed_scope};

use layout::Layouts;

/// One system family's encoding of its kernel records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Os {
    /// XNU: macOS, iOS, tvOS, watchOS, visionOS.
    Apple,
    /// FreeBSD (11 and later: the machine-independent `if_data`).
    FreeBsd,
    /// NetBSD (8 and later: `RTM_VERSION` 4 and the 64-bit aligned
    /// headers).
    NetBsd,
    /// OpenBSD (every header carries its own length).
    OpenBsd,
    /// DragonFly (5.8 and later: `RTM_VERSION` 7).
    DragonFly,
}

impl Os {
    /// Every family, for tests that cover them all.
    pub const ALL: [Self; 5] = [
        Self::Apple,
        Self::FreeBsd,
        Self::NetBsd,
        Self::OpenBsd,
        Self::DragonFly,
    ];

    /// The `RTM_VERSION` the system's routing socket writes in every
    /// message.
    pub const fn rtm_version(self) -> u8 {
        match self {
            Self::Apple | Self::FreeBsd | Self::OpenBsd => 5,
            Self::NetBsd => 4,
            Self::DragonFly => 7,
        }
    }

    /// The system's `AF_INET6` (the one address family number that
    /// differs; `AF_INET` is 2 and `AF_LINK` 18 everywhere).
    pub const fn af_inet6(self) -> u8 {
        match self {
            Self::Apple => 30,
            Self::FreeBsd | Self::DragonFly => 28,
            Self::NetBsd | Self::OpenBsd => 24,
        }
    }
}

/// `AF_INET` on every BSD.
pub const AF_INET: u8 = 2;
/// `AF_LINK` on every BSD.
pub const AF_LINK: u8 = 18;

/// A system's encoding together with the sizes of the C types its
/// records depend on: `long` (routing message headers and socket address
/// rounding on FreeBSD, DragonFly and OpenBSD) and `time_t` (address
/// lifetimes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Abi {
    os: Os,
    long: u8,
    time: u8,
}

impl Abi {
    /// The encoding of `os` with `long_bytes`-byte `long` and
    /// `time_bytes`-byte `time_t`; `None` unless each is 4 or 8.
    pub const fn new(os: Os, long_bytes: usize, time_bytes: usize) -> Option<Self> {
        match (long_bytes, time_bytes) {
            (4 | 8, 4 | 8) => Some(Self {
                os,
                long: long_bytes as u8,
                time: time_bytes as u8,
            }),
            _ => None,
        }
    }

    /// The encoding of `os` on a 64-bit machine (`long` and `time_t` of 8
    /// bytes), the only kind of machine most of these systems run on now.
    pub const fn lp64(os: Os) -> Self {
        Self {
            os,
            long: 8,
            time: 8,
        }
    }

    /// The system family.
    pub const fn os(self) -> Os {
        self.os
    }

    /// The size of a C `long`.
    pub const fn long_bytes(self) -> usize {
        self.long as usize
    }

    /// The size of `time_t`.
    pub const fn time_bytes(self) -> usize {
        self.time as usize
    }

    /// The sizes and field offsets of the routing message headers.
    pub(crate) const fn layouts(self) -> Layouts {
        Layouts::of(self)
    }

    /// The size a socket address of length `sa_len` takes in a routing
    /// message: rounded up to 4 bytes on Apple systems (`ROUNDUP32` in
    /// XNU's `rtsock.c`), to 8 on NetBSD (`RT_ROUNDUP`, `sizeof(uint64_t)`)
    /// and to `sizeof(long)` elsewhere (FreeBSD's `SA_SIZE`, DragonFly's
    /// `RT_ROUNDUP`, OpenBSD's `ROUNDUP`); an empty one still takes one
    /// unit.
    pub const fn sockaddr_space(self, sa_len: usize) -> usize {
        let unit = match self.os {
            Os::Apple => 4,
            Os::NetBsd => 8,
            Os::FreeBsd | Os::OpenBsd | Os::DragonFly => self.long as usize,
        };
        if sa_len == 0 {
            unit
        } else {
            1 + ((sa_len - 1) | (unit - 1))
        }
    }
}
