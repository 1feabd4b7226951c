//! NAT64 prefixes announced by routers: the PREF64 option of Router
//! Advertisements (RFC 8781), decoded, and the pure bookkeeping a view of
//! the host keeps of them (announced, refreshed, withdrawn, expired,
//! rejected with a reason).
//!
//! On Linux the kernel hands Router Advertisement options it does not act
//! on itself to user space as `RTM_NEWNDUSEROPT` notifications (group
//! `RTNLGRP_ND_USEROPT`); a [`HostView`](crate::HostView) subscribes to
//! them and keeps what they say in [`Snapshot::pref64`]. The kernel keeps
//! no table of them, so a dump cannot read them back: a view learns a
//! prefix from the first advertisement after it started (routers repeat
//! theirs, and [`HostView::solicit_routers`](crate::HostView::solicit_routers)
//! asks for one at once). Other systems have no such notification: there
//! [`Snapshot::pref64`] stays empty, and a program learns the prefix from
//! its DNS64 server instead (RFC 7050).

use std::fmt;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use teredo_addr::{Nat64Prefix, Nat64PrefixError};

use crate::snapshot::Snapshot;

/// The Neighbor Discovery option type of PREF64 (RFC 8781 §4, IANA).
pub const ND_OPT_PREF64: u8 = 38;

/// The ICMPv6 type of a Router Advertisement (RFC 4861 §4.2).
pub const ND_ROUTER_ADVERT: u8 = 134;

/// The unit of the scaled lifetime: 8 seconds (RFC 8781 §4).
const LIFETIME_UNIT: u64 = 8;

/// The largest scaled lifetime, 13 bits.
const MAX_SCALED: u16 = 0x1fff;

/// How many rejected options a snapshot remembers, newest last.
pub(crate) const MAX_IGNORED: usize = 8;

/// A PREF64 option (RFC 8781 §4), decoded: a NAT64 prefix and how long it
/// may be used.
///
/// ```
/// use std::time::Duration;
/// use iface_probe::Pref64Option;
///
/// let option = Pref64Option::new("2001:db8:64::/96".parse()?, Duration::from_secs(600));
/// let bytes = option.encode();
/// assert_eq!(bytes[..4], [38, 2, 0x02, 0x58]); // type, length, 75 × 8 s, PLC 0
/// assert_eq!(Pref64Option::decode(&bytes), Ok(option));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pref64Option {
    /// The prefix.
    pub prefix: Nat64Prefix,
    /// How long the prefix may be used from the advertisement on; zero
    /// withdraws it.
    pub lifetime: Duration,
}

impl Pref64Option {
    /// An option for `prefix` with `lifetime` (rounded up to the 8-second
    /// unit when encoded, and capped at 65528 s).
    pub const fn new(prefix: Nat64Prefix, lifetime: Duration) -> Self {
        Self { prefix, lifetime }
    }

    /// Decodes one option (type, length and body) as a Router
    /// Advertisement carries it.
    ///
    /// # Errors
    ///
    /// A [`Pref64Error`] naming what RFC 8781 does not allow: another
    /// option type, a length other than 2 (16 bytes), a prefix length code
    /// other than 0 to 5, or a prefix RFC 6052 rejects (a /96 with a
    /// non-zero "u" octet). Bits after the prefix length are ignored, as
    /// the RFC asks of receivers.
    pub fn decode(option: &[u8]) -> Result<Self, Pref64Error> {
        let &[kind, units, ..] = option else {
            return Err(Pref64Error::Truncated {
                bytes: option.len(),
            });
        };
        if kind != ND_OPT_PREF64 {
            return Err(Pref64Error::NotPref64 { kind });
        }
        if units != 2 || option.len() != 16 {
            return Err(Pref64Error::BadLength {
                units,
                bytes: option.len(),
            });
        }
        let field = u16::from_be_bytes([option[2], option[3]]);
        let scaled = field >> 3;
        let code = (field & 0x7) as u8;
        let Some(len) = plc_length(code) else {
            return Err(Pref64Error::BadLengthCode { code });
        };
        let mut octets = [0u8; 16];
        octets[..12].copy_from_slice(&option[4..16]);
        let bits = u128::from_be_bytes(octets) & !(u128::MAX >> len);
        let prefix = Nat64Prefix::new(Ipv6Addr::from(bits), len).map_err(Pref64Error::BadPrefix)?;
        Ok(Self {
            prefix,
            lifetime: Duration::from_secs(u64::from(scaled) * LIFETIME_UNIT),
        })
    }

    /// The option's 16 bytes (RFC 8781 §4): type 38, length 2, the
    /// lifetime in units of 8 seconds (rounded up, capped at 8191 units),
    /// the prefix length code and the first 96 bits of the prefix.
    pub fn encode(&self) -> [u8; 16] {
        let secs = self.lifetime.as_secs() + u64::from(self.lifetime.subsec_nanos() > 0);
        let scaled = secs.div_ceil(LIFETIME_UNIT).min(u64::from(MAX_SCALED)) as u16;
        let code = length_plc(self.prefix.prefix_len());
        let mut out = [0u8; 16];
        out[0] = ND_OPT_PREF64;
        out[1] = 2;
        out[2..4].copy_from_slice(&((scaled << 3) | u16::from(code)).to_be_bytes());
        out[4..16].copy_from_slice(&self.prefix.prefix().octets()[..12]);
        out
    }
}

/// The prefix length a Prefix Length Code stands for (RFC 8781 §4).
const fn plc_length(code: u8) -> Option<u8> {
    match code {
        0 => Some(96),
        1 => Some(64),
        2 => Some(56),
        3 => Some(48),
        4 => Some(40),
        5 => Some(32),
        _ => None,
    }
}

/// The Prefix Length Code of a NAT64 prefix length.
const fn length_plc(len: u8) -> u8 {
    match len {
        64 => 1,
        56 => 2,
        48 => 3,
        40 => 4,
        32 => 5,
        _ => 0,
    }
}

/// Why a Router Advertisement option is not a usable PREF64 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pref64Error {
    /// Fewer than the two bytes of type and length.
    Truncated {
        /// How many bytes there were.
        bytes: usize,
    },
    /// Another option type.
    NotPref64 {
        /// The type found.
        kind: u8,
    },
    /// The length field is not 2 (16 bytes), which RFC 8781 requires.
    BadLength {
        /// The length field, in units of 8 bytes.
        units: u8,
        /// The bytes there were.
        bytes: usize,
    },
    /// A Prefix Length Code RFC 8781 does not define (6 or 7).
    BadLengthCode {
        /// The code.
        code: u8,
    },
    /// The prefix is not one RFC 6052 allows.
    BadPrefix(Nat64PrefixError),
}

impl fmt::Display for Pref64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { bytes } => {
                write!(
                    f,
                    "a router advertisement option of {bytes} byte(s) is truncated"
                )
            }
            Self::NotPref64 { kind } => write!(f, "option type {kind} is not PREF64 (38)"),
            Self::BadLength { units, bytes } => write!(
                f,
                "PREF64 option length {units} ({bytes} bytes) is not 2 (16 bytes) as RFC 8781 requires"
            ),
            Self::BadLengthCode { code } => write!(
                f,
                "PREF64 prefix length code {code} is not one RFC 8781 defines (0 to 5)"
            ),
            Self::BadPrefix(err) => write!(f, "PREF64 prefix rejected: {err}"),
        }
    }
}

impl std::error::Error for Pref64Error {}

/// A NAT64 prefix a router announces on one of the host's interfaces
/// (RFC 8781), as a [`Snapshot`] holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pref64 {
    /// The prefix.
    pub prefix: Nat64Prefix,
    /// The interface the advertisement came in on.
    pub interface: u32,
    /// The router that sent it (its link-local address), when the system
    /// said.
    pub router: Option<Ipv6Addr>,
    /// The lifetime the last advertisement gave it.
    pub lifetime: Duration,
    /// When it expires, unless a new advertisement extends it.
    pub expires: Instant,
}

impl Pref64 {
    /// A prefix announced on interface `interface` by `router` with
    /// `lifetime`, heard at `now` (for snapshots built by hand; a view
    /// makes its own from the advertisements).
    pub fn new(
        prefix: Nat64Prefix,
        interface: u32,
        router: Option<Ipv6Addr>,
        lifetime: Duration,
        now: Instant,
    ) -> Self {
        Self {
            prefix,
            interface,
            router,
            lifetime,
            expires: now.checked_add(lifetime).unwrap_or(now),
        }
    }

    /// Whether the prefix may still be used at `now`.
    pub fn is_live(&self, now: Instant) -> bool {
        now < self.expires
    }
}

/// A Router Advertisement option the view did not take as a NAT64 prefix,
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pref64Ignored {
    /// The interface the advertisement came in on.
    pub interface: u32,
    /// The router that sent it, when the system said.
    pub router: Option<Ipv6Addr>,
    /// Why it was not used.
    pub reason: String,
    /// When it came.
    pub at: Instant,
}

impl Snapshot {
    /// The NAT64 prefixes routers announce (RFC 8781) that are live at
    /// `now`, each once, in the order they were first announced.
    pub fn pref64_prefixes(&self, now: Instant) -> Vec<Nat64Prefix> {
        let mut out: Vec<Nat64Prefix> = Vec::with_capacity(self.pref64.len());
        for p in self.pref64.iter().filter(|p| p.is_live(now)) {
            if !out.contains(&p.prefix) {
                out.push(p.prefix);
            }
        }
        out
    }
}

/// Folds one PREF64 option from a Router Advertisement received on
/// `interface` at `now` into `snap`: a new prefix is added, a known one
/// (same prefix, interface and router) gets the new lifetime, a zero
/// lifetime withdraws it, and an option that cannot be used is recorded
/// with its reason. Returns whether `snap` changed.
pub(crate) fn apply(
    snap: &mut Snapshot,
    interface: u32,
    router: Option<Ipv6Addr>,
    option: Result<Pref64Option, Pref64Error>,
    now: Instant,
) -> bool {
    let ignore = |snap: &mut Snapshot, reason: String| {
        if snap.pref64_ignored.len() == MAX_IGNORED {
            snap.pref64_ignored.remove(0);
        }
        snap.pref64_ignored.push(Pref64Ignored {
            interface,
            router,
            reason,
            at: now,
        });
        true
    };
    let option = match option {
        Ok(option) => option,
        Err(err) => return ignore(snap, err.to_string()),
    };
    let same =
        |p: &Pref64| p.prefix == option.prefix && p.interface == interface && p.router == router;
    if option.lifetime.is_zero() {
        let before = snap.pref64.len();
        snap.pref64.retain(|p| !same(p));
        let reason = if snap.pref64.len() < before {
            format!("lifetime 0: {} withdrawn", option.prefix)
        } else {
            format!("lifetime 0: {} was not in use", option.prefix)
        };
        return ignore(snap, reason);
    }
    let fresh = Pref64::new(option.prefix, interface, router, option.lifetime, now);
    match snap.pref64.iter_mut().find(|p| same(p)) {
        Some(known) => *known = fresh,
        None => snap.pref64.push(fresh),
    }
    true
}

/// Removes the prefixes expired at `now`; returns whether any was.
pub(crate) fn expire(snap: &mut Snapshot, now: Instant) -> bool {
    let before = snap.pref64.len();
    snap.pref64.retain(|p| p.is_live(now));
    snap.pref64.len() != before
}

/// Forgets the prefixes learned on interfaces that are gone or not up: a
/// host that moves to another network must not keep the last one's
/// translator. Returns whether any was forgotten.
pub(crate) fn forget_down_interfaces(snap: &mut Snapshot) -> bool {
    let before = snap.pref64.len();
    let interfaces = &snap.interfaces;
    snap.pref64
        .retain(|p| interfaces.iter().any(|i| i.index == p.interface && i.up));
    snap.pref64.len() != before
}

/// When the first prefix expires.
pub(crate) fn next_expiry(snap: &Snapshot) -> Option<Instant> {
    snap.pref64.iter().map(|p| p.expires).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Interface;

    fn prefix(s: &str) -> Nat64Prefix {
        s.parse().unwrap()
    }

    /// An option written out by hand: type, length, the 16-bit field, and
    /// the first 12 bytes of `addr`.
    fn raw(units: u8, scaled: u16, code: u8, addr: &str) -> Vec<u8> {
        let mut v = vec![ND_OPT_PREF64, units];
        v.extend_from_slice(&((scaled << 3) | u16::from(code)).to_be_bytes());
        v.extend_from_slice(&addr.parse::<Ipv6Addr>().unwrap().octets()[..12]);
        v.resize(usize::from(units.max(2)) * 8, 0);
        v
    }

    #[test]
    fn every_length_code() {
        // RFC 8781 §4: 0 → /96, 1 → /64, 2 → /56, 3 → /48, 4 → /40, 5 → /32.
        for (code, text) in [
            (0, "2001:db8:122:344::/96"),
            (1, "2001:db8:122:344::/64"),
            (2, "2001:db8:122:300::/56"),
            (3, "2001:db8:122::/48"),
            (4, "2001:db8:100::/40"),
            (5, "2001:db8::/32"),
        ] {
            let got = Pref64Option::decode(&raw(2, 75, code, "2001:db8:122:344::")).unwrap();
            assert_eq!(got.prefix, prefix(text), "code {code}");
            assert_eq!(got.lifetime, Duration::from_secs(600));
            // And back: the bits after the length are zero when encoded.
            let again = Pref64Option::decode(&got.encode()).unwrap();
            assert_eq!(again, got);
            assert_eq!(length_plc(got.prefix.prefix_len()), code);
        }
    }

    #[test]
    fn scaled_lifetime() {
        let decode = |scaled| {
            Pref64Option::decode(&raw(2, scaled, 0, "64:ff9b::"))
                .unwrap()
                .lifetime
        };
        assert_eq!(decode(0), Duration::ZERO);
        assert_eq!(decode(1), Duration::from_secs(8));
        assert_eq!(decode(0x1fff), Duration::from_secs(65_528));
        let encode = |secs: u64| {
            let bytes =
                Pref64Option::new(Nat64Prefix::WELL_KNOWN, Duration::from_secs(secs)).encode();
            u16::from_be_bytes([bytes[2], bytes[3]]) >> 3
        };
        assert_eq!(encode(0), 0);
        assert_eq!(encode(1), 1, "rounded up, never to zero");
        assert_eq!(encode(8), 1);
        assert_eq!(encode(9), 2);
        assert_eq!(encode(1800), 225);
        assert_eq!(encode(1_000_000), 0x1fff, "capped");
        // The well-known prefix, 600 s, as RFC 8781's figure lays it out.
        let bytes = Pref64Option::new(Nat64Prefix::WELL_KNOWN, Duration::from_secs(600)).encode();
        assert_eq!(
            bytes,
            [
                38, 2, 0x02, 0x58, 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn bad_options_say_why() {
        let err = |bytes: &[u8]| Pref64Option::decode(bytes).unwrap_err().to_string();
        assert_eq!(
            err(&raw(2, 75, 6, "2001:db8::")),
            "PREF64 prefix length code 6 is not one RFC 8781 defines (0 to 5)"
        );
        assert_eq!(
            err(&raw(2, 75, 7, "2001:db8::")),
            "PREF64 prefix length code 7 is not one RFC 8781 defines (0 to 5)"
        );
        assert_eq!(
            err(&raw(3, 75, 0, "2001:db8::")),
            "PREF64 option length 3 (24 bytes) is not 2 (16 bytes) as RFC 8781 requires"
        );
        assert_eq!(
            err(&raw(2, 75, 0, "2001:db8::")[..12]),
            "PREF64 option length 2 (12 bytes) is not 2 (16 bytes) as RFC 8781 requires"
        );
        assert_eq!(
            err(&[25, 3, 0, 0, 0, 0, 0, 0]),
            "option type 25 is not PREF64 (38)"
        );
        assert_eq!(
            err(&[38]),
            "a router advertisement option of 1 byte(s) is truncated"
        );
        // A /96 whose "u" octet (bits 64 to 71) is set.
        assert_eq!(
            err(&raw(2, 75, 0, "2001:db8:0:0:100::")),
            "PREF64 prefix rejected: 2001:db8:0:0:100::/96 is not a valid NAT64 prefix \
             (bits 64 to 71 must be zero)"
        );
        // Bits after a shorter prefix are ignored, not an error.
        let p = Pref64Option::decode(&raw(2, 75, 5, "2001:db8:ffff::")).unwrap();
        assert_eq!(p.prefix, prefix("2001:db8::/32"));
    }

    #[test]
    fn decode_never_panics_on_short_or_odd_input() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 38) as u8).collect();
            let _ = Pref64Option::decode(&bytes);
        }
    }

    fn host() -> Snapshot {
        let mut eth = Interface::new(2, "eth0");
        eth.up = true;
        let mut s = Snapshot::default();
        s.interfaces.push(eth);
        s
    }

    const ROUTER: Option<Ipv6Addr> = Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));

    #[test]
    fn announced_refreshed_withdrawn_and_expired_on_a_virtual_clock() {
        let t0 = Instant::now();
        let mut s = host();
        let nsp = prefix("2001:db8:64::/96");
        let opt = |secs| Ok(Pref64Option::new(nsp, Duration::from_secs(secs)));
        assert!(apply(&mut s, 2, ROUTER, opt(600), t0));
        assert_eq!(s.pref64_prefixes(t0), [nsp]);
        assert_eq!(next_expiry(&s), Some(t0 + Duration::from_secs(600)));
        // The same prefix again: one entry, the new lifetime.
        let t1 = t0 + Duration::from_secs(100);
        assert!(apply(&mut s, 2, ROUTER, opt(1800), t1));
        assert_eq!(s.pref64.len(), 1);
        assert_eq!(s.pref64[0].expires, t1 + Duration::from_secs(1800));
        // Expiry: nothing until it is due, then it is gone.
        assert!(!expire(&mut s, t1 + Duration::from_secs(1799)));
        assert_eq!(s.pref64_prefixes(t1 + Duration::from_secs(1799)), [nsp]);
        assert!(s.pref64_prefixes(t1 + Duration::from_secs(1800)).is_empty());
        assert!(expire(&mut s, t1 + Duration::from_secs(1800)));
        assert!(s.pref64.is_empty());
        assert_eq!(next_expiry(&s), None);
        // A zero lifetime withdraws it at once, and says so.
        assert!(apply(&mut s, 2, ROUTER, opt(600), t1));
        assert!(apply(&mut s, 2, ROUTER, opt(0), t1));
        assert!(s.pref64.is_empty());
        assert_eq!(
            s.pref64_ignored.last().unwrap().reason,
            "lifetime 0: 2001:db8:64::/96 withdrawn"
        );
        // A zero lifetime for a prefix never announced is ignored.
        assert!(apply(&mut s, 2, ROUTER, opt(0), t1));
        assert!(s.pref64.is_empty());
        assert_eq!(
            s.pref64_ignored.last().unwrap().reason,
            "lifetime 0: 2001:db8:64::/96 was not in use"
        );
    }

    #[test]
    fn bad_options_are_remembered_with_their_reason_and_bounded() {
        let t0 = Instant::now();
        let mut s = host();
        for code in 0..20u8 {
            let bad = Pref64Option::decode(&raw(2, 75, 6 + code % 2, "2001:db8::"));
            assert!(apply(&mut s, 2, ROUTER, bad, t0));
        }
        assert!(s.pref64.is_empty());
        assert_eq!(s.pref64_ignored.len(), MAX_IGNORED);
        assert!(s.pref64_ignored[0].reason.contains("length code"));
        assert_eq!(s.pref64_ignored[0].router, ROUTER);
    }

    #[test]
    fn several_routers_and_interfaces_each_count() {
        let t0 = Instant::now();
        let mut s = host();
        let mut wlan = Interface::new(3, "wlan0");
        wlan.up = true;
        s.interfaces.push(wlan);
        let a = prefix("2001:db8:64::/96");
        let b = prefix("64:ff9b::/96");
        let other = Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
        let opt = |p| Ok(Pref64Option::new(p, Duration::from_secs(600)));
        apply(&mut s, 2, ROUTER, opt(a), t0);
        apply(&mut s, 2, other, opt(a), t0);
        apply(&mut s, 3, ROUTER, opt(b), t0);
        assert_eq!(s.pref64.len(), 3);
        // Each prefix once, in the order first announced.
        assert_eq!(s.pref64_prefixes(t0), [a, b]);
        // wlan0 goes down: its prefix goes with it.
        s.interfaces[1].up = false;
        assert!(forget_down_interfaces(&mut s));
        assert_eq!(s.pref64_prefixes(t0), [a]);
        // eth0 goes away altogether.
        s.interfaces.remove(0);
        assert!(forget_down_interfaces(&mut s));
        assert!(s.pref64.is_empty());
        assert!(!forget_down_interfaces(&mut s));
    }
}
