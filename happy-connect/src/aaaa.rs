//! Whether to send the AAAA query: the pure decision, and why.

use std::fmt;

use crate::report::HostCapabilities;

/// Whether to send the AAAA query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AaaaPolicy {
    /// Skip AAAA when Teredo is the host's only IPv6 (what Windows does):
    /// such a host reaches native IPv6 only through a relay, so IPv4 is
    /// the better path. Otherwise ask.
    #[default]
    Auto,
    /// Always ask for AAAA.
    Always,
    /// Never ask for AAAA.
    Never,
}

/// Why the AAAA query was sent or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AaaaReason {
    /// The policy is [`AaaaPolicy::Always`].
    PolicyAlways,
    /// The policy is [`AaaaPolicy::Never`].
    PolicyNever,
    /// Skipped: the host's only path to global IPv6 is Teredo.
    TeredoOnly,
    /// Sent: the host has native IPv6.
    NativeIpv6,
    /// Sent: the host has IPv6 besides Teredo (6to4).
    OtherIpv6,
    /// Sent although the host routes no global IPv6: policy `Auto` skips
    /// AAAA only on Teredo-only hosts.
    NoIpv6,
    /// Sent: the host view is unavailable, so nothing is known.
    HostUnknown,
}

impl AaaaReason {
    /// The reason as a sentence for a report.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PolicyAlways => "AAAA policy is always",
            Self::PolicyNever => "AAAA policy is never",
            Self::TeredoOnly => {
                "the host is Teredo-only: its only IPv6 is Teredo, which reaches native IPv6 \
                 only through a relay, so IPv4 is used (as Windows does)"
            }
            Self::NativeIpv6 => "the host has native IPv6",
            Self::OtherIpv6 => "the host has IPv6 besides Teredo",
            Self::NoIpv6 => {
                "the host has no IPv6-capable interface, asked anyway (policy auto skips AAAA \
                 only on Teredo-only hosts)"
            }
            Self::HostUnknown => {
                "host capabilities unknown (the host view is unavailable), asked anyway"
            }
        }
    }
}

impl fmt::Display for AaaaReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The AAAA decision for one connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AaaaDecision {
    /// Whether to send the query.
    pub send: bool,
    /// Why.
    pub reason: AaaaReason,
}

impl AaaaPolicy {
    /// Whether to send the AAAA query on a host with these capabilities
    /// (`None` when the host view could not read them), and why.
    ///
    /// ```
    /// use happy_connect::{AaaaPolicy, AaaaReason, HostCapabilities};
    ///
    /// let mut teredo_only = HostCapabilities::default();
    /// teredo_only.ipv4 = true;
    /// teredo_only.teredo = true;
    /// teredo_only.teredo_only = true;
    /// let decision = AaaaPolicy::Auto.decide(Some(&teredo_only));
    /// assert!(!decision.send);
    /// assert_eq!(decision.reason, AaaaReason::TeredoOnly);
    /// assert!(AaaaPolicy::Always.decide(Some(&teredo_only)).send);
    /// ```
    pub fn decide(self, caps: Option<&HostCapabilities>) -> AaaaDecision {
        let (send, reason) = match (self, caps) {
            (Self::Never, _) => (false, AaaaReason::PolicyNever),
            (Self::Always, _) => (true, AaaaReason::PolicyAlways),
            (Self::Auto, Some(c)) if c.teredo_only => (false, AaaaReason::TeredoOnly),
            (Self::Auto, Some(c)) if c.native_ipv6 => (true, AaaaReason::NativeIpv6),
            (Self::Auto, Some(c)) if c.teredo || c.sixtofour => (true, AaaaReason::OtherIpv6),
            (Self::Auto, Some(_)) => (true, AaaaReason::NoIpv6),
            (Self::Auto, None) => (true, AaaaReason::HostUnknown),
        };
        AaaaDecision { send, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(ipv4: bool, native: bool, teredo: bool, teredo_only: bool) -> HostCapabilities {
        HostCapabilities {
            ipv4,
            native_ipv6: native,
            sixtofour: false,
            teredo,
            teredo_only,
        }
    }

    #[test]
    fn every_case_has_its_reason() {
        use AaaaReason as R;
        let cases = [
            (
                AaaaPolicy::Auto,
                Some(caps(true, false, true, true)),
                false,
                R::TeredoOnly,
            ),
            (
                AaaaPolicy::Auto,
                Some(caps(true, true, true, false)),
                true,
                R::NativeIpv6,
            ),
            (
                AaaaPolicy::Auto,
                Some(caps(true, false, true, false)),
                true,
                R::OtherIpv6,
            ),
            (
                AaaaPolicy::Auto,
                Some(caps(true, false, false, false)),
                true,
                R::NoIpv6,
            ),
            (AaaaPolicy::Auto, None, true, R::HostUnknown),
            (
                AaaaPolicy::Always,
                Some(caps(true, false, true, true)),
                true,
                R::PolicyAlways,
            ),
            (
                AaaaPolicy::Never,
                Some(caps(true, true, false, false)),
                false,
                R::PolicyNever,
            ),
        ];
        for (policy, caps, send, reason) in cases {
            let d = policy.decide(caps.as_ref());
            assert_eq!((d.send, d.reason), (send, reason), "{policy:?} {caps:?}");
            assert!(!d.reason.as_str().is_empty());
        }
        let mut sixtofour = caps(true, false, false, false);
        sixtofour.sixtofour = true;
        assert_eq!(
            AaaaPolicy::Auto.decide(Some(&sixtofour)).reason,
            R::OtherIpv6
        );
    }
}
