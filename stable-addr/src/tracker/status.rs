//! What a [`Tracker`](super::Tracker) says: stable addresses, what is
//! pending and why, what failed.

use std::fmt;
use std::net::IpAddr;

/// An address found stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StableAddr {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name, when the interface is known.
    pub ifname: Option<String>,
    /// The address.
    pub ip: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

impl fmt::Display for StableAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} on ", self.ip, self.prefix_len)?;
        write_iface(f, self.ifindex, self.ifname.as_deref())
    }
}

/// Why something is not stable yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingReason {
    /// No complete dump has been read yet.
    Syncing,
    /// DAD is running.
    Tentative,
    /// Optimistic DAD is running.
    Optimistic,
    /// The address is deprecated, so not preferred.
    Deprecated,
    /// The interface is down (or not known yet).
    InterfaceDown,
    /// The interface does not exist (yet).
    NoInterface,
    /// The interface is up but has no address.
    NoAddress,
    /// The address is not on any interface (yet).
    Absent,
    /// No Teredo address exists (yet).
    NoTeredoAddress,
}

impl PendingReason {
    /// A short lowercase description.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Syncing => "reading the current addresses",
            Self::Tentative => "tentative",
            Self::Optimistic => "optimistic",
            Self::Deprecated => "deprecated",
            Self::InterfaceDown => "interface down",
            Self::NoInterface => "no such interface",
            Self::NoAddress => "no address",
            Self::Absent => "not present",
            Self::NoTeredoAddress => "no teredo address",
        }
    }
}

/// Something a wait is still waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pending {
    /// The interface, when the wait is about one.
    pub ifindex: Option<u32>,
    /// The interface name, when known.
    pub ifname: Option<String>,
    /// The address, when the wait is about one.
    pub ip: Option<IpAddr>,
    /// Why it is not stable.
    pub reason: PendingReason,
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.ifindex) {
            (Some(ip), Some(index)) => {
                write!(f, "{ip} on ")?;
                write_iface(f, index, self.ifname.as_deref())?;
            }
            (Some(ip), None) => write!(f, "{ip}")?,
            (None, Some(index)) => {
                f.write_str("interface ")?;
                write_iface(f, index, self.ifname.as_deref())?;
            }
            (None, None) => match &self.ifname {
                Some(name) => write!(f, "interface {name}")?,
                None => return f.write_str(self.reason.as_str()),
            },
        }
        write!(f, " ({})", self.reason.as_str())
    }
}

/// Why a wait cannot succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// Duplicate address detection found the address in use elsewhere.
    DadFailed,
    /// The interface waited on was removed (or renamed away).
    InterfaceRemoved,
}

/// Something that ended a wait without success.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Failure {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name, when known.
    pub ifname: Option<String>,
    /// The address, for a DAD failure.
    pub ip: Option<IpAddr>,
    /// What went wrong.
    pub reason: FailureReason,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reason, self.ip) {
            (FailureReason::DadFailed, Some(ip)) => {
                write!(f, "{ip} on ")?;
                write_iface(f, self.ifindex, self.ifname.as_deref())?;
                f.write_str(" (duplicate address)")
            }
            _ => {
                f.write_str("interface ")?;
                write_iface(f, self.ifindex, self.ifname.as_deref())?;
                f.write_str(match self.reason {
                    FailureReason::DadFailed => " (duplicate address)",
                    FailureReason::InterfaceRemoved => " (removed)",
                })
            }
        }
    }
}

/// `name (index N)`, or `index N` when the name is unknown.
fn write_iface(f: &mut fmt::Formatter<'_>, index: u32, name: Option<&str>) -> fmt::Result {
    match name {
        Some(name) => write!(f, "{name} (index {index})"),
        None => write!(f, "index {index}"),
    }
}

/// What a filter's addresses amount to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Everything waited for is stable; these are the stable addresses of
    /// interest (empty only for [`Filter::All`](super::Filter::All) on a
    /// host with none).
    Stable(Vec<StableAddr>),
    /// Still waiting for these (never empty).
    Pending(Vec<Pending>),
    /// The wait cannot succeed (never empty).
    Failed(Vec<Failure>),
}

impl Status {
    /// Whether the status is [`Status::Stable`].
    pub const fn is_stable(&self) -> bool {
        matches!(self, Self::Stable(_))
    }
}
