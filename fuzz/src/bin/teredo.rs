//! `TeredoAddr::from_ipv6` on 16 bytes and `TeredoAddr`'s `FromStr` on text.

use std::net::Ipv6Addr;
use std::process::ExitCode;

use teredo_addr::TeredoAddr;

fn main() -> ExitCode {
    let seeds: &[&[u8]] = &[
        b"2001:0:4136:e378:8000:63bf:3fff:fdd2",
        b"2001:0000:4136:e378:8000:63bf:3fff:fdd2",
        b"2001::1",
        b"::ffff:192.0.2.1",
        b"2001:0:c633:640a:8000:f227:bd6a:13fe",
        &[
            0x20, 0x01, 0, 0, 0x41, 0x36, 0xe3, 0x78, 0x80, 0, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xd2,
        ],
    ];
    happy_connect_fuzz::main("teredo", seeds, 64, |data| {
        if let Ok(bytes) = <[u8; 16]>::try_from(data.get(..16).unwrap_or_default()) {
            if let Ok(t) = TeredoAddr::from_ipv6(Ipv6Addr::from(bytes)) {
                let _ = (t.server(), t.client(), t.port(), t.is_cone(), t.to_string());
            }
        }
        let text = String::from_utf8_lossy(data);
        if let Ok(t) = text.parse::<TeredoAddr>() {
            // What parses must print and parse back to itself.
            let again: TeredoAddr = t.to_string().parse().expect("round trip");
            assert_eq!(again, t);
        }
    })
}
