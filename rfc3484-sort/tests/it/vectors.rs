//! The RFC 6724 §10.2 and RFC 3484 §10 examples, and the default tables,
//! from the JSON files in `tests/data`.

use std::net::Ipv6Addr;

use rfc3484_sort::{
    Destination, Policy, PolicyEntry, Rule, SourceAttrs, SourceCandidate, explain, select_source,
    sort,
};
use serde_json::Value;

use crate::{ip, policy_named};

const EXAMPLES: &str = include_str!("../data/address-selection-examples.json");
const TABLES: &str = include_str!("../data/policy-tables.json");

/// The attributes an example gives a source address.
fn attrs_of(case: &Value, source: &str) -> SourceAttrs {
    let Some(attrs) = case.get("source_attrs").and_then(|a| a.get(source)) else {
        return SourceAttrs::default();
    };
    let flag = |name: &str| attrs.get(name).and_then(Value::as_bool).unwrap_or(false);
    SourceAttrs {
        deprecated: flag("deprecated"),
        home: flag("home"),
        care_of: flag("care_of"),
        tunnel: flag("tunnel"),
        temporary: flag("temporary"),
        prefix_len: attrs
            .get("prefix_len")
            .and_then(Value::as_u64)
            .map(|n| u8::try_from(n).expect("prefix_len")),
    }
}

fn cases() -> Vec<Value> {
    let doc: Value = serde_json::from_str(EXAMPLES).expect("examples JSON");
    doc["cases"].as_array().expect("cases").clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

fn destinations(case: &Value) -> Vec<Destination> {
    strings(&case["destinations"])
        .iter()
        .map(|d| {
            let source = case["sources"][d.as_str()]
                .as_str()
                .map(|s| rfc3484_sort::Source {
                    addr: ip(s),
                    attrs: attrs_of(case, s),
                });
            Destination {
                addr: ip(d),
                source,
            }
        })
        .collect()
}

#[test]
fn every_example_sorts_as_the_rfc_says() {
    let cases = cases();
    assert_eq!(cases.len(), 19);
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let policy = policy_named(case["policy"].as_str().expect("policy"));
        let expected = strings(&case["expected"]);
        let input = destinations(case);
        // The rules decide every example, so the input order must not matter.
        for reversed in [false, true] {
            let mut dests = input.clone();
            if reversed {
                dests.reverse();
            }
            sort(&policy, &mut dests);
            assert_eq!(
                crate::addrs(&dests),
                expected,
                "{name} (reversed: {reversed})"
            );
        }
    }
}

#[test]
fn explain_names_the_rule_in_the_note() {
    for case in &cases() {
        let name = case["name"].as_str().expect("name");
        let note = case["note"].as_str().expect("note");
        let Some(number) = note
            .strip_prefix("Rule ")
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u8>().ok())
        else {
            continue;
        };
        let policy = policy_named(case["policy"].as_str().expect("policy"));
        let mut dests = destinations(case);
        sort(&policy, &mut dests);
        let rules = explain(&policy, &dests);
        assert_eq!(rules.len(), dests.len() - 1);
        for rule in rules {
            assert_eq!(rule.number(), number, "{name}: {rule}");
        }
    }
}

#[test]
fn explain_agrees_on_the_unnumbered_examples() {
    let wanted = [
        ("rfc3484-10.3-prefer-ipv4-unchanged-1", Rule::MatchScope),
        ("rfc3484-10.3-prefer-ipv4-unchanged-2", Rule::MatchScope),
        (
            "rfc3484-10.3-prefer-ipv4-new-result",
            Rule::HigherPrecedence,
        ),
    ];
    let cases = cases();
    for (name, rule) in wanted {
        let case = cases
            .iter()
            .find(|c| c["name"] == name)
            .expect("case present");
        let policy = policy_named(case["policy"].as_str().expect("policy"));
        let mut dests = destinations(case);
        sort(&policy, &mut dests);
        assert_eq!(explain(&policy, &dests), [rule], "{name}");
    }
}

#[test]
fn select_source_picks_the_examples_sources() {
    for case in &cases() {
        let name = case["name"].as_str().expect("name");
        let policy = policy_named(case["policy"].as_str().expect("policy"));
        let candidates: Vec<SourceCandidate> = strings(&case["candidate_sources"])
            .iter()
            .map(|s| SourceCandidate::new(ip(s), attrs_of(case, s)))
            .collect();
        for d in strings(&case["destinations"]) {
            let Some(want) = case["sources"][d.as_str()].as_str() else {
                continue;
            };
            let got =
                select_source(&policy, ip(&d), &candidates).map(|i| candidates[i].addr.to_string());
            assert_eq!(got.as_deref(), Some(want), "{name}: source for {d}");
        }
    }
}

/// The rows of a JSON table as (prefix, len, values...).
fn parse_prefix(prefix: &str) -> (Ipv6Addr, u8) {
    let (addr, len) = prefix.split_once('/').expect("prefix/len");
    (addr.parse().expect("IPv6"), len.parse().expect("len"))
}

fn sorted(mut rows: Vec<PolicyEntry>) -> Vec<PolicyEntry> {
    rows.sort_by_key(|e| (std::cmp::Reverse(e.len), u128::from(e.prefix)));
    rows
}

fn check_rfc_table(policy: &Policy, rows: &Value) {
    let mut precedence = Vec::new();
    let mut label = Vec::new();
    for row in rows.as_array().expect("rows") {
        let (prefix, len) = parse_prefix(row[0].as_str().expect("prefix"));
        let value = |i: usize| u32::try_from(row[i].as_u64().expect("number")).expect("u32");
        precedence.push(PolicyEntry::new(prefix, len, value(1)));
        label.push(PolicyEntry::new(prefix, len, value(2)));
        // The lookup of the prefix's own address must give the row's values
        // unless a longer row also covers it (only `::` does: `::/96`).
        if len > 0 {
            let addr = std::net::IpAddr::V6(prefix);
            assert_eq!(
                policy.precedence(addr),
                value(1),
                "{} {prefix}",
                policy.name()
            );
            assert_eq!(policy.label(addr), value(2), "{} {prefix}", policy.name());
        }
    }
    assert_eq!(
        sorted(policy.precedence_table().to_vec()),
        sorted(precedence)
    );
    assert_eq!(sorted(policy.label_table().to_vec()), sorted(label));
}

#[test]
fn built_in_tables_match_the_json() {
    let tables: Value = serde_json::from_str(TABLES).expect("tables JSON");
    check_rfc_table(&Policy::rfc6724(), &tables["rfc6724"]);
    check_rfc_table(&Policy::rfc3484(), &tables["rfc3484"]);
    check_rfc_table(&Policy::windows(), &tables["windows-vista-7"]);

    let glibc = Policy::glibc();
    let g = &tables["glibc-default"];
    let one_value = |rows: &Value| {
        sorted(
            rows.as_array()
                .expect("rows")
                .iter()
                .map(|row| {
                    let (prefix, len) = parse_prefix(row[0].as_str().expect("prefix"));
                    let value = u32::try_from(row[1].as_u64().expect("n")).expect("u32");
                    PolicyEntry::new(prefix, len, value)
                })
                .collect(),
        )
    };
    assert_eq!(sorted(glibc.label_table().to_vec()), one_value(&g["label"]));
    assert_eq!(
        sorted(glibc.precedence_table().to_vec()),
        one_value(&g["precedence"])
    );
    let scopes: Vec<(String, u8)> = glibc
        .scopev4_table()
        .iter()
        .map(|e| (format!("{}/{}", e.prefix, e.len), e.scope.value()))
        .collect();
    let want: Vec<(String, u8)> = g["scopev4"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let scope = u8::try_from(row[1].as_u64().expect("n")).expect("u8");
            (row[0].as_str().expect("prefix").to_owned(), scope)
        })
        .collect();
    let mut scopes_sorted = scopes.clone();
    scopes_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(scopes_sorted, want_sorted);
}
