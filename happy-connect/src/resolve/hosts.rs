//! The hosts file as [`SystemResolver`](super::SystemResolver) answers from
//! it: the way the C library's `files` source does with `hosts: files dns`.
//!
//! - A name the file lists is answered from the file alone, for both
//!   families: a family the file has no address of for it is a NODATA
//!   answer, never a DNS query (`127.0.0.1 api.example.com` must not be
//!   undone by the AAAA record DNS holds for the name).
//! - The name is matched as given (case-insensitively, a final dot
//!   ignored), before any search-list expansion, so that a short name the
//!   file lists is found whatever `search` and `ndots` say.
//! - Addresses come in file order, each once; a malformed line is skipped,
//!   as the C library skips it, and a line that is not UTF-8 is read with
//!   its bad bytes replaced (a hosts file saved in a legacy code page).
//! - A localhost name (`localhost`, `*.localhost`) the file lists without
//!   an address of the family asked gets that family's loopback address,
//!   as RFC 6761 §6.3 asks (and as hickory answers it): `127.0.0.1
//!   localhost` alone, as many hosts files have it, must not hide `::1`.
//! - A line whose address has a zone (`fe80::1%eth0 printer`) is not in
//!   this table, as the C library does not read it either: the connector
//!   answers such a name itself, with its zone, which an address alone
//!   cannot carry (see `zoned_hosts`), and otherwise the name goes to DNS.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::str::SplitWhitespace;

use super::{RecordType, ResolveError};

/// The system's hosts file.
pub(crate) fn default_path() -> PathBuf {
    #[cfg(windows)]
    {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32\\drivers\\etc\\hosts")
    }
    #[cfg(not(windows))]
    {
        PathBuf::from("/etc/hosts")
    }
}

/// Calls `entry` with each line of hosts-file bytes that holds an entry:
/// its address field as written and its names. Comments and blank lines
/// are skipped; bytes that are not UTF-8 spoil only their line. Both the
/// resolver's table and the connector's zoned entries read the file so.
pub(crate) fn for_each_entry(bytes: &[u8], mut entry: impl FnMut(&str, SplitWhitespace<'_>)) {
    for line in bytes.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        if let Some(addr) = fields.next() {
            entry(addr, fields);
        }
    }
}

/// A name as the hosts file's entries are looked up by: without a final
/// dot, lowercased.
pub(crate) fn name_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The names of one hosts file and their addresses (without zones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostsTable {
    /// Lowercased name to its addresses, in file order.
    names: HashMap<String, Vec<IpAddr>>,
}

impl HostsTable {
    /// The table of hosts-file bytes.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        let mut names: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for_each_entry(bytes, |addr, fields| {
            // A zoned address (`%`) does not parse: the connector's.
            let Ok(ip) = addr.parse::<IpAddr>() else {
                return;
            };
            for name in fields {
                let addrs = names.entry(name_key(name)).or_default();
                if !addrs.contains(&ip) {
                    addrs.push(ip);
                }
            }
        });
        Self { names }
    }

    /// Reads the file at `path`; a missing or unreadable file lists
    /// nothing (every name then goes to DNS), as for the C library.
    pub(crate) fn read(path: &Path) -> Self {
        std::fs::read(path)
            .map(|bytes| Self::parse(&bytes))
            .unwrap_or_default()
    }

    /// The answer for `name` and `rtype` if the file lists `name`: its
    /// addresses of that family, or NODATA.
    pub(crate) fn lookup(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Option<Result<Vec<IpAddr>, ResolveError>> {
        let key = name.strip_suffix('.').unwrap_or(name);
        let addrs = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.names.get(&key.to_ascii_lowercase())
        } else {
            self.names.get(key)
        }?;
        let mut of_family: Vec<IpAddr> =
            addrs.iter().copied().filter(|a| rtype.matches(a)).collect();
        if of_family.is_empty() && is_localhost(key) {
            of_family.push(match rtype {
                RecordType::A => IpAddr::V4(Ipv4Addr::LOCALHOST),
                RecordType::Aaaa => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Some(if of_family.is_empty() {
            Err(ResolveError::NoRecords {
                name: name.to_owned(),
                rtype,
            })
        } else {
            Ok(of_family)
        })
    }
}

/// Whether `name` (without a final dot) is `localhost` or within it (RFC
/// 6761 §6.3).
fn is_localhost(name: &str) -> bool {
    // Bytes, not a str slice: a name may end in characters of several.
    const LOCALHOST: &[u8] = b"localhost";
    let name = name.as_bytes();
    match name.len().checked_sub(LOCALHOST.len()) {
        Some(at) => name[at..].eq_ignore_ascii_case(LOCALHOST) && (at == 0 || name[at - 1] == b'.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_listed_name_is_answered_for_both_families() {
        let table = HostsTable::parse(
            b"127.0.0.1 localhost\n\
              ::1 localhost ip6-localhost\n\
              192.0.2.9 db db.corp.test # the database\n\
              192.0.2.10\tdb\n\
              192.0.2.9 db\n\
              fe80::1%eth0 printer\n\
              # 192.0.2.11 commented\n\
              fe80::2% broken\n\
              999.1.1.1 broken\n",
        );
        assert_eq!(
            table.lookup("DB.", RecordType::A).unwrap().unwrap(),
            ips(&["192.0.2.9", "192.0.2.10"]),
            "file order, each once, the name as DNS would take it"
        );
        assert!(matches!(
            table.lookup("db", RecordType::Aaaa),
            Some(Err(ResolveError::NoRecords {
                rtype: RecordType::Aaaa,
                ..
            }))
        ));
        assert_eq!(
            table
                .lookup("localhost", RecordType::Aaaa)
                .unwrap()
                .unwrap(),
            ips(&["::1"])
        );
        assert_eq!(
            table
                .lookup("db.corp.test", RecordType::A)
                .unwrap()
                .unwrap(),
            ips(&["192.0.2.9"])
        );
        // A zoned entry is not read: the name goes to DNS (unless the
        // connector answers it with its zone).
        for unlisted in ["printer", "commented", "broken", "db.corp", "example.test"] {
            assert!(
                table.lookup(unlisted, RecordType::A).is_none(),
                "{unlisted}"
            );
        }
    }

    /// `127.0.0.1 localhost` alone does not hide `::1`: a localhost name
    /// has its family's loopback address when the file gives none (RFC
    /// 6761); other names get NODATA.
    #[test]
    fn a_localhost_name_has_both_loopbacks() {
        let table =
            HostsTable::parse(b"127.0.0.1 localhost my.localhost notlocalhost\n::1 v6.localhost\n");
        for name in ["localhost", "LOCALHOST.", "my.localhost"] {
            assert_eq!(
                table.lookup(name, RecordType::A).unwrap().unwrap(),
                ips(&["127.0.0.1"])
            );
            assert_eq!(
                table.lookup(name, RecordType::Aaaa).unwrap().unwrap(),
                ips(&["::1"]),
                "{name}"
            );
        }
        assert_eq!(
            table
                .lookup("v6.localhost", RecordType::A)
                .unwrap()
                .unwrap(),
            ips(&["127.0.0.1"])
        );
        assert!(matches!(
            table.lookup("notlocalhost", RecordType::Aaaa),
            Some(Err(ResolveError::NoRecords { .. }))
        ));
        assert!(
            is_localhost("a.b.localhost")
                && !is_localhost("xlocalhost")
                && !is_localhost("localhost.example")
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_spoil_only_their_line() {
        let table = HostsTable::parse(b"# caf\xe9\n192.0.2.1 caf\xe9 cafe\r\n192.0.2.2 next\n");
        assert_eq!(
            table.lookup("cafe", RecordType::A).unwrap().unwrap(),
            ips(&["192.0.2.1"])
        );
        assert_eq!(
            table.lookup("next", RecordType::A).unwrap().unwrap(),
            ips(&["192.0.2.2"])
        );
    }

    #[test]
    fn a_missing_file_lists_nothing() {
        assert_eq!(
            HostsTable::read(Path::new("/nonexistent/hosts")),
            HostsTable::default()
        );
    }
}
