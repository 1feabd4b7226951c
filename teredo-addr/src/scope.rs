//! Address scopes as RFC 4291 and RFC 6724 §3.2 define them.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The scope of an address, with the numeric values of RFC 4291 §2.7
/// (the values RFC 6724 compares: a smaller value is a smaller scope).
///
/// Scopes compare, and are equal, by [`value`](Self::value): realm-local
/// (`Other(3)`) is smaller than admin-local, and `Other(14)` is `Global`.
///
/// ```
/// use teredo_addr::{scope, Scope};
/// assert!(scope("ff03::1".parse().unwrap()) < scope("ff04::1".parse().unwrap()));
/// assert!(Scope::Other(0) < Scope::InterfaceLocal);
/// assert_eq!(Scope::Other(14), Scope::Global);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Scope {
    /// Interface-local (1): `ff01::/16`.
    InterfaceLocal,
    /// Link-local (2): `fe80::/10`, `ff02::/16`, and for IPv4 `127/8` and `169.254/16`.
    LinkLocal,
    /// Admin-local (4): `ff04::/16`.
    AdminLocal,
    /// Site-local (5): the deprecated `fec0::/10` and `ff05::/16`.
    SiteLocal,
    /// Organization-local (8): `ff08::/16`.
    OrganizationLocal,
    /// Global (14): everything else.
    Global,
    /// A multicast scope value with no name of its own (0, 3, 6, 7, 9-13, 15).
    Other(u8),
}

impl Scope {
    /// The scope's numeric value (RFC 4291 §2.7): link-local is 2, global 14.
    pub const fn value(self) -> u8 {
        match self {
            Self::InterfaceLocal => 0x1,
            Self::LinkLocal => 0x2,
            Self::AdminLocal => 0x4,
            Self::SiteLocal => 0x5,
            Self::OrganizationLocal => 0x8,
            Self::Global => 0xe,
            Self::Other(v) => v,
        }
    }

    /// The scope with this numeric value (only the low four bits count).
    pub const fn from_value(value: u8) -> Self {
        match value & 0xf {
            0x1 => Self::InterfaceLocal,
            0x2 => Self::LinkLocal,
            0x4 => Self::AdminLocal,
            0x5 => Self::SiteLocal,
            0x8 => Self::OrganizationLocal,
            0xe => Self::Global,
            v => Self::Other(v),
        }
    }

    /// A short lowercase name: `link-local`, `global`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Self::InterfaceLocal => "interface-local",
            Self::LinkLocal => "link-local",
            Self::AdminLocal => "admin-local",
            Self::SiteLocal => "site-local",
            Self::OrganizationLocal => "organization-local",
            Self::Global => "global",
            Self::Other(_) => "other",
        }
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl Eq for Scope {}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scope {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.value().cmp(&other.value())
    }
}

impl core::hash::Hash for Scope {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.value().hash(state);
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(v) => write!(f, "scope {v}"),
            s => f.write_str(s.name()),
        }
    }
}

/// The scope of any address.
///
/// IPv6 follows RFC 4291: the multicast scope field, loopback (§2.5.3) and `fe80::/10` link-local, `fec0::/10` site-local, the rest
/// global. IPv4 follows RFC 6724 §3.2: `127.0.0.0/8` and `169.254.0.0/16` are
/// link-local and everything else (private ranges included) is global.
/// IPv4-mapped IPv6 addresses take the scope of the IPv4 address they carry.
///
/// ```
/// use teredo_addr::{scope, Scope};
/// assert_eq!(scope("fe80::1".parse().unwrap()), Scope::LinkLocal);
/// assert_eq!(scope("169.254.1.1".parse().unwrap()), Scope::LinkLocal);
/// assert_eq!(scope("10.0.0.1".parse().unwrap()), Scope::Global);
/// ```
pub fn scope(addr: IpAddr) -> Scope {
    match addr {
        IpAddr::V4(v4) => scope_v4(v4),
        IpAddr::V6(v6) => scope_v6(v6),
    }
}

fn scope_v4(addr: Ipv4Addr) -> Scope {
    if addr.is_loopback() || addr.is_link_local() {
        Scope::LinkLocal
    } else {
        Scope::Global
    }
}

fn scope_v6(addr: Ipv6Addr) -> Scope {
    let seg0 = addr.segments()[0];
    if let Some(v4) = addr.to_ipv4_mapped() {
        return scope_v4(v4);
    }
    if addr.is_multicast() {
        return Scope::from_value((seg0 & 0x000f) as u8);
    }
    if addr.is_loopback() {
        // RFC 4291 §2.5.3: the loopback address is treated as link-local.
        return Scope::LinkLocal;
    }
    match seg0 & 0xffc0 {
        0xfe80 => Scope::LinkLocal,
        0xfec0 => Scope::SiteLocal,
        _ => Scope::Global,
    }
}
