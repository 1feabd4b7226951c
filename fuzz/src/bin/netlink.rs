//! `iface_probe::netlink::parse_messages` on any bytes, as if read from
//! netlink: dumps, change notifications, and the Router Advertisement
//! options of `RTM_NEWNDUSEROPT` (PREF64 among them).

use std::process::ExitCode;

fn main() -> ExitCode {
    // RTM_NEWADDR for 192.0.2.1/24 on ifindex 2, then NLMSG_DONE.
    let newaddr: &[u8] = &[
        40, 0, 0, 0, 20, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
        2, 24, 0, 0, 2, 0, 0, 0, // ifaddrmsg
        8, 0, 1, 0, 192, 0, 2, 1, // IFA_ADDRESS
        8, 0, 2, 0, 192, 0, 2, 1, // IFA_LOCAL
    ];
    let done: &[u8] = &[20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let both: Vec<u8> = [newaddr, done].concat();
    // RTM_NEWLINK for "lo".
    let newlink: &[u8] = &[
        40, 0, 0, 0, 16, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
        0, 0, 4, 3, 1, 0, 0, 0, 0x49, 0, 1, 0, 0, 0, 0, 0, // ifinfomsg
        7, 0, 3, 0, b'l', b'o', 0, 0, // IFLA_IFNAME
        8, 0, 4, 0, 0, 0, 1, 0, // IFLA_MTU
    ];
    // RTM_NEWROUTE default via 192.0.2.254.
    let newroute: &[u8] = &[
        44, 0, 0, 0, 24, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
        2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0, // rtmsg
        8, 0, 15, 0, 254, 0, 0, 0, // RTA_TABLE
        8, 0, 5, 0, 192, 0, 2, 254, // RTA_GATEWAY
        8, 0, 4, 0, 2, 0, 0, 0, // RTA_OIF
    ];
    // The removals: the same messages as RTM_DELADDR and RTM_DELLINK, and
    // a bridge port leaving its bridge (RTM_DELLINK, family AF_BRIDGE).
    let retyped = |message: &[u8], message_type: u8| {
        let mut m = message.to_vec();
        m[4] = message_type;
        m
    };
    let deladdr = retyped(newaddr, 21);
    let dellink = retyped(newlink, 17);
    let mut unbridged = dellink.clone();
    unbridged[16] = 7;
    // RTM_NEWNDUSEROPT as Linux sends it: a Router Advertisement's PREF64
    // option (2001:db8:64::/96, 600 s) on ifindex 2 and its source
    // address; then the same with a prefix length code of 7 (invalid), and
    // with an RDNSS option before the PREF64 one.
    let nduseropt: &[u8] = &[
        68, 0, 0, 0, 68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
        10, 0, 16, 0, 2, 0, 0, 0, 134, 0, 0, 0, 0, 0, 0, 0, // nduseroptmsg
        38, 2, 2, 88, 0x20, 1, 13, 184, 0, 100, 0, 0, 0, 0, 0, 0, // PREF64
        20, 0, 1, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // SRCADDR
    ];
    let mut bad_plc = nduseropt.to_vec();
    bad_plc[35] |= 7;
    let rdnss: [u8; 24] = [
        25, 3, 0, 0, 0, 0, 0, 120, 0x20, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 53,
    ];
    let mut two = nduseropt[..32].to_vec();
    two.extend_from_slice(&rdnss);
    two.extend_from_slice(&nduseropt[32..]);
    two[0] = two.len() as u8;
    two[18] = 40;
    let seeds: &[&[u8]] = &[
        newaddr, done, &both, newlink, newroute, &deladdr, &dellink, &unbridged, nduseropt,
        &bad_plc, &two,
    ];
    happy_connect_fuzz::main("netlink", seeds, 1024, |data| {
        if let Ok(messages) = iface_probe::netlink::parse_messages(data) {
            let _ = format!("{messages:?}");
        }
    })
}
