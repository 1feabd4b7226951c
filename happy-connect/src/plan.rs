//! The pure half of a connect: what the host given is (a literal with its
//! zone, or a name), which candidates an answer makes, what each query
//! could still bring, and the [`Plan`] a resolution returns.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use iface_probe::{Path, Reach, Snapshot, SourceInfo};
use rfc3484_sort::{Destination, Source, SourceAttrs};

use crate::race::{self, Candidate};
use crate::report::{CandidateReport, HostCapabilities, PlanView, QueryReport, fmt_plan};

/// What a connect is asked to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An IP address, and for a scoped IPv6 address the zone (an interface
    /// index; 0 for none).
    Literal { ip: IpAddr, scope_id: u32 },
    /// A name to resolve.
    Name,
}

/// Why a host string cannot be connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidHost(pub(crate) String);

/// Whether `host` may be an IP literal (`192.0.2.1`, `::1`, `[::1]`,
/// `fe80::1%eth0`); `false` says at a glance that it is a name (or
/// nothing valid).
pub(crate) fn may_be_literal(host: &str) -> bool {
    let bytes = host.as_bytes();
    let bare = bytes.strip_prefix(b"[").unwrap_or(bytes);
    // The address ends at its zone, or at the bracket.
    let end = bare
        .iter()
        .position(|&b| b == b'%' || b == b']')
        .unwrap_or(bare.len());
    end > 0
        && bare[..end]
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
}

/// Reads `host`: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`,
/// `fe80::1%eth0`, `fe80::1%2`, `[fe80::1%eth0]`, or a name. A zone given
/// by name is looked up in `snapshot` (the host view's interfaces).
pub(crate) fn target(host: &str, snapshot: Option<&Snapshot>) -> Result<Target, InvalidHost> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let (addr, zone) = match bare.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (bare, None),
    };
    let parsed = parse_ip(addr);
    let Some(ip) = parsed else {
        if let Some(v4) = ipv4_shorthand(host) {
            return Err(InvalidHost(format!(
                "{host:?} is an IPv4 address in a shorthand form, which systems read \
                 differently (the C library reads it as {v4}): write the address in full"
            )));
        }
        if !is_name(host) {
            return Err(InvalidHost(format!(
                "{host:?} is not a host name or an IP address"
            )));
        }
        return Ok(Target::Name);
    };
    let scope_id = match (ip, zone) {
        (_, None) => 0,
        (IpAddr::V4(_), Some(_)) => {
            return Err(InvalidHost(format!(
                "{host:?}: an IPv4 address has no zone"
            )));
        }
        (IpAddr::V6(_), Some(zone)) => zone_index(zone, snapshot)
            .ok_or_else(|| InvalidHost(format!("{host:?}: no interface {zone:?} for the zone")))?,
    };
    if let IpAddr::V6(v6) = ip {
        if needs_zone(v6) && scope_id == 0 {
            return Err(InvalidHost(format!(
                "{host:?} is link-local: give its zone, as in {v6}%eth0"
            )));
        }
    }
    Ok(Target::Literal { ip, scope_id })
}

/// Whether `host`, which is not an IP address, is taken as a name: it is
/// not empty, has no blank (nor `%`) and is not an IPv4 address in a
/// shorthand form (`127.1`). What [`target`] says of a host that
/// [`may_be_literal`] rules out, without its other work.
pub(crate) fn is_name(host: &str) -> bool {
    // The ASCII characters `char::is_whitespace` takes, and `%`.
    let blank = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' | b' ' | b'%');
    !host.is_empty()
        && !host.bytes().any(blank)
        && (host.is_ascii() || !host.contains(char::is_whitespace))
        && ipv4_shorthand(host).is_none()
}

/// An IPv4 address in one of the forms `inet_aton(3)` reads besides four
/// decimal numbers: fewer parts (`127.1`, the last filling the bytes
/// left), octal with a leading zero (`010.0.0.1` is 8.0.0.1) or hex
/// (`0x7f.1`). Neither a host name nor, for std, an address, and read by
/// the C library and by DNS differently: a connect refuses it rather than
/// send it to DNS as a name.
#[inline]
pub(crate) fn ipv4_shorthand(s: &str) -> Option<Ipv4Addr> {
    // Every form begins with a digit; few names do.
    if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    read_ipv4_shorthand(s)
}

/// [`ipv4_shorthand`] of a string that begins with a digit.
fn read_ipv4_shorthand(s: &str) -> Option<Ipv4Addr> {
    // Names fail at their first letter that is not a hex digit or `x`.
    if !s
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'x' | b'X'))
    {
        return None;
    }
    let mut parts = [0_u32; 4];
    let mut count = 0;
    for part in s.split('.') {
        let slot = parts.get_mut(count)?;
        let (digits, radix) = match part.as_bytes() {
            [b'0', b'x' | b'X', rest @ ..] if !rest.is_empty() => (&part[2..], 16),
            [b'0', _, ..] => (&part[1..], 8),
            [_, ..] => (part, 10),
            [] => return None,
        };
        // `from_str_radix` would take a sign.
        if !digits.bytes().all(|b| char::from(b).is_digit(radix)) {
            return None;
        }
        *slot = u32::from_str_radix(digits, radix).ok()?;
        count += 1;
    }
    let (head, last) = (&parts[..count - 1], parts[count - 1]);
    if head.iter().any(|&p| p > 255) {
        return None;
    }
    // The last part fills the bytes the others leave: all 32 bits alone,
    // 24 after one byte, and so on.
    let last_bits = 32 - 8 * (count as u32 - 1);
    if last_bits < 32 && last >> last_bits != 0 {
        return None;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(last, |v, (i, &p)| v | (p << (24 - 8 * i as u32)));
    Some(Ipv4Addr::from(value))
}

/// `s` as an IP address, as `IpAddr::from_str` reads it. The usual IPv4
/// literal is read by hand (std's general parser costs several hundred
/// instructions, a noticeable part of a connect to an address); names are
/// told apart at a glance.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if !crate::resolve::maybe_ip(s) {
        return None;
    }
    match parse_dotted_quad(s) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => s.parse().ok(),
    }
}

/// Four decimal numbers up to 255, joined by dots, without leading zeros
/// (which std refuses, lest they be read as octal): what
/// `Ipv4Addr::from_str` accepts, and nothing else.
fn parse_dotted_quad(s: &str) -> Option<Ipv4Addr> {
    let bytes = s.as_bytes();
    if !(7..=15).contains(&bytes.len()) {
        return None;
    }
    let mut octets = [0_u8; 4];
    let mut parts = bytes.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        let ([first, ..], 1..=3) = (part, part.len()) else {
            return None;
        };
        if *first == b'0' && part.len() > 1 {
            return None;
        }
        let mut value: u16 = 0;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// A zone's interface index: a number, or an interface name the snapshot
/// knows.
pub(crate) fn zone_index(zone: &str, snapshot: Option<&Snapshot>) -> Option<u32> {
    if let Ok(index) = zone.parse::<u32>() {
        return (index != 0).then_some(index);
    }
    snapshot?.interface_by_name(zone).map(|i| i.index)
}

/// Whether an IPv6 address is meaningless without a zone: link-local
/// unicast (`fe80::/10`).
fn needs_zone(v6: Ipv6Addr) -> bool {
    v6.segments()[0] & 0xffc0 == 0xfe80
}

/// The candidate for `addr` with what the kernel said of its source.
pub(crate) fn candidate(addr: IpAddr, source: Option<&SourceInfo>, port: u16) -> Candidate {
    Candidate::new(
        Destination {
            addr,
            source: source.map(|s| Source {
                addr: s.addr,
                attrs: SourceAttrs {
                    deprecated: s.deprecated,
                    home: s.home,
                    care_of: false,
                    tunnel: s.tunnel,
                    temporary: s.temporary,
                    prefix_len: s.prefix_len,
                },
            }),
        },
        port,
    )
}

/// The candidates of one answer, each with its source, in the answer's
/// order.
pub(crate) fn candidates(
    addrs: &[IpAddr],
    sources: &[Option<SourceInfo>],
    port: u16,
) -> Vec<Candidate> {
    addrs
        .iter()
        .zip(sources.iter().chain(std::iter::repeat(&None)))
        .map(|(&addr, source)| candidate(addr, source.as_ref(), port))
        .collect()
}

/// Representative destinations of the kinds a query could bring that the
/// representative global destinations of [`Reach`] do not cover.
const NAT64_PROSPECT: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0x0808, 0x0808);
const ULA_PROSPECT: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const LINK_LOCAL_PROSPECT: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const PRIVATE_PROSPECT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const LINK_LOCAL_V4_PROSPECT: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 1);

/// What each query could still bring on this host: one candidate per kind
/// of destination, with the source the host would use for it (none where
/// it has no route or no address of that kind), for the race to decide
/// whether a pending query is worth waiting for. Without a snapshot
/// nothing is known, and every kind is assumed reachable.
pub(crate) fn prospects(snapshot: Option<&Snapshot>) -> Vec<Candidate> {
    let Some(snapshot) = snapshot else {
        return race::default_prospects();
    };
    let reach = snapshot.reach();
    let info = |source: IpAddr, oif: u32| {
        let mut r = iface_probe::Route::new(iface_probe::Family::of(source), None);
        r.pref_src = Some(source);
        r.oif = Some(oif);
        SourceInfo::from_route(&r, snapshot)
    };
    let path = |path: Option<Path>| path.and_then(|p| info(p.source, p.oif));
    // A usable address of this kind on an operational interface: the
    // source the kernel would give a destination of the same kind.
    let local = |kind: fn(IpAddr) -> bool| {
        snapshot.interfaces.iter().find_map(|i| {
            let a = i
                .addresses
                .iter()
                .find(|a| i.is_operational() && a.is_usable() && kind(a.ip))?;
            info(a.ip, i.index)
        })
    };
    let native = path(reach.ipv6);
    let ipv4 = path(reach.ipv4);
    let v6_loopback = local(|ip| ip == IpAddr::V6(Ipv6Addr::LOCALHOST));
    let v4_loopback = local(|ip| matches!(ip, IpAddr::V4(v4) if v4.is_loopback()));
    let ula = local(|ip| teredo_addr::classify(ip) == teredo_addr::AddrKind::UniqueLocal);
    let link_local = local(|ip| teredo_addr::classify(ip) == teredo_addr::AddrKind::LinkLocal);
    let v4_link_local = local(|ip| matches!(ip, IpAddr::V4(v4) if v4.is_link_local()));
    vec![
        candidate(IpAddr::V6(Ipv6Addr::LOCALHOST), v6_loopback.as_ref(), 0),
        candidate(IpAddr::V6(Reach::IPV6_PROBE), native.as_ref(), 0),
        candidate(IpAddr::V6(NAT64_PROSPECT), native.as_ref(), 0),
        candidate(
            IpAddr::V6(Reach::SIXTOFOUR_PROBE),
            path(reach.sixtofour).as_ref(),
            0,
        ),
        candidate(
            IpAddr::V6(Reach::TEREDO_PROBE),
            path(reach.teredo).as_ref(),
            0,
        ),
        candidate(IpAddr::V6(ULA_PROSPECT), ula.as_ref(), 0),
        candidate(IpAddr::V6(LINK_LOCAL_PROSPECT), link_local.as_ref(), 0),
        candidate(IpAddr::V4(Ipv4Addr::LOCALHOST), v4_loopback.as_ref(), 0),
        candidate(IpAddr::V4(Reach::IPV4_PROBE), ipv4.as_ref(), 0),
        candidate(IpAddr::V4(PRIVATE_PROSPECT), ipv4.as_ref(), 0),
        candidate(
            IpAddr::V4(LINK_LOCAL_V4_PROSPECT),
            v4_link_local.as_ref(),
            0,
        ),
    ]
}

/// The result of [`Connector::resolve`](crate::Connector::resolve): what
/// was asked and why, what came back, and the candidates in the order a
/// sequential connect would try them (a race interleaves the families of
/// that order as it goes).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Plan {
    /// The host as given.
    pub host: String,
    /// The host's capabilities as the AAAA decision saw them; `None` when
    /// the host view could not read them (see `host_unavailable`).
    pub capabilities: Option<HostCapabilities>,
    /// Why the host view could not say what the host reaches, if it could
    /// not.
    pub host_unavailable: Option<String>,
    /// The NAT64 prefixes known and whether IPv4 destinations were
    /// synthesized, on a host where NAT64 matters; see [`crate::nat64`].
    /// Boxed, as in [`ConnectReport`](crate::ConnectReport).
    pub nat64: Option<Box<crate::nat64::Nat64Report>>,
    /// One entry per record type: sent (with its answer) or skipped.
    pub queries: Vec<QueryReport>,
    /// The candidates in order, each with the reason it stands before the
    /// next.
    pub candidates: Vec<CandidateReport>,
    /// Addresses beyond the candidate cap, left out.
    pub dropped_candidates: usize,
    /// How the connection history was used, if it was.
    pub history: Option<crate::report::HistoryReport>,
    /// The candidates with their zones, for [`Plan::addrs`].
    pub(crate) order: Vec<Candidate>,
}

impl Plan {
    /// The candidates' socket addresses in order, with `port` (and the
    /// zone of a link-local one): what a client that connects by itself
    /// should try.
    pub fn addrs(&self, port: u16) -> Vec<SocketAddr> {
        self.order
            .iter()
            .map(|c| {
                let mut c = *c;
                c.port = port;
                c.addr()
            })
            .collect()
    }
}

impl fmt::Display for Plan {
    /// The queries and the order, as `happy-connect resolve` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "resolve {}", self.host)?;
        fmt_plan(
            f,
            &PlanView {
                capabilities: self.capabilities.as_ref(),
                host_unavailable: self.host_unavailable.as_deref(),
                nat64: self.nat64.as_deref(),
                history: self.history.as_ref(),
                queries: &self.queries,
                candidates: &self.candidates,
                dropped: self.dropped_candidates,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iface_probe::{Address, Interface};

    /// The hand-written IPv4 reader agrees with std's on every string it
    /// could be given: edge cases, then a million strings of digits and
    /// dots (and a few other characters) from a fixed pseudo-random
    /// sequence.
    #[test]
    fn the_ipv4_reader_agrees_with_std() {
        let agree = |s: &str| {
            assert_eq!(parse_dotted_quad(s), s.parse::<Ipv4Addr>().ok(), "{s:?}");
            assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "{s:?}");
        };
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.00",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "+1.2.3.4",
            "1.2.3.4 ",
            "1.2.3.-4",
            "0000.1.1.1",
            "999.999.999.999",
            "1.2.3.4.5",
            "::ffff:1.2.3.4",
            "127.0.0.1",
            "",
        ] {
            agree(s);
        }
        let alphabet = b"0123456789012345678901234567890123456789....a:+ ";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut s = String::new();
        let mut valid = 0;
        for _ in 0..1_000_000 {
            s.clear();
            let len = next() % 17;
            for _ in 0..len {
                s.push(char::from(
                    alphabet[(next() % alphabet.len() as u64) as usize],
                ));
            }
            agree(&s);
            valid += usize::from(parse_dotted_quad(&s).is_some());
        }
        assert!(valid > 100, "only {valid} addresses among the strings");
    }

    /// The shorthand forms the C library reads, and what it reads them
    /// as; names, and forms it refuses, are none.
    #[test]
    fn ipv4_shorthand_forms_read_as_inet_aton_does() {
        for (s, want) in [
            ("127.1", "127.0.0.1"),
            ("10.1.2", "10.1.0.2"),
            ("2130706433", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("0X7F000001", "127.0.0.1"),
            ("010.0.0.1", "8.0.0.1"),
            ("0177.0.0.01", "127.0.0.1"),
            ("1.2.3.4", "1.2.3.4"),
            ("0", "0.0.0.0"),
            ("1.0x10000", "1.1.0.0"),
        ] {
            assert_eq!(ipv4_shorthand(s), Some(want.parse().unwrap()), "{s:?}");
        }
        for s in [
            "",
            ".",
            "1.",
            ".1",
            "1..2",
            "1.2.3.4.5",
            "256.1",
            "1.16777216",
            "08.1",
            "0x",
            "0xg",
            "4294967296",
            "cafe",
            "bench.test",
            "1e100",
            "+1.2",
            "1.2.3.256",
            "deadbeef",
            "example.com",
        ] {
            assert_eq!(ipv4_shorthand(s), None, "{s:?}");
        }
    }

    /// A connect refuses a shorthand IPv4 address, saying what the C
    /// library would read it as, rather than send it to DNS as a name.
    #[test]
    fn a_shorthand_ipv4_address_is_refused_not_looked_up() {
        for host in ["127.1", "0x7f.1", "010.0.0.1", "2130706433"] {
            let err = target(host, None).expect_err(host);
            assert!(err.0.contains("shorthand"), "{}", err.0);
            assert!(!is_name(host), "{host}");
        }
        let err = target("127.1", None).unwrap_err();
        assert!(err.0.contains("127.0.0.1"), "{}", err.0);
        assert_eq!(target("cafe.bad", None), Ok(Target::Name));
        assert!(is_name("0x.example"));
    }

    fn snapshot() -> Snapshot {
        let mut eth = Interface::new(3, "eth0");
        eth.addresses
            .push(Address::new("fe80::2".parse().unwrap(), 64));
        let mut s = Snapshot::default();
        s.interfaces.push(eth);
        s
    }

    /// The glance that sends a name past the literal fast path agrees
    /// with the parse: every literal `target` takes may be one, and names
    /// are not.
    #[test]
    fn may_be_literal_agrees_with_target() {
        let snap = snapshot();
        for host in [
            "192.0.2.1",
            "2001:db8::1",
            "[2001:db8::1]",
            "::ffff:192.0.2.1",
            "fe80::1%eth0",
            "fe80::1%3",
            "[fe80::1%eth0]",
        ] {
            assert!(may_be_literal(host), "{host}");
            assert!(
                matches!(target(host, Some(&snap)), Ok(Target::Literal { .. })),
                "{host}"
            );
        }
        for host in [
            "example.com",
            "bench.test",
            "localhost",
            "",
            "[",
            "[]",
            "%eth0",
            "caf\u{e9}.example",
        ] {
            assert!(!may_be_literal(host), "{host}");
        }
        // Hex-only names may be literals at a glance; the parse says no.
        assert!(may_be_literal("cafe.bad"));
        assert_eq!(target("cafe.bad", Some(&snap)), Ok(Target::Name));
    }

    #[test]
    fn literals_names_and_zones() {
        let s = snapshot();
        let lit = |h: &str| target(h, Some(&s));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let ll: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            lit("192.0.2.1"),
            Ok(Target::Literal {
                ip: v4,
                scope_id: 0
            })
        );
        assert_eq!(
            lit("[2001:db8::1]"),
            Ok(Target::Literal {
                ip: "2001:db8::1".parse().unwrap(),
                scope_id: 0
            })
        );
        assert_eq!(
            lit("fe80::1%eth0"),
            Ok(Target::Literal {
                ip: ll,
                scope_id: 3
            })
        );
        assert_eq!(
            lit("[fe80::1%7]"),
            Ok(Target::Literal {
                ip: ll,
                scope_id: 7
            })
        );
        assert_eq!(lit("example.com"), Ok(Target::Name));
        for (bad, why) in [
            ("", "not a host name"),
            ("exa mple", "not a host name"),
            ("fe80::1%nope0", "no interface \"nope0\""),
            ("fe80::1", "give its zone"),
            ("192.0.2.1%eth0", "no zone"),
            ("fe80::1%0", "no interface"),
            ("name%eth0", "not a host name"),
        ] {
            let err = lit(bad).unwrap_err();
            assert!(err.0.contains(why), "{bad}: {}", err.0);
        }
        // Without a host view, zones by number still work.
        assert_eq!(
            target("fe80::1%4", None),
            Ok(Target::Literal {
                ip: ll,
                scope_id: 4
            })
        );
    }

    #[test]
    fn a_zone_goes_into_the_socket_address() {
        let c = candidate("fe80::1".parse().unwrap(), None, 80).with_scope_id(3);
        assert_eq!(c.addr().to_string(), "[fe80::1%3]:80");
        let plan = Plan {
            order: vec![c],
            ..Plan::default()
        };
        assert_eq!(plan.addrs(443)[0].to_string(), "[fe80::1%3]:443");
    }

    #[test]
    fn prospects_follow_what_the_host_reaches() {
        // Nothing reached: every prospect is unreachable.
        let s = snapshot();
        let p = prospects(Some(&s));
        assert_eq!(p.len(), 11);
        assert!(p.iter().all(|c| c.dest.source.is_none()), "{p:?}");
        // A usable link-local address on an operational interface makes
        // link-local destinations reachable.
        let mut s = s;
        s.interfaces[0].up = true;
        s.interfaces[0].running = true;
        let p = prospects(Some(&s));
        let reached: Vec<String> = p
            .iter()
            .filter(|c| c.dest.source.is_some())
            .map(|c| c.dest.addr.to_string())
            .collect();
        assert_eq!(reached, ["fe80::1"]);
        // Unknown host: every kind reachable.
        assert!(prospects(None).iter().all(|c| c.dest.source.is_some()));
    }
}
