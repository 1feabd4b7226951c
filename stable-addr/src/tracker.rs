//! The pure core: a [`Tracker`] folds interface and address [`Event`]s
//! into a view of the host and says whether the addresses a [`Filter`]
//! names are stable.
//!
//! Nothing here does I/O or reads a clock, so every rule is unit-tested
//! with hand-made events; the netlink driver only turns kernel messages
//! into [`Event`]s and asks [`Tracker::status`] after each batch.
//!
//! # What "stable" means
//!
//! As on Windows, an address is stable when it is *preferred*: present, on
//! an interface that is administratively up (`IFF_UP`), and neither
//! tentative, optimistic, deprecated nor DAD-failed. Teredo addresses
//! (`2001:0::/32`) are the one exception: Windows treats its Teredo
//! interface as qualified once the address is there, so a Teredo address
//! counts once its interface is up and it is present and not tentative
//! (nor optimistic or DAD-failed); a deprecated Teredo address still
//! counts. Carrier is not required: a `tun` device only has carrier while
//! a process holds it, and the kernel already keeps addresses tentative
//! while DAD cannot run.
//!
//! # What each filter waits for
//!
//! | filter | stable when | failed when | notes |
//! | --- | --- | --- | --- |
//! | [`Filter::All`] | every address on every up interface is stable (possibly none) | any of them failed DAD | deprecated addresses and addresses on down interfaces are left out: they would never end the wait by themselves |
//! | [`Filter::Interface`], [`Filter::InterfaceName`] | the interface is up, has at least one address, and all are stable | one failed DAD, or the interface was seen and is now gone | deprecated addresses are left out, as for `All`; a renamed interface counts as gone for `InterfaceName` |
//! | [`Filter::Address`] | the address is stable on some interface | it failed DAD everywhere it is | absent (or removed mid-wait) is pending: it may come (back) |
//! | [`Filter::Teredo`] | some Teredo address is stable | every Teredo address failed DAD | a Teredo address removed mid-wait, or whose interface went away, is pending again |
//!
//! A DAD failure is a result, not a wait: the kernel keeps a failed static
//! address with `IFA_F_DADFAILED` (reported as failed while it stays) and
//! deletes a failed autoconfigured one (remembered as failed until the same
//! address comes back on the same interface).
//!
//! Before the first complete dump, and after a [`Event::Resync`] until the
//! next [`Event::Synced`], the status is pending with
//! [`PendingReason::Syncing`]: a half-read dump must not look stable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

/// Which addresses a wait is about. See the [module docs](self) for what
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

/// `IFA_F_OPTIMISTIC`: optimistic DAD (RFC 4429) is running.
const IFA_F_OPTIMISTIC: u32 = 0x04;
/// `IFA_F_DADFAILED`: duplicate address detection found a duplicate.
const IFA_F_DADFAILED: u32 = 0x08;
/// `IFA_F_DEPRECATED`: the preferred lifetime has run out.
const IFA_F_DEPRECATED: u32 = 0x20;
/// `IFA_F_TENTATIVE`: duplicate address detection has not finished.
const IFA_F_TENTATIVE: u32 = 0x40;

/// The address flags that decide stability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags {
    /// DAD has not finished (`IFA_F_TENTATIVE`).
    pub tentative: bool,
    /// Optimistic DAD is running (`IFA_F_OPTIMISTIC`): usable, yet not stable.
    pub optimistic: bool,
    /// DAD found a duplicate (`IFA_F_DADFAILED`).
    pub dadfailed: bool,
    /// The preferred lifetime ran out (`IFA_F_DEPRECATED`).
    pub deprecated: bool,
}

impl AddrFlags {
    /// No flag set: a preferred address.
    pub const PREFERRED: Self = Self {
        tentative: false,
        optimistic: false,
        dadfailed: false,
        deprecated: false,
    };

    /// Only `IFA_F_TENTATIVE` set: DAD is running.
    pub const TENTATIVE: Self = Self {
        tentative: true,
        ..Self::PREFERRED
    };

    /// The flags from the kernel's `IFA_F_*` bits (the `IFA_FLAGS`
    /// attribute, or the header's `ifa_flags` when that is missing).
    ///
    /// ```
    /// use stable_addr::AddrFlags;
    /// let f = AddrFlags::from_ifa_flags(0x40 | 0x80); // tentative, permanent
    /// assert!(f.tentative && !f.dadfailed);
    /// ```
    pub const fn from_ifa_flags(bits: u32) -> Self {
        Self {
            tentative: bits & IFA_F_TENTATIVE != 0,
            optimistic: bits & IFA_F_OPTIMISTIC != 0,
            dadfailed: bits & IFA_F_DADFAILED != 0,
            deprecated: bits & IFA_F_DEPRECATED != 0,
        }
    }
}

/// One change the tracker folds in. The driver makes these from netlink
/// messages; tests make them by hand.
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
    /// Events were lost (netlink `ENOBUFS`): forget the current view; a
    /// fresh dump follows, ended by [`Event::Synced`].
    Resync,
    /// The dump is complete: the view is whole from here on.
    Synced,
}

/// An address found stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StableAddr {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name, when the interface is known.
    pub ifname: Option<String>,
    /// The address.
    pub ip: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

impl fmt::Display for StableAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} on ", self.ip, self.prefix_len)?;
        write_iface(f, self.ifindex, self.ifname.as_deref())
    }
}

/// Why something is not stable yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingReason {
    /// No complete dump has been read yet.
    Syncing,
    /// DAD is running.
    Tentative,
    /// Optimistic DAD is running.
    Optimistic,
    /// The address is deprecated, so not preferred.
    Deprecated,
    /// The interface is down (or not known yet).
    InterfaceDown,
    /// The interface does not exist (yet).
    NoInterface,
    /// The interface is up but has no address.
    NoAddress,
    /// The address is not on any interface (yet).
    Absent,
    /// No Teredo address exists (yet).
    NoTeredoAddress,
}

impl PendingReason {
    /// A short lowercase description.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Syncing => "reading the current addresses",
            Self::Tentative => "tentative",
            Self::Optimistic => "optimistic",
            Self::Deprecated => "deprecated",
            Self::InterfaceDown => "interface down",
            Self::NoInterface => "no such interface",
            Self::NoAddress => "no address",
            Self::Absent => "not present",
            Self::NoTeredoAddress => "no teredo address",
        }
    }
}

/// Something a wait is still waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pending {
    /// The interface, when the wait is about one.
    pub ifindex: Option<u32>,
    /// The interface name, when known.
    pub ifname: Option<String>,
    /// The address, when the wait is about one.
    pub ip: Option<IpAddr>,
    /// Why it is not stable.
    pub reason: PendingReason,
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.ifindex) {
            (Some(ip), Some(index)) => {
                write!(f, "{ip} on ")?;
                write_iface(f, index, self.ifname.as_deref())?;
            }
            (Some(ip), None) => write!(f, "{ip}")?,
            (None, Some(index)) => {
                f.write_str("interface ")?;
                write_iface(f, index, self.ifname.as_deref())?;
            }
            (None, None) => match &self.ifname {
                Some(name) => write!(f, "interface {name}")?,
                None => return f.write_str(self.reason.as_str()),
            },
        }
        write!(f, " ({})", self.reason.as_str())
    }
}

/// Why a wait cannot succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// Duplicate address detection found the address in use elsewhere.
    DadFailed,
    /// The interface waited on was removed (or renamed away).
    InterfaceRemoved,
}

/// Something that ended a wait without success.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Failure {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name, when known.
    pub ifname: Option<String>,
    /// The address, for a DAD failure.
    pub ip: Option<IpAddr>,
    /// What went wrong.
    pub reason: FailureReason,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reason, self.ip) {
            (FailureReason::DadFailed, Some(ip)) => {
                write!(f, "{ip} on ")?;
                write_iface(f, self.ifindex, self.ifname.as_deref())?;
                f.write_str(" (duplicate address)")
            }
            _ => {
                f.write_str("interface ")?;
                write_iface(f, self.ifindex, self.ifname.as_deref())?;
                f.write_str(match self.reason {
                    FailureReason::DadFailed => " (duplicate address)",
                    FailureReason::InterfaceRemoved => " (removed)",
                })
            }
        }
    }
}

/// `name (index N)`, or `index N` when the name is unknown.
fn write_iface(f: &mut fmt::Formatter<'_>, index: u32, name: Option<&str>) -> fmt::Result {
    match name {
        Some(name) => write!(f, "{name} (index {index})"),
        None => write!(f, "index {index}"),
    }
}

/// What a filter's addresses amount to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Everything waited for is stable; these are the stable addresses of
    /// interest (empty only for [`Filter::All`] on a host with none).
    Stable(Vec<StableAddr>),
    /// Still waiting for these (never empty).
    Pending(Vec<Pending>),
    /// The wait cannot succeed (never empty).
    Failed(Vec<Failure>),
}

impl Status {
    /// Whether the status is [`Status::Stable`].
    pub const fn is_stable(&self) -> bool {
        matches!(self, Self::Stable(_))
    }
}

/// What the tracker knows of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    name: String,
    up: bool,
}

/// What the tracker knows of one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Addr {
    prefix_len: u8,
    flags: AddrFlags,
}

/// How one address counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Stable,
    Pending(PendingReason),
    Failed,
}

/// Folds [`Event`]s into a view of interfaces and addresses and judges a
/// [`Filter`] against it.
///
/// ```
/// use stable_addr::{AddrFlags, Event, Filter, Status, Tracker};
/// let ip = "2001:db8::1".parse().unwrap();
/// let mut t = Tracker::new(Filter::Address(ip));
/// t.apply(Event::Link { ifindex: 2, name: "eth0".into(), up: true, removed: false });
/// t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::TENTATIVE, removed: false });
/// t.apply(Event::Synced);
/// assert!(matches!(t.status(), Status::Pending(_)));
/// t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::PREFERRED, removed: false });
/// assert!(t.status().is_stable());
/// ```
#[derive(Debug, Clone)]
pub struct Tracker {
    filter: Filter,
    links: BTreeMap<u32, Link>,
    addrs: BTreeMap<(u32, IpAddr), Addr>,
    /// Autoconfigured addresses the kernel deleted after DAD failed, kept
    /// so the failure is reported rather than waited out. Survives
    /// [`Event::Resync`]: a dump cannot show what was deleted.
    failed_removed: BTreeSet<(u32, IpAddr)>,
    /// The index of the interface an interface filter matched, once seen;
    /// survives [`Event::Resync`] so a removal during an overrun is noticed.
    watched: Option<(u32, String)>,
    synced: bool,
}

impl Tracker {
    /// A tracker with an empty view, waiting for a dump.
    pub const fn new(filter: Filter) -> Self {
        Self {
            filter,
            links: BTreeMap::new(),
            addrs: BTreeMap::new(),
            failed_removed: BTreeSet::new(),
            watched: None,
            synced: false,
        }
    }

    /// The filter this tracker judges.
    pub const fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether a complete dump has been folded in since the last resync.
    pub const fn is_synced(&self) -> bool {
        self.synced
    }

    /// Folds one event into the view.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Address {
                ifindex,
                ip,
                prefix_len,
                flags,
                removed,
            } => {
                let key = (ifindex, ip);
                if removed {
                    self.addrs.remove(&key);
                    if flags.dadfailed {
                        self.failed_removed.insert(key);
                    }
                } else {
                    self.failed_removed.remove(&key);
                    self.addrs.insert(key, Addr { prefix_len, flags });
                }
            }
            Event::Link {
                ifindex,
                name,
                up,
                removed,
            } => {
                if removed {
                    self.links.remove(&ifindex);
                    self.addrs.retain(|&(index, _), _| index != ifindex);
                    self.failed_removed.retain(|&(index, _)| index != ifindex);
                } else {
                    let matches = match &self.filter {
                        Filter::Interface(index) => *index == ifindex,
                        Filter::InterfaceName(wanted) => *wanted == name,
                        _ => false,
                    };
                    if matches {
                        self.watched = Some((ifindex, name.clone()));
                    }
                    self.links.insert(ifindex, Link { name, up });
                }
            }
            Event::Resync => {
                self.links.clear();
                self.addrs.clear();
                self.synced = false;
            }
            Event::Synced => self.synced = true,
        }
    }

    /// Whether the filter's addresses are stable, pending or failed.
    pub fn status(&self) -> Status {
        if !self.synced {
            return Status::Pending(vec![Pending {
                ifindex: None,
                ifname: None,
                ip: None,
                reason: PendingReason::Syncing,
            }]);
        }
        match &self.filter {
            Filter::All => self.judge_all(|_| true, None),
            Filter::Interface(index) => self.judge_interface(self.links.get_key_value(index)),
            Filter::InterfaceName(name) => {
                self.judge_interface(self.links.iter().find(|(_, link)| link.name == *name))
            }
            Filter::Address(wanted) => self.judge_any(
                |ip| ip == *wanted,
                Pending {
                    ifindex: None,
                    ifname: None,
                    ip: Some(*wanted),
                    reason: PendingReason::Absent,
                },
            ),
            Filter::Teredo => self.judge_any(
                is_teredo,
                Pending {
                    ifindex: None,
                    ifname: None,
                    ip: None,
                    reason: PendingReason::NoTeredoAddress,
                },
            ),
        }
    }

    /// How one address counts, as the module docs define.
    fn verdict(&self, ifindex: u32, ip: IpAddr, addr: &Addr) -> Verdict {
        let up = self.links.get(&ifindex).is_some_and(|link| link.up);
        let flags = addr.flags;
        if flags.dadfailed {
            Verdict::Failed
        } else if !up {
            Verdict::Pending(PendingReason::InterfaceDown)
        } else if flags.optimistic {
            Verdict::Pending(PendingReason::Optimistic)
        } else if flags.tentative {
            Verdict::Pending(PendingReason::Tentative)
        } else if flags.deprecated && !is_teredo(ip) {
            Verdict::Pending(PendingReason::Deprecated)
        } else {
            Verdict::Stable
        }
    }

    fn ifname(&self, ifindex: u32) -> Option<String> {
        self.links.get(&ifindex).map(|link| link.name.clone())
    }

    fn stable_addr(&self, ifindex: u32, ip: IpAddr, addr: &Addr) -> StableAddr {
        StableAddr {
            ifindex,
            ifname: self.ifname(ifindex),
            ip,
            prefix_len: addr.prefix_len,
        }
    }

    fn pending(&self, ifindex: u32, ip: IpAddr, reason: PendingReason) -> Pending {
        Pending {
            ifindex: Some(ifindex),
            ifname: self.ifname(ifindex),
            ip: Some(ip),
            reason,
        }
    }

    fn dad_failure(&self, ifindex: u32, ip: IpAddr) -> Failure {
        Failure {
            ifindex,
            ifname: self.ifname(ifindex),
            ip: Some(ip),
            reason: FailureReason::DadFailed,
        }
    }

    /// Every address chosen by `on_link` (on an up interface) must be
    /// stable; `empty` is the pending answer when there is none (for a
    /// single interface), or `None` to call no addresses stable.
    fn judge_all(&self, on_link: impl Fn(u32) -> bool, empty: Option<Pending>) -> Status {
        let mut stable = Vec::new();
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for (&(ifindex, ip), addr) in &self.addrs {
            if !on_link(ifindex) {
                continue;
            }
            match self.verdict(ifindex, ip, addr) {
                Verdict::Stable => stable.push(self.stable_addr(ifindex, ip, addr)),
                Verdict::Failed => failed.push(self.dad_failure(ifindex, ip)),
                // A whole-table wait leaves out what can never end it by
                // itself: addresses on down interfaces, and deprecated ones.
                Verdict::Pending(PendingReason::InterfaceDown | PendingReason::Deprecated) => {}
                Verdict::Pending(reason) => pending.push(self.pending(ifindex, ip, reason)),
            }
        }
        for &(ifindex, ip) in &self.failed_removed {
            if on_link(ifindex) {
                failed.push(self.dad_failure(ifindex, ip));
            }
        }
        if !failed.is_empty() {
            Status::Failed(failed)
        } else if !pending.is_empty() {
            Status::Pending(pending)
        } else if let (true, Some(empty)) = (stable.is_empty(), empty) {
            Status::Pending(vec![empty])
        } else {
            Status::Stable(stable)
        }
    }

    fn judge_interface(&self, found: Option<(&u32, &Link)>) -> Status {
        let Some((&ifindex, link)) = found else {
            let (ifindex, ifname) = match (&self.filter, &self.watched) {
                (_, Some((index, name))) => {
                    return Status::Failed(vec![Failure {
                        ifindex: *index,
                        ifname: Some(name.clone()),
                        ip: None,
                        reason: FailureReason::InterfaceRemoved,
                    }]);
                }
                (Filter::Interface(index), None) => (Some(*index), None),
                (Filter::InterfaceName(name), None) => (None, Some(name.clone())),
                _ => (None, None),
            };
            return Status::Pending(vec![Pending {
                ifindex,
                ifname,
                ip: None,
                reason: PendingReason::NoInterface,
            }]);
        };
        let whole = Pending {
            ifindex: Some(ifindex),
            ifname: Some(link.name.clone()),
            ip: None,
            reason: PendingReason::NoAddress,
        };
        if !link.up {
            // DAD failures stay failures even on a down interface.
            if let Status::Failed(failed) = self.judge_all(|index| index == ifindex, None) {
                return Status::Failed(failed);
            }
            return Status::Pending(vec![Pending {
                reason: PendingReason::InterfaceDown,
                ..whole
            }]);
        }
        self.judge_all(|index| index == ifindex, Some(whole))
    }

    /// Some address matching `wanted` must be stable; failed only when all
    /// that match failed; `absent` is the pending answer when none exists.
    fn judge_any(&self, wanted: impl Fn(IpAddr) -> bool, absent: Pending) -> Status {
        let mut stable = Vec::new();
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for (&(ifindex, ip), addr) in &self.addrs {
            if !wanted(ip) {
                continue;
            }
            match self.verdict(ifindex, ip, addr) {
                Verdict::Stable => stable.push(self.stable_addr(ifindex, ip, addr)),
                Verdict::Failed => failed.push(self.dad_failure(ifindex, ip)),
                Verdict::Pending(reason) => pending.push(self.pending(ifindex, ip, reason)),
            }
        }
        for &(ifindex, ip) in &self.failed_removed {
            if wanted(ip) && !self.addrs.contains_key(&(ifindex, ip)) {
                failed.push(self.dad_failure(ifindex, ip));
            }
        }
        if !stable.is_empty() {
            Status::Stable(stable)
        } else if !pending.is_empty() {
            Status::Pending(pending)
        } else if !failed.is_empty() {
            Status::Failed(failed)
        } else {
            Status::Pending(vec![absent])
        }
    }
}

/// Whether `ip` is a Teredo address.
fn is_teredo(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => teredo_addr::is_teredo(v6),
        IpAddr::V4(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEREDO: &str = "2001:0:c633:640a:8000:f227:bd6a:13fe";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn link(ifindex: u32, name: &str, up: bool) -> Event {
        Event::Link {
            ifindex,
            name: name.to_owned(),
            up,
            removed: false,
        }
    }

    fn link_removed(ifindex: u32, name: &str) -> Event {
        Event::Link {
            ifindex,
            name: name.to_owned(),
            up: false,
            removed: true,
        }
    }

    fn addr(ifindex: u32, s: &str, flags: AddrFlags) -> Event {
        Event::Address {
            ifindex,
            ip: ip(s),
            prefix_len: 64,
            flags,
            removed: false,
        }
    }

    fn addr_removed(ifindex: u32, s: &str, flags: AddrFlags) -> Event {
        Event::Address {
            ifindex,
            ip: ip(s),
            prefix_len: 64,
            flags,
            removed: true,
        }
    }

    const DADFAILED: AddrFlags = AddrFlags {
        dadfailed: true,
        tentative: true,
        ..AddrFlags::PREFERRED
    };
    const OPTIMISTIC: AddrFlags = AddrFlags {
        optimistic: true,
        tentative: true,
        ..AddrFlags::PREFERRED
    };
    const DEPRECATED: AddrFlags = AddrFlags {
        deprecated: true,
        ..AddrFlags::PREFERRED
    };

    /// A tracker for `filter` after a dump of `lo` and `eth0` (index 2, up).
    fn synced(filter: Filter, dump: &[Event]) -> Tracker {
        let mut t = Tracker::new(filter);
        t.apply(link(1, "lo", true));
        t.apply(addr(1, "::1", AddrFlags::PREFERRED));
        t.apply(addr(1, "127.0.0.1", AddrFlags::PREFERRED));
        t.apply(link(2, "eth0", true));
        for e in dump {
            t.apply(e.clone());
        }
        t.apply(Event::Synced);
        t
    }

    fn pending_reasons(status: &Status) -> Vec<PendingReason> {
        match status {
            Status::Pending(p) => p.iter().map(|p| p.reason).collect(),
            other => panic!("expected pending, got {other:?}"),
        }
    }

    fn stable_ips(status: &Status) -> Vec<IpAddr> {
        match status {
            Status::Stable(s) => s.iter().map(|s| s.ip).collect(),
            other => panic!("expected stable, got {other:?}"),
        }
    }

    fn failures(status: &Status) -> Vec<FailureReason> {
        match status {
            Status::Failed(f) => f.iter().map(|f| f.reason).collect(),
            other => panic!("expected failed, got {other:?}"),
        }
    }

    #[test]
    fn nothing_is_stable_before_the_dump_completes() {
        let mut t = Tracker::new(Filter::All);
        t.apply(link(1, "lo", true));
        t.apply(addr(1, "::1", AddrFlags::PREFERRED));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Syncing]);
        t.apply(Event::Synced);
        assert_eq!(stable_ips(&t.status()), [ip("::1")]);
    }

    #[test]
    fn already_stable() {
        let a = "2001:db8::1";
        let t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::PREFERRED)]);
        let Status::Stable(s) = t.status() else {
            panic!()
        };
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].ifname.as_deref(), Some("eth0"));
        assert_eq!(s[0].to_string(), "2001:db8::1/64 on eth0 (index 2)");
        let all = synced(Filter::All, &[addr(2, a, AddrFlags::PREFERRED)]);
        assert_eq!(stable_ips(&all.status()).len(), 3);
    }

    #[test]
    fn tentative_then_stable() {
        let a = "2001:db8::1";
        let mut t = synced(Filter::All, &[addr(2, a, AddrFlags::TENTATIVE)]);
        let Status::Pending(p) = t.status() else {
            panic!()
        };
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].to_string(),
            "2001:db8::1 on eth0 (index 2) (tentative)"
        );
        t.apply(addr(2, a, AddrFlags::PREFERRED));
        assert_eq!(stable_ips(&t.status()).len(), 3);
    }

    #[test]
    fn miredo_announces_tentative_then_not() {
        let mut t = synced(Filter::Teredo, &[]);
        assert_eq!(
            pending_reasons(&t.status()),
            [PendingReason::NoTeredoAddress]
        );
        t.apply(link(7, "teredo", true));
        t.apply(addr(7, TEREDO, AddrFlags::TENTATIVE));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Tentative]);
        t.apply(addr(7, TEREDO, AddrFlags::PREFERRED));
        assert_eq!(stable_ips(&t.status()), [ip(TEREDO)]);
    }

    #[test]
    fn teredo_needs_its_interface_up() {
        let mut t = synced(Filter::Teredo, &[link(7, "teredo", false)]);
        t.apply(addr(7, TEREDO, AddrFlags::PREFERRED));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::InterfaceDown]);
        t.apply(link(7, "teredo", true));
        assert!(t.status().is_stable());
    }

    #[test]
    fn deprecated_teredo_still_counts() {
        let t = synced(
            Filter::Teredo,
            &[link(7, "teredo", true), addr(7, TEREDO, DEPRECATED)],
        );
        assert!(t.status().is_stable());
    }

    #[test]
    fn non_teredo_addresses_do_not_satisfy_teredo() {
        let t = synced(
            Filter::Teredo,
            &[addr(2, "2001:db8::1", AddrFlags::PREFERRED)],
        );
        assert_eq!(
            pending_reasons(&t.status()),
            [PendingReason::NoTeredoAddress]
        );
    }

    #[test]
    fn dad_failure_is_a_result() {
        let a = "2001:db8::1";
        for filter in [
            Filter::All,
            Filter::Interface(2),
            Filter::InterfaceName("eth0".into()),
            Filter::Address(ip(a)),
        ] {
            let mut t = synced(filter.clone(), &[addr(2, a, AddrFlags::TENTATIVE)]);
            t.apply(addr(2, a, DADFAILED));
            let Status::Failed(f) = t.status() else {
                panic!("{filter:?}: {:?}", t.status())
            };
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].reason, FailureReason::DadFailed);
            assert_eq!(
                f[0].to_string(),
                "2001:db8::1 on eth0 (index 2) (duplicate address)"
            );
        }
    }

    #[test]
    fn autoconf_address_deleted_after_dad_failure_is_a_failure() {
        let a = "2001:db8::1";
        let mut t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(addr_removed(2, a, DADFAILED));
        assert_eq!(failures(&t.status()), [FailureReason::DadFailed]);
        // Re-added (say after a new prefix announcement): waiting again.
        t.apply(addr(2, a, AddrFlags::TENTATIVE));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Tentative]);
    }

    #[test]
    fn one_good_instance_beats_a_failed_one() {
        let a = "2001:db8::1";
        let t = synced(
            Filter::Address(ip(a)),
            &[
                link(3, "eth1", true),
                addr(2, a, DADFAILED),
                addr(3, a, AddrFlags::PREFERRED),
            ],
        );
        let Status::Stable(s) = t.status() else {
            panic!()
        };
        assert_eq!(s[0].ifindex, 3);
    }

    #[test]
    fn optimistic_is_not_stable() {
        let a = "2001:db8::1";
        let t = synced(Filter::Address(ip(a)), &[addr(2, a, OPTIMISTIC)]);
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Optimistic]);
        let t = synced(Filter::All, &[addr(2, a, OPTIMISTIC)]);
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Optimistic]);
    }

    #[test]
    fn deprecated_is_not_preferred() {
        let a = "2001:db8::1";
        let b = "2001:db8::2";
        let t = synced(Filter::Address(ip(a)), &[addr(2, a, DEPRECATED)]);
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Deprecated]);
        // Whole-table waits leave deprecated addresses out of the table
        // rather than wait for them forever.
        let t = synced(
            Filter::Interface(2),
            &[addr(2, a, DEPRECATED), addr(2, b, AddrFlags::PREFERRED)],
        );
        assert_eq!(stable_ips(&t.status()), [ip(b)]);
    }

    #[test]
    fn address_absent_then_added() {
        let a = "192.0.2.1";
        let mut t = synced(Filter::Address(ip(a)), &[]);
        let Status::Pending(p) = t.status() else {
            panic!()
        };
        assert_eq!(p[0].to_string(), "192.0.2.1 (not present)");
        t.apply(addr(2, a, AddrFlags::PREFERRED));
        assert_eq!(stable_ips(&t.status()), [ip(a)]);
    }

    #[test]
    fn address_removed_mid_wait_is_pending_again() {
        let a = "2001:db8::1";
        let mut t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(addr_removed(2, a, AddrFlags::TENTATIVE));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Absent]);
        // For a whole-table wait, a removed tentative address no longer
        // holds the table back.
        let mut t = synced(Filter::All, &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(addr_removed(2, a, AddrFlags::TENTATIVE));
        assert!(t.status().is_stable());
    }

    #[test]
    fn interface_deleted_mid_wait_fails_an_interface_wait() {
        let a = "2001:db8::1";
        for filter in [Filter::Interface(2), Filter::InterfaceName("eth0".into())] {
            let mut t = synced(filter, &[addr(2, a, AddrFlags::TENTATIVE)]);
            t.apply(link_removed(2, "eth0"));
            let Status::Failed(f) = t.status() else {
                panic!()
            };
            assert_eq!(f[0].reason, FailureReason::InterfaceRemoved);
            assert_eq!(f[0].to_string(), "interface eth0 (index 2) (removed)");
        }
    }

    #[test]
    fn interface_deleted_mid_wait_for_other_filters() {
        let a = "2001:db8::1";
        let mut t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(link_removed(2, "eth0"));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Absent]);
        let mut t = synced(Filter::All, &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(link_removed(2, "eth0"));
        assert_eq!(stable_ips(&t.status()).len(), 2);
        let mut t = synced(
            Filter::Teredo,
            &[
                link(7, "teredo", true),
                addr(7, TEREDO, AddrFlags::TENTATIVE),
            ],
        );
        t.apply(link_removed(7, "teredo"));
        assert_eq!(
            pending_reasons(&t.status()),
            [PendingReason::NoTeredoAddress]
        );
    }

    #[test]
    fn interface_down_mid_wait() {
        let a = "2001:db8::1";
        let mut t = synced(
            Filter::InterfaceName("eth0".into()),
            &[addr(2, a, AddrFlags::PREFERRED)],
        );
        assert!(t.status().is_stable());
        t.apply(link(2, "eth0", false));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::InterfaceDown]);
        let mut t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::PREFERRED)]);
        t.apply(link(2, "eth0", false));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::InterfaceDown]);
        // A whole-table wait leaves the down interface out.
        let mut t = synced(Filter::All, &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(link(2, "eth0", false));
        assert_eq!(stable_ips(&t.status()).len(), 2);
    }

    #[test]
    fn interface_wait_needs_the_interface_and_an_address() {
        let mut t = synced(Filter::InterfaceName("veth0".into()), &[]);
        let Status::Pending(p) = t.status() else {
            panic!()
        };
        assert_eq!(p[0].to_string(), "interface veth0 (no such interface)");
        t.apply(link(5, "veth0", true));
        let Status::Pending(p) = t.status() else {
            panic!()
        };
        assert_eq!(p[0].to_string(), "interface veth0 (index 5) (no address)");
        t.apply(addr(5, "fe80::1", AddrFlags::TENTATIVE));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Tentative]);
        t.apply(addr(5, "fe80::1", AddrFlags::PREFERRED));
        assert_eq!(stable_ips(&t.status()), [ip("fe80::1")]);
    }

    #[test]
    fn resync_forgets_and_waits_for_the_new_dump() {
        let a = "2001:db8::1";
        let mut t = synced(Filter::All, &[addr(2, a, AddrFlags::TENTATIVE)]);
        t.apply(Event::Resync);
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Syncing]);
        // The fresh dump no longer has the tentative address (its removal
        // was among the lost events).
        t.apply(link(1, "lo", true));
        t.apply(addr(1, "::1", AddrFlags::PREFERRED));
        t.apply(link(2, "eth0", true));
        assert_eq!(pending_reasons(&t.status()), [PendingReason::Syncing]);
        t.apply(Event::Synced);
        assert_eq!(stable_ips(&t.status()), [ip("::1")]);
    }

    #[test]
    fn interface_removed_during_an_overrun_is_noticed() {
        let mut t = synced(
            Filter::Interface(2),
            &[addr(2, "fe80::1", AddrFlags::TENTATIVE)],
        );
        t.apply(Event::Resync);
        t.apply(link(1, "lo", true));
        t.apply(Event::Synced);
        assert_eq!(failures(&t.status()), [FailureReason::InterfaceRemoved]);
    }

    #[test]
    fn flags_from_kernel_bits() {
        assert_eq!(AddrFlags::from_ifa_flags(0x80), AddrFlags::PREFERRED);
        assert_eq!(AddrFlags::from_ifa_flags(0x40 | 0x80), AddrFlags::TENTATIVE);
        assert_eq!(AddrFlags::from_ifa_flags(0x08 | 0x40), DADFAILED);
        assert_eq!(AddrFlags::from_ifa_flags(0x04 | 0x40), OPTIMISTIC);
        assert_eq!(AddrFlags::from_ifa_flags(0x20), DEPRECATED);
    }
}
