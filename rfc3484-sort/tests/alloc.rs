//! Proves that `sort` of up to 32 destinations, and cloning a policy, do
//! not touch the heap: a counting global allocator wraps the system one
//! for this test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rfc3484_sort::{Destination, Policy, SourceAttrs, sort};

/// Counts the allocations made by the current thread, so the other tests
/// the harness runs in parallel do not disturb the count.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` unchanged; the counter is a
// const-initialised thread local, which never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `realloc`'s contract, passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// `n` destinations of mixed kinds, each with a source.
fn mixed(n: usize) -> Vec<Destination> {
    (0..n)
        .map(|i| {
            let k = u8::try_from(i).expect("small n");
            let (dest, source): (IpAddr, IpAddr) = match i % 6 {
                0 => (
                    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, u16::from(k)).into(),
                    Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1).into(),
                ),
                1 => (
                    Ipv6Addr::new(0x2002, 0xc633, 0x6401, 0, 0, 0, 0, u16::from(k)).into(),
                    Ipv6Addr::new(0x2002, 0xc633, 0x6402, 0, 0, 0, 0, 1).into(),
                ),
                2 => (
                    Ipv4Addr::new(198, 51, 100, k).into(),
                    Ipv4Addr::new(192, 168, 1, 20).into(),
                ),
                3 => (
                    Ipv6Addr::new(
                        0x2001,
                        0,
                        0x4136,
                        0xe378,
                        0x8000,
                        0x63bf,
                        0x3fff,
                        u16::from(k),
                    )
                    .into(),
                    Ipv6Addr::new(0x2001, 0, 0x4136, 0xe378, 0x8000, 1, 2, 3).into(),
                ),
                4 => (
                    Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, u16::from(k)).into(),
                    Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 0xffff).into(),
                ),
                _ => (
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(k)).into(),
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xffff).into(),
                ),
            };
            Destination::with_source(dest, source, SourceAttrs::default())
        })
        .collect()
}

fn allocations_while_sorting(policy: &Policy, n: usize) -> usize {
    let mut dests = mixed(n);
    dests.reverse();
    let before = allocations();
    sort(policy, &mut dests);
    let during = allocations() - before;
    assert_eq!(dests.len(), n);
    during
}

#[test]
fn sorting_8_and_32_does_not_allocate() {
    for policy in [
        Policy::rfc6724(),
        Policy::rfc3484(),
        Policy::windows(),
        Policy::glibc(),
    ] {
        for n in [0, 1, 2, 8, 32] {
            assert_eq!(
                allocations_while_sorting(&policy, n),
                0,
                "{} with {n}",
                policy.name()
            );
        }
    }
}

#[test]
fn the_counter_works() {
    // Sorting more than 32 destinations is allowed to allocate; it must
    // show up, or the zero above proves nothing.
    assert!(allocations_while_sorting(&Policy::rfc6724(), 33) > 0);
}

/// Clones share the tables: a connector that copies its policy into every
/// connect pays no allocation for it.
#[test]
fn cloning_a_policy_does_not_allocate() {
    let policy = Policy::from_gai_conf("precedence ::1/128 50\nlabel 2001::/32 7\n")
        .expect("a valid gai.conf");
    let before = allocations();
    let copy = policy.clone();
    assert_eq!(allocations() - before, 0);
    assert_eq!(copy, policy);
    assert_eq!(copy.precedence_table(), policy.precedence_table());
}
