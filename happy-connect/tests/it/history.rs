//! Connection history end to end on loopback: a blackholed ::1 (its
//! accept queue full, so SYNs vanish) costs the attempt delay on the
//! first connect and not on the next; history is shared, partitioned,
//! switched off, expires, and shows in the report, the plan and the tool.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use happy_connect::history::{History, HistoryConfig};
use happy_connect::race::Family;
use happy_connect::resolve::{RecordType, StaticResolver};
use happy_connect::{AaaaPolicy, AttemptOutcome, ConnectReport, Connector};
use serde_json::Value;

use crate::connect::{Mode, Ports, V4_IP, V6_IP, connector, winner_ip};

const NAME: &str = "dual.test";

fn dual() -> Connector {
    connector(NAME, &[V6_IP, V4_IP])
}

async fn connect(c: &Connector, port: u16) -> ConnectReport {
    let (_stream, report) = c
        .connect(NAME, port)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", e.report()));
    println!("{report}");
    report
}

fn first_attempt(report: &ConnectReport) -> IpAddr {
    report.attempts[0].address.ip()
}

/// The first connect pays the attempt delay and learns; the second goes
/// to IPv4 first, at once.
async fn learn(c: &Connector, port: u16) -> ConnectReport {
    let first = connect(c, port).await;
    assert_eq!(winner_ip(&first), V4_IP, "{first}");
    assert_eq!(first_attempt(&first), V6_IP, "{first}");
    assert_eq!(first.attempts[0].outcome, AttemptOutcome::Cancelled);
    assert!(
        first.attempts[1].start >= Duration::from_millis(240),
        "{first}"
    );
    let history = first.history.expect("history in the report");
    assert_eq!(history.demoted_family, None, "nothing known yet: {first}");
    let second = connect(c, port).await;
    assert_eq!(winner_ip(&second), V4_IP, "{second}");
    second
}

#[tokio::test]
async fn a_blackholed_address_costs_its_delay_once() {
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    // A answers 20 ms after AAAA, so that both are candidates whatever
    // the timing: the race waits for A (IPv4 goes first now).
    let mut c = Connector::new();
    c.set_aaaa(AaaaPolicy::Always).set_resolver(
        StaticResolver::new()
            .with(NAME, &[V6_IP, V4_IP])
            .with_delay(RecordType::A, Duration::from_millis(20)),
    );
    let second = learn(&c, ports.port).await;
    assert_eq!(first_attempt(&second), V4_IP, "{second}");
    // One attempt, IPv4's: no attempt delay was waited (the race logic is
    // checked on the virtual clock; the time is printed below).
    assert_eq!(second.attempts.len(), 1, "{second}");
    let history = second.history.unwrap();
    assert_eq!(history.demoted_family, Some(Family::V6), "{second}");
    // The report says why: the candidate's note and the placement.
    let v6 = second
        .candidates
        .iter()
        .find(|c| c.address == V6_IP)
        .expect("::1 is a candidate");
    let note = v6.history.expect("a note for ::1").to_string();
    assert!(
        note.starts_with("lost to IPv4 once on this network"),
        "{note}"
    );
    let text = second.to_string();
    assert!(text.contains("IPv6 demoted"), "{text}");
    assert!(text.contains("history: lost to IPv4"), "{text}");
    println!(
        "history: second connect {:.2} ms (first attempt at {:.2} ms)",
        second.total.as_secs_f64() * 1000.0,
        second.attempts[0].start.as_secs_f64() * 1000.0
    );
}

#[tokio::test]
async fn a_demoted_path_that_was_repaired_is_learned_again() {
    let c = dual();
    {
        let ports = Ports::new(Mode::Listen, Mode::Blackhole);
        learn(&c, ports.port).await;
    }
    // Now IPv4 is the broken one: IPv6, demoted, still gets its attempt
    // when the delay passes, connects, and is no longer demoted.
    let ports = Ports::new(Mode::Blackhole, Mode::Listen);
    let report = connect(&c, ports.port).await;
    assert_eq!(first_attempt(&report), V4_IP, "{report}");
    assert_eq!(winner_ip(&report), V6_IP, "{report}");
    // IPv6 connected last: first again, and at once; 127.0.0.1, which
    // lost, is demoted.
    let next = connect(&c, ports.port).await;
    assert_eq!(first_attempt(&next), V6_IP, "{next}");
    assert_eq!(next.attempts.len(), 1, "{next}");
    assert_eq!(next.history.unwrap().demoted_family, None, "{next}");
}

#[tokio::test]
async fn expired_history_restores_the_policy_order() {
    let mut config = HistoryConfig::default();
    config.ttl = Duration::from_millis(400);
    let mut c = dual();
    c.set_history(Some(History::with_config(config)));
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    let second = learn(&c, ports.port).await;
    assert_eq!(first_attempt(&second), V4_IP, "{second}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let later = connect(&c, ports.port).await;
    assert_eq!(first_attempt(&later), V6_IP, "expired: {later}");
    assert_eq!(later.history.unwrap().demoted_family, None);
}

#[tokio::test]
async fn history_is_shared_by_clones_and_handles_and_kept_apart_by_key() {
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    let shared = History::new();
    let mut a = dual();
    a.set_history(Some(shared.clone()));
    learn(&a, ports.port).await;
    // A clone, and another connector handed the same history, know.
    let clone = a.clone();
    assert_eq!(first_attempt(&connect(&clone, ports.port).await), V4_IP);
    let mut b = dual();
    b.set_history(Some(shared.clone()));
    assert_eq!(first_attempt(&connect(&b, ports.port).await), V4_IP);
    // Another partition does not.
    let mut other = b.clone();
    other.set_history_key(Some("another user"));
    let report = connect(&other, ports.port).await;
    assert_eq!(first_attempt(&report), V6_IP, "{report}");
    assert!(report.history.unwrap().partitioned);
    // A connector of its own has a history of its own.
    assert_eq!(first_attempt(&connect(&dual(), ports.port).await), V6_IP);
}

#[tokio::test]
async fn without_history_every_connect_pays_the_delay() {
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    let mut c = dual();
    c.set_history(None);
    for _ in 0..2 {
        let report = connect(&c, ports.port).await;
        assert!(report.history.is_none(), "{report}");
        assert_eq!(first_attempt(&report), V6_IP, "{report}");
        assert!(report.attempts[1].start >= Duration::from_millis(240));
    }
}

#[tokio::test]
async fn a_resolution_orders_by_history_too() {
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    let c = dual();
    let before = c.resolve(NAME).await.unwrap();
    assert_eq!(before.addrs(1)[0].ip(), V6_IP, "{before}");
    learn(&c, ports.port).await;
    let plan = c.resolve(NAME).await.unwrap();
    println!("{plan}");
    assert_eq!(plan.addrs(1)[0].ip(), V4_IP, "{plan}");
    let placed = plan.candidates[0].placed_by.as_deref().unwrap_or_default();
    assert!(placed.starts_with("history"), "{plan}");
    assert!(plan.candidates[1].history.is_some(), "{plan}");
}

// -------------------------------------------------------------------- tool

fn tool(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_happy-connect"))
        .args(args)
        .output()
        .expect("the happy-connect binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The JSON report is the last line of standard error.
    let report = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (out.status.success(), report, stderr)
}

fn first_attempt_json(report: &Value) -> &str {
    report["attempts"][0]["address"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn the_tool_keeps_history_in_a_file() {
    let ports = Ports::new(Mode::Listen, Mode::Blackhole);
    let dir = std::env::temp_dir().join(format!("hc-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("history.json");
    let _ = std::fs::remove_file(&file);
    let port = ports.port.to_string();
    let file_arg = file.to_str().unwrap();
    let args = [
        "connect",
        NAME,
        &port,
        "-z",
        "--json",
        "--aaaa",
        "always",
        "--resolve",
        "dual.test=::1,127.0.0.1",
        "--history",
        file_arg,
    ];
    // A missing file: an empty history, then saved.
    let (ok, first, stderr) = tool(&args);
    assert!(ok, "{stderr}");
    assert_eq!(first_attempt_json(&first), "::1", "{stderr}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["format"], "happy-connect history");
    assert_eq!(saved["version"], 1);
    // The next run loads it: IPv4 first.
    let (ok, second, stderr) = tool(&args);
    assert!(ok, "{stderr}");
    assert_eq!(first_attempt_json(&second), "127.0.0.1", "{stderr}");
    assert_eq!(second["history"]["demoted_family"], "IPv6", "{stderr}");
    // A TTL shorter than the time since: forgotten.
    std::thread::sleep(Duration::from_millis(50));
    let mut short = args.to_vec();
    short.extend(["--history-ttl", "20ms"]);
    let (ok, expired, stderr) = tool(&short);
    assert!(ok, "{stderr}");
    assert_eq!(first_attempt_json(&expired), "::1", "{stderr}");
    // A corrupt or foreign file: one warning line, an empty history, and
    // the connect goes on; the file is then replaced whole.
    for junk in [
        &b"{\"format\": \"happy-connect history\", \"vers"[..],
        b"[1, 2, 3]",
        b"\xff\xfe",
    ] {
        std::fs::write(&file, junk).unwrap();
        let (ok, report, stderr) = tool(&args);
        assert!(ok, "{stderr}");
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "{stderr}");
        assert!(warnings[0].contains("ignored"), "{stderr}");
        assert_eq!(first_attempt_json(&report), "::1", "{stderr}");
        let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(saved["version"], 1);
    }
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// -------------------------------------------------------------------- root

/// The scenario on a real network: two namespaces joined by a
/// veth pair, each dual-stack with default routes, and native IPv6 from
/// the client blackholed by an nft rule. Needs root; fails without it.
mod root {
    use std::net::{IpAddr, SocketAddr, TcpListener};
    use std::process::Command;
    use std::time::Duration;

    use happy_connect::history::{History, HistoryConfig};
    use happy_connect::race::Family;
    use happy_connect::{AaaaPolicy, ConnectReport, Connector};
    use netns_harness::Netns;
    use serde_json::Value;

    const CLIENT_V4: &str = "198.51.100.2";
    const SERVER_V4: &str = "198.51.100.1";
    const CLIENT_V6: &str = "2001:db8:64::2";
    const SERVER_V6: &str = "2001:db8:64::1";

    struct Lab {
        client: Netns,
        _server: Netns,
        _listeners: (TcpListener, TcpListener),
        port: u16,
    }

    fn lab() -> Lab {
        let (client, server) = (Netns::new("hch"), Netns::new("hch"));
        client.veth("va", &server, "vb");
        for (ns, dev, v4, v6, gw4, gw6) in [
            (&client, "va", CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6),
            (&server, "vb", SERVER_V4, SERVER_V6, CLIENT_V4, CLIENT_V6),
        ] {
            ns.addr(dev, &format!("{v4}/24"));
            ns.addr(dev, &format!("{v6}/64"));
            ns.ip(&["link", "set", dev, "up"]);
            ns.ip(&["route", "add", "default", "via", gw4, "dev", dev]);
            ns.ip(&["-6", "route", "add", "default", "via", gw6, "dev", dev]);
        }
        let (listeners, port) = server.run(|| {
            loop {
                let v4 = TcpListener::bind((SERVER_V4, 0)).expect("bind in the server namespace");
                let port = v4.local_addr().unwrap().port();
                if let Ok(v6) = TcpListener::bind((SERVER_V6, port)) {
                    break ((v4, v6), port);
                }
            }
        });
        Lab {
            client,
            _server: server,
            _listeners: listeners,
            port,
        }
    }

    impl Lab {
        fn blackhole_ipv6(&self) {
            let ns = &self.client;
            ns.nft(&["add", "table", "inet", "H"]);
            ns.nft(&[
                "add",
                "chain",
                "inet",
                "H",
                "out",
                "{ type filter hook output priority 0; }",
            ]);
            ns.nft(&[
                "add",
                "rule",
                "inet",
                "H",
                "out",
                "ip6",
                "daddr",
                SERVER_V6,
                "tcp",
                "dport",
                &self.port.to_string(),
                "drop",
            ]);
        }

        fn lift(&self) {
            self.client.nft(&["delete", "table", "inet", "H"]);
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn connector(history: &History) -> Connector {
        let mut c = Connector::new();
        c.set_aaaa(AaaaPolicy::Always)
            .set_resolver(
                happy_connect::resolve::StaticResolver::new()
                    .with("dual.test", &[ip(SERVER_V6), ip(SERVER_V4)]),
            )
            .set_history(Some(history.clone()));
        c
    }

    fn connect(lab: &Lab, c: &Connector) -> ConnectReport {
        let report = lab.client.run(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(c.connect("dual.test", lab.port))
                .map(|(_, report)| report)
                .unwrap_or_else(|e| panic!("{e}\n{}", e.report()))
        });
        println!("{report}");
        report
    }

    fn winner(report: &ConnectReport) -> IpAddr {
        report.winner.expect("connected").address.ip()
    }

    #[test]
    fn a_broken_path_costs_its_delay_once_and_is_learned_again_when_repaired() {
        let lab = lab();
        lab.blackhole_ipv6();
        let mut config = HistoryConfig::default();
        config.ttl = Duration::from_millis(1500);
        let history = History::with_config(config);
        let c = connector(&history);

        let first = connect(&lab, &c);
        assert_eq!(winner(&first), ip(SERVER_V4), "{first}");
        assert_eq!(first.attempts[0].address.ip(), ip(SERVER_V6), "{first}");
        assert!(first.total >= Duration::from_millis(240), "{first}");
        let network = first.history.expect("history used").network;
        assert_ne!(network, happy_connect::probe::NetworkId::NONE);

        let second = connect(&lab, &c);
        assert_eq!(winner(&second), ip(SERVER_V4), "{second}");
        assert_eq!(second.attempts.len(), 1, "IPv4 first, alone: {second}");
        assert_eq!(second.history.unwrap().demoted_family, Some(Family::V6));
        println!(
            "history, namespace: first connect {:.1} ms, second {:.2} ms",
            first.total.as_secs_f64() * 1000.0,
            second.total.as_secs_f64() * 1000.0
        );

        // Repaired, and the time to live passed: IPv6 first and winning.
        lab.lift();
        std::thread::sleep(Duration::from_millis(1600));
        let later = connect(&lab, &c);
        assert_eq!(later.attempts[0].address.ip(), ip(SERVER_V6), "{later}");
        assert_eq!(winner(&later), ip(SERVER_V6), "{later}");
    }

    #[test]
    fn the_tool_learns_across_runs_with_a_history_file() {
        let lab = lab();
        lab.blackhole_ipv6();
        let dir = std::env::temp_dir().join(format!("hc-history-ns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("history.json");
        let port = lab.port.to_string();
        let resolve = format!("dual.test={SERVER_V6},{SERVER_V4}");
        let run = || {
            lab.client.run(|| {
                Command::new(env!("CARGO_BIN_EXE_happy-connect"))
                    .args([
                        "connect",
                        "dual.test",
                        &port,
                        "-z",
                        "--json",
                        "--aaaa",
                        "always",
                    ])
                    .args(["--resolve", &resolve, "--history", file.to_str().unwrap()])
                    .output()
                    .expect("the tool runs")
            })
        };
        let report = |out: &std::process::Output| -> Value {
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{text}");
            text.lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .unwrap_or_else(|| panic!("no JSON report: {text}"))
        };
        let first = report(&run());
        let second = report(&run());
        std::fs::remove_dir_all(&dir).unwrap();
        let addr = |v: &Value| v["attempts"][0]["address"].as_str().unwrap().to_owned();
        assert_eq!(addr(&first), SERVER_V6, "{first}");
        assert_eq!(addr(&second), SERVER_V4, "{second}");
        assert_eq!(second["attempts"].as_array().unwrap().len(), 1, "{second}");
        let ms = |v: &Value| v["total_ms"].as_f64().unwrap();
        assert!(
            ms(&first) >= 240.0,
            "the first paid the attempt delay: {first}"
        );
        println!(
            "history through the tool: first {} ms, second {} ms",
            ms(&first),
            ms(&second)
        );
        let winner: SocketAddr = format!("{SERVER_V4}:{port}").parse().unwrap();
        assert_eq!(second["winner"]["address"], winner.ip().to_string());
    }
}
