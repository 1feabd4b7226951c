//! Windows: Winsock's `GetAddrInfoW` for one family.
//!
//! The name goes to the system as UTF-16, so an internationalised name
//! is converted to its ASCII form by Windows itself. Winsock must be
//! initialised before the call; the standard library does that only when
//! it first creates a socket, so [`winsock`] does it here, once.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;
use std::sync::OnceLock;

use windows_sys::Win32::Networking::WinSock::{
    ADDRINFOW, AF_INET, AF_INET6, FreeAddrInfoW, GetAddrInfoW, SOCK_STREAM, SOCKADDR_IN,
    SOCKADDR_IN6, WSA_NOT_ENOUGH_MEMORY, WSADATA, WSAHOST_NOT_FOUND, WSANO_DATA, WSANOTINITIALISED,
    WSAStartup,
};

use super::super::system::lowercase_first;
use super::super::{RecordType, ResolveError};
use super::answer;

/// Winsock 2.2, what every Windows since 98 provides.
const WINSOCK_VERSION: u16 = 0x0202;

/// Initialises Winsock once per process, and keeps it initialised for
/// the life of the process (as the standard library does): `WSACleanup`
/// is never called, so no socket of the program can lose Winsock under
/// it. Returns the `WSAStartup` error, if it failed.
fn winsock() -> Result<(), i32> {
    static STARTED: OnceLock<i32> = OnceLock::new();
    let code = *STARTED.get_or_init(|| {
        let mut data = WSADATA::default();
        // SAFETY: `data` is a live, writable WSADATA for the call to fill.
        unsafe { WSAStartup(WINSOCK_VERSION, &mut data) }
    });
    if code == 0 { Ok(()) } else { Err(code) }
}

/// Frees the `ADDRINFOW` list when dropped, so that it is freed on every
/// path out of [`getaddrinfo`], a panic included.
struct AddrInfoList(*mut ADDRINFOW);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful GetAddrInfoW call
            // and is freed only here, once; addresses are copied out
            // before the guard drops.
            unsafe { FreeAddrInfoW(self.0) };
        }
    }
}

/// One blocking `GetAddrInfoW` call for one family.
pub(super) fn getaddrinfo(name: &str, rtype: RecordType) -> Result<Vec<IpAddr>, ResolveError> {
    if name.contains('\0') {
        return Err(ResolveError::InvalidName {
            name: name.to_owned(),
            detail: "contains a NUL byte".to_owned(),
        });
    }
    winsock().map_err(|code| {
        ResolveError::Io(io::Error::new(
            io::Error::from_raw_os_error(code).kind(),
            format!(
                "{rtype} lookup of {name}: winsock cannot start: {}",
                wsa_text(code)
            ),
        ))
    })?;
    let wide: Vec<u16> = name.encode_utf16().chain([0]).collect();
    let hints = ADDRINFOW {
        ai_family: i32::from(match rtype {
            RecordType::A => AF_INET,
            RecordType::Aaaa => AF_INET6,
        }),
        // One entry per address instead of one per socket type. No
        // AI_ADDRCONFIG and no AI_V4MAPPED (see the module docs): the
        // family asked for is the family answered.
        ai_socktype: SOCK_STREAM,
        ..ADDRINFOW::default()
    };
    let mut res: *mut ADDRINFOW = ptr::null_mut();
    // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the
    // call, a null service is allowed when a node is given, `hints` is a
    // valid ADDRINFOW with null pointers, and `res` is a valid place for
    // the result pointer.
    let code = unsafe { GetAddrInfoW(wide.as_ptr(), ptr::null(), &hints, &mut res) };
    // Owned from here on, so every return below frees it.
    let list = AddrInfoList(res);
    if code != 0 {
        return Err(map_wsa_error(code, name, rtype));
    }

    let mut addrs = Vec::new();
    let mut cursor = list.0.cast_const();
    while !cursor.is_null() {
        // SAFETY: `cursor` is the head of the list GetAddrInfoW returned
        // or an `ai_next` of one of its nodes; the list is alive (owned
        // by `list`) and not modified while read.
        let info = unsafe { &*cursor };
        if let Some(addr) = sockaddr_ip(info) {
            addrs.push(addr);
        }
        cursor = info.ai_next.cast_const();
    }
    drop(list);
    answer(name, rtype, addrs)
}

/// The IP address of one `ADDRINFOW` node, if it is IPv4 or IPv6.
fn sockaddr_ip(info: &ADDRINFOW) -> Option<IpAddr> {
    if info.ai_addr.is_null() {
        return None;
    }
    let len = info.ai_addrlen;
    match u16::try_from(info.ai_family).ok()? {
        AF_INET if len >= size_of::<SOCKADDR_IN>() => {
            // SAFETY: for AF_INET, ai_addr points to a SOCKADDR_IN of
            // ai_addrlen bytes (checked above); read_unaligned because
            // nothing promises alignment for the generic pointer.
            let sin = unsafe { ptr::read_unaligned(info.ai_addr.cast::<SOCKADDR_IN>()) };
            // SAFETY: every member of the IN_ADDR union is the same four
            // bytes, in network order in memory.
            let raw = unsafe { sin.sin_addr.S_un.S_addr };
            Some(IpAddr::V4(Ipv4Addr::from(raw.to_ne_bytes())))
        }
        AF_INET6 if len >= size_of::<SOCKADDR_IN6>() => {
            // SAFETY: as above, for AF_INET6 and a SOCKADDR_IN6.
            let sin6 = unsafe { ptr::read_unaligned(info.ai_addr.cast::<SOCKADDR_IN6>()) };
            // SAFETY: both members of the IN6_ADDR union are the same
            // sixteen bytes.
            Some(IpAddr::V6(Ipv6Addr::from(unsafe { sin6.sin6_addr.u.Byte })))
        }
        _ => None,
    }
}

/// Maps a Winsock error of `GetAddrInfoW` onto [`ResolveError`], as the
/// Unix side maps the `EAI_*` codes, with the system's words for it.
fn map_wsa_error(code: i32, name: &str, rtype: RecordType) -> ResolveError {
    let detail = wsa_text(code);
    match code {
        // EAI_NONAME's counterpart: the name does not exist.
        WSAHOST_NOT_FOUND => ResolveError::NxDomain {
            name: name.to_owned(),
        },
        // EAI_NODATA's: the name exists, this family has nothing.
        WSANO_DATA => ResolveError::NoRecords {
            name: name.to_owned(),
            rtype,
        },
        WSA_NOT_ENOUGH_MEMORY => ResolveError::Io(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("{rtype} lookup of {name}: {detail}"),
        )),
        // A local failure, not an answer: EAI_SYSTEM's counterpart.
        WSANOTINITIALISED => ResolveError::Io(io::Error::other(format!(
            "{rtype} lookup of {name}: {detail}"
        ))),
        // WSATRY_AGAIN (a timeout or SERVFAIL, not told apart),
        // WSANO_RECOVERY and anything else.
        _ => ResolveError::Server {
            name: name.to_owned(),
            rtype,
            detail,
        },
    }
}

/// The system's text for a Winsock error, lowercased, without the
/// trailing period and the code the standard library appends.
fn wsa_text(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .trim_end()
        .trim_end_matches('.');
    if text.is_empty() {
        format!("winsock error {code}")
    } else {
        lowercase_first(text)
    }
}

#[cfg(test)]
mod tests {
    use windows_sys::Win32::Networking::WinSock::WSATRY_AGAIN;

    use super::*;

    #[test]
    fn host_not_found_is_nxdomain_and_no_data_is_no_records() {
        let e = map_wsa_error(WSAHOST_NOT_FOUND, "x.invalid", RecordType::A);
        assert!(matches!(e, ResolveError::NxDomain { .. }), "{e:?}");
        let e = map_wsa_error(WSANO_DATA, "v4only.test", RecordType::Aaaa);
        assert!(
            matches!(
                e,
                ResolveError::NoRecords {
                    rtype: RecordType::Aaaa,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = map_wsa_error(WSA_NOT_ENOUGH_MEMORY, "x.test", RecordType::A);
        assert!(
            matches!(&e, ResolveError::Io(io) if io.kind() == io::ErrorKind::OutOfMemory),
            "{e:?}"
        );
    }

    #[test]
    fn try_again_is_server_with_the_system_text() {
        let e = map_wsa_error(WSATRY_AGAIN, "x.test", RecordType::Aaaa);
        let text = e.to_string();
        assert!(text.starts_with("AAAA lookup of x.test failed: "), "{text}");
        assert!(!text.ends_with('.') && !text.contains("os error"), "{text}");
    }

    #[test]
    fn nul_byte_is_invalid_name() {
        let e = getaddrinfo("a\0b", RecordType::A).unwrap_err();
        assert!(matches!(e, ResolveError::InvalidName { .. }), "{e:?}");
    }

    #[test]
    fn localhost_resolves_per_family() {
        let v4 = getaddrinfo("localhost", RecordType::A).unwrap();
        assert!(v4.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{v4:?}");
        assert!(v4.iter().all(IpAddr::is_ipv4), "{v4:?}");
        match getaddrinfo("localhost", RecordType::Aaaa) {
            Ok(v6) => assert!(v6.iter().all(IpAddr::is_ipv6), "{v6:?}"),
            // A host whose resolver gives localhost no IPv6 address:
            // Windows always has `::1`, but Wine passes on the Linux
            // resolver's answer, and glibc calls the name unknown for
            // IPv6 when `/etc/hosts` lists only 127.0.0.1.
            Err(ResolveError::NoRecords { .. } | ResolveError::NxDomain { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
}
