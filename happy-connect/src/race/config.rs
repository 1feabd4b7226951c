//! The race's tunables, with RFC 8305's recommended values.

use std::time::Duration;

use rfc3484_sort::Policy;

#[cfg(doc)]
use super::Race;
use super::Strategy;

/// The race's tunables. [`RaceConfig::default`] gives the values RFC 8305
/// recommends.
#[derive(Clone, Debug)]
pub struct RaceConfig {
    /// How long to wait for AAAA after an A answer (RFC 8305 §3, default
    /// 50 ms).
    pub resolution_delay: Duration,
    /// The Connection Attempt Delay (RFC 8305 §5, default 250 ms). The race
    /// reads it through [`RaceConfig::attempt_delay`], which clamps it to
    /// the 10 ms to 2 s range RFC 8305 §5 allows, so a value written here
    /// directly is clamped too; [`RaceConfig::set_attempt_delay`] stores the
    /// clamped value.
    pub attempt_delay: Duration,
    /// The First Address Family Count (RFC 8305 §4, default 1): how many
    /// candidates of the preferred family go before the first of the other.
    /// 0 is taken as 1.
    pub first_family_count: usize,
    /// How long one attempt may take before it is cancelled and counted as
    /// failed (default 10 s).
    pub attempt_timeout: Duration,
    /// How long the whole race may take, from [`Race::new`] (default 30 s).
    /// Zero leaves no time at all: a connector's connect then times out at
    /// once, without sending a query or starting an attempt.
    pub total_timeout: Duration,
    /// The most candidates the race keeps (default 32, the most
    /// [`rfc3484_sort::sort`] orders without allocating). Answers beyond it
    /// lose their least preferred candidates; [`Race::dropped`] counts them.
    /// While the other family's query is outstanding, an answer keeps at
    /// most the cap less half of it, so that both families get a place.
    pub max_candidates: usize,
    /// Race or one at a time.
    pub strategy: Strategy,
    /// The RFC 6724 policy the candidates are sorted under.
    pub policy: Policy,
}

impl RaceConfig {
    /// RFC 8305 §3's recommended Resolution Delay.
    pub const DEFAULT_RESOLUTION_DELAY: Duration = Duration::from_millis(50);
    /// RFC 8305 §5's recommended Connection Attempt Delay.
    pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);
    /// RFC 8305 §5: the Connection Attempt Delay must not be below 10 ms...
    pub const MIN_ATTEMPT_DELAY: Duration = Duration::from_millis(10);
    /// ...and should not exceed 2 s.
    pub const MAX_ATTEMPT_DELAY: Duration = Duration::from_secs(2);

    /// The Connection Attempt Delay, clamped to
    /// [`MIN_ATTEMPT_DELAY`](Self::MIN_ATTEMPT_DELAY)..=[`MAX_ATTEMPT_DELAY`](Self::MAX_ATTEMPT_DELAY).
    pub fn attempt_delay(&self) -> Duration {
        self.attempt_delay
            .clamp(Self::MIN_ATTEMPT_DELAY, Self::MAX_ATTEMPT_DELAY)
    }

    /// Sets the Connection Attempt Delay, clamped to 10 ms..=2 s.
    pub fn set_attempt_delay(&mut self, delay: Duration) -> &mut Self {
        self.attempt_delay = delay.clamp(Self::MIN_ATTEMPT_DELAY, Self::MAX_ATTEMPT_DELAY);
        self
    }
}

impl Default for RaceConfig {
    fn default() -> Self {
        Self {
            resolution_delay: Self::DEFAULT_RESOLUTION_DELAY,
            attempt_delay: Self::DEFAULT_ATTEMPT_DELAY,
            first_family_count: 1,
            attempt_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_candidates: rfc3484_sort::SORT_INLINE_CAPACITY,
            strategy: Strategy::Race,
            policy: Policy::rfc6724(),
        }
    }
}
