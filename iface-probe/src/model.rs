//! The plain data this crate reads from the kernel: interfaces, their
//! addresses, and routes.

use std::fmt;
use std::net::IpAddr;

use teredo_addr::AddrKind;

/// What sort of device an interface is. On Linux, from the
/// `IFLA_INFO_KIND` the kernel reports or, when it reports none, from the
/// hardware type; on macOS and the BSDs from the `IFT_*` interface type,
/// with the interface name's driver prefix where the type is a generic one
/// (`tun`, `utun` and `wg` devices share theirs with other drivers); on
/// Windows from the interface and tunnel types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkKind {
    /// The loopback device (`lo`).
    Loopback,
    /// A physical or otherwise plain Ethernet device.
    Ethernet,
    /// One end of a virtual Ethernet pair (`veth`).
    Veth,
    /// A layer-3 `tun` device, as Miredo and most VPNs create.
    Tun,
    /// A layer-2 `tap` device (`tun` kind with an Ethernet hardware type).
    Tap,
    /// An IPv6-in-IPv4 tunnel (`sit`): 6to4, 6in4, ISATAP.
    Sit,
    /// An IPv4-in-IPv4 tunnel (`ipip`).
    Ipip,
    /// An IPv6-in-IPv6 tunnel (`ip6tnl`).
    Ip6Tnl,
    /// A GRE tunnel of any flavour (`gre`, `gretap`, `ip6gre`, `ip6gretap`).
    Gre,
    /// A WireGuard tunnel.
    Wireguard,
    /// A bridge.
    Bridge,
    /// A dummy device.
    Dummy,
    /// An 802.1Q VLAN device.
    Vlan,
    /// A bonding device.
    Bond,
    /// A wireless LAN device.
    Wireless,
    /// The system's own Teredo interface (Windows' "Teredo Tunneling
    /// Pseudo-Interface", tunnel type `TUNNEL_TYPE_TEREDO`). Miredo's
    /// interface on Linux and the BSDs is a [`Tun`](Self::Tun).
    Teredo,
    /// Anything else: Linux's kind string, or `arphrd-N` when the kernel
    /// reported no kind and the hardware type says nothing more; the
    /// driver prefix of a BSD interface name; `iftype-N` on Windows.
    Other(String),
}

impl LinkKind {
    /// Whether packets sent through this device are encapsulated in
    /// another IP packet (`tun`, `sit`, `ipip`, `ip6tnl`, GRE, WireGuard).
    pub fn is_tunnel(&self) -> bool {
        matches!(
            self,
            Self::Tun
                | Self::Sit
                | Self::Ipip
                | Self::Ip6Tnl
                | Self::Gre
                | Self::Wireguard
                | Self::Teredo
        )
    }

    /// The kind a device name's driver prefix stands for (the name
    /// without its trailing unit number): `tun`, `utun` and Miredo's
    /// `teredo` are tun devices, `gif` an IPv6 tunnel, `stf` 6to4, and so
    /// on; anything else is [`Other`](Self::Other) with the prefix. This is
    /// all a program can go by where the system reports no type, and the
    /// fallback where it reports a generic one.
    pub(crate) fn from_name(name: &str) -> Self {
        let prefix = name.trim_end_matches(|c: char| c.is_ascii_digit());
        match prefix {
            "tun" | "utun" | "teredo" => Self::Tun,
            "tap" => Self::Tap,
            "gif" => Self::Ip6Tnl,
            "stf" | "sit" => Self::Sit,
            "gre" => Self::Gre,
            "wg" => Self::Wireguard,
            "bridge" | "br" => Self::Bridge,
            "vlan" => Self::Vlan,
            "bond" | "lagg" => Self::Bond,
            _ => Self::Other(prefix.to_owned()),
        }
    }

    /// A short lowercase name: `loopback`, `veth`, `tun`, ...
    pub fn name(&self) -> &str {
        match self {
            Self::Loopback => "loopback",
            Self::Ethernet => "ethernet",
            Self::Veth => "veth",
            Self::Tun => "tun",
            Self::Tap => "tap",
            Self::Sit => "sit",
            Self::Ipip => "ipip",
            Self::Ip6Tnl => "ip6tnl",
            Self::Gre => "gre",
            Self::Wireguard => "wireguard",
            Self::Bridge => "bridge",
            Self::Dummy => "dummy",
            Self::Vlan => "vlan",
            Self::Bond => "bond",
            Self::Wireless => "wireless",
            Self::Teredo => "teredo",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An interface's operational state (RFC 2863, `IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OperState {
    /// The state is unknown (loopback and many virtual devices say this).
    #[default]
    Unknown,
    /// Some component is missing.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower layer is down.
    LowerLayerDown,
    /// In some test mode.
    Testing,
    /// Waiting for an external event.
    Dormant,
    /// Up and able to pass packets.
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl OperState {
    /// The state for a raw `IF_OPER_*` value.
    pub const fn from_raw(value: u8) -> Self {
        match value {
            0 => Self::Unknown,
            1 => Self::NotPresent,
            2 => Self::Down,
            3 => Self::LowerLayerDown,
            4 => Self::Testing,
            5 => Self::Dormant,
            6 => Self::Up,
            v => Self::Other(v),
        }
    }

    /// The raw `IF_OPER_*` value.
    pub const fn raw(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::NotPresent => 1,
            Self::Down => 2,
            Self::LowerLayerDown => 3,
            Self::Testing => 4,
            Self::Dormant => 5,
            Self::Up => 6,
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("unknown"),
            Self::NotPresent => f.write_str("not-present"),
            Self::Down => f.write_str("down"),
            Self::LowerLayerDown => f.write_str("lower-layer-down"),
            Self::Testing => f.write_str("testing"),
            Self::Dormant => f.write_str("dormant"),
            Self::Up => f.write_str("up"),
            Self::Other(v) => write!(f, "oper-state-{v}"),
        }
    }
}

/// A network interface with its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interface {
    /// The kernel's interface index (never 0 for a real interface).
    pub index: u32,
    /// The interface name (`IFLA_IFNAME`), empty if the kernel sent none.
    pub name: String,
    /// What sort of device this is.
    pub kind: LinkKind,
    /// The hardware type: Linux's `ARPHRD_*` from the link message
    /// header, the `IFT_*` interface type on the BSDs, `IF_TYPE_*` on
    /// Windows.
    pub link_type: u16,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Running (`IFF_RUNNING`; on Windows, operational status up): up
    /// and able to pass packets, which for most devices means a carrier.
    pub running: bool,
    /// Whether the device has a carrier (`IFF_LOWER_UP` and `IFLA_CARRIER`
    /// on Linux); `None` where the system does not say.
    pub carrier: Option<bool>,
    /// A loopback device (`IFF_LOOPBACK`).
    pub loopback: bool,
    /// The raw `IFF_*` flags.
    pub flags: u32,
    /// The operational state (`IFLA_OPERSTATE`).
    pub oper_state: OperState,
    /// The MTU (`IFLA_MTU`), 0 if the kernel sent none.
    pub mtu: u32,
    /// The addresses on this interface, in the order the kernel listed them.
    pub addresses: Vec<Address>,
}

impl Interface {
    /// A new interface with no addresses, down, of unknown kind.
    pub fn new(index: u32, name: impl Into<String>) -> Self {
        Self {
            index,
            name: name.into(),
            kind: LinkKind::Other(String::new()),
            link_type: 0xffff,
            up: false,
            running: false,
            carrier: None,
            loopback: false,
            flags: 0,
            oper_state: OperState::Unknown,
            mtu: 0,
            addresses: Vec::new(),
        }
    }

    /// Whether this is the loopback device, by flag or by kind.
    pub fn is_loopback(&self) -> bool {
        self.loopback || self.kind == LinkKind::Loopback
    }

    /// Whether the interface can pass packets now: administratively up
    /// *and* running. A `tun` device that no process holds (Miredo not
    /// running), or an Ethernet device with no cable, is up but not
    /// running: routes through it lead nowhere, so it gives the host no
    /// capability.
    pub fn is_operational(&self) -> bool {
        self.up && self.running
    }
}

/// The state flags of an address, as Linux's `IFA_F_*` bits.
///
/// The kernel sends the low eight bits in the `ifaddrmsg` header and all
/// 32 in the `IFA_FLAGS` attribute; the parser prefers the attribute. The
/// other backends map their systems' states onto the same bits: the BSDs'
/// `IN6_IFF_*` flags (tentative, duplicated, deprecated, temporary,
/// autoconf) and Windows' DAD states and address origins.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(u32);

impl AddrFlags {
    /// No flag: a preferred address (on IPv4, a primary one).
    pub const NONE: Self = Self(0);
    /// `IFA_F_SECONDARY`: a secondary IPv4 address.
    pub const SECONDARY: Self = Self(0x01);
    /// `IFA_F_TEMPORARY`: an IPv6 temporary (privacy, RFC 8981) address;
    /// the same bit as [`SECONDARY`](Self::SECONDARY).
    pub const TEMPORARY: Self = Self(0x01);
    /// `IFA_F_NODAD`: duplicate address detection is not run.
    pub const NODAD: Self = Self(0x02);
    /// `IFA_F_OPTIMISTIC`: optimistic DAD (RFC 4429) is running.
    pub const OPTIMISTIC: Self = Self(0x04);
    /// `IFA_F_DADFAILED`: DAD found a duplicate; the address is unusable.
    pub const DADFAILED: Self = Self(0x08);
    /// `IFA_F_HOMEADDRESS`: a Mobile IPv6 home address.
    pub const HOMEADDRESS: Self = Self(0x10);
    /// `IFA_F_DEPRECATED`: the preferred lifetime is over.
    pub const DEPRECATED: Self = Self(0x20);
    /// `IFA_F_TENTATIVE`: DAD has not finished; the address is unusable.
    pub const TENTATIVE: Self = Self(0x40);
    /// `IFA_F_PERMANENT`: configured by hand, not by autoconfiguration.
    pub const PERMANENT: Self = Self(0x80);
    /// `IFA_F_MANAGETEMPADDR`: the kernel makes temporary addresses from it.
    pub const MANAGETEMPADDR: Self = Self(0x100);
    /// `IFA_F_NOPREFIXROUTE`: no prefix route was added for it.
    pub const NOPREFIXROUTE: Self = Self(0x200);
    /// `IFA_F_MCAUTOJOIN`: the multicast group is joined automatically.
    pub const MCAUTOJOIN: Self = Self(0x400);
    /// `IFA_F_STABLE_PRIVACY`: an RFC 7217 stable-privacy address.
    pub const STABLE_PRIVACY: Self = Self(0x800);

    const NAMES: [(u32, &'static str); 12] = [
        (0x01, "temporary"),
        (0x02, "nodad"),
        (0x04, "optimistic"),
        (0x08, "dadfailed"),
        (0x10, "homeaddress"),
        (0x20, "deprecated"),
        (0x40, "tentative"),
        (0x80, "permanent"),
        (0x100, "managetempaddr"),
        (0x200, "noprefixroute"),
        (0x400, "mcautojoin"),
        (0x800, "stable-privacy"),
    ];

    /// Flags from raw bits; unknown bits are kept.
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The flags of both.
    ///
    /// ```
    /// use iface_probe::AddrFlags;
    /// const DUPLICATE: AddrFlags = AddrFlags::DADFAILED.union(AddrFlags::TENTATIVE);
    /// assert!(DUPLICATE.dadfailed() && DUPLICATE.tentative());
    /// ```
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `IFA_F_TENTATIVE`.
    pub const fn tentative(self) -> bool {
        self.contains(Self::TENTATIVE)
    }
    /// `IFA_F_OPTIMISTIC`.
    pub const fn optimistic(self) -> bool {
        self.contains(Self::OPTIMISTIC)
    }
    /// `IFA_F_DADFAILED`.
    pub const fn dadfailed(self) -> bool {
        self.contains(Self::DADFAILED)
    }
    /// `IFA_F_DEPRECATED`.
    pub const fn deprecated(self) -> bool {
        self.contains(Self::DEPRECATED)
    }
    /// `IFA_F_TEMPORARY` (for IPv4 the same bit means secondary).
    pub const fn temporary(self) -> bool {
        self.contains(Self::TEMPORARY)
    }
    /// `IFA_F_PERMANENT`.
    pub const fn permanent(self) -> bool {
        self.contains(Self::PERMANENT)
    }
    /// `IFA_F_NODAD`.
    pub const fn nodad(self) -> bool {
        self.contains(Self::NODAD)
    }
    /// `IFA_F_HOMEADDRESS`.
    pub const fn homeaddress(self) -> bool {
        self.contains(Self::HOMEADDRESS)
    }
}

impl std::ops::BitOr for AddrFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for AddrFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddrFlags({self})")
    }
}

/// The flag names separated by spaces, as `ip address` prints them
/// (`temporary` stands for bit 0 whatever the family); unknown bits as hex.
impl fmt::Display for AddrFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if rest & bit != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !bit;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

/// An address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub ip: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
    /// The kernel's route scope for the address (`RT_SCOPE_*`: 0 universe,
    /// 200 site, 253 link, 254 host).
    pub scope: u8,
    /// The `IFA_F_*` flags.
    pub flags: AddrFlags,
    /// Seconds of preferred lifetime left; `None` is forever.
    pub preferred_lft: Option<u32>,
    /// Seconds of valid lifetime left; `None` is forever.
    pub valid_lft: Option<u32>,
    /// The IPv4 label (`IFA_LABEL`), if any.
    pub label: Option<String>,
    /// The address's kind ([`teredo_addr::classify`]): Teredo, 6to4,
    /// native global, link-local, unique local, loopback, ...
    pub class: AddrKind,
}

impl Address {
    /// A new address with no flags, universe scope and infinite lifetimes.
    pub fn new(ip: IpAddr, prefix_len: u8) -> Self {
        Self {
            ip,
            prefix_len,
            scope: 0,
            flags: AddrFlags::default(),
            preferred_lft: None,
            valid_lft: None,
            label: None,
            class: teredo_addr::classify(ip),
        }
    }

    /// Whether the address can be used as a source: not tentative (unless
    /// optimistic), not failed DAD, not deprecated.
    pub fn is_usable(&self) -> bool {
        let f = self.flags;
        (!f.tentative() || f.optimistic()) && !f.dadfailed() && !f.deprecated()
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub const fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }
}

/// A route's type (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    /// `RTN_UNSPEC`.
    Unspec,
    /// `RTN_UNICAST`: a gateway or direct route.
    Unicast,
    /// `RTN_LOCAL`: accept locally.
    Local,
    /// `RTN_BROADCAST`.
    Broadcast,
    /// `RTN_ANYCAST`.
    Anycast,
    /// `RTN_MULTICAST`.
    Multicast,
    /// `RTN_BLACKHOLE`: drop silently.
    Blackhole,
    /// `RTN_UNREACHABLE`: the destination is unreachable.
    Unreachable,
    /// `RTN_PROHIBIT`: administratively prohibited.
    Prohibit,
    /// `RTN_THROW`: not in this table.
    Throw,
    /// `RTN_NAT`.
    Nat,
    /// `RTN_XRESOLVE`.
    ExternalResolve,
    /// A value this crate does not know.
    Other(u8),
}

impl RouteKind {
    /// The kind for a raw `RTN_*` value.
    pub const fn from_raw(value: u8) -> Self {
        match value {
            0 => Self::Unspec,
            1 => Self::Unicast,
            2 => Self::Local,
            3 => Self::Broadcast,
            4 => Self::Anycast,
            5 => Self::Multicast,
            6 => Self::Blackhole,
            7 => Self::Unreachable,
            8 => Self::Prohibit,
            9 => Self::Throw,
            10 => Self::Nat,
            11 => Self::ExternalResolve,
            v => Self::Other(v),
        }
    }
}

/// One next hop of a multipath route (`RTA_MULTIPATH`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct NextHop {
    /// The outgoing interface.
    pub oif: u32,
    /// The gateway, if any.
    pub gateway: Option<IpAddr>,
}

/// The main routing table's number (`RT_TABLE_MAIN`).
pub const RT_TABLE_MAIN: u32 = 254;

/// A route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Route {
    /// The family.
    pub family: Family,
    /// The destination prefix; `None` for a default route.
    pub dst: Option<(IpAddr, u8)>,
    /// The outgoing interface (`RTA_OIF`).
    pub oif: Option<u32>,
    /// The gateway (`RTA_GATEWAY`).
    pub gateway: Option<IpAddr>,
    /// The preferred source (`RTA_PREFSRC`).
    pub pref_src: Option<IpAddr>,
    /// The table (`RTA_TABLE`, else the header's table).
    pub table: u32,
    /// The metric (`RTA_PRIORITY`), 0 if absent.
    pub metric: u32,
    /// The route type.
    pub kind: RouteKind,
    /// The route scope (`RT_SCOPE_*`).
    pub scope: u8,
    /// The routing protocol that installed it (`RTPROT_*`).
    pub protocol: u8,
    /// The raw `RTM_F_*`/`RTNH_F_*` flags.
    pub flags: u32,
    /// The next hops of a multipath route; empty otherwise.
    pub multipath: Vec<NextHop>,
}

impl Route {
    /// A unicast main-table route with nothing else set.
    pub fn new(family: Family, dst: Option<(IpAddr, u8)>) -> Self {
        Self {
            family,
            dst,
            oif: None,
            gateway: None,
            pref_src: None,
            table: RT_TABLE_MAIN,
            metric: 0,
            kind: RouteKind::Unicast,
            scope: 0,
            protocol: 0,
            flags: 0,
            multipath: Vec::new(),
        }
    }

    /// Whether the route is a default route (`0.0.0.0/0` or `::/0`).
    pub fn is_default(&self) -> bool {
        match self.dst {
            None => true,
            Some((_, len)) => len == 0,
        }
    }

    /// Whether packets may leave through interface `index`: it is the
    /// route's `oif` or the `oif` of one of its next hops.
    pub fn goes_through(&self, index: u32) -> bool {
        self.oif == Some(index) || self.multipath.iter().any(|h| h.oif == index)
    }

    /// Whether the route's destination prefix covers the whole of `net/len`.
    pub fn covers(&self, net: IpAddr, len: u8) -> bool {
        let Some((dst, dst_len)) = self.dst else {
            return Family::of(net) == self.family;
        };
        if dst_len > len {
            return false;
        }
        match (dst, net) {
            (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), dst_len),
            (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), dst_len),
            _ => false,
        }
    }
}

/// Whether the first `len` bits of `a` and `b` agree.
pub(crate) fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len).min(a.len() * 8);
    let (whole, bits) = (len / 8, len % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - bits);
    a[whole] & mask == b[whole] & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified_by_teredo_addr() {
        let cases = [
            ("2001:0:c633:640a:8000:f227:bd6a:13fe", AddrKind::Teredo),
            ("2002:c000:204::1", AddrKind::SixToFour),
            ("2a00:1450::1", AddrKind::GlobalUnicast),
            ("2001:db8::1", AddrKind::Documentation),
            ("fe80::1", AddrKind::LinkLocal),
            ("fd00::1", AddrKind::UniqueLocal),
            ("::1", AddrKind::Loopback),
            ("10.1.2.3", AddrKind::Ipv4Private),
            ("100.64.0.1", AddrKind::Ipv4SharedCgn),
            ("8.8.8.8", AddrKind::Ipv4Global),
        ];
        for (ip, kind) in cases {
            let a = Address::new(ip.parse().unwrap(), 64);
            assert_eq!(a.class, kind, "{ip}");
        }
        assert_eq!(
            Address::new("2002::1".parse().unwrap(), 16).class.name(),
            "6to4"
        );
    }

    #[test]
    fn prefixes() {
        assert!(prefix_eq(&[0xff, 0x80], &[0xff, 0xbf], 9));
        assert!(!prefix_eq(&[0xff, 0x80], &[0xff, 0x40], 9));
        assert!(prefix_eq(&[1, 2], &[3, 4], 0));
    }
}
