//! The pure core: a [`Tracker`] folds interface and address [`Event`]s
//! into a view of the host and says whether the addresses a [`Filter`]
//! names are stable.
//!
//! Nothing here does I/O or reads a clock, so every rule is unit-tested
//! with hand-made events; the waits only turn a host view's changes
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

mod event;
mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use iface_probe::AddrFlags;

pub use event::{Event, Filter};
pub use status::{Failure, FailureReason, Pending, PendingReason, StableAddr, Status};

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
/// t.apply(Event::Address { ifindex: 2, ip, prefix_len: 64, flags: AddrFlags::NONE, removed: false });
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
                    if flags.dadfailed() {
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
        if flags.dadfailed() {
            Verdict::Failed
        } else if !up {
            Verdict::Pending(PendingReason::InterfaceDown)
        } else if flags.optimistic() {
            Verdict::Pending(PendingReason::Optimistic)
        } else if flags.tentative() {
            Verdict::Pending(PendingReason::Tentative)
        } else if flags.deprecated() && !is_teredo(ip) {
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
mod tests;
