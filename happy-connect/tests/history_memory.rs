//! The connection history stays within its bounds: at most 4,096 entries
//! and 1 MiB of heap by default, whatever is recorded. The heap is
//! measured by a global allocator that counts live bytes.
//!
//! A binary of its own, so that no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicIsize, Ordering};

use happy_connect::history::{History, HistoryConfig, Past};
use happy_connect::probe::NetworkId;
use happy_connect::race::Family;

struct Live;

static LIVE: AtomicIsize = AtomicIsize::new(0);

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

// SAFETY: every call is passed on unchanged to the system allocator,
// which upholds GlobalAlloc's contract; the counter is an atomic.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(size(layout), Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as it came.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(size(layout), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            isize::try_from(new_size).unwrap_or(isize::MAX) - size(layout),
            Ordering::Relaxed,
        );
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// Records outcomes for `n` distinct addresses over a few networks and
/// partitions; returns the heap the history holds afterwards.
fn fill(config: HistoryConfig, n: u32) -> (History, isize) {
    let before = LIVE.load(Ordering::Relaxed);
    let history = History::with_config(config);
    let keys = [None, Some("alice"), Some("bob")];
    for i in 0..n {
        let addr = IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            (i >> 16) as u16,
            i as u16,
        ));
        let network = NetworkId::from_u64(u64::from(i % 7));
        let key = keys[(i % 3) as usize];
        history.record(network, key, addr, Past::TimedOut);
        history.record(network, key, addr, Past::Lost { to: Family::V4 });
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    (history, held)
}

#[test]
fn the_history_holds_at_most_its_capacity_and_a_mebibyte() {
    let (history, held) = fill(HistoryConfig::default(), 100_000);
    println!(
        "history: {} entries in {held} bytes of heap (capacity {})",
        history.len(),
        history.capacity()
    );
    assert!(history.len() <= 4096, "{} entries", history.len());
    assert!(history.len() >= 4000, "the store should be nearly full");
    assert!(held <= 1 << 20, "{held} bytes");

    // A smaller memory bound is kept too.
    let mut config = HistoryConfig::default();
    config.max_bytes = 128 * 1024;
    let (small, held) = fill(config, 100_000);
    println!(
        "history within 128 KiB: {} entries in {held} bytes",
        small.len()
    );
    assert!(held <= 128 * 1024, "{held} bytes");

    // Dropping it gives everything back.
    let before = LIVE.load(Ordering::Relaxed);
    drop(history);
    drop(small);
    let freed = before - LIVE.load(Ordering::Relaxed);
    assert!(freed > 0);
}
