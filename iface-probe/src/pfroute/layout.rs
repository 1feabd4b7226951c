//! Where each system puts the fields of its routing message headers, and
//! which number stands for which message type. The facts come from the
//! systems' headers: XNU's `bsd/net/route.h` and `bsd/net/if.h`,
//! FreeBSD's `sys/net/route.h` and `sys/net/if.h`, NetBSD's
//! `sys/net/route.h` and `sys/net/if.h` (whose `__align64` makes every
//! header a multiple of 8 bytes), OpenBSD's `sys/net/route.h` and
//! `sys/net/if.h`, and DragonFly's `sys/net/route.h` and `sys/net/if.h`
//! as of 5.8. The BSD backend checks them against the `libc` crate at
//! compile time wherever it defines the structure.
//!
//! Every header starts with `u_short msglen; u_char version; u_char type`;
//! the offsets below are from the start of the message, in bytes, and the
//! integers are in the host's byte order.

use super::message::Kind;
use super::{Abi, Os};

/// Where the socket addresses after a header start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Right after a header of this many bytes (`sizeof` the structure).
    Fixed(usize),
    /// Where a 16-bit header length field at `at` says (OpenBSD's
    /// `*_hdrlen`), which must be at least `min`: the end of the last
    /// field read here.
    Field { at: usize, min: usize },
}

/// `struct rt_msghdr`: route additions, removals, changes, lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouteLayout {
    pub(crate) start: Start,
    pub(crate) index: usize,
    pub(crate) flags: usize,
    pub(crate) addrs: usize,
    pub(crate) pid: usize,
    pub(crate) seq: usize,
    pub(crate) errno: usize,
}

/// `struct if_msghdr`: an interface's flags changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InterfaceLayout {
    pub(crate) start: Start,
    pub(crate) index: usize,
    pub(crate) flags: usize,
    pub(crate) addrs: usize,
}

/// `struct ifa_msghdr`: an address was added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressLayout {
    pub(crate) start: Start,
    pub(crate) index: usize,
    pub(crate) flags: usize,
    pub(crate) addrs: usize,
    /// `ifam_addrflags` (the address's `IN6_IFF_*` flags), where the
    /// header has it (NetBSD, DragonFly).
    pub(crate) addr_flags: Option<usize>,
    pub(crate) metric: usize,
}

/// `struct if_announcemsghdr`: an interface arrived or departed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnnounceLayout {
    pub(crate) start: Start,
    pub(crate) index: usize,
    /// `ifan_name`, `IFNAMSIZ` (16) bytes.
    pub(crate) name: usize,
    pub(crate) what: usize,
}

/// The four header layouts of one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layouts {
    pub(crate) route: RouteLayout,
    pub(crate) interface: InterfaceLayout,
    pub(crate) address: AddressLayout,
    /// `None` where the system has no `RTM_IFANNOUNCE` (Apple).
    pub(crate) announce: Option<AnnounceLayout>,
}

/// `IFNAMSIZ` on every BSD.
pub(crate) const IFNAMSIZ: usize = 16;

impl Layouts {
    pub(crate) const fn of(abi: Abi) -> Self {
        // The classic order (`index`, `flags`, `addrs` in `rt_msghdr`;
        // `addrs`, `flags`, `index` in `if_msghdr` and `ifa_msghdr`) that
        // Apple, FreeBSD and NetBSD keep for the fields read here.
        let route = RouteLayout {
            start: Start::Fixed(0),
            index: 4,
            flags: 8,
            addrs: 12,
            pid: 16,
            seq: 20,
            errno: 24,
        };
        let interface = InterfaceLayout {
            start: Start::Fixed(0),
            addrs: 4,
            flags: 8,
            index: 12,
        };
        let address = AddressLayout {
            start: Start::Fixed(0),
            addrs: 4,
            flags: 8,
            index: 12,
            addr_flags: None,
            metric: 16,
        };
        let announce = AnnounceLayout {
            start: Start::Fixed(24),
            index: 4,
            name: 6,
            what: 22,
        };
        // DragonFly 5.8 and NetBSD 8 put `ifam_index` first and added
        // `ifam_pid` and `ifam_addrflags`.
        let address_with_pid = AddressLayout {
            start: Start::Fixed(0),
            index: 4,
            flags: 8,
            addrs: 12,
            addr_flags: Some(20),
            metric: 24,
        };
        match abi.os() {
            // rt_msghdr: 8 ints, u_int32_t rtm_inits, then 14 u_int32_t
            // of rt_metrics; if_msghdr: 16 bytes, then a 96-byte if_data
            // of 32-bit fields.
            Os::Apple => Self {
                route: RouteLayout {
                    start: Start::Fixed(92),
                    ..route
                },
                interface: InterfaceLayout {
                    start: Start::Fixed(112),
                    ..interface
                },
                address: AddressLayout {
                    start: Start::Fixed(20),
                    ..address
                },
                announce: None,
            },
            // rt_msghdr: 32 bytes of shorts and ints, u_long rtm_inits,
            // then 14 u_long of rt_metrics; if_msghdr: 16 bytes, then
            // the 152-byte if_data that FreeBSD 11 made the same on every
            // machine.
            Os::FreeBsd => Self {
                route: RouteLayout {
                    start: Start::Fixed(32 + 15 * abi.long_bytes()),
                    ..route
                },
                interface: InterfaceLayout {
                    start: Start::Fixed(168),
                    ..interface
                },
                address: AddressLayout {
                    start: Start::Fixed(20),
                    ..address
                },
                announce: Some(announce),
            },
            // DragonFly 5.8 reordered if_msghdr to index, flags, addrs;
            // its if_data (of u_long counters) is 160 bytes on x86-64,
            // the one machine it runs on.
            Os::DragonFly => Self {
                route: RouteLayout {
                    start: Start::Fixed(32 + 15 * abi.long_bytes()),
                    ..route
                },
                interface: InterfaceLayout {
                    start: Start::Fixed(176),
                    index: 4,
                    flags: 8,
                    addrs: 12,
                },
                address: AddressLayout {
                    start: Start::Fixed(28),
                    ..address_with_pid
                },
                announce: Some(announce),
            },
            // Every NetBSD header is aligned to 8 bytes: rt_msghdr is 40
            // bytes and an 80-byte rt_metrics; if_msghdr 16 and a 136-byte
            // if_data; ifa_msghdr 28 bytes rounded up to 32.
            Os::NetBsd => Self {
                route: RouteLayout {
                    start: Start::Fixed(120),
                    ..route
                },
                interface: InterfaceLayout {
                    start: Start::Fixed(152),
                    ..interface
                },
                address: AddressLayout {
                    start: Start::Fixed(32),
                    ..address_with_pid
                },
                announce: Some(announce),
            },
            // OpenBSD: msglen, version, type, then u_short hdrlen and
            // u_short index in every header.
            Os::OpenBsd => Self {
                route: RouteLayout {
                    start: Start::Field { at: 4, min: 36 },
                    index: 6,
                    addrs: 12,
                    flags: 16,
                    pid: 24,
                    seq: 28,
                    errno: 32,
                },
                interface: InterfaceLayout {
                    start: Start::Field { at: 4, min: 24 },
                    index: 6,
                    addrs: 12,
                    flags: 16,
                },
                address: AddressLayout {
                    start: Start::Field { at: 4, min: 24 },
                    index: 6,
                    addrs: 12,
                    flags: 16,
                    addr_flags: None,
                    metric: 20,
                },
                announce: Some(AnnounceLayout {
                    start: Start::Field { at: 4, min: 26 },
                    index: 6,
                    what: 8,
                    name: 10,
                }),
            },
        }
    }
}

/// What message type `t` is on `os`.
pub(crate) const fn kind_of(os: Os, t: u8) -> Kind {
    // Types 1 to 7 are the same on every system.
    match t {
        0x1 => return Kind::RouteAdd,
        0x2 => return Kind::RouteDelete,
        0x3 => return Kind::RouteChange,
        0x4 => return Kind::RouteGet,
        0x5 => return Kind::Losing,
        0x6 => return Kind::Redirect,
        0x7 => return Kind::Miss,
        _ => {}
    }
    match os {
        Os::Apple => match t {
            0x8 => Kind::Lock,
            0xb => Kind::Resolve,
            0xc => Kind::NewAddress,
            0xd => Kind::DeleteAddress,
            0xe => Kind::InterfaceInfo,
            0xf => Kind::NewMulticast,
            0x10 => Kind::DeleteMulticast,
            // RTM_OLDADD and RTM_OLDDEL (0x9, 0xa) come from the old
            // SIOCADDRT ioctls; RTM_IFINFO2, RTM_NEWMADDR2 and RTM_GET2
            // (0x12 to 0x14) are sysctl dump records.
            _ => Kind::Other(t),
        },
        Os::FreeBsd | Os::DragonFly => match t {
            0x8 => Kind::Lock,
            0xb => Kind::Resolve,
            0xc => Kind::NewAddress,
            0xd => Kind::DeleteAddress,
            0xe => Kind::InterfaceInfo,
            0xf => Kind::NewMulticast,
            0x10 => Kind::DeleteMulticast,
            0x11 => Kind::InterfaceAnnounce,
            // 0x12 is RTM_IEEE80211.
            _ => Kind::Other(t),
        },
        Os::NetBsd => match t {
            0x8 => Kind::Lock,
            0x10 => Kind::InterfaceAnnounce,
            0x14 => Kind::InterfaceInfo,
            0x16 => Kind::NewAddress,
            0x17 => Kind::DeleteAddress,
            0x18 => Kind::ChangeAddress,
            // 0xc to 0xf and 0x15 are the pre-8.0 address and interface
            // messages, sent only to compatibility sockets (PF_OROUTE);
            // 0x11 is RTM_IEEE80211, 0x12 RTM_SETGATE, 0x13
            // RTM_LLINFO_UPD.
            _ => Kind::Other(t),
        },
        Os::OpenBsd => match t {
            0xb => Kind::Resolve,
            0xc => Kind::NewAddress,
            0xd => Kind::DeleteAddress,
            0xe => Kind::InterfaceInfo,
            0xf => Kind::InterfaceAnnounce,
            0x10 => Kind::Desync,
            0x14 => Kind::ChangeAddress,
            0x16 => Kind::Source,
            // 0x11 RTM_INVALIDATE, 0x12 RTM_BFD, 0x13 RTM_PROPOSAL, 0x15
            // RTM_80211INFO.
            _ => Kind::Other(t),
        },
    }
}
