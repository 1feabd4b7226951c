//! Integration tests for `rfc3484-sort`: the RFC examples, the built-in
//! tables, `gai.conf` files, and properties of the sort.

mod gai_conf;
mod policies;
mod props;
mod vectors;

use std::net::IpAddr;

use rfc3484_sort::{Destination, Policy, SourceAttrs};

/// Parses an address literal; the tests only pass valid ones.
pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A destination reached from `source` with default attributes.
pub(crate) fn dest(addr: &str, source: &str) -> Destination {
    Destination::with_source(ip(addr), ip(source), SourceAttrs::default())
}

/// A destination reached from `source` through a tunnel.
pub(crate) fn tunnelled(addr: &str, source: &str) -> Destination {
    let attrs = SourceAttrs {
        tunnel: true,
        ..SourceAttrs::default()
    };
    Destination::with_source(ip(addr), ip(source), attrs)
}

/// The addresses of a list of destinations, as strings.
pub(crate) fn addrs(dests: &[Destination]) -> Vec<String> {
    dests.iter().map(|d| d.addr.to_string()).collect()
}

/// RFC 3484 §10.3's "prefer IPv4" policy: the RFC 3484 table with
/// `::ffff:0:0/96` at precedence 100, written as a `gai.conf`.
pub(crate) const RFC3484_PREFER_IPV4: &str = "\
# RFC 3484 section 10.3: the default table, IPv4 raised to 100.
label      ::1/128        0
label      ::/0           1
label      2002::/16      2
label      ::/96          3
label      ::ffff:0:0/96  4
precedence ::1/128        50
precedence ::/0           40
precedence 2002::/16      30
precedence ::/96          20
precedence ::ffff:0:0/96  100
# RFC 3484 section 3.2 IPv4 scopes.
scopev4    10.0.0.0/8      5
scopev4    172.16.0.0/12   5
scopev4    192.168.0.0/16  5
scopev4    127.0.0.0/8     2
scopev4    169.254.0.0/16  2
scopev4    0.0.0.0/0       14
";

/// The policy an example file names.
pub(crate) fn policy_named(name: &str) -> Policy {
    match name {
        "rfc6724" => Policy::rfc6724(),
        "rfc3484" => Policy::rfc3484(),
        "windows" => Policy::windows(),
        "glibc" => Policy::glibc(),
        "rfc3484-prefer-ipv4" => {
            Policy::from_gai_conf(RFC3484_PREFER_IPV4).unwrap_or_else(|e| panic!("{e}"))
        }
        other => panic!("unknown policy {other}"),
    }
}
