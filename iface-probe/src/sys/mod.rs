//! The operating-system edge: the netlink socket on Linux, an
//! `Unsupported` error elsewhere.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::{EventSocket, RouteSocket, capture};

#[cfg(not(target_os = "linux"))]
mod unsupported;
#[cfg(not(target_os = "linux"))]
pub(crate) use unsupported::{EventSocket, RouteSocket, capture};
