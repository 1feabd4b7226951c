//! [`StableTable`]: the stable addresses a successful wait returns.

use std::net::IpAddr;
use std::slice;
use std::vec;

use crate::tracker::StableAddr;

/// The stable addresses of interest when a wait succeeded, ordered by
/// interface index then address (the `MIB_UNICASTIPADDRESS_TABLE` that
/// `NotifyStableUnicastIpAddressTable` hands back).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StableTable {
    addrs: Vec<StableAddr>,
}

impl StableTable {
    /// A table of these addresses.
    pub const fn new(addrs: Vec<StableAddr>) -> Self {
        Self { addrs }
    }

    /// The addresses.
    pub fn addresses(&self) -> &[StableAddr] {
        &self.addrs
    }

    /// The addresses, owned.
    pub fn into_vec(self) -> Vec<StableAddr> {
        self.addrs
    }

    /// How many addresses.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Whether `ip` is among them.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.ip == ip)
    }

    /// Iterates over the addresses.
    pub fn iter(&self) -> slice::Iter<'_, StableAddr> {
        self.addrs.iter()
    }
}

impl IntoIterator for StableTable {
    type Item = StableAddr;
    type IntoIter = vec::IntoIter<StableAddr>;

    fn into_iter(self) -> Self::IntoIter {
        self.addrs.into_iter()
    }
}

impl<'a> IntoIterator for &'a StableTable {
    type Item = &'a StableAddr;
    type IntoIter = slice::Iter<'a, StableAddr>;

    fn into_iter(self) -> Self::IntoIter {
        self.addrs.iter()
    }
}
