//! Windows: IP Helper (`iphlpapi.dll`) through `windows-sys`.
//!
//! - Interfaces and addresses: `GetAdaptersAddresses` (`adapters.rs`),
//!   whose records the pure `windows_records` module turns into
//!   interfaces, in the order Windows lists the adapters.
//! - Routes and sources: `GetBestRoute2` (`route.rs`), one destination
//!   per call. Where it is unusable (Wine 8 exports it as a stub that
//!   answers `ERROR_NOT_SUPPORTED`), connected UDP sockets (`udp.rs`)
//!   answer instead, as on the portable backend.
//! - Changes: `NotifyUnicastIpAddressChange`, `NotifyRouteChange2` and
//!   `NotifyIpInterfaceChange` (`notify.rs`), each callback a
//!   [`Notice::Resync`](super::Notice::Resync) for the view to re-read
//!   the host and find the difference.
//!
//! Every `unsafe` block of the crate's Windows code is in this directory,
//! at the calls into the system and the reads of what it returned.

mod adapters;
mod notify;
mod route;
#[cfg(test)]
mod tests;

use std::io;
use std::time::Duration;

use windows_sys::Win32::NetworkManagement::IpHelper as iphlp;
use windows_sys::Win32::NetworkManagement::Ndis as ndis;
use windows_sys::Win32::Networking::WinSock as ws;

pub(crate) use notify::{Interrupter, Notifier};

use crate::model::Route;
use crate::reach::Reach;
use crate::snapshot::Snapshot;
use crate::source::Dest;
use crate::windows_records as records;

/// The backend's name.
pub(crate) const NAME: &str = "windows";
/// Windows reports the end of DAD as an address change
/// (`NotifyUnicastIpAddressChange` fires when the DAD state moves on).
pub(crate) const REPORTS_DAD: bool = true;
/// Notified of changes: no polling (except where the notifications are
/// stubs, see `notify.rs`).
pub(crate) const POLLS_EVERY: Option<Duration> = None;

// The pure module restates the SDK's values so that it builds on every
// platform; here they must agree with the bindings.
const _: () = {
    assert!(records::IF_TYPE_ETHERNET_CSMACD == iphlp::IF_TYPE_ETHERNET_CSMACD);
    assert!(records::IF_TYPE_SOFTWARE_LOOPBACK == iphlp::IF_TYPE_SOFTWARE_LOOPBACK);
    assert!(records::IF_TYPE_IEEE80211 == iphlp::IF_TYPE_IEEE80211);
    assert!(records::IF_TYPE_TUNNEL == iphlp::IF_TYPE_TUNNEL);
    assert!(records::OPER_UP == ndis::IfOperStatusUp);
    assert!(records::OPER_DOWN == ndis::IfOperStatusDown);
    assert!(records::OPER_TESTING == ndis::IfOperStatusTesting);
    assert!(records::OPER_UNKNOWN == ndis::IfOperStatusUnknown);
    assert!(records::OPER_DORMANT == ndis::IfOperStatusDormant);
    assert!(records::OPER_NOT_PRESENT == ndis::IfOperStatusNotPresent);
    assert!(records::OPER_LOWER_LAYER_DOWN == ndis::IfOperStatusLowerLayerDown);
    assert!(records::TUNNEL_TYPE_NONE == ndis::TUNNEL_TYPE_NONE);
    assert!(records::TUNNEL_TYPE_DIRECT == ndis::TUNNEL_TYPE_DIRECT);
    assert!(records::TUNNEL_TYPE_6TO4 == ndis::TUNNEL_TYPE_6TO4);
    assert!(records::TUNNEL_TYPE_ISATAP == ndis::TUNNEL_TYPE_ISATAP);
    assert!(records::TUNNEL_TYPE_TEREDO == ndis::TUNNEL_TYPE_TEREDO);
    assert!(records::PREFIX_ORIGIN_MANUAL == ws::IpPrefixOriginManual);
    assert!(records::PREFIX_ORIGIN_DHCP == ws::IpPrefixOriginDhcp);
    assert!(records::PREFIX_ORIGIN_ROUTER_ADVERTISEMENT == ws::IpPrefixOriginRouterAdvertisement);
    assert!(records::SUFFIX_ORIGIN_MANUAL == ws::IpSuffixOriginManual);
    assert!(records::SUFFIX_ORIGIN_LINK_LAYER_ADDRESS == ws::IpSuffixOriginLinkLayerAddress);
    assert!(records::SUFFIX_ORIGIN_RANDOM == ws::IpSuffixOriginRandom);
    assert!(records::DAD_STATE_INVALID == ws::IpDadStateInvalid);
    assert!(records::DAD_STATE_TENTATIVE == ws::IpDadStateTentative);
    assert!(records::DAD_STATE_DUPLICATE == ws::IpDadStateDuplicate);
    assert!(records::DAD_STATE_DEPRECATED == ws::IpDadStateDeprecated);
    assert!(records::DAD_STATE_PREFERRED == ws::IpDadStatePreferred);
};

// A source cache and a view move their lookups and notifier between
// threads: both must be `Send` here as on every other system.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Lookups>();
    send::<Notifier>();
    send::<Interrupter>();
};

/// Reads the adapters and asks for the representative destinations.
pub(crate) fn capture() -> io::Result<Snapshot> {
    Lookups::open()?.capture()
}

/// Which call answers route lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteSource {
    /// `GetBestRoute2`: the route, its interface and the best source.
    BestRoute2,
    /// Connected UDP sockets: the source only, because `GetBestRoute2`
    /// answered a loopback destination with "not supported" (a stub).
    Udp,
}

/// Route lookups, with `GetBestRoute2` where it works.
#[derive(Debug)]
pub(crate) struct Lookups {
    source: RouteSource,
}

impl Lookups {
    /// Picks the route source: `GetBestRoute2` unless it is a stub.
    pub(crate) fn open() -> io::Result<Self> {
        let source = if route::best_route2_works() {
            RouteSource::BestRoute2
        } else {
            RouteSource::Udp
        };
        Ok(Self { source })
    }

    /// Which call answers this backend's lookups.
    #[cfg(test)]
    pub(crate) fn source(&self) -> RouteSource {
        self.source
    }

    /// The answer for each destination, in order: the route, or the
    /// Win32 error code (`GetBestRoute2`) or Winsock error code (UDP) of
    /// the refusal.
    pub(crate) fn routes(&mut self, dests: &[Dest]) -> io::Result<Vec<Result<Route, i32>>> {
        match self.source {
            RouteSource::BestRoute2 => Ok(dests.iter().map(|d| route::best_route(*d)).collect()),
            RouteSource::Udp => super::udp::lookups(dests),
        }
    }

    /// Reads the adapters in Windows' order, then the representative
    /// destinations. Windows lists no routing table here: `routes` stays
    /// empty and `reach` carries the system's own answers.
    pub(crate) fn capture(&mut self) -> io::Result<Snapshot> {
        let adapters = adapters::read()?;
        let mut snap = Snapshot {
            interfaces: records::interfaces(&adapters),
            ..Snapshot::default()
        };
        snap.reach = Some(self.reach(&snap)?);
        Ok(snap)
    }

    /// The system's answers for [`Reach::PROBES`].
    pub(crate) fn reach(&mut self, snap: &Snapshot) -> io::Result<Reach> {
        match self.source {
            RouteSource::BestRoute2 => {
                let mut paths = [None; 4];
                for (path, probe) in paths.iter_mut().zip(Reach::PROBES) {
                    *path = route::best_route(Dest::from(probe))
                        .ok()
                        .and_then(|r| super::path_of(&r));
                }
                Ok(Reach::from_answers(paths))
            }
            RouteSource::Udp => super::udp::reach(snap),
        }
    }
}
