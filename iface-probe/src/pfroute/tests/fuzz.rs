//! No input makes the decoders panic: random bytes, and random bytes
//! behind a plausible common header (the right version, a known type, a
//! length that fits), which reach the header and address decoders.

use proptest::prelude::*;

use crate::pfroute::{Abi, In6Ifreq, Os, SockAddr, link_kind, messages, parse};

fn abi() -> impl Strategy<Value = Abi> {
    (0..Os::ALL.len(), any::<bool>(), any::<bool>()).prop_map(|(i, long8, time8)| {
        let (long, time) = (if long8 { 8 } else { 4 }, if time8 { 8 } else { 4 });
        Abi::new(Os::ALL[i], long, time).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(abi in abi(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes, abi);
        let n = messages(&bytes, abi).count();
        // Every message is at least the 4-byte common header, and an error
        // ends the walk.
        prop_assert!(n <= bytes.len() / 4 + 1);
        let _ = SockAddr::decode(&bytes, abi);
        let _ = SockAddr::netmask(&bytes, bytes.first().is_some_and(|b| b % 2 == 0));
    }

    #[test]
    fn plausible_headers_never_panic(
        abi in abi(),
        message_type in prop_oneof![1u8..=0x18, any::<u8>()],
        hdrlen in any::<u16>(),
        mut bytes in proptest::collection::vec(any::<u8>(), 4..700),
    ) {
        let len = u16::try_from(bytes.len()).unwrap();
        bytes[..2].copy_from_slice(&len.to_ne_bytes());
        bytes[2] = abi.os().rtm_version();
        bytes[3] = message_type;
        if bytes.len() >= 6 {
            // OpenBSD's header length, somewhere near the message's.
            let hdrlen = hdrlen % (len + 8);
            bytes[4..6].copy_from_slice(&hdrlen.to_ne_bytes());
        }
        let parsed = parse(&bytes, abi);
        if let Ok(msg) = &parsed {
            prop_assert_eq!(msg.length, bytes.len());
            let _ = msg.changes_host();
        }
        // Two copies back to back walk the same way twice.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        let kinds: Vec<_> = messages(&twice, abi).map(|m| m.map(|m| m.kind)).collect();
        if parsed.is_ok() {
            prop_assert_eq!(kinds.len(), 2);
            prop_assert_eq!(&kinds[0], &kinds[1]);
        } else {
            prop_assert_eq!(kinds.len(), 1);
        }
    }

    #[test]
    fn records_never_panic(
        abi in abi(),
        name in "[a-z]{0,20}",
        raw in proptest::collection::vec(any::<u8>(), 288),
        if_type in any::<u8>(),
        flags in any::<u32>(),
        now in any::<i64>(),
    ) {
        let ip = std::net::Ipv6Addr::from(flags.to_be_bytes().repeat(4).try_into().unwrap_or([0u8; 16]));
        if let Some(req) = In6Ifreq::new(abi, &name, ip, flags) {
            prop_assert!(name.len() < 16);
            prop_assert_eq!(&req.into_bytes()[..name.len()], name.as_bytes());
        }
        let req = In6Ifreq::from_bytes(raw.try_into().unwrap());
        let _ = crate::pfroute::addr_flags(abi.os(), req.flags6());
        let lt = req.lifetime(abi);
        let _ = (lt.valid_left(now), lt.preferred_left(now));
        let _ = link_kind(abi.os(), if_type, &name, flags);
    }
}
