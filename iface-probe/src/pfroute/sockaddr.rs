//! The socket addresses in routing messages and in `getifaddrs` records:
//! `sockaddr_in`, `sockaddr_in6`, `sockaddr_dl`, and anything else kept
//! as bytes. Every BSD socket address starts with `u_char sa_len; u_char
//! sa_family`, so its length is known whatever its family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{AF_INET, AF_LINK, Abi};

/// One socket address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SockAddr {
    /// A socket address of length 0 (a default route's netmask, say), or
    /// one a message leaves out at its end (XNU ends a message right after
    /// the last address's own length, so an empty last address takes no
    /// bytes at all).
    Empty,
    /// `sockaddr_in`. A shorter one (netmasks are cut after their last
    /// non-zero byte) holds the bytes it has, the rest zero.
    Inet(Ipv4Addr),
    /// `sockaddr_in6`, its scope taken out of the address where the kernel
    /// embedded it (see [`unembed_scope`]).
    Inet6 {
        /// The address.
        addr: Ipv6Addr,
        /// `sin6_scope_id`, or the scope the kernel embedded; 0 for none.
        scope_id: u32,
    },
    /// `sockaddr_dl`: an interface.
    Link {
        /// `sdl_index`.
        index: u16,
        /// `sdl_type`, an `IFT_*` value.
        if_type: u8,
        /// The interface name (`sdl_nlen` bytes of `sdl_data`).
        name: String,
        /// The link-layer address (`sdl_alen` bytes after the name).
        address: Vec<u8>,
    },
    /// Any other family, or an address too short for its family: the
    /// family byte and the bytes after the two-byte header.
    Other {
        /// `sa_family`.
        family: u8,
        /// The `sa_len - 2` bytes after `sa_family`.
        data: Vec<u8>,
    },
}

/// The offset of the address in `sockaddr_in`.
const SIN_ADDR: usize = 4;
/// The offset of the address in `sockaddr_in6`.
const SIN6_ADDR: usize = 8;
/// The offset of `sin6_scope_id`, which ends `sockaddr_in6` (28 bytes).
const SIN6_SCOPE_ID: usize = 24;
/// The offset of `sdl_data` in `sockaddr_dl`.
const SDL_DATA: usize = 8;

impl SockAddr {
    /// Decodes one socket address from exactly its `sa_len` bytes (the
    /// first byte is taken as the length only to stop at it; `bytes` is
    /// not read past its end).
    pub fn decode(bytes: &[u8], abi: Abi) -> Self {
        let len = bytes
            .first()
            .map_or(0, |&l| usize::from(l))
            .min(bytes.len());
        let bytes = &bytes[..len];
        let Some(&family) = bytes.get(1) else {
            return if len == 0 {
                Self::Empty
            } else {
                Self::Other {
                    family: 0,
                    data: Vec::new(),
                }
            };
        };
        if family == AF_INET {
            Self::Inet(Ipv4Addr::from(padded::<4>(bytes, SIN_ADDR)))
        } else if family == abi.os().af_inet6() {
            let addr = Ipv6Addr::from(padded::<16>(bytes, SIN6_ADDR));
            let scope_id = bytes
                .get(SIN6_SCOPE_ID..SIN6_SCOPE_ID + 4)
                .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            let (addr, embedded) = unembed_scope(addr);
            let scope_id = match (scope_id, embedded) {
                (0, Some(id)) => u32::from(id),
                _ => scope_id,
            };
            Self::Inet6 { addr, scope_id }
        } else if family == AF_LINK {
            link(bytes).unwrap_or_else(|| other(family, bytes))
        } else {
            other(family, bytes)
        }
    }

    /// The address of a netmask, whatever its family byte says (kernels
    /// leave it unset on some masks) and however short it is: the bytes at
    /// the address's offset for `ipv6` or IPv4, zero past the end.
    pub fn netmask(bytes: &[u8], ipv6: bool) -> IpAddr {
        let len = bytes
            .first()
            .map_or(0, |&l| usize::from(l))
            .min(bytes.len());
        let bytes = &bytes[..len];
        if ipv6 {
            IpAddr::V6(Ipv6Addr::from(padded::<16>(bytes, SIN6_ADDR)))
        } else {
            IpAddr::V4(Ipv4Addr::from(padded::<4>(bytes, SIN_ADDR)))
        }
    }

    /// The IP address, for an [`Inet`](Self::Inet) or
    /// [`Inet6`](Self::Inet6) address.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Inet(v4) => Some(IpAddr::V4(*v4)),
            Self::Inet6 { addr, .. } => Some(IpAddr::V6(*addr)),
            _ => None,
        }
    }
}

/// `N` bytes from `at`, as many as `bytes` has, the rest zero.
fn padded<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(have) = bytes.get(at..) {
        let n = have.len().min(N);
        out[..n].copy_from_slice(&have[..n]);
    }
    out
}

fn other(family: u8, bytes: &[u8]) -> SockAddr {
    SockAddr::Other {
        family,
        data: bytes.get(2..).unwrap_or_default().to_vec(),
    }
}

/// A `sockaddr_dl`, when its name and address fit in its length.
fn link(bytes: &[u8]) -> Option<SockAddr> {
    let index = u16::from_ne_bytes([*bytes.get(2)?, *bytes.get(3)?]);
    let if_type = *bytes.get(4)?;
    let name_len = usize::from(*bytes.get(5)?);
    let addr_len = usize::from(*bytes.get(6)?);
    let data = bytes.get(SDL_DATA..)?;
    let name = data.get(..name_len)?;
    let address = data.get(name_len..name_len + addr_len)?;
    Some(SockAddr::Link {
        index,
        if_type,
        name: String::from_utf8_lossy(name).into_owned(),
        address: address.to_vec(),
    })
}

/// Takes the interface index that KAME-derived stacks (every BSD and
/// XNU) embed in bytes 2 and 3 of link-local unicast and of interface- and
/// link-local multicast addresses, in the kernel's form that `getifaddrs`
/// and routing messages pass on: `fe80:4::1` is `fe80::1` on interface 4.
/// Returns the plain address and the index, if one was embedded.
pub fn unembed_scope(addr: Ipv6Addr) -> (Ipv6Addr, Option<u16>) {
    let mut octets = addr.octets();
    let scoped = (octets[0] == 0xfe && octets[1] & 0xc0 == 0x80)
        || (octets[0] == 0xff && matches!(octets[1] & 0x0f, 0x01 | 0x02));
    let id = u16::from_be_bytes([octets[2], octets[3]]);
    if !scoped || id == 0 {
        return (addr, None);
    }
    octets[2] = 0;
    octets[3] = 0;
    (Ipv6Addr::from(octets), Some(id))
}
