//! The one error type of every resolver.
//!
//! Each source (hickory, getaddrinfo, the static table) has its own error
//! vocabulary; the race only needs to know which of a few things happened
//! (the name does not exist, it has no address of this family, the server
//! failed or did not answer) to decide whether to wait for the other
//! family, and the user needs a message that says which name and which
//! query. So every source is mapped onto these variants.

use std::{error, fmt, io};

use super::RecordType;

/// Why a lookup failed.
///
/// The `Display` text is lowercase, names the host and (where there is one)
/// the record type, and says what happened, so it can be shown as is.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResolveError {
    /// The name exists but has no records of this type (a NODATA answer):
    /// the other family may still have some.
    NoRecords {
        /// The name looked up.
        name: String,
        /// The record type asked for.
        rtype: RecordType,
    },
    /// The name does not exist at all (NXDOMAIN): no record type will have
    /// an answer.
    NxDomain {
        /// The name looked up.
        name: String,
    },
    /// No answer came within the configured timeout and attempts.
    Timeout {
        /// The name looked up.
        name: String,
        /// The record type asked for.
        rtype: RecordType,
    },
    /// The server (or the system's resolver) failed to answer: SERVFAIL,
    /// REFUSED, a malformed response, a temporary failure.
    Server {
        /// The name looked up.
        name: String,
        /// The record type asked for.
        rtype: RecordType,
        /// What went wrong, in lowercase words.
        detail: String,
    },
    /// The name cannot be looked up at all: it is not a valid DNS name or
    /// contains a NUL byte.
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it is not valid.
        detail: String,
    },
    /// The resolver configuration could not be read or understood.
    Config {
        /// The file at fault, e.g. `/etc/resolv.conf`.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A local I/O error, outside any one query (e.g. the blocking pool is
    /// gone). Its message already says which lookup it stopped.
    Io(io::Error),
}

impl ResolveError {
    /// The host name the failed lookup was for, if the error is about one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::NoRecords { name, .. }
            | Self::NxDomain { name }
            | Self::Timeout { name, .. }
            | Self::Server { name, .. }
            | Self::InvalidName { name, .. } => Some(name),
            Self::Config { .. } | Self::Io(_) => None,
        }
    }

    /// The record type the failed lookup asked for, if the error is about
    /// one query.
    pub fn record_type(&self) -> Option<RecordType> {
        match self {
            Self::NoRecords { rtype, .. }
            | Self::Timeout { rtype, .. }
            | Self::Server { rtype, .. } => Some(*rtype),
            Self::NxDomain { .. }
            | Self::InvalidName { .. }
            | Self::Config { .. }
            | Self::Io(_) => None,
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRecords { name, rtype } => write!(f, "no {rtype} records for {name}"),
            Self::NxDomain { name } => write!(f, "{name}: no such domain (nxdomain)"),
            Self::Timeout { name, rtype } => write!(f, "{rtype} lookup of {name} timed out"),
            Self::Server {
                name,
                rtype,
                detail,
            } => write!(f, "{rtype} lookup of {name} failed: {detail}"),
            Self::InvalidName { name, detail } => {
                write!(f, "cannot look up {name:?}: {detail}")
            }
            Self::Config { path, detail } => {
                write!(f, "resolver configuration {path}: {detail}")
            }
            // The inner error's text is part of this message, so it is not
            // also returned by `source()` (which would print it twice).
            Self::Io(err) => write!(f, "i/o error: {err}"),
        }
    }
}

impl error::Error for ResolveError {}

impl Clone for ResolveError {
    /// A copy; an [`Io`](Self::Io) error is copied as its kind and message
    /// (an `io::Error` cannot be cloned).
    fn clone(&self) -> Self {
        match self {
            Self::NoRecords { name, rtype } => Self::NoRecords {
                name: name.clone(),
                rtype: *rtype,
            },
            Self::NxDomain { name } => Self::NxDomain { name: name.clone() },
            Self::Timeout { name, rtype } => Self::Timeout {
                name: name.clone(),
                rtype: *rtype,
            },
            Self::Server {
                name,
                rtype,
                detail,
            } => Self::Server {
                name: name.clone(),
                rtype: *rtype,
                detail: detail.clone(),
            },
            Self::InvalidName { name, detail } => Self::InvalidName {
                name: name.clone(),
                detail: detail.clone(),
            },
            Self::Config { path, detail } => Self::Config {
                path: path.clone(),
                detail: detail.clone(),
            },
            Self::Io(err) => Self::Io(io::Error::new(err.kind(), err.to_string())),
        }
    }
}

impl PartialEq for ResolveError {
    /// The same variant with the same fields; two [`Io`](Self::Io) errors
    /// are equal when their kinds and messages are.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Io(a), Self::Io(b)) => a.kind() == b.kind() && a.to_string() == b.to_string(),
            (Self::NoRecords { name, rtype }, Self::NoRecords { name: n, rtype: r })
            | (Self::Timeout { name, rtype }, Self::Timeout { name: n, rtype: r }) => {
                name == n && rtype == r
            }
            (Self::NxDomain { name }, Self::NxDomain { name: n }) => name == n,
            (
                Self::Server {
                    name,
                    rtype,
                    detail,
                },
                Self::Server {
                    name: n,
                    rtype: r,
                    detail: d,
                },
            ) => name == n && rtype == r && detail == d,
            (Self::InvalidName { name, detail }, Self::InvalidName { name: n, detail: d })
            | (Self::Config { path: name, detail }, Self::Config { path: n, detail: d }) => {
                name == n && detail == d
            }
            _ => false,
        }
    }
}

impl Eq for ResolveError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies are equal to what they copy; an I/O error keeps its kind and
    /// message.
    #[test]
    fn clones_are_equal() {
        let errors = [
            ResolveError::NoRecords {
                name: "a.test".into(),
                rtype: RecordType::Aaaa,
            },
            ResolveError::NxDomain {
                name: "a.test".into(),
            },
            ResolveError::Server {
                name: "a.test".into(),
                rtype: RecordType::A,
                detail: "servfail".into(),
            },
            ResolveError::Io(io::Error::new(io::ErrorKind::OutOfMemory, "no room")),
        ];
        for e in &errors {
            assert_eq!(e.clone(), *e, "{e}");
            assert_eq!(e.clone().to_string(), e.to_string());
        }
        assert_ne!(errors[0], errors[1]);
        let io = ResolveError::Io(io::Error::other("x"));
        assert_ne!(io, ResolveError::Io(io::Error::other("y")));
        assert!(
            matches!(errors[3].clone(), ResolveError::Io(e) if e.kind() == io::ErrorKind::OutOfMemory)
        );
    }

    #[test]
    fn display_names_host_and_type() {
        let e = ResolveError::Timeout {
            name: "example.test".into(),
            rtype: RecordType::Aaaa,
        };
        assert_eq!(e.to_string(), "AAAA lookup of example.test timed out");
        assert_eq!(e.name(), Some("example.test"));
        assert_eq!(e.record_type(), Some(RecordType::Aaaa));

        let e = ResolveError::Server {
            name: "example.test".into(),
            rtype: RecordType::A,
            detail: "server answered SERVFAIL".into(),
        };
        assert_eq!(
            e.to_string(),
            "A lookup of example.test failed: server answered SERVFAIL"
        );
        let e = ResolveError::NoRecords {
            name: "v4only.test".into(),
            rtype: RecordType::Aaaa,
        };
        assert_eq!(e.to_string(), "no AAAA records for v4only.test");
        let e = ResolveError::NxDomain {
            name: "nope.test".into(),
        };
        assert_eq!(e.to_string(), "nope.test: no such domain (nxdomain)");
        assert_eq!(e.record_type(), None);
    }
}
