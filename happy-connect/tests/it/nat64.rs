//! NAT64 end to end in namespaces of the test's own (root): an IPv6-only
//! client whose peer holds the addresses a translator under
//! `2001:db8:64::/96` would (so the connections land without one; the
//! lab runs a real translator), a resolver that counts its queries, and
//! Router Advertisements sent by hand. IPv4 literals and A answers are
//! synthesized, DNS64 answers de-synthesized, native IPv6 goes first,
//! discovery happens once per network, and a host with IPv4 neither
//! synthesizes nor asks.

mod root {
    use std::net::{IpAddr, Ipv4Addr, TcpListener};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use happy_connect::nat64::{Nat64Prefix, PrefixSource, WELL_KNOWN_IPV4};
    use happy_connect::probe::HostView;
    use happy_connect::resolve::{LookupFuture, RecordType, Resolve, StaticResolver};
    use happy_connect::{ConnectReport, Connector};
    use netns_harness::Netns;
    use netns_harness::ra::{RouterAdvertiser, pref64_option};

    const PREFIX: &str = "2001:db8:64::/96";
    const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 50);
    const SERVER_NAT64: &str = "2001:db8:64::c633:6432";
    const SERVER_NATIVE: &str = "2001:db8:7::10";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn prefix() -> Nat64Prefix {
        PREFIX.parse().unwrap()
    }

    /// A resolver over a table that counts the `ipv4only.arpa` queries,
    /// asked fully qualified as RFC 7050 §3 says (a name without the dot
    /// could go out with a search domain, and is not counted).
    #[derive(Clone)]
    struct Counting {
        table: StaticResolver,
        ipv4only: Arc<AtomicUsize>,
    }

    impl Resolve for Counting {
        fn lookup(&self, name: &str, rtype: RecordType) -> LookupFuture {
            if name == "ipv4only.arpa." {
                self.ipv4only.fetch_add(1, Ordering::SeqCst);
            }
            self.table.lookup(name, rtype)
        }
    }

    /// The names of the tests, and a DNS64 server's ipv4only.arpa answer
    /// when `dns64`.
    fn resolver(dns64: bool) -> Counting {
        let mut table = StaticResolver::new()
            .with("v4only.test", &[IpAddr::V4(SERVER_V4)])
            .with("dual.test", &[IpAddr::V4(SERVER_V4), ip(SERVER_NATIVE)])
            .with("dns64.test", &[ip(SERVER_NAT64)]);
        if dns64 {
            let answer: Vec<IpAddr> = WELL_KNOWN_IPV4
                .iter()
                .map(|&w| IpAddr::V6(prefix().embed(w)))
                .collect();
            table = table.with("ipv4only.arpa", &answer);
        }
        Counting {
            table,
            ipv4only: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// An IPv6-only client (`va`, `2001:db8:6::2/64`, default route via
    /// the peer) and its peer (`vb`), which holds the server's NAT64 and
    /// native addresses and listens on every one of them. Returns the
    /// namespaces, the listener and its port.
    fn ipv6_only() -> (Netns, Netns, TcpListener, u16) {
        let (client, peer) = (Netns::new("hc64"), Netns::new("hc64"));
        for ns in [&client, &peer] {
            ns.sysctl("net/ipv6/conf/default/accept_dad", "0");
        }
        peer.sysctl("net/ipv6/conf/all/forwarding", "1");
        client.veth("va", &peer, "vb");
        client.addr("va", "2001:db8:6::2/64");
        for a in [
            "2001:db8:6::1/64",
            &format!("{SERVER_NAT64}/128"),
            &format!("{SERVER_NATIVE}/128"),
        ] {
            peer.addr("vb", a);
        }
        client.ip(&["link", "set", "va", "up"]);
        peer.ip(&["link", "set", "vb", "up"]);
        client.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:6::1",
            "dev",
            "va",
        ]);
        let listener = peer.run(|| TcpListener::bind("[::]:0").expect("listen in the peer"));
        let port = listener.local_addr().unwrap().port();
        (client, peer, listener, port)
    }

    /// Gives the client IPv4 too: an address, and a default route.
    fn add_ipv4(client: &Netns, peer: &Netns) {
        client.addr("va", "192.0.2.2/24");
        client.ip(&["route", "add", "default", "via", "192.0.2.1"]);
        peer.addr("vb", "192.0.2.1/24");
        peer.addr("vb", &format!("{SERVER_V4}/32"));
    }

    /// Runs `f` with a runtime on a thread in `ns`, once the namespace's
    /// host view has read the host (and its state satisfies `ready`).
    fn inside<T: Send>(
        ns: &Netns,
        ready: impl Fn(&happy_connect::probe::Snapshot) -> bool + Send + Sync,
        f: impl AsyncFnOnce() -> T + Send,
    ) -> T {
        ns.run(|| {
            let view = HostView::shared();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(s) = view.wait_ready(Duration::from_secs(5)) {
                    if ready(&s) {
                        break;
                    }
                }
                assert!(Instant::now() < deadline, "the host view never got ready");
                std::thread::sleep(Duration::from_millis(10));
            }
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f())
        })
    }

    fn any(_: &happy_connect::probe::Snapshot) -> bool {
        true
    }

    async fn connect(c: &Connector, host: &str, port: u16) -> ConnectReport {
        match c.connect(host, port).await {
            Ok((_, report)) => report,
            Err(err) => panic!("connect {host}: {err}\n{}", err.report()),
        }
    }

    fn winner(r: &ConnectReport) -> IpAddr {
        r.winner.expect("a winner").address.ip()
    }

    #[test]
    fn an_ipv4_literal_and_an_a_answer_are_synthesized_with_the_dns64_prefix_found_once() {
        let (client, _peer, _listener, port) = ipv6_only();
        let dns = resolver(true);
        let queries = Arc::clone(&dns.ipv4only);
        let (literal, again, name, v6, plan) = inside(&client, any, async move || {
            let mut c = Connector::new();
            c.set_resolver(dns);
            let literal = connect(&c, "198.51.100.50", port).await;
            let again = connect(&c, "198.51.100.50", port).await;
            let name = connect(&c.clone(), "v4only.test", port).await;
            let v6 = connect(&c, SERVER_NATIVE, port).await;
            let plan = c.resolve("v4only.test").await.expect("resolves");
            (literal, again, name, v6, plan)
        });
        println!("{literal}\n{name}\n{plan}");
        assert_eq!(winner(&literal), ip(SERVER_NAT64));
        let nat64 = literal.nat64.as_ref().expect("a NAT64 part");
        assert_eq!(nat64.synthesis, Some(prefix()));
        assert_eq!(nat64.prefixes[0].source, PrefixSource::Dns64);
        let c = &literal.candidates[0];
        assert_eq!(
            (c.class, c.nat64, c.synthesized),
            ("nat64", Some(SERVER_V4), true)
        );
        assert!(
            literal
                .to_string()
                .contains("(nat64 for 198.51.100.50, synthesized)")
        );
        assert_eq!(winner(&again), ip(SERVER_NAT64));
        // The A answer, synthesized; the AAAA query had nothing.
        assert_eq!(winner(&name), ip(SERVER_NAT64));
        assert_eq!(name.candidates.len(), 1);
        assert!(name.candidates[0].synthesized);
        assert_eq!(plan.candidates[0].address, ip(SERVER_NAT64));
        // An IPv6 literal is left alone, and the report still shows the
        // prefix.
        assert_eq!(winner(&v6), ip(SERVER_NATIVE));
        assert!(v6.nat64.is_some());
        // One query on this network, for all of it.
        assert_eq!(queries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_dual_stack_name_goes_native_first_and_a_dns64_answer_is_desynthesized() {
        let (client, _peer, _listener, port) = ipv6_only();
        let dns = resolver(true);
        let (dual, dns64) = inside(&client, any, async move || {
            let mut c = Connector::new();
            c.set_resolver(dns);
            (
                connect(&c, "dual.test", port).await,
                connect(&c, "dns64.test", port).await,
            )
        });
        println!("{dual}\n{dns64}");
        assert_eq!(winner(&dual), ip(SERVER_NATIVE));
        let order: Vec<IpAddr> = dual.candidates.iter().map(|c| c.address).collect();
        assert_eq!(order, [ip(SERVER_NATIVE), ip(SERVER_NAT64)]);
        assert_eq!(dual.candidates[1].nat64, Some(SERVER_V4));
        // AAAA only, from DNS64: marked, with the IPv4 address it stands
        // for; not made here.
        let c = &dns64.candidates[0];
        assert_eq!(
            (c.class, c.nat64, c.synthesized),
            ("nat64", Some(SERVER_V4), false)
        );
        assert_eq!(winner(&dns64), ip(SERVER_NAT64));
    }

    #[test]
    fn without_dns64_a_prefix_from_the_router_synthesizes_and_nothing_is_asked() {
        let (client, peer, _listener, port) = ipv6_only();
        // The namespace's view, held for the whole test: it hears the
        // router's advertisement whenever it comes.
        let _view = client.run(HostView::shared);
        let dns = resolver(false);
        let queries = Arc::clone(&dns.ipv4only);
        // First, no prefix at all: the literal stays IPv4 and fails.
        let dns_clone = dns.clone();
        let failed = inside(&client, any, async move || {
            let mut c = Connector::new();
            c.set_resolver(dns_clone);
            c.connect("198.51.100.50", port).await.unwrap_err()
        });
        println!("{}", failed.report());
        let nat64 = failed.report().nat64.clone().expect("a NAT64 part");
        assert!(nat64.prefixes.is_empty());
        assert!(
            nat64.reason.contains("no NAT64 prefix is known"),
            "{}",
            nat64.reason
        );
        assert_eq!(queries.load(Ordering::SeqCst), 1);
        // The router announces the prefix.
        let advertiser = peer.run(|| RouterAdvertiser::open("vb").unwrap());
        peer.run(|| advertiser.send(&[&pref64_option(225, 0, prefix().prefix())]))
            .unwrap();
        let literal = inside(
            &client,
            |s| !s.pref64.is_empty(),
            async move || {
                let mut c = Connector::new();
                c.set_resolver(dns);
                connect(&c, "198.51.100.50", port).await
            },
        );
        println!("{literal}");
        assert_eq!(winner(&literal), ip(SERVER_NAT64));
        let source = &literal.nat64.as_ref().unwrap().prefixes[0].source;
        assert!(
            matches!(source, PrefixSource::RouterAdvertisement { interface, lifetime, .. }
                if interface == "va" && *lifetime == Duration::from_secs(1800)),
            "{source:?}"
        );
        assert_eq!(
            queries.load(Ordering::SeqCst),
            1,
            "no query once the router said"
        );
    }

    #[test]
    fn a_new_network_asks_again() {
        let (client, _peer, _listener, port) = ipv6_only();
        let dns = resolver(true);
        let queries = Arc::clone(&dns.ipv4only);
        let mut c = Connector::new();
        c.set_resolver(dns);
        let first = c.clone();
        inside(&client, any, async move || {
            connect(&first, "198.51.100.50", port).await
        });
        assert_eq!(queries.load(Ordering::SeqCst), 1);
        // Another gateway: another network (the same connector remembers
        // the first).
        let before = client.run(|| HostView::shared().snapshot().unwrap().network());
        client.ip(&[
            "-6",
            "route",
            "replace",
            "default",
            "via",
            "2001:db8:6::3",
            "dev",
            "va",
        ]);
        let second = c.clone();
        inside(
            &client,
            move |s| s.network() != before,
            async move || {
                // The gateway does not exist: the SYN goes nowhere, which
                // is not what is tested; the plan is.
                second.resolve("198.51.100.50").await.expect("a plan")
            },
        );
        assert_eq!(queries.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_host_with_ipv4_neither_synthesizes_nor_asks() {
        let (client, peer, _listener, port) = ipv6_only();
        add_ipv4(&client, &peer);
        let dns = resolver(true);
        let queries = Arc::clone(&dns.ipv4only);
        let (literal, name) = inside(
            &client,
            |s| s.capabilities().ipv4,
            async move || {
                let mut c = Connector::new();
                c.set_resolver(dns);
                (
                    connect(&c, "198.51.100.50", port).await,
                    connect(&c, "v4only.test", port).await,
                )
            },
        );
        println!("{literal}\n{name}");
        assert_eq!(winner(&literal), IpAddr::V4(SERVER_V4));
        assert_eq!(winner(&name), IpAddr::V4(SERVER_V4));
        assert!(literal.nat64.is_none() && name.nat64.is_none());
        assert_eq!(queries.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_clat_is_ipv4_enough() {
        let (client, peer, _listener, _port) = ipv6_only();
        // 464XLAT: the CLAT's address in 192.0.0.0/29 and IPv4 through it.
        client.addr("va", "192.0.0.2/29");
        client.ip(&["route", "add", "default", "via", "192.0.0.1"]);
        peer.addr("vb", "192.0.0.1/29");
        let dns = resolver(true);
        let queries = Arc::clone(&dns.ipv4only);
        let plan = inside(
            &client,
            |s| s.capabilities().ipv4,
            async move || {
                let mut c = Connector::new();
                c.set_resolver(dns);
                c.resolve("198.51.100.50").await.expect("a plan")
            },
        );
        println!("{plan}");
        assert_eq!(plan.candidates[0].address, IpAddr::V4(SERVER_V4));
        assert!(plan.nat64.is_none());
        assert_eq!(queries.load(Ordering::SeqCst), 0);
    }

    /// The total timeout bounds the whole connect, the DNS64 server's
    /// `ipv4only.arpa` answer it waits for included: a connect with 100 ms
    /// returns soon after them, not when the discovery gives up (2 s).
    #[test]
    fn the_total_timeout_bounds_a_dns64_discovery() {
        let (client, _peer, _listener, port) = ipv6_only();
        let slow = Counting {
            table: resolver(true)
                .table
                .with_delay(RecordType::Aaaa, Duration::from_secs(5)),
            ipv4only: Arc::new(AtomicUsize::new(0)),
        };
        let queries = Arc::clone(&slow.ipv4only);
        let (took, result) = inside(&client, any, async move || {
            let mut c = Connector::new();
            c.set_resolver(slow);
            c.race_mut().total_timeout = Duration::from_millis(100);
            let start = Instant::now();
            let result = c.connect("198.51.100.50", port).await.map(|_| ());
            (start.elapsed(), result)
        });
        let err = result.expect_err("no time to connect");
        println!("{err}\n{}", err.report());
        assert_eq!(err.kind(), happy_connect::ConnectErrorKind::TimedOut);
        assert_eq!(queries.load(Ordering::SeqCst), 1, "the discovery began");
        assert!(took < Duration::from_millis(1_000), "took {took:?}");
    }
}
