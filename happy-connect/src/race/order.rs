//! How candidates are ordered: RFC 6724 under the policy, Teredo and
//! unreachable candidates last, and the family interleaving of RFC 8305 §4.
//! Shared by the race, which re-plans as answers come, and by the planner
//! of a resolution, which orders every answer at once.

use std::cmp::Ordering;

use rfc3484_sort::{Destination, Policy, Rule};

use super::{Candidate, Family, Placement, RaceConfig, Strategy};
use crate::history::Advice;

/// Buffers reused by every re-planning, so that merging an answer does not
/// allocate once they have grown to the candidate count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    dests: Vec<Destination>,
    cands: Vec<Candidate>,
    used: Vec<bool>,
}

/// Sorts candidates by RFC 6724 with [`rfc3484_sort::sort`], stably.
///
/// The sort orders destinations, not candidates, so the candidates are
/// matched back to the sorted destinations: the `k`th copy of a destination
/// in the sorted list is its `k`th candidate in the input, since a stable
/// sort keeps identical destinations in their input order.
pub(crate) fn sort_candidates(
    policy: &Policy,
    candidates: &mut [Candidate],
    scratch: &mut Scratch,
) {
    if candidates.len() < 2 {
        return;
    }
    scratch.dests.clear();
    scratch.dests.extend(candidates.iter().map(|c| c.dest));
    rfc3484_sort::sort(policy, &mut scratch.dests);
    scratch.cands.clear();
    scratch.cands.extend_from_slice(candidates);
    scratch.used.clear();
    scratch.used.resize(candidates.len(), false);
    for (slot, dest) in candidates.iter_mut().zip(&scratch.dests) {
        let found = scratch
            .cands
            .iter()
            .zip(scratch.used.iter_mut())
            .find(|(c, used)| !**used && c.dest == *dest);
        if let Some((c, used)) = found {
            *used = true;
            *slot = *c;
        }
    }
}

/// Appends the interleaved order (RFC 8305 §4) of the usable, non-Teredo
/// candidates of the sorted `plan` to `out`, continuing the pattern of the
/// candidates already `tried`.
///
/// With nothing tried, it is `first_family_count` candidates of the family
/// of the best candidate, then one of each family in turn, each family in
/// sorted order; when one family runs out the other follows. After a late
/// answer, the pattern picks up where the attempts left it, so that an
/// IPv4 answer arriving while IPv6 attempts run gets the next turn rather
/// than waiting behind the remaining IPv6 candidates.
///
/// A family that history demotes (`demoted`) gives the other family the
/// first turn, when the other has candidates.
pub(crate) fn interleave(
    tried: &[Candidate],
    plan: &[Candidate],
    first_family_count: usize,
    demoted: Option<Family>,
    out: &mut Vec<Candidate>,
) {
    let Some(mut preferred) = plan.iter().find(|c| c.tier() == 0).map(Candidate::family) else {
        return;
    };
    if demoted == Some(preferred) {
        if let Some(other) = plan
            .iter()
            .find(|c| c.tier() == 0 && c.family() != preferred)
        {
            preferred = other.family();
        }
    }
    // The family of the last attempt, how many attempts in a row at the end
    // were of it, and whether those are all the attempts.
    let mut tried = tried
        .iter()
        .rev()
        .filter(|c| c.tier() == 0)
        .map(Candidate::family);
    let first_count = match tried.next() {
        None => first_family_count,
        Some(last) => {
            let mut run = 1;
            let mut only = true;
            for family in tried {
                if family == last {
                    run += 1;
                } else {
                    only = false;
                    break;
                }
            }
            match (preferred == last, only) {
                // Still in the opening run of the preferred family.
                (true, true) => first_family_count.saturating_sub(run),
                // Alternating, and the preferred family just had its turn.
                (true, false) => 0,
                // Only the other family was tried: the preferred one gets
                // the opening run it would have had.
                (false, true) => first_family_count,
                // Alternating, and it is the preferred family's turn.
                (false, false) => 1,
            }
        }
    };
    let of = |family: Family| {
        plan.iter()
            .filter(move |c| c.tier() == 0 && c.family() == family)
            .copied()
    };
    let other = match preferred {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    };
    let (mut first, mut second) = (of(preferred), of(other));
    out.extend(first.by_ref().take(first_count));
    loop {
        let a = second.next();
        let b = first.next();
        out.extend(a);
        out.extend(b);
        if a.is_none() && b.is_none() {
            break;
        }
    }
}

/// Orders the untried `plan` (sorted, then grouped and interleaved as the
/// strategy says), after the candidates already `tried`.
///
/// With history's `advice`, the addresses whose latest outcome on this
/// network failed go after the others (each group in the policy's
/// order), and a demoted family gives the other the first turn (in a
/// sequential order, it goes after the other family).
pub(crate) fn replan(
    policy: &Policy,
    strategy: Strategy,
    first_family_count: usize,
    tried: &[Candidate],
    plan: &mut [Candidate],
    advice: Option<&Advice>,
    scratch: &mut Scratch,
) {
    // One candidate is in its place already.
    if plan.len() < 2 {
        return;
    }
    sort_candidates(policy, plan, scratch);
    let demoted_family = advice.and_then(Advice::demoted_family);
    if let Some(advice) = advice {
        // Stable: each group keeps the policy's order.
        plan.sort_by_key(|c| advice.demoted(c.dest.addr));
        if strategy == Strategy::Sequential {
            if let Some(family) = demoted_family {
                plan.sort_by_key(|c| c.family() == family);
            }
        }
    }
    let out = &mut scratch.cands;
    out.clear();
    match strategy {
        Strategy::Race => interleave(tried, plan, first_family_count, demoted_family, out),
        Strategy::Sequential => out.extend(plan.iter().filter(|c| c.tier() == 0)),
    }
    for tier in 1..=2 {
        out.extend(plan.iter().filter(|c| c.tier() == tier));
    }
    plan.copy_from_slice(out);
}

/// Whether `a` goes before `b` in every plan: a better group (usable, then
/// Teredo, then unreachable), or the same group and RFC 6724 under the
/// policy prefers it, unless history demotes `a`'s family and not `b`'s.
pub(crate) fn goes_before(
    policy: &Policy,
    a: &Candidate,
    b: &Candidate,
    advice: Option<&Advice>,
) -> bool {
    match a.tier().cmp(&b.tier()) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => {
            let demoted = advice.and_then(Advice::demoted_family);
            if demoted.is_some() && a.family() != b.family() {
                return demoted != Some(a.family());
            }
            rfc3484_sort::compare(policy, &a.dest, &b.dest).0 == Ordering::Less
        }
    }
}

/// The candidates of a connect in their order: what has been attempted,
/// then the plan for the rest, which each new answer re-sorts and
/// re-interleaves. The race drives one as answers come; a resolution
/// merges every answer into one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Planner {
    /// Attempted candidates first (in start order), then the planned ones.
    pub(crate) order: Vec<Candidate>,
    /// How many attempts had started when each family's answer came, by
    /// [`Family::index`]: a candidate of that family was unknown when the
    /// attempts before it started.
    answered_after: [usize; 2],
    dropped: usize,
    scratch: Scratch,
}

impl Planner {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            order: Vec::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// How many candidates the cap left out (duplicates not counted).
    pub(crate) fn dropped(&self) -> usize {
        self.dropped
    }

    /// Adds an answer's new candidates (after the `attempted` ones) and
    /// re-plans the untried part; returns how many were added. While
    /// `other_pending`, the answer keeps at most the cap less half of it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn merge(
        &mut self,
        config: &RaceConfig,
        first_family_count: usize,
        family: Family,
        mut candidates: Vec<Candidate>,
        attempted: usize,
        other_pending: bool,
        advice: Option<&Advice>,
    ) -> usize {
        self.answered_after[family.index()] = attempted;
        // Dedupe in place, against what is known and within the answer.
        let mut kept = 0;
        for i in 0..candidates.len() {
            let c = candidates[i];
            let same = |o: &Candidate| o.dest.addr == c.dest.addr && o.port == c.port;
            if !self.order.iter().any(same) && !candidates[..kept].iter().any(same) {
                candidates[kept] = c;
                kept += 1;
            }
        }
        candidates.truncate(kept);
        let mut room = config.max_candidates.saturating_sub(self.order.len());
        if other_pending {
            // The other family's query is still out: keep half the cap for
            // its answer, so that an answer of hundreds of addresses (a
            // broken or hostile server) cannot crowd the other family out
            // of the race.
            room = room.saturating_sub(config.max_candidates / 2);
        }
        if candidates.len() > room {
            // Keep the answer's best, not whichever the server listed first.
            sort_candidates(&config.policy, &mut candidates, &mut self.scratch);
            self.dropped += candidates.len() - room;
            candidates.truncate(room);
        }
        let added = candidates.len();
        if added > 0 {
            if self.order.is_empty() && self.order.capacity() < candidates.len() {
                // The first answer's vector becomes the order: one
                // allocation fewer per connect.
                self.order = candidates;
            } else {
                self.order.extend_from_slice(&candidates);
            }
            self.replan(config, first_family_count, attempted, advice);
        }
        added
    }

    /// Re-plans the candidates after the first `attempted` (new advice).
    pub(crate) fn replan(
        &mut self,
        config: &RaceConfig,
        first_family_count: usize,
        attempted: usize,
        advice: Option<&Advice>,
    ) {
        let split = attempted.min(self.order.len());
        let (tried, plan) = self.order.split_at_mut(split);
        replan(
            &config.policy,
            config.strategy,
            first_family_count,
            tried,
            plan,
            advice,
            &mut self.scratch,
        );
    }

    /// What put each candidate before the next (one fewer than there are
    /// candidates), `attempted` of them having started.
    pub(crate) fn placements(
        &self,
        policy: &Policy,
        attempted: usize,
        advice: Option<&Advice>,
    ) -> Vec<Placement> {
        let demoted = |c: &Candidate| advice.is_some_and(|h| h.demoted(c.dest.addr));
        let demoted_family = advice.and_then(Advice::demoted_family);
        self.order
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let (a, b) = (&pair[0], &pair[1]);
                match rfc3484_sort::compare(policy, &a.dest, &b.dest) {
                    (Ordering::Less | Ordering::Equal, rule) => Placement::Rule(rule),
                    // `a` started before `b`'s answer came.
                    _ if i < self.answered_after[b.family().index()] => Placement::Attempted,
                    // History: `b` failed here lately and `a` did not, or
                    // `b`'s whole family did.
                    _ if a.tier() == b.tier() && demoted(b) && !demoted(a) => Placement::History,
                    _ if a.tier() == b.tier()
                        && a.family() != b.family()
                        && demoted_family == Some(b.family()) =>
                    {
                        Placement::History
                    }
                    _ if a.tier() == 0 && b.tier() == 1 => Placement::TeredoLast,
                    _ if a.tier() == 0 && b.tier() == 0 && a.family() != b.family() => {
                        Placement::Interleaved
                    }
                    // The plan is sorted within each family and group, so
                    // what is left is an attempted candidate followed by a
                    // better one it was planned before (after a group or
                    // family change the later answer brought)...
                    _ if i < attempted => Placement::Attempted,
                    // ...or a custom table that makes RFC 6724's comparison
                    // intransitive (rule 9 applies within a family only), so
                    // that a sorted pair still compares the other way.
                    _ => Placement::Rule(Rule::KeepOrder),
                }
            })
            .collect()
    }
}
