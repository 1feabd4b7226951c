//! Classification and scope for arbitrary addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use teredo_addr::{
    AddrKind, Scope, classify, classify_v4, classify_v6, ipv4_compatible, ipv4_mapped,
    is_sixtofour, is_teredo, scope,
};

proptest! {
    #[test]
    fn classify_v6_never_panics(bits: u128) {
        let a = Ipv6Addr::from(bits);
        let k = classify(IpAddr::V6(a));
        prop_assert_eq!(k, classify_v6(a));
        prop_assert!(!k.is_ipv4());
        // The kinds agree with the specialised predicates.
        prop_assert_eq!(k == AddrKind::Teredo, is_teredo(a));
        prop_assert_eq!(k == AddrKind::SixToFour, is_sixtofour(a));
        prop_assert_eq!(k == AddrKind::Ipv4Mapped, ipv4_mapped(a).is_some());
        prop_assert_eq!(k == AddrKind::Ipv4Compatible, ipv4_compatible(a).is_some());
        prop_assert!(!k.name().is_empty());
    }

    #[test]
    fn classify_v4_never_panics(bits: u32) {
        let a = Ipv4Addr::from(bits);
        let k = classify(IpAddr::V4(a));
        prop_assert_eq!(k, classify_v4(a));
        prop_assert!(k.is_ipv4());
        prop_assert!(!k.is_ipv6_transition());
    }

    /// Scopes order as their values do, whichever variant holds them:
    /// multicast scopes of every value, named or not, included.
    #[test]
    fn scopes_order_by_value(a in 0u8..16, b in 0u8..16) {
        let (sa, sb) = (Scope::from_value(a), Scope::from_value(b));
        prop_assert_eq!(sa.cmp(&sb), a.cmp(&b));
        prop_assert_eq!(sa == sb, a == b);
        prop_assert_eq!(Scope::Other(a) == sa, true);
        let multicast = |v: u8| scope(IpAddr::V6(Ipv6Addr::new(0xff00 | u16::from(v), 0, 0, 0, 0, 0, 0, 1)));
        prop_assert_eq!(multicast(a) < multicast(b), a < b);
    }

    #[test]
    fn mapped_scope_is_ipv4_scope(bits: u32) {
        let v4 = Ipv4Addr::from(bits);
        prop_assert_eq!(scope(IpAddr::V6(v4.to_ipv6_mapped())), scope(IpAddr::V4(v4)));
        prop_assert_eq!(classify_v6(v4.to_ipv6_mapped()), AddrKind::Ipv4Mapped);
    }
}
