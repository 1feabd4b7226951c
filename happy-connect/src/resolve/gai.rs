//! The system's `getaddrinfo`, one address family per call: the C
//! library's `getaddrinfo(3)` on Unix (`gai/unix.rs`), Winsock's
//! `GetAddrInfoW` on Windows (`gai/windows.rs`).
//!
//! Some hosts get names from NSS modules (mDNS, LDAP, systemd-resolved's
//! synthesized names, container DNS set up through nsswitch.conf) that only
//! the C library knows how to ask, and Windows from its own name
//! resolution (hosts file, DNS client, LLMNR); this resolver reaches them.
//! It asks for one family (`AF_INET` or `AF_INET6`) per call so that the A
//! and AAAA questions still run in parallel, and leaves `AI_ADDRCONFIG` off
//! because that flag would let the system refuse the IPv6 question on a
//! host whose only IPv6 is Teredo or link-local: whether to ask is the
//! caller's decision, made with better knowledge.
//!
//! `getaddrinfo` blocks, so each call runs on tokio's blocking pool.

use std::io;
use std::net::IpAddr;

use super::{LookupFuture, RecordType, Resolve, ResolveError, dedup, literal};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix::getaddrinfo;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows::getaddrinfo;

/// The answer made of the addresses one `getaddrinfo` call listed, in its
/// order: each once, of the asked family only (the hint should already
/// ensure it), and none at all a [`ResolveError::NoRecords`].
fn answer(
    name: &str,
    rtype: RecordType,
    mut addrs: Vec<IpAddr>,
) -> Result<Vec<IpAddr>, ResolveError> {
    dedup(&mut addrs);
    addrs.retain(|addr| rtype.matches(addr));
    if addrs.is_empty() {
        return Err(ResolveError::NoRecords {
            name: name.to_owned(),
            rtype,
        });
    }
    Ok(addrs)
}

/// Lookups through the system's `getaddrinfo`, following
/// `/etc/nsswitch.conf` on Unix and Windows' own name resolution there.
///
/// Each lookup takes a thread of tokio's blocking pool for as long as the
/// system needs (its own timeouts apply: dropping the future does not
/// stop the call). Lookups must run inside a tokio runtime.
///
/// With a DNS search list, each family's call walks the list on its own:
/// the IPv6 answer for an IPv4-only `www.example.com` may come from
/// `www.example.com.corp.example` (a wildcard there, say), where one
/// `AF_UNSPEC` call would have stopped at the first name. For DNS names,
/// [`SystemResolver`](super::SystemResolver) takes both families from one
/// name.
#[derive(Clone, Copy, Debug, Default)]
pub struct GaiResolver;

impl GaiResolver {
    /// The resolver; it has no state.
    pub fn new() -> Self {
        Self
    }
}

impl Resolve for GaiResolver {
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
        if let Some(answer) = literal(name, rtype) {
            return LookupFuture::ready(answer);
        }
        let name = name.to_owned();
        LookupFuture::new(async move {
            let task_name = name.clone();
            match tokio::task::spawn_blocking(move || getaddrinfo(&task_name, rtype)).await {
                Ok(answer) => answer,
                Err(join) => Err(ResolveError::Io(io::Error::other(format!(
                    "{rtype} lookup of {name}: the getaddrinfo task failed: {join}"
                )))),
            }
        })
    }
}
