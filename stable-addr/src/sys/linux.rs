//! The Linux driver: netlink sockets feeding a [`Tracker`].
//!
//! Two `NETLINK_ROUTE` sockets: one joined to the link and address
//! multicast groups *before* anything is dumped, so no change slips
//! between the dump and the first event; and one for the dumps (links,
//! then addresses). Both are non-blocking and read until empty before the
//! tracker is asked anything, so the answer reflects the newest message
//! for every address: an event older than the dump may be applied after
//! it, but the newer event that superseded it always follows.
//!
//! When the kernel drops events (`ENOBUFS` on the event socket) the
//! tracker is told to [`Event::Resync`] and a fresh dump starts on a new
//! dump socket; events read meanwhile are applied as usual. A dump the
//! kernel flags as interrupted (`NLM_F_DUMP_INTR`) needs no retry: the
//! changes that interrupted it arrive as events. A dump the kernel fails
//! (`NLMSG_ERROR`, or `NLMSG_DONE` with a negative status) ends the wait
//! or the watch with that error: the table would be incomplete.

mod msg;

use std::collections::VecDeque;
use std::io;
#[cfg(feature = "tokio")]
use std::os::fd::{AsFd, BorrowedFd};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

use self::msg::{DumpKind, Parsed, dump_request, parse_datagram};
use crate::tracker::{Event, Filter, Status, Tracker};
use crate::{StableTable, WaitError};

/// `RTMGRP_LINK`: interface changes.
const RTMGRP_LINK: u32 = 0x1;
/// `RTMGRP_IPV4_IFADDR`: IPv4 address changes.
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
/// `RTMGRP_IPV6_IFADDR`: IPv6 address changes.
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// Receive buffer asked for on the event socket: bursts (an interface
/// going away with many addresses) should not overrun it, though an
/// overrun is handled anyway. The kernel caps it at `rmem_max`.
const EVENT_RCVBUF: usize = 1 << 20;
/// Netlink datagrams are at most a page or so for dumps (the kernel sizes
/// them to fit 32 KiB); a larger buffer never truncates.
const RECV_BUF: usize = 64 * 1024;

/// A dump in progress on its own socket.
struct Dump {
    socket: Socket,
    kind: DumpKind,
}

/// The sockets and the tracker of one wait.
pub(crate) struct Watcher {
    events: Socket,
    dump: Option<Dump>,
    tracker: Tracker,
    seq: u32,
    buf: Vec<u8>,
    /// Events kept for [`Watch`] to hand out; `None` when only waiting.
    queue: Option<VecDeque<Event>>,
    /// How many overruns were recovered from, for tests.
    #[cfg(test)]
    resyncs: u32,
}

impl Watcher {
    /// Subscribes, then starts the first dump.
    pub(crate) fn new(filter: Filter) -> io::Result<Self> {
        let mut events = Socket::new(NETLINK_ROUTE)?;
        // A smaller buffer than asked for only makes overruns likelier.
        let _ = events.set_rx_buf_sz(EVENT_RCVBUF);
        events.bind(&SocketAddr::new(
            0,
            RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
        ))?;
        events.set_non_blocking(true)?;
        let mut watcher = Self {
            events,
            dump: None,
            tracker: Tracker::new(filter),
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
            queue: None,
            #[cfg(test)]
            resyncs: 0,
        };
        watcher.start_dump(DumpKind::Links)?;
        Ok(watcher)
    }

    /// Folds an event into the tracker (and the queue, when watching).
    fn apply(&mut self, event: Event) {
        if let Some(queue) = &mut self.queue {
            queue.push_back(event.clone());
        }
        self.tracker.apply(event);
    }

    /// Opens a fresh dump socket (dropping any dump in progress with its
    /// socket, so its late replies cannot be mistaken for the new one's)
    /// and sends the request.
    fn start_dump(&mut self, kind: DumpKind) -> io::Result<()> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_non_blocking(true)?;
        self.seq = self.seq.wrapping_add(1);
        let request = dump_request(kind, self.seq);
        socket.send_to(&request, &SocketAddr::new(0, 0), 0)?;
        self.dump = Some(Dump { socket, kind });
        Ok(())
    }

    /// Starts over after lost events: forget, then dump again.
    fn resync(&mut self) -> io::Result<()> {
        #[cfg(test)]
        {
            self.resyncs += 1;
        }
        self.apply(Event::Resync);
        self.start_dump(DumpKind::Links)
    }

    /// The descriptors to wait on for readability.
    pub(crate) fn fds(&self) -> (RawFd, Option<RawFd>) {
        (
            self.events.as_raw_fd(),
            self.dump.as_ref().map(|d| d.socket.as_raw_fd()),
        )
    }

    /// The descriptors to wait on, borrowed from the sockets.
    #[cfg(feature = "tokio")]
    fn borrowed_fds(&self) -> (BorrowedFd<'_>, Option<BorrowedFd<'_>>) {
        (
            self.events.as_fd(),
            self.dump.as_ref().map(|d| d.socket.as_fd()),
        )
    }

    /// Reads one datagram from `socket` into `buf`; `None` when empty.
    fn recv(socket: &Socket, buf: &mut Vec<u8>) -> io::Result<Option<()>> {
        buf.clear();
        match socket.recv(buf, libc::MSG_TRUNC) {
            Ok(n) if n > buf.len() => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("netlink datagram of {n} bytes truncated"),
            )),
            Ok(_) => Ok(Some(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Some(())),
            Err(e) => Err(e),
        }
    }

    /// Reads both sockets until both are empty, feeding the tracker.
    pub(crate) fn pump(&mut self) -> io::Result<()> {
        loop {
            let mut progress = false;
            match Self::recv(&self.events, &mut self.buf) {
                Ok(Some(())) => {
                    progress = true;
                    for parsed in parse_datagram(&self.buf).map_err(invalid)? {
                        if let Parsed::Event(event) = parsed {
                            self.apply(event);
                        }
                    }
                }
                Ok(None) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    progress = true;
                    self.resync()?;
                }
                Err(e) => return Err(e),
            }
            if let Some(dump) = &self.dump {
                let kind = dump.kind;
                match Self::recv(&dump.socket, &mut self.buf) {
                    Ok(Some(())) => {
                        progress = true;
                        self.dump_datagram(kind)?;
                    }
                    Ok(None) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        progress = true;
                        self.resync()?;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !progress {
                return Ok(());
            }
        }
    }

    /// Handles one datagram of the dump in progress (in `self.buf`).
    fn dump_datagram(&mut self, kind: DumpKind) -> io::Result<()> {
        for parsed in parse_datagram(&self.buf).map_err(invalid)? {
            match parsed {
                Parsed::Event(event) => self.apply(event),
                Parsed::Done => match kind {
                    // Links first, so addresses find their interface.
                    DumpKind::Links => return self.start_dump(DumpKind::Addresses),
                    DumpKind::Addresses => {
                        self.dump = None;
                        self.apply(Event::Synced);
                        return Ok(());
                    }
                },
                Parsed::Error(errno) => return Err(io::Error::from_raw_os_error(errno)),
                Parsed::Ignored => {}
            }
        }
        Ok(())
    }

    /// The tracker's verdict on what has been read.
    pub(crate) fn status(&self) -> Status {
        self.tracker.status()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// What one round of reading decided.
pub(crate) enum Round {
    /// The wait is over, one way or the other.
    Done(Result<StableTable, WaitError>),
    /// Wait for the sockets, at most this long (`None`: no limit).
    Wait(Option<Duration>),
}

impl Watcher {
    /// Reads what is there and decides: finished, or wait until `deadline`.
    pub(crate) fn round(&mut self, deadline: Option<Instant>) -> Round {
        if let Err(e) = self.pump() {
            return Round::Done(Err(WaitError::Io(e)));
        }
        match self.status() {
            Status::Stable(addrs) => Round::Done(Ok(StableTable::new(addrs))),
            Status::Failed(failed) => Round::Done(Err(WaitError::from_failures(failed))),
            Status::Pending(pending) => match deadline {
                None => Round::Wait(None),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Round::Wait(Some(left)),
                    _ => Round::Done(Err(WaitError::Timeout { pending })),
                },
            },
        }
    }
}

/// `now + timeout`, or `None` when that is beyond any clock.
fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Blocks in poll(2) until a socket is readable or `left` passes.
fn poll_readable(fds: (RawFd, Option<RawFd>), left: Option<Duration>) -> io::Result<()> {
    let mut pollfds = [
        libc::pollfd {
            fd: fds.0,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: fds.1.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let count: libc::nfds_t = if fds.1.is_some() { 2 } else { 1 };
    // Round up so a sub-millisecond remainder does not spin.
    let ms = left.map_or(-1, |d| {
        i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    // SAFETY: `pollfds` is a live array of `count` initialised pollfd
    // structs (count <= its length) that poll may write `revents` into;
    // the descriptors belong to sockets the caller keeps open.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::poll(pollfds.as_mut_ptr(), count, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// The blocking wait.
pub(crate) fn wait_blocking(filter: Filter, timeout: Duration) -> Result<StableTable, WaitError> {
    let deadline = deadline(timeout);
    let mut watcher = Watcher::new(filter)?;
    loop {
        match watcher.round(deadline) {
            Round::Done(result) => return result,
            Round::Wait(left) => poll_readable(watcher.fds(), left)?,
        }
    }
}

/// The async wait, on tokio's reactor.
#[cfg(feature = "tokio")]
pub(crate) async fn wait_async(
    filter: Filter,
    timeout: Duration,
) -> Result<StableTable, WaitError> {
    let deadline = deadline(timeout);
    let mut watcher = Watcher::new(filter)?;
    loop {
        let left = match watcher.round(deadline) {
            Round::Done(result) => return result,
            Round::Wait(left) => left,
        };
        match left {
            // Timing out is fine: the next round reports it.
            Some(left) => {
                if let Ok(r) = tokio::time::timeout(left, watcher.readable()).await {
                    r?;
                }
            }
            None => watcher.readable().await?,
        }
    }
}

#[cfg(feature = "tokio")]
impl Watcher {
    /// Waits on tokio's reactor until a socket is readable.
    ///
    /// The sockets are registered afresh on each call: the dump socket
    /// comes and goes, and a fresh registration reports readiness that is
    /// already there, so nothing can be missed. The `AsyncFd`s hold
    /// `BorrowedFd`s, so the borrow checker keeps the sockets open (and
    /// the watcher untouched) until they are dropped; that is the
    /// I/O-safety guarantee tokio 1.54 deprecated these safe constructors
    /// over, and the unsafe replacements do not exist in the tokio 1.40
    /// the workspace allows. Dropping the future mid-wait loses nothing:
    /// nothing has been read yet.
    async fn readable(&self) -> io::Result<()> {
        use tokio::io::Interest;
        use tokio::io::unix::AsyncFd;

        let (events_fd, dump_fd) = self.borrowed_fds();
        #[allow(deprecated)]
        let events = AsyncFd::with_interest(events_fd, Interest::READABLE)?;
        #[allow(deprecated)]
        let dump = dump_fd
            .map(|fd| AsyncFd::with_interest(fd, Interest::READABLE))
            .transpose()?;
        match &dump {
            Some(dump) => tokio::select! {
                r = events.readable() => r.map(drop),
                r = dump.readable() => r.map(drop),
            },
            None => events.readable().await.map(drop),
        }
    }

    /// The next queued event, reading and waiting on tokio's reactor for
    /// one. Cancel-safe: events are queued before any await, so dropping
    /// the future loses none.
    pub(crate) async fn next_event_async(&mut self) -> io::Result<Event> {
        loop {
            if let Some(event) = self.queue.as_mut().and_then(VecDeque::pop_front) {
                return Ok(event);
            }
            self.pump()?;
            if self.queue.as_ref().is_some_and(|q| !q.is_empty()) {
                continue;
            }
            self.readable().await?;
        }
    }
}

/// Starts watching: subscribes, then dumps, queueing every event.
pub(crate) fn watcher() -> io::Result<Watcher> {
    let mut watcher = Watcher::new(Filter::All)?;
    watcher.queue = Some(VecDeque::new());
    Ok(watcher)
}

impl Watcher {
    /// The next queued event, reading and waiting up to `timeout` (`None`:
    /// no limit) for one.
    pub(crate) fn next_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        let deadline = timeout.and_then(deadline);
        loop {
            if let Some(event) = self.queue.as_mut().and_then(VecDeque::pop_front) {
                return Ok(Some(event));
            }
            self.pump()?;
            if self.queue.as_ref().is_some_and(|q| !q.is_empty()) {
                continue;
            }
            let left = match deadline {
                // No timeout, or one beyond any clock.
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(None),
                },
            };
            poll_readable(self.fds(), left)?;
        }
    }

    /// Whether everything read so far has been handed out and the view is
    /// whole (no dump in progress).
    pub(crate) fn is_settled(&self) -> bool {
        self.tracker.is_synced() && self.queue.as_ref().is_none_or(VecDeque::is_empty)
    }

    /// The tracker holding the watched view.
    pub(crate) const fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}

#[cfg(test)]
mod tests {
    /// Tests that need root; they fail, not skip, without it.
    mod root {
        use std::io::Write;
        use std::os::unix::fs::MetadataExt;
        use std::process::{Command, Stdio};
        use std::thread;
        use std::time::{Duration, Instant};

        use super::super::{Round, Watcher, poll_readable};
        use crate::Filter;

        /// Runs `ip args...` (in the calling thread's namespace).
        fn ip(args: &[&str], stdin: Option<&str>) {
            let mut child = Command::new("ip")
                .args(args)
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ip");
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
            drop(input);
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// Runs `f` on a thread in a private, empty network namespace,
        /// which vanishes with the thread.
        fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
            let euid = std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid());
            assert_eq!(euid, 0, "this test needs root (unshare(CLONE_NEWNET))");
            thread::spawn(move || {
                // SAFETY: unshare takes only flags; CLONE_NEWNET moves just
                // this thread (and processes it starts) into a new network
                // namespace, freed when the thread and its sockets end.
                #[allow(unsafe_code)]
                let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        }

        #[test]
        fn overrun_resyncs_and_still_converges() {
            let (resyncs, table) = in_private_netns(|| {
                ip(&["link", "set", "lo", "up"], None);
                let wanted = "2001:db8:ee::1".parse().unwrap();
                let mut w = Watcher::new(Filter::Address(wanted)).unwrap();
                // The smallest buffer the kernel allows: a burst overruns it.
                w.events.set_rx_buf_sz(0usize).unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while !w.tracker.is_synced() {
                    w.pump().unwrap();
                    poll_readable(w.fds(), Some(Duration::from_millis(50))).unwrap();
                }
                let batch: String = (1..=200)
                    .map(|i| format!("addr add 2001:db8:ff::{i:x}/128 dev lo\n"))
                    .collect();
                ip(&["-batch", "-"], Some(&batch));
                ip(
                    &[
                        "-6",
                        "addr",
                        "add",
                        "2001:db8:ee::1/64",
                        "dev",
                        "lo",
                        "nodad",
                    ],
                    None,
                );
                loop {
                    match w.round(Some(deadline)) {
                        Round::Done(result) => return (w.resyncs, result.unwrap()),
                        Round::Wait(left) => poll_readable(w.fds(), left).unwrap(),
                    }
                }
            });
            assert!(resyncs >= 1, "the burst should have overrun the buffer");
            assert!(table.contains("2001:db8:ee::1".parse().unwrap()));
        }
    }
}
