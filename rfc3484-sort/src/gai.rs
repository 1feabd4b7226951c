//! A reader for glibc's `/etc/gai.conf` (gai.conf(5)), stricter than glibc.
//!
//! glibc skips lines it does not understand; a typo then silently leaves
//! the default policy in place, so here every such line is an error that
//! names the line.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use teredo_addr::Scope;

use crate::policy::{Policy, PolicyEntry, PrefixRule, Scopev4Entry};

/// The largest precedence or label glibc accepts (`INT_MAX`).
const MAX_VALUE: u64 = i32::MAX as u64;

/// The largest scope value: RFC 4291 scopes are four bits.
const MAX_SCOPE: u64 = 15;

/// The precedence glibc gives `::/0` in a precedence table read from a
/// file without such a row.
const CATCH_ALL_PRECEDENCE: u32 = 40;

/// The label glibc gives `::/0` in a label table read from a file without
/// such a row.
const CATCH_ALL_LABEL: u32 = 1;

/// Why a `gai.conf` file was rejected. Each variant carries the 1-based line
/// number and the line's text (comment and surrounding blanks removed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GaiConfError {
    /// The line starts with a word that is not `label`, `precedence`,
    /// `scopev4` or `reload`.
    UnknownKeyword {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// The word that is not a keyword.
        keyword: String,
    },
    /// A field the keyword needs is missing.
    MissingField {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// What is missing: `"mask"`, `"precedence"`, `"label"`, `"scope"`
        /// or `"yes or no"`.
        field: &'static str,
    },
    /// The line has more fields than its keyword takes.
    ExtraField {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// The first field too many.
        field: String,
    },
    /// The mask's address is not of the family the keyword needs.
    BadAddress {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// The address as written.
        address: String,
        /// What the keyword needs, e.g. `"an IPv6 address"`.
        expected: &'static str,
    },
    /// The mask's prefix length is missing, not a number or out of range.
    BadPrefixLength {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// The prefix length as written (empty if missing).
        len: String,
        /// The smallest length allowed here.
        min: u8,
        /// The largest length allowed here.
        max: u8,
    },
    /// A precedence, label or scope is not a number or is too large.
    BadValue {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// Which value: `"precedence"`, `"label"` or `"scope"`.
        what: &'static str,
        /// The value as written.
        value: String,
        /// The largest value allowed.
        max: u32,
    },
    /// `reload` is followed by something other than `yes` or `no`.
    BadReload {
        /// The line number, from 1.
        line: usize,
        /// The line's text.
        text: String,
        /// The word that is not `yes` or `no`.
        value: String,
    },
}

impl GaiConfError {
    /// The 1-based number of the offending line.
    pub fn line(&self) -> usize {
        match self {
            Self::UnknownKeyword { line, .. }
            | Self::MissingField { line, .. }
            | Self::ExtraField { line, .. }
            | Self::BadAddress { line, .. }
            | Self::BadPrefixLength { line, .. }
            | Self::BadValue { line, .. }
            | Self::BadReload { line, .. } => *line,
        }
    }

    /// The offending line's text, without its comment.
    pub fn text(&self) -> &str {
        match self {
            Self::UnknownKeyword { text, .. }
            | Self::MissingField { text, .. }
            | Self::ExtraField { text, .. }
            | Self::BadAddress { text, .. }
            | Self::BadPrefixLength { text, .. }
            | Self::BadValue { text, .. }
            | Self::BadReload { text, .. } => text,
        }
    }
}

/// A number written in decimal digits only, or `None`; too large a number
/// saturates so the caller can say "is over".
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

impl fmt::Display for GaiConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gai.conf line {}: {:?}: ", self.line(), self.text())?;
        match self {
            Self::UnknownKeyword { keyword, .. } => write!(
                f,
                "unknown keyword {keyword:?} (expected label, precedence, scopev4 or reload)"
            ),
            Self::MissingField { field, .. } => write!(f, "missing {field}"),
            Self::ExtraField { field, .. } => write!(f, "unexpected extra field {field:?}"),
            Self::BadAddress {
                address, expected, ..
            } => write!(f, "{address:?} is not {expected}"),
            Self::BadPrefixLength { len, min, max, .. } => match decimal(len) {
                _ if len.is_empty() => f.write_str("missing prefix length after \"/\""),
                None => write!(f, "prefix length {len:?} is not a number"),
                Some(n) if n > u64::from(*max) => {
                    write!(f, "prefix length {len} is over {max}")
                }
                Some(_) => write!(f, "prefix length {len} is under {min}"),
            },
            Self::BadValue {
                what, value, max, ..
            } => match decimal(value) {
                None => write!(f, "{what} {value:?} is not a number"),
                Some(_) => write!(f, "{what} {value} is over {max}"),
            },
            Self::BadReload { value, .. } => {
                write!(f, "reload takes yes or no, not {value:?}")
            }
        }
    }
}

impl core::error::Error for GaiConfError {}

/// The line being parsed, for building errors.
struct Line<'a> {
    number: usize,
    text: &'a str,
}

impl Line<'_> {
    fn missing(&self, field: &'static str) -> GaiConfError {
        GaiConfError::MissingField {
            line: self.number,
            text: self.text.to_string(),
            field,
        }
    }

    fn bad_address(&self, address: &str, expected: &'static str) -> GaiConfError {
        GaiConfError::BadAddress {
            line: self.number,
            text: self.text.to_string(),
            address: address.to_string(),
            expected,
        }
    }

    /// A prefix length between `min` and `max`; `None` (no slash) is `max`.
    fn prefix_len(&self, len: Option<&str>, min: u8, max: u8) -> Result<u8, GaiConfError> {
        let Some(len) = len else {
            return Ok(max);
        };
        match decimal(len) {
            Some(n) if n >= u64::from(min) && n <= u64::from(max) => {
                // In range of a u8 by the check above.
                Ok(n as u8)
            }
            _ => Err(GaiConfError::BadPrefixLength {
                line: self.number,
                text: self.text.to_string(),
                len: len.to_string(),
                min,
                max,
            }),
        }
    }

    /// A number from 0 to `max`.
    fn value(&self, what: &'static str, value: &str, max: u64) -> Result<u32, GaiConfError> {
        match decimal(value) {
            // At most `MAX_VALUE`, so it fits.
            Some(n) if n <= max => Ok(n as u32),
            _ => Err(GaiConfError::BadValue {
                line: self.number,
                text: self.text.to_string(),
                what,
                value: value.to_string(),
                max: max as u32,
            }),
        }
    }

    /// An IPv6 mask: `addr/len` or a bare `addr` (a /128).
    fn v6_mask(&self, mask: &str) -> Result<(Ipv6Addr, u8), GaiConfError> {
        let (addr, len) = split_mask(mask);
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| self.bad_address(addr, "an IPv6 address"))?;
        Ok((addr, self.prefix_len(len, 0, 128)?))
    }

    /// A `scopev4` mask: `a.b.c.d/len` (0 to 32) or an IPv4-mapped IPv6
    /// `::ffff:a.b.c.d/len` (96 to 128), as glibc takes.
    fn v4_mask(&self, mask: &str) -> Result<(Ipv4Addr, u8), GaiConfError> {
        let (addr, len) = split_mask(mask);
        if let Ok(v4) = addr.parse::<Ipv4Addr>() {
            return Ok((v4, self.prefix_len(len, 0, 32)?));
        }
        match addr
            .parse::<Ipv6Addr>()
            .ok()
            .and_then(|a| a.to_ipv4_mapped())
        {
            Some(v4) => Ok((v4, self.prefix_len(len, 96, 128)? - 96)),
            None => Err(self.bad_address(addr, "an IPv4 or IPv4-mapped IPv6 address")),
        }
    }
}

/// Splits `addr/len` into its parts; without a slash there is no length.
fn split_mask(mask: &str) -> (&str, Option<&str>) {
    match mask.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (mask, None),
    }
}

impl Policy {
    /// Reads a glibc `gai.conf` (gai.conf(5)).
    ///
    /// Lines are `label MASK VALUE`, `precedence MASK VALUE`,
    /// `scopev4 MASK VALUE` and `reload yes|no`; `#` starts a comment and
    /// blank lines are skipped. A mask is `addr/len` or a bare `addr`
    /// (all bits). `label` and `precedence` masks are IPv6 (IPv4 prefixes
    /// are written IPv4-mapped, `::ffff:0:0/96`); `scopev4` masks are IPv4
    /// (`a.b.c.d/len`) or IPv4-mapped IPv6 with a length of at least 96.
    /// Values are decimal, up to 2147483647 (scopes up to 15).
    ///
    /// As in glibc, the first `label` line replaces the whole default label
    /// table with the file's `label` lines, and likewise for `precedence`
    /// and `scopev4`; a kind the file does not mention keeps glibc's
    /// default ([`Policy::glibc`]). A table the file gives without a
    /// catch-all row gets glibc's: `precedence ::/0 40`, `label ::/0 1`,
    /// `scopev4 0.0.0.0/0 14` (global). Rule 9 is RFC 6724's. If two lines
    /// give the same prefix, the first one wins. `reload` is checked and
    /// otherwise ignored: a [`Policy`] never rereads its file.
    ///
    /// Unlike glibc, which skips what it does not understand, an unknown
    /// keyword, a malformed mask, a bad number, a missing field or an extra
    /// field is an error naming the line.
    ///
    /// ```
    /// use rfc3484_sort::Policy;
    /// let p = Policy::from_gai_conf("precedence ::ffff:0:0/96 100\n")?;
    /// assert_eq!(p.precedence("192.0.2.1".parse().unwrap()), 100);
    /// // The precedence table was replaced as a whole, with glibc's
    /// // catch-all row added:
    /// assert_eq!(p.precedence("2001:db8::1".parse().unwrap()), 40);
    /// assert_eq!(p.precedence("::1".parse().unwrap()), 40);
    ///
    /// let err = Policy::from_gai_conf("# prefer IPv4\nprecedence ::1/129 50\n").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "gai.conf line 2: \"precedence ::1/129 50\": prefix length 129 is over 128",
    /// );
    /// # Ok::<(), rfc3484_sort::GaiConfError>(())
    /// ```
    pub fn from_gai_conf(text: &str) -> Result<Self, GaiConfError> {
        let mut label: Option<Vec<PolicyEntry>> = None;
        let mut precedence: Option<Vec<PolicyEntry>> = None;
        let mut scopev4: Option<Vec<Scopev4Entry>> = None;

        for (index, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let line = Line {
                number: index + 1,
                text: content,
            };
            let mut fields = content.split_ascii_whitespace();
            let keyword = fields.next().unwrap_or("");
            let (what, max) = match keyword {
                "label" => ("label", MAX_VALUE),
                "precedence" => ("precedence", MAX_VALUE),
                "scopev4" => ("scope", MAX_SCOPE),
                "reload" => ("yes or no", 0),
                _ => {
                    return Err(GaiConfError::UnknownKeyword {
                        line: line.number,
                        text: content.to_string(),
                        keyword: keyword.to_string(),
                    });
                }
            };
            let first = fields.next();
            let second = if keyword == "reload" {
                None
            } else {
                Some(fields.next())
            };
            if let Some(extra) = fields.next() {
                return Err(GaiConfError::ExtraField {
                    line: line.number,
                    text: content.to_string(),
                    field: extra.to_string(),
                });
            }
            if keyword == "reload" {
                match first {
                    Some("yes" | "no") => {}
                    Some(other) => {
                        return Err(GaiConfError::BadReload {
                            line: line.number,
                            text: content.to_string(),
                            value: other.to_string(),
                        });
                    }
                    None => return Err(line.missing(what)),
                }
                continue;
            }
            let mask = first.ok_or_else(|| line.missing("mask"))?;
            let value = second.flatten().ok_or_else(|| line.missing(what))?;
            if keyword == "scopev4" {
                let (addr, len) = line.v4_mask(mask)?;
                let scope = line.value(what, value, max)?;
                // At most 15 by the check above.
                let scope = Scope::from_value(scope as u8);
                scopev4
                    .get_or_insert_with(Vec::new)
                    .push(Scopev4Entry::new(addr, len, scope));
            } else {
                let (addr, len) = line.v6_mask(mask)?;
                let value = line.value(what, value, max)?;
                let table = if keyword == "label" {
                    &mut label
                } else {
                    &mut precedence
                };
                table
                    .get_or_insert_with(Vec::new)
                    .push(PolicyEntry::new(addr, len, value));
            }
        }

        // As glibc does, a table the file gives gets a catch-all row
        // unless it has one: an address no line matches is then ordered
        // as glibc orders it, not as precedence 0 (before nothing).
        for (table, value) in [
            (&mut precedence, CATCH_ALL_PRECEDENCE),
            (&mut label, CATCH_ALL_LABEL),
        ] {
            if let Some(rows) = table {
                if !rows.iter().any(|r| r.len == 0) {
                    rows.push(PolicyEntry::new(Ipv6Addr::UNSPECIFIED, 0, value));
                }
            }
        }
        if let Some(rows) = &mut scopev4 {
            if !rows.iter().any(|r| r.len == 0) {
                rows.push(Scopev4Entry::new(Ipv4Addr::UNSPECIFIED, 0, Scope::Global));
            }
        }
        let (default_precedence, default_label, default_scopev4) = Self::glibc_tables();
        Ok(Self::build(
            "gai.conf",
            precedence.unwrap_or(default_precedence),
            label.unwrap_or(default_label),
            scopev4.unwrap_or(default_scopev4),
            PrefixRule::Rfc6724,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn empty_file_is_glibc_tables() {
        let p = Policy::from_gai_conf("# nothing\n\n   \n").unwrap();
        let g = Policy::glibc();
        assert_eq!(p.name(), "gai.conf");
        assert_eq!(p.precedence_table(), g.precedence_table());
        assert_eq!(p.label_table(), g.label_table());
        assert_eq!(p.scopev4_table(), g.scopev4_table());
    }

    #[test]
    fn error_messages() {
        let cases = [
            ("lable ::/0 1", "unknown keyword \"lable\""),
            ("label", "missing mask"),
            ("label ::/0", "missing label"),
            ("precedence ::/0 1 2", "unexpected extra field \"2\""),
            (
                "precedence 10.0.0.0/8 1",
                "\"10.0.0.0\" is not an IPv6 address",
            ),
            ("precedence ::/x 1", "prefix length \"x\" is not a number"),
            ("precedence ::/ 1", "missing prefix length after \"/\""),
            ("scopev4 ::ffff:0:0/90 1", "prefix length 90 is under 96"),
            ("scopev4 10.0.0.0/33 1", "prefix length 33 is over 32"),
            (
                "scopev4 ::1 1",
                "is not an IPv4 or IPv4-mapped IPv6 address",
            ),
            ("scopev4 10.0.0.0/8 16", "scope 16 is over 15"),
            ("label ::/0 -1", "label \"-1\" is not a number"),
            (
                "label ::/0 2147483648",
                "label 2147483648 is over 2147483647",
            ),
            ("reload maybe", "reload takes yes or no, not \"maybe\""),
            ("reload", "missing yes or no"),
        ];
        for (text, reason) in cases {
            let err = Policy::from_gai_conf(text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("gai.conf line 1: "), "{msg}");
            assert!(msg.contains(reason), "{msg} lacks {reason}");
            assert_eq!(err.line(), 1);
        }
    }

    #[test]
    fn decimal_saturates() {
        assert_eq!(decimal("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
        assert_eq!(decimal("007"), Some(7));
    }
}
