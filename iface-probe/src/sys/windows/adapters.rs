//! `GetAdaptersAddresses`: the adapter list copied out into plain
//! [`AdapterRecord`]s, and the socket address readers the other Windows
//! calls share.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;
use std::time::Duration;

use windows_sys::Win32::Foundation::{ERROR_BUFFER_OVERFLOW, ERROR_NO_DATA, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER, GAA_FLAG_SKIP_MULTICAST, GetAdaptersAddresses,
    IP_ADAPTER_ADDRESSES_LH, IP_ADAPTER_UNICAST_ADDRESS_LH,
};
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_INET, SOCKET_ADDRESS,
};

use crate::windows_records::{AdapterRecord, UnicastRecord};

/// Only unicast addresses are read: anycast, multicast and DNS server
/// lists would be allocated and copied for nothing.
const FLAGS: u32 = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;

/// The first buffer size, Microsoft's advice (15 KB), in `u64` words so
/// that the buffer is aligned for the adapter records.
const FIRST_WORDS: usize = 15 * 1024 / size_of::<u64>();

/// How many times the list is asked for when it keeps growing between
/// the size query and the read (adapters appearing meanwhile).
const TRIES: usize = 4;

/// The waits before each new try of a read that failed otherwise (about
/// a second in all). A failure can be fleeting: under Wine the call
/// failed with ERROR_FILE_NOT_FOUND while the device it opens (`\\.\Nsi`,
/// made by one of Wine's services) was not up yet, and a read that gave
/// up at once would leave a host view without a first reading until its
/// back-off ends.
const RETRY_WAITS: [Duration; 5] = [
    Duration::from_millis(10),
    Duration::from_millis(30),
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(600),
];

/// The longest friendly name read, in UTF-16 units; Windows limits them
/// far below this, so it only guards against a missing terminator.
const MAX_NAME: usize = 1024;

/// Reads the adapter list, with both families' unicast addresses; a read
/// that fails is tried again after each of [`RETRY_WAITS`].
///
/// # Errors
///
/// The Win32 error of `GetAdaptersAddresses` at the last try, as an
/// [`io::Error`].
pub(super) fn read() -> io::Result<Vec<AdapterRecord>> {
    retrying(read_once, &RETRY_WAITS, std::thread::sleep)
}

/// `attempt`'s first success, trying again after each of `waits` (passed
/// to `sleep`); the last error when every try failed.
fn retrying<T>(
    mut attempt: impl FnMut() -> io::Result<T>,
    waits: &[Duration],
    mut sleep: impl FnMut(Duration),
) -> io::Result<T> {
    let mut result = attempt();
    for &wait in waits {
        if result.is_ok() {
            break;
        }
        sleep(wait);
        result = attempt();
    }
    result
}

/// One read of the adapter list.
#[allow(unsafe_code)]
fn read_once() -> io::Result<Vec<AdapterRecord>> {
    let mut buf: Vec<u64> = vec![0; FIRST_WORDS];
    for _ in 0..TRIES {
        let mut size = u32::try_from(buf.len() * size_of::<u64>()).unwrap_or(u32::MAX);
        // SAFETY: `buf` is a live, writable buffer of `size` bytes,
        // aligned for IP_ADAPTER_ADDRESSES_LH (8 bytes); the reserved
        // argument is null as documented; `size` is a valid in/out place.
        let code = unsafe {
            GetAdaptersAddresses(
                u32::from(AF_UNSPEC),
                FLAGS,
                ptr::null(),
                buf.as_mut_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>(),
                &mut size,
            )
        };
        match code {
            NO_ERROR => {
                // SAFETY: the call succeeded, so `buf` holds the list it
                // wrote, and `buf` is neither moved nor changed while the
                // list is read.
                return Ok(unsafe { copy_list(buf.as_ptr().cast()) });
            }
            ERROR_NO_DATA => return Ok(Vec::new()),
            ERROR_BUFFER_OVERFLOW => {
                buf = vec![0; (size as usize).div_ceil(size_of::<u64>()) + 1];
            }
            other => return Err(win32_error(other, "GetAdaptersAddresses")),
        }
    }
    Err(io::Error::other(
        "GetAdaptersAddresses: the adapter list kept growing while it was read",
    ))
}

/// A Win32 error code as an [`io::Error`] that names the call.
pub(super) fn win32_error(code: u32, call: &str) -> io::Error {
    let os = io::Error::from_raw_os_error(i32::try_from(code).unwrap_or(i32::MAX));
    io::Error::new(os.kind(), format!("{call} failed: {os}"))
}

/// Copies every adapter of the list out.
///
/// # Safety
///
/// `first` is null or the head of a list that `GetAdaptersAddresses`
/// wrote and that stays alive and unchanged during the call.
#[allow(unsafe_code)]
unsafe fn copy_list(first: *const IP_ADAPTER_ADDRESSES_LH) -> Vec<AdapterRecord> {
    let mut out = Vec::new();
    let mut cursor = first;
    while !cursor.is_null() {
        // SAFETY: a node of the live list (see the function's contract).
        let adapter = unsafe { &*cursor };
        // SAFETY: both members of the union are plain integers, and
        // Windows fills the struct form (length and index).
        let if_index = unsafe { adapter.Anonymous1.Anonymous.IfIndex };
        // SAFETY: FriendlyName is null or a NUL-terminated string owned
        // by the list.
        let friendly_name = unsafe { wide_string(adapter.FriendlyName) };
        let mut unicast = Vec::new();
        let mut address = adapter.FirstUnicastAddress.cast_const();
        while !address.is_null() {
            // SAFETY: a node of the adapter's unicast list, owned by the
            // same buffer.
            let entry = unsafe { &*address };
            // SAFETY: the entry's socket address points into the list.
            if let Some(record) = unsafe { unicast_record(entry) } {
                unicast.push(record);
            }
            address = entry.Next.cast_const();
        }
        out.push(AdapterRecord {
            if_index,
            ipv6_if_index: adapter.Ipv6IfIndex,
            friendly_name,
            if_type: adapter.IfType,
            oper_status: adapter.OperStatus,
            mtu: adapter.Mtu,
            tunnel_type: adapter.TunnelType,
            unicast,
        });
        cursor = adapter.Next.cast_const();
    }
    out
}

/// One unicast entry; `None` for an address of another family.
///
/// # Safety
///
/// `entry.Address` describes a socket address that is alive for the
/// call, as in a list from `GetAdaptersAddresses`.
#[allow(unsafe_code)]
unsafe fn unicast_record(entry: &IP_ADAPTER_UNICAST_ADDRESS_LH) -> Option<UnicastRecord> {
    // SAFETY: passed on from the caller.
    let ip = unsafe { ip_of_socket_address(&entry.Address) }?;
    Some(UnicastRecord {
        ip,
        prefix_len: entry.OnLinkPrefixLength,
        prefix_origin: entry.PrefixOrigin,
        suffix_origin: entry.SuffixOrigin,
        dad_state: entry.DadState,
        valid_lifetime: entry.ValidLifetime,
        preferred_lifetime: entry.PreferredLifetime,
    })
}

/// The address in a `SOCKET_ADDRESS`, for IPv4 and IPv6 only.
///
/// # Safety
///
/// `sa.lpSockaddr` is null or points at `sa.iSockaddrLength` readable
/// bytes.
#[allow(unsafe_code)]
pub(super) unsafe fn ip_of_socket_address(sa: &SOCKET_ADDRESS) -> Option<IpAddr> {
    let len = usize::try_from(sa.iSockaddrLength).ok()?;
    let ptr = sa.lpSockaddr.cast_const().cast::<u8>();
    if ptr.is_null() || len < size_of::<u16>() {
        return None;
    }
    // SAFETY: at least two readable bytes (checked), read unaligned since
    // nothing promises alignment.
    let family = unsafe { ptr::read_unaligned(ptr.cast::<u16>()) };
    match family {
        AF_INET if len >= size_of::<SOCKADDR_IN>() => {
            // SAFETY: the family says IPv4 and the length covers it.
            let sin = unsafe { ptr::read_unaligned(ptr.cast::<SOCKADDR_IN>()) };
            Some(IpAddr::V4(ipv4_of(&sin)))
        }
        AF_INET6 if len >= size_of::<SOCKADDR_IN6>() => {
            // SAFETY: the family says IPv6 and the length covers it.
            let sin6 = unsafe { ptr::read_unaligned(ptr.cast::<SOCKADDR_IN6>()) };
            Some(IpAddr::V6(ipv6_of(&sin6)))
        }
        _ => None,
    }
}

/// The address of an IPv4 socket address.
#[allow(unsafe_code)]
fn ipv4_of(sin: &SOCKADDR_IN) -> Ipv4Addr {
    // SAFETY: every member of IN_ADDR's union is the same four bytes, and
    // any bit pattern is valid for them.
    let raw = unsafe { sin.sin_addr.S_un.S_addr };
    // `S_addr` holds the bytes in network order in memory.
    Ipv4Addr::from(raw.to_ne_bytes())
}

/// The address of an IPv6 socket address.
#[allow(unsafe_code)]
fn ipv6_of(sin6: &SOCKADDR_IN6) -> Ipv6Addr {
    // SAFETY: both members of IN6_ADDR's union are the same sixteen
    // bytes, and any bit pattern is valid for them.
    Ipv6Addr::from(unsafe { sin6.sin6_addr.u.Byte })
}

/// The address in a `SOCKADDR_INET`, for IPv4 and IPv6 only.
#[allow(unsafe_code)]
pub(super) fn ip_of_inet(sa: &SOCKADDR_INET) -> Option<IpAddr> {
    // SAFETY: every member of the union starts with the family, and the
    // value is initialised (filled by the system or zeroed).
    let family = unsafe { sa.si_family };
    match family {
        // SAFETY: the family says which member is in use; both are
        // plain data, valid for any bit pattern.
        AF_INET => Some(IpAddr::V4(ipv4_of(unsafe { &sa.Ipv4 }))),
        // SAFETY: as above.
        AF_INET6 => Some(IpAddr::V6(ipv6_of(unsafe { &sa.Ipv6 }))),
        _ => None,
    }
}

/// A `SOCKADDR_INET` for an address, with the zone for IPv6.
pub(super) fn inet_of(ip: IpAddr, scope_id: u32) -> SOCKADDR_INET {
    let mut sa = SOCKADDR_INET::default();
    match ip {
        IpAddr::V4(v4) => {
            let mut sin = SOCKADDR_IN {
                sin_family: AF_INET,
                ..SOCKADDR_IN::default()
            };
            sin.sin_addr.S_un.S_addr = u32::from_ne_bytes(v4.octets());
            sa.Ipv4 = sin;
        }
        IpAddr::V6(v6) => {
            let mut sin6 = SOCKADDR_IN6 {
                sin6_family: AF_INET6,
                ..SOCKADDR_IN6::default()
            };
            sin6.sin6_addr.u.Byte = v6.octets();
            sin6.Anonymous.sin6_scope_id = scope_id;
            sa.Ipv6 = sin6;
        }
    }
    sa
}

/// A NUL-terminated UTF-16 string, copied; empty for a null pointer.
///
/// # Safety
///
/// `s` is null or points at a NUL-terminated UTF-16 string that stays
/// alive for the call.
#[allow(unsafe_code)]
unsafe fn wide_string(s: *const u16) -> String {
    if s.is_null() {
        return String::new();
    }
    let mut len = 0;
    // SAFETY: the string is read up to its terminator, which the caller
    // promises; MAX_NAME bounds the walk should it be missing.
    while len < MAX_NAME && unsafe { *s.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the first `len` units were just read one by one.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip() {
        for text in [
            "192.0.2.45",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fe80::1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_of_inet(&inet_of(ip, 7)), Some(ip), "{text}");
        }
        assert_eq!(ip_of_inet(&SOCKADDR_INET::default()), None);
    }

    /// A failed read is tried again after each wait, until one succeeds;
    /// when none does, the last error is given, after every wait.
    #[test]
    fn a_failed_read_is_tried_again_after_each_wait() {
        let waits = [Duration::from_millis(1), Duration::from_millis(2)];
        let fail = |n: usize| io::Error::other(format!("failure {n}"));
        let (mut calls, mut slept) = (0, Vec::new());
        let ok = retrying(
            || {
                calls += 1;
                if calls < 3 {
                    Err(fail(calls))
                } else {
                    Ok(calls)
                }
            },
            &waits,
            |d| slept.push(d),
        );
        assert_eq!(ok.unwrap(), 3);
        assert_eq!(slept, waits);

        let (mut calls, mut slept) = (0, Vec::new());
        let err = retrying(
            || -> io::Result<()> {
                calls += 1;
                Err(fail(calls))
            },
            &waits,
            |d| slept.push(d),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "failure 3");
        assert_eq!(slept, waits);

        let mut slept = Vec::new();
        assert_eq!(retrying(|| Ok(1), &waits, |d| slept.push(d)).unwrap(), 1);
        assert!(slept.is_empty(), "a first success waits for nothing");
    }

    #[test]
    fn the_list_of_this_host_has_a_loopback() {
        let adapters = read().unwrap();
        assert!(
            adapters
                .iter()
                .flat_map(|a| &a.unicast)
                .any(|u| u.ip.is_loopback()),
            "{adapters:#?}"
        );
    }
}
