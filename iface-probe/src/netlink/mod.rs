//! Netlink route messages (RFC 3549, in Linux's encoding) decoded into
//! this crate's [`Interface`], [`Address`] and [`Route`], the Router
//! Advertisement options the kernel hands to user space (PREF64, RFC
//! 8781), and the few requests the crate sends.
//!
//! Pure code: nothing here touches the operating system, so it compiles on
//! every platform and is tested (and fuzzed) on captured bytes. Netlink
//! uses the host's byte order: bytes captured on a little-endian machine
//! parse only on a little-endian machine.
//!
//! The decoder reads only what the crate uses and checks every length it
//! reads; a malformed message is a [`ParseError`] that says which message
//! and what was wrong, never a panic.

mod addr;
pub(crate) mod consts;
mod framing;
pub(crate) mod link;
// The requests and the lookup-reply reader serve the Linux backend (and
// the reader's tests, which run everywhere; the requests are compared
// with another encoder only where it builds, on Linux).
#[cfg(any(target_os = "linux", target_os = "android", test))]
mod lookup;
mod nduseropt;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod request;
mod route;

use std::net::Ipv6Addr;

use crate::model::{Address, Interface, Route};
use consts::{
    AF_BRIDGE, NLMSG_DONE, NLMSG_ERROR, RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_DELRULE,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNDUSEROPT, RTM_NEWROUTE, RTM_NEWRULE,
};
pub use framing::ParseError;
use framing::for_each_message;
#[cfg(any(target_os = "linux", target_os = "android", test))]
pub(crate) use lookup::lookup_replies;
pub use nduseropt::NdOption;

/// One netlink message with the header fields that matter for matching
/// replies to requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The netlink message type (`nlmsg_type`).
    pub message_type: u16,
    /// The netlink flags (`nlmsg_flags`).
    pub flags: u16,
    /// The sequence number (`nlmsg_seq`), copied by the kernel from the
    /// request this message answers.
    pub sequence: u32,
    /// The decoded body.
    pub body: Body,
}

/// What a netlink message said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `RTM_NEWLINK`: an interface (its `addresses` are empty: they come in
    /// their own messages).
    Link(Interface),
    /// `RTM_NEWADDR`: an address on interface `index`.
    Address {
        /// The interface the address is on.
        index: u32,
        /// The address.
        address: Address,
    },
    /// `RTM_DELLINK`: an interface went away (a change notification).
    /// The `RTM_DELLINK` of family `AF_BRIDGE` that the kernel sends when
    /// a port merely leaves its bridge is not this: it is
    /// [`Ignored`](Self::Ignored).
    LinkRemoved(Interface),
    /// `RTM_DELADDR`: an address was removed from interface `index` (a
    /// change notification).
    AddressRemoved {
        /// The interface the address was on.
        index: u32,
        /// The address, as it was.
        address: Address,
    },
    /// `RTM_NEWROUTE`: a route, or the answer to an `RTM_GETROUTE` request.
    Route(Route),
    /// `RTM_DELROUTE`: a route was removed (a change notification).
    RouteRemoved(Route),
    /// `RTM_NEWRULE` or `RTM_DELRULE`: a policy routing rule (`ip rule`)
    /// was added or removed. The rule itself is not decoded: what matters
    /// is that route lookups may now answer differently.
    RuleChanged,
    /// `RTM_NEWNDUSEROPT`: options of a Router Advertisement received on
    /// interface `index` that the kernel leaves to user space (a change
    /// notification of group `RTNLGRP_ND_USEROPT`). PREF64 options (RFC
    /// 8781) are decoded; a malformed one is an `Err` that says why, not
    /// a parse error, since the message around it is sound.
    RouterOptions {
        /// The interface the advertisement came in on.
        index: u32,
        /// Its source, the router's link-local address (from
        /// `NDUSEROPT_SRCADDR`).
        router: Option<Ipv6Addr>,
        /// The options, in order.
        options: Vec<NdOption>,
    },
    /// `NLMSG_DONE`: the end of a dump (one that failed part-way, with a
    /// negative status, is an [`Error`](Self::Error) instead).
    Done,
    /// `NLMSG_ERROR`: `errno` is the positive error number (`ENETUNREACH`
    /// ...), or 0 for an acknowledgement.
    Error {
        /// The positive error number, 0 for an acknowledgement.
        errno: i32,
    },
    /// A message this crate does not use (`NLMSG_NOOP`, an address or route
    /// of another family, ...); carries the message type.
    Ignored(u16),
}

/// Decodes a buffer holding any number of netlink messages, as one
/// `recv` on a `NETLINK_ROUTE` socket returns them.
///
/// Messages are 4-byte aligned; padding after the last one may be missing.
/// Never panics, whatever the bytes.
///
/// ```
/// // An NLMSG_DONE message, sequence 7.
/// let mut bytes = Vec::new();
/// bytes.extend_from_slice(&20u32.to_ne_bytes()); // length
/// bytes.extend_from_slice(&3u16.to_ne_bytes()); // NLMSG_DONE
/// bytes.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
/// bytes.extend_from_slice(&7u32.to_ne_bytes()); // sequence
/// bytes.extend_from_slice(&0u32.to_ne_bytes()); // port
/// bytes.extend_from_slice(&0i32.to_ne_bytes()); // status
/// let messages = iface_probe::netlink::parse_messages(&bytes).unwrap();
/// assert_eq!(messages[0].sequence, 7);
/// assert_eq!(messages[0].body, iface_probe::netlink::Body::Done);
///
/// let err = iface_probe::netlink::parse_messages(&bytes[..19]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "netlink message at offset 0 is truncated: header says 20 bytes, 19 remain"
/// );
/// ```
///
/// # Errors
///
/// When a header's length does not fit the buffer, or a message this
/// crate decodes is malformed; the error says where and why.
pub fn parse_messages(bytes: &[u8]) -> Result<Vec<Message>, ParseError> {
    let mut out = Vec::new();
    for_each_message(bytes, |header, payload| {
        let body = parse_body(header.message_type, payload)
            .map_err(|reason| header.payload_error(reason))?;
        out.push(Message {
            message_type: header.message_type,
            flags: header.flags,
            sequence: header.sequence,
            body,
        });
        Ok(())
    })?;
    Ok(out)
}

/// The positive errno of an `NLMSG_ERROR` payload (0: an acknowledgement).
fn error_code(payload: &[u8]) -> Result<i32, String> {
    match payload.get(..4) {
        Some(&[a, b, c, d]) => Ok(i32::from_ne_bytes([a, b, c, d])
            .checked_neg()
            .unwrap_or(i32::MAX)),
        _ => Err(format!(
            "error code needs 4 bytes, {} present",
            payload.len()
        )),
    }
}

fn parse_body(message_type: u16, payload: &[u8]) -> Result<Body, String> {
    let ignored = Body::Ignored(message_type);
    Ok(match message_type {
        // A dump that failed part-way ends with a negative code in its
        // `NLMSG_DONE`.
        NLMSG_DONE => match payload.get(..4) {
            Some(&[a, b, c, d]) if i32::from_ne_bytes([a, b, c, d]) < 0 => Body::Error {
                errno: i32::from_ne_bytes([a, b, c, d])
                    .checked_neg()
                    .unwrap_or(i32::MAX),
            },
            _ => Body::Done,
        },
        NLMSG_ERROR => Body::Error {
            errno: error_code(payload)?,
        },
        RTM_NEWLINK => Body::Link(link::decode(payload)?.1),
        RTM_DELLINK => match link::decode(payload)? {
            // A port leaving its bridge: the interface stays.
            (AF_BRIDGE, _) => ignored,
            (_, iface) => Body::LinkRemoved(iface),
        },
        // Addresses and routes of other families (AF_MCTP, multicast
        // routing tables, ...) are of no use here, and their attributes
        // need not decode as IP ones do: one such address on the host must
        // not fail the whole dump. Their family is their first byte.
        RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE | RTM_DELROUTE
            if !matches!(payload.first(), Some(&(consts::AF_INET | consts::AF_INET6))) =>
        {
            ignored
        }
        RTM_NEWADDR => match addr::decode(payload)? {
            Some((index, address)) => Body::Address { index, address },
            None => ignored,
        },
        RTM_DELADDR => match addr::decode(payload)? {
            Some((index, address)) => Body::AddressRemoved { index, address },
            None => ignored,
        },
        RTM_NEWROUTE => route::decode(payload)?.map_or(ignored, Body::Route),
        RTM_DELROUTE => route::decode(payload)?.map_or(ignored, Body::RouteRemoved),
        RTM_NEWRULE | RTM_DELRULE => Body::RuleChanged,
        RTM_NEWNDUSEROPT => nduseropt::decode(message_type, payload)?,
        _ => ignored,
    })
}

#[cfg(test)]
mod tests;
