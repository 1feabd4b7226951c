//! `RTM_NEWROUTE`: `struct rtmsg` and its attributes into a [`Route`],
//! for dumps, change notifications and the replies to route lookups.

use std::net::IpAddr;

use super::addr::ip;
use super::consts::{
    AF_INET, AF_INET6, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_OIF, RTA_PREFSRC, RTA_PRIORITY,
    RTA_TABLE, RTA_VIA, RTMSG_LEN, RTNEXTHOP_LEN,
};
use super::framing::{Attr, Attrs, read_u16, read_u32};
use crate::model::{Family, NextHop, Route, RouteKind};

/// The route of a route message of family `AF_INET` or `AF_INET6`;
/// `Ok(None)` for other families (multicast routing tables, MPLS, ...).
pub(crate) fn decode(payload: &[u8]) -> Result<Option<Route>, String> {
    let header = payload
        .get(..RTMSG_LEN)
        .ok_or_else(|| format!("rtmsg needs {RTMSG_LEN} bytes, {} present", payload.len()))?;
    let family_byte = header[0];
    let family = match family_byte {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return Ok(None),
    };
    let dst_len = header[1];
    let mut route = Route::new(family, None);
    route.table = u32::from(header[4]);
    route.protocol = header[5];
    route.scope = header[6];
    route.kind = RouteKind::from_raw(header[7]);
    route.flags = read_u32(header, 8);
    for attr in Attrs::after(payload, RTMSG_LEN) {
        let attr = attr?;
        match attr.kind {
            RTA_DST => {
                let dst = ip(family_byte, &attr, "rta_dst")?;
                if dst_len > 0 {
                    route.dst = Some((dst, dst_len));
                }
            }
            RTA_OIF => route.oif = Some(attr.u32("rta_oif")?),
            RTA_GATEWAY => route.gateway = Some(ip(family_byte, &attr, "rta_gateway")?),
            RTA_VIA => route.gateway = via(&attr)?,
            RTA_PREFSRC => route.pref_src = Some(ip(family_byte, &attr, "rta_prefsrc")?),
            RTA_TABLE => route.table = attr.u32("rta_table")?,
            RTA_PRIORITY => route.metric = attr.u32("rta_priority")?,
            RTA_MULTIPATH => route.multipath = next_hops(family_byte, attr.value)?,
            _ => {}
        }
    }
    Ok(Some(route))
}

/// `RTA_VIA`: `struct rtvia`, a family then an address of that family;
/// `None` for families other than IPv4 and IPv6.
fn via(attr: &Attr<'_>) -> Result<Option<IpAddr>, String> {
    if attr.value.len() < 2 {
        return Err(attr.wrong_length("rta_via", "at least 2"));
    }
    // rtvia_family is a native-endian sa_family_t (u16).
    let Ok(family) = u8::try_from(read_u16(attr.value, 0)) else {
        return Ok(None);
    };
    if family != AF_INET && family != AF_INET6 {
        return Ok(None);
    }
    let inner = Attr {
        kind: attr.kind,
        value: &attr.value[2..],
    };
    ip(family, &inner, "rta_via address").map(Some)
}

/// `RTA_MULTIPATH`: `struct rtnexthop` records, each followed by its own
/// attributes.
fn next_hops(family: u8, mut bytes: &[u8]) -> Result<Vec<NextHop>, String> {
    let mut hops = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < RTNEXTHOP_LEN {
            return Err(format!(
                "rta_multipath next hop {} is truncated: {RTNEXTHOP_LEN} bytes needed, {} remain",
                hops.len(),
                bytes.len()
            ));
        }
        let len = usize::from(read_u16(bytes, 0));
        if len < RTNEXTHOP_LEN || len > bytes.len() {
            return Err(format!(
                "rta_multipath next hop {} claims {len} bytes, {} remain",
                hops.len(),
                bytes.len()
            ));
        }
        let mut hop = NextHop {
            oif: read_u32(bytes, 4),
            gateway: None,
        };
        for attr in Attrs::new(&bytes[RTNEXTHOP_LEN..len]) {
            let attr = attr.map_err(|e| format!("in rta_multipath, {e}"))?;
            match attr.kind {
                RTA_GATEWAY => hop.gateway = Some(ip(family, &attr, "rta_gateway")?),
                RTA_VIA => hop.gateway = via(&attr)?,
                _ => {}
            }
        }
        hops.push(hop);
        bytes = &bytes[(len.saturating_add(3) & !3).min(bytes.len())..];
    }
    Ok(hops)
}
