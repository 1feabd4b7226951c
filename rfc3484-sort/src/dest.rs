//! Destination address ordering (RFC 6724 §6, RFC 3484 §6).
//!
//! Every rule but rule 9 compares one property of each destination on its
//! own, so each destination gets a 64-bit key once, with the rules' fields
//! from most to least significant; a larger key is preferred. Comparing two
//! destinations is then a compare of two integers, and the highest bit in
//! which two keys differ names the rule that decided.
//!
//! Key layout (bit 0 is the least significant):
//!
//! | bits  | rule | value |
//! |-------|------|-------|
//! | 51    | 1    | 1 if there is a usable source |
//! | 50    | 2    | 1 if the source's scope equals the destination's |
//! | 49    | 3    | 1 if the source is not deprecated |
//! | 47-48 | 4    | 2 home and care-of, 1 home only or neither, 0 care-of only |
//! | 46    | 5    | 1 if the source's label equals the destination's |
//! | 14-45 | 6    | the destination's precedence |
//! | 13    | 7    | 1 if the source is native (not a tunnel) |
//! | 9-12  | 8    | 15 minus the destination's scope |
//! | 1-8   | 9    | the common prefix length of destination and source |
//! | 0     | -    | 1 for IPv6, 0 for IPv4 (for rule 9's same-family test) |

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use core::net::IpAddr;

use crate::policy::{Policy, PrefixRule, bits, is_v4};

/// What the host knows about a source address (RFC 6724 §5, §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceAttrs {
    /// The address is deprecated (its preferred lifetime ran out).
    pub deprecated: bool,
    /// The address is a Mobile IPv6 home address.
    pub home: bool,
    /// The address is a Mobile IPv6 care-of address.
    pub care_of: bool,
    /// The address is on an encapsulating transition interface (Teredo,
    /// 6to4, 6in4...), not native; rule 7 prefers native.
    pub tunnel: bool,
    /// The address is a temporary (privacy) address, RFC 8981.
    pub temporary: bool,
    /// The length of the on-link prefix the address belongs to, if known;
    /// rule 9 counts common bits only up to it.
    pub prefix_len: Option<u8>,
}

/// The source address a destination would be reached from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// The source address.
    pub addr: IpAddr,
    /// What is known about it.
    pub attrs: SourceAttrs,
}

/// A candidate destination and the source the host would use for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The destination address.
    pub addr: IpAddr,
    /// The source address to reach it from; `None` means no usable source
    /// (no route, or no address of that family), which rule 1 puts last.
    pub source: Option<Source>,
}

impl Destination {
    /// A destination with no usable source.
    pub fn unreachable(addr: IpAddr) -> Self {
        Self { addr, source: None }
    }

    /// A destination reached from `source`, with that source's attributes.
    pub fn with_source(addr: IpAddr, source: IpAddr, attrs: SourceAttrs) -> Self {
        Self {
            addr,
            source: Some(Source {
                addr: source,
                attrs,
            }),
        }
    }
}

/// The RFC 6724 §6 destination address selection rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Rule 1: avoid unusable destinations (no source).
    AvoidUnusable = 1,
    /// Rule 2: prefer matching scope (destination and source scope equal).
    MatchScope = 2,
    /// Rule 3: avoid deprecated source addresses.
    AvoidDeprecated = 3,
    /// Rule 4: prefer home addresses over care-of addresses.
    PreferHome = 4,
    /// Rule 5: prefer matching label (destination and source label equal).
    MatchLabel = 5,
    /// Rule 6: prefer higher precedence.
    HigherPrecedence = 6,
    /// Rule 7: prefer native transport over encapsulation.
    PreferNative = 7,
    /// Rule 8: prefer smaller scope.
    SmallerScope = 8,
    /// Rule 9: use longest matching prefix.
    LongestPrefix = 9,
    /// Rule 10: otherwise, leave the order unchanged.
    KeepOrder = 10,
}

impl Rule {
    /// All rules, in the order they are tried.
    pub const ALL: [Self; 10] = [
        Self::AvoidUnusable,
        Self::MatchScope,
        Self::AvoidDeprecated,
        Self::PreferHome,
        Self::MatchLabel,
        Self::HigherPrecedence,
        Self::PreferNative,
        Self::SmallerScope,
        Self::LongestPrefix,
        Self::KeepOrder,
    ];

    /// The rule's number in RFC 6724 §6, 1 to 10.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// What the rule does, in RFC 6724's words, lowercase.
    pub fn description(self) -> &'static str {
        match self {
            Self::AvoidUnusable => "avoid unusable destinations",
            Self::MatchScope => "prefer matching scope",
            Self::AvoidDeprecated => "avoid deprecated addresses",
            Self::PreferHome => "prefer home addresses",
            Self::MatchLabel => "prefer matching label",
            Self::HigherPrecedence => "prefer higher precedence",
            Self::PreferNative => "prefer native transport",
            Self::SmallerScope => "prefer smaller scope",
            Self::LongestPrefix => "use longest matching prefix",
            Self::KeepOrder => "otherwise, leave the order unchanged",
        }
    }
}

impl fmt::Display for Rule {
    /// Writes e.g. `rule 6 (prefer higher precedence)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} ({})", self.number(), self.description())
    }
}

const USABLE: u64 = 1 << 51;
const SCOPE_MATCH: u64 = 1 << 50;
const NOT_DEPRECATED: u64 = 1 << 49;
const HOME_SHIFT: u32 = 47;
const LABEL_MATCH: u64 = 1 << 46;
const PRECEDENCE_SHIFT: u32 = 14;
const NATIVE: u64 = 1 << 13;
const SCOPE_SHIFT: u32 = 9;
const PREFIX_SHIFT: u32 = 1;
const IPV6: u64 = 1;

/// Rule 4's rank of a source: RFC 6724 prefers a source that is both home
/// and care-of over any other, and a home address over a care-of address.
/// A source that is neither ranks with home-only sources, which keeps the
/// rule a total preorder (the RFC leaves those pairs unordered) and only
/// ever prefers something over a care-of-only address.
pub(crate) fn home_rank(attrs: &SourceAttrs) -> u64 {
    match (attrs.home, attrs.care_of) {
        (true, true) => 2,
        (true, false) | (false, false) => 1,
        (false, true) => 0,
    }
}

/// RFC 6724 §2.2 CommonPrefixLen(S, D) under the policy's rule 9.
///
/// RFC 6724 counts common bits up to the source's prefix length. For IPv6
/// an unknown length is taken as 64 (the usual interface identifier
/// split). For IPv4 an unknown length gives 0: without knowing the subnet
/// there is no telling whether the destination is on-link, and a plain
/// count of common bits would defeat DNS round robin, which is why Go and
/// others skip rule 9 for IPv4. Using 0 instead of skipping the rule keeps
/// the comparison transitive. `unknown_v4` overrides the IPv4 fallback
/// (source selection wants the full 32 bits).
///
/// RFC 3484 counts common bits of the 128-bit forms, uncapped.
pub(crate) fn common_prefix_len(
    rule: PrefixRule,
    dest: u128,
    source: u128,
    prefix_len: Option<u8>,
    unknown_v4: u8,
) -> u8 {
    // At most 128, so it fits a u8.
    let common = (dest ^ source).leading_zeros() as u8;
    match rule {
        PrefixRule::Rfc3484 => common,
        PrefixRule::Rfc6724 if is_v4(dest) => {
            let cap = prefix_len.unwrap_or(unknown_v4).min(32);
            common.saturating_sub(96).min(cap)
        }
        PrefixRule::Rfc6724 => common.min(prefix_len.unwrap_or(64).min(128)),
    }
}

impl Policy {
    /// The sort key of a destination (see the module docs for the layout).
    #[inline]
    pub(crate) fn dest_key(&self, dest: &Destination) -> u64 {
        let da = bits(dest.addr);
        let (precedence, dest_label) = self.lookup(da);
        let dest_scope = self.scope_value(dest.addr, da);
        let mut key = (u64::from(precedence) << PRECEDENCE_SHIFT)
            | (u64::from(15 - dest_scope) << SCOPE_SHIFT)
            | u64::from(!is_v4(da));
        if let Some(source) = &dest.source {
            let sa = bits(source.addr);
            let (_, source_label) = self.lookup(sa);
            let attrs = &source.attrs;
            key |= USABLE
                | (home_rank(attrs) << HOME_SHIFT)
                | (u64::from(self.scope_value(source.addr, sa) == dest_scope) * SCOPE_MATCH)
                | (u64::from(!attrs.deprecated) * NOT_DEPRECATED)
                | (u64::from(source_label == dest_label) * LABEL_MATCH)
                | (u64::from(!attrs.tunnel) * NATIVE)
                | (u64::from(common_prefix_len(
                    self.prefix_rule,
                    da,
                    sa,
                    attrs.prefix_len,
                    0,
                )) << PREFIX_SHIFT);
        }
        key
    }

    /// How far to shift two keys before comparing them: past the family
    /// bit, and under RFC 6724 also past rule 9 when the families differ.
    #[inline]
    fn shift(&self, a: u64, b: u64) -> u32 {
        if self.prefix_rule == PrefixRule::Rfc6724 && (a ^ b) & IPV6 != 0 {
            SCOPE_SHIFT
        } else {
            PREFIX_SHIFT
        }
    }

    /// Whether key `a` is strictly preferred over key `b`.
    #[inline]
    fn prefers(&self, a: u64, b: u64) -> bool {
        let shift = self.shift(a, b);
        (a >> shift) > (b >> shift)
    }
}

/// The rule owning bit `bit` of a key.
fn rule_of_bit(bit: u32) -> Rule {
    match bit {
        51 => Rule::AvoidUnusable,
        50 => Rule::MatchScope,
        49 => Rule::AvoidDeprecated,
        47..=48 => Rule::PreferHome,
        46 => Rule::MatchLabel,
        14..=45 => Rule::HigherPrecedence,
        13 => Rule::PreferNative,
        9..=12 => Rule::SmallerScope,
        1..=8 => Rule::LongestPrefix,
        _ => Rule::KeepOrder,
    }
}

/// Compares two keys: `Less` if `a` goes first, with the deciding rule.
fn compare_keys(policy: &Policy, a: u64, b: u64) -> (Ordering, Rule) {
    let shift = policy.shift(a, b);
    let (a, b) = (a >> shift, b >> shift);
    let diff = a ^ b;
    if diff == 0 {
        return (Ordering::Equal, Rule::KeepOrder);
    }
    let top = 63 - diff.leading_zeros();
    let ordering = if a > b {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    (ordering, rule_of_bit(top + shift))
}

/// Compares two destinations by RFC 6724 §6 rules 1-9 under `policy`.
///
/// Returns [`Ordering::Less`] if `a` should be tried first, `Greater` if
/// `b` should, and `Equal` if no rule separates them, together with the
/// rule that decided ([`Rule::KeepOrder`] for `Equal`).
///
/// Under RFC 6724 (and glibc, and `gai.conf`) rule 9 only compares two
/// destinations of the same family, as RFC 6724 says. That makes the
/// comparison intransitive in one corner: when a custom table gives an
/// IPv4 and an IPv6 destination equal outcomes on rules 1-8. The built-in
/// tables never do (IPv4 has a precedence of its own).
pub fn compare(policy: &Policy, a: &Destination, b: &Destination) -> (Ordering, Rule) {
    compare_keys(policy, policy.dest_key(a), policy.dest_key(b))
}

/// How many destinations [`sort`] orders without allocating.
pub const SORT_INLINE_CAPACITY: usize = 32;

/// Sorts destinations into the order to try them (RFC 6724 §6), stably:
/// destinations no rule separates keep their relative order (rule 10).
///
/// Each destination's policy lookups happen once, not once per comparison.
/// Up to [`SORT_INLINE_CAPACITY`] (32) destinations are sorted on the
/// stack with no heap allocation; longer slices allocate two buffers of
/// keys and a copy of the slice, and are merge sorted.
pub fn sort(policy: &Policy, dests: &mut [Destination]) {
    let n = dests.len();
    if n < 2 {
        return;
    }
    if n > SORT_INLINE_CAPACITY {
        sort_large(policy, dests);
        return;
    }
    if n == 2 {
        // The commonest case (one A and one AAAA record) needs no buffers.
        if policy.prefers(policy.dest_key(&dests[1]), policy.dest_key(&dests[0])) {
            dests.swap(0, 1);
        }
    } else if n <= 8 {
        sort_inline::<8>(policy, dests);
    } else {
        sort_inline::<SORT_INLINE_CAPACITY>(policy, dests);
    }
}

/// Bits of an inline sort entry that hold the destination's index.
const INDEX_BITS: u32 = 5;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const _: () = assert!(SORT_INLINE_CAPACITY <= 1 << INDEX_BITS);
// The key's top field must survive the shift that makes room for the index.
const _: () = assert!(USABLE.leading_zeros() >= INDEX_BITS);

/// The non-allocating path of [`sort`], for up to `N` destinations.
///
/// The sort moves 8-byte entries (key above, index below) rather than the
/// destinations themselves, then copies each destination once to its
/// place: shifting whole destinations in the insertion sort costs more
/// than every policy lookup together.
fn sort_inline<const N: usize>(policy: &Policy, dests: &mut [Destination]) {
    let n = dests.len();
    let mut entries = [0u64; N];
    for (i, (entry, dest)) in entries.iter_mut().zip(dests.iter()).enumerate() {
        *entry = (policy.dest_key(dest) << INDEX_BITS) | i as u64;
    }
    // Insertion sort: fast for the handful of addresses a name resolves to,
    // stable, and it never assumes the comparison is transitive.
    for i in 1..n {
        let entry = entries[i];
        let mut j = i;
        while j > 0 && policy.prefers(entry >> INDEX_BITS, entries[j - 1] >> INDEX_BITS) {
            entries[j] = entries[j - 1];
            j -= 1;
        }
        entries[j] = entry;
    }
    let original: [Destination; N] = core::array::from_fn(|i| dests[i.min(n - 1)]);
    for (slot, entry) in dests.iter_mut().zip(&entries) {
        *slot = original[(entry & INDEX_MASK) as usize];
    }
}

/// The allocating path of [`sort`]: a stable bottom-up merge sort of
/// (key, index) pairs, then one permutation of the slice.
///
/// The standard library's sort is not used because it may panic when a
/// comparison is not a total order, which rule 9 across families is not.
fn sort_large(policy: &Policy, dests: &mut [Destination]) {
    let n = dests.len();
    let mut items: Vec<(u64, usize)> = dests
        .iter()
        .enumerate()
        .map(|(i, d)| (policy.dest_key(d), i))
        .collect();
    let mut scratch = items.clone();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            for slot in &mut scratch[start..end] {
                // Taking from the left run unless the right one is strictly
                // preferred is what keeps the merge stable.
                let take_right = i >= mid || (j < end && policy.prefers(items[j].0, items[i].0));
                if take_right {
                    *slot = items[j];
                    j += 1;
                } else {
                    *slot = items[i];
                    i += 1;
                }
            }
            start = end;
        }
        core::mem::swap(&mut items, &mut scratch);
        width *= 2;
    }
    let original = dests.to_vec();
    for (slot, &(_, index)) in dests.iter_mut().zip(&items) {
        *slot = original[index];
    }
}

/// For a sorted list, the rule that ordered each adjacent pair: element `i`
/// of the result is the rule that put `sorted[i]` before `sorted[i + 1]`
/// ([`Rule::KeepOrder`] when no rule separates them). The result has one
/// element fewer than `sorted` (none for an empty list).
pub fn explain(policy: &Policy, sorted: &[Destination]) -> Vec<Rule> {
    let keys: Vec<u64> = sorted.iter().map(|d| policy.dest_key(d)).collect();
    keys.windows(2)
        .map(|pair| compare_keys(policy, pair[0], pair[1]).1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn d(dest: &str, source: &str) -> Destination {
        Destination::with_source(ip(dest), ip(source), SourceAttrs::default())
    }

    #[test]
    fn rule_display() {
        assert_eq!(
            Rule::HigherPrecedence.to_string(),
            "rule 6 (prefer higher precedence)"
        );
        for (i, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(usize::from(rule.number()), i + 1);
        }
    }

    #[test]
    fn key_bits_map_to_rules() {
        // Each field's bits must decode to its own rule.
        assert_eq!(rule_of_bit(USABLE.trailing_zeros()), Rule::AvoidUnusable);
        assert_eq!(rule_of_bit(SCOPE_MATCH.trailing_zeros()), Rule::MatchScope);
        assert_eq!(
            rule_of_bit(NOT_DEPRECATED.trailing_zeros()),
            Rule::AvoidDeprecated
        );
        assert_eq!(rule_of_bit(HOME_SHIFT), Rule::PreferHome);
        assert_eq!(rule_of_bit(LABEL_MATCH.trailing_zeros()), Rule::MatchLabel);
        assert_eq!(rule_of_bit(PRECEDENCE_SHIFT + 31), Rule::HigherPrecedence);
        assert_eq!(rule_of_bit(NATIVE.trailing_zeros()), Rule::PreferNative);
        assert_eq!(rule_of_bit(SCOPE_SHIFT + 3), Rule::SmallerScope);
        assert_eq!(rule_of_bit(PREFIX_SHIFT + 7), Rule::LongestPrefix);
    }

    #[test]
    fn common_prefix() {
        let a = bits(ip("2001:db8:1::1"));
        let b = bits(ip("2001:db8:1::2"));
        assert_eq!(common_prefix_len(PrefixRule::Rfc6724, a, b, None, 0), 64);
        assert_eq!(
            common_prefix_len(PrefixRule::Rfc6724, a, b, Some(48), 0),
            48
        );
        assert_eq!(common_prefix_len(PrefixRule::Rfc3484, a, b, None, 0), 126);
        let a = bits(ip("10.1.2.3"));
        let b = bits(ip("10.1.2.4"));
        assert_eq!(common_prefix_len(PrefixRule::Rfc6724, a, b, None, 0), 0);
        assert_eq!(
            common_prefix_len(PrefixRule::Rfc6724, a, b, Some(24), 0),
            24
        );
        assert_eq!(common_prefix_len(PrefixRule::Rfc6724, a, b, None, 32), 29);
        assert_eq!(common_prefix_len(PrefixRule::Rfc3484, a, b, None, 0), 125);
    }

    #[test]
    fn rule_9_skips_mixed_families_under_rfc6724() {
        let p = Policy::rfc6724();
        let v6 = d("2001:db8::1", "2001:db8::2");
        let v4 = d("192.0.2.1", "192.0.2.2");
        // Rule 6 decides here; rule 9 never sees a mixed pair.
        assert_eq!(
            compare(&p, &v6, &v4),
            (Ordering::Less, Rule::HigherPrecedence)
        );
        let a = d("2001:db8::1", "2001:db8::2");
        let b = d("2001:db8:ffff::1", "2001:db8::2");
        assert_eq!(compare(&p, &a, &b), (Ordering::Less, Rule::LongestPrefix));
        assert_eq!(
            compare(&p, &b, &a),
            (Ordering::Greater, Rule::LongestPrefix)
        );
        assert_eq!(compare(&p, &a, &a), (Ordering::Equal, Rule::KeepOrder));
    }

    #[test]
    fn large_sort_matches_small_sort() {
        let p = Policy::rfc6724();
        let base = [
            d("192.0.2.1", "192.0.2.9"),
            d("2001:db8::1", "2001:db8::2"),
            Destination::unreachable(ip("2001:db8::5")),
            d("2001:0:4136:e378::1", "2001:0:4136:e378::2"),
            d("2002:c000:201::1", "2002:c000:201::2"),
            d("fe80::1", "fe80::2"),
        ];
        let mut big: Vec<Destination> = base.iter().cycle().take(40).copied().collect();
        let mut small: Vec<Destination> = big[..30].to_vec();
        sort(&p, &mut big);
        sort(&p, &mut small);
        let mut expected: Vec<Destination> = base.iter().cycle().take(40).copied().collect();
        expected.sort_by(|a, b| compare(&p, a, b).0);
        assert_eq!(big, expected);
        expected.retain(|x| small.contains(x));
        expected.dedup();
        let mut small_dedup = small.clone();
        small_dedup.dedup();
        assert_eq!(small_dedup, expected);
    }
}
