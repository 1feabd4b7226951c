//! The network: the router and the four hosts (Teredo server, t1, t2,
//! srv), each in its namespace, linked by veth pairs, with the lab's fixed
//! IPv4, IPv6 and 6to4-looking addresses and routes.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Result;

use super::{Build, Part, no_status, nothing_to_undo};
use crate::lab::netns::{exec, ip};

pub(in crate::lab) const PART: Part = Part {
    name: "network",
    up,
    status: no_status,
    down: nothing_to_undo,
};

/// The address dnsmasq answers on, on the router's loopback.
pub(in crate::lab) const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 255, 53);

/// The lab's fixed addressing plan.
pub(super) struct Plan {
    pub(super) ts_v4: [&'static str; 2],
    pub(super) t1_v4: &'static str,
    pub(super) t2_v4: &'static str,
    pub(super) t2_v6: &'static str,
    pub(super) t2_6to4: &'static str,
    pub(super) srv_v4: &'static str,
    pub(super) srv_v6: &'static str,
    pub(super) srv_6to4: &'static str,
}

pub(super) const PLAN: Plan = Plan {
    ts_v4: ["198.18.0.10", "198.18.0.11"],
    t1_v4: "198.18.1.2",
    t2_v4: "198.18.2.2",
    t2_v6: "2001:db8:2::2",
    t2_6to4: "2002:c612:202::2",
    srv_v4: "198.18.3.2",
    srv_v6: "2001:db8:3::2",
    srv_6to4: "2002:c612:302::2",
};

/// The namespaces: role in the state, and the name's suffix.
const NAMESPACES: [(&str, &str); 5] = [
    ("router", "r"),
    ("teredo_server", "ts"),
    ("t1", "t1"),
    ("t2", "t2"),
    ("srv", "srv"),
];

fn up(build: &mut Build<'_>) -> Result<()> {
    // No DAD anywhere: link-local addresses that stay tentative for a
    // second or two make the first packets of a connection wait for a
    // retransmission.
    let no_dad = "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && \
                  echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad";
    for (role, short) in NAMESPACES {
        let name = build.add_namespace(role, short)?;
        let setup = if role == "router" {
            format!(
                "{no_dad} && echo 1 > /proc/sys/net/ipv4/ip_forward && \
                 echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"
            )
        } else {
            no_dad.to_owned()
        };
        exec(&name, &["sh", "-c", &setup])?;
    }
    let (r, ts, t1, t2, srv) = (
        build.ns("router")?,
        build.ns("teredo_server")?,
        build.ns("t1")?,
        build.ns("t2")?,
        build.ns("srv")?,
    );
    let (r, ts, t1, t2, srv) = (
        r.as_str(),
        ts.as_str(),
        t1.as_str(),
        t2.as_str(),
        srv.as_str(),
    );
    ip(r, &["addr", "add", &format!("{DNS_ADDR}/32"), "dev", "lo"])?;

    // One veth pair per leaf: `<leaf role>` in the router, `eth0` in the leaf.
    let link = |leaf_ns: &str, rname: &str, subnet: u8| -> Result<()> {
        ip(
            r,
            &[
                "link", "add", rname, "type", "veth", "peer", "name", "eth0", "netns", leaf_ns,
            ],
        )?;
        ip(
            r,
            &[
                "addr",
                "add",
                &format!("198.18.{subnet}.1/24"),
                "dev",
                rname,
            ],
        )?;
        ip(r, &["link", "set", rname, "up"])?;
        ip(leaf_ns, &["link", "set", "eth0", "up"])?;
        Ok(())
    };
    link(ts, "ts", 0)?;
    link(t1, "t1", 1)?;
    link(t2, "t2", 2)?;
    link(srv, "srv", 3)?;
    for a in PLAN.ts_v4 {
        ip(ts, &["addr", "add", &format!("{a}/24"), "dev", "eth0"])?;
    }
    for (leaf, a) in [(t1, PLAN.t1_v4), (t2, PLAN.t2_v4), (srv, PLAN.srv_v4)] {
        ip(leaf, &["addr", "add", &format!("{a}/24"), "dev", "eth0"])?;
    }
    for (leaf, gw) in [
        (ts, "198.18.0.1"),
        (t1, "198.18.1.1"),
        (t2, "198.18.2.1"),
        (srv, "198.18.3.1"),
    ] {
        ip(leaf, &["route", "add", "default", "via", gw])?;
    }
    // Native IPv6 (and a 6to4-looking address) on t2 and srv.
    let v6 = |ns: &str, dev: &str, addr: &str| -> Result<()> {
        ip(ns, &["-6", "addr", "add", addr, "dev", dev, "nodad"]).map(drop)
    };
    v6(r, "t2", "2001:db8:2::1/64")?;
    v6(r, "srv", "2001:db8:3::1/64")?;
    v6(t2, "eth0", &format!("{}/64", PLAN.t2_v6))?;
    v6(t2, "eth0", &format!("{}/64", PLAN.t2_6to4))?;
    v6(srv, "eth0", &format!("{}/64", PLAN.srv_v6))?;
    v6(srv, "eth0", &format!("{}/64", PLAN.srv_6to4))?;
    ip(
        t2,
        &["-6", "route", "add", "default", "via", "2001:db8:2::1"],
    )?;
    ip(
        srv,
        &["-6", "route", "add", "default", "via", "2001:db8:3::1"],
    )?;
    ip(
        r,
        &[
            "-6",
            "route",
            "add",
            "2002:c612:202::/48",
            "via",
            PLAN.t2_v6,
        ],
    )?;
    ip(
        r,
        &[
            "-6",
            "route",
            "add",
            "2002:c612:302::/48",
            "via",
            PLAN.srv_v6,
        ],
    )?;

    let dns = DNS_ADDR.to_string();
    for (k, v) in [
        ("router_dns", dns.as_str()),
        ("teredo_server", PLAN.ts_v4[0]),
        ("teredo_server2", PLAN.ts_v4[1]),
        ("t1_v4", PLAN.t1_v4),
        ("t2_v4", PLAN.t2_v4),
        ("t2_v6", PLAN.t2_v6),
        ("t2_6to4", PLAN.t2_6to4),
        ("srv_v4", PLAN.srv_v4),
        ("srv_v6", PLAN.srv_v6),
        ("srv_6to4", PLAN.srv_6to4),
    ] {
        build.state.addresses.insert(k.to_owned(), addr(v));
    }
    Ok(())
}

/// An address of the plan.
pub(super) fn addr(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("the lab's plan has a bad address {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_addresses() {
        let all = [
            PLAN.ts_v4[0],
            PLAN.ts_v4[1],
            PLAN.t1_v4,
            PLAN.t2_v4,
            PLAN.t2_v6,
            PLAN.t2_6to4,
            PLAN.srv_v4,
            PLAN.srv_v6,
            PLAN.srv_6to4,
        ];
        for a in all {
            // The state keeps them as parsed addresses: they must print back
            // as written, or the hosts file and the state would disagree.
            assert_eq!(addr(a).to_string(), a);
        }
    }
}
