//! [`WaitError`]: why a wait ended without a stable table.

use std::error::Error;
use std::fmt;
use std::io;

use crate::tracker::{Failure, FailureReason, Pending};

/// Why [`wait_stable`](crate::wait_stable) gave up.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaitError {
    /// The timeout ran out with these still pending.
    Timeout {
        /// What was still pending.
        pending: Vec<Pending>,
    },
    /// Duplicate address detection failed for these addresses.
    DadFailed {
        /// The addresses found duplicate (never empty).
        failed: Vec<Failure>,
    },
    /// The interface waited on was removed mid-wait.
    InterfaceRemoved {
        /// The interface.
        interface: Failure,
    },
    /// The host could not be read (the host view is unavailable, or the
    /// platform is unsupported: [`io::ErrorKind::Unsupported`]).
    Io(io::Error),
}

impl WaitError {
    /// The error for a failed status (`failed` non-empty).
    pub(crate) fn from_failures(mut failed: Vec<Failure>) -> Self {
        match failed
            .iter()
            .position(|f| f.reason == FailureReason::InterfaceRemoved)
        {
            Some(i) => Self::InterfaceRemoved {
                interface: failed.swap_remove(i),
            },
            None => Self::DadFailed { failed },
        }
    }
}

/// Writes `items` separated by commas.
fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { pending } => {
                f.write_str("timed out waiting for stable addresses; pending: ")?;
                write_list(f, pending)
            }
            Self::DadFailed { failed } => {
                f.write_str("duplicate address detection failed: ")?;
                write_list(f, failed)
            }
            Self::InterfaceRemoved { interface } => {
                write!(f, "interface removed while waiting: {interface}")
            }
            Self::Io(e) => write!(f, "cannot read the host: {e}"),
        }
    }
}

impl Error for WaitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WaitError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}
