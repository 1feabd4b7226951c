//! Tests of the BSD records on hand-made bytes. The builders here write
//! each system's headers at the offsets its own header files give,
//! independently of the parser's tables, so that a wrong table fails a
//! test rather than agreeing with itself.

mod fuzz;
mod messages;
mod records;

/// A message or socket address under construction, in the host's byte
/// order (as the kernels write them).
#[derive(Debug, Clone)]
pub(super) struct Bytes(pub(super) Vec<u8>);

impl Bytes {
    pub(super) fn zeros(len: usize) -> Self {
        Self(vec![0; len])
    }

    pub(super) fn u8(mut self, at: usize, value: u8) -> Self {
        self.0[at] = value;
        self
    }

    pub(super) fn u16(mut self, at: usize, value: u16) -> Self {
        self.0[at..at + 2].copy_from_slice(&value.to_ne_bytes());
        self
    }

    pub(super) fn u32(mut self, at: usize, value: u32) -> Self {
        self.0[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }

    pub(super) fn i32(mut self, at: usize, value: i32) -> Self {
        self.0[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }

    pub(super) fn bytes(mut self, at: usize, value: &[u8]) -> Self {
        self.0[at..at + value.len()].copy_from_slice(value);
        self
    }

    /// Appends a socket address and zeros up to the next multiple of
    /// `unit` (an empty one takes a whole unit).
    pub(super) fn sockaddr(mut self, sa: &[u8], unit: usize) -> Self {
        self.0.extend_from_slice(sa);
        let space = if sa.is_empty() {
            unit
        } else {
            sa.len().div_ceil(unit) * unit
        };
        self.0.resize(self.0.len() + space - sa.len(), 0);
        self
    }

    /// Sets `msglen` to the length so far.
    pub(super) fn done(self) -> Vec<u8> {
        let len = u16::try_from(self.0.len()).unwrap();
        self.u16(0, len).0
    }
}

/// `sockaddr_in` (16 bytes).
pub(super) fn sin(ip: [u8; 4]) -> Vec<u8> {
    let mut sa = vec![0; 16];
    sa[0] = 16;
    sa[1] = 2;
    sa[4..8].copy_from_slice(&ip);
    sa
}

/// `sockaddr_in6` (28 bytes) with the system's `AF_INET6`.
pub(super) fn sin6(af_inet6: u8, ip: &str, scope_id: u32) -> Vec<u8> {
    let ip: std::net::Ipv6Addr = ip.parse().unwrap();
    let mut sa = vec![0; 28];
    sa[0] = 28;
    sa[1] = af_inet6;
    sa[8..24].copy_from_slice(&ip.octets());
    sa[24..28].copy_from_slice(&scope_id.to_ne_bytes());
    sa
}

/// `sockaddr_dl` of interface `index`, type `if_type`, named `name`, with
/// link-layer address `lladdr` (8 bytes of header, then the name and the
/// address, padded to the structure's 20 bytes).
pub(super) fn sdl(index: u16, if_type: u8, name: &str, lladdr: &[u8]) -> Vec<u8> {
    let len = (8 + name.len() + lladdr.len()).max(20);
    let mut sa = vec![0; len];
    sa[0] = u8::try_from(len).unwrap();
    sa[1] = 18;
    sa[2..4].copy_from_slice(&index.to_ne_bytes());
    sa[4] = if_type;
    sa[5] = u8::try_from(name.len()).unwrap();
    sa[6] = u8::try_from(lladdr.len()).unwrap();
    sa[8..8 + name.len()].copy_from_slice(name.as_bytes());
    sa[8 + name.len()..8 + name.len() + lladdr.len()].copy_from_slice(lladdr);
    sa
}
