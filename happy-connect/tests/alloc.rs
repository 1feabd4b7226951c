//! Heap allocations per connect, counted by a global allocator that wraps
//! the system's: a connect by IP literal and one by name must stay within
//! the budget (20), once the host view and its source cache are warm.
//!
//! A binary of its own, so that no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use happy_connect::Connector;
use happy_connect::resolve::StaticResolver;

/// Counts every allocation and reallocation, on every thread.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on unchanged to the system allocator,
// which upholds GlobalAlloc's contract; the counter is an atomic.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as it came.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The budget of issue "one live host view": at most 20 per connect.
const BUDGET: u64 = 20;

/// Allocations per connect over `n` connects made by `connect`.
async fn per_connect<F, Fut>(n: u64, connect: F) -> u64
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        connect().await;
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before).div_ceil(n)
}

#[test]
fn a_connect_allocates_at_most_twenty_times() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("listen");
        let port = listener.local_addr().expect("bound").port();
        let mut by_name = Connector::new();
        by_name.set_resolver(
            StaticResolver::new().with("alloc.test", &[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        );
        let literal = Connector::new();
        // The accepting side runs in between; its allocations are counted
        // too, so it is kept as lean as tokio allows and measured alone.
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = accepted.clone();
        tokio::spawn(async move {
            loop {
                if let Ok((s, _)) = listener.accept().await {
                    keep.lock().unwrap().push(s);
                }
            }
        });
        // Warm: the host view, its lookup thread and cache, the resolver.
        for _ in 0..10 {
            drop(literal.connect("127.0.0.1", port).await.expect("connect"));
            drop(by_name.connect("alloc.test", port).await.expect("connect"));
        }
        accepted.lock().unwrap().clear();
        let n = 200;
        // What plain tokio costs, server side included.
        let tokio = per_connect(n, || async {
            drop(
                tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                    .await
                    .expect("connect"),
            );
        })
        .await;
        accepted.lock().unwrap().clear();
        let ours_literal = per_connect(n, || async {
            drop(literal.connect("127.0.0.1", port).await.expect("connect"));
        })
        .await;
        accepted.lock().unwrap().clear();
        let ours_name = per_connect(n, || async {
            drop(by_name.connect("alloc.test", port).await.expect("connect"));
        })
        .await;
        println!(
            "allocations per connect: plain tokio {tokio}, by literal {ours_literal} \
             ({} more), by name {ours_name} ({} more)",
            ours_literal.saturating_sub(tokio),
            ours_name.saturating_sub(tokio)
        );
        assert!(
            ours_literal <= BUDGET,
            "a connect by literal allocates {ours_literal} times (budget {BUDGET})"
        );
        assert!(
            ours_name <= BUDGET,
            "a connect by name allocates {ours_name} times (budget {BUDGET})"
        );
    });
}
