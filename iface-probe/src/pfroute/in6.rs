//! IPv6 address state on macOS and the BSDs: the `in6_ifreq` record of
//! the `SIOCGIFAFLAG_IN6` and `SIOCGIFALIFETIME_IN6` ioctls, the
//! `IN6_IFF_*` flags mapped onto this crate's [`AddrFlags`] (Linux's
//! `IFA_F_*` bits), and the lifetimes turned into seconds left.
//!
//! `struct in6_ifreq` is `char ifr_name[IFNAMSIZ]` and a union whose
//! largest member is `struct icmp6_ifstat`, 34 64-bit counters (272
//! bytes): 288 bytes on every one of these systems (XNU, FreeBSD, NetBSD,
//! OpenBSD and DragonFly `netinet6/in6_var.h`), and so
//! `SIOCGIFAFLAG_IN6`, `_IOWR('i', 73, struct in6_ifreq)`, is 0xc1206949
//! everywhere. `SIOCGIFALIFETIME_IN6` is `_IOWR('i', 81, ...)`,
//! 0xc1206951, except on NetBSD, which moved it to 106 (0xc120696a) when
//! `time_t` became 64 bits.

use std::net::Ipv6Addr;

use super::layout::IFNAMSIZ;
use super::{Abi, Os};
use crate::model::AddrFlags;

/// The size of `struct in6_ifreq` on every supported system.
pub const IN6_IFREQ_LEN: usize = 288;

/// Where the union (`ifr_ifru`) starts: right after the name.
const IFRU: usize = IFNAMSIZ;

/// `_IOWR('i', nr, struct in6_ifreq)`: `IOC_INOUT` (0xc0000000), the
/// argument's size in bits 16 to 28 (`IOCPARM_MASK` 0x1fff), the group in
/// bits 8 to 15 and the number in bits 0 to 7, as every BSD's
/// `sys/ioccom.h` encodes it.
const fn iowr_in6_ifreq(nr: u8) -> u32 {
    0xc000_0000 | ((IN6_IFREQ_LEN as u32 & 0x1fff) << 16) | ((b'i' as u32) << 8) | nr as u32
}

/// `SIOCGIFAFLAG_IN6` on `os`: an address's `IN6_IFF_*` flags.
pub const fn siocgifaflag_in6(os: Os) -> u32 {
    match os {
        Os::Apple | Os::FreeBsd | Os::NetBsd | Os::OpenBsd | Os::DragonFly => iowr_in6_ifreq(73),
    }
}

/// `SIOCGIFALIFETIME_IN6` on `os`: an address's lifetimes.
pub const fn siocgifalifetime_in6(os: Os) -> u32 {
    match os {
        // NetBSD 6 renumbered it ("81 was old SIOCGIFALIFETIME_IN6") when
        // its time_t grew to 64 bits.
        Os::NetBsd => iowr_in6_ifreq(106),
        Os::Apple | Os::FreeBsd | Os::OpenBsd | Os::DragonFly => iowr_in6_ifreq(81),
    }
}

/// An `in6_ifreq`: an interface name and an address, and after either
/// ioctl the kernel's answer in place of the address.
#[derive(Clone, PartialEq, Eq)]
pub struct In6Ifreq {
    bytes: [u8; IN6_IFREQ_LEN],
}

impl std::fmt::Debug for In6Ifreq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("In6Ifreq").finish_non_exhaustive()
    }
}

impl In6Ifreq {
    /// A request about `addr` on interface `name`: the name NUL-terminated
    /// in `ifr_name`, then a `sockaddr_in6` (`sin6_len` 28, the system's
    /// `AF_INET6`, `addr`, `scope_id`). A link-local address goes in its
    /// plain form with the interface's index as `scope_id`: each kernel
    /// embeds the scope itself. `None` when the name does not fit
    /// `IFNAMSIZ` with its NUL, or holds one.
    pub fn new(abi: Abi, name: &str, addr: Ipv6Addr, scope_id: u32) -> Option<Self> {
        let name = name.as_bytes();
        if name.len() >= IFNAMSIZ || name.contains(&0) {
            return None;
        }
        let mut bytes = [0; IN6_IFREQ_LEN];
        bytes[..name.len()].copy_from_slice(name);
        bytes[IFRU] = 28;
        bytes[IFRU + 1] = abi.os().af_inet6();
        bytes[IFRU + 8..IFRU + 24].copy_from_slice(&addr.octets());
        bytes[IFRU + 24..IFRU + 28].copy_from_slice(&scope_id.to_ne_bytes());
        Some(Self { bytes })
    }

    /// The record's bytes, to hand to the ioctl (from storage aligned for
    /// the union's 64-bit members).
    pub fn into_bytes(self) -> [u8; IN6_IFREQ_LEN] {
        self.bytes
    }

    /// The record the kernel filled in.
    pub fn from_bytes(bytes: [u8; IN6_IFREQ_LEN]) -> Self {
        Self { bytes }
    }

    /// `ifru_flags6`, after `SIOCGIFAFLAG_IN6`: the address's raw
    /// `IN6_IFF_*` flags.
    pub fn flags6(&self) -> u32 {
        let b = &self.bytes[IFRU..IFRU + 4];
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }

    /// `ifru_lifetime`, after `SIOCGIFALIFETIME_IN6`: `time_t
    /// ia6t_expire`, `time_t ia6t_preferred`, `u_int32_t ia6t_vltime`,
    /// `u_int32_t ia6t_pltime`.
    pub fn lifetime(&self, abi: Abi) -> AddrLifetime {
        let t = abi.time_bytes();
        let time = |at: usize| -> i64 {
            let b = &self.bytes[IFRU + at..IFRU + at + t];
            if t == 8 {
                i64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            } else {
                i64::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            }
        };
        let word = |at: usize| -> u32 {
            let b = &self.bytes[IFRU + at..IFRU + at + 4];
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        };
        AddrLifetime {
            expire: time(0),
            preferred: time(t),
            vltime: word(2 * t),
            pltime: word(2 * t + 4),
        }
    }
}

/// Which clock an `in6_addrlifetime`'s expiry times count on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifetimeClock {
    /// Seconds since the epoch (`CLOCK_REALTIME`).
    Wall,
    /// Seconds since boot (`time_uptime`, which `CLOCK_MONOTONIC` counts
    /// too).
    Uptime,
}

impl Os {
    /// The clock of `SIOCGIFALIFETIME_IN6`'s expiry times. XNU keeps them
    /// in uptime and converts them to calendar time for the ioctl
    /// (`in6ifa_getlifetime(..., 1)`); NetBSD converts with
    /// `time_mono_to_wall` and OpenBSD by subtracting `getuptime()` and
    /// adding `gettime()`. FreeBSD and DragonFly hand out `time_uptime`
    /// based values as they are, and FreeBSD's `ifconfig` compares them
    /// with `CLOCK_MONOTONIC_FAST`.
    pub const fn lifetime_clock(self) -> LifetimeClock {
        match self {
            Self::Apple | Self::NetBsd | Self::OpenBsd => LifetimeClock::Wall,
            Self::FreeBsd | Self::DragonFly => LifetimeClock::Uptime,
        }
    }
}

/// An address's `struct in6_addrlifetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AddrLifetime {
    /// `ia6t_expire`: when the address becomes invalid, on the system's
    /// [`LifetimeClock`]; 0 is never.
    pub expire: i64,
    /// `ia6t_preferred`: when it becomes deprecated; 0 is never.
    pub preferred: i64,
    /// `ia6t_vltime`: the valid lifetime it was given, in seconds
    /// (`ND6_INFINITE_LIFETIME`, 0xffffffff, is forever).
    pub vltime: u32,
    /// `ia6t_pltime`: the preferred lifetime it was given.
    pub pltime: u32,
}

impl AddrLifetime {
    /// `ND6_INFINITE_LIFETIME`.
    pub const INFINITE: u32 = u32::MAX;

    /// Seconds of valid lifetime left at `now` (on the system's
    /// [`LifetimeClock`]); `None` is forever.
    pub fn valid_left(&self, now: i64) -> Option<u32> {
        left(self.expire, self.vltime, now)
    }

    /// Seconds of preferred lifetime left at `now`; `None` is forever.
    pub fn preferred_left(&self, now: i64) -> Option<u32> {
        left(self.preferred, self.pltime, now)
    }
}

/// Seconds until `expiry`, none once it passed; forever when there is no
/// expiry, when the lifetime given was infinite, or when the time left
/// does not fit 32 bits (the kernels' guard against overflow, `maxexpire`,
/// gives the largest `time_t`), which is also Linux's forever.
fn left(expiry: i64, lifetime: u32, now: i64) -> Option<u32> {
    if expiry == 0 || lifetime == AddrLifetime::INFINITE {
        return None;
    }
    let left = expiry.saturating_sub(now).max(0);
    u32::try_from(left)
        .ok()
        .filter(|&l| l != AddrLifetime::INFINITE)
}

/// `IN6_IFF_*` values the systems share (the BSD backend checks them
/// against the `libc` crate at compile time where it has them).
pub(crate) const IN6_IFF_TENTATIVE: u32 = 0x02;
pub(crate) const IN6_IFF_DUPLICATED: u32 = 0x04;
pub(crate) const IN6_IFF_DEPRECATED: u32 = 0x10;
/// Not on OpenBSD, where 0x20 is unassigned.
pub(crate) const IN6_IFF_NODAD: u32 = 0x20;
pub(crate) const IN6_IFF_AUTOCONF: u32 = 0x40;
/// `IN6_IFF_TEMPORARY`; OpenBSD's `IN6_IFF_PRIVACY` is the same bit.
pub(crate) const IN6_IFF_TEMPORARY: u32 = 0x80;
/// XNU's `IN6_IFF_DYNAMIC` (a DHCPv6 address); FreeBSD's
/// `IN6_IFF_PREFER_SOURCE` has the same value.
pub(crate) const APPLE_IN6_IFF_DYNAMIC: u32 = 0x100;
/// XNU's `IN6_IFF_OPTIMISTIC`; no BSD has optimistic DAD.
pub(crate) const APPLE_IN6_IFF_OPTIMISTIC: u32 = 0x200;

/// An address's `IN6_IFF_*` flags as [`AddrFlags`] (Linux's `IFA_F_*`
/// bits): tentative, duplicated (DAD failed), deprecated, temporary and
/// no-DAD map one to one; XNU's optimistic is Linux's optimistic *and*
/// tentative (XNU sets one or the other while DAD runs, Linux both); an
/// address configured neither by autoconfiguration nor as a temporary
/// (nor, on Apple systems, by DHCPv6) is permanent. Anycast, detached and
/// the other system-specific bits have no counterpart and are dropped.
pub fn addr_flags(os: Os, raw: u32) -> AddrFlags {
    let mut flags = AddrFlags::NONE;
    let mut set = |bit: u32, flag: AddrFlags| {
        if raw & bit != 0 {
            flags = flags.union(flag);
        }
    };
    set(IN6_IFF_TENTATIVE, AddrFlags::TENTATIVE);
    set(IN6_IFF_DUPLICATED, AddrFlags::DADFAILED);
    set(IN6_IFF_DEPRECATED, AddrFlags::DEPRECATED);
    set(IN6_IFF_TEMPORARY, AddrFlags::TEMPORARY);
    if os != Os::OpenBsd {
        set(IN6_IFF_NODAD, AddrFlags::NODAD);
    }
    let mut not_manual = IN6_IFF_AUTOCONF | IN6_IFF_TEMPORARY;
    if os == Os::Apple {
        set(
            APPLE_IN6_IFF_OPTIMISTIC,
            AddrFlags::OPTIMISTIC.union(AddrFlags::TENTATIVE),
        );
        not_manual |= APPLE_IN6_IFF_DYNAMIC;
    }
    if raw & not_manual == 0 {
        flags = flags.union(AddrFlags::PERMANENT);
    }
    flags
}
