//! The rows of Windows' stable unicast address table as plain values,
//! and the pure function that makes a [`StableTable`] of them.
//!
//! `sys/windows.rs` copies the fields it needs out of each
//! `MIB_UNICASTIPADDRESS_ROW` that `NotifyStableUnicastIpAddressTable`
//! hands back; what they mean is decided here, compiled and tested on
//! every platform.

use std::net::IpAddr;

use crate::table::StableTable;
use crate::tracker::StableAddr;

/// `IpDadStatePreferred` (`NL_DAD_STATE`): the address is usable.
pub(crate) const DAD_STATE_PREFERRED: i32 = 4;

/// What is read of one `MIB_UNICASTIPADDRESS_ROW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StableRow {
    /// `InterfaceIndex`.
    pub(crate) ifindex: u32,
    /// `Address`.
    pub(crate) ip: IpAddr,
    /// `OnLinkPrefixLength`.
    pub(crate) prefix_len: u8,
    /// `DadState`, an `NL_DAD_STATE` value.
    pub(crate) dad_state: i32,
}

/// The table a wait returns: the preferred rows, ordered by interface
/// index then address, each named by `name` where it knows the
/// interface. Windows hands back the whole table once no address is
/// tentative any more; deprecated (and other non-preferred) rows are left
/// out, as the host view's `Filter::All` leaves them out, so both paths
/// return the same addresses.
pub(crate) fn table(rows: &[StableRow], name: impl Fn(u32) -> Option<String>) -> StableTable {
    let mut addrs: Vec<StableAddr> = rows
        .iter()
        .filter(|r| r.dad_state == DAD_STATE_PREFERRED)
        .map(|r| StableAddr {
            ifindex: r.ifindex,
            ifname: name(r.ifindex),
            ip: r.ip,
            prefix_len: r.prefix_len,
        })
        .collect();
    addrs.sort_by_key(|a| (a.ifindex, a.ip));
    addrs.dedup_by(|a, b| (a.ifindex, a.ip) == (b.ifindex, b.ip));
    StableTable::new(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ifindex: u32, ip: &str, prefix_len: u8, dad_state: i32) -> StableRow {
        StableRow {
            ifindex,
            ip: ip.parse().unwrap(),
            prefix_len,
            dad_state,
        }
    }

    #[test]
    fn preferred_rows_in_index_then_address_order() {
        let rows = [
            row(
                14,
                "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                32,
                DAD_STATE_PREFERRED,
            ),
            row(12, "192.0.2.45", 24, DAD_STATE_PREFERRED),
            row(1, "::1", 128, DAD_STATE_PREFERRED),
            row(1, "127.0.0.1", 8, DAD_STATE_PREFERRED),
            // Deprecated, duplicate and invalid rows are not stable
            // addresses of interest.
            row(12, "2001:db8::9", 64, 3),
            row(12, "2001:db8::8", 64, 2),
            row(12, "2001:db8::7", 64, 0),
        ];
        let names = |index| (index == 12).then(|| "Wi-Fi".to_owned());
        let table = table(&rows, names);
        let got: Vec<(u32, String, Option<&str>)> = table
            .iter()
            .map(|a| (a.ifindex, a.ip.to_string(), a.ifname.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "127.0.0.1".to_owned(), None),
                (1, "::1".to_owned(), None),
                (12, "192.0.2.45".to_owned(), Some("Wi-Fi")),
                (14, "2001:0:4136:e378:8000:63bf:3fff:fdd2".to_owned(), None),
            ]
        );
        assert_eq!(table.addresses()[3].prefix_len, 32);
        assert!(!table.contains("2001:db8::9".parse().unwrap()));
    }

    #[test]
    fn an_empty_table_is_stable_and_empty() {
        assert!(table(&[], |_| None).is_empty());
    }
}
