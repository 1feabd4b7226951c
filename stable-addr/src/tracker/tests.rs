//! The tracker on hand-made events.

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

const DADFAILED: AddrFlags = AddrFlags::DADFAILED.union(AddrFlags::TENTATIVE);
const OPTIMISTIC: AddrFlags = AddrFlags::OPTIMISTIC.union(AddrFlags::TENTATIVE);
const DEPRECATED: AddrFlags = AddrFlags::DEPRECATED;

/// A tracker for `filter` after a dump of `lo` and `eth0` (index 2, up).
fn synced(filter: Filter, dump: &[Event]) -> Tracker {
    let mut t = Tracker::new(filter);
    t.apply(link(1, "lo", true));
    t.apply(addr(1, "::1", AddrFlags::NONE));
    t.apply(addr(1, "127.0.0.1", AddrFlags::NONE));
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
    t.apply(addr(1, "::1", AddrFlags::NONE));
    assert_eq!(pending_reasons(&t.status()), [PendingReason::Syncing]);
    t.apply(Event::Synced);
    assert_eq!(stable_ips(&t.status()), [ip("::1")]);
}

#[test]
fn already_stable() {
    let a = "2001:db8::1";
    let t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::NONE)]);
    let Status::Stable(s) = t.status() else {
        panic!()
    };
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].ifname.as_deref(), Some("eth0"));
    assert_eq!(s[0].to_string(), "2001:db8::1/64 on eth0 (index 2)");
    let all = synced(Filter::All, &[addr(2, a, AddrFlags::NONE)]);
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
    t.apply(addr(2, a, AddrFlags::NONE));
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
    t.apply(addr(7, TEREDO, AddrFlags::NONE));
    assert_eq!(stable_ips(&t.status()), [ip(TEREDO)]);
}

#[test]
fn teredo_needs_its_interface_up() {
    let mut t = synced(Filter::Teredo, &[link(7, "teredo", false)]);
    t.apply(addr(7, TEREDO, AddrFlags::NONE));
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
    let t = synced(Filter::Teredo, &[addr(2, "2001:db8::1", AddrFlags::NONE)]);
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
            addr(3, a, AddrFlags::NONE),
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
        &[addr(2, a, DEPRECATED), addr(2, b, AddrFlags::NONE)],
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
    t.apply(addr(2, a, AddrFlags::NONE));
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
        &[addr(2, a, AddrFlags::NONE)],
    );
    assert!(t.status().is_stable());
    t.apply(link(2, "eth0", false));
    assert_eq!(pending_reasons(&t.status()), [PendingReason::InterfaceDown]);
    let mut t = synced(Filter::Address(ip(a)), &[addr(2, a, AddrFlags::NONE)]);
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
    t.apply(addr(5, "fe80::1", AddrFlags::NONE));
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
    t.apply(addr(1, "::1", AddrFlags::NONE));
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
