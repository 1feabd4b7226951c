//! The operating-system edge of this crate, where the system itself
//! answers better than the host view: on Windows,
//! `NotifyStableUnicastIpAddressTable` for [`Filter::All`](crate::Filter::All).
//! Every other wait, on every system, follows iface-probe's host view.

#[cfg(windows)]
pub(crate) mod windows;
