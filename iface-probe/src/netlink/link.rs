//! `RTM_NEWLINK` and `RTM_DELLINK`: `struct ifinfomsg` and its attributes
//! into an [`Interface`].

use super::consts::{
    ARPHRD_ETHER, ARPHRD_IP6GRE, ARPHRD_IPGRE, ARPHRD_LOOPBACK, ARPHRD_NONE, ARPHRD_SIT,
    ARPHRD_TUNNEL, ARPHRD_TUNNEL6, IFF_LOOPBACK, IFF_LOWER_UP, IFF_RUNNING, IFF_UP, IFINFOMSG_LEN,
    IFLA_CARRIER, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, IFLA_OPERSTATE,
};
use super::framing::{Attrs, read_u16, read_u32};
use crate::model::{Interface, LinkKind, OperState};

/// The interface family (`ifi_family`) and the interface a link message
/// describes (with no addresses: they come in messages of their own).
pub(crate) fn decode(payload: &[u8]) -> Result<(u8, Interface), String> {
    let header = payload.get(..IFINFOMSG_LEN).ok_or_else(|| {
        format!(
            "ifinfomsg needs {IFINFOMSG_LEN} bytes, {} present",
            payload.len()
        )
    })?;
    let family = header[0];
    let link_type = read_u16(header, 2);
    let index = read_u32(header, 4);
    let flags = read_u32(header, 8);
    let mut iface = Interface::new(index, "");
    iface.link_type = link_type;
    iface.flags = flags;
    iface.up = flags & IFF_UP != 0;
    iface.running = flags & IFF_RUNNING != 0;
    iface.loopback = flags & IFF_LOOPBACK != 0;
    iface.carrier = Some(flags & IFF_LOWER_UP != 0);
    let mut kind = None;
    for attr in Attrs::after(payload, IFINFOMSG_LEN) {
        let attr = attr?;
        match attr.kind {
            IFLA_IFNAME => iface.name = attr.string(),
            IFLA_MTU => iface.mtu = attr.u32("ifla_mtu")?,
            IFLA_OPERSTATE => iface.oper_state = OperState::from_raw(attr.u8("ifla_operstate")?),
            IFLA_CARRIER => iface.carrier = Some(attr.u8("ifla_carrier")? != 0),
            IFLA_LINKINFO => {
                for info in attr.nested() {
                    let info = info.map_err(|e| format!("in ifla_linkinfo, {e}"))?;
                    if info.kind == IFLA_INFO_KIND {
                        kind = Some(info.string());
                    }
                }
            }
            _ => {}
        }
    }
    iface.kind = self::kind(kind.as_deref(), iface.link_type);
    Ok((family, iface))
}

/// The kind for an `IFLA_INFO_KIND` string and hardware type
/// (`ARPHRD_*`), as Linux reports them.
pub(crate) fn kind(kind: Option<&str>, link_type: u16) -> LinkKind {
    match kind {
        Some("veth") => LinkKind::Veth,
        Some("tun") if link_type == ARPHRD_ETHER => LinkKind::Tap,
        Some("tun") => LinkKind::Tun,
        Some("sit") => LinkKind::Sit,
        Some("ipip") => LinkKind::Ipip,
        Some("ip6tnl") => LinkKind::Ip6Tnl,
        Some("gre" | "gretap" | "ip6gre" | "ip6gretap" | "erspan" | "ip6erspan") => LinkKind::Gre,
        Some("wireguard") => LinkKind::Wireguard,
        Some("bridge") => LinkKind::Bridge,
        Some("dummy") => LinkKind::Dummy,
        Some("vlan") => LinkKind::Vlan,
        Some("bond") => LinkKind::Bond,
        Some(other) => LinkKind::Other(other.to_owned()),
        None => match link_type {
            ARPHRD_LOOPBACK => LinkKind::Loopback,
            ARPHRD_ETHER => LinkKind::Ethernet,
            ARPHRD_NONE => LinkKind::Tun,
            ARPHRD_SIT => LinkKind::Sit,
            ARPHRD_TUNNEL => LinkKind::Ipip,
            ARPHRD_TUNNEL6 => LinkKind::Ip6Tnl,
            ARPHRD_IPGRE | ARPHRD_IP6GRE => LinkKind::Gre,
            other => LinkKind::Other(format!("arphrd-{other}")),
        },
    }
}
