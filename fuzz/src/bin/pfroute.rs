//! `iface_probe::pfroute::messages` on any bytes, as if read from a BSD
//! routing socket: the first byte picks the system and the sizes of its
//! `long` and `time_t`, the rest is the message.

use std::process::ExitCode;

use iface_probe::pfroute::{self, Abi, Os, SockAddr};

/// The encoding the first byte picks: the system from its low bits, a
/// 32-bit `long` and `time_t` when bit 7 is set.
fn abi(selector: u8) -> Abi {
    let os = Os::ALL[usize::from(selector) % Os::ALL.len()];
    let bytes = if selector & 0x80 == 0 { 8 } else { 4 };
    Abi::new(os, bytes, bytes).unwrap_or(Abi::lp64(os))
}

fn main() -> ExitCode {
    // FreeBSD (selector 1): RTM_NEWADDR of 192.0.2.7 on interface 3,
    // with its netmask.
    let mut newaddr = vec![1, 52, 0, 5, 0xc];
    newaddr.extend_from_slice(&0x24_u32.to_ne_bytes()); // RTA_NETMASK | RTA_IFA
    newaddr.extend_from_slice(&1_u32.to_ne_bytes());
    newaddr.extend_from_slice(&3_u16.to_ne_bytes());
    newaddr.extend_from_slice(&[0; 6]);
    newaddr.extend_from_slice(&[16, 2, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    newaddr.extend_from_slice(&[16, 2, 0, 0, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Apple (selector 0): RTM_IFINFO for interface 5, no addresses.
    let mut ifinfo = vec![0, 112, 0, 5, 0xe];
    ifinfo.extend_from_slice(&[0; 108]);
    ifinfo[9] = 0x43;
    ifinfo[13] = 5;
    // OpenBSD (selector 3): RTM_IFANNOUNCE of tun0 departing.
    let mut announce = vec![3, 26, 0, 5, 0xf, 26, 0, 9, 0, 1, 0];
    announce.extend_from_slice(b"tun0");
    announce.extend_from_slice(&[0; 12]);
    let seeds: &[&[u8]] = &[&newaddr, &ifinfo, &announce, &[2, 4, 0, 4, 0x18]];
    happy_connect_fuzz::main("pfroute", seeds, 1024, |data| {
        let Some((&selector, bytes)) = data.split_first() else {
            return;
        };
        let abi = abi(selector);
        for message in pfroute::messages(bytes, abi) {
            match message {
                Ok(m) => {
                    let _ = m.changes_host();
                    let _ = format!("{m:?}");
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        let _ = SockAddr::decode(bytes, abi);
    })
}
