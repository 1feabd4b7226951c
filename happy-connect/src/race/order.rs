//! How candidates are ordered: RFC 6724 under the policy, Teredo and
//! unreachable candidates last, and the family interleaving of RFC 8305 §4.
//! Shared by the race, which re-plans as answers come, and by the planner
//! of a resolution, which orders every answer at once.

use std::cmp::Ordering;

use rfc3484_sort::{Destination, Policy, Rule};

use super::{Candidate, Family, Placement, RaceConfig, Strategy};

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
pub(crate) fn interleave(
    tried: &[Candidate],
    plan: &[Candidate],
    first_family_count: usize,
    out: &mut Vec<Candidate>,
) {
    let Some(preferred) = plan.iter().find(|c| c.tier() == 0).map(Candidate::family) else {
        return;
    };
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
pub(crate) fn replan(
    policy: &Policy,
    strategy: Strategy,
    first_family_count: usize,
    tried: &[Candidate],
    plan: &mut [Candidate],
    scratch: &mut Scratch,
) {
    // One candidate is in its place already.
    if plan.len() < 2 {
        return;
    }
    sort_candidates(policy, plan, scratch);
    let out = &mut scratch.cands;
    out.clear();
    match strategy {
        Strategy::Race => interleave(tried, plan, first_family_count, out),
        Strategy::Sequential => out.extend(plan.iter().filter(|c| c.tier() == 0)),
    }
    for tier in 1..=2 {
        out.extend(plan.iter().filter(|c| c.tier() == tier));
    }
    plan.copy_from_slice(out);
}

/// Whether `a` goes before `b` in every plan: a better group (usable, then
/// Teredo, then unreachable), or the same group and RFC 6724 under the
/// policy prefers it.
pub(crate) fn goes_before(policy: &Policy, a: &Candidate, b: &Candidate) -> bool {
    match a.tier().cmp(&b.tier()) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => rfc3484_sort::compare(policy, &a.dest, &b.dest).0 == Ordering::Less,
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
    pub(crate) fn merge(
        &mut self,
        config: &RaceConfig,
        first_family_count: usize,
        family: Family,
        mut candidates: Vec<Candidate>,
        attempted: usize,
        other_pending: bool,
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
            self.order.extend_from_slice(&candidates);
            let split = attempted.min(self.order.len());
            let (tried, plan) = self.order.split_at_mut(split);
            replan(
                &config.policy,
                config.strategy,
                first_family_count,
                tried,
                plan,
                &mut self.scratch,
            );
        }
        added
    }

    /// What put each candidate before the next (one fewer than there are
    /// candidates), `attempted` of them having started.
    pub(crate) fn placements(&self, policy: &Policy, attempted: usize) -> Vec<Placement> {
        self.order
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let (a, b) = (&pair[0], &pair[1]);
                match rfc3484_sort::compare(policy, &a.dest, &b.dest) {
                    (Ordering::Less | Ordering::Equal, rule) => Placement::Rule(rule),
                    // `a` started before `b`'s answer came.
                    _ if i < self.answered_after[b.family().index()] => Placement::Attempted,
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
