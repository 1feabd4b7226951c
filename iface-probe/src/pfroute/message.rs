//! Routing socket messages: the common header, the header of each message
//! type in each system's layout, and the socket addresses its `*_addrs`
//! bitmask announces.

use std::error::Error;
use std::fmt;

use super::layout::{IFNAMSIZ, Start, kind_of};
use super::sockaddr::SockAddr;
use super::{Abi, Os};

/// `RTF_LLINFO` (`RTF_LLDATA` on FreeBSD and NetBSD): the route is a
/// neighbour cache entry. The same bit on every system.
pub(crate) const RTF_LLINFO: u32 = 0x400;

/// `RTF_WASCLONED` on Apple systems and DragonFly: a host route cloned
/// from another on use.
pub(crate) const RTF_WASCLONED: u32 = 0x2_0000;

/// OpenBSD's `RTF_CLONED`, the same thing (which OpenBSD announces as
/// `RTM_ADD`, for every new neighbour among others).
pub(crate) const OPENBSD_RTF_CLONED: u32 = 0x1_0000;

/// The flags of routes whose comings and goings change no source address:
/// neighbour cache entries and cloned host routes. FreeBSD and NetBSD no
/// longer clone routes, and use those bits for other things.
const fn churn_flags(os: Os) -> u32 {
    match os {
        Os::Apple | Os::DragonFly => RTF_LLINFO | RTF_WASCLONED,
        Os::OpenBsd => RTF_LLINFO | OPENBSD_RTF_CLONED,
        Os::FreeBsd | Os::NetBsd => RTF_LLINFO,
    }
}

/// `msglen`, `version` and `type`: the start of every message.
const COMMON_HEADER: usize = 4;

/// What a message is about, whatever number the system gives its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `RTM_ADD`: a route was added.
    RouteAdd,
    /// `RTM_DELETE`: a route was removed.
    RouteDelete,
    /// `RTM_CHANGE`: a route's gateway, interface or metrics changed.
    RouteChange,
    /// `RTM_GET`: the answer to a lookup (sent to the asking socket only).
    RouteGet,
    /// `RTM_LOSING`: the kernel suspects a route is failing.
    Losing,
    /// `RTM_REDIRECT`: an ICMP redirect was followed.
    Redirect,
    /// `RTM_MISS`: a lookup found no route.
    Miss,
    /// `RTM_LOCK`: metrics were locked.
    Lock,
    /// `RTM_RESOLVE`: a request to resolve a link-layer address.
    Resolve,
    /// `RTM_NEWADDR`: an address was added to an interface.
    NewAddress,
    /// `RTM_DELADDR`: an address was removed from an interface.
    DeleteAddress,
    /// An address's flags changed: NetBSD's `RTM_CHGADDR`, OpenBSD's
    /// `RTM_CHGADDRATTR` (both sent when duplicate address detection
    /// ends, among other times).
    ChangeAddress,
    /// `RTM_IFINFO`: an interface's flags (up, running, ...) changed.
    InterfaceInfo,
    /// `RTM_IFANNOUNCE`: an interface arrived or departed (not on Apple
    /// systems).
    InterfaceAnnounce,
    /// `RTM_NEWMADDR`: a multicast group was joined.
    NewMulticast,
    /// `RTM_DELMADDR`: a multicast group was left.
    DeleteMulticast,
    /// OpenBSD's `RTM_DESYNC`: the socket's buffer overflowed and messages
    /// were lost.
    Desync,
    /// OpenBSD's `RTM_SOURCE`: the preferred source address changed.
    Source,
    /// A type this parser has no name for (wireless events, OpenBSD's
    /// proposals, sysctl dump records, ...), with its number.
    Other(u8),
}

/// One routing socket message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// `*_msglen`: the message's length in bytes, header included.
    pub length: usize,
    /// `*_version`.
    pub version: u8,
    /// `*_type`, the system's number.
    pub message_type: u8,
    /// What the type stands for.
    pub kind: Kind,
    /// The header fields and socket addresses.
    pub body: Body,
    /// The system it came from, whose flags [`Message::changes_host`]
    /// reads.
    os: Os,
}

/// The decoded part of a message, by header structure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `struct rt_msghdr`.
    Route(RouteHeader),
    /// `struct if_msghdr`.
    Interface(InterfaceHeader),
    /// `struct ifa_msghdr`.
    Address(AddressHeader),
    /// `struct if_announcemsghdr`.
    Announce(Announcement),
    /// A type whose header is not decoded here (multicast memberships,
    /// wireless events, ...): only its common header was checked.
    Undecoded,
}

/// The socket addresses after a header, each with the `RTA_*` bit that
/// announced it (`RTA_DST` 0x1, `RTA_GATEWAY` 0x2, `RTA_NETMASK` 0x4,
/// `RTA_GENMASK` 0x8, `RTA_IFP` 0x10, `RTA_IFA` 0x20, `RTA_AUTHOR` 0x40,
/// `RTA_BRD` 0x80 on every system; higher bits are system-specific).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addrs {
    bits: u32,
    entries: Vec<(u32, SockAddr)>,
}

impl Addrs {
    /// The `*_addrs` bitmask.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The address announced by `rta` (one `RTA_*` bit).
    pub fn get(&self, rta: u32) -> Option<&SockAddr> {
        self.entries
            .iter()
            .find(|(bit, _)| *bit == rta)
            .map(|(_, sa)| sa)
    }

    /// Every address with its bit, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SockAddr)> {
        self.entries.iter().map(|(bit, sa)| (*bit, sa))
    }
}

/// The fields of an `rt_msghdr` used here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteHeader {
    /// `rtm_index`: the interface.
    pub index: u16,
    /// `rtm_flags`: the `RTF_*` flags.
    pub flags: u32,
    /// `rtm_pid`: the process that asked, 0 for the kernel.
    pub pid: i32,
    /// `rtm_seq`: the asker's sequence number.
    pub seq: i32,
    /// `rtm_errno`: why a request failed; 0 when it did not.
    pub errno: i32,
    /// The socket addresses (`rtm_addrs`).
    pub addrs: Addrs,
}

/// The fields of an `if_msghdr` used here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InterfaceHeader {
    /// `ifm_index`.
    pub index: u16,
    /// `ifm_flags`: the interface's `IFF_*` flags.
    pub flags: u32,
    /// The socket addresses (`ifm_addrs`).
    pub addrs: Addrs,
}

/// The fields of an `ifa_msghdr` used here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddressHeader {
    /// `ifam_index`: the interface.
    pub index: u16,
    /// `ifam_flags`: the address's `IFA_*` flags (`IFA_ROUTE`).
    pub flags: u32,
    /// `ifam_addrflags`: the address's `IN6_IFF_*` flags, where the header
    /// carries them (NetBSD, DragonFly).
    pub addr_flags: Option<u32>,
    /// `ifam_metric`.
    pub metric: i32,
    /// The socket addresses (`ifam_addrs`): the address itself is
    /// `RTA_IFA`.
    pub addrs: Addrs,
}

/// The fields of an `if_announcemsghdr`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Announcement {
    /// `ifan_index`.
    pub index: u16,
    /// `ifan_name`.
    pub name: String,
    /// `ifan_what`: `IFAN_ARRIVAL` (0) or `IFAN_DEPARTURE` (1).
    pub what: u16,
}

impl Announcement {
    /// `IFAN_ARRIVAL`.
    pub const ARRIVAL: u16 = 0;
    /// `IFAN_DEPARTURE`.
    pub const DEPARTURE: u16 = 1;
}

impl Message {
    /// Whether the message reports a change to interfaces, addresses or
    /// routes, after which the host must be read again: an interface or
    /// address message, a route added, removed or changed (not a
    /// neighbour cache entry or a cloned host route, not a request that
    /// failed), or word that messages were lost. Lookups, misses, resolutions, redirects,
    /// multicast memberships and the like are routing churn that changes
    /// neither addresses nor the routes sources come from.
    pub fn changes_host(&self) -> bool {
        match self.kind {
            Kind::RouteAdd | Kind::RouteDelete | Kind::RouteChange => match &self.body {
                Body::Route(route) => route.errno == 0 && route.flags & churn_flags(self.os) == 0,
                _ => true,
            },
            Kind::NewAddress
            | Kind::DeleteAddress
            | Kind::ChangeAddress
            | Kind::InterfaceInfo
            | Kind::InterfaceAnnounce
            | Kind::Desync
            | Kind::Source => true,
            Kind::RouteGet
            | Kind::Losing
            | Kind::Redirect
            | Kind::Miss
            | Kind::Lock
            | Kind::Resolve
            | Kind::NewMulticast
            | Kind::DeleteMulticast
            | Kind::Other(_) => false,
        }
    }
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// Where the message starts in the bytes given.
    pub offset: usize,
    /// What was wrong with it.
    pub problem: Problem,
}

/// What was wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Fewer bytes remain than the common header (`msglen`, `version`,
    /// `type`) needs.
    Short {
        /// How many bytes remain.
        available: usize,
    },
    /// `msglen` is smaller than the common header.
    LengthTooSmall {
        /// `msglen`.
        length: usize,
    },
    /// `msglen` runs past the bytes read (the message was cut short).
    LengthPastEnd {
        /// `msglen`.
        length: usize,
        /// How many bytes remain from the message's start.
        available: usize,
    },
    /// The message is of another `RTM_VERSION` than the system's.
    Version {
        /// The message's version.
        found: u8,
        /// The system's.
        expected: u8,
    },
    /// The message is shorter than its type's header.
    HeaderTooShort {
        /// The message type.
        message_type: u8,
        /// The header's size (or the least an OpenBSD header may have).
        needed: usize,
        /// `msglen`.
        length: usize,
    },
    /// An OpenBSD header length outside what the header and the message
    /// allow.
    HeaderLength {
        /// The message type.
        message_type: u8,
        /// `*_hdrlen`.
        header_length: usize,
        /// The least it may be.
        min: usize,
        /// `msglen`, the most it may be.
        length: usize,
    },
    /// A socket address says it is longer than what is left of the
    /// message.
    SockaddrPastEnd {
        /// The `RTA_*` bit that announced it.
        rta: u32,
        /// Where it starts in the message.
        at: usize,
        /// Its `sa_len`.
        sa_len: usize,
        /// The bytes left from `at` to the message's end.
        remaining: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short { available } => write!(
                f,
                "{available} bytes left, fewer than the {COMMON_HEADER}-byte common header"
            ),
            Self::LengthTooSmall { length } => write!(
                f,
                "length {length} is less than the {COMMON_HEADER}-byte common header"
            ),
            Self::LengthPastEnd { length, available } => {
                write!(f, "length {length} runs past the {available} bytes read")
            }
            Self::Version { found, expected } => {
                write!(f, "version {found}, expected {expected}")
            }
            Self::HeaderTooShort {
                message_type,
                needed,
                length,
            } => write!(
                f,
                "type {message_type:#x} message of {length} bytes is shorter than its \
                 {needed}-byte header"
            ),
            Self::HeaderLength {
                message_type,
                header_length,
                min,
                length,
            } => write!(
                f,
                "type {message_type:#x} message has header length {header_length}, \
                 outside {min} to {length}"
            ),
            Self::SockaddrPastEnd {
                rta,
                at,
                sa_len,
                remaining,
            } => write!(
                f,
                "socket address {rta:#x} at offset {at} is {sa_len} bytes long, \
                 but {remaining} remain"
            ),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "routing message at offset {}: {}",
            self.offset, self.problem
        )
    }
}

impl Error for ParseError {}

/// Decodes the message at the start of `bytes` (one read from a routing
/// socket holds one message; anything after it is ignored).
///
/// # Errors
///
/// When the message does not fit `abi`'s layout; see [`Problem`].
pub fn parse(bytes: &[u8], abi: Abi) -> Result<Message, ParseError> {
    parse_one(bytes, abi).map_err(|problem| ParseError { offset: 0, problem })
}

/// The messages one after another in `bytes` (a `sysctl` dump, or bytes
/// gathered from several reads). Stops after the first error: past a bad
/// length nothing can be trusted.
pub fn messages(bytes: &[u8], abi: Abi) -> Messages<'_> {
    Messages {
        bytes,
        abi,
        offset: 0,
        failed: false,
    }
}

/// The iterator of [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    bytes: &'a [u8],
    abi: Abi,
    offset: usize,
    failed: bool,
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.offset..)?;
        if self.failed || rest.is_empty() {
            return None;
        }
        match parse_one(rest, self.abi) {
            Ok(message) => {
                self.offset += message.length;
                Some(Ok(message))
            }
            Err(problem) => {
                self.failed = true;
                Some(Err(ParseError {
                    offset: self.offset,
                    problem,
                }))
            }
        }
    }
}

/// The 16-bit field at `at`; the caller has checked that it is there.
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .map_or(0, |b| u16::from_ne_bytes([b[0], b[1]]))
}

/// The 32-bit field at `at`; the caller has checked that it is there.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(u32_at(bytes, at).to_ne_bytes())
}

fn parse_one(bytes: &[u8], abi: Abi) -> Result<Message, Problem> {
    if bytes.len() < COMMON_HEADER {
        return Err(Problem::Short {
            available: bytes.len(),
        });
    }
    let length = usize::from(u16_at(bytes, 0));
    if length < COMMON_HEADER {
        return Err(Problem::LengthTooSmall { length });
    }
    let Some(msg) = bytes.get(..length) else {
        return Err(Problem::LengthPastEnd {
            length,
            available: bytes.len(),
        });
    };
    let (version, message_type) = (msg[2], msg[3]);
    let expected = abi.os().rtm_version();
    if version != expected {
        return Err(Problem::Version {
            found: version,
            expected,
        });
    }
    let kind = kind_of(abi.os(), message_type);
    let layouts = abi.layouts();
    let body = match kind {
        Kind::RouteAdd
        | Kind::RouteDelete
        | Kind::RouteChange
        | Kind::RouteGet
        | Kind::Losing
        | Kind::Redirect
        | Kind::Miss
        | Kind::Lock
        | Kind::Resolve
        | Kind::Source => {
            let l = layouts.route;
            let start = body_start(msg, l.start, message_type)?;
            let bits = u32_at(msg, l.addrs);
            Body::Route(RouteHeader {
                index: u16_at(msg, l.index),
                flags: u32_at(msg, l.flags),
                pid: i32_at(msg, l.pid),
                seq: i32_at(msg, l.seq),
                errno: i32_at(msg, l.errno),
                addrs: sockaddrs(msg, start, bits, abi)?,
            })
        }
        Kind::NewAddress | Kind::DeleteAddress | Kind::ChangeAddress => {
            let l = layouts.address;
            let start = body_start(msg, l.start, message_type)?;
            let bits = u32_at(msg, l.addrs);
            Body::Address(AddressHeader {
                index: u16_at(msg, l.index),
                flags: u32_at(msg, l.flags),
                addr_flags: l.addr_flags.map(|at| u32_at(msg, at)),
                metric: i32_at(msg, l.metric),
                addrs: sockaddrs(msg, start, bits, abi)?,
            })
        }
        Kind::InterfaceInfo => {
            let l = layouts.interface;
            let start = body_start(msg, l.start, message_type)?;
            let bits = u32_at(msg, l.addrs);
            Body::Interface(InterfaceHeader {
                index: u16_at(msg, l.index),
                flags: u32_at(msg, l.flags),
                addrs: sockaddrs(msg, start, bits, abi)?,
            })
        }
        Kind::InterfaceAnnounce => match layouts.announce {
            Some(l) => {
                body_start(msg, l.start, message_type)?;
                let name = msg.get(l.name..l.name + IFNAMSIZ).unwrap_or_default();
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                Body::Announce(Announcement {
                    index: u16_at(msg, l.index),
                    name: String::from_utf8_lossy(name).into_owned(),
                    what: u16_at(msg, l.what),
                })
            }
            None => Body::Undecoded,
        },
        Kind::NewMulticast | Kind::DeleteMulticast | Kind::Desync | Kind::Other(_) => {
            Body::Undecoded
        }
    };
    Ok(Message {
        length,
        version,
        message_type,
        kind,
        body,
        os: abi.os(),
    })
}

/// Where the socket addresses start, once the header is known to fit.
fn body_start(msg: &[u8], start: Start, message_type: u8) -> Result<usize, Problem> {
    let too_short = |needed| Problem::HeaderTooShort {
        message_type,
        needed,
        length: msg.len(),
    };
    match start {
        Start::Fixed(size) if msg.len() < size => Err(too_short(size)),
        Start::Fixed(size) => Ok(size),
        Start::Field { min, .. } if msg.len() < min => Err(too_short(min)),
        Start::Field { at, min } => {
            let header_length = usize::from(u16_at(msg, at));
            if header_length < min || header_length > msg.len() {
                return Err(Problem::HeaderLength {
                    message_type,
                    header_length,
                    min,
                    length: msg.len(),
                });
            }
            Ok(header_length)
        }
    }
}

/// The socket addresses from `start` to the end of `msg`, one for each bit
/// of `bits` from the lowest, each taking its length rounded up to the
/// system's unit.
fn sockaddrs(msg: &[u8], start: usize, bits: u32, abi: Abi) -> Result<Addrs, Problem> {
    let mut entries = Vec::with_capacity(bits.count_ones() as usize);
    let mut at = start;
    for i in 0..u32::BITS {
        let rta = 1 << i;
        if bits & rta == 0 {
            continue;
        }
        let remaining = msg.len().saturating_sub(at);
        let Some(&sa_len) = msg.get(at) else {
            // XNU ends a message right after the last address's own bytes,
            // so empty addresses at the end take none.
            entries.push((rta, SockAddr::Empty));
            continue;
        };
        let sa_len = usize::from(sa_len);
        if sa_len > remaining {
            return Err(Problem::SockaddrPastEnd {
                rta,
                at,
                sa_len,
                remaining,
            });
        }
        entries.push((rta, SockAddr::decode(&msg[at..at + sa_len], abi)));
        at = at.saturating_add(abi.sockaddr_space(sa_len)).min(msg.len());
    }
    Ok(Addrs { bits, entries })
}
