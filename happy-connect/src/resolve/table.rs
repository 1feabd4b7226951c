//! A resolver answering from a fixed table, with injectable faults.
//!
//! The race and the driver are tested against answers that come late, fail
//! or never exist for one family; a table with per-type delays and failures
//! makes those cases deterministic without a network.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;
use std::time::Duration;

use super::{LookupFuture, RecordType, Resolve, ResolveError, literal};
use crate::fnv::Fnv;

/// Answers from a fixed name → addresses table.
///
/// Names match case-insensitively and with or without a final dot. A name
/// not in the table is [`ResolveError::NxDomain`]; a name without addresses
/// of the asked family is [`ResolveError::NoRecords`].
///
/// Delays need a tokio runtime with time enabled.
///
/// ```
/// use happy_connect::resolve::{RecordType, ResolveError, StaticResolver};
///
/// let resolver = StaticResolver::new()
///     .with("v4only.test", &["192.0.2.7".parse()?])
///     .failing(RecordType::Aaaa);
/// # let _ = resolver;
/// # Ok::<_, std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    /// Each name's addresses by family (A, then AAAA), so that an answer
    /// is one copy of the right list. Hashed with FNV-1a: the names are
    /// the program's own.
    hosts: HashMap<String, [Vec<IpAddr>; 2], BuildHasherDefault<Fnv>>,
    /// By record type: A, then AAAA.
    delays: [Option<Duration>; 2],
    failing: Vec<RecordType>,
}

impl StaticResolver {
    /// An empty table: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `addrs` to the addresses of `name`, both families mixed; each
    /// lookup returns those of its family in this order.
    #[must_use]
    pub fn with(mut self, name: &str, addrs: &[IpAddr]) -> Self {
        let families = self.hosts.entry(normalize(name)).or_default();
        for addr in addrs {
            let rtype = if addr.is_ipv4() {
                RecordType::A
            } else {
                RecordType::Aaaa
            };
            families[family_slot(rtype)].push(*addr);
        }
        self
    }

    /// Delays every answer (and failure) for `rtype` by `delay`.
    #[must_use]
    pub fn with_delay(mut self, rtype: RecordType, delay: Duration) -> Self {
        self.delays[family_slot(rtype)] = Some(delay);
        self
    }

    /// Makes every lookup for `rtype` fail with [`ResolveError::Server`],
    /// after the delay if there is one.
    #[must_use]
    pub fn failing(mut self, rtype: RecordType) -> Self {
        if !self.failing.contains(&rtype) {
            self.failing.push(rtype);
        }
        self
    }

    /// The answer, computed now; the delay is applied by the caller.
    fn answer(&self, name: &str, rtype: RecordType) -> Result<Vec<IpAddr>, ResolveError> {
        if self.failing.contains(&rtype) {
            return Err(ResolveError::Server {
                name: name.to_owned(),
                rtype,
                detail: "failure injected by the static resolver".to_owned(),
            });
        }
        if let Some(answer) = literal(name, rtype) {
            return answer;
        }
        // Names are stored normalized; asking with an already normal name
        // (the usual case) needs no copy.
        let stripped = name.strip_suffix('.').unwrap_or(name);
        let found = if stripped.bytes().any(|b| b.is_ascii_uppercase()) {
            self.hosts.get(&normalize(name))
        } else {
            self.hosts.get(stripped)
        };
        let Some(families) = found else {
            return Err(ResolveError::NxDomain {
                name: name.to_owned(),
            });
        };
        match &families[family_slot(rtype)] {
            addrs if addrs.is_empty() => Err(ResolveError::NoRecords {
                name: name.to_owned(),
                rtype,
            }),
            addrs => Ok(addrs.clone()),
        }
    }
}

impl Resolve for StaticResolver {
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
        let answer = self.answer(name, rtype);
        match self.delays[family_slot(rtype)] {
            Some(delay) => LookupFuture::new(async move {
                tokio::time::sleep(delay).await;
                answer
            }),
            None => LookupFuture::ready(answer),
        }
    }
}

/// Where `rtype`'s delay and addresses are kept.
fn family_slot(rtype: RecordType) -> usize {
    match rtype {
        RecordType::A => 0,
        RecordType::Aaaa => 1,
    }
}

/// DNS names are case-insensitive and `name.` is `name`.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn now(lookup: LookupFuture) -> Result<Vec<IpAddr>, ResolveError> {
        let mut lookup = std::pin::pin!(lookup);
        match lookup
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(answer) => answer,
            Poll::Pending => panic!("a table without delays answers at once"),
        }
    }

    /// Addresses given mixed come back by family, each in the order given
    /// across calls to `with`; a family the name lacks is NoRecords.
    #[test]
    fn each_family_answers_its_own_addresses_in_order() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let table = StaticResolver::new()
            .with(
                "mixed.test",
                &[ip("2001:db8::2"), ip("192.0.2.2"), ip("2001:db8::1")],
            )
            .with("Mixed.Test.", &[ip("192.0.2.1")])
            .with("v4.test", &[ip("192.0.2.9")]);
        assert_eq!(
            now(table.lookup("mixed.test", RecordType::A)).unwrap(),
            [ip("192.0.2.2"), ip("192.0.2.1")]
        );
        assert_eq!(
            now(table.lookup("mixed.test", RecordType::Aaaa)).unwrap(),
            [ip("2001:db8::2"), ip("2001:db8::1")]
        );
        assert_eq!(
            now(table.lookup("v4.test", RecordType::Aaaa)),
            Err(ResolveError::NoRecords {
                name: "v4.test".to_owned(),
                rtype: RecordType::Aaaa,
            })
        );
    }

    #[test]
    fn a_table_of_many_names_answers_each_its_own() {
        let mut table = StaticResolver::new();
        let addr = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        for i in 0..2000 {
            table = table.with(&format!("host-{i}.example.test"), &[addr(i)]);
        }
        for i in 0..2000 {
            let name = format!("Host-{i}.Example.Test.");
            assert_eq!(now(table.lookup(&name, RecordType::A)).unwrap(), [addr(i)]);
        }
        assert!(matches!(
            now(table.lookup("host-2000.example.test", RecordType::A)),
            Err(ResolveError::NxDomain { .. })
        ));
    }
}
