//! The error of a connect: what went wrong overall, with the whole report
//! (every query and every attempt), never only the last error.

use std::fmt;
use std::io;

use crate::report::{AttemptOutcome, ConnectReport};

/// Why a connect failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The host is neither an IP address nor a name a resolver can take.
    InvalidHost,
    /// No query returned an address.
    NoAddresses,
    /// Every candidate was tried and none connected.
    AllAttemptsFailed,
    /// The total timeout passed first.
    TimedOut,
    /// The connector could not set itself up (a runtime, a socket option),
    /// for instance because the process is out of descriptors.
    Setup,
}

/// A failed connect, with the report of everything it tried.
#[derive(Debug)]
pub struct ConnectError {
    kind: ConnectErrorKind,
    detail: Option<String>,
    /// A resolution's error ([`Connector::resolve`](crate::Connector::resolve)),
    /// which names no port.
    resolution: bool,
    report: Box<ConnectReport>,
}

impl ConnectError {
    pub(crate) fn new(
        kind: ConnectErrorKind,
        detail: Option<String>,
        report: ConnectReport,
    ) -> Self {
        Self {
            kind,
            detail,
            resolution: false,
            report: Box::new(report),
        }
    }

    /// The error of a resolution: its message names the host alone.
    pub(crate) fn for_resolution(
        kind: ConnectErrorKind,
        detail: Option<String>,
        report: ConnectReport,
    ) -> Self {
        Self {
            resolution: true,
            ..Self::new(kind, detail, report)
        }
    }

    /// What went wrong overall.
    pub fn kind(&self) -> ConnectErrorKind {
        self.kind
    }

    /// The report: every query and every attempt with its cause.
    pub fn report(&self) -> &ConnectReport {
        &self.report
    }

    /// Takes the report out.
    pub fn into_report(self) -> ConnectReport {
        *self.report
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        if self.resolution {
            write!(f, "cannot resolve {}: ", r.host)?;
        } else {
            write!(f, "cannot connect to {} port {}: ", r.host, r.port)?;
        }
        match self.kind {
            ConnectErrorKind::InvalidHost => f.write_str("invalid host")?,
            ConnectErrorKind::NoAddresses => f.write_str("no addresses")?,
            ConnectErrorKind::AllAttemptsFailed => {
                write!(f, "all {} attempts failed", r.attempts.len())?;
            }
            ConnectErrorKind::TimedOut => {
                write!(f, "timed out after {} ms", r.total.as_millis())?;
            }
            ConnectErrorKind::Setup => f.write_str("the connector could not set itself up")?,
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if !r.attempts.is_empty() {
            f.write_str("; attempts: ")?;
            for (i, a) in r.attempts.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{} {}", a.address, a.outcome)?;
            }
        }
        if !r.queries.is_empty() {
            f.write_str("; queries: ")?;
            for (i, q) in r.queries.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                if !q.sent {
                    write!(f, "{} skipped ({})", q.rtype, q.reason)?;
                } else if let Some(err) = &q.error {
                    write!(f, "{} failed ({err})", q.rtype)?;
                } else if q.elapsed.is_none() {
                    // Still outstanding when the connect ended (the total
                    // timeout came first): no answer, not an empty one.
                    write!(f, "{} unanswered", q.rtype)?;
                } else {
                    write!(f, "{} gave {} address(es)", q.rtype, q.answers.len())?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {}

impl From<ConnectError> for io::Error {
    /// Keeps the whole message; the kind follows the cause (`TimedOut`,
    /// `ConnectionRefused` when every attempt was refused, `NotFound` when
    /// the name had no addresses, `InvalidInput` for a bad host).
    fn from(err: ConnectError) -> Self {
        let kind = match err.kind {
            ConnectErrorKind::InvalidHost => io::ErrorKind::InvalidInput,
            ConnectErrorKind::NoAddresses => io::ErrorKind::NotFound,
            ConnectErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ConnectErrorKind::Setup => io::ErrorKind::Other,
            ConnectErrorKind::AllAttemptsFailed => {
                let attempts = &err.report.attempts;
                if !attempts.is_empty()
                    && attempts
                        .iter()
                        .all(|a| a.outcome == AttemptOutcome::Refused)
                {
                    io::ErrorKind::ConnectionRefused
                } else {
                    io::ErrorKind::Other
                }
            }
        };
        Self::new(kind, err)
    }
}
