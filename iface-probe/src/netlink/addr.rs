//! `RTM_NEWADDR` and `RTM_DELADDR`: `struct ifaddrmsg` and its attributes
//! into an [`Address`].

use std::net::IpAddr;

use super::consts::{
    AF_INET, AF_INET6, IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFADDRMSG_LEN,
};
use super::framing::{Attr, Attrs, read_u32};
use crate::model::{AddrFlags, Address};

/// The interface index and address of an address message of family
/// `AF_INET` or `AF_INET6`; `Ok(None)` for other families, and for a
/// message that names no address.
pub(crate) fn decode(payload: &[u8]) -> Result<Option<(u32, Address)>, String> {
    let header = payload.get(..IFADDRMSG_LEN).ok_or_else(|| {
        format!(
            "ifaddrmsg needs {IFADDRMSG_LEN} bytes, {} present",
            payload.len()
        )
    })?;
    let family = header[0];
    if family != AF_INET && family != AF_INET6 {
        return Ok(None);
    }
    let prefix_len = header[1];
    let mut flags = AddrFlags::from_bits(u32::from(header[2]));
    let scope = header[3];
    let index = read_u32(header, 4);
    let mut local = None;
    let mut address = None;
    let mut lifetimes = (None, None);
    let mut label = None;
    for attr in Attrs::after(payload, IFADDRMSG_LEN) {
        let attr = attr?;
        match attr.kind {
            IFA_LOCAL => local = Some(ip(family, &attr, "ifa_local")?),
            IFA_ADDRESS => address = Some(ip(family, &attr, "ifa_address")?),
            IFA_FLAGS => flags = AddrFlags::from_bits(attr.u32("ifa_flags")?),
            IFA_LABEL => label = Some(attr.string()),
            IFA_CACHEINFO => {
                // struct ifa_cacheinfo: preferred and valid lifetimes,
                // then two timestamps.
                if attr.value.len() < 16 {
                    return Err(attr.wrong_length("ifa_cacheinfo", "16"));
                }
                let preferred = read_u32(attr.value, 0);
                let valid = read_u32(attr.value, 4);
                lifetimes = (lifetime(preferred), lifetime(valid));
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the local address when both are present (the other is
    // the peer of a point-to-point link).
    let Some(ip) = local.or(address) else {
        return Ok(None);
    };
    let mut addr = Address::new(ip, prefix_len);
    addr.scope = scope;
    addr.flags = flags;
    (addr.preferred_lft, addr.valid_lft) = lifetimes;
    addr.label = label;
    Ok(Some((index, addr)))
}

/// An address attribute of `family`, or why its length does not fit.
pub(crate) fn ip(family: u8, attr: &Attr<'_>, name: &str) -> Result<IpAddr, String> {
    match family {
        AF_INET => <[u8; 4]>::try_from(attr.value)
            .map(IpAddr::from)
            .map_err(|_| attr.wrong_length(name, "4")),
        _ => <[u8; 16]>::try_from(attr.value)
            .map(IpAddr::from)
            .map_err(|_| attr.wrong_length(name, "16")),
    }
}

/// `INFINITY_LIFE_TIME` (`0xffffffff`) is forever.
fn lifetime(secs: u32) -> Option<u32> {
    (secs != u32::MAX).then_some(secs)
}
