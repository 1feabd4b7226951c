//! Changes to the host, and the pure functions that fold them into a
//! snapshot or find them between two snapshots.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{Address, Family, Interface, Route};
use crate::snapshot::Snapshot;

/// One change to the host, as a [`Subscription`](super::Subscription)
/// hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Forget what you knew: this is the whole host now. Every
    /// subscription starts with one, and gets another if it fell so far
    /// behind that changes had to be dropped.
    Resync(Arc<Snapshot>),
    /// An interface appeared or changed (its `addresses` are empty: they
    /// come as [`Change::Address`]).
    Link(Interface),
    /// An interface went away, and its addresses with it.
    LinkRemoved(Interface),
    /// An address appeared or changed (its flags, say, when DAD ends).
    Address {
        /// The interface's index.
        index: u32,
        /// The address.
        address: Address,
    },
    /// An address went away.
    AddressRemoved {
        /// The interface's index.
        index: u32,
        /// The address as it was.
        address: Address,
    },
    /// Routes or policy rules changed, or the kernel's answers for the
    /// representative destinations did: read the view's snapshot again
    /// for its routes and reach.
    Routes,
    /// The NAT64 prefixes routers announce changed (one was announced,
    /// refreshed, withdrawn or expired), or an announcement was rejected:
    /// read the view's snapshot again for its `pref64` and
    /// `pref64_ignored`.
    Nat64,
}

/// The key a route is known by: a new route with the same key replaces
/// the old one, and a removal removes it.
fn same_route(a: &Route, b: &Route) -> bool {
    a.family == b.family
        && a.table == b.table
        && a.dst == b.dst
        && a.metric == b.metric
        && a.kind == b.kind
}

/// Folds one change into `snap` (a [`Change::Routes`] or
/// [`Change::Nat64`] says nothing to fold: what changed comes with its own
/// notices).
pub(crate) fn apply(snap: &mut Snapshot, change: &Change) {
    match change {
        Change::Resync(whole) => *snap = Snapshot::clone(whole),
        Change::Link(link) => match snap.interfaces.iter_mut().find(|i| i.index == link.index) {
            Some(old) => {
                let addresses = std::mem::take(&mut old.addresses);
                *old = link.clone();
                old.addresses = addresses;
            }
            None => {
                let at = snap
                    .interfaces
                    .iter()
                    .position(|i| i.index > link.index)
                    .unwrap_or(snap.interfaces.len());
                snap.interfaces.insert(at, link.clone());
            }
        },
        Change::LinkRemoved(link) => snap.interfaces.retain(|i| i.index != link.index),
        Change::Address { index, address } => {
            if let Some(iface) = snap.interfaces.iter_mut().find(|i| i.index == *index) {
                match iface.addresses.iter_mut().find(|a| a.ip == address.ip) {
                    Some(old) => *old = address.clone(),
                    None => iface.addresses.push(address.clone()),
                }
            }
        }
        Change::AddressRemoved { index, address } => {
            if let Some(iface) = snap.interfaces.iter_mut().find(|i| i.index == *index) {
                iface.addresses.retain(|a| a.ip != address.ip);
            }
        }
        Change::Routes | Change::Nat64 => {}
    }
}

/// Folds a route that appeared (or changed) into `snap`.
pub(crate) fn add_route(snap: &mut Snapshot, route: Route) {
    match snap.routes.iter_mut().find(|r| same_route(r, &route)) {
        Some(old) => *old = route,
        None => snap.routes.push(route),
    }
}

/// Removes a route from `snap`.
pub(crate) fn remove_route(snap: &mut Snapshot, route: &Route) {
    snap.routes.retain(|r| !same_route(r, route));
}

/// Whether Linux may have removed IPv4 routes along with `change`, to be
/// applied to `snap`, without a notice for each: it flushes those through
/// an interface that goes down (from up) or away, or that loses an IPv4
/// address (the routes with that source; all of them with the last
/// address), and says nothing of it.
pub(crate) fn may_flush_ipv4_routes(snap: &Snapshot, change: &Change) -> bool {
    match change {
        Change::Link(link) => {
            !link.up
                && snap
                    .interfaces
                    .iter()
                    .any(|i| i.index == link.index && i.up)
        }
        Change::LinkRemoved(_) => true,
        Change::AddressRemoved { address, .. } => address.ip.is_ipv4(),
        _ => false,
    }
}

/// Replaces the IPv4 routes of `snap` with `routes`, a new reading of
/// them; returns whether they differ from those it had (in any order). In
/// time linear in the routes: a host may have a full table.
pub(crate) fn replace_ipv4_routes(snap: &mut Snapshot, routes: Vec<Route>) -> bool {
    let is_v4 = |r: &Route| r.family == Family::Ipv4;
    let changed = {
        let old: HashSet<&Route> = snap.routes.iter().filter(|r| is_v4(r)).collect();
        let old_count = snap.routes.iter().filter(|r| is_v4(r)).count();
        old_count != routes.len() || !routes.iter().all(|new| old.contains(new))
    };
    snap.routes.retain(|r| !is_v4(r));
    snap.routes.extend(routes);
    changed
}

/// The changes that turn `old` into `new`: interfaces and addresses that
/// appeared, changed or went away, then [`Change::Routes`] if the routes
/// or the reach differ. For backends that tell only that something
/// changed: the view reads the host again and hands out the difference.
pub(crate) fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    let bare = |i: &Interface| {
        let mut link = i.clone();
        link.addresses.clear();
        link
    };
    for gone in old
        .interfaces
        .iter()
        .filter(|o| !new.interfaces.iter().any(|n| n.index == o.index))
    {
        out.push(Change::LinkRemoved(bare(gone)));
    }
    for iface in &new.interfaces {
        let before = old.interfaces.iter().find(|o| o.index == iface.index);
        let link = bare(iface);
        if before.is_none_or(|b| bare(b) != link) {
            out.push(Change::Link(link));
        }
        if let Some(before) = before {
            for address in before
                .addresses
                .iter()
                .filter(|a| !iface.addresses.iter().any(|n| n.ip == a.ip))
            {
                out.push(Change::AddressRemoved {
                    index: iface.index,
                    address: address.clone(),
                });
            }
        }
        for address in &iface.addresses {
            let unchanged = before
                .and_then(|b| b.addresses.iter().find(|a| a.ip == address.ip))
                .is_some_and(|a| same_address(a, address));
            if !unchanged {
                out.push(Change::Address {
                    index: iface.index,
                    address: address.clone(),
                });
            }
        }
    }
    if old.routes != new.routes || old.reach() != new.reach() {
        out.push(Change::Routes);
    }
    out
}

/// Whether two readings of an address are the same but for the seconds
/// of lifetime left, which tick down between any two readings.
fn same_address(a: &Address, b: &Address) -> bool {
    a.ip == b.ip
        && a.prefix_len == b.prefix_len
        && a.flags == b.flags
        && a.scope == b.scope
        && a.label == b.label
        && a.preferred_lft.is_some() == b.preferred_lft.is_some()
        && a.valid_lft.is_some() == b.valid_lft.is_some()
        && (a.preferred_lft == Some(0)) == (b.preferred_lft == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddrFlags, Family, LinkKind};

    fn iface(index: u32, name: &str, addrs: &[&str]) -> Interface {
        let mut i = Interface::new(index, name);
        i.kind = LinkKind::Ethernet;
        i.up = true;
        i.running = true;
        i.addresses = addrs
            .iter()
            .map(|a| Address::new(a.parse().unwrap(), 64))
            .collect();
        i
    }

    fn snap(interfaces: Vec<Interface>) -> Snapshot {
        Snapshot {
            interfaces,
            ..Snapshot::default()
        }
    }

    /// Applying the diff of two snapshots to the first gives the second.
    fn round_trip(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
        let changes = diff(old, new);
        let mut folded = old.clone();
        for change in &changes {
            apply(&mut folded, change);
        }
        folded.routes.clone_from(&new.routes);
        folded.reach = new.reach;
        assert_eq!(&folded, new, "{changes:#?}");
        changes
    }

    #[test]
    fn nothing_changed_is_no_change() {
        let a = snap(vec![
            iface(1, "lo", &["::1"]),
            iface(2, "eth0", &["2001:db8::2"]),
        ]);
        assert_eq!(diff(&a, &a), []);
    }

    #[test]
    fn added_removed_and_changed_addresses_and_links() {
        let old = snap(vec![
            iface(1, "lo", &["::1"]),
            iface(2, "eth0", &["2001:db8::2", "2001:db8::3"]),
            iface(4, "gone0", &["2001:db8:4::1"]),
        ]);
        let mut eth0 = iface(2, "eth0", &["2001:db8::2", "2001:db8::9"]);
        eth0.addresses[0].flags = AddrFlags::TENTATIVE;
        let mut tun = iface(3, "utun3", &["2001:0:c633:640a::1"]);
        tun.kind = LinkKind::Tun;
        let new = snap(vec![iface(1, "lo", &["::1"]), eth0, tun]);
        let changes = round_trip(&old, &new);
        assert!(matches!(&changes[0], Change::LinkRemoved(l) if l.index == 4));
        assert!(changes.iter().any(|c| matches!(
            c,
            Change::AddressRemoved { index: 2, address } if address.ip.to_string() == "2001:db8::3"
        )));
        assert!(changes.iter().any(|c| matches!(
            c,
            Change::Address { index: 2, address } if address.flags.tentative()
        )));
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::Link(l) if l.name == "utun3"))
        );
        // Interfaces are kept in index order.
        let mut folded = old.clone();
        for c in &changes {
            apply(&mut folded, c);
        }
        let order: Vec<u32> = folded.interfaces.iter().map(|i| i.index).collect();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn lifetimes_ticking_down_are_no_change() {
        let mut a = iface(2, "eth0", &["2001:db8::2"]);
        a.addresses[0].preferred_lft = Some(300);
        let mut b = a.clone();
        b.addresses[0].preferred_lft = Some(299);
        assert_eq!(diff(&snap(vec![a.clone()]), &snap(vec![b])), []);
        // Running out is a change.
        let mut c = a.clone();
        c.addresses[0].preferred_lft = Some(0);
        assert_eq!(diff(&snap(vec![a]), &snap(vec![c])).len(), 1);
    }

    #[test]
    fn a_link_change_keeps_its_addresses() {
        let mut s = snap(vec![iface(2, "eth0", &["2001:db8::2"])]);
        let mut down = iface(2, "eth0", &[]);
        down.up = false;
        apply(&mut s, &Change::Link(down));
        assert!(!s.interfaces[0].up);
        assert_eq!(s.interfaces[0].addresses.len(), 1);
    }

    #[test]
    fn routes_replace_by_key_and_count_as_a_change() {
        let mut s = Snapshot::default();
        let mut r = Route::new(Family::Ipv6, None);
        r.oif = Some(2);
        add_route(&mut s, r.clone());
        let mut moved = r.clone();
        moved.oif = Some(3);
        add_route(&mut s, moved.clone());
        assert_eq!(s.routes, [moved.clone()]);
        let before = s.clone();
        remove_route(&mut s, &moved);
        assert!(s.routes.is_empty());
        assert_eq!(diff(&before, &s), [Change::Routes]);
    }

    #[test]
    fn links_going_down_or_away_and_ipv4_addresses_going_may_flush_ipv4_routes() {
        let up = iface(2, "eth0", &[]);
        let mut down = up.clone();
        down.up = false;
        let address = |ip: &str| Address::new(ip.parse().unwrap(), 24);
        let was_up = Snapshot {
            interfaces: vec![up.clone()],
            ..Snapshot::default()
        };
        let was_down = Snapshot {
            interfaces: vec![down.clone()],
            ..Snapshot::default()
        };
        let may = |change: &Change| may_flush_ipv4_routes(&was_up, change);
        assert!(may(&Change::Link(down.clone())));
        // Another notice of a link that was down already flushes nothing.
        assert!(!may_flush_ipv4_routes(&was_down, &Change::Link(down)));
        assert!(!may(&Change::Link(up.clone())));
        assert!(may(&Change::LinkRemoved(up)));
        assert!(may(&Change::AddressRemoved {
            index: 2,
            address: address("192.0.2.2"),
        }));
        assert!(!may(&Change::AddressRemoved {
            index: 2,
            address: address("2001:db8::2"),
        }));
        assert!(!may(&Change::Address {
            index: 2,
            address: address("192.0.2.2"),
        }));
        assert!(!may(&Change::Routes));
    }

    #[test]
    fn a_new_reading_of_the_ipv4_routes_replaces_them_and_keeps_ipv6() {
        let route = |family, dst: Option<&str>, oif| {
            let mut r = Route::new(family, dst.map(|d| (d.parse().unwrap(), 24)));
            r.oif = Some(oif);
            r
        };
        let default_v4 = route(Family::Ipv4, None, 2);
        let prefix_v4 = route(Family::Ipv4, Some("192.0.2.0"), 2);
        let default_v6 = route(Family::Ipv6, None, 2);
        let mut s = Snapshot {
            routes: vec![default_v4.clone(), default_v6.clone(), prefix_v4.clone()],
            ..Snapshot::default()
        };
        // The same routes in another order: no change.
        assert!(!replace_ipv4_routes(
            &mut s,
            vec![prefix_v4.clone(), default_v4]
        ));
        assert_eq!(s.routes.len(), 3);
        // The default route flushed.
        assert!(replace_ipv4_routes(&mut s, vec![prefix_v4.clone()]));
        assert_eq!(s.routes, [default_v6.clone(), prefix_v4]);
        // Another route in its place.
        let other = route(Family::Ipv4, Some("198.51.100.0"), 3);
        assert!(replace_ipv4_routes(&mut s, vec![other.clone()]));
        assert_eq!(s.routes, [default_v6, other]);
    }
}
