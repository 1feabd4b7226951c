//! Unix: the C library's `getaddrinfo(3)` for one family.

use std::ffi::{CStr, CString, c_int};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;

use super::super::system::lowercase_first;
use super::super::{RecordType, ResolveError};
use super::answer;

/// Frees the `addrinfo` list when dropped, so that it is freed on every
/// path out of [`getaddrinfo`], a panic included.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getaddrinfo call,
            // is freed only here and only once (this guard owns it and is
            // not Clone), and nothing borrowed from the list outlives the
            // guard: addresses are copied out before it drops.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// One blocking `getaddrinfo` call for one family.
pub(super) fn getaddrinfo(name: &str, rtype: RecordType) -> Result<Vec<IpAddr>, ResolveError> {
    let c_name = CString::new(name).map_err(|_| ResolveError::InvalidName {
        name: name.to_owned(),
        detail: "contains a NUL byte".to_owned(),
    })?;

    // SAFETY: addrinfo is a plain C struct of integers and pointers, for
    // which all-zero (null pointers) is the documented "no hint" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = match rtype {
        RecordType::A => libc::AF_INET,
        RecordType::Aaaa => libc::AF_INET6,
    };
    // One entry per address instead of one per socket type.
    hints.ai_socktype = libc::SOCK_STREAM;
    // No AI_ADDRCONFIG (see the module docs) and no AI_V4MAPPED: the
    // family asked for is the family answered.
    hints.ai_flags = 0;

    let mut res: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the
    // call, a null service is allowed when a node is given, `hints` is a
    // valid addrinfo, and `res` is a valid place for the result pointer.
    let code = unsafe { libc::getaddrinfo(c_name.as_ptr(), ptr::null(), &hints, &mut res) };
    // Owned from here on, so every return below frees it.
    let list = AddrInfoList(res);
    if code != 0 {
        // Read errno before anything else can change it.
        let os_error = io::Error::last_os_error();
        return Err(map_gai_error(code, os_error, name, rtype));
    }

    let mut addrs = Vec::new();
    let mut cursor = list.0;
    while !cursor.is_null() {
        // SAFETY: `cursor` is the head of the list getaddrinfo returned or
        // an `ai_next` of one of its nodes; the list is alive (owned by
        // `list`) and not modified while read.
        let info = unsafe { &*cursor };
        if let Some(addr) = sockaddr_ip(info) {
            addrs.push(addr);
        }
        cursor = info.ai_next;
    }
    drop(list);
    answer(name, rtype, addrs)
}

/// The IP address of one `addrinfo` node, if it is IPv4 or IPv6.
fn sockaddr_ip(info: &libc::addrinfo) -> Option<IpAddr> {
    if info.ai_addr.is_null() {
        return None;
    }
    let len = info.ai_addrlen as usize;
    match info.ai_family {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: for AF_INET, ai_addr points to a sockaddr_in of
            // ai_addrlen bytes (checked above); read_unaligned because the
            // C library promises no alignment for the generic pointer.
            let sin = unsafe { ptr::read_unaligned(info.ai_addr.cast::<libc::sockaddr_in>()) };
            // s_addr is in network byte order.
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: for AF_INET6, ai_addr points to a sockaddr_in6 of
            // ai_addrlen bytes (checked above); read_unaligned as above.
            let sin6 = unsafe { ptr::read_unaligned(info.ai_addr.cast::<libc::sockaddr_in6>()) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// Maps an `EAI_*` code onto [`ResolveError`], with the C library's own
/// words for it.
fn map_gai_error(code: c_int, os_error: io::Error, name: &str, rtype: RecordType) -> ResolveError {
    let detail = gai_strerror(code);
    match code {
        libc::EAI_NONAME => ResolveError::NxDomain {
            name: name.to_owned(),
        },
        // glibc's "no address associated with hostname": the name exists,
        // this family has nothing.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::EAI_NODATA => ResolveError::NoRecords {
            name: name.to_owned(),
            rtype,
        },
        // A system call failed; errno says which error.
        libc::EAI_SYSTEM => ResolveError::Io(io::Error::new(
            os_error.kind(),
            format!("{rtype} lookup of {name}: {detail}: {os_error}"),
        )),
        libc::EAI_MEMORY => ResolveError::Io(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("{rtype} lookup of {name}: {detail}"),
        )),
        // EAI_AGAIN (temporary failure: a timeout or SERVFAIL, the C
        // library does not say which), EAI_FAIL and anything else.
        _ => ResolveError::Server {
            name: name.to_owned(),
            rtype,
            detail,
        },
    }
}

/// The C library's text for an `EAI_*` code, lowercased.
fn gai_strerror(code: c_int) -> String {
    // SAFETY: gai_strerror accepts any code and returns a pointer to a
    // static NUL-terminated string (never null in glibc or musl; checked
    // anyway), which is copied before anything else runs.
    let text = unsafe {
        let ptr = libc::gai_strerror(code);
        if ptr.is_null() {
            return format!("getaddrinfo error {code}");
        }
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    };
    lowercase_first(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noname_is_nxdomain() {
        let e = map_gai_error(
            libc::EAI_NONAME,
            io::Error::from_raw_os_error(0),
            "x.invalid",
            RecordType::A,
        );
        assert!(matches!(e, ResolveError::NxDomain { .. }), "{e:?}");
    }

    #[test]
    fn again_is_server_with_libc_text() {
        let e = map_gai_error(
            libc::EAI_AGAIN,
            io::Error::from_raw_os_error(0),
            "x.test",
            RecordType::Aaaa,
        );
        let text = e.to_string();
        assert!(text.starts_with("AAAA lookup of x.test failed: "), "{text}");
        // The C library's own words: glibc's are known, musl's differ
        // ("try again").
        assert!(text.ends_with(&gai_strerror(libc::EAI_AGAIN)), "{text}");
        #[cfg(target_env = "gnu")]
        assert!(text.contains("temporary failure"), "{text}");
    }

    #[test]
    fn nul_byte_is_invalid_name() {
        let e = getaddrinfo("a\0b", RecordType::A).unwrap_err();
        assert!(matches!(e, ResolveError::InvalidName { .. }), "{e:?}");
    }
}
