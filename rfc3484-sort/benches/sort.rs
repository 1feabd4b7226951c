//! Sorting benchmarks: `sort/N` (this crate) against `sort_baseline/N`, a
//! plain `slice::sort_by` whose comparator redoes every policy lookup, for
//! a realistic mix of destinations with known sources; plus one policy
//! lookup and parsing a `gai.conf`.

use std::cmp::Ordering;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{BatchSize, BenchmarkId, Criterion};
use rfc3484_sort::{Destination, Policy, SourceAttrs, sort};

const SIZES: [usize; 4] = [2, 8, 32, 256];

/// `n` destinations cycling through native global IPv6, 6to4, IPv4,
/// Teredo, ULA and link-local, each with the source a host holding one
/// address of each kind would use, in a scrambled order.
fn mixed(n: usize) -> Vec<Destination> {
    let mut dests: Vec<Destination> = (0..n)
        .map(|i| {
            // Truncation is fine: only variety matters.
            let k = i as u16;
            let plain = SourceAttrs::default();
            let tunnel = SourceAttrs {
                tunnel: true,
                ..plain
            };
            let (dest, source, attrs): (IpAddr, IpAddr, SourceAttrs) = match i % 6 {
                0 => (
                    Ipv6Addr::new(0x2001, 0xdb8, k, 0, 0, 0, 0, 1).into(),
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20).into(),
                    plain,
                ),
                1 => (
                    Ipv6Addr::new(0x2002, 0xc633, 0x6400 | (k & 0xff), 0, 0, 0, 0, 1).into(),
                    Ipv6Addr::new(0x2002, 0xc000, 0x0201, 0, 0, 0, 0, 1).into(),
                    tunnel,
                ),
                2 => (
                    Ipv4Addr::new(198, 51, (k >> 8) as u8, k as u8).into(),
                    Ipv4Addr::new(192, 168, 1, 20).into(),
                    plain,
                ),
                3 => (
                    Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, 0x3fff, k).into(),
                    Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 0x1234, 0x5678, 9).into(),
                    tunnel,
                ),
                4 => (
                    Ipv6Addr::new(0xfd12, 0x3456, 0x789a, 1, 0, 0, 0, k).into(),
                    Ipv6Addr::new(0xfd12, 0x3456, 0x789a, 1, 0, 0, 0, 0xffff).into(),
                    plain,
                ),
                _ => (
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, k).into(),
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xffff).into(),
                    plain,
                ),
            };
            Destination::with_source(dest, source, attrs)
        })
        .collect();
    // A fixed scramble, so the input is neither sorted nor reversed.
    let len = dests.len();
    for i in 0..len {
        dests.swap(i, (i * 7 + 3) % len);
    }
    dests
}

/// The straightforward implementation: every comparison looks up
/// precedence, labels and scopes again through the public API.
fn baseline_sort(policy: &Policy, dests: &mut [Destination]) {
    dests.sort_by(|a, b| baseline_compare(policy, a, b));
}

fn baseline_compare(policy: &Policy, a: &Destination, b: &Destination) -> Ordering {
    let (sa, sb) = match (a.source, b.source) {
        (Some(sa), Some(sb)) => (sa, sb),
        (Some(_), None) => return Ordering::Less,
        (None, Some(_)) => return Ordering::Greater,
        (None, None) => {
            return policy
                .precedence(b.addr)
                .cmp(&policy.precedence(a.addr))
                .then_with(|| {
                    policy
                        .scope(a.addr)
                        .value()
                        .cmp(&policy.scope(b.addr).value())
                });
        }
    };
    let prefer = |x: bool, y: bool| y.cmp(&x);
    let scope_a = policy.scope(a.addr);
    let scope_b = policy.scope(b.addr);
    prefer(
        scope_a == policy.scope(sa.addr),
        scope_b == policy.scope(sb.addr),
    )
    .then_with(|| prefer(!sa.attrs.deprecated, !sb.attrs.deprecated))
    .then_with(|| {
        let rank = |s: &SourceAttrs| u8::from(s.home) + u8::from(!s.care_of);
        rank(&sb.attrs).cmp(&rank(&sa.attrs))
    })
    .then_with(|| {
        prefer(
            policy.label(sa.addr) == policy.label(a.addr),
            policy.label(sb.addr) == policy.label(b.addr),
        )
    })
    .then_with(|| policy.precedence(b.addr).cmp(&policy.precedence(a.addr)))
    .then_with(|| prefer(!sa.attrs.tunnel, !sb.attrs.tunnel))
    .then_with(|| scope_a.value().cmp(&scope_b.value()))
    .then_with(|| {
        let common = |d: IpAddr, s: IpAddr| match (d, s) {
            (IpAddr::V6(d), IpAddr::V6(s)) => {
                Some((u128::from(d) ^ u128::from(s)).leading_zeros().min(64))
            }
            _ => None,
        };
        match (common(a.addr, sa.addr), common(b.addr, sb.addr)) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => Ordering::Equal,
        }
    })
}

fn bench_sort(c: &mut Criterion) {
    let policy = Policy::rfc6724();
    let mut group = c.benchmark_group("sort");
    for n in SIZES {
        let input = mixed(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |mut dests| {
                    sort(&policy, &mut dests);
                    dests
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();

    let mut group = c.benchmark_group("sort_baseline");
    for n in SIZES {
        let input = mixed(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |mut dests| {
                    baseline_sort(&policy, &mut dests);
                    dests
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let policy = Policy::rfc6724();
    let addrs: [IpAddr; 4] = [
        "2001:db8::1".parse().unwrap(),
        "192.0.2.1".parse().unwrap(),
        "2001:0:4136:e378::1".parse().unwrap(),
        "fd00::1".parse().unwrap(),
    ];
    let mut i = 0;
    c.bench_function("policy_lookup", |b| {
        b.iter(|| {
            i = (i + 1) % addrs.len();
            let addr = black_box(addrs[i]);
            (policy.precedence(addr), policy.label(addr))
        });
    });
}

const GAI_CONF: &str = "\
# /etc/gai.conf: prefer IPv4 over Teredo, keep the RFC 6724 labels.
reload no
label ::1/128 0
label ::/0 1
label ::ffff:0:0/96 4
label 2002::/16 2
label 2001::/32 5
label fc00::/7 13
precedence ::1/128 50
precedence ::/0 40
precedence ::ffff:0:0/96 35
precedence 2002::/16 30
precedence 2001::/32 5   # Teredo last
scopev4 169.254.0.0/16 2
scopev4 127.0.0.0/8 2
scopev4 0.0.0.0/0 14
";

fn bench_gai_conf(c: &mut Criterion) {
    c.bench_function("gai_conf_parse", |b| {
        b.iter(|| Policy::from_gai_conf(black_box(GAI_CONF)));
    });
}

// Written out rather than with `criterion_group!`, whose generated public
// function has no documentation for the workspace's `missing_docs` lint.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_sort(&mut c);
    bench_lookup(&mut c);
    bench_gai_conf(&mut c);
    c.final_summary();
}
