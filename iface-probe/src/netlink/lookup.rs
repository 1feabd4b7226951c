//! The replies to route lookups (`RTM_GETROUTE` without a dump flag), many
//! of which arrive in one datagram.

use super::consts::{NLMSG_ERROR, RTM_NEWROUTE};
use super::framing::{ParseError, for_each_message};
use super::route;
use crate::model::Route;

/// Reads the replies to route lookups in one datagram and hands each to
/// `reply` with its sequence number: the route, or the positive errno of
/// an error reply (0 for a reply of a family this crate cannot describe).
/// Other messages are skipped.
///
/// # Errors
///
/// When a message header is malformed, or a route or error message cannot
/// be decoded.
pub(crate) fn lookup_replies(
    bytes: &[u8],
    mut reply: impl FnMut(u32, Result<Route, i32>),
) -> Result<(), ParseError> {
    for_each_message(bytes, |header, payload| {
        match header.message_type {
            RTM_NEWROUTE => {
                let answer = route::decode(payload).map_err(|r| header.payload_error(r))?;
                reply(header.sequence, answer.ok_or(0));
            }
            NLMSG_ERROR => {
                let errno = super::error_code(payload).map_err(|r| header.payload_error(r))?;
                reply(header.sequence, Err(errno));
            }
            _ => {}
        }
        Ok(())
    })
}
