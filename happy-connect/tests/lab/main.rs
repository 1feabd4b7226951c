//! End-to-end tests in the real Teredo lab (`cargo xtask lab test`): Miredo
//! clients qualified by a Miredo server, dnsmasq, native IPv6 and a router
//! that can blackhole a path, all in network namespaces; and in its NAT64
//! part (`nat64_lab_scenarios`): an IPv6-only client behind tayga, unbound
//! as DNS64, PREF64 Router Advertisements, an IPv4-only server.
//!
//! Each test reads the lab's state file named by `$HAPPY_CONNECT_LAB` and
//! fails (it does not skip) without it. Run one at a time
//! (`--test-threads=1`): test 5 changes the router's rules and test 6
//! restarts t1's Miredo.

#![cfg(target_os = "linux")]

mod lab_scenarios;
mod nat64_lab_scenarios;
mod support;
