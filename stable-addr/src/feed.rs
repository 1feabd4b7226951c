//! A host view's changes as the tracker's events.

use iface_probe::Change;

use crate::tracker::Event;

/// Appends the events `change` stands for: a whole host (the start of a
/// subscription, or a subscriber that fell behind) is a resync, every
/// interface and address, then the end of the dump; route changes say
/// nothing about stability.
pub(crate) fn events(change: Change, out: &mut impl Extend<Event>) {
    match change {
        Change::Resync(snapshot) => {
            out.extend([Event::Resync]);
            for iface in &snapshot.interfaces {
                out.extend([Event::Link {
                    ifindex: iface.index,
                    name: iface.name.clone(),
                    up: iface.up,
                    removed: false,
                }]);
            }
            for iface in &snapshot.interfaces {
                out.extend(iface.addresses.iter().map(|a| Event::Address {
                    ifindex: iface.index,
                    ip: a.ip,
                    prefix_len: a.prefix_len,
                    flags: a.flags,
                    removed: false,
                }));
            }
            out.extend([Event::Synced]);
        }
        Change::Link(iface) => out.extend([Event::Link {
            ifindex: iface.index,
            name: iface.name,
            up: iface.up,
            removed: false,
        }]),
        Change::LinkRemoved(iface) => out.extend([Event::Link {
            ifindex: iface.index,
            name: iface.name,
            up: iface.up,
            removed: true,
        }]),
        Change::Address { index, address } => out.extend([Event::Address {
            ifindex: index,
            ip: address.ip,
            prefix_len: address.prefix_len,
            flags: address.flags,
            removed: false,
        }]),
        Change::AddressRemoved { index, address } => out.extend([Event::Address {
            ifindex: index,
            ip: address.ip,
            prefix_len: address.prefix_len,
            flags: address.flags,
            removed: true,
        }]),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use iface_probe::{AddrFlags, Address, Interface, Snapshot};

    use super::*;
    use crate::tracker::{Filter, Tracker};

    #[test]
    fn a_whole_host_is_a_dump_and_changes_follow() {
        let mut eth = Interface::new(2, "eth0");
        eth.up = true;
        let mut tentative = Address::new("2001:db8::1".parse().unwrap(), 64);
        tentative.flags = AddrFlags::TENTATIVE;
        eth.addresses.push(tentative.clone());
        let mut snapshot = Snapshot::default();
        snapshot.interfaces.push(eth);
        let mut out = Vec::new();
        events(Change::Resync(Arc::new(snapshot)), &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(
            (&out[0], out.last()),
            (&Event::Resync, Some(&Event::Synced))
        );
        let mut tracker = Tracker::new(Filter::Address(tentative.ip));
        for event in out.drain(..) {
            tracker.apply(event);
        }
        assert!(!tracker.status().is_stable());
        let mut done = tentative.clone();
        done.flags = AddrFlags::NONE;
        events(
            Change::Address {
                index: 2,
                address: done,
            },
            &mut out,
        );
        events(Change::Routes, &mut out);
        assert_eq!(out.len(), 1, "routes say nothing about stability");
        tracker.apply(out.remove(0));
        assert!(tracker.status().is_stable());
        events(
            Change::AddressRemoved {
                index: 2,
                address: tentative,
            },
            &mut out,
        );
        assert!(matches!(out[0], Event::Address { removed: true, .. }));
    }
}
