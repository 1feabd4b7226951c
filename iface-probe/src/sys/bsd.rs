//! macOS, iOS and the BSDs (FreeBSD, NetBSD, OpenBSD, DragonFly):
//! interfaces and addresses from `getifaddrs`, each IPv6 address's flags
//! and lifetimes from the `SIOCGIFAFLAG_IN6` and `SIOCGIFALIFETIME_IN6`
//! ioctls, the kernel's source addresses from connected UDP sockets, and
//! changes from a `PF_ROUTE` socket.
//!
//! Only the system calls are here. The records they return are decoded by
//! [`crate::pfroute`], pure code tested on every system's layout on any
//! host; the constant assertions below check, when this file is compiled
//! for a target, that those layouts are the ones the `libc` crate defines
//! for it. Nothing BSD-specific can run where this crate is developed, so
//! these checks and the parser's tests are what prove this backend.
//!
//! A routing socket reports that interfaces, addresses or routes changed,
//! not what they are now, so every relevant message is a
//! [`Notice::Resync`]: the view reads the host again, flags included, and
//! finds the differences itself. It does not report the end of duplicate
//! address detection on macOS and FreeBSD (NetBSD's `RTM_CHGADDR` and
//! OpenBSD's `RTM_CHGADDRATTR` do, and count as changes), so
//! [`REPORTS_DAD`] is false and the view re-reads the flags every 50 ms
//! while an address is tentative.

use std::io::{self, Read};
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Socket, Type};

use super::Notice;
use super::ifaddrs;
use super::portable;
use super::udp;
use super::wake::{Interrupter, WakePipe, poll_two};
use crate::model::{Address, Interface, Route};
use crate::pfroute::{self, Abi, In6Ifreq, LifetimeClock, Os};
use crate::reach::Reach;
use crate::snapshot::Snapshot;
use crate::source::Dest;

#[cfg(target_vendor = "apple")]
const OS: Os = Os::Apple;
#[cfg(target_os = "freebsd")]
const OS: Os = Os::FreeBsd;
#[cfg(target_os = "netbsd")]
const OS: Os = Os::NetBsd;
#[cfg(target_os = "openbsd")]
const OS: Os = Os::OpenBsd;
#[cfg(target_os = "dragonfly")]
const OS: Os = Os::DragonFly;

/// This system's encoding of its records.
pub(crate) const ABI: Abi = match Abi::new(OS, size_of::<libc::c_long>(), size_of::<libc::time_t>())
{
    Some(abi) => abi,
    None => panic!("long and time_t are 4 or 8 bytes on every BSD"),
};

/// The backend's name.
pub(crate) const NAME: &str = "bsd";
/// A routing socket does not report the end of DAD (see the module docs):
/// the view polls the flags while an address is tentative.
pub(crate) const REPORTS_DAD: bool = false;
/// Notified of changes: no polling (except where the system refuses a
/// routing socket, when the notifier falls back to the portable one's
/// reading every second).
pub(crate) const POLLS_EVERY: Option<Duration> = None;

/// Reads the interfaces with their IPv6 flags and lifetimes, and asks for
/// the representative destinations.
pub(crate) fn capture() -> io::Result<Snapshot> {
    let mut snap = Snapshot {
        interfaces: interfaces()?,
        ..Snapshot::default()
    };
    snap.reach = Some(udp::reach(&snap)?);
    Ok(snap)
}

/// `getifaddrs`, then the ioctls for every IPv6 address, on one socket.
fn interfaces() -> io::Result<Vec<Interface>> {
    let entries = ifaddrs::entries()?;
    let mut interfaces = ifaddrs::interfaces(&entries);
    // Without an IPv6 socket (a kernel without IPv6) there are no IPv6
    // addresses to ask about.
    let Ok(socket) = Socket::new(Domain::IPV6, Type::DGRAM, None) else {
        return Ok(interfaces);
    };
    let now = now(OS.lifetime_clock());
    for iface in &mut interfaces {
        let Interface {
            index,
            name,
            addresses,
            ..
        } = iface;
        for address in addresses.iter_mut() {
            in6_state(socket.as_raw_fd(), name, *index, address, now);
        }
    }
    Ok(interfaces)
}

/// Fills in an IPv6 address's flags and lifetimes. An ioctl that fails
/// (the address went away since `getifaddrs`, say) leaves what it would
/// have filled in as it was: no flags, infinite lifetimes.
fn in6_state(fd: RawFd, name: &str, index: u32, address: &mut Address, now: Option<i64>) {
    let IpAddr::V6(ip) = address.ip else {
        return;
    };
    // A link-local address is named by its plain form and its interface.
    let scope_id = if ip.is_unicast_link_local() { index } else { 0 };
    let Some(request) = In6Ifreq::new(ABI, name, ip, scope_id) else {
        return;
    };
    if let Some(reply) = ioctl(fd, pfroute::siocgifaflag_in6(OS), request.clone()) {
        address.flags = pfroute::addr_flags(OS, reply.flags6());
    }
    let Some(now) = now else {
        return;
    };
    if let Some(reply) = ioctl(fd, pfroute::siocgifalifetime_in6(OS), request) {
        let lifetime = reply.lifetime(ABI);
        address.preferred_lft = lifetime.preferred_left(now);
        address.valid_lft = lifetime.valid_left(now);
    }
}

/// An `in6_ifreq` in storage aligned for its union's 64-bit counters.
#[repr(C, align(8))]
struct Aligned([u8; pfroute::IN6_IFREQ_LEN]);

/// One of the two `in6_ifreq` ioctls; the kernel's answer, or `None` when
/// it refused.
#[allow(unsafe_code)]
fn ioctl(fd: RawFd, request: u32, record: In6Ifreq) -> Option<In6Ifreq> {
    let mut buf = Aligned(record.into_bytes());
    // SAFETY: both requests are _IOWR on a struct in6_ifreq, whose size
    // (288 bytes, checked against libc below where it defines the type) the
    // request number encodes: the kernel reads and writes exactly that
    // many bytes of `buf`, a live local of that size, 8-byte aligned.
    let rc = unsafe { libc::ioctl(fd, libc::c_ulong::from(request), buf.0.as_mut_ptr()) };
    (rc == 0).then(|| In6Ifreq::from_bytes(buf.0))
}

/// The current time in whole seconds on `clock`; `None` if the system
/// cannot tell.
#[allow(unsafe_code)]
fn now(clock: LifetimeClock) -> Option<i64> {
    match clock {
        LifetimeClock::Wall => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
        LifetimeClock::Uptime => {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes one timespec into a live local.
            let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            // time_t is 32 bits on FreeBSD/i386, 64 elsewhere.
            #[allow(clippy::useless_conversion)]
            let secs = i64::from(ts.tv_sec);
            (rc == 0).then_some(secs)
        }
    }
}

/// Source lookups over connected UDP sockets.
#[derive(Debug)]
pub(crate) struct Lookups;

impl Lookups {
    pub(crate) fn open() -> io::Result<Self> {
        Ok(Self)
    }

    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        udp::lookups(dests)
    }

    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        capture()
    }

    pub(crate) fn reach(&mut self, snap: &Snapshot) -> io::Result<Reach> {
        udp::reach(snap)
    }
}

/// The receive buffer asked for on the routing socket: bursts (an
/// interface going away with its addresses and routes) should fit, though
/// an overflow is handled anyway (a [`Notice::Resync`]). The kernel may
/// give less (`kern.ipc.maxsockbuf`).
const NOTIFY_RCVBUF: usize = 256 * 1024;

/// Routing messages are a few hundred bytes; one longer than this is cut
/// short, fails to parse, and becomes a [`Notice::Resync`].
const NOTIFY_READ: usize = 16 * 1024;

/// Change notifications: a routing socket, or, where the system refuses
/// one (a sandbox), the portable backend's polling.
#[derive(Debug)]
pub(crate) struct Notifier {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Route(RouteSocket),
    Polling(portable::Notifier),
}

/// A non-blocking `PF_ROUTE` socket and a pipe to be woken through.
#[derive(Debug)]
struct RouteSocket {
    socket: Socket,
    wake: WakePipe,
    buf: Vec<u8>,
}

impl Notifier {
    /// Opens the routing socket (every message from here on is queued);
    /// `buffer` sets its receive buffer.
    pub(crate) fn open(buffer: Option<usize>) -> io::Result<Self> {
        let socket = match Socket::new(Domain::from(libc::PF_ROUTE), Type::RAW, None) {
            Ok(socket) => socket,
            Err(e) if refused(&e) => {
                return Ok(Self {
                    inner: Inner::Polling(portable::Notifier::open(buffer)?),
                });
            }
            Err(e) => return Err(e),
        };
        socket.set_nonblocking(true)?;
        // A smaller buffer than asked for only makes overflows likelier.
        let _ = socket.set_recv_buffer_size(buffer.unwrap_or(NOTIFY_RCVBUF));
        Ok(Self {
            inner: Inner::Route(RouteSocket {
                socket,
                wake: WakePipe::new()?,
                buf: vec![0; NOTIFY_READ],
            }),
        })
    }

    /// A handle that makes [`Notifier::wait`] return early.
    pub(crate) fn interrupter(&self) -> Interrupter {
        match &self.inner {
            Inner::Route(r) => r.wake.interrupter(),
            Inner::Polling(p) => p.interrupter(),
        }
    }

    /// A [`Notice::Resync`] once anything relevant was reported, waiting up
    /// to `timeout` (`None`: without limit) for it, or until woken.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        match &mut self.inner {
            Inner::Route(r) => r.wait(timeout, out),
            Inner::Polling(p) => p.wait(timeout, out),
        }
    }
}

/// Whether opening a routing socket failed because the system does not
/// allow one here (a sandbox, a jail without it), rather than for a
/// passing reason such as running out of descriptors.
fn refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EPERM | libc::EACCES | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
    )
}

impl RouteSocket {
    fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<Notice>) -> io::Result<()> {
        let before = out.len();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            self.read(out)?;
            if out.len() > before {
                return Ok(());
            }
            // Routing churn that changes nothing (misses, resolutions,
            // lookups by other programs) wakes the poll too: wait on for
            // the rest of the time.
            let left = match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(());
                    }
                    Some(left)
                }
                // No limit, or one too far to tell from none.
                _ => None,
            };
            poll_two(self.socket.as_raw_fd(), self.wake.fd(), left)?;
            if self.wake.drain() {
                return self.read(out);
            }
        }
    }

    /// Reads until the socket is empty, appending one [`Notice::Resync`]
    /// if anything read reported a change or could not be parsed, or if
    /// messages were lost.
    fn read(&mut self, out: &mut Vec<Notice>) -> io::Result<()> {
        loop {
            match (&self.socket).read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if changes(&self.buf[..n]) {
                        resync(out);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The socket's buffer overflowed: messages were lost.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => resync(out),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a read from the routing socket reports a change: a relevant
/// message, or one that cannot be parsed (which may have been anything).
fn changes(bytes: &[u8]) -> bool {
    pfroute::messages(bytes, ABI).any(|m| m.map_or(true, |m| m.changes_host()))
}

/// Appends one [`Notice::Resync`], once per wait: the view reads the whole
/// host however many messages asked it to.
fn resync(out: &mut Vec<Notice>) {
    if !out.contains(&Notice::Resync) {
        out.push(Notice::Resync);
    }
}

// The layouts the pure decoders use, checked against the `libc` crate's
// definitions for the target being compiled, wherever it has them: a
// wrong size, offset or number stops the build for that target.

/// Where a header's socket addresses start, when the header has a fixed
/// size (every system but OpenBSD).
const fn fixed(start: pfroute::layout::Start) -> usize {
    match start {
        pfroute::layout::Start::Fixed(size) => size,
        pfroute::layout::Start::Field { .. } => 0,
    }
}

/// What every system shares: socket address layouts, families and flag
/// bits.
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::{AF_INET, AF_LINK};

    assert!(libc::AF_INET == AF_INET as libc::c_int);
    assert!(libc::AF_INET6 == OS.af_inet6() as libc::c_int);
    assert!(libc::AF_LINK == AF_LINK as libc::c_int);
    assert!(size_of::<libc::sockaddr_in>() == 16);
    assert!(offset_of!(libc::sockaddr_in, sin_addr) == 4);
    assert!(size_of::<libc::sockaddr_in6>() == 28);
    assert!(offset_of!(libc::sockaddr_in6, sin6_addr) == 8);
    assert!(offset_of!(libc::sockaddr_in6, sin6_scope_id) == 24);
    assert!(offset_of!(libc::sockaddr_dl, sdl_index) == 2);
    assert!(offset_of!(libc::sockaddr_dl, sdl_type) == 4);
    assert!(offset_of!(libc::sockaddr_dl, sdl_nlen) == 5);
    assert!(offset_of!(libc::sockaddr_dl, sdl_alen) == 6);
    assert!(offset_of!(libc::sockaddr_dl, sdl_data) == 8);
    assert!(libc::IFF_LOOPBACK == 0x8);
    #[cfg(any(
        target_os = "macos",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    assert!(libc::RTF_LLINFO as u32 == pfroute::message::RTF_LLINFO);
};

/// Apple systems: `if_msghdr` and `ifa_msghdr` everywhere; the rest only
/// where the `libc` crate defines it (macOS).
#[cfg(target_vendor = "apple")]
const _: () = {
    use std::mem::offset_of;

    let l = ABI.layouts();
    assert!(size_of::<libc::if_msghdr>() == fixed(l.interface.start));
    assert!(offset_of!(libc::if_msghdr, ifm_addrs) == l.interface.addrs);
    assert!(offset_of!(libc::if_msghdr, ifm_flags) == l.interface.flags);
    assert!(offset_of!(libc::if_msghdr, ifm_index) == l.interface.index);
    assert!(size_of::<libc::ifa_msghdr>() == fixed(l.address.start));
    assert!(offset_of!(libc::ifa_msghdr, ifam_addrs) == l.address.addrs);
    assert!(offset_of!(libc::ifa_msghdr, ifam_flags) == l.address.flags);
    assert!(offset_of!(libc::ifa_msghdr, ifam_index) == l.address.index);
    assert!(offset_of!(libc::ifa_msghdr, ifam_metric) == l.address.metric);
    assert!(l.announce.is_none());
};

#[cfg(target_os = "macos")]
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::in6::{
        APPLE_IN6_IFF_DYNAMIC, APPLE_IN6_IFF_OPTIMISTIC, IN6_IFF_AUTOCONF, IN6_IFF_DEPRECATED,
        IN6_IFF_DUPLICATED, IN6_IFF_NODAD, IN6_IFF_TEMPORARY, IN6_IFF_TENTATIVE,
    };
    use crate::pfroute::layout::kind_of;
    use crate::pfroute::{IN6_IFREQ_LEN, Kind};

    let l = ABI.layouts();
    assert!(size_of::<libc::rt_msghdr>() == fixed(l.route.start));
    assert!(offset_of!(libc::rt_msghdr, rtm_index) == l.route.index);
    assert!(offset_of!(libc::rt_msghdr, rtm_flags) == l.route.flags);
    assert!(offset_of!(libc::rt_msghdr, rtm_addrs) == l.route.addrs);
    assert!(offset_of!(libc::rt_msghdr, rtm_pid) == l.route.pid);
    assert!(offset_of!(libc::rt_msghdr, rtm_seq) == l.route.seq);
    assert!(offset_of!(libc::rt_msghdr, rtm_errno) == l.route.errno);
    assert!(libc::RTM_VERSION == OS.rtm_version() as libc::c_int);
    assert!(matches!(kind_of(OS, libc::RTM_ADD as u8), Kind::RouteAdd));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELETE as u8),
        Kind::RouteDelete
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_CHANGE as u8),
        Kind::RouteChange
    ));
    assert!(matches!(kind_of(OS, libc::RTM_MISS as u8), Kind::Miss));
    assert!(matches!(
        kind_of(OS, libc::RTM_RESOLVE as u8),
        Kind::Resolve
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWADDR as u8),
        Kind::NewAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELADDR as u8),
        Kind::DeleteAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO as u8),
        Kind::InterfaceInfo
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO2 as u8),
        Kind::Other(_)
    ));
    assert!(libc::RTF_WASCLONED as u32 == pfroute::message::RTF_WASCLONED);
    assert!(size_of::<libc::in6_ifreq>() == IN6_IFREQ_LEN);
    assert!(offset_of!(libc::in6_ifreq, ifr_ifru) == 16);
    assert!(size_of::<libc::in6_addrlifetime>() == 2 * ABI.time_bytes() + 8);
    assert!(offset_of!(libc::in6_addrlifetime, ia6t_vltime) == 2 * ABI.time_bytes());
    assert!(libc::SIOCGIFAFLAG_IN6 == pfroute::siocgifaflag_in6(OS) as libc::c_ulong);
    assert!(libc::IN6_IFF_TENTATIVE as u32 == IN6_IFF_TENTATIVE);
    assert!(libc::IN6_IFF_DUPLICATED as u32 == IN6_IFF_DUPLICATED);
    assert!(libc::IN6_IFF_DEPRECATED as u32 == IN6_IFF_DEPRECATED);
    assert!(libc::IN6_IFF_NODAD as u32 == IN6_IFF_NODAD);
    assert!(libc::IN6_IFF_AUTOCONF as u32 == IN6_IFF_AUTOCONF);
    assert!(libc::IN6_IFF_TEMPORARY as u32 == IN6_IFF_TEMPORARY);
    assert!(libc::IN6_IFF_DYNAMIC as u32 == APPLE_IN6_IFF_DYNAMIC);
    assert!(libc::IN6_IFF_OPTIMISTIC as u32 == APPLE_IN6_IFF_OPTIMISTIC);
};

#[cfg(target_os = "freebsd")]
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::in6::{
        IN6_IFF_AUTOCONF, IN6_IFF_DEPRECATED, IN6_IFF_DUPLICATED, IN6_IFF_NODAD, IN6_IFF_TEMPORARY,
        IN6_IFF_TENTATIVE,
    };
    use crate::pfroute::layout::kind_of;
    use crate::pfroute::{Announcement, IN6_IFREQ_LEN, Kind};

    let l = ABI.layouts();
    assert!(size_of::<libc::rt_msghdr>() == fixed(l.route.start));
    assert!(offset_of!(libc::rt_msghdr, rtm_index) == l.route.index);
    assert!(offset_of!(libc::rt_msghdr, rtm_flags) == l.route.flags);
    assert!(offset_of!(libc::rt_msghdr, rtm_addrs) == l.route.addrs);
    assert!(offset_of!(libc::rt_msghdr, rtm_pid) == l.route.pid);
    assert!(offset_of!(libc::rt_msghdr, rtm_seq) == l.route.seq);
    assert!(offset_of!(libc::rt_msghdr, rtm_errno) == l.route.errno);
    assert!(size_of::<libc::if_msghdr>() == fixed(l.interface.start));
    assert!(offset_of!(libc::if_msghdr, ifm_addrs) == l.interface.addrs);
    assert!(offset_of!(libc::if_msghdr, ifm_flags) == l.interface.flags);
    assert!(offset_of!(libc::if_msghdr, ifm_index) == l.interface.index);
    assert!(size_of::<libc::ifa_msghdr>() == fixed(l.address.start));
    assert!(offset_of!(libc::ifa_msghdr, ifam_addrs) == l.address.addrs);
    assert!(offset_of!(libc::ifa_msghdr, ifam_flags) == l.address.flags);
    assert!(offset_of!(libc::ifa_msghdr, ifam_index) == l.address.index);
    assert!(offset_of!(libc::ifa_msghdr, ifam_metric) == l.address.metric);
    let Some(a) = l.announce else {
        panic!("FreeBSD has RTM_IFANNOUNCE")
    };
    assert!(size_of::<libc::if_announcemsghdr>() == fixed(a.start));
    assert!(offset_of!(libc::if_announcemsghdr, ifan_index) == a.index);
    assert!(offset_of!(libc::if_announcemsghdr, ifan_name) == a.name);
    assert!(offset_of!(libc::if_announcemsghdr, ifan_what) == a.what);
    assert!(libc::IFAN_ARRIVAL as u16 == Announcement::ARRIVAL);
    assert!(libc::IFAN_DEPARTURE as u16 == Announcement::DEPARTURE);
    assert!(libc::RTM_VERSION == OS.rtm_version() as libc::c_int);
    assert!(matches!(kind_of(OS, libc::RTM_ADD as u8), Kind::RouteAdd));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELETE as u8),
        Kind::RouteDelete
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_CHANGE as u8),
        Kind::RouteChange
    ));
    assert!(matches!(kind_of(OS, libc::RTM_MISS as u8), Kind::Miss));
    assert!(matches!(
        kind_of(OS, libc::RTM_RESOLVE as u8),
        Kind::Resolve
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWADDR as u8),
        Kind::NewAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELADDR as u8),
        Kind::DeleteAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO as u8),
        Kind::InterfaceInfo
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFANNOUNCE as u8),
        Kind::InterfaceAnnounce
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWMADDR as u8),
        Kind::NewMulticast
    ));
    assert!(size_of::<libc::in6_ifreq>() == IN6_IFREQ_LEN);
    assert!(offset_of!(libc::in6_ifreq, ifr_ifru) == 16);
    assert!(size_of::<libc::in6_addrlifetime>() == 2 * ABI.time_bytes() + 8);
    assert!(offset_of!(libc::in6_addrlifetime, ia6t_vltime) == 2 * ABI.time_bytes());
    assert!(libc::SIOCGIFAFLAG_IN6 == pfroute::siocgifaflag_in6(OS) as libc::c_ulong);
    assert!(libc::IN6_IFF_TENTATIVE as u32 == IN6_IFF_TENTATIVE);
    assert!(libc::IN6_IFF_DUPLICATED as u32 == IN6_IFF_DUPLICATED);
    assert!(libc::IN6_IFF_DEPRECATED as u32 == IN6_IFF_DEPRECATED);
    assert!(libc::IN6_IFF_NODAD as u32 == IN6_IFF_NODAD);
    assert!(libc::IN6_IFF_AUTOCONF as u32 == IN6_IFF_AUTOCONF);
    assert!(libc::IN6_IFF_TEMPORARY as u32 == IN6_IFF_TEMPORARY);
};

/// NetBSD, OpenBSD and DragonFly: what the `libc` crate defines for them
/// (no Rust toolchain for these targets was at hand when this was written:
/// building for one is what runs these checks).
#[cfg(target_os = "netbsd")]
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::Kind;
    use crate::pfroute::layout::kind_of;

    let l = ABI.layouts();
    assert!(size_of::<libc::if_msghdr>() == fixed(l.interface.start));
    assert!(offset_of!(libc::if_msghdr, ifm_addrs) == l.interface.addrs);
    assert!(offset_of!(libc::if_msghdr, ifm_flags) == l.interface.flags);
    assert!(offset_of!(libc::if_msghdr, ifm_index) == l.interface.index);
    assert!(libc::RTM_VERSION == OS.rtm_version() as libc::c_int);
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWADDR as u8),
        Kind::NewAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELADDR as u8),
        Kind::DeleteAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_CHGADDR as u8),
        Kind::ChangeAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO as u8),
        Kind::InterfaceInfo
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFANNOUNCE as u8),
        Kind::InterfaceAnnounce
    ));
};

#[cfg(target_os = "openbsd")]
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::Kind;
    use crate::pfroute::layout::{Start, kind_of};

    let l = ABI.layouts();
    assert!(matches!(l.interface.start, Start::Field { at: 4, .. }));
    assert!(offset_of!(libc::if_msghdr, ifm_hdrlen) == 4);
    assert!(offset_of!(libc::if_msghdr, ifm_index) == l.interface.index);
    assert!(offset_of!(libc::if_msghdr, ifm_addrs) == l.interface.addrs);
    assert!(offset_of!(libc::if_msghdr, ifm_flags) == l.interface.flags);
    assert!(libc::RTM_VERSION == OS.rtm_version() as libc::c_int);
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWADDR as u8),
        Kind::NewAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_DELADDR as u8),
        Kind::DeleteAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO as u8),
        Kind::InterfaceInfo
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFANNOUNCE as u8),
        Kind::InterfaceAnnounce
    ));
    assert!(matches!(kind_of(OS, libc::RTM_DESYNC as u8), Kind::Desync));
    assert!(matches!(
        kind_of(OS, libc::RTM_CHGADDRATTR as u8),
        Kind::ChangeAddress
    ));
    assert!(libc::RTF_CLONED as u32 == pfroute::message::OPENBSD_RTF_CLONED);
};

#[cfg(target_os = "dragonfly")]
const _: () = {
    use std::mem::offset_of;

    use crate::pfroute::Kind;
    use crate::pfroute::layout::kind_of;

    let l = ABI.layouts();
    assert!(size_of::<libc::if_msghdr>() == fixed(l.interface.start));
    assert!(offset_of!(libc::if_msghdr, ifm_index) == l.interface.index);
    assert!(offset_of!(libc::if_msghdr, ifm_flags) == l.interface.flags);
    assert!(offset_of!(libc::if_msghdr, ifm_addrs) == l.interface.addrs);
    assert!(libc::RTM_VERSION == OS.rtm_version() as libc::c_int);
    assert!(matches!(
        kind_of(OS, libc::RTM_NEWADDR as u8),
        Kind::NewAddress
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFINFO as u8),
        Kind::InterfaceInfo
    ));
    assert!(matches!(
        kind_of(OS, libc::RTM_IFANNOUNCE as u8),
        Kind::InterfaceAnnounce
    ));
    assert!(libc::RTF_WASCLONED as u32 == pfroute::message::RTF_WASCLONED);
};
