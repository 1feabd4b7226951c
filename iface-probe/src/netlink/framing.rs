//! Netlink framing: message headers one after another in a datagram, and
//! type-length-value attributes inside a message. Every length is checked
//! against what is left before anything is read, so no input panics.

use std::error::Error;
use std::fmt;

use super::consts::{
    NLA_TYPE_MASK, NLMSG_ERROR, NLMSG_HDRLEN, RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_DELRULE,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNDUSEROPT, RTM_NEWROUTE, RTM_NEWRULE,
};

/// Why a buffer of netlink messages could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes remain than a message header needs.
    TruncatedHeader {
        /// Where the message starts in the buffer.
        offset: usize,
        /// How many bytes remain from there.
        remaining: usize,
    },
    /// The header's length is smaller than the header itself.
    BadLength {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The length the header gives.
        length: u32,
    },
    /// The header's length runs past the end of the buffer.
    Truncated {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The length the header gives.
        length: u32,
        /// How many bytes remain from `offset`.
        remaining: usize,
    },
    /// The message's payload could not be decoded.
    Payload {
        /// Where the message starts in the buffer.
        offset: usize,
        /// The netlink message type.
        message_type: u16,
        /// What was wrong with it.
        reason: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedHeader { offset, remaining } => write!(
                f,
                "netlink message header at offset {offset} is truncated: \
                 {NLMSG_HDRLEN} bytes needed, {remaining} remain"
            ),
            Self::BadLength { offset, length } => write!(
                f,
                "netlink message at offset {offset} has length {length}, \
                 less than the {NLMSG_HDRLEN}-byte header"
            ),
            Self::Truncated {
                offset,
                length,
                remaining,
            } => write!(
                f,
                "netlink message at offset {offset} is truncated: header says \
                 {length} bytes, {remaining} remain"
            ),
            Self::Payload {
                offset,
                message_type,
                reason,
            } => write!(
                f,
                "{} message at offset {offset} could not be decoded: {reason}",
                type_name(*message_type)
            ),
        }
    }
}

impl Error for ParseError {}

/// A lowercase name for a message type, for error messages.
fn type_name(message_type: u16) -> String {
    let name = match message_type {
        NLMSG_ERROR => "nlmsg_error",
        RTM_NEWLINK => "rtm_newlink",
        RTM_DELLINK => "rtm_dellink",
        RTM_NEWADDR => "rtm_newaddr",
        RTM_DELADDR => "rtm_deladdr",
        RTM_NEWROUTE => "rtm_newroute",
        RTM_DELROUTE => "rtm_delroute",
        RTM_NEWRULE => "rtm_newrule",
        RTM_DELRULE => "rtm_delrule",
        RTM_NEWNDUSEROPT => "rtm_newnduseropt",
        other => return format!("netlink type {other}"),
    };
    name.to_owned()
}

pub(crate) fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The fixed header of one netlink message, and where it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) offset: usize,
    pub(crate) message_type: u16,
    pub(crate) flags: u16,
    pub(crate) sequence: u32,
}

impl Header {
    pub(crate) fn payload_error(self, reason: String) -> ParseError {
        ParseError::Payload {
            offset: self.offset,
            message_type: self.message_type,
            reason,
        }
    }
}

/// Walks the messages of one datagram, checking each header's length
/// against what is left, and hands each header and payload to `each`.
pub(crate) fn for_each_message(
    bytes: &[u8],
    mut each: impl FnMut(Header, &[u8]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < NLMSG_HDRLEN {
            return Err(ParseError::TruncatedHeader {
                offset,
                remaining: rest.len(),
            });
        }
        let length = read_u32(rest, 0);
        let len = usize::try_from(length).unwrap_or(usize::MAX);
        if len < NLMSG_HDRLEN {
            return Err(ParseError::BadLength { offset, length });
        }
        if len > rest.len() {
            return Err(ParseError::Truncated {
                offset,
                length,
                remaining: rest.len(),
            });
        }
        let header = Header {
            offset,
            message_type: read_u16(rest, 4),
            flags: read_u16(rest, 6),
            sequence: read_u32(rest, 8),
        };
        each(header, &rest[NLMSG_HDRLEN..len])?;
        // Messages are aligned to 4 bytes; the last one's padding may be cut.
        offset = offset.saturating_add(len.saturating_add(3) & !3);
    }
    Ok(())
}

/// One attribute: its type (flag bits masked off) and value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr<'a> {
    pub(crate) kind: u16,
    pub(crate) value: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The value as a native-endian `u32`, or why not.
    pub(crate) fn u32(&self, name: &str) -> Result<u32, String> {
        <[u8; 4]>::try_from(self.value)
            .map(u32::from_ne_bytes)
            .map_err(|_| self.wrong_length(name, "4"))
    }

    /// The value as one byte, or why not. Longer values (the kernel pads
    /// to four bytes) keep their first byte.
    pub(crate) fn u8(&self, name: &str) -> Result<u8, String> {
        self.value
            .first()
            .copied()
            .ok_or_else(|| self.wrong_length(name, "1"))
    }

    /// The value as a string: up to the first NUL, lossily decoded.
    pub(crate) fn string(&self) -> String {
        let end = self
            .value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.value.len());
        String::from_utf8_lossy(&self.value[..end]).into_owned()
    }

    pub(crate) fn wrong_length(&self, name: &str, wanted: &str) -> String {
        format!("{name} has {} bytes, {wanted} expected", self.value.len())
    }

    /// The attributes nested in this one.
    pub(crate) fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.value)
    }
}

/// The attributes in `bytes`, one after another, each 4-byte aligned.
#[derive(Debug, Clone)]
pub(crate) struct Attrs<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where `bytes` starts in the message payload, for error messages.
    base: usize,
}

impl<'a> Attrs<'a> {
    /// The attributes of `bytes`, with errors naming offsets within it.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self::after(bytes, 0)
    }

    /// The attributes that follow a fixed header of `skip` bytes in
    /// `payload`, with errors naming offsets within the payload; none when
    /// the payload is shorter.
    pub(crate) fn after(payload: &'a [u8], skip: usize) -> Self {
        Self {
            bytes: payload.get(skip..).unwrap_or_default(),
            at: 0,
            base: skip,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.at..)?;
        if rest.is_empty() {
            return None;
        }
        let at = self.at;
        let offset = self.base + at;
        if rest.len() < 4 {
            self.at = self.bytes.len();
            return Some(Err(format!(
                "attribute at byte {offset} is truncated: 4 header bytes needed, {} remain",
                rest.len()
            )));
        }
        let len = usize::from(read_u16(rest, 0));
        let kind = read_u16(rest, 2) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            self.at = self.bytes.len();
            let problem = if len < 4 {
                "less than its 4-byte header".to_owned()
            } else {
                format!("only {} remain", rest.len())
            };
            return Some(Err(format!(
                "attribute {kind} at byte {offset} claims {len} bytes, {problem}"
            )));
        }
        self.at = at.saturating_add(len.saturating_add(3) & !3);
        Some(Ok(Attr {
            kind,
            value: &rest[4..len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn attributes_walk_with_padding_and_flags_masked() {
        let mut bytes = attr(3, b"eth0\0");
        bytes.extend(attr(0x8000 | 18, &attr(1, b"veth")));
        let attrs: Vec<Attr<'_>> = Attrs::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].string(), "eth0");
        assert_eq!(attrs[1].kind, 18);
        let inner: Vec<Attr<'_>> = attrs[1].nested().map(Result::unwrap).collect();
        assert_eq!(inner[0].string(), "veth");
    }

    #[test]
    fn bad_attribute_lengths_are_errors_that_say_where() {
        let mut bytes = attr(4, &7u32.to_ne_bytes());
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&9u16.to_ne_bytes());
        let mut attrs = Attrs::new(&bytes);
        assert_eq!(attrs.next().unwrap().unwrap().u32("x"), Ok(7));
        assert_eq!(
            attrs.next().unwrap().unwrap_err(),
            "attribute 9 at byte 8 claims 2 bytes, less than its 4-byte header"
        );
        assert!(attrs.next().is_none());
        let long = attr(1, &[0; 8]);
        let err = Attrs::new(&long[..10]).next().unwrap().unwrap_err();
        assert_eq!(err, "attribute 1 at byte 0 claims 12 bytes, only 10 remain");
        let err = Attrs::new(&[1, 0]).next().unwrap().unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        let odd = Attr {
            kind: 4,
            value: &[1, 2, 3],
        };
        assert_eq!(
            odd.u32("rta_oif").unwrap_err(),
            "rta_oif has 3 bytes, 4 expected"
        );
    }
}
