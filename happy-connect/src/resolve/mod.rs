//! Name resolution, one address family per call.
//!
//! Connecting by name starts with the A and AAAA queries. RFC 8305 §3 asks
//! for both to be sent at once and for each answer to be used the moment it
//! arrives: a slow or lost AAAA answer must not hold back the IPv4
//! connection attempts, and a host whose only IPv6 is Teredo should not
//! send the AAAA query at all. A resolver that returns both families
//! together (`getaddrinfo` with `AF_UNSPEC`, hickory's `lookup_ip`) hides
//! exactly what the race needs to see, so [`Resolve::lookup`] answers for
//! one [`RecordType`] at a time and the caller runs the two futures side by
//! side.
//!
//! Three resolvers are provided:
//!
//! - [`SystemResolver`]: DNS through hickory-resolver with the system's
//!   `/etc/resolv.conf` and `/etc/hosts`, or with name servers of your own.
//! - [`GaiResolver`]: the C library's `getaddrinfo`, one family per call,
//!   for hosts whose names come from NSS modules (mDNS, LDAP, …).
//! - [`StaticResolver`]: a fixed table with injectable delays and failures,
//!   for tests.
//!
//! Every resolver answers a literal IP address itself, without a query: the
//! connect driver never sends one, but a resolver used on its own should not
//! turn `"192.0.2.1"` into a DNS lookup.
//!
//! # Examples
//!
//! Ask for both families at once and see the IPv4 answer first while the
//! IPv6 one is slow:
//!
//! ```
//! use std::time::Duration;
//!
//! use happy_connect::resolve::{RecordType, Resolve, StaticResolver};
//!
//! let resolver = StaticResolver::new()
//!     .with("example.test", &["192.0.2.1".parse()?, "2001:db8::1".parse()?])
//!     .with_delay(RecordType::Aaaa, Duration::from_millis(50));
//!
//! let rt = tokio::runtime::Builder::new_current_thread()
//!     .enable_time()
//!     .build()?;
//! rt.block_on(async {
//!     let mut v4 = resolver.lookup("example.test", RecordType::A);
//!     let mut v6 = resolver.lookup("example.test", RecordType::Aaaa);
//!     // The A answer arrives while the AAAA one is still on its way.
//!     let first = tokio::select! {
//!         a = &mut v4 => (RecordType::A, a?),
//!         aaaa = &mut v6 => (RecordType::Aaaa, aaaa?),
//!     };
//!     assert_eq!(first, (RecordType::A, vec!["192.0.2.1".parse()?]));
//!     assert_eq!(v6.await?, ["2001:db8::1".parse::<std::net::IpAddr>()?]);
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

mod error;
// The only module of the crate that needs `unsafe`: the FFI calls to
// getaddrinfo(3). Every block there carries its own `// SAFETY:` comment.
#[allow(unsafe_code)]
mod gai;
pub(crate) mod hosts;
mod search;
mod system;
mod table;

pub use error::ResolveError;
pub use gai::GaiResolver;
pub use system::{ResolverOptions, SystemResolver};
pub use table::StaticResolver;

/// The address record a lookup asks for: one family per query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// An IPv4 address record (RFC 1035).
    A,
    /// An IPv6 address record (RFC 3596).
    Aaaa,
}

impl RecordType {
    /// Whether `addr` belongs to the family this record type returns.
    pub fn matches(self, addr: &IpAddr) -> bool {
        match self {
            Self::A => addr.is_ipv4(),
            Self::Aaaa => addr.is_ipv6(),
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
        })
    }
}

/// What a lookup gives: the addresses of one family, in the order the
/// source gave them, or why there are none.
pub type LookupResult = Result<Vec<IpAddr>, ResolveError>;

/// The future of one lookup: the addresses of one family, in the order the
/// source gave them (sorting is the caller's job, RFC 6724).
///
/// An answer known at once (an IP literal, a table, a hosts file, a
/// cache) is [`LookupFuture::ready`] and costs no allocation; a lookup
/// that waits is [`LookupFuture::new`], boxed. Either way it is `'static`,
/// so that the caller can spawn it or keep the A and AAAA lookups in one
/// collection, and `Send`, so that it can move to any worker thread.
///
/// When every answer of a connect is in as soon as its queries are sent
/// and they bring one address, the connector makes its one attempt
/// without running the race (the report is the same). An answer is in
/// when its lookup is [`LookupFuture::ready`], or when its future answers
/// at its first poll, which a connect made inside a tokio task gives it
/// at once (a hit in hickory's cache answers there, for
/// [`SystemResolver`]). A resolver with a cache of its own gains most by
/// answering a hit with [`LookupFuture::ready`]: no allocation, no poll.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use happy_connect::resolve::{LookupFuture, RecordType, Resolve};
///
/// /// Every name is 192.0.2.1, after a moment's thought.
/// struct Slow;
///
/// impl Resolve for Slow {
///     fn lookup(&self, _name: &str, _rtype: RecordType) -> LookupFuture {
///         LookupFuture::new(async {
///             tokio::time::sleep(std::time::Duration::from_millis(5)).await;
///             Ok(vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))])
///         })
///     }
/// }
/// ```
#[must_use = "a lookup does nothing unless polled"]
pub struct LookupFuture(Lookup);

enum Lookup {
    /// The answer, until it is taken.
    Ready(Option<LookupResult>),
    Pending(Pin<Box<dyn Future<Output = LookupResult> + Send + 'static>>),
}

impl LookupFuture {
    /// A lookup whose answer is known already: no allocation, and the
    /// first poll gives it.
    pub fn ready(answer: LookupResult) -> Self {
        Self(Lookup::Ready(Some(answer)))
    }

    /// A lookup that runs `future`.
    pub fn new(future: impl Future<Output = LookupResult> + Send + 'static) -> Self {
        Self(Lookup::Pending(Box::pin(future)))
    }

    /// The answer, if the lookup has it without waiting: a
    /// [`LookupFuture::ready`] lookup's, or what a lookup that runs a
    /// future gives at its first poll (a cache hit answers there). That
    /// poll is made only inside a tokio task, whose runtime is the one
    /// that will poll the connect (a future made outside any task, such
    /// as one passed to `block_on`, may yet move to another runtime, and
    /// a resolver's future registers its timers and sockets with the
    /// runtime of its first poll), and with a waker that does nothing: a
    /// lookup still pending is polled again by its connect, with the
    /// connect's own waker, before anything waits for it. `None` when the
    /// answer is still to come (or was taken).
    #[inline]
    pub(crate) fn answer_now(&mut self) -> Option<LookupResult> {
        match &mut self.0 {
            Lookup::Ready(answer) => answer.take(),
            Lookup::Pending(_) => self.first_poll(),
        }
    }

    /// The first poll of [`LookupFuture::answer_now`]; out of line, so
    /// that a ready lookup costs a connect nothing more.
    #[inline(never)]
    fn first_poll(&mut self) -> Option<LookupResult> {
        let Lookup::Pending(future) = &mut self.0 else {
            return None;
        };
        tokio::task::try_id()?;
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(answer) = future.as_mut().poll(&mut cx) else {
            return None;
        };
        // Done: the future is not polled again.
        self.0 = Lookup::Ready(None);
        Some(answer)
    }
}

impl Future for LookupFuture {
    type Output = LookupResult;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<LookupResult> {
        match &mut self.get_mut().0 {
            Lookup::Ready(answer) => match answer.take() {
                Some(answer) => std::task::Poll::Ready(answer),
                // Polled again after it gave its answer: there is no
                // other, so it stays pending (as a fused future would).
                None => std::task::Poll::Pending,
            },
            Lookup::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for LookupFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Lookup::Ready(Some(_)) => "LookupFuture(ready)",
            Lookup::Ready(None) => "LookupFuture(done)",
            Lookup::Pending(_) => "LookupFuture(pending)",
        })
    }
}

/// Resolves a host name to the addresses of one family.
///
/// Dropping the returned future abandons the lookup: the race drops the
/// AAAA future once it has connected over IPv4. Implementations should
/// stop their work then (a blocking `getaddrinfo` call cannot be stopped
/// and runs to its end on its own thread).
///
/// [`Connector::connect`](crate::Connector::connect) calls `lookup` when
/// the connect is made, so that an answer known at once can spare it the
/// race; the connect's future may be made before entering the runtime
/// that polls it. Start any work that needs the runtime in the returned
/// future (as [`LookupFuture::new`] does), not in `lookup` itself. A
/// connect made inside a tokio task polls that future once there and
/// then (a cache hit it answers then also spares the race), so it must
/// not block: only later polls, from the connect, may wait.
pub trait Resolve: Send + Sync + 'static {
    /// Looks up the addresses of `name` for one record type.
    ///
    /// One family at a time, so the two queries run in parallel and each
    /// answer is used the moment it arrives. An empty answer is an error
    /// ([`ResolveError::NoRecords`]), never an empty list, so the caller can
    /// tell "nothing there" from "not asked".
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture;
}

impl<R: Resolve + ?Sized> Resolve for Arc<R> {
    fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
        (**self).lookup(name, rtype)
    }
}

/// The answer for a name that is already an IP address, if it is one.
///
/// A literal of the asked family is its own answer; a literal of the other
/// family has no records of this type, which is what a DNS server would say
/// too. An IPv4 address in a shorthand form (`127.1`) is an invalid name:
/// it is no DNS name, and systems read it differently.
fn literal(name: &str, rtype: RecordType) -> Option<LookupResult> {
    let Some(addr) = crate::plan::parse_ip(name) else {
        // Not a name either: never sent to DNS.
        return crate::plan::ipv4_shorthand(name).map(|v4| {
            Err(ResolveError::InvalidName {
                name: name.to_owned(),
                detail: format!(
                    "an IPv4 address in a shorthand form (the C library reads it as {v4})"
                ),
            })
        });
    };
    Some(if rtype.matches(&addr) {
        Ok(vec![addr])
    } else {
        Err(ResolveError::NoRecords {
            name: name.to_owned(),
            rtype,
        })
    })
}

/// Whether `s` may be an IP address: only an address's characters (hex
/// digits, `.` and `:`). Most names fail at their first letters past `f`,
/// before any parsing.
pub(crate) fn maybe_ip(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
}

/// Removes repeated addresses, keeping the first of each: several sources
/// (hosts file and DNS, one `addrinfo` per socket type) can give the same
/// address twice, and the race should not try it twice.
fn dedup(addrs: &mut Vec<IpAddr>) {
    let mut seen = std::collections::HashSet::with_capacity(addrs.len());
    addrs.retain(|addr| seen.insert(*addr));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_display() {
        assert_eq!(RecordType::A.to_string(), "A");
        assert_eq!(RecordType::Aaaa.to_string(), "AAAA");
    }

    #[test]
    fn literal_answers_itself() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(literal("192.0.2.1", RecordType::A).unwrap().unwrap(), [v4]);
        assert!(matches!(
            literal("192.0.2.1", RecordType::Aaaa),
            Some(Err(ResolveError::NoRecords { .. }))
        ));
        assert!(literal("example.test", RecordType::A).is_none());
        assert!(matches!(
            literal("127.1", RecordType::A),
            Some(Err(ResolveError::InvalidName { .. }))
        ));
    }

    /// A ready lookup answers on its first poll, once; a pending one runs
    /// its future.
    #[test]
    fn lookup_futures_answer_once() {
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mut ready = LookupFuture::ready(Ok(vec![v4]));
        assert_eq!(format!("{ready:?}"), "LookupFuture(ready)");
        match Pin::new(&mut ready).poll(&mut cx) {
            Poll::Ready(Ok(addrs)) => assert_eq!(addrs, [v4]),
            other => panic!("{other:?}"),
        }
        assert!(Pin::new(&mut ready).poll(&mut cx).is_pending());
        assert_eq!(format!("{ready:?}"), "LookupFuture(done)");
        let mut boxed = LookupFuture::new(async move {
            Err(ResolveError::NxDomain {
                name: "nope.test".into(),
            })
        });
        assert_eq!(format!("{boxed:?}"), "LookupFuture(pending)");
        assert!(matches!(
            Pin::new(&mut boxed).poll(&mut cx),
            Poll::Ready(Err(ResolveError::NxDomain { .. }))
        ));
    }

    /// `answer_now` takes a ready answer, or what a future gives at its
    /// first poll, once; it polls a future only inside a tokio task (not
    /// outside a runtime, nor in `block_on` itself); and a future still
    /// pending stays to be polled, answering the waker of its next poll.
    #[test]
    fn an_answer_now_is_ready_or_given_at_the_first_poll() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let mut ready = LookupFuture::ready(Ok(vec![v4]));
        assert_eq!(ready.answer_now().unwrap().unwrap(), [v4]);
        assert!(ready.answer_now().is_none());

        let at_first_poll = move || LookupFuture::new(async move { Ok(vec![v4]) });
        let mut outside = at_first_poll();
        assert!(outside.answer_now().is_none(), "no runtime: not polled");
        assert_eq!(format!("{outside:?}"), "LookupFuture(pending)");

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            assert!(outside.answer_now().is_none(), "not in a task: not polled");
            assert_eq!(format!("{outside:?}"), "LookupFuture(pending)");
            let in_task = tokio::spawn(async move {
                assert_eq!(outside.answer_now().unwrap().unwrap(), [v4]);
                assert_eq!(format!("{outside:?}"), "LookupFuture(done)");
                assert!(outside.answer_now().is_none());

                // Pending at the first poll (its waker does nothing), then
                // answered while the task waits on it with its own waker.
                let (tx, rx) = tokio::sync::oneshot::channel::<LookupResult>();
                let mut later = LookupFuture::new(async move { rx.await.unwrap() });
                assert!(later.answer_now().is_none(), "still to come");
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    tx.send(Ok(vec![v4])).unwrap();
                });
                later.await
            });
            assert_eq!(in_task.await.unwrap().unwrap(), [v4]);
        });
    }

    #[test]
    fn maybe_ip_is_a_glance() {
        assert!(maybe_ip("192.0.2.1") && maybe_ip("::1") && maybe_ip("beef::"));
        assert!(!maybe_ip("") && !maybe_ip("example.com") && !maybe_ip("[::1]"));
    }

    #[test]
    fn dedup_keeps_first_order() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut v = vec![a, b, a, b];
        dedup(&mut v);
        assert_eq!(v, [a, b]);
    }
}
