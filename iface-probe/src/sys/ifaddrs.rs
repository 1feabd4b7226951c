//! Unix: `getifaddrs(3)`, copied out of the C list into plain records
//! (the only unsafe part), then turned into interfaces by pure code.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::IpAddr;

use crate::model::{Address, Interface, LinkKind};

/// `IFF_UP`, `IFF_LOOPBACK` and `IFF_RUNNING` have these values on Linux,
/// macOS and every BSD.
const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;

/// One entry of the `getifaddrs` list, copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The interface name.
    pub(crate) name: String,
    /// The interface's `IFF_*` flags.
    pub(crate) flags: u32,
    /// The address, for `AF_INET` and `AF_INET6` entries.
    pub(crate) addr: Option<IpAddr>,
    /// The netmask, when the entry has one of the same family.
    pub(crate) netmask: Option<IpAddr>,
    /// The interface index: from the link-layer entry where the system
    /// has one (`AF_LINK`), else `if_nametoindex`.
    pub(crate) index: u32,
    /// The interface type from a BSD `AF_LINK` entry (`sdl_type`, an
    /// `IFT_*` value); 0 when unknown.
    pub(crate) link_type: u16,
}

/// Frees the list on every path out of [`entries`].
struct List(*mut libc::ifaddrs);

impl Drop for List {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getifaddrs call,
            // is freed only here, once, and nothing read from the list
            // outlives this guard (every field is copied out first).
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

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
use readers_bsd as readers;
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
use readers_plain as readers;

/// The socket addresses of macOS and the BSDs carry their length
/// (`sa_len`): only that many bytes are read, and the routing message
/// decoder decodes them, so that a netmask the kernel cut short is read as
/// short as it is, and a link-local address comes without the interface
/// index the kernel embeds in it (`fe80:4::1` is `fe80::1` on interface
/// 4).
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
mod readers_bsd {
    use std::net::IpAddr;

    use crate::pfroute::SockAddr;
    use crate::sys::bsd::ABI;

    /// The `sa_len` bytes of a socket address.
    ///
    /// # Safety
    ///
    /// `sa` is null or points at a socket address as `getifaddrs` returns
    /// them, and the list it belongs to outlives the slice.
    #[allow(unsafe_code)]
    unsafe fn bytes<'a>(sa: *const libc::sockaddr) -> Option<&'a [u8]> {
        if sa.is_null() {
            return None;
        }
        // SAFETY: a non-null socket address has at least its length byte.
        let len = usize::from(unsafe { (*sa).sa_len });
        // SAFETY: getifaddrs copies each address into the list with all
        // the bytes its sa_len gives, and the caller keeps the list alive.
        Some(unsafe { std::slice::from_raw_parts(sa.cast::<u8>(), len) })
    }

    /// The address of an `AF_INET` or `AF_INET6` socket address.
    ///
    /// # Safety
    ///
    /// As [`bytes`].
    #[allow(unsafe_code)]
    pub(super) unsafe fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
        // SAFETY: the caller's promise, passed on.
        SockAddr::decode(unsafe { bytes(sa) }?, ABI).ip()
    }

    /// A netmask of the family of an `ipv6` or IPv4 address, whatever its
    /// own family byte says.
    ///
    /// # Safety
    ///
    /// As [`bytes`].
    #[allow(unsafe_code)]
    pub(super) unsafe fn mask_of(sa: *const libc::sockaddr, ipv6: bool) -> Option<IpAddr> {
        // SAFETY: the caller's promise, passed on.
        Some(SockAddr::netmask(unsafe { bytes(sa) }?, ipv6))
    }

    /// The interface index and `IFT_*` type of an `AF_LINK` entry.
    ///
    /// # Safety
    ///
    /// As [`bytes`].
    #[allow(unsafe_code)]
    pub(super) unsafe fn link_of(sa: *const libc::sockaddr) -> Option<(u32, u16)> {
        // SAFETY: the caller's promise, passed on.
        match SockAddr::decode(unsafe { bytes(sa) }?, ABI) {
            SockAddr::Link { index, if_type, .. } => Some((u32::from(index), u16::from(if_type))),
            _ => None,
        }
    }
}

/// Other Unix systems: socket addresses read as the structure their
/// family names.
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
mod readers_plain {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// The address in a `sockaddr` of family `AF_INET` or `AF_INET6`.
    ///
    /// # Safety
    ///
    /// `sa` is null or points at a socket address as `getifaddrs` returns
    /// them: as long as its family says.
    #[allow(unsafe_code)]
    pub(super) unsafe fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
        if sa.is_null() {
            return None;
        }
        // SAFETY: a non-null sockaddr from getifaddrs has at least the
        // common header, whose family tells the full length.
        let family = i32::from(unsafe { (*sa).sa_family });
        match family {
            libc::AF_INET => {
                // SAFETY: the family says this is a sockaddr_in; read
                // unaligned since the C list guarantees no alignment to
                // Rust.
                let sin = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, a sockaddr_in6.
                let sin6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }

    /// A netmask: an address of its own family.
    ///
    /// # Safety
    ///
    /// As [`ip_of`].
    #[allow(unsafe_code)]
    pub(super) unsafe fn mask_of(sa: *const libc::sockaddr, _ipv6: bool) -> Option<IpAddr> {
        // SAFETY: the caller's promise, passed on.
        unsafe { ip_of(sa) }
    }

    /// The interface index and type of an `AF_LINK` entry.
    ///
    /// # Safety
    ///
    /// As [`ip_of`].
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    #[allow(unsafe_code)]
    pub(super) unsafe fn link_of(sa: *const libc::sockaddr) -> Option<(u32, u16)> {
        if sa.is_null() {
            return None;
        }
        // SAFETY: see ip_of.
        if i32::from(unsafe { (*sa).sa_family }) != libc::AF_LINK {
            return None;
        }
        // SAFETY: the family says this is a sockaddr_dl.
        let dl = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_dl>()) };
        Some((u32::from(dl.sdl_index), u16::from(dl.sdl_type)))
    }

    /// Linux has no `AF_LINK`: indexes come from `if_nametoindex`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[allow(unsafe_code, clippy::unnecessary_wraps)]
    pub(super) unsafe fn link_of(_sa: *const libc::sockaddr) -> Option<(u32, u16)> {
        None
    }
}

/// Reads the list.
///
/// # Errors
///
/// When `getifaddrs` fails.
#[allow(unsafe_code)]
pub(crate) fn entries() -> io::Result<Vec<Entry>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into a valid out-pointer.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let list = List(head);
    let mut out = Vec::new();
    let mut links: BTreeMap<String, (u32, u16)> = BTreeMap::new();
    let mut cursor = list.0;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the live list (the guard frees it
        // only after the loop); its fields are read, never kept.
        let node = unsafe { &*cursor };
        cursor = node.ifa_next;
        if node.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a non-null ifa_name is a NUL-terminated string owned by
        // the list.
        let name = unsafe { CStr::from_ptr(node.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr and ifa_netmask are null or socket addresses
        // owned by the list, which lives until after the loop.
        let (addr, link) = unsafe {
            (
                readers::ip_of(node.ifa_addr),
                readers::link_of(node.ifa_addr),
            )
        };
        // SAFETY: as above.
        let netmask = addr.and_then(|a| unsafe { readers::mask_of(node.ifa_netmask, a.is_ipv6()) });
        if let Some(link) = link {
            links.insert(name.clone(), link);
        }
        out.push(Entry {
            name,
            flags: node.ifa_flags,
            addr,
            netmask,
            index: 0,
            link_type: 0,
        });
    }
    drop(list);
    for entry in &mut out {
        match links.get(&entry.name) {
            Some(&(index, link_type)) => (entry.index, entry.link_type) = (index, link_type),
            None => entry.index = name_to_index(&entry.name),
        }
    }
    Ok(out)
}

/// `if_nametoindex`, 0 when the name is unknown (or not a C string).
#[allow(unsafe_code)]
fn name_to_index(name: &str) -> u32 {
    let Ok(c_name) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: a valid NUL-terminated string, only read.
    unsafe { libc::if_nametoindex(c_name.as_ptr()) }
}

/// The prefix length a netmask stands for: its leading one bits.
fn prefix_len(mask: Option<IpAddr>) -> u8 {
    let ones = match mask {
        Some(IpAddr::V4(m)) => u32::from(m).leading_ones(),
        Some(IpAddr::V6(m)) => u128::from(m).leading_ones(),
        None => 0,
    };
    u8::try_from(ones).unwrap_or(0)
}

/// The kind of an entry's interface: on macOS and the BSDs from its
/// `IFT_*` type, with its name as the fallback.
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
fn kind_of(entry: &Entry) -> LinkKind {
    // sdl_type is one byte; the entry keeps it wider, like Linux's types.
    let if_type = u8::try_from(entry.link_type).unwrap_or(0);
    crate::pfroute::link_kind(super::bsd::ABI.os(), if_type, &entry.name, entry.flags)
}

/// The kind of an entry's interface, by its name.
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
fn kind_of(entry: &Entry) -> LinkKind {
    kind_from_name(&entry.name, entry.flags)
}

/// A kind for an interface seen only through `getifaddrs`: loopback by
/// flag, else by the driver prefix of its name (`tun`, `utun`, `gif`,
/// `stf`, `wg`, ...), which is all a portable program can go by.
#[cfg(any(
    test,
    not(any(
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
pub(crate) fn kind_from_name(name: &str, flags: u32) -> LinkKind {
    if flags & IFF_LOOPBACK != 0 {
        return LinkKind::Loopback;
    }
    LinkKind::from_name(name)
}

/// Interfaces from the entries, in index order, each with its addresses
/// in the order listed. Entries of other families only make the
/// interface known. Address flags and lifetimes are unknown here.
pub(crate) fn interfaces(entries: &[Entry]) -> Vec<Interface> {
    let mut by_index: BTreeMap<u32, Interface> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.index != 0) {
        let iface = by_index.entry(entry.index).or_insert_with(|| {
            let mut i = Interface::new(entry.index, entry.name.clone());
            i.kind = kind_of(entry);
            i.link_type = entry.link_type;
            i
        });
        iface.flags = entry.flags;
        iface.up = entry.flags & IFF_UP != 0;
        iface.running = entry.flags & IFF_RUNNING != 0;
        iface.loopback = entry.flags & IFF_LOOPBACK != 0;
        if let Some(ip) = entry.addr {
            let mask = entry.netmask.filter(|m| m.is_ipv4() == ip.is_ipv4());
            let mut addr = Address::new(ip, prefix_len(mask));
            addr.scope = scope_of(ip);
            iface.addresses.push(addr);
        }
    }
    by_index.into_values().collect()
}

/// The `RT_SCOPE_*` value Linux would report for an address: host for
/// loopback, link for link-local, universe otherwise.
fn scope_of(ip: IpAddr) -> u8 {
    match teredo_addr::scope(ip) {
        teredo_addr::Scope::InterfaceLocal => 254,
        teredo_addr::Scope::LinkLocal => 253,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, index: u32, flags: u32, addr: Option<&str>, mask: Option<&str>) -> Entry {
        Entry {
            name: name.into(),
            flags,
            addr: addr.map(|a| a.parse().unwrap()),
            netmask: mask.map(|m| m.parse().unwrap()),
            index,
            link_type: 0,
        }
    }

    #[test]
    fn entries_become_interfaces_with_prefix_lengths() {
        let up = IFF_UP | IFF_RUNNING;
        let list = [
            entry("lo", 1, up | IFF_LOOPBACK, None, None),
            entry(
                "lo",
                1,
                up | IFF_LOOPBACK,
                Some("127.0.0.1"),
                Some("255.0.0.0"),
            ),
            entry("eth0", 2, up, Some("192.0.2.2"), Some("255.255.255.0")),
            entry(
                "eth0",
                2,
                up,
                Some("2001:db8::2"),
                Some("ffff:ffff:ffff:ffff::"),
            ),
            entry("eth0", 2, up, Some("fe80::1"), None),
            entry(
                "utun3",
                7,
                IFF_UP,
                Some("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
                Some("ffff:ffff::"),
            ),
            entry("gone", 0, up, Some("192.0.2.9"), None),
        ];
        let ifaces = interfaces(&list);
        let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0", "utun3"]);
        assert_eq!(ifaces[0].kind, LinkKind::Loopback);
        assert!(ifaces[0].is_loopback() && ifaces[0].is_operational());
        let lens: Vec<u8> = ifaces[1].addresses.iter().map(|a| a.prefix_len).collect();
        assert_eq!(lens, [24, 64, 0]);
        assert_eq!(ifaces[1].addresses[2].scope, 253);
        assert_eq!(ifaces[2].kind, LinkKind::Tun);
        assert!(ifaces[2].up && !ifaces[2].running);
        assert_eq!(ifaces[2].addresses[0].prefix_len, 32);
    }

    #[test]
    fn kinds_by_driver_prefix() {
        assert_eq!(kind_from_name("gif0", 0), LinkKind::Ip6Tnl);
        assert_eq!(kind_from_name("stf0", 0), LinkKind::Sit);
        assert_eq!(kind_from_name("teredo", 0), LinkKind::Tun);
        assert_eq!(kind_from_name("en0", 0), LinkKind::Other("en".into()));
        assert_eq!(kind_from_name("anything", IFF_LOOPBACK), LinkKind::Loopback);
    }

    #[test]
    fn this_hosts_list_has_loopback() {
        let list = entries().unwrap();
        let ifaces = interfaces(&list);
        assert!(ifaces.iter().any(Interface::is_loopback), "{ifaces:?}");
    }
}
