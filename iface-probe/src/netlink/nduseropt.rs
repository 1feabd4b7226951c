//! `RTM_NEWNDUSEROPT`: a Router Advertisement option the kernel hands to
//! user space (`struct nduseroptmsg`, the options, then the
//! `NDUSEROPT_SRCADDR` attribute), into [`Body::RouterOptions`].
//!
//! Linux sends one such message per option it does not act on itself:
//! RDNSS, DNSSL, the captive portal and PREF64 (RFC 8781), the last being
//! the one this crate decodes.

use std::net::Ipv6Addr;

use super::Body;
use super::consts::{AF_INET6, NDUSEROPT_SRCADDR, NDUSEROPTMSG_LEN};
use super::framing::{Attrs, read_u16, read_u32};
use crate::nat64::{ND_OPT_PREF64, ND_ROUTER_ADVERT, Pref64Option};

/// One option of a [`Body::RouterOptions`] message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NdOption {
    /// A PREF64 option (RFC 8781), or why it cannot be used.
    Pref64(Result<Pref64Option, crate::Pref64Error>),
    /// Another option (RDNSS, DNSSL, ...), not decoded.
    Other {
        /// The option type.
        kind: u8,
    },
}

/// The body of an `RTM_NEWNDUSEROPT` message; [`Body::Ignored`] for
/// another family or an ICMPv6 type other than a Router Advertisement.
pub(crate) fn decode(message_type: u16, payload: &[u8]) -> Result<Body, String> {
    let header = payload.get(..NDUSEROPTMSG_LEN).ok_or_else(|| {
        format!(
            "nduseroptmsg needs {NDUSEROPTMSG_LEN} bytes, {} present",
            payload.len()
        )
    })?;
    let family = header[0];
    let opts_len = usize::from(read_u16(header, 2));
    let index = read_u32(header, 4);
    let icmp_type = header[8];
    if family != AF_INET6 || icmp_type != ND_ROUTER_ADVERT {
        return Ok(Body::Ignored(message_type));
    }
    let rest = &payload[NDUSEROPTMSG_LEN..];
    let opts = rest.get(..opts_len).ok_or_else(|| {
        format!(
            "nduseropt_opts_len says {opts_len} bytes of options, {} present",
            rest.len()
        )
    })?;
    let mut options = Vec::with_capacity(1);
    let mut at = 0;
    while at < opts.len() {
        let option = &opts[at..];
        let (kind, units) = match option {
            [kind, units, ..] => (*kind, usize::from(*units)),
            _ => {
                return Err(format!(
                    "option at byte {at} is truncated: 2 bytes needed, {} remain",
                    option.len()
                ));
            }
        };
        // RFC 4861 §4.6: lengths are in units of 8 bytes, and 0 is invalid.
        let len = units * 8;
        if len == 0 || len > option.len() {
            return Err(format!(
                "option {kind} at byte {at} claims {len} bytes, {} remain",
                option.len()
            ));
        }
        let option = &option[..len];
        options.push(if kind == ND_OPT_PREF64 {
            NdOption::Pref64(Pref64Option::decode(option))
        } else {
            NdOption::Other { kind }
        });
        at += len;
    }
    let mut router = None;
    // The attributes follow the options, which are whole units of 8 bytes
    // and so already aligned.
    for attr in Attrs::after(payload, NDUSEROPTMSG_LEN + opts_len) {
        let attr = attr?;
        if attr.kind == NDUSEROPT_SRCADDR {
            let octets = <[u8; 16]>::try_from(attr.value)
                .map_err(|_| attr.wrong_length("nduseropt_srcaddr", "16"))?;
            router = Some(Ipv6Addr::from(octets));
        }
    }
    Ok(Body::RouterOptions {
        index,
        router,
        options,
    })
}
