//! Network namespaces for the workspace's root tests, and the Teredo lab's
//! state.
//!
//! A [`Netns`] is created with `ip netns add` (loopback up), deleted by its
//! `Drop` (so a failing assertion still cleans up, and the namespace takes
//! its interfaces and nft tables along), and entered by [`Netns::run`],
//! which runs a closure on a scoped thread that has called `setns(2)`: the
//! sockets, netlink sockets included, that the closure opens live in the
//! namespace. [`Netns::spawn`] does the same on a thread that outlives the
//! call (a listener, say), and [`Netns::command`] runs a program there
//! with `ip netns exec`. [`Netns::existing`] takes a namespace someone
//! else made (the lab's) by its name, and leaves it in place on drop.
//!
//! Creating or entering a namespace needs root. Without it [`Netns::new`]
//! panics with a message that says so: a root test fails, it never skips,
//! so a CI run that lost its privileges is noticed.
//!
//! The harness shells out to `ip` and `nft` to build the test's world; the
//! libraries under test never do. It also holds the fixtures several
//! crates' tests share: veth pairs, a `tun` device held open (so that it
//! has a carrier, as when Miredo runs) and configured as Miredo configures
//! its Teredo interface, an nftables blackhole, and Router Advertisements
//! sent by hand ([`ra`]).
//!
//! [`lab`] is the state of the Teredo lab that `cargo xtask lab up` builds
//! (its namespaces, addresses, DNS names and processes), written by xtask
//! and read by the lab's tests: one type for both.
//!
//! The namespaces are Linux only; [`lab`] is plain data and builds
//! everywhere.
//!
//! ```no_run
//! # #[cfg(target_os = "linux")] {
//! use netns_harness::Netns;
//!
//! let ns = Netns::new("ex");
//! ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
//! let inside = ns.run(|| std::net::TcpListener::bind("127.0.0.1:0").is_ok());
//! assert!(inside);
//! # }
//! ```

// Elsewhere only `lab` is built, and the links to the namespaces lead
// nowhere.
#![cfg_attr(not(target_os = "linux"), allow(rustdoc::broken_intra_doc_links))]

pub mod lab;
#[cfg(target_os = "linux")]
mod netns;
#[cfg(target_os = "linux")]
pub mod ra;

#[cfg(target_os = "linux")]
pub use netns::{HeldTun, Netns, ip_in, require_root, run};
