//! The scenarios, one test each (named `lab_scenarios::...` so that
//! `cargo xtask test` can leave them to `cargo xtask lab test`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use happy_connect::addr::{AddrKind, classify};
use happy_connect::resolve::RecordType;
use happy_connect::sort::Policy;
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectReport, Strategy};
use serde_json::Value;

use crate::support::{Blackhole, Lab, Listener, any6, block_in, cli_command, sh, show, teredo_now};

fn aaaa_query(report: &ConnectReport) -> &happy_connect::QueryReport {
    report
        .queries
        .iter()
        .find(|q| q.rtype == RecordType::Aaaa)
        .expect("the report has an AAAA entry")
}

fn winner(report: &ConnectReport) -> (IpAddr, Option<IpAddr>) {
    let w = report.winner.expect("a winner");
    (w.address.ip(), w.source)
}

/// The time the last answered query took: what the race waited for DNS.
fn resolution_time(report: &ConnectReport) -> Duration {
    report
        .queries
        .iter()
        .filter_map(|q| q.elapsed)
        .max()
        .unwrap_or_default()
}

/// 1. A Teredo-only host (t1) does not ask for AAAA and connects over
///    IPv4; an explicit AAAA lookup still works.
#[test]
fn t1_teredo_only_host_skips_aaaa() {
    let lab = Lab::load();
    let t1 = lab.ns("t1");
    let srv_v4 = lab.addr("srv_v4");
    let srv_v6 = lab.addr("srv_v6");
    let listener = Listener::start(&lab.ns("srv"), any6(0));
    let port = listener.port;

    let aaaa_before = lab.query_count("AAAA", "dual.lab");
    let a_before = lab.query_count("A", "dual.lab");
    let connector = lab.connector();
    let report = block_in(&t1, move || async move {
        let (stream, report) = connector.connect("dual.lab", port).await.expect("connects");
        drop(stream);
        report
    });
    show("t1 (Teredo-only) connects to dual.lab", &report);
    let aaaa_after = lab.query_count("AAAA", "dual.lab");
    let a_after = lab.query_count("A", "dual.lab");
    let caps = report.capabilities.expect("capabilities probed");
    assert!(
        caps.teredo && caps.teredo_only,
        "t1 should be Teredo-only: {caps:?}"
    );
    assert!(!aaaa_query(&report).sent, "AAAA must be skipped on t1");
    assert_eq!(a_after, a_before + 1, "the A query reaches dnsmasq");
    assert_eq!(
        aaaa_after, aaaa_before,
        "no AAAA query for dual.lab may reach dnsmasq"
    );
    assert_eq!(winner(&report).0, srv_v4);
    assert!(report.attempts.iter().all(|a| a.address.is_ipv4()));
    let peers = listener.accepted(1);
    assert_eq!(peers[0].0.ip(), lab.addr("t1_v4"), "srv saw t1's IPv4");

    // The explicit lookup still gets the record...
    let connector = lab.connector();
    let aaaa = block_in(&t1, move || async move {
        connector.lookup_aaaa("dual.lab").await
    })
    .expect("lookup_aaaa answers");
    println!("lookup_aaaa(dual.lab) on t1: {aaaa:?}");
    assert_eq!(aaaa, [srv_v6]);
    // ...and so does the CLI with --aaaa always (system resolver through
    // the namespace's resolv.conf).
    let out = lab.cli("t1", &["resolve", "dual.lab", "--aaaa", "always", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("happy-connect resolve dual.lab --aaaa always --json (t1):\n{stdout}");
    assert!(
        out.status.success(),
        "resolve failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    let q = json["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .find(|q| q["type"] == "AAAA")
        .expect("an AAAA query")
        .clone();
    assert_eq!(q["sent"], true);
    assert_eq!(q["answers"][0], srv_v6.to_string());
    assert_eq!(
        lab.query_count("AAAA", "dual.lab"),
        aaaa_before + 2,
        "the forced lookups reach dnsmasq"
    );
    // The CLI's default (auto) skips it again.
    let out = lab.cli("t1", &["resolve", "dual.lab", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let q = &json["queries"].as_array().expect("queries")[1];
    println!("happy-connect resolve dual.lab --json (t1), AAAA: {q}");
    assert_eq!(q["sent"], false);
}

/// 2. IPv4 beats Teredo under RFC 6724 and the Windows table, on t2 and on
///    t1 with AAAA forced; glibc's order is printed for contrast.
#[test]
fn t2_ipv4_preferred_over_teredo() {
    let lab = Lab::load();
    let srv_v4 = lab.addr("srv_v4");
    let srv = Listener::start(&lab.ns("srv"), any6(0));
    let port = srv.port;
    // The Teredo side listens too, so a wrong choice would connect.
    let on_t1 = Listener::start(&lab.ns("t1"), any6(port));
    let on_t2 = Listener::start(&lab.ns("t2"), any6(port));
    let cases = [
        ("t2", "v4-teredo1.lab", AaaaPolicy::Auto),
        ("t1", "v4-teredo2.lab", AaaaPolicy::Always),
    ];
    for (role, name, aaaa) in cases {
        for (policy_name, policy) in [
            ("rfc6724", Policy::rfc6724()),
            ("windows", Policy::windows()),
        ] {
            let mut connector = lab.connector();
            connector.race_mut().policy = policy;
            connector.set_aaaa(aaaa);
            let report = block_in(&lab.ns(role), move || async move {
                let (stream, report) = connector.connect(name, port).await.expect("connects");
                drop(stream);
                report
            });
            show(&format!("{role}: {name} with {policy_name}"), &report);
            assert!(aaaa_query(&report).sent, "AAAA is asked on {role}");
            assert_eq!(report.candidates.len(), 2, "IPv4 and Teredo candidates");
            assert_eq!(report.candidates[0].address, srv_v4, "IPv4 first");
            assert_eq!(report.candidates[1].class, "teredo");
            assert_eq!(winner(&report).0, srv_v4, "connected over IPv4");
        }
    }
    assert!(on_t1.accepted(0).is_empty() && on_t2.accepted(0).is_empty());
    // For contrast, glibc's getaddrinfo on t1.
    let gai = lab.exec("t1", "getent", &["ahosts", "v4-teredo2.lab"]);
    let order: Vec<&str> = gai
        .lines()
        .filter(|l| l.contains("STREAM"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    println!("glibc getaddrinfo order on t1 for v4-teredo2.lab: {order:?}\n{gai}");
    assert_eq!(order.len(), 2, "glibc sees both addresses: {gai}");
    // glibc's default table gives Teredo precedence 40 (it falls under
    // ::/0) and IPv4 10 (::ffff:0:0/96): Teredo first, which is what this
    // library does not do.
    let first: IpAddr = order[0].parse().expect("an address");
    assert_eq!(
        classify(first),
        AddrKind::Teredo,
        "glibc puts Teredo first on t1: {gai}"
    );
    assert_eq!(order[1].parse::<IpAddr>().ok(), Some(srv_v4), "{gai}");
}

/// 3. A TCP connection from t1 to t2 through the real Miredo tunnel.
#[test]
fn t3_teredo_to_teredo_connection() {
    let lab = Lab::load();
    let t1_teredo = teredo_now(&lab.ns("t1")).expect("t1 is qualified");
    let t2_teredo = lab.addr("t2_teredo");
    let listener = Listener::start(&lab.ns("t2"), SocketAddr::new(t2_teredo, 0));
    let port = listener.port;
    let mut connector = lab.connector();
    connector.set_aaaa(AaaaPolicy::Always);
    let report = block_in(&lab.ns("t1"), move || async move {
        let (stream, report) = connector
            .connect("teredo-t2.lab", port)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
        drop(stream);
        report
    });
    show("t1 -> teredo-t2.lab over Miredo", &report);
    assert_eq!(winner(&report), (t2_teredo, Some(t1_teredo)));
    let peers = listener.accepted(1);
    assert_eq!(peers[0].0.ip(), t1_teredo, "t2 saw t1's Teredo address");
}

/// 4. On t2 (native IPv6, 6to4 and Teredo) the Windows table orders
///    native, 6to4, IPv4, Teredo, and the connection goes native.
#[test]
fn t4_windows_order_native_6to4_ipv4_teredo() {
    let lab = Lab::load();
    let expected: Vec<IpAddr> = ["srv_v6", "srv_6to4", "srv_v4", "t1_teredo"]
        .iter()
        .map(|k| lab.addr(k))
        .collect();
    let srv = Listener::start(&lab.ns("srv"), any6(0));
    let port = srv.port;
    let t2 = lab.ns("t2");

    let mut connector = lab.connector();
    connector.race_mut().policy = Policy::windows();
    connector.race_mut().strategy = Strategy::Sequential;
    let plan = block_in(&t2, move || async move {
        connector.resolve("all4.lab").await.expect("resolves")
    });
    println!("=== t2: all4.lab planned with the Windows table\n{plan}");
    assert!(
        plan.queries
            .iter()
            .any(|q| q.rtype == RecordType::Aaaa && q.sent),
        "t2 asks for AAAA"
    );
    let order: Vec<IpAddr> = plan.candidates.iter().map(|c| c.address).collect();
    let classes: Vec<&str> = plan.candidates.iter().map(|c| c.class).collect();
    println!("order: {order:?} {classes:?}");
    assert_eq!(order, expected, "native, 6to4, IPv4, Teredo");

    let mut connector = lab.connector();
    connector.race_mut().policy = Policy::windows();
    let report = block_in(&t2, move || async move {
        let (stream, report) = connector.connect("all4.lab", port).await.expect("connects");
        drop(stream);
        report
    });
    show("t2: connect all4.lab (race, Windows table)", &report);
    assert_eq!(winner(&report), (expected[0], Some(lab.addr("t2_v6"))));
}

/// 5. Native IPv6 blackholed in the router: the race falls back to IPv4
///    after one attempt delay; sequential waits for the attempt timeout.
#[test]
fn t5_blackholed_native_ipv6() {
    let lab = Lab::load();
    let srv_v4 = lab.addr("srv_v4");
    let srv_v6 = lab.addr("srv_v6");
    let srv = Listener::start(&lab.ns("srv"), any6(0));
    let port = srv.port;
    let t2 = lab.ns("t2");
    let _blackhole = Blackhole::ipv6(&lab, srv_v6);

    let delay = Duration::from_millis(250);
    let mut connector = lab.connector();
    connector.race_mut().set_attempt_delay(delay);
    let race = block_in(&t2, move || async move {
        let (stream, report) = connector.connect("dual.lab", port).await.expect("connects");
        drop(stream);
        report
    });
    show("t2: race to dual.lab, native IPv6 blackholed", &race);
    let dns = resolution_time(&race);
    println!(
        "RACE: total {:.1} ms (resolution {:.1} ms, connect after resolution {:.1} ms)",
        race.total.as_secs_f64() * 1e3,
        dns.as_secs_f64() * 1e3,
        race.total.saturating_sub(dns).as_secs_f64() * 1e3
    );
    assert_eq!(
        race.attempts[0].address.ip(),
        srv_v6,
        "native IPv6 tried first"
    );
    assert_eq!(winner(&race).0, srv_v4, "IPv4 won");
    let v4 = race
        .attempts
        .iter()
        .find(|a| a.address.ip() == srv_v4)
        .expect("an IPv4 attempt");
    let v4_end = v4.end.expect("IPv4 attempt ended");
    assert!(
        v4_end <= dns + delay + Duration::from_millis(50),
        "IPv4 connected {v4_end:?} after start, resolution {dns:?}: want within \
         the attempt delay + 50 ms"
    );
    assert!(
        race.total < dns + Duration::from_millis(300),
        "race total {:?} (resolution {dns:?})",
        race.total
    );

    let mut connector = lab.connector();
    connector.race_mut().strategy = Strategy::Sequential;
    connector.race_mut().attempt_timeout = Duration::from_secs(2);
    let seq = block_in(&t2, move || async move {
        let (stream, report) = connector.connect("dual.lab", port).await.expect("connects");
        drop(stream);
        report
    });
    show("t2: sequential to dual.lab, native IPv6 blackholed", &seq);
    println!(
        "SEQUENTIAL: total {:.1} ms (resolution {:.1} ms)",
        seq.total.as_secs_f64() * 1e3,
        resolution_time(&seq).as_secs_f64() * 1e3
    );
    assert!(seq.total >= Duration::from_secs(2), "waited the timeout");
    assert_eq!(seq.attempts[0].address.ip(), srv_v6);
    assert_eq!(seq.attempts[0].outcome, AttemptOutcome::TimedOut);
    assert_eq!(winner(&seq).0, srv_v4);
}

/// t1's Miredo as `lab up` started it.
struct Miredo {
    argv: Vec<String>,
    log: PathBuf,
    old_teredo: IpAddr,
}

/// Stops t1's Miredo (pid from the state) and waits for its tun to go.
fn stop_miredo_t1(lab: &Lab) -> Miredo {
    let t1 = lab.ns("t1");
    let proc = lab
        .state
        .processes
        .get("miredo_t1")
        .expect("miredo_t1 in the lab state")
        .clone();
    let (pid, argv, log) = (proc.pid, proc.argv, proc.log);
    let old_teredo = lab.addr("t1_teredo");
    sh(&["kill", "-TERM", &pid.to_string()]);
    let gone = Instant::now();
    while teredo_link_exists(&t1) {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "t1's teredo interface still there 5 s after SIGTERM to Miredo"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The tun goes before the process has exited; a new Miredo started
    // while the old one still holds the PID file's lock refuses to run.
    while process_running(pid) {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "Miredo (pid {pid}) still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "miredo on t1 (pid {pid}) stopped; tun and process gone after {:.0} ms",
        gone.elapsed().as_secs_f64() * 1e3
    );
    Miredo {
        argv,
        log,
        old_teredo,
    }
}

/// Starts t1's Miredo again with the command line of `lab up` and puts
/// the new pid into the state.
fn start_miredo_t1(lab: &mut Lab, miredo: &Miredo) -> Instant {
    let out = std::fs::OpenOptions::new()
        .append(true)
        .open(&miredo.log)
        .expect("miredo log");
    let started = Instant::now();
    let (program, args) = miredo.argv.split_first().expect("Miredo's command line");
    // Miredo outlives the test on purpose: `lab down` stops it.
    #[allow(clippy::zombie_processes)]
    let child = lab
        .netns("t1")
        .command(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log fd"))
        .stderr(out)
        .spawn()
        .expect("miredo restarts");
    lab.state
        .processes
        .get_mut("miredo_t1")
        .expect("miredo_t1 in the lab state")
        .pid = child.id();
    lab.save();
    println!("miredo on t1 restarted (pid {})", child.id());
    started
}

/// Waits (up to 20 s) for t1 to qualify again; updates state and DNS.
fn requalified_t1(lab: &mut Lab, miredo: &Miredo) -> IpAddr {
    let t1 = lab.ns("t1");
    let since = Instant::now();
    let new = loop {
        if let Some(a) = teredo_now(&t1) {
            break a;
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "t1 did not qualify again within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    refresh_t1_teredo(lab, miredo.old_teredo, new);
    new
}

/// 6. Miredo restarted on t1: `wait-stable --teredo`, started while
///    Miredo is down, returns stable once the Teredo address is back.
#[test]
fn t6_teredo_restart_wait_stable() {
    let mut lab = Lab::load();
    let t1 = lab.ns("t1");
    let miredo = stop_miredo_t1(&lab);
    let waiter = cli_command(
        &t1,
        &["wait-stable", "--teredo", "--timeout", "20s", "--json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("wait-stable starts");
    // Let it subscribe; it must still be waiting then.
    std::thread::sleep(Duration::from_millis(300));
    let restarted = start_miredo_t1(&mut lab, &miredo);
    let output = waiter.wait_with_output().expect("wait-stable ends");
    let returned = restarted.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!(
        "wait-stable --teredo (started 300 ms before the restart) returned {:.0} ms after \
         the restart:\n{stdout}{}",
        returned.as_secs_f64() * 1e3,
        String::from_utf8_lossy(&output.stderr)
    );
    let new_teredo = requalified_t1(&mut lab, &miredo);
    let json: Value = serde_json::from_str(&stdout).expect("wait-stable JSON");
    assert_eq!(json["stable"], true, "wait-stable saw the address");
    assert_eq!(
        json["addresses"][0]["address"],
        new_teredo.to_string(),
        "wait-stable returned t1's new Teredo address"
    );
    assert!(
        json["waited_ms"].as_f64().unwrap_or(0.0) >= 250.0,
        "wait-stable waited for the restart"
    );
}

/// 6b. A connect to a Teredo address issued while Miredo runs but has not
///     qualified (the router drops its packets to the Teredo server) waits
///     for qualification instead of failing with "network unreachable".
#[test]
fn t6b_connect_before_qualification_waits() {
    let mut lab = Lab::load();
    let t1 = lab.ns("t1");
    let t2_teredo = lab.addr("t2_teredo");
    let listener = Listener::start(&lab.ns("t2"), SocketAddr::new(t2_teredo, 0));
    let port = listener.port;
    let miredo = stop_miredo_t1(&lab);
    let block = Blackhole::teredo_server(&lab);
    let restarted = start_miredo_t1(&mut lab, &miredo);
    // Miredo creates its tun at once, down and without an address, and
    // keeps trying to qualify.
    while !teredo_link_exists(&t1) {
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "no teredo tun 5 s after restart"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut connector = lab.connector();
    connector.set_stable_wait(Duration::from_secs(15));
    connector.race_mut().attempt_timeout = Duration::from_secs(20);
    connector.race_mut().total_timeout = Duration::from_secs(25);
    let ns = t1.clone();
    let connecting = std::thread::spawn(move || {
        block_in(&ns, move || async move {
            connector
                .connect(&t2_teredo.to_string(), port)
                .await
                .map(|(_, r)| r)
                .map_err(|e| Box::new(e.into_report()))
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        teredo_now(&t1).is_none(),
        "t1 qualified although the server is blocked"
    );
    drop(block);
    println!("router: Teredo server reachable again");
    let early = connecting.join().expect("connect thread");
    let new_teredo = requalified_t1(&mut lab, &miredo);
    let title = format!(
        "t1: connect to {t2_teredo} issued before Miredo qualified, returned {:.0} ms after \
         the restart",
        restarted.elapsed().as_secs_f64() * 1e3
    );
    let report = match early {
        Ok(report) => {
            show(&title, &report);
            report
        }
        Err(report) => {
            show(&format!("{title}: FAILED"), &report);
            panic!("the connect issued before qualification failed instead of waiting");
        }
    };
    assert_eq!(winner(&report), (t2_teredo, Some(new_teredo)));
    let attempt = report.attempts.last().expect("an attempt");
    let waited = attempt
        .stable_wait
        .expect("the Teredo attempt reports its stable wait");
    assert!(
        waited >= Duration::from_millis(250),
        "the attempt waited only {waited:?} although qualification was blocked for 300 ms"
    );
}

/// Whether the process is alive: present and not a zombie (a zombie has
/// released its files and locks; nothing here may reap it).
fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn teredo_link_exists(ns: &str) -> bool {
    std::process::Command::new("ip")
        .args(["-n", ns, "link", "show", "dev", "teredo"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Miredo picks new random bits on restart: put t1's new Teredo address
/// into the state and dnsmasq's hosts file (reloaded with SIGHUP).
fn refresh_t1_teredo(lab: &mut Lab, old: IpAddr, new: IpAddr) {
    if old == new {
        return;
    }
    println!("t1's Teredo address changed: {old} -> {new}; updating DNS and state");
    lab.state.replace_address(old, new);
    lab.save();
    let hosts = &lab.state.hosts_file;
    let text = std::fs::read_to_string(hosts).expect("hosts file");
    std::fs::write(hosts, text.replace(&old.to_string(), &new.to_string()))
        .expect("hosts file written");
    if let Some(dnsmasq) = lab.state.processes.get("dnsmasq") {
        sh(&["kill", "-HUP", &dnsmasq.pid.to_string()]);
    }
}

/// 7. A name with IPv4 only, on t1: no IPv6 attempt, IPv4 wins.
#[test]
fn t7_ipv4_only_name() {
    let lab = Lab::load();
    let srv_v4 = lab.addr("srv_v4");
    let srv = Listener::start(&lab.ns("srv"), any6(0));
    let port = srv.port;
    let connector = lab.connector();
    // t2 has native IPv6 next to Teredo, so it does ask AAAA (t1, which is
    // Teredo-only, would not, and the test would prove nothing).
    let report = block_in(&lab.ns("t2"), move || async move {
        let (stream, report) = connector
            .connect("v4only.lab", port)
            .await
            .expect("connects");
        drop(stream);
        report
    });
    show("t2: v4only.lab", &report);
    let aaaa = aaaa_query(&report);
    assert!(aaaa.sent, "AAAA is asked on t2");
    assert!(aaaa.answers.is_empty(), "the name has no AAAA records");
    assert!(report.attempts.iter().all(|a| a.address.is_ipv4()));
    assert!(report.candidates.iter().all(|c| c.address.is_ipv4()));
    assert_eq!(winner(&report).0, srv_v4);
}
