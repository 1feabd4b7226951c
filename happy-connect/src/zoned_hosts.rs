//! Link-local addresses with their zone in the hosts file
//! (`fe80::1%eth0 printer.lan`): the one kind of hosts entry a DNS stub
//! resolver cannot hand back, since an address without its zone cannot
//! be connected to. The connector answers such names itself.

use std::net::Ipv6Addr;
use std::path::Path;

pub(crate) use crate::resolve::hosts::default_path;
use crate::resolve::hosts::{for_each_entry, name_key};

/// One zoned entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// A name of the entry, lowercased.
    name: String,
    ip: Ipv6Addr,
    /// The zone as written: an interface name or index.
    zone: String,
}

/// The zoned entries of one hosts file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ZonedHosts {
    entries: Vec<Entry>,
}

impl ZonedHosts {
    /// The zoned entries of hosts-file bytes; every other line is left to
    /// the resolver (and a malformed one is ignored, as the C library
    /// ignores it).
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        let mut entries = Vec::new();
        for_each_entry(bytes, |addr, fields| {
            let Some((ip, zone)) = addr.split_once('%') else {
                return;
            };
            let (Ok(ip), false) = (ip.parse::<Ipv6Addr>(), zone.is_empty()) else {
                return;
            };
            for name in fields {
                entries.push(Entry {
                    name: name_key(name),
                    ip,
                    zone: zone.to_owned(),
                });
            }
        });
        Self { entries }
    }

    /// Reads the file; a missing or unreadable file has no entries, and
    /// bytes that are not UTF-8 spoil only their line.
    pub(crate) fn read(path: &Path) -> Self {
        std::fs::read(path)
            .map(|bytes| Self::parse(&bytes))
            .unwrap_or_default()
    }

    /// The zoned addresses of `name` (case-insensitively, a trailing dot
    /// ignored), in file order.
    pub(crate) fn lookup<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (Ipv6Addr, &'a str)> + 'a {
        let name = name.trim_end_matches('.');
        self.entries
            .iter()
            .filter(move |e| e.name.eq_ignore_ascii_case(name))
            .map(|e| (e.ip, e.zone.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_zoned_entries_are_kept() {
        let hosts = ZonedHosts::parse(
            b"127.0.0.1 localhost\n\
             fe80::1%eth0 printer printer.lan # the office printer\n\
             # fe80::2%eth0 commented\n\
             fe80::3%7\tnas\n\
             fe80::4% broken\n\
             zz%eth0 broken\n\
             ::1 localhost6\n\
             fe80::5%eth0 dotted.lan.\n",
        );
        assert_eq!(
            hosts.lookup("dotted.lan").count(),
            1,
            "a final dot in the file too"
        );
        let got: Vec<_> = hosts.lookup("PRINTER.lan.").collect();
        assert_eq!(got, [("fe80::1".parse().unwrap(), "eth0")]);
        assert_eq!(hosts.lookup("nas").count(), 1);
        assert_eq!(hosts.lookup("localhost").count(), 0);
        assert_eq!(hosts.lookup("broken").count(), 0);
        assert_eq!(hosts.lookup("commented").count(), 0);
    }

    #[test]
    fn a_file_that_is_not_utf8_keeps_its_good_lines() {
        let path = std::env::temp_dir().join(format!("hc-zoned-{}", std::process::id()));
        std::fs::write(&path, b"fe80::1%1 printer\n# caf\xe9\n").unwrap();
        let hosts = ZonedHosts::read(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(hosts.lookup("printer").count(), 1);
    }

    #[test]
    fn a_missing_file_is_empty() {
        assert_eq!(
            ZonedHosts::read(Path::new("/nonexistent/hosts")),
            ZonedHosts::default()
        );
    }
}
