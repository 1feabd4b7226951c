//! The netlink numbers this crate uses, all in one place: message types,
//! flags, groups, header sizes and attribute types, as Linux's
//! `<linux/netlink.h>`, `<linux/rtnetlink.h>`, `<linux/if_link.h>`,
//! `<linux/if_addr.h>`, `<linux/fib_rules.h>` and `<linux/neighbour.h>`
//! define them.
//!
//! Plain numbers, compiled on every platform, so that the pure decoder
//! and its tests build everywhere; the request side is used on Linux only.

#![cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]

// Message types.
/// `NLMSG_ERROR`: an error or, with code 0, an acknowledgement.
pub(crate) const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub(crate) const NLMSG_DONE: u16 = 3;
/// `RTM_NEWLINK`.
pub(crate) const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub(crate) const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub(crate) const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub(crate) const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub(crate) const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`.
pub(crate) const RTM_GETADDR: u16 = 22;
/// `RTM_NEWROUTE`.
pub(crate) const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub(crate) const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`.
pub(crate) const RTM_GETROUTE: u16 = 26;
/// `RTM_NEWRULE`.
pub(crate) const RTM_NEWRULE: u16 = 32;
/// `RTM_DELRULE`.
pub(crate) const RTM_DELRULE: u16 = 33;
/// `RTM_NEWNDUSEROPT`: a Router Advertisement option handed to user space.
pub(crate) const RTM_NEWNDUSEROPT: u16 = 68;

// Header flags.
/// `NLM_F_REQUEST`.
pub(crate) const NLM_F_REQUEST: u16 = 0x001;
/// `NLM_F_MULTI`: part of a multi-part reply.
#[cfg(test)]
pub(crate) const NLM_F_MULTI: u16 = 0x002;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change and may be
/// inconsistent.
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x010;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub(crate) const NLM_F_DUMP: u16 = 0x300;

// Multicast groups, as bit numbers for `NETLINK_ADD_MEMBERSHIP` (the
// group's bit in the old `nl_groups` mask is `1 << (group - 1)`).
/// `RTNLGRP_LINK`.
pub(crate) const RTNLGRP_LINK: u32 = 1;
/// `RTNLGRP_IPV4_IFADDR`.
pub(crate) const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV4_ROUTE`.
pub(crate) const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_IPV4_RULE`.
pub(crate) const RTNLGRP_IPV4_RULE: u32 = 8;
/// `RTNLGRP_IPV6_IFADDR`.
pub(crate) const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// `RTNLGRP_IPV6_ROUTE`.
pub(crate) const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// `RTNLGRP_IPV6_RULE`.
pub(crate) const RTNLGRP_IPV6_RULE: u32 = 19;
/// `RTNLGRP_ND_USEROPT`: Router Advertisement options for user space.
pub(crate) const RTNLGRP_ND_USEROPT: u32 = 20;

// Address families.
/// `AF_UNSPEC`.
pub(crate) const AF_UNSPEC: u8 = 0;
/// `AF_INET`.
pub(crate) const AF_INET: u8 = 2;
/// `AF_BRIDGE`.
pub(crate) const AF_BRIDGE: u8 = 7;
/// `AF_INET6`.
pub(crate) const AF_INET6: u8 = 10;

// Fixed sizes.
/// `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `struct ifinfomsg`.
pub(crate) const IFINFOMSG_LEN: usize = 16;
/// `struct ifaddrmsg`.
pub(crate) const IFADDRMSG_LEN: usize = 8;
/// `struct rtmsg`.
pub(crate) const RTMSG_LEN: usize = 12;
/// `struct rtnexthop`.
pub(crate) const RTNEXTHOP_LEN: usize = 8;
/// `struct nduseroptmsg`.
pub(crate) const NDUSEROPTMSG_LEN: usize = 16;

/// The type bits of an attribute's type (without `NLA_F_NESTED` and
/// `NLA_F_NET_BYTEORDER`).
pub(crate) const NLA_TYPE_MASK: u16 = 0x3fff;

// Link attributes (`IFLA_*`).
/// `IFLA_IFNAME`: the name, NUL-terminated.
pub(crate) const IFLA_IFNAME: u16 = 3;
/// `IFLA_MTU`.
pub(crate) const IFLA_MTU: u16 = 4;
/// `IFLA_OPERSTATE`: RFC 2863 operational state, one byte.
pub(crate) const IFLA_OPERSTATE: u16 = 16;
/// `IFLA_LINKINFO`: nested, holds `IFLA_INFO_KIND`.
pub(crate) const IFLA_LINKINFO: u16 = 18;
/// `IFLA_CARRIER`: one byte, 1 with carrier.
pub(crate) const IFLA_CARRIER: u16 = 33;
/// `IFLA_INFO_KIND`, inside `IFLA_LINKINFO`: the driver kind string.
pub(crate) const IFLA_INFO_KIND: u16 = 1;

// Link flags (`IFF_*`).
/// `IFF_UP`.
pub(crate) const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK`.
pub(crate) const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_RUNNING`.
pub(crate) const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`: the driver signals layer-1 up (carrier).
pub(crate) const IFF_LOWER_UP: u32 = 0x1_0000;

// Address attributes (`IFA_*`).
/// `IFA_ADDRESS`: the prefix address (the peer's on point-to-point links).
pub(crate) const IFA_ADDRESS: u16 = 1;
/// `IFA_LOCAL`: the local address.
pub(crate) const IFA_LOCAL: u16 = 2;
/// `IFA_LABEL`: the IPv4 label, NUL-terminated.
pub(crate) const IFA_LABEL: u16 = 3;
/// `IFA_CACHEINFO`: `struct ifa_cacheinfo`, lifetimes first.
pub(crate) const IFA_CACHEINFO: u16 = 6;
/// `IFA_FLAGS`: all 32 flag bits (the header holds only the low 8).
pub(crate) const IFA_FLAGS: u16 = 8;

// Route attributes (`RTA_*`).
/// `RTA_DST`.
pub(crate) const RTA_DST: u16 = 1;
/// `RTA_OIF`.
pub(crate) const RTA_OIF: u16 = 4;
/// `RTA_GATEWAY`.
pub(crate) const RTA_GATEWAY: u16 = 5;
/// `RTA_PRIORITY`: the metric.
pub(crate) const RTA_PRIORITY: u16 = 6;
/// `RTA_PREFSRC`.
pub(crate) const RTA_PREFSRC: u16 = 7;
/// `RTA_MULTIPATH`: a list of `struct rtnexthop`, each with attributes.
pub(crate) const RTA_MULTIPATH: u16 = 9;
/// `RTA_TABLE`: the table, when it does not fit the header's byte.
pub(crate) const RTA_TABLE: u16 = 15;
/// `RTA_VIA`: a gateway of another family (`struct rtvia`).
pub(crate) const RTA_VIA: u16 = 18;

// Attributes of `RTM_NEWNDUSEROPT` (`NDUSEROPT_*`).
/// `NDUSEROPT_SRCADDR`: the Router Advertisement's source address.
pub(crate) const NDUSEROPT_SRCADDR: u16 = 1;

// Hardware types (`ARPHRD_*`, `<linux/if_arp.h>`).
/// `ARPHRD_ETHER`: Ethernet and everything that looks like it (veth,
/// bridges, dummies, tap devices).
pub(crate) const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_TUNNEL`: an IPv4-in-IPv4 (`ipip`) tunnel.
pub(crate) const ARPHRD_TUNNEL: u16 = 768;
/// `ARPHRD_TUNNEL6`: an IPv6-in-IPv6 (`ip6tnl`) tunnel.
pub(crate) const ARPHRD_TUNNEL6: u16 = 769;
/// `ARPHRD_LOOPBACK`: the loopback device.
pub(crate) const ARPHRD_LOOPBACK: u16 = 772;
/// `ARPHRD_SIT`: an IPv6-in-IPv4 (`sit`, 6to4, 6in4, ISATAP) tunnel.
pub(crate) const ARPHRD_SIT: u16 = 776;
/// `ARPHRD_IPGRE`: a GRE tunnel.
pub(crate) const ARPHRD_IPGRE: u16 = 778;
/// `ARPHRD_IP6GRE`: a GRE tunnel over IPv6.
pub(crate) const ARPHRD_IP6GRE: u16 = 823;
/// `ARPHRD_NONE`: a device with no link-layer header, such as a `tun`
/// device (Miredo's Teredo interface) or WireGuard.
pub(crate) const ARPHRD_NONE: u16 = 0xfffe;
