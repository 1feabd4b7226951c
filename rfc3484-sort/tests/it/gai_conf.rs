//! `gai.conf` files: each keyword, table replacement, comments, and every
//! kind of error with its line number.

use rfc3484_sort::{GaiConfError, Policy, sort};
use teredo_addr::Scope;

use crate::{addrs, dest, ip, tunnelled};

#[test]
fn each_keyword() {
    let text = "\
# A comment line, then a blank one.

label ::1/128 0   # trailing comment
label ::/0 1
label 2001::/32 9
precedence ::/0 40
precedence ::ffff:0:0/96 45
scopev4 ::ffff:10.0.0.0/104 5
scopev4 0.0.0.0/0 14
reload yes
\treload\tno\t
";
    let p = Policy::from_gai_conf(text).unwrap();
    assert_eq!(p.name(), "gai.conf");
    assert_eq!(p.label(ip("::1")), 0);
    assert_eq!(p.label(ip("2001:0:1::1")), 9);
    assert_eq!(p.label(ip("2001:db8::1")), 1);
    assert_eq!(
        p.label(ip("192.0.2.1")),
        1,
        "no ::ffff:0:0/96 label row left"
    );
    assert_eq!(p.precedence(ip("192.0.2.1")), 45);
    assert_eq!(
        p.precedence(ip("::1")),
        40,
        "the precedence table was replaced"
    );
    assert_eq!(p.scope(ip("10.9.9.9")), Scope::SiteLocal);
    assert_eq!(p.scope(ip("127.0.0.1")), Scope::Global, "scopev4 replaced");
    assert_eq!(p.scopev4_table().len(), 2);
}

/// As glibc does, a table the file gives without a catch-all row gets
/// one (`precedence ::/0 40`, `label ::/0 1`, `scopev4 0.0.0.0/0 14`), so
/// that what no line matches is not ranked below everything.
#[test]
fn a_table_without_a_catch_all_row_gets_glibcs() {
    // The classic "Teredo last" line alone keeps Teredo last.
    let p = Policy::from_gai_conf("precedence 2001::/32 5\n").unwrap();
    assert_eq!(p.precedence(ip("2001:db8::1")), 40);
    assert_eq!(p.precedence(ip("192.0.2.1")), 40);
    assert_eq!(p.precedence(ip("2001:0:4136:e378::1")), 5);
    let mut dests = vec![
        dest("2001:0:4136:e378::1", "2001:0:4136:e378::2"),
        dest("192.0.2.1", "192.0.2.2"),
        dest("2001:db8::1", "2001:db8::2"),
    ];
    sort(&p, &mut dests);
    assert_eq!(
        addrs(&dests).last().map(String::as_str),
        Some("2001:0:4136:e378::1")
    );

    let p = Policy::from_gai_conf("label 2002::/16 2\n").unwrap();
    assert_eq!(p.label(ip("2001:db8::1")), 1);
    assert_eq!(p.label_table().len(), 2);

    let p = Policy::from_gai_conf("scopev4 10.0.0.0/8 5\n").unwrap();
    assert_eq!(p.scope(ip("10.1.2.3")), Scope::SiteLocal);
    assert_eq!(
        p.scope(ip("127.0.0.1")),
        Scope::Global,
        "glibc's 0.0.0.0/0 14"
    );
    assert_eq!(p.scopev4_table().len(), 2);

    // A file with its own catch-all gets no second one.
    let p = Policy::from_gai_conf("precedence ::/0 7\nprecedence ::1/128 50\n").unwrap();
    assert_eq!(p.precedence_table().len(), 2);
    assert_eq!(p.precedence(ip("2001:db8::1")), 7);
}

#[test]
fn unmentioned_kinds_keep_glibc_defaults() {
    let p = Policy::from_gai_conf("precedence ::ffff:0:0/96 100\n").unwrap();
    let glibc = Policy::glibc();
    assert_eq!(p.label_table(), glibc.label_table());
    assert_eq!(p.scopev4_table(), glibc.scopev4_table());
    assert_eq!(p.precedence_table().len(), 2, "the line and glibc's ::/0");
    assert_eq!(p.precedence(ip("2001:db8::1")), 40, "glibc's ::/0 row");
    // The classic "prefer IPv4" edit puts IPv4 first.
    let mut dests = vec![
        dest("2001:db8::1", "2001:db8::2"),
        dest("192.0.2.1", "192.0.2.2"),
    ];
    sort(&p, &mut dests);
    assert_eq!(addrs(&dests), ["192.0.2.1", "2001:db8::1"]);
}

#[test]
fn windows_like_file_demotes_teredo() {
    let text = "\
precedence ::1/128 50
precedence ::/0 40
precedence 2002::/16 30
precedence ::/96 20
precedence ::ffff:0:0/96 10
precedence 2001::/32 5
";
    let p = Policy::from_gai_conf(text).unwrap();
    let mut dests = vec![
        tunnelled("2001:0:4136:e378::1", "2001:0:4136:e378::2"),
        dest("192.0.2.1", "192.0.2.2"),
    ];
    sort(&p, &mut dests);
    assert_eq!(addrs(&dests), ["192.0.2.1", "2001:0:4136:e378::1"]);
}

#[test]
fn first_of_duplicate_prefixes_wins_and_masks_are_normalised() {
    let p = Policy::from_gai_conf(
        "precedence 2001:db8::1/32 7\nprecedence 2001:db8::/32 8\nprecedence ::/0 1\nprecedence ::2 3",
    )
    .unwrap();
    assert_eq!(p.precedence(ip("2001:db8:ffff::1")), 7);
    assert_eq!(p.precedence(ip("::2")), 3, "a bare address is a /128");
    assert_eq!(p.precedence(ip("::3")), 1);
    assert_eq!(p.precedence_table()[0].len, 128);
}

#[test]
fn crlf_and_whitespace() {
    let p = Policy::from_gai_conf("label ::/0 1\r\n  label\t::1/128\t0  \r\n").unwrap();
    assert_eq!(p.label(ip("::1")), 0);
    assert_eq!(p.label(ip("::2")), 1);
}

fn error(text: &str) -> GaiConfError {
    Policy::from_gai_conf(text).unwrap_err()
}

#[test]
fn the_message_in_the_brief() {
    let text = "# comment\n\nprecedence ::1/129 50\n";
    assert_eq!(
        error(text).to_string(),
        "gai.conf line 3: \"precedence ::1/129 50\": prefix length 129 is over 128"
    );
}

#[test]
fn each_error_kind_with_its_line() {
    let good = "label ::/0 1\n# fine\n";
    let cases: &[(&str, &str)] = &[
        ("lable ::/0 1", "unknown keyword \"lable\""),
        ("Label ::/0 1", "unknown keyword \"Label\""),
        ("label", "missing mask"),
        ("precedence ::/0", "missing precedence"),
        ("scopev4 10.0.0.0/8", "missing scope"),
        ("reload", "missing yes or no"),
        ("label ::/0 1 2", "unexpected extra field \"2\""),
        ("reload yes please", "unexpected extra field \"please\""),
        ("label 1.2.3.4/8 1", "\"1.2.3.4\" is not an IPv6 address"),
        ("label fe80::zz/10 1", "\"fe80::zz\" is not an IPv6 address"),
        (
            "scopev4 fe80::/10 2",
            "\"fe80::\" is not an IPv4 or IPv4-mapped IPv6 address",
        ),
        ("label ::/ 1", "missing prefix length after \"/\""),
        ("label ::/ten 1", "prefix length \"ten\" is not a number"),
        ("label ::/-1 1", "prefix length \"-1\" is not a number"),
        ("precedence ::1/129 50", "prefix length 129 is over 128"),
        ("scopev4 10.0.0.0/33 5", "prefix length 33 is over 32"),
        (
            "scopev4 ::ffff:10.0.0.0/95 5",
            "prefix length 95 is under 96",
        ),
        (
            "scopev4 ::ffff:10.0.0.0/129 5",
            "prefix length 129 is over 128",
        ),
        ("precedence ::/0 4x", "precedence \"4x\" is not a number"),
        (
            "label ::/0 4294967296",
            "label 4294967296 is over 2147483647",
        ),
        ("scopev4 10.0.0.0/8 99", "scope 99 is over 15"),
        ("reload true", "reload takes yes or no, not \"true\""),
    ];
    for (bad, reason) in cases {
        let text = format!("{good}{bad}   # the bad line\nlabel ::1/128 0\n");
        let err = error(&text);
        assert_eq!(err.line(), 3, "{bad}");
        assert_eq!(err.text(), *bad);
        let want = format!("gai.conf line 3: \"{bad}\": {reason}");
        assert!(err.to_string().starts_with(&want), "{err} vs {want}");
        // The error is a std error too.
        let _: &dyn std::error::Error = &err;
    }
}

#[test]
fn error_variants_carry_their_fields() {
    match error("\n\nfrobnicate ::/0 1") {
        GaiConfError::UnknownKeyword { line, keyword, .. } => {
            assert_eq!((line, keyword.as_str()), (3, "frobnicate"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        error("label ::/0"),
        GaiConfError::MissingField { field: "label", .. }
    ));
    assert!(matches!(
        error("scopev4 1.2.3.4/40 1"),
        GaiConfError::BadPrefixLength {
            min: 0,
            max: 32,
            ..
        }
    ));
}

#[test]
fn text_is_quoted_safely() {
    let err = error("label \"\u{7}\" 1");
    let msg = err.to_string();
    assert!(msg.contains("\\u{7}"), "{msg}");
}

/// A table of more rows than 16 bits count is looked up whole: its last
/// row as well as its first.
#[test]
fn a_table_of_seventy_thousand_rows_is_looked_up_whole() {
    let mut text = String::from("precedence ::/0 40\n");
    for i in 0..70_000u32 {
        text.push_str(&format!(
            "precedence 2001:db8:{:x}:{:x}::/64 7\n",
            i >> 16,
            i & 0xffff
        ));
    }
    let p = Policy::from_gai_conf(&text).unwrap();
    for i in [0u32, 65_000, 65_535, 65_536, 69_999] {
        let addr = format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff);
        assert_eq!(p.precedence(ip(&addr)), 7, "{addr}");
    }
    assert_eq!(p.precedence(ip("2001:db8:1:ffff::1")), 40);
}
