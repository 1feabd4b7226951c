//! Stability wake-up latency: how long after the kernel reports the last
//! address of interest stable does [`wait_stable`] return?
//!
//! The bench runs in a network namespace of its own, made by netns-harness
//! with `lo` up (so it needs root), on a thread that entered it (the
//! threads it starts are there too), and, once per round:
//!
//! 1. tells a long-lived waiter thread to call
//!    `wait_stable(Filter::Address(ip), 1 s)`, which subscribes to the
//!    namespace's shared host view (started, and ready, before the first
//!    round);
//! 2. waits, outside the measurement, until that thread is asleep on its
//!    subscription (a futex wait) — read from
//!    `/proc/self/task/<tid>/syscall`, so it is a hand-shake, not a guess.
//!    A subscription starts with the whole host, which the wait judges
//!    before it sleeps, so by then the address is known to be absent;
//! 3. adds `ip/128` to `lo` with `IFA_F_NODAD` over netlink from this
//!    thread (`RTM_NEWADDR`, `NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
//!    NLM_F_EXCL`), taking `t0` right after `send` returns (see
//!    [`Rtnl::send`] for why then, and not after the ack);
//! 4. the view's watcher reads the kernel's event and publishes it; the
//!    waiter wakes and takes `t1` the moment `wait_stable` returns; the
//!    latency is `t1 - t0`;
//! 5. deletes the address again (not measured).
//!
//! `iter_custom` gets the summed latencies, so criterion's
//! `stability/wakeup` estimate is the wake-up latency itself. Before
//! criterion starts, a fixed run of [`DISTRIBUTION_SAMPLES`] rounds prints
//! the distribution (min, p50, p90, p99, max) to stderr.

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::{IpAddr, Ipv6Addr};
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use criterion::Criterion;
    use netlink_packet_core::{
        NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
        NetlinkPayload,
    };
    use netlink_packet_route::address::{
        AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
    };
    use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
    use netlink_sys::protocols::NETLINK_ROUTE;
    use netlink_sys::{Socket, SocketAddr};
    use stable_addr::{Filter, HostView, wait_stable};

    /// The address added and removed each round (documentation prefix).
    const ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x5ab1, 0, 0, 0, 0, 1);
    /// How long the waiter waits; a round that times out fails the bench.
    const WAIT_TIMEOUT: Duration = Duration::from_secs(1);
    /// How long to wait for the waiter to go to sleep before giving up.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
    /// The fallback when `/proc/<tid>/syscall` is unreadable: long enough for
    /// `wait_stable` to subscribe and dump on an idle namespace.
    const FALLBACK_SETTLE: Duration = Duration::from_millis(20);
    /// Rounds in the printed distribution.
    const DISTRIBUTION_SAMPLES: usize = 200;

    /// A `NETLINK_ROUTE` socket for requests, with acks read back.
    struct Rtnl {
        socket: Socket,
        seq: u32,
        buf: Vec<u8>,
    }

    impl Rtnl {
        fn new() -> io::Result<Self> {
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            socket.bind_auto()?;
            socket.connect(&SocketAddr::new(0, 0))?;
            Ok(Self {
                socket,
                seq: 0,
                buf: Vec::with_capacity(8192),
            })
        }

        /// Sends a request asking for an ack; returns its sequence number.
        ///
        /// rtnetlink handles a request synchronously inside `sendmsg`: by the
        /// time `send` returns the address exists and the ack is queued. But an
        /// `IFA_F_NODAD` IPv6 address is not announced there: its one
        /// `RTM_NEWADDR` (already not tentative, so the event that makes it
        /// stable) comes from the addrconf DAD work item that `sendmsg` queues
        /// with no delay. So the event happens at about the time `send`
        /// returns: on a 2-core 6.18 VM, peeking at a second subscribed socket
        /// found it already queued on `send`'s return in about half the rounds,
        /// and otherwise saw it about 6 µs (once 13 µs) later, which includes
        /// that socket's own wake-up.
        ///
        /// That is why `t0` is taken right after `send` returns: it is within
        /// a few µs of the event, either side. Taken after the ack, it would
        /// add a `recv` syscall (and on two cores possibly a reschedule behind
        /// the waking waiter) and read low; taken before `send`, it would add
        /// the kernel's address set-up, which is not the crate's latency.
        fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
            self.seq = self.seq.wrapping_add(1);
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
            header.sequence_number = self.seq;
            let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
            packet.finalize();
            let mut bytes = vec![0; packet.buffer_len()];
            packet.serialize(&mut bytes);
            self.socket.send(&bytes, 0)?;
            Ok(self.seq)
        }

        /// Reads until the ack (or error) for `seq` arrives.
        fn ack(&mut self, seq: u32) -> io::Result<()> {
            loop {
                self.buf.clear();
                self.socket.recv(&mut self.buf, 0)?;
                let mut rest = &self.buf[..];
                while !rest.is_empty() {
                    let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                    let len = (message.header.length as usize).next_multiple_of(4);
                    rest = rest.get(len..).unwrap_or_default();
                    if message.header.sequence_number != seq {
                        continue;
                    }
                    if let NetlinkPayload::Error(error) = message.payload {
                        return match error.code {
                            None => Ok(()),
                            Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        };
                    }
                }
            }
        }

        /// Sends a request and waits for its ack.
        fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
            let seq = self.send(message, flags)?;
            self.ack(seq)
        }
    }

    /// The body of `RTM_NEWADDR`/`RTM_DELADDR` for `ip/128` on `index`, with
    /// `IFA_F_NODAD` so the address is never tentative.
    fn address(index: u32, ip: Ipv6Addr) -> AddressMessage {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet6;
        message.header.prefix_len = 128;
        message.header.flags = AddressHeaderFlags::Nodad;
        message.header.scope = AddressScope::Universe;
        message.header.index = index;
        message.attributes = vec![
            AddressAttribute::Address(IpAddr::V6(ip)),
            AddressAttribute::Flags(AddressFlags::Nodad),
        ];
        message
    }

    /// What the waiter reports for one wait: whether the table held the
    /// address (or why the wait failed), and when `wait_stable` returned.
    type Outcome = (Result<bool, String>, Instant);

    /// A thread that runs one `wait_stable` per request.
    struct Waiter {
        go: Option<mpsc::Sender<()>>,
        done: mpsc::Receiver<Outcome>,
        /// Where its current syscall shows, or `None` when unreadable.
        syscall_path: Option<String>,
        thread: Option<thread::JoinHandle<()>>,
    }

    impl Waiter {
        fn spawn(ip: IpAddr) -> Self {
            let (go, go_rx) = mpsc::channel::<()>();
            let (done_tx, done) = mpsc::channel::<Outcome>();
            let (tid_tx, tid_rx) = mpsc::channel();
            let thread = thread::Builder::new()
                .name("wait_stable".into())
                .spawn(move || {
                    // SAFETY: gettid(2) has no arguments and cannot fail.
                    let tid = unsafe { libc::gettid() };
                    let _ = tid_tx.send(tid);
                    for () in go_rx {
                        let result = wait_stable(Filter::Address(ip), WAIT_TIMEOUT);
                        let t1 = Instant::now();
                        let outcome = result
                            .map(|table| table.contains(ip))
                            .map_err(|e| e.to_string());
                        if done_tx.send((outcome, t1)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn the waiter thread");
            let tid = tid_rx.recv().expect("the waiter's thread id");
            let path = format!("/proc/self/task/{tid}/syscall");
            let syscall_path = match std::fs::read_to_string(&path) {
                Ok(_) => Some(path),
                Err(e) => {
                    eprintln!(
                        "stability/wakeup: cannot read {path} ({e}); sleeping {FALLBACK_SETTLE:?} \
                     instead of the poll(2) hand-shake"
                    );
                    None
                }
            };
            Self {
                go: Some(go),
                done,
                syscall_path,
                thread: Some(thread),
            }
        }

        /// Starts a wait and returns once the waiter sleeps on its
        /// subscription.
        fn start(&self) {
            self.go
                .as_ref()
                .expect("waiter running")
                .send(())
                .expect("the waiter thread ended");
            let Some(path) = &self.syscall_path else {
                thread::sleep(FALLBACK_SETTLE);
                return;
            };
            let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
            loop {
                // "running", or "<nr> <args...>" while it sleeps in syscall nr.
                let text = std::fs::read_to_string(path).expect("read the waiter's syscall");
                let nr = text
                    .split_ascii_whitespace()
                    .next()
                    .and_then(|nr| nr.parse::<libc::c_long>().ok());
                if nr == Some(libc::SYS_futex) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the waiter did not go to sleep within {HANDSHAKE_TIMEOUT:?} (last: {text:?})"
                );
                thread::yield_now();
            }
        }

        /// Waits for the outcome of the current wait.
        fn finish(&self) -> Outcome {
            self.done.recv().expect("the waiter thread ended")
        }
    }

    impl Drop for Waiter {
        fn drop(&mut self) {
            self.go = None;
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// The namespace, the request socket and the waiter.
    struct Bench {
        rtnl: Rtnl,
        waiter: Waiter,
        lo: u32,
    }

    impl Bench {
        /// Sets up the bench in the calling thread's namespace, which must
        /// be the bench's own (its `lo` gets the address of each round).
        fn new() -> Self {
            let rtnl = Rtnl::new().expect("open a NETLINK_ROUTE socket");
            // SAFETY: the argument is a NUL-terminated string literal.
            let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
            assert_ne!(lo, 0, "no lo in the bench's namespace");
            // The namespace's shared view, ready before the first round, so
            // that no round measures its start.
            HostView::shared()
                .wait_ready(Duration::from_secs(5))
                .expect("the host view of the bench's namespace");
            let waiter = Waiter::spawn(IpAddr::V6(ADDR));
            Self { rtnl, waiter, lo }
        }

        /// One round: the wake-up latency `t1 - t0`.
        fn round(&mut self) -> Duration {
            self.waiter.start();
            let seq = self
                .rtnl
                .send(
                    RouteNetlinkMessage::NewAddress(address(self.lo, ADDR)),
                    NLM_F_CREATE | NLM_F_EXCL,
                )
                .expect("send RTM_NEWADDR");
            let t0 = Instant::now();
            self.rtnl.ack(seq).expect("add the address");
            let (outcome, t1) = self.waiter.finish();
            match outcome {
                Ok(true) => {}
                Ok(false) => panic!("wait_stable returned without {ADDR}"),
                Err(e) => panic!("wait_stable for {ADDR}: {e}"),
            }
            self.rtnl
                .request(RouteNetlinkMessage::DelAddress(address(self.lo, ADDR)), 0)
                .expect("delete the address");
            t1.saturating_duration_since(t0)
        }
    }

    /// The value at quantile `q` of sorted `samples` (nearest rank).
    fn quantile(sorted: &[Duration], q: f64) -> Duration {
        let n = sorted.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        sorted[rank - 1]
    }

    fn print_distribution(bench: &mut Bench) {
        let mut samples: Vec<Duration> = (0..DISTRIBUTION_SAMPLES).map(|_| bench.round()).collect();
        samples.sort_unstable();
        let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(1);
        eprintln!(
            "stability/wakeup distribution over {} rounds: min {:?}  p50 {:?}  p90 {:?}  \
         p99 {:?}  max {:?}  (mean {:?})",
            samples.len(),
            samples[0],
            quantile(&samples, 0.50),
            quantile(&samples, 0.90),
            quantile(&samples, 0.99),
            samples[samples.len() - 1],
            mean,
        );
    }

    pub(crate) fn wakeup(c: &mut Criterion) {
        let mut bench = Bench::new();
        print_distribution(&mut bench);
        let mut group = c.benchmark_group("stability");
        group.bench_function("wakeup", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| bench.round()).sum());
        });
        group.finish();
    }
}

// By hand rather than with `criterion_group!`/`criterion_main!`, whose
// generated `pub fn` trips the workspace's `missing_docs` lint.
#[cfg(target_os = "linux")]
fn main() {
    use std::time::Duration;
    netns_harness::require_root(
        "the stability/wakeup bench (it adds and removes addresses in a network namespace \
         of its own; CI runs it as root)",
    );
    let ns = netns_harness::Netns::new("sa-wakeup");
    ns.run(|| {
        let mut criterion = criterion::Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(500))
            .configure_from_args();
        linux::wakeup(&mut criterion);
        criterion.final_summary();
    });
}

/// The bench changes a Linux host in a private network namespace.
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("stability/wakeup runs on Linux only");
}
