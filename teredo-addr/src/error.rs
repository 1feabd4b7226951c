//! Error types, and a small fixed buffer that keeps the offending text.
//!
//! The crate has no allocator, so an error cannot own a `String`. Error
//! messages are most useful when they repeat the input, so text input is
//! copied into [`InputText`], a 64-byte buffer that truncates longer input.

use core::fmt::{self, Write as _};
use core::net::Ipv6Addr;

/// How many bytes of the input an [`InputText`] keeps.
const CAPACITY: usize = 64;

/// A copy of (the start of) some text input, kept so that an error message
/// can show what was wrong without allocating.
///
/// Input longer than 64 bytes is cut at a character boundary; the
/// [`Display`](fmt::Display) form then ends in `…`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputText {
    buf: [u8; CAPACITY],
    len: u8,
    truncated: bool,
}

impl InputText {
    /// Copies `text`, keeping at most its first 64 bytes.
    pub fn new(text: &str) -> Self {
        let mut end = text.len().min(CAPACITY);
        // Cutting inside a multi-byte character would leave invalid UTF-8.
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0; CAPACITY];
        buf[..end].copy_from_slice(&text.as_bytes()[..end]);
        Self {
            buf,
            // `end` is at most 64, so it always fits.
            len: end as u8,
            truncated: end < text.len(),
        }
    }

    /// The text kept, without any truncation mark.
    pub fn as_str(&self) -> &str {
        // The buffer only ever holds a prefix of a `str` cut at a character
        // boundary, so this cannot fail; the fallback avoids a panic path.
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    /// Whether the input was longer than what is kept.
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for InputText {
    /// Writes the text in double quotes, with control characters and quotes
    /// escaped so that odd input cannot garble the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.as_str().chars() {
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        }
        if self.truncated {
            f.write_char('…')?;
        }
        f.write_char('"')
    }
}

impl fmt::Debug for InputText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why an address or text is not a Teredo address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseTeredoError {
    /// The address is a valid IPv6 address but not in `2001:0::/32`.
    NotTeredo(Ipv6Addr),
    /// The text is not an IPv6 address at all.
    NotIpv6(InputText),
}

impl fmt::Display for ParseTeredoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTeredo(addr) => {
                write!(f, "{addr} is not a Teredo address (outside 2001:0::/32)")
            }
            Self::NotIpv6(text) => write!(f, "{text} is not an IPv6 address"),
        }
    }
}

impl core::error::Error for ParseTeredoError {}

/// Why a prefix cannot be a NAT64 prefix (RFC 6052 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Nat64PrefixError {
    /// The length is not one of 32, 40, 48, 56, 64 or 96.
    BadLength {
        /// The prefix address given.
        prefix: Ipv6Addr,
        /// The length given.
        len: u8,
    },
    /// A /96 prefix has a non-zero "u" octet (bits 64 to 71), which RFC 6052
    /// §2.2 requires to be zero.
    ReservedOctet {
        /// The prefix address given.
        prefix: Ipv6Addr,
    },
    /// The address has bits set after the prefix length.
    HostBits {
        /// The prefix address given.
        prefix: Ipv6Addr,
        /// The length given.
        len: u8,
    },
    /// The text is not of the form `address/length`.
    Syntax(InputText),
}

impl fmt::Display for Nat64PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength { prefix, len } => write!(
                f,
                "{prefix}/{len} is not a valid NAT64 prefix \
                 (the length must be 32, 40, 48, 56, 64 or 96)"
            ),
            Self::ReservedOctet { prefix } => write!(
                f,
                "{prefix}/96 is not a valid NAT64 prefix (bits 64 to 71 must be zero)"
            ),
            Self::HostBits { prefix, len } => write!(
                f,
                "{prefix}/{len} is not a valid NAT64 prefix (bits are set after the first {len})"
            ),
            Self::Syntax(text) => {
                write!(f, "{text} is not an IPv6 prefix (expected address/length)")
            }
        }
    }
}

impl core::error::Error for Nat64PrefixError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn short_text_is_kept_whole() {
        let t = InputText::new("zz");
        assert_eq!(t.as_str(), "zz");
        assert!(!t.is_truncated());
        assert_eq!(t.to_string(), "\"zz\"");
    }

    #[test]
    fn long_text_is_truncated_at_a_char_boundary() {
        // 63 ASCII bytes followed by a 3-byte character straddling byte 64.
        let mut s = std::string::String::from("a").repeat(63);
        s.push('€');
        let t = InputText::new(&s);
        assert_eq!(t.as_str().len(), 63);
        assert!(t.is_truncated());
        assert!(t.to_string().ends_with("a…\""));
    }

    #[test]
    fn exactly_64_bytes_is_not_truncated() {
        let s = "b".repeat(64);
        let t = InputText::new(&s);
        assert_eq!(t.as_str(), s);
        assert!(!t.is_truncated());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(InputText::new("a\"b\n").to_string(), r#""a\"b\n""#);
    }

    #[test]
    fn messages_name_the_input() {
        let e = ParseTeredoError::NotTeredo("2001:db8::1".parse().unwrap());
        assert_eq!(
            e.to_string(),
            "2001:db8::1 is not a Teredo address (outside 2001:0::/32)"
        );
        let e = ParseTeredoError::NotIpv6(InputText::new("zz"));
        assert_eq!(e.to_string(), "\"zz\" is not an IPv6 address");
    }
}
