//! An interface's kind from its `IFT_*` type (a `sockaddr_dl`'s
//! `sdl_type`), with its name as the fallback where the type is one many
//! drivers share.
//!
//! The values are IANA's ifType numbers (`net/if_types.h` on every BSD)
//! except the ones that never had one: `IFT_GIF` and `IFT_STF` are 0xf0
//! and 0xd7 on FreeBSD, NetBSD, OpenBSD and DragonFly but 0x37 and 0x39
//! on Apple systems, and Apple numbers `IFT_IEEE8023ADLAG` 0x88 where
//! the others use IANA's 0xa1.

use super::Os;
use crate::model::LinkKind;

/// `IFF_LOOPBACK` on every BSD.
const IFF_LOOPBACK: u32 = 0x8;

/// What an interface type says about the device.
enum Hint {
    /// The type names the kind.
    Is(LinkKind),
    /// An Ethernet-framed device: Ethernet, unless its name says it is a
    /// `tap`, a VLAN or a bond (Apple turns a VLAN or bond attached to a
    /// parent into `IFT_ETHER`; FreeBSD's `tap` is `IFT_ETHER` too).
    Ethernet,
    /// A type many drivers share (`IFT_OTHER` for XNU's `utun` and
    /// `ipsec`, `IFT_PROPVIRTUAL` and `IFT_TUNNEL` for `tun`), or one not
    /// listed here: the name decides.
    Name,
}

fn hint(os: Os, if_type: u8) -> Hint {
    match (os, if_type) {
        (_, 0x06) => Hint::Ethernet,                     // IFT_ETHER
        (_, 0x18) => Hint::Is(LinkKind::Loopback),       // IFT_LOOP
        (_, 0x47) => Hint::Is(LinkKind::Wireless),       // IFT_IEEE80211
        (_, 0x87) => Hint::Is(LinkKind::Vlan),           // IFT_L2VLAN
        (_, 0xd1) => Hint::Is(LinkKind::Bridge),         // IFT_BRIDGE
        (Os::Apple, 0x37) => Hint::Is(LinkKind::Ip6Tnl), // IFT_GIF
        (Os::Apple, 0x39) => Hint::Is(LinkKind::Sit),    // IFT_STF (6to4)
        (Os::Apple, 0x88) => Hint::Is(LinkKind::Bond),   // IFT_IEEE8023ADLAG
        (Os::Apple, _) => Hint::Name,
        (_, 0xf0) => Hint::Is(LinkKind::Ip6Tnl), // IFT_GIF
        (_, 0xd7) => Hint::Is(LinkKind::Sit),    // IFT_STF (6to4)
        (_, 0xa1) => Hint::Is(LinkKind::Bond),   // IFT_IEEE8023ADLAG
        _ => Hint::Name,
    }
}

/// The kind of an interface of type `if_type` on `os`, named `name`, with
/// `IFF_*` flags `flags`: loopback by flag; else what the type says; for
/// Ethernet-framed types, the name's kind where it is a specific one
/// (`tap0`, `vlan0`) and Ethernet otherwise; for generic types (and type
/// 0, unknown), the kind the name's driver prefix stands for (`utun3` and
/// `tun0` are tun devices, and so is Miredo's `teredo` where the system
/// let it rename its `tun`).
pub fn link_kind(os: Os, if_type: u8, name: &str, flags: u32) -> LinkKind {
    if flags & IFF_LOOPBACK != 0 {
        return LinkKind::Loopback;
    }
    match hint(os, if_type) {
        Hint::Is(kind) => kind,
        Hint::Ethernet => match LinkKind::from_name(name) {
            LinkKind::Other(_) => LinkKind::Ethernet,
            kind => kind,
        },
        Hint::Name => LinkKind::from_name(name),
    }
}
