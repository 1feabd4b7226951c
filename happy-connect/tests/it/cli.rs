//! The command-line tool, run as a user would run it: arguments in,
//! standard output, standard error and the exit status out.

use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_happy-connect"))
        .args(args)
        .output()
        .expect("the happy-connect binary runs")
}

/// Runs a command that must succeed and print JSON.
fn json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Runs a command that must fail with `code` and one line on stderr
/// containing `needle`; returns that line.
fn fails(args: &[&str], code: i32, needle: &str) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: stderr {stderr:?}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: want one line, got {stderr:?}"
    );
    assert!(
        stderr.contains(needle),
        "{args:?}: {stderr:?} lacks {needle:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?}: nothing on stdout on failure"
    );
    stderr
}

fn order(v: &Value) -> Vec<String> {
    v["order"]
        .as_array()
        .expect("order array")
        .iter()
        .map(|e| e["address"].as_str().expect("address").to_owned())
        .collect()
}

#[test]
fn teredo_decodes_the_rfc_example() {
    let v = json(&["teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "--json"]);
    assert_eq!(v["address"], "2001:0:4136:e378:8000:63bf:3fff:fdd2");
    assert_eq!(v["server"], "65.54.227.120");
    assert_eq!(v["client"], "192.0.2.45");
    assert_eq!(v["port"], 40000);
    assert_eq!(v["flags"], 0x8000);
    assert_eq!(v["cone"], true);
}

#[test]
fn teredo_human_output_names_every_field() {
    let out = run(&["teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for field in ["65.54.227.120", "192.0.2.45", "40000", "0x8000", "cone"] {
        assert!(text.contains(field), "{text:?} lacks {field}");
    }
}

#[test]
fn teredo_rejects_other_addresses_with_status_1() {
    fails(&["teredo", "2001:db8::1"], 1, "2001:db8::1");
    fails(
        &["teredo", "2002:c000:22d::1", "--json"],
        1,
        "2002:c000:22d::1",
    );
}

#[test]
fn teredo_rejects_text_that_is_not_an_address_with_status_2() {
    fails(&["teredo", "not-an-address"], 2, "not-an-address");
    fails(&["teredo", "192.0.2.1"], 2, "192.0.2.1");
}

#[test]
fn classify_reports_kind_scope_precedence_and_label() {
    let v = json(&[
        "classify",
        "--json",
        "--policy",
        "windows",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2002:c000:22d::1",
        "192.0.2.45",
        "fe80::1",
    ]);
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["kind"], "teredo");
    assert_eq!(rows[0]["precedence"], 5);
    assert_eq!(rows[0]["label"], 5);
    assert_eq!(rows[1]["kind"], "6to4");
    assert_eq!(rows[1]["precedence"], 30);
    assert_eq!(rows[2]["scope"], "global");
    assert_eq!(rows[2]["precedence"], 10);
    assert_eq!(rows[3]["scope"], "link-local");
    for row in rows {
        for key in ["address", "kind", "scope", "precedence", "label"] {
            assert!(row.get(key).is_some(), "{row} lacks {key}");
        }
    }
}

#[test]
fn classify_default_policy_is_rfc6724() {
    let v = json(&["classify", "--json", "192.0.2.45"]);
    assert_eq!(v[0]["precedence"], 35);
    assert_eq!(v[0]["label"], 4);
}

#[test]
fn sort_example_under_windows_gives_native_6to4_ipv4_teredo() {
    let v = json(&["sort", "--example", "--policy", "windows", "--json"]);
    assert_eq!(v["policy"], "windows");
    assert_eq!(
        order(&v),
        [
            "2001:db8:1::10",
            "2002:cb00:7101::10",
            "198.51.100.20",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2"
        ]
    );
    let rules: Vec<&Value> = v["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["rule"])
        .collect();
    assert_eq!(
        rules.last().copied(),
        Some(&Value::Null),
        "the last entry has no rule"
    );
    assert_eq!(*rules[1], 6, "6to4 before IPv4 by precedence");
}

const TEREDO_DEST: &str =
    "2001:0:4136:e378:8000:63bf:3fff:fdd2@2001:0:c633:640a:8000:f227:bd6a:13fe,tunnel";
const IPV4_DEST: &str = "198.51.100.20@192.0.2.45";

#[test]
fn sort_ipv4_before_teredo_under_rfc6724_and_windows() {
    for policy in ["rfc6724", "windows"] {
        let v = json(&["sort", "--json", "--policy", policy, TEREDO_DEST, IPV4_DEST]);
        assert_eq!(order(&v)[0], "198.51.100.20", "{policy}: {v}");
        assert_eq!(v["order"][0]["rule"], 6, "{policy}: precedence decides");
    }
}

#[test]
fn sort_teredo_before_ipv4_under_glibc_default_table() {
    let v = json(&[
        "sort",
        "--json",
        "--policy",
        "glibc",
        IPV4_DEST,
        TEREDO_DEST,
    ]);
    assert_eq!(order(&v)[0], "2001:0:4136:e378:8000:63bf:3fff:fdd2", "{v}");
}

#[test]
fn sort_puts_unusable_destinations_last_by_rule_1() {
    let v = json(&["sort", "--json", "2001:db8:1::1@-", IPV4_DEST]);
    assert_eq!(order(&v), ["198.51.100.20", "2001:db8:1::1"]);
    assert_eq!(v["order"][0]["rule"], 1);
    assert_eq!(v["order"][1]["source"], Value::Null);
}

#[test]
fn sort_explain_names_the_rule() {
    let out = run(&[
        "sort",
        "--explain",
        "--policy",
        "windows",
        TEREDO_DEST,
        IPV4_DEST,
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule 6"), "{text}");
}

#[test]
fn sort_honours_a_gai_conf_file() {
    let dir = std::env::temp_dir().join(format!("hc-gai-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.conf");
    // Prefer IPv4 over everything, as the gai.conf(5) example does.
    std::fs::write(&good, "# prefer IPv4\nprecedence ::ffff:0:0/96 100\n").unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "label ::1/128 0\nprecedence ::1/129 50\n").unwrap();

    let policy = format!("gai:{}", good.display());
    let v = json(&[
        "sort",
        "--json",
        "--policy",
        &policy,
        "2001:db8:1::1@2001:db8:1::2",
        IPV4_DEST,
    ]);
    assert_eq!(order(&v)[0], "198.51.100.20", "{v}");

    let policy = format!("gai:{}", bad.display());
    let line = fails(&["sort", "--policy", &policy, IPV4_DEST], 2, "line 2");
    assert!(line.contains("129"), "{line}");

    let missing = format!("gai:{}", dir.join("missing.conf").display());
    fails(
        &["sort", "--policy", &missing, IPV4_DEST],
        2,
        "missing.conf",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sort_rejects_bad_destinations_with_status_2() {
    fails(&["sort", "fe80::1%"], 2, "empty zone");
    fails(&["sort", "2001:db8::zz@2001:db8::2"], 2, "2001:db8::zz");
    fails(&["sort", "2001:db8::1@2001:db8::2,fast"], 2, "\"fast\"");
    fails(&["sort", "2001:db8::1@2001:db8::2,plen=129"], 2, "129");
    fails(&["sort", "2001:db8::1@-,tunnel"], 2, "no source");
    fails(&["sort", "--policy", "bsd", IPV4_DEST], 2, "bsd");
}

#[test]
fn usage_errors_are_one_line_with_status_2() {
    fails(&["sort", "--no-such-flag"], 2, "--no-such-flag");
    fails(&["classify"], 2, "ADDR");
    fails(&["frobnicate"], 2, "frobnicate");
}

#[test]
fn probe_json_lists_interfaces_and_capabilities() {
    // --no-nat64: no Router Solicitation out of the host's interfaces and
    // no ipv4only.arpa query to its resolver (the lab tests those, in its
    // namespaces).
    let v = json(&["probe", "--json", "--no-nat64"]);
    assert!(v.get("nat64").is_none(), "{v}");
    let caps = &v["capabilities"];
    for key in ["ipv4", "native_ipv6", "sixtofour", "teredo", "teredo_only"] {
        assert!(caps[key].is_boolean(), "capabilities.{key} in {v}");
    }
    let ifaces = v["interfaces"].as_array().expect("interfaces");
    let lo = ifaces
        .iter()
        .find(|i| i["kind"] == "loopback")
        .expect("a loopback interface");
    for key in ["index", "name", "kind", "up", "mtu", "addresses"] {
        assert!(lo.get(key).is_some(), "interface lacks {key}: {lo}");
    }
    let v4 = lo["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == "127.0.0.1")
        .expect("127.0.0.1 on loopback");
    assert_eq!(v4["prefix_len"], 8);
    assert_eq!(v4["class"], "ipv4-loopback");
    assert!(v4["flags"].is_array());
    // Loopback is listed after every interface that can reach a network.
    assert_eq!(ifaces.last().unwrap()["kind"], "loopback", "{v}");
}

#[test]
fn wait_stable_returns_at_once_for_a_stable_address() {
    let v = json(&[
        "wait-stable",
        "--address",
        "127.0.0.1",
        "--timeout",
        "2s",
        "--json",
    ]);
    assert_eq!(v["stable"], true, "{v}");
    assert!(v["waited_ms"].as_f64().unwrap() < 1000.0, "{v}");
    assert_eq!(v["addresses"][0]["address"], "127.0.0.1");
}

#[test]
fn wait_stable_times_out_with_what_is_pending() {
    // 192.0.2.0/24 is for documentation: no test host carries 192.0.2.254.
    let out = run(&[
        "wait-stable",
        "--address",
        "192.0.2.254",
        "--timeout",
        "200ms",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON even on timeout");
    assert_eq!(v["stable"], false);
    assert_eq!(v["pending"][0]["address"], "192.0.2.254", "{v}");
    assert!(v["waited_ms"].as_f64().unwrap() >= 200.0, "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("192.0.2.254") && stderr.contains("not present"),
        "{stderr}"
    );
}

#[test]
fn wait_stable_rejects_bad_arguments() {
    fails(&["wait-stable", "--timeout", "soon"], 2, "soon");
    fails(&["wait-stable", "--timeout", "3h"], 2, "unit");
    fails(&["wait-stable", "--iface", "lo", "--teredo"], 2, "--teredo");
    fails(&["wait-stable", "--address", "::zz"], 2, "::zz");
}

#[test]
fn sort_asks_the_kernel_for_missing_sources() {
    let v = json(&["sort", "--json", "127.0.0.1", "::1"]);
    let order = v["order"].as_array().unwrap();
    // ::1 has precedence 50 under RFC 6724, 127.0.0.1 35.
    assert_eq!(order[0]["address"], "::1");
    assert_eq!(order[0]["source"], "::1");
    assert_eq!(order[1]["source"], "127.0.0.1");
    fails(&["sort", "fe80::1%no-such-if0"], 2, "no-such-if0");
    fails(&["sort", "192.0.2.1%lo"], 2, "zone");
}

#[test]
fn demo_runs_without_root_or_network_and_says_where_next() {
    let out = run(&["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "connected to 127.0.0.1:",
        "refused",
        "AAAA not sent: the host is Teredo-only",
        "glibc default:",
        "race      : connected over IPv4 after 251 ms",
        "IPv6-only host behind NAT64",
        "-> prefix 2001:db8:64::/96 (RFC 7050)",
        "connect 198.51.100.50: no IPv4 route, so 2001:db8:64::c633:6432 (synthesized)",
        "NAT64 as IPv4:         2a00:1::10 (native-global) >[5] 2001:db8:64::c633:6432 (nat64)",
        "Where next",
    ] {
        assert!(
            text.contains(needle),
            "demo output lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn connect_reports_json_on_stderr_and_closes_with_z() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = run(&["connect", "127.0.0.1", &port, "-z", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stderr).expect("JSON report on stderr");
    assert_eq!(report["host"], "127.0.0.1");
    assert_eq!(report["winner"]["address"], "127.0.0.1", "{report}");
    assert_eq!(report["attempts"][0]["outcome"], "connected");
    assert!(report["attempts"][0]["start_ms"].is_number());
    assert!(report["total_ms"].is_number());
    assert_eq!(
        report["queries"].as_array().map(Vec::len),
        Some(0),
        "a literal needs no DNS"
    );
}

#[test]
fn connect_relays_stdin_and_stdout() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        conn.write_all(format!("echo: {got}").as_bytes()).unwrap();
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_happy-connect"))
        .args(["connect", "127.0.0.1", &port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ping").unwrap();
    let out = child.wait_with_output().unwrap();
    server.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "echo: ping");
    assert!(String::from_utf8_lossy(&out.stderr).contains("connected to 127.0.0.1"));
}

#[test]
fn connect_failure_exits_1_with_every_attempt() {
    // Bind then drop: the port is (almost certainly) closed on both families.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let out = run(&["connect", "127.0.0.1", &port, "-z"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("all 1 attempts failed"),
        "{stderr}"
    );
}

#[test]
fn connect_and_resolve_reject_bad_arguments() {
    fails(&["connect", "localhost", "99999"], 2, "99999");
    fails(
        &["connect", "localhost", "80", "--strategy", "fastest"],
        2,
        "fastest",
    );
    fails(
        &["connect", "localhost", "80", "--timeout", "x"],
        2,
        "\"x\"",
    );
    fails(
        &["resolve", "localhost", "--aaaa", "sometimes"],
        2,
        "sometimes",
    );
    fails(&["resolve", "localhost", "--policy", "nope"], 2, "nope");
}

#[test]
fn resolve_localhost_lists_queries_and_order() {
    let v = json(&["resolve", "localhost", "--json", "--aaaa", "always"]);
    assert_eq!(v["name"], "localhost");
    let queries = v["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[0]["type"], "A");
    assert_eq!(queries[1]["type"], "AAAA");
    assert_eq!(queries[1]["sent"], true);
    assert_eq!(queries[1]["reason"], "AAAA policy is always");
    let order: Vec<&str> = v["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert!(order.contains(&"127.0.0.1"), "{v}");

    let v = json(&["resolve", "localhost", "--json", "--aaaa", "never"]);
    assert_eq!(v["queries"][1]["sent"], false);
    assert_eq!(v["queries"][1]["reason"], "AAAA policy is never");
}

#[test]
fn probe_and_demo_reject_bad_arguments() {
    fails(&["probe", "--yaml"], 2, "--yaml");
    fails(&["probe", "eth0"], 2, "eth0");
    fails(&["probe", "--ra-wait", "soon"], 2, "soon");
    fails(&["demo", "--fast"], 2, "--fast");
}
