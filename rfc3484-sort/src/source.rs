//! Source address selection (RFC 6724 §5, rules 1-8).

use core::cmp::Ordering;
use core::net::IpAddr;

use crate::dest::{SourceAttrs, common_prefix_len, home_rank};
use crate::policy::{Policy, bits, is_v4};

/// A source address the host could use, with what rule 5 and rule 7 need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceCandidate {
    /// The address.
    pub addr: IpAddr,
    /// Its attributes (deprecated, home, care-of, temporary, prefix length;
    /// `tunnel` plays no part in source selection).
    pub attrs: SourceAttrs,
    /// The address is assigned to the interface the packet would leave by
    /// (rule 5). Set it on every candidate when unknown.
    pub on_outgoing_interface: bool,
}

impl SourceCandidate {
    /// A candidate on the outgoing interface, so that rule 5 is neutral.
    pub fn new(addr: IpAddr, attrs: SourceAttrs) -> Self {
        Self {
            addr,
            attrs,
            on_outgoing_interface: true,
        }
    }
}

/// Picks the source address for `dest` among `candidates` (RFC 6724 §5),
/// returning its index, or `None` if no candidate has `dest`'s family.
///
/// Only candidates of the destination's family count (IPv4-mapped IPv6
/// addresses count as IPv4). The rules, tried in order until one prefers
/// one candidate SA over another SB:
///
/// 1. prefer the destination address itself;
/// 2. prefer appropriate scope: the smaller scope if it is at least the
///    destination's, else the larger (scopes from [`Policy::scope`]);
/// 3. avoid deprecated addresses;
/// 4. prefer home addresses: home and care-of at once over anything else,
///    home over care-of (a plain address ranks with home addresses);
/// 5. prefer an address on the outgoing interface;
/// 6. prefer a label equal to the destination's ([`Policy::label`]);
/// 7. prefer temporary addresses over public ones (RFC 6724's default;
///    [`select_source_with`] can reverse it);
/// 8. use the longest matching prefix: RFC 6724 §2.2 CommonPrefixLen, up
///    to the candidate's prefix length (64 for IPv6 and 32 for IPv4 if
///    unknown); uncapped under RFC 3484 policies.
///
/// Rule 5.5 (prefer a prefix the next hop advertised) is not implemented:
/// the candidates do not say which router advertised them. When no rule
/// separates two candidates, the earlier one wins.
pub fn select_source(
    policy: &Policy,
    dest: IpAddr,
    candidates: &[SourceCandidate],
) -> Option<usize> {
    select_source_with(policy, dest, candidates, true)
}

/// [`select_source`] with rule 7's sense chosen: `prefer_temporary` false
/// prefers public addresses (the application asked for
/// `IPV6_PREFER_SRC_PUBLIC`).
pub fn select_source_with(
    policy: &Policy,
    dest: IpAddr,
    candidates: &[SourceCandidate],
    prefer_temporary: bool,
) -> Option<usize> {
    let d = Target::new(policy, dest);
    let mut best: Option<usize> = None;
    for (i, candidate) in candidates.iter().enumerate() {
        if is_v4(bits(candidate.addr)) != is_v4(d.bits) {
            continue;
        }
        let better = match best {
            None => true,
            Some(b) => {
                d.compare(policy, candidate, &candidates[b], prefer_temporary) == Ordering::Less
            }
        };
        if better {
            best = Some(i);
        }
    }
    best
}

/// The destination with its lookups done once.
struct Target {
    bits: u128,
    scope: u8,
    label: u32,
}

impl Target {
    fn new(policy: &Policy, addr: IpAddr) -> Self {
        let bits = bits(addr);
        Self {
            bits,
            scope: policy.scope_value(addr, bits),
            label: policy.lookup(bits).1,
        }
    }

    /// `Less` if `a` is the better source for this destination.
    fn compare(
        &self,
        policy: &Policy,
        a: &SourceCandidate,
        b: &SourceCandidate,
        prefer_temporary: bool,
    ) -> Ordering {
        let (a_bits, b_bits) = (bits(a.addr), bits(b.addr));
        // Rule 1: the destination address itself is the best source.
        let rule1 = (b_bits == self.bits).cmp(&(a_bits == self.bits));
        if rule1 != Ordering::Equal {
            return rule1;
        }
        // Rule 2: the smallest scope that still reaches the destination.
        let sa = policy.scope_value(a.addr, a_bits);
        let sb = policy.scope_value(b.addr, b_bits);
        if sa != sb {
            let (smaller_is_a, smaller) = if sa < sb { (true, sa) } else { (false, sb) };
            let smaller_ok = smaller >= self.scope;
            return if smaller_is_a == smaller_ok {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Rule 3: a deprecated address may soon stop working.
        let rule3 = a.attrs.deprecated.cmp(&b.attrs.deprecated);
        if rule3 != Ordering::Equal {
            return rule3;
        }
        // Rule 4: a home address survives the mobile node's moves.
        let rule4 = home_rank(&b.attrs).cmp(&home_rank(&a.attrs));
        if rule4 != Ordering::Equal {
            return rule4;
        }
        // Rule 5: an address of the outgoing interface avoids asymmetric routes.
        let rule5 = b.on_outgoing_interface.cmp(&a.on_outgoing_interface);
        if rule5 != Ordering::Equal {
            return rule5;
        }
        // Rule 6: a label like the destination's means the same kind of path.
        let la = policy.lookup(a_bits).1 == self.label;
        let lb = policy.lookup(b_bits).1 == self.label;
        let rule6 = lb.cmp(&la);
        if rule6 != Ordering::Equal {
            return rule6;
        }
        // Rule 7: temporary addresses protect privacy unless public ones were asked for.
        let rule7 = if prefer_temporary {
            b.attrs.temporary.cmp(&a.attrs.temporary)
        } else {
            a.attrs.temporary.cmp(&b.attrs.temporary)
        };
        if rule7 != Ordering::Equal {
            return rule7;
        }
        // Rule 8: longest matching prefix. Unlike destination rule 9 there
        // is no round robin to protect, so an IPv4 source without a known
        // prefix length counts all 32 bits.
        let rule = policy.prefix_rule;
        let ca = common_prefix_len(rule, self.bits, a_bits, a.attrs.prefix_len, 32);
        let cb = common_prefix_len(rule, self.bits, b_bits, b.attrs.prefix_len, 32);
        cb.cmp(&ca)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn c(s: &str) -> SourceCandidate {
        SourceCandidate::new(ip(s), SourceAttrs::default())
    }

    #[test]
    fn prefers_destination_itself() {
        let p = Policy::rfc6724();
        let cands = [c("2001:db8::2"), c("2001:db8::1")];
        assert_eq!(select_source(&p, ip("2001:db8::1"), &cands), Some(1));
    }

    #[test]
    fn appropriate_scope() {
        let p = Policy::rfc6724();
        let cands = [c("fe80::2"), c("2001:db8::2")];
        assert_eq!(select_source(&p, ip("2001:db8:9::1"), &cands), Some(1));
        assert_eq!(select_source(&p, ip("fe80::1"), &cands), Some(0));
        // A site-local destination: the global source is the smallest scope
        // that is still large enough.
        let cands = [c("2001:db8::2"), c("fe80::2")];
        assert_eq!(select_source(&p, ip("fec0::1"), &cands), Some(0));
    }

    #[test]
    fn family_only() {
        let p = Policy::rfc6724();
        let cands = [c("2001:db8::2"), c("192.0.2.2")];
        assert_eq!(select_source(&p, ip("192.0.2.1"), &cands), Some(1));
        assert_eq!(select_source(&p, ip("198.51.100.1"), &cands[..1]), None);
        assert_eq!(select_source(&p, ip("::1"), &[]), None);
    }

    #[test]
    fn temporary_and_interface() {
        let p = Policy::rfc6724();
        let mut temp = c("2001:db8::aaaa");
        temp.attrs.temporary = true;
        let public = c("2001:db8::1");
        let dest = ip("2001:db8:1::1");
        assert_eq!(select_source(&p, dest, &[public, temp]), Some(1));
        assert_eq!(
            select_source_with(&p, dest, &[public, temp], false),
            Some(0)
        );
        let mut other_if = temp;
        other_if.on_outgoing_interface = false;
        assert_eq!(select_source(&p, dest, &[other_if, public]), Some(1));
        let mut old = temp;
        old.attrs.deprecated = true;
        assert_eq!(select_source(&p, dest, &[old, public]), Some(1));
    }
}
