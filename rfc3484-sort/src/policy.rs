//! Policy tables (RFC 6724 §2.1, RFC 3484 §2.1, Windows, glibc) and the
//! fast longest-prefix lookup the sort runs on.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use teredo_addr::{Nat64Prefix, Scope};

/// One row of a precedence or label table: every address in
/// `prefix/len` gets `value`, unless a longer row also matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicyEntry {
    /// The prefix, with the bits past `len` cleared. IPv4 prefixes are
    /// written IPv4-mapped (`::ffff:0:0/96`), as RFC 6724 §2.1 does.
    pub prefix: Ipv6Addr,
    /// The prefix length, 0 to 128.
    pub len: u8,
    /// The precedence or label.
    pub value: u32,
}

/// One row of an IPv4 scope table (glibc's `scopev4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scopev4Entry {
    /// The prefix, with the bits past `len` cleared.
    pub prefix: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub len: u8,
    /// The scope addresses in this prefix have.
    pub scope: Scope,
}

/// How rule 9 ("use longest matching prefix") measures and when it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PrefixRule {
    /// RFC 6724: only between destinations of the same family, the common
    /// prefix capped at the source's prefix length.
    Rfc6724,
    /// RFC 3484: between any two destinations, the common prefix of the
    /// 128-bit (IPv4-mapped) forms, uncapped.
    Rfc3484,
}

/// An address selection policy: the precedence, label and IPv4 scope tables
/// plus the variant of rule 9 to use.
///
/// The built-in policies are [`Policy::rfc6724`] (the default),
/// [`Policy::rfc3484`], [`Policy::windows`] and [`Policy::glibc`];
/// [`Policy::from_gai_conf`] reads a glibc `/etc/gai.conf`.
///
/// Building a policy allocates (its tables and a 256-way lookup index);
/// looking addresses up and sorting with it do not, and neither does
/// cloning it: clones share the tables.
#[derive(Clone, PartialEq)]
pub struct Policy {
    name: &'static str,
    pub(crate) prefix_rule: PrefixRule,
    tables: Arc<Tables>,
}

/// The tables of a [`Policy`], shared by its clones.
#[derive(PartialEq)]
struct Tables {
    precedence: Vec<PolicyEntry>,
    label: Vec<PolicyEntry>,
    scopev4: Vec<Scopev4Entry>,
    compiled: Compiled,
}

/// A row of the merged precedence-and-label table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Row {
    prefix: u128,
    mask: u128,
    precedence: u32,
    label: u32,
}

/// The rows to try for addresses whose first byte is this bucket's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Bucket {
    start: u32,
    end: u32,
    fallback: u32,
}

/// A row of the IPv4 scope table with its mask worked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scope4Row {
    prefix: u32,
    mask: u32,
    scope: u8,
}

/// The tables in the form lookups want.
///
/// The precedence and label tables are merged into one table over the union
/// of their prefixes: for an address, the longest matching prefix of the
/// union is contained in the longest matching prefix of either table, so
/// one scan answers both. The merged rows are then split by the address's
/// first byte: a row longer than 8 bits can only match in one bucket, and
/// the longest row of 8 bits or fewer covering the bucket (there always is
/// one, `::/0`) is the bucket's fallback. A lookup is thus one or two
/// mask-and-compare steps for the common tables.
#[derive(Clone, PartialEq)]
struct Compiled {
    rows: Vec<Row>,
    buckets: Box<[Bucket; 256]>,
    scopev4: Vec<Scope4Row>,
}

/// The 128-bit form of an address: IPv4 becomes `::ffff:a.b.c.d`.
#[inline]
pub(crate) fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => 0xffff_0000_0000 | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Whether a 128-bit address is IPv4-mapped, that is, an IPv4 address.
#[inline]
pub(crate) fn is_v4(bits: u128) -> bool {
    bits >> 32 == 0xffff
}

/// The mask of a `len`-bit IPv6 prefix.
fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// The mask of a `len`-bit IPv4 prefix.
fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

impl PolicyEntry {
    /// A row for `prefix/len`; the bits past `len` are cleared.
    pub fn new(prefix: Ipv6Addr, len: u8, value: u32) -> Self {
        let len = len.min(128);
        Self {
            prefix: Ipv6Addr::from(u128::from(prefix) & mask128(len)),
            len,
            value,
        }
    }

    #[cfg(test)]
    fn matches(&self, bits: u128) -> bool {
        bits & mask128(self.len) == u128::from(self.prefix)
    }
}

impl Scopev4Entry {
    /// A row for `prefix/len`; the bits past `len` are cleared.
    pub fn new(prefix: Ipv4Addr, len: u8, scope: Scope) -> Self {
        let len = len.min(32);
        Self {
            prefix: Ipv4Addr::from(u32::from(prefix) & mask32(len)),
            len,
            scope,
        }
    }
}

/// Parses a table row written in the source, such as `"2002::/16"`.
fn row(prefix: &str, len: u8, value: u32) -> PolicyEntry {
    // Only the constant strings below reach this, so a typo is a bug that
    // every test would show.
    let addr = prefix.parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
    PolicyEntry::new(addr, len, value)
}

/// An RFC-style table where each row gives both precedence and label.
fn split(rows: &[(&str, u8, u32, u32)]) -> (Vec<PolicyEntry>, Vec<PolicyEntry>) {
    let precedence = rows
        .iter()
        .map(|&(p, l, prec, _)| row(p, l, prec))
        .collect();
    let label = rows.iter().map(|&(p, l, _, lab)| row(p, l, lab)).collect();
    (precedence, label)
}

/// IPv4 scopes per RFC 6724 §3.2 (and glibc's default `scopev4`).
fn scopev4_rfc6724() -> Vec<Scopev4Entry> {
    Vec::from([
        Scopev4Entry::new(Ipv4Addr::new(169, 254, 0, 0), 16, Scope::LinkLocal),
        Scopev4Entry::new(Ipv4Addr::new(127, 0, 0, 0), 8, Scope::LinkLocal),
        Scopev4Entry::new(Ipv4Addr::UNSPECIFIED, 0, Scope::Global),
    ])
}

/// IPv4 scopes per RFC 3484 §3.2: the private ranges are site-local.
fn scopev4_rfc3484() -> Vec<Scopev4Entry> {
    Vec::from([
        Scopev4Entry::new(Ipv4Addr::new(10, 0, 0, 0), 8, Scope::SiteLocal),
        Scopev4Entry::new(Ipv4Addr::new(172, 16, 0, 0), 12, Scope::SiteLocal),
        Scopev4Entry::new(Ipv4Addr::new(192, 168, 0, 0), 16, Scope::SiteLocal),
        Scopev4Entry::new(Ipv4Addr::new(127, 0, 0, 0), 8, Scope::LinkLocal),
        Scopev4Entry::new(Ipv4Addr::new(169, 254, 0, 0), 16, Scope::LinkLocal),
        Scopev4Entry::new(Ipv4Addr::UNSPECIFIED, 0, Scope::Global),
    ])
}

/// The RFC 3484 §2.1 default table as (prefix, length, precedence, label).
const RFC3484_ROWS: [(&str, u8, u32, u32); 5] = [
    ("::1", 128, 50, 0),
    ("::", 0, 40, 1),
    ("2002::", 16, 30, 2),
    ("::", 96, 20, 3),
    ("::ffff:0:0", 96, 10, 4),
];

impl Policy {
    /// Builds a policy from its tables. Rows are ordered longest prefix
    /// first; among rows with the same prefix, the first one given wins.
    pub(crate) fn build(
        name: &'static str,
        mut precedence: Vec<PolicyEntry>,
        mut label: Vec<PolicyEntry>,
        mut scopev4: Vec<Scopev4Entry>,
        prefix_rule: PrefixRule,
    ) -> Self {
        // `sort_by_key` is stable, which is what makes "the first row wins" hold.
        precedence.sort_by_key(|e| Reverse(e.len));
        label.sort_by_key(|e| Reverse(e.len));
        scopev4.sort_by_key(|e| Reverse(e.len));
        let compiled = Compiled::new(&precedence, &label, &scopev4);
        Self {
            name,
            prefix_rule,
            tables: Arc::new(Tables {
                precedence,
                label,
                scopev4,
                compiled,
            }),
        }
    }

    /// The RFC 6724 §2.1 default policy table, with RFC 6724 §3.2 IPv4
    /// scopes and RFC 6724 rule 9. Native IPv6 (40) goes before IPv4 (35),
    /// 6to4 (30) and Teredo (5).
    pub fn rfc6724() -> Self {
        let (precedence, label) = split(&[
            ("::1", 128, 50, 0),
            ("::", 0, 40, 1),
            ("::ffff:0:0", 96, 35, 4),
            ("2002::", 16, 30, 2),
            ("2001::", 32, 5, 5),
            ("fc00::", 7, 3, 13),
            ("::", 96, 1, 3),
            ("fec0::", 10, 1, 11),
            ("3ffe::", 16, 1, 12),
        ]);
        Self::build(
            "rfc6724",
            precedence,
            label,
            scopev4_rfc6724(),
            PrefixRule::Rfc6724,
        )
    }

    /// The RFC 3484 §2.1 default policy table, with RFC 3484 §3.2 IPv4
    /// scopes (10/8, 172.16/12 and 192.168/16 site-local; 127/8 and
    /// 169.254/16 link-local) and RFC 3484's uncapped rule 9, which applies
    /// to any two destinations. `2001::/32` is an ordinary global prefix.
    pub fn rfc3484() -> Self {
        let (precedence, label) = split(&RFC3484_ROWS);
        Self::build(
            "rfc3484",
            precedence,
            label,
            scopev4_rfc3484(),
            PrefixRule::Rfc3484,
        )
    }

    /// The Windows Vista / 7 table: RFC 3484's plus `2001::/32` (Teredo)
    /// with precedence 5 and label 5, which orders native IPv6, 6to4, IPv4,
    /// then Teredo. Rule 9 is RFC 3484's.
    ///
    /// IPv4 scopes follow RFC 6724 §3.2 (only 127/8 and 169.254/16 are
    /// link-local): with RFC 3484's site-local private ranges, a host
    /// behind a NAT would fail rule 2 for every global IPv4 destination and
    /// so put Teredo before IPv4, which Windows does not do.
    pub fn windows() -> Self {
        let (mut precedence, mut label) = split(&RFC3484_ROWS);
        precedence.push(row("2001::", 32, 5));
        label.push(row("2001::", 32, 5));
        Self::build(
            "windows",
            precedence,
            label,
            scopev4_rfc6724(),
            PrefixRule::Rfc3484,
        )
    }

    /// glibc's built-in tables (used when `/etc/gai.conf` sets nothing):
    /// RFC 3484 precedences, labels that also single out `fec0::/10`,
    /// `fc00::/7` and `2001::/32`, and RFC 6724 §3.2 IPv4 scopes. Teredo has
    /// no precedence row of its own, so it gets `::/0`'s 40 and goes before
    /// IPv4 (10). Rule 9 is RFC 6724's.
    pub fn glibc() -> Self {
        let label = [
            ("::1", 128, 0),
            ("::", 0, 1),
            ("2002::", 16, 2),
            ("::", 96, 3),
            ("::ffff:0:0", 96, 4),
            ("fec0::", 10, 5),
            ("fc00::", 7, 6),
            ("2001::", 32, 7),
        ];
        let label = label.iter().map(|&(p, l, v)| row(p, l, v)).collect();
        let precedence = RFC3484_ROWS
            .iter()
            .map(|&(p, l, v, _)| row(p, l, v))
            .collect();
        Self::build(
            "glibc",
            precedence,
            label,
            scopev4_rfc6724(),
            PrefixRule::Rfc6724,
        )
    }

    /// The glibc defaults' tables, for `gai.conf` to replace.
    pub(crate) fn glibc_tables() -> (Vec<PolicyEntry>, Vec<PolicyEntry>, Vec<Scopev4Entry>) {
        let glibc = Self::glibc();
        let tables = &glibc.tables;
        (
            tables.precedence.clone(),
            tables.label.clone(),
            tables.scopev4.clone(),
        )
    }

    /// This policy with rows that give the addresses of each NAT64 prefix
    /// in `nat64` the precedence and label this policy gives global IPv4
    /// (those of `::ffff:0:0/96` in the built-in tables), ahead of any
    /// row of the same prefix.
    ///
    /// A destination inside a NAT64 prefix is an IPv4 host reached through
    /// a translator: sorted as IPv4, it goes after native IPv6 (lower
    /// precedence, and its label matches no IPv6 source, RFC 6724 rules 5
    /// and 6), which is the order Happy Eyeballs wants when a name has
    /// both native and synthesized AAAA records. The well-known prefix
    /// `64:ff9b::/96` is not treated so unless it is given.
    ///
    /// ```
    /// use rfc3484_sort::{Destination, Policy, SourceAttrs, sort};
    /// use teredo_addr::Nat64Prefix;
    ///
    /// let nsp: Nat64Prefix = "2001:db8:64::/96".parse()?;
    /// let policy = Policy::rfc6724().with_nat64(&[nsp]);
    /// let src = "2001:db8:1::2".parse()?;
    /// let mut dests = [
    ///     Destination::with_source("2001:db8:64::c633:6432".parse()?, src, SourceAttrs::default()),
    ///     Destination::with_source("2001:db8:7::10".parse()?, src, SourceAttrs::default()),
    /// ];
    /// sort(&policy, &mut dests);
    /// assert_eq!(dests[0].addr.to_string(), "2001:db8:7::10");
    /// assert_eq!(policy.precedence("2001:db8:64::1".parse()?), 35);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_nat64(&self, nat64: &[Nat64Prefix]) -> Self {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let (precedence, label) = (self.precedence(v4), self.label(v4));
        let rows = |value: u32, table: &[PolicyEntry]| {
            nat64
                .iter()
                .map(|p| PolicyEntry::new(p.prefix(), p.prefix_len(), value))
                .chain(table.iter().copied())
                .collect::<Vec<_>>()
        };
        Self::build(
            self.name,
            rows(precedence, &self.tables.precedence),
            rows(label, &self.tables.label),
            self.tables.scopev4.clone(),
            self.prefix_rule,
        )
    }

    /// The policy's name: `"rfc6724"`, `"rfc3484"`, `"windows"`, `"glibc"`
    /// or `"gai.conf"`.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The precedence table, longest prefix first.
    pub fn precedence_table(&self) -> &[PolicyEntry] {
        &self.tables.precedence
    }

    /// The label table, longest prefix first.
    pub fn label_table(&self) -> &[PolicyEntry] {
        &self.tables.label
    }

    /// The IPv4 scope table, longest prefix first.
    pub fn scopev4_table(&self) -> &[Scopev4Entry] {
        &self.tables.scopev4
    }

    /// The precedence of an address (IPv4 is looked up as IPv4-mapped).
    /// Every table has a `::/0` row (a `gai.conf` without one gets
    /// glibc's), so every address has one.
    pub fn precedence(&self, addr: IpAddr) -> u32 {
        self.tables.compiled.lookup(bits(addr)).0
    }

    /// The label of an address (IPv4 is looked up as IPv4-mapped). Every
    /// table has a `::/0` row, so every address has one.
    pub fn label(&self, addr: IpAddr) -> u32 {
        self.tables.compiled.lookup(bits(addr)).1
    }

    /// The scope of an address: IPv4 and IPv4-mapped addresses by the
    /// policy's IPv4 scope table (falling back to RFC 6724 §3.2 if no row
    /// matches), IPv6 by [`teredo_addr::scope`].
    pub fn scope(&self, addr: IpAddr) -> Scope {
        Scope::from_value(self.scope_value(addr, bits(addr)))
    }

    /// The precedence and label of a 128-bit address in one lookup.
    #[inline]
    pub(crate) fn lookup(&self, bits: u128) -> (u32, u32) {
        self.tables.compiled.lookup(bits)
    }

    /// The scope value (0 to 15) of `addr`, whose 128-bit form is `bits`.
    #[inline]
    pub(crate) fn scope_value(&self, addr: IpAddr, bits: u128) -> u8 {
        if is_v4(bits) {
            // Truncation is the point: the low 32 bits are the IPv4 address.
            let v4 = bits as u32;
            for r in &self.tables.compiled.scopev4 {
                if v4 & r.mask == r.prefix {
                    return r.scope;
                }
            }
            teredo_addr::scope(IpAddr::V4(Ipv4Addr::from(v4)))
                .value()
                .min(15)
        } else {
            // Scope values are four bits in RFC 4291; clamping keeps a
            // hand-made `Scope::Other` from spilling into other key fields.
            teredo_addr::scope(addr).value().min(15)
        }
    }
}

impl Default for Policy {
    /// The RFC 6724 policy.
    fn default() -> Self {
        Self::rfc6724()
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The compiled index is derived from the tables, so it is left out.
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("precedence", &self.tables.precedence)
            .field("label", &self.tables.label)
            .field("scopev4", &self.tables.scopev4)
            .field("prefix_rule", &self.prefix_rule)
            .finish()
    }
}

/// What [`Compiled::new`] asks of a precedence or label table for each
/// merged prefix: the value of the longest row containing it. A short
/// table (every built-in one, any usual `gai.conf`) is scanned; a long one
/// is looked up by prefix length, so that a table of many thousand rows
/// compiles in time linear in its rows, not quadratic.
enum Values<'t> {
    /// The table itself, longest row first.
    Scan(&'t [PolicyEntry]),
    ByLength(ByLength),
}

impl<'t> Values<'t> {
    /// Up to this many rows, a scan is quicker than building the maps.
    const SCAN_MAX: usize = 64;

    fn new(table: &'t [PolicyEntry]) -> Self {
        if table.len() <= Self::SCAN_MAX {
            Self::Scan(table)
        } else {
            Self::ByLength(ByLength::new(table))
        }
    }

    /// The value of the longest row containing all of `prefix/len`, or 0
    /// if none does.
    fn value_for_prefix(&self, prefix: u128, len: u8) -> u32 {
        match self {
            Self::Scan(table) => table
                .iter()
                .find(|e| e.len <= len && prefix & mask128(e.len) == u128::from(e.prefix))
                .map_or(0, |e| e.value),
            Self::ByLength(by_length) => by_length.value_for_prefix(prefix, len),
        }
    }
}

/// A table by prefix length, longest first, with the first row of each
/// prefix.
struct ByLength(Vec<(u8, BTreeMap<u128, u32>)>);

impl ByLength {
    fn new(table: &[PolicyEntry]) -> Self {
        let mut lengths: Vec<(u8, BTreeMap<u128, u32>)> = Vec::new();
        for e in table {
            let at = match lengths.iter().position(|(len, _)| *len == e.len) {
                Some(at) => at,
                None => {
                    lengths.push((e.len, BTreeMap::new()));
                    lengths.len() - 1
                }
            };
            lengths[at]
                .1
                .entry(u128::from(e.prefix) & mask128(e.len))
                .or_insert(e.value);
        }
        lengths.sort_by_key(|&(len, _)| Reverse(len));
        Self(lengths)
    }

    /// The value of the longest row containing all of `prefix/len`, or 0
    /// if none does.
    fn value_for_prefix(&self, prefix: u128, len: u8) -> u32 {
        self.0
            .iter()
            .filter(|(row_len, _)| *row_len <= len)
            .find_map(|(row_len, rows)| rows.get(&(prefix & mask128(*row_len))).copied())
            .unwrap_or(0)
    }
}

impl Compiled {
    fn new(precedence: &[PolicyEntry], label: &[PolicyEntry], scopev4: &[Scopev4Entry]) -> Self {
        // The union of both tables' prefixes, plus `::/0` so that every
        // address matches some row.
        let mut prefixes: Vec<(u128, u8)> = precedence
            .iter()
            .chain(label)
            .map(|e| (u128::from(e.prefix), e.len))
            .chain(core::iter::once((0, 0)))
            .collect();
        prefixes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        prefixes.dedup();
        let (precedence, label) = (Values::new(precedence), Values::new(label));
        let merged: Vec<Row> = prefixes
            .iter()
            .map(|&(prefix, len)| Row {
                prefix,
                mask: mask128(len),
                precedence: precedence.value_for_prefix(prefix, len),
                label: label.value_for_prefix(prefix, len),
            })
            .collect();

        let mut rows = Vec::new();
        let mut buckets = Box::new([Bucket::default(); 256]);
        // Short rows (8 bits or fewer) go first so bucket fallbacks can
        // point at them; `merged` is longest first, so the first short row
        // covering a bucket is the longest.
        let short: Vec<Row> = merged
            .iter()
            .copied()
            .filter(|r| r.mask << 8 == 0)
            .collect();
        rows.extend_from_slice(&short);
        for (byte, bucket) in buckets.iter_mut().enumerate() {
            let first = (byte as u128) << 120;
            let fallback = short
                .iter()
                .position(|r| first & r.mask == r.prefix)
                .unwrap_or(short.len() - 1);
            let start = rows.len();
            rows.extend(
                merged
                    .iter()
                    .filter(|r| r.mask << 8 != 0 && (r.prefix >> 120) as usize == byte),
            );
            // A row index always fits 32 bits (a table that long would not
            // fit in memory first).
            let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
            *bucket = Bucket {
                start: index(start),
                end: index(rows.len()),
                fallback: index(fallback),
            };
        }
        let scopev4 = scopev4
            .iter()
            .map(|e| Scope4Row {
                prefix: u32::from(e.prefix),
                mask: mask32(e.len),
                scope: e.scope.value().min(15),
            })
            .collect();
        Self {
            rows,
            buckets,
            scopev4,
        }
    }

    /// The precedence and label of a 128-bit address.
    #[inline]
    fn lookup(&self, bits: u128) -> (u32, u32) {
        let bucket = self.buckets[usize::from((bits >> 120) as u8)];
        let index = |i: u32| usize::try_from(i).unwrap_or(usize::MAX);
        let candidates = self
            .rows
            .get(index(bucket.start)..index(bucket.end))
            .unwrap_or(&[]);
        for r in candidates {
            if bits & r.mask == r.prefix {
                return (r.precedence, r.label);
            }
        }
        self.rows
            .get(index(bucket.fallback))
            .map_or((0, 0), |r| (r.precedence, r.label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc6724_values() {
        let p = Policy::rfc6724();
        assert_eq!(p.precedence(ip("::1")), 50);
        assert_eq!(p.label(ip("::1")), 0);
        assert_eq!(p.precedence(ip("2001:db8::1")), 40);
        assert_eq!(p.precedence(ip("192.0.2.1")), 35);
        assert_eq!(p.label(ip("192.0.2.1")), 4);
        assert_eq!(p.precedence(ip("::ffff:192.0.2.1")), 35);
        assert_eq!(p.precedence(ip("2002:c000:201::1")), 30);
        assert_eq!(p.precedence(ip("2001:0:4136:e378::1")), 5);
        assert_eq!(p.label(ip("2001:0:4136:e378::1")), 5);
        assert_eq!(p.label(ip("fd00::1")), 13);
        assert_eq!(p.label(ip("fc00::1")), 13);
        assert_eq!(p.label(ip("::192.0.2.1")), 3);
        assert_eq!(p.label(ip("fec0::1")), 11);
        assert_eq!(p.label(ip("3ffe::1")), 12);
        assert_eq!(p.label(ip("fe80::1")), 1);
        assert_eq!(p.label(ip("::")), 3);
    }

    #[test]
    fn nat64_prefixes_take_the_values_of_ipv4() {
        let nsp: Nat64Prefix = "2001:db8:64::/96".parse().unwrap();
        let wkp = Nat64Prefix::WELL_KNOWN;
        for (base, v4) in [
            (Policy::rfc6724(), (35, 4)),
            (Policy::windows(), (10, 4)),
            (Policy::glibc(), (10, 4)),
        ] {
            let p = base.with_nat64(&[nsp, wkp]);
            assert_eq!(p.name(), base.name());
            for a in ["2001:db8:64::c633:6432", "64:ff9b::192.0.2.1"] {
                assert_eq!(
                    (p.precedence(ip(a)), p.label(ip(a))),
                    v4,
                    "{a} {}",
                    p.name()
                );
            }
            // Next to the prefix, nothing changed.
            for a in ["2001:db8:65::1", "2001:0:4136:e378::1", "::1", "192.0.2.1"] {
                assert_eq!(p.precedence(ip(a)), base.precedence(ip(a)), "{a}");
                assert_eq!(p.label(ip(a)), base.label(ip(a)), "{a}");
            }
        }
        // With none given, the same tables.
        let p = Policy::rfc6724();
        assert!(p.with_nat64(&[]) == p);
    }

    #[test]
    fn scopes() {
        let p = Policy::rfc3484();
        assert_eq!(p.scope(ip("10.1.2.3")), Scope::SiteLocal);
        assert_eq!(p.scope(ip("172.31.0.1")), Scope::SiteLocal);
        assert_eq!(p.scope(ip("172.32.0.1")), Scope::Global);
        assert_eq!(p.scope(ip("::ffff:192.168.0.1")), Scope::SiteLocal);
        assert_eq!(p.scope(ip("127.0.0.1")), Scope::LinkLocal);
        assert_eq!(p.scope(ip("fe80::1")), Scope::LinkLocal);
        let p = Policy::rfc6724();
        assert_eq!(p.scope(ip("10.1.2.3")), Scope::Global);
        assert_eq!(p.scope(ip("169.254.1.1")), Scope::LinkLocal);
        assert_eq!(p.scope(ip("ff05::1")), Scope::SiteLocal);
    }

    /// The value of the first row of a table (longest first) that
    /// matches `bits`, found by a scan: the specification.
    fn scan(table: &[PolicyEntry], bits: u128) -> u32 {
        table
            .iter()
            .find(|e| e.matches(bits))
            .map_or(0, |e| e.value)
    }

    /// The two ways of finding a prefix's value agree, on a table with
    /// nested prefixes, duplicates (the first row wins) and every length.
    #[test]
    fn lookup_by_length_agrees_with_a_scan() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut table: Vec<PolicyEntry> = (0..300)
            .map(|i| {
                let len = (next() % 129) as u8;
                // Few distinct high bits, so that prefixes nest and repeat.
                let prefix = (u128::from(next() % 4) << 126) | (u128::from(next()) << 40);
                PolicyEntry::new(Ipv6Addr::from(prefix), len, i)
            })
            .collect();
        table.sort_by_key(|e| Reverse(e.len));
        let by_length = Values::ByLength(ByLength::new(&table));
        let scan = Values::Scan(&table);
        for _ in 0..2_000 {
            let prefix = (u128::from(next() % 4) << 126) | (u128::from(next()) << 40);
            let len = (next() % 129) as u8;
            let prefix = prefix & mask128(len);
            assert_eq!(
                by_length.value_for_prefix(prefix, len),
                scan.value_for_prefix(prefix, len),
                "{prefix:x}/{len}"
            );
        }
    }

    #[test]
    fn compiled_lookup_agrees_with_tables() {
        // A linear scan of the separate tables is the specification the
        // bucketed index must match.
        for p in [
            Policy::rfc6724(),
            Policy::rfc3484(),
            Policy::windows(),
            Policy::glibc(),
        ] {
            for byte in 0..=255u128 {
                for tail in [
                    0u128,
                    1,
                    0xffff_0a01_0203,
                    u128::MAX >> 8,
                    0x0000_0db8 << 88,
                ] {
                    let a = (byte << 120) | tail;
                    let want_p = scan(&p.tables.precedence, a);
                    let want_l = scan(&p.tables.label, a);
                    assert_eq!(p.lookup(a), (want_p, want_l), "{} {a:x}", p.name());
                }
            }
        }
    }

    #[test]
    fn entries_are_masked() {
        let e = PolicyEntry::new("2001:db8::1".parse().unwrap(), 32, 7);
        assert_eq!(e.prefix, "2001:db8::".parse::<Ipv6Addr>().unwrap());
        let e = Scopev4Entry::new(Ipv4Addr::new(10, 1, 2, 3), 8, Scope::SiteLocal);
        assert_eq!(e.prefix, Ipv4Addr::new(10, 0, 0, 0));
    }
}
