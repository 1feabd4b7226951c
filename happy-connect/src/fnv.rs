//! FNV-1a, the one small hash of this crate: for digests that must stay
//! the same across processes (history's partition keys) and for tables of
//! the program's own short keys (the static resolver's names), where a
//! multiply per byte serves better than SipHash's resistance to chosen
//! keys.

use std::hash::Hasher;

/// An FNV-1a (64-bit) hasher.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The FNV-1a digest of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    let mut hash = Fnv::default();
    hash.write(bytes);
    hash.finish()
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    /// The published FNV-1a test vectors, and a `BuildHasher` built on it
    /// tells keys apart.
    #[test]
    fn it_is_fnv_1a() {
        assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(digest(b"foobar"), 0x8594_4171_f739_67e8);
        let hash = |s: &str| BuildHasherDefault::<Fnv>::default().hash_one(s);
        assert_ne!(hash("bench.test"), hash("bench.tesu"));
    }
}
