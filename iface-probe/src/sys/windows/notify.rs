//! Change notifications: `NotifyUnicastIpAddressChange`,
//! `NotifyRouteChange2` and `NotifyIpInterfaceChange`, whose callbacks
//! each put one [`Notice::Resync`] in a channel that
//! [`Notifier::wait`] reads.
//!
//! The callbacks run on threads of the system's choosing, until the
//! registration is cancelled, and get back the context pointer they were
//! registered with. That pointer is one strong reference of an [`Arc`],
//! turned into a raw pointer at registration and given back only after
//! every registration has been cancelled, so a callback never sees freed
//! memory. `CancelMibChangeNotify2` does not return while a callback of
//! the registration runs (which is why Microsoft forbids calling it from
//! that callback: it would deadlock), and the notifier never calls it
//! from one. Should a cancellation fail, the reference is leaked on
//! purpose: a few bytes lost is better than a callback into freed memory.
//!
//! A registration that succeeds without giving back a handle is a stub
//! that will never call back (Wine 8's are such stubs). The notifier then
//! does what the portable backend does: it asks for a resync every
//! second, so that a view still follows the host.

use std::ffi::c_void;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{HANDLE, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    CancelMibChangeNotify2, MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW, MIB_NOTIFICATION_TYPE,
    MIB_UNICASTIPADDRESS_ROW, NotifyIpInterfaceChange, NotifyRouteChange2,
    NotifyUnicastIpAddressChange,
};
use windows_sys::Win32::Networking::WinSock::AF_UNSPEC;

use super::adapters::win32_error;
use crate::sys::Notice;

/// How often a notifier whose registrations are stubs asks for a resync.
pub(crate) const STUB_POLL: Duration = Duration::from_secs(1);

/// What the callbacks share with the notifier.
#[derive(Debug)]
struct Context {
    /// Where notices go. Behind a lock because callbacks of the three
    /// registrations may run at once on different threads.
    tx: Mutex<Sender<Option<Notice>>>,
    /// A resync is queued and not yet taken: a burst of callbacks (an
    /// adapter going away with all its addresses and routes) queues one.
    pending: AtomicBool,
}

impl Context {
    fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
            // A closed channel means the notifier is going away.
            let _ = tx.send(Some(Notice::Resync));
        }
    }
}

/// Subscribed to the three kinds of change from [`Notifier::open`] on.
#[derive(Debug)]
pub(crate) struct Notifier {
    rx: Receiver<Option<Notice>>,
    tx: Sender<Option<Notice>>,
    context: Arc<Context>,
    /// Kept for its `Drop`, which cancels the registrations (only tests
    /// read it).
    #[cfg_attr(not(test), allow(dead_code))]
    registrations: Registrations,
    /// When the next resync is due, where every registration is a stub
    /// (`None` when the system notifies).
    next_poll: Option<Instant>,
}

/// Wakes a [`Notifier::wait`] from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Interrupter {
    tx: Sender<Option<Notice>>,
}

impl Interrupter {
    /// Makes the wait return (with nothing appended).
    pub(crate) fn interrupt(&self) {
        let _ = self.tx.send(None);
    }
}

/// The live registrations and the context reference they hold.
#[derive(Debug)]
struct Registrations {
    handles: Vec<HANDLE>,
    /// The registrations' reference (from [`Arc::into_raw`]).
    context: *const Context,
    /// The calls that succeeded without a handle: stubs.
    stubbed: Vec<&'static str>,
}

// SAFETY: the handles are process-wide registration handles that any
// thread may cancel, and the context pointer is one reference of an
// `Arc<Context>`, itself `Send` and `Sync` (a locked sender and an atomic
// flag); moving them to another thread moves nothing thread-bound.
#[allow(unsafe_code)]
unsafe impl Send for Registrations {}

impl Drop for Registrations {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        let mut cancelled = true;
        for handle in self.handles.drain(..) {
            // SAFETY: a handle one of the Notify* calls gave back, not
            // cancelled before (drained here, once). The call returns
            // once no callback of the registration runs any more.
            cancelled &= unsafe { CancelMibChangeNotify2(handle) } == NO_ERROR;
        }
        if cancelled {
            // SAFETY: the pointer came from Arc::into_raw in `register`
            // and is given back once, here, after every registration
            // that could use it is cancelled.
            drop(unsafe { Arc::from_raw(self.context) });
        }
    }
}

impl Notifier {
    /// Registers for address, route and interface changes of both
    /// families. There is no socket, so no buffer to size.
    ///
    /// # Errors
    ///
    /// The Win32 error of the first registration that fails (the ones
    /// made before it are cancelled).
    pub(crate) fn open(_buffer: Option<usize>) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let context = Arc::new(Context {
            tx: Mutex::new(tx.clone()),
            pending: AtomicBool::new(false),
        });
        let registrations = register(&context)?;
        let next_poll = (!registrations.stubbed.is_empty()).then(|| Instant::now() + STUB_POLL);
        Ok(Self {
            rx,
            tx,
            context,
            registrations,
            next_poll,
        })
    }

    /// The registrations that are stubs (empty on Windows itself).
    #[cfg(test)]
    pub(crate) fn stubbed(&self) -> &[&'static str] {
        &self.registrations.stubbed
    }

    /// A handle that cuts a [`wait`](Self::wait) short.
    pub(crate) fn interrupter(&self) -> Interrupter {
        Interrupter {
            tx: self.tx.clone(),
        }
    }

    /// Appends the notices queued, waiting up to `timeout` (`None`:
    /// without limit) for the first, or until woken.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Notice>,
    ) -> io::Result<()> {
        let limit = match self.next_poll {
            None => timeout,
            Some(due) => {
                let until = due.saturating_duration_since(Instant::now());
                Some(timeout.map_or(until, |t| t.min(until)))
            }
        };
        let first = match limit {
            Some(limit) => self.rx.recv_timeout(limit).ok(),
            None => self.rx.recv().ok(),
        };
        // Taken: a change from here on must queue another resync. The
        // view reads the host after this returns, so a change made
        // between the callback and this store is read all the same.
        self.context.pending.store(false, Ordering::Release);
        out.extend(first.flatten());
        out.extend(self.rx.try_iter().flatten());
        if let Some(due) = self.next_poll {
            if Instant::now() >= due {
                self.next_poll = Some(Instant::now() + STUB_POLL);
                out.push(Notice::Resync);
            }
        }
        Ok(())
    }
}

/// Makes the three registrations, all with one context reference.
#[allow(unsafe_code)]
fn register(context: &Arc<Context>) -> io::Result<Registrations> {
    let mut registrations = Registrations {
        handles: Vec::with_capacity(3),
        context: Arc::into_raw(Arc::clone(context)),
        stubbed: Vec::new(),
    };
    let raw = registrations.context.cast::<c_void>();
    let calls: [(&'static str, Register); 3] = [
        ("NotifyUnicastIpAddressChange", |raw, handle| {
            // SAFETY: see `Register`.
            unsafe { NotifyUnicastIpAddressChange(AF_UNSPEC, Some(on_address), raw, false, handle) }
        }),
        ("NotifyRouteChange2", |raw, handle| {
            // SAFETY: see `Register`.
            unsafe { NotifyRouteChange2(AF_UNSPEC, Some(on_route), raw, false, handle) }
        }),
        ("NotifyIpInterfaceChange", |raw, handle| {
            // SAFETY: see `Register`.
            unsafe { NotifyIpInterfaceChange(AF_UNSPEC, Some(on_interface), raw, false, handle) }
        }),
    ];
    for (name, call) in calls {
        let mut handle: HANDLE = ptr::null_mut();
        let code = call(raw, &mut handle);
        if code != NO_ERROR {
            // Dropping `registrations` cancels the ones made so far.
            return Err(win32_error(code, name));
        }
        if handle.is_null() {
            registrations.stubbed.push(name);
        } else {
            registrations.handles.push(handle);
        }
    }
    Ok(registrations)
}

/// One registration call: the context pointer and where its handle goes.
///
/// Each is sound because the callback matches the signature the call
/// expects, the context pointer stays valid until the registration is
/// cancelled (see the module docs), no initial notification is asked for,
/// and the handle is a live local the call writes.
type Register = fn(*const c_void, *mut HANDLE) -> u32;

/// The context of a callback.
///
/// # Safety
///
/// `context` is the pointer a registration was made with, which stays
/// valid until every registration is cancelled.
#[allow(unsafe_code)]
unsafe fn context<'a>(context: *const c_void) -> &'a Context {
    // SAFETY: as the caller promises.
    unsafe { &*context.cast::<Context>() }
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_address(
    ctx: *const c_void,
    _row: *const MIB_UNICASTIPADDRESS_ROW,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    // SAFETY: called by the system with the context it was registered
    // with, before the registration is cancelled.
    unsafe { context(ctx) }.notify();
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_route(
    ctx: *const c_void,
    _row: *const MIB_IPFORWARD_ROW2,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    // SAFETY: as in `on_address`.
    unsafe { context(ctx) }.notify();
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_interface(
    ctx: *const c_void,
    _row: *const MIB_IPINTERFACE_ROW,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    // SAFETY: as in `on_address`.
    unsafe { context(ctx) }.notify();
}
