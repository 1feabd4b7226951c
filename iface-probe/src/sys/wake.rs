//! Unix: waiting on a notification descriptor with a timeout, and a
//! self-pipe through which another thread can cut the wait short.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

/// The read end of a non-blocking pipe, and its shared write end.
#[derive(Debug)]
pub(crate) struct WakePipe {
    read: OwnedFd,
    write: Arc<OwnedFd>,
}

/// Wakes a thread waiting on a [`WakePipe`]; cheap to clone, usable from
/// any thread.
#[derive(Debug, Clone)]
pub(crate) struct Interrupter {
    write: Arc<OwnedFd>,
}

impl Interrupter {
    /// Makes the pipe readable. Never blocks: when the pipe is full, a
    /// wake-up is already pending.
    #[allow(unsafe_code)]
    pub(crate) fn interrupt(&self) {
        let byte = 1u8;
        // SAFETY: writes one byte from a live local to a descriptor this
        // handle keeps open; the pipe is non-blocking, and a failure
        // (EAGAIN: already readable) needs no handling.
        let _ = unsafe { libc::write(self.write.as_raw_fd(), (&raw const byte).cast(), 1) };
    }
}

fn set_flags(fd: RawFd) -> io::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: fcntl on a descriptor the caller just created and owns,
    // with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd_flags = libc::fcntl(fd, libc::F_GETFD);
        if fd_flags < 0 || libc::fcntl(fd, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl WakePipe {
    /// A new pipe, both ends non-blocking and close-on-exec.
    #[allow(unsafe_code)]
    pub(crate) fn new() -> io::Result<Self> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe(2) succeeded, so both are fresh descriptors that
        // nothing else owns; each is wrapped exactly once.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        set_flags(read.as_raw_fd())?;
        set_flags(write.as_raw_fd())?;
        Ok(Self {
            read,
            write: Arc::new(write),
        })
    }

    /// A handle that wakes this pipe's waiter.
    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter {
            write: Arc::clone(&self.write),
        }
    }

    /// The descriptor that becomes readable on a wake-up.
    pub(crate) fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Empties the pipe, so that it is readable again only after the next
    /// wake-up. Returns whether a wake-up was pending (a waiter that
    /// several descriptors can wake uses it to tell which one did).
    #[allow(unsafe_code)]
    pub(crate) fn drain(&self) -> bool {
        let mut buf = [0u8; 64];
        let mut woken = false;
        loop {
            // SAFETY: reads into a live local buffer of the stated length
            // from a descriptor this pipe owns; non-blocking.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return woken;
            }
            woken = true;
        }
    }
}

/// Blocks in poll(2) until `a` or `b` is readable or `timeout` passes
/// (`None`: without limit). A signal interrupting the wait is a return.
#[allow(unsafe_code)]
pub(crate) fn poll_two(a: RawFd, b: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    let mut fds = [
        libc::pollfd {
            fd: a,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // Round up so that a sub-millisecond remainder does not spin.
    let ms = timeout.map_or(-1, |d| {
        i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    // SAFETY: `fds` is a live array of two initialised pollfd structs that
    // poll may write `revents` into; the descriptors belong to objects the
    // caller keeps open for the call.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_wake_cuts_a_wait_short_and_drains() {
        let pipe = WakePipe::new().unwrap();
        let other = WakePipe::new().unwrap();
        let interrupter = pipe.interrupter();
        // Nothing pending: the timeout passes.
        let start = Instant::now();
        poll_two(other.fd(), pipe.fd(), Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(19));
        // Many wake-ups from another thread are one readable pipe.
        std::thread::spawn(move || {
            for _ in 0..10_000 {
                interrupter.interrupt();
            }
        })
        .join()
        .unwrap();
        poll_two(other.fd(), pipe.fd(), None).unwrap();
        assert!(pipe.drain(), "a wake-up was pending");
        assert!(!pipe.drain(), "and no longer is");
        let start = Instant::now();
        poll_two(other.fd(), pipe.fd(), Some(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(19), "drained");
    }
}
