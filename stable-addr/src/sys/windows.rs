//! Windows: `NotifyStableUnicastIpAddressTable`, the call this crate
//! reproduces elsewhere, for [`Filter::All`](crate::Filter::All).
//!
//! It either hands back the table at once (`NO_ERROR`: every address is
//! stable now) or answers `ERROR_IO_PENDING` and calls back with the
//! table once it is. The callback gets a context pointer: one strong
//! reference of an [`Arc`] made raw for the call, given back after the
//! callback has run or the request has been cancelled
//! (`CancelMibChangeNotify2`, which waits for a running callback), and
//! leaked on purpose should the cancellation fail, so that a late
//! callback never touches freed memory.
//!
//! Wine 8 exports the call as an unimplemented stub that aborts the
//! process when called, so under Wine it is not called at all: the wait
//! follows the host view as on other systems ([`unusable`] says why).
//!
//! The only `unsafe` code of the crate is in this file.

use std::ffi::{CStr, c_void};
use std::io;
use std::ptr;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{ERROR_IO_PENDING, HANDLE, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    CancelMibChangeNotify2, FreeMibTable, MIB_UNICASTIPADDRESS_ROW, MIB_UNICASTIPADDRESS_TABLE,
    NotifyStableUnicastIpAddressTable,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR_INET};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
use windows_sys::core::PCSTR;

use crate::stable_rows::{self, StableRow};
use crate::table::StableTable;

// The pure module restates the SDK's value so that it builds everywhere.
const _: () = assert!(
    stable_rows::DAD_STATE_PREFERRED
        == windows_sys::Win32::Networking::WinSock::IpDadStatePreferred
);

/// How a wait through the system ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The table is stable: these are its preferred addresses.
    Stable(StableTable),
    /// The timeout passed first (the request is cancelled).
    TimedOut,
}

/// Why the call cannot be used in this process, if it cannot: under
/// Wine, whose export is a stub that aborts the process.
pub(crate) fn unusable() -> Option<String> {
    wine_version().map(|version| {
        format!(
            "Wine {version} exports NotifyStableUnicastIpAddressTable as an unimplemented \
             stub (calling it aborts the process)"
        )
    })
}

/// Wine's version, when running under Wine: its ntdll exports
/// `wine_get_version`, Windows' does not.
#[allow(unsafe_code)]
fn wine_version() -> Option<String> {
    // SAFETY: a NUL-terminated module name; ntdll is loaded in every
    // process, and GetModuleHandle takes no reference to release.
    let ntdll = unsafe { GetModuleHandleA(c"ntdll.dll".as_ptr().cast()) };
    if ntdll.is_null() {
        return None;
    }
    // SAFETY: a live module handle and a NUL-terminated export name.
    let export = unsafe { GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()) }?;
    // SAFETY: the export is Wine's `const char *wine_get_version(void)`.
    let get: unsafe extern "C" fn() -> PCSTR = unsafe { std::mem::transmute(export) };
    // SAFETY: it returns a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(get().cast()) };
    Some(text.to_string_lossy().into_owned())
}

/// Where the callback leaves the rows.
#[derive(Debug, Default)]
struct Slot {
    rows: Mutex<Option<Vec<StableRow>>>,
    ready: Condvar,
}

impl Slot {
    fn take(&self) -> Option<Vec<StableRow>> {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Waits up to `timeout` (`Duration::MAX`: without limit) for the whole
/// table of both families to be stable.
///
/// # Errors
///
/// The Win32 error of `NotifyStableUnicastIpAddressTable` when it fails
/// outright.
#[allow(unsafe_code)]
pub(crate) fn wait_all(timeout: Duration) -> io::Result<Outcome> {
    let deadline = Instant::now().checked_add(timeout);
    let slot = Arc::new(Slot::default());
    let context = Arc::into_raw(Arc::clone(&slot));
    let mut table: *mut MIB_UNICASTIPADDRESS_TABLE = ptr::null_mut();
    let mut handle: HANDLE = ptr::null_mut();
    // SAFETY: `table` and `handle` are live locals the call writes; the
    // callback has the documented signature; the context stays valid
    // until the callback has run or the request is cancelled (below).
    let code = unsafe {
        NotifyStableUnicastIpAddressTable(
            AF_UNSPEC,
            &mut table,
            Some(on_stable),
            context.cast(),
            &mut handle,
        )
    };
    match code {
        NO_ERROR => {
            // SAFETY: no callback comes after NO_ERROR, so the context
            // reference is back to us; `table` is the system's table,
            // read then freed once.
            let rows = unsafe {
                drop(Arc::from_raw(context));
                let rows = copy_rows(table);
                FreeMibTable(table.cast_const().cast());
                rows
            };
            Ok(Outcome::Stable(named(&rows)))
        }
        ERROR_IO_PENDING => {
            let rows = wait_for(&slot, deadline);
            // Cancelling also releases a request whose callback has run;
            // it waits for a running callback to return.
            // SAFETY: the handle the call gave back, cancelled once.
            let cancelled = unsafe { CancelMibChangeNotify2(handle) } == NO_ERROR;
            let rows = rows.or_else(|| slot.take());
            if cancelled || rows.is_some() {
                // SAFETY: the callback has run or can no longer run: the
                // registration's reference is given back once.
                drop(unsafe { Arc::from_raw(context) });
            }
            Ok(rows.map_or(Outcome::TimedOut, |rows| Outcome::Stable(named(&rows))))
        }
        other => {
            // SAFETY: the call failed, so no callback will come.
            drop(unsafe { Arc::from_raw(context) });
            let os = io::Error::from_raw_os_error(i32::try_from(other).unwrap_or(i32::MAX));
            Err(io::Error::new(
                os.kind(),
                format!("NotifyStableUnicastIpAddressTable failed: {os}"),
            ))
        }
    }
}

/// Waits for the callback's rows until `deadline` (`None`: forever).
fn wait_for(slot: &Slot, deadline: Option<Instant>) -> Option<Vec<StableRow>> {
    let mut rows = slot.rows.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(done) = rows.take() {
            return Some(done);
        }
        rows = match deadline {
            None => slot
                .ready
                .wait(rows)
                .unwrap_or_else(PoisonError::into_inner),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                slot.ready
                    .wait_timeout(rows, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// The table with interface names from a capture of the adapters (none
/// where the capture fails: the addresses are what the wait is about).
fn named(rows: &[StableRow]) -> StableTable {
    let snapshot = iface_probe::Snapshot::capture().ok();
    stable_rows::table(rows, |index| {
        snapshot
            .as_ref()
            .and_then(|s| s.interface(index))
            .map(|i| i.name.clone())
    })
}

/// The callback: copies the rows, frees the table (it is the caller's
/// to free), and wakes the waiter.
#[allow(unsafe_code)]
unsafe extern "system" fn on_stable(
    context: *const c_void,
    table: *const MIB_UNICASTIPADDRESS_TABLE,
) {
    // SAFETY: the context is the slot reference made for this request,
    // valid until the request is cancelled, which waits for us.
    let slot = unsafe { &*context.cast::<Slot>() };
    // SAFETY: the system's table, read, then freed once.
    let rows = unsafe {
        let rows = copy_rows(table);
        if !table.is_null() {
            FreeMibTable(table.cast());
        }
        rows
    };
    *slot.rows.lock().unwrap_or_else(PoisonError::into_inner) = Some(rows);
    slot.ready.notify_all();
}

/// Copies the rows of a table out.
///
/// # Safety
///
/// `table` is null or a table from the system, with `NumEntries` rows.
#[allow(unsafe_code)]
unsafe fn copy_rows(table: *const MIB_UNICASTIPADDRESS_TABLE) -> Vec<StableRow> {
    if table.is_null() {
        return Vec::new();
    }
    // SAFETY: a live table, as the caller promises.
    let count = unsafe { (*table).NumEntries } as usize;
    // SAFETY: the rows follow one another from `Table`, `NumEntries` of
    // them (the one-element array is C's flexible array).
    let rows: &[MIB_UNICASTIPADDRESS_ROW] =
        unsafe { std::slice::from_raw_parts(ptr::addr_of!((*table).Table).cast(), count) };
    rows.iter()
        .filter_map(|row| {
            Some(StableRow {
                ifindex: row.InterfaceIndex,
                ip: ip_of(&row.Address)?,
                prefix_len: row.OnLinkPrefixLength,
                dad_state: row.DadState,
            })
        })
        .collect()
}

/// The address of a `SOCKADDR_INET`, for IPv4 and IPv6.
#[allow(unsafe_code)]
fn ip_of(sa: &SOCKADDR_INET) -> Option<std::net::IpAddr> {
    // SAFETY: every member of the union starts with the family, and the
    // system initialised the value; the members read are plain bytes,
    // valid for any bit pattern, chosen by that family.
    unsafe {
        match sa.si_family {
            AF_INET => Some(std::net::IpAddr::from(
                sa.Ipv4.sin_addr.S_un.S_addr.to_ne_bytes(),
            )),
            AF_INET6 => Some(std::net::IpAddr::from(sa.Ipv6.sin6_addr.u.Byte)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Filter, wait_stable};

    /// On Windows, the system's own call answers; under Wine, which only
    /// stubs it, `wait_stable(Filter::All)` follows the host view, and
    /// says so here.
    #[test]
    fn all_addresses_are_stable_through_the_system_or_the_view() {
        match unusable() {
            None => {
                let Outcome::Stable(table) = wait_all(Duration::from_secs(10)).unwrap() else {
                    panic!("the table was not stable within 10 s")
                };
                println!(
                    "NotifyStableUnicastIpAddressTable: {} stable addresses",
                    table.len()
                );
                assert!(table.iter().any(|a| a.ip.is_loopback()), "{table:?}");
            }
            Some(reason) => println!(
                "NotifyStableUnicastIpAddressTable skipped: {reason}; \
                 wait_stable(Filter::All) falls back to the host view"
            ),
        }
        let table = wait_stable(Filter::All, Duration::from_secs(10)).unwrap();
        assert!(table.iter().any(|a| a.ip.is_loopback()), "{table:?}");
        assert!(
            table.iter().any(|a| a.ifname.is_some()),
            "interfaces are named: {table:?}"
        );
    }
}
