//! The watcher thread: reads the host once, then folds the system's
//! notices into its own copy of the snapshot and publishes each result.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::change::{self, Change};
use super::lookup::SourceTable;
use super::{Control, Counters, Shared, State, ViewError};
use crate::nat64;
use crate::netlink::NdOption;
use crate::snapshot::Snapshot;
use crate::sys::{Backend, Lookups, Notice, Notifier};

/// How often a backend that is not told when DAD ends reads the host
/// again while an address is tentative.
const DAD_POLL: Duration = Duration::from_millis(50);

/// How long after a change that may flush IPv4 routes the watcher reads
/// them once more: Linux sends the notice of the change (a link down, an
/// address gone) before it flushes them, so the first reading, made as
/// soon as the notice comes, may still find them.
const FLUSH_SETTLE: Duration = Duration::from_millis(100);

/// Starts a watcher thread for a new epoch. Called with the control lock
/// held; the thread takes it only once it has read the host.
pub(super) fn start(shared: &Arc<Shared>, control: &mut Control) {
    control.epoch = control.epoch.wrapping_add(1);
    control.state = State::Starting;
    control.interrupter = None;
    Counters::add(&shared.counters.starts, 1);
    let epoch = control.epoch;
    let weak = Arc::downgrade(shared);
    let backend = shared.options.backend;
    let buffer = shared.options.notify_buffer;
    let spawned = thread::Builder::new()
        .name("iface-probe-view".to_owned())
        .spawn(move || run(&weak, backend, buffer, epoch));
    if let Err(e) = spawned {
        fail(
            shared,
            control,
            format!("cannot start the watcher thread: {e}"),
        );
    }
}

/// Records a failure: no snapshot, and no cached source, until a restart,
/// which may come after the back-off.
pub(super) fn fail(shared: &Shared, control: &mut Control, reason: String) {
    let backoff = control.backoff;
    control.backoff = backoff
        .saturating_mul(2)
        .min(shared.options.retry_max)
        .max(shared.options.retry_min);
    control.state = State::Failed {
        reason: reason.clone(),
        retry_at: Instant::now() + backoff,
    };
    control.interrupter = None;
    shared.current.store(None);
    // The cached answers were for the host as it was: nothing says they
    // still hold.
    new_source_generation(shared);
    for queue in control.subscribers.iter().filter_map(Weak::upgrade) {
        queue.push_error(ViewError::Unavailable {
            reason: reason.clone(),
        });
    }
    wake_waiters(shared, control);
}

fn wake_waiters(shared: &Shared, control: &mut Control) {
    for waker in control.waiters.drain(..) {
        waker.wake();
    }
    shared.changed.notify_all();
}

/// Publishes `snapshot` and hands `changes` to every subscriber, under the
/// control lock, so that a subscriber's first snapshot and the changes it
/// gets after it fit together. Starts a new generation of the source
/// cache after a whole reading of the host (`reread`), else unless only
/// NAT64 prefixes changed (they change no route).
fn publish(
    shared: &Shared,
    control: &mut Control,
    snapshot: Snapshot,
    changes: &[Change],
    reread: bool,
) {
    let snapshot = Arc::new(snapshot);
    shared.current.store(Some(Arc::clone(&snapshot)));
    if reread || !changes.iter().all(|c| matches!(c, Change::Nat64)) {
        new_source_generation(shared);
    }
    control.subscribers.retain(|w| w.strong_count() > 0);
    for queue in control.subscribers.iter().filter_map(Weak::upgrade) {
        queue.push(changes, &snapshot);
    }
    if !matches!(control.state, State::Running) {
        control.state = State::Running;
        control.backoff = shared.options.retry_min;
    }
    Counters::add(&shared.counters.publications, 1);
    wake_waiters(shared, control);
}

/// Replaces the source cache with an empty table of the next generation:
/// a lookup answered for an older one is not kept.
fn new_source_generation(shared: &Shared) {
    let generation = shared.sources.load().generation.wrapping_add(1);
    shared.sources.store(Arc::new(SourceTable::new(generation)));
}

/// Whether an address is waiting for DAD to end.
fn has_tentative(snapshot: &Snapshot) -> bool {
    snapshot.interfaces.iter().any(|i| {
        i.addresses
            .iter()
            .any(|a| a.flags.tentative() && !a.flags.dadfailed())
    })
}

/// The thread: subscribe, read the host, publish, then follow.
fn run(weak: &Weak<Shared>, backend: Backend, buffer: Option<usize>, epoch: u64) {
    // Subscribe first: every change after this point is queued.
    let opened = Notifier::open(backend, buffer).and_then(|notifier| {
        let mut lookups = Lookups::open(backend)?;
        let snapshot = lookups.capture()?;
        Ok((notifier, lookups, snapshot))
    });
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let (mut notifier, mut lookups, mut snapshot) = {
        let mut control = shared.control();
        if control.epoch != epoch {
            return;
        }
        match opened {
            Err(e) => return fail(&shared, &mut control, e.to_string()),
            Ok((notifier, lookups, snapshot)) => {
                Counters::add(&shared.counters.captures, 1);
                control.interrupter = Some(notifier.interrupter());
                // Subscribers that outlived a failure start over.
                let whole = Change::Resync(Arc::new(snapshot.clone()));
                publish(&shared, &mut control, snapshot.clone(), &[whole], true);
                (notifier, lookups, snapshot)
            }
        }
    };
    drop(shared);
    let mut notices = Vec::new();
    // When to read the IPv4 routes again after a change that may flush
    // them.
    let mut recheck: Option<Instant> = None;
    loop {
        let poll = (!backend.reports_dad() && has_tentative(&snapshot)).then_some(DAD_POLL);
        // A NAT64 prefix that expires wakes the watcher, to drop it.
        let expiry =
            nat64::next_expiry(&snapshot).map(|at| at.saturating_duration_since(Instant::now()));
        let settle = recheck.map(|at| at.saturating_duration_since(Instant::now()));
        // A refresh asked for before there was an interrupter (during the
        // first reading) interrupted nothing: it is taken without waiting.
        let asked = weak
            .upgrade()
            .is_some_and(|shared| shared.resync.load(Ordering::SeqCst))
            .then_some(Duration::ZERO);
        let wait = [poll, expiry, settle, asked].into_iter().flatten().min();
        notices.clear();
        let waited = notifier.wait(wait, &mut notices);
        // While waiting, the thread holds no reference: a view that is
        // dropped meanwhile is gone now, and the thread ends.
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if shared.control().epoch != epoch {
            return;
        }
        let recheck_due = recheck.is_some_and(|at| Instant::now() >= at);
        if recheck_due {
            recheck = None;
        }
        let step = waited.and_then(|()| {
            let resync = shared.resync.swap(false, Ordering::SeqCst)
                || (poll.is_some() && notices.is_empty());
            fold(
                &shared,
                &mut lookups,
                &mut snapshot,
                &mut notices,
                resync,
                recheck_due,
            )
        });
        if step.as_ref().is_ok_and(|folded| folded.flushed) {
            recheck = Some(Instant::now() + FLUSH_SETTLE);
        }
        let mut control = shared.control();
        if control.epoch != epoch {
            return;
        }
        match step {
            Ok(folded) if folded.changes.is_empty() => {
                if folded.reread {
                    new_source_generation(&shared);
                }
            }
            Ok(folded) => publish(
                &shared,
                &mut control,
                snapshot.clone(),
                &folded.changes,
                folded.reread,
            ),
            Err(e) => return fail(&shared, &mut control, e.to_string()),
        }
    }
}

/// What one batch of notices made of the snapshot.
struct Folded {
    /// The changes to hand out.
    changes: Vec<Change>,
    /// Whether the host was read again as a whole: whatever made it do so
    /// (lost notices, a refresh for settings the system does not report)
    /// may have changed the kernel's answers, seen in the reading or not,
    /// so the source cache starts over even when `changes` is empty.
    reread: bool,
    /// Whether a change that may flush IPv4 routes came: they are to be
    /// read again shortly (see [`FLUSH_SETTLE`]).
    flushed: bool,
}

/// Folds one batch of notices into `snapshot` and returns the changes to
/// hand out: the exact ones as they came, then, when notices were lost
/// (or `resync` asks for it), the difference to a fresh reading of the
/// host, and [`Change::Routes`] when routes, rules or the kernel's answers
/// for the representative destinations changed, and [`Change::Nat64`] when
/// the NAT64 prefixes routers announce did (or expired). The IPv4 routes
/// are read again after a change that may have flushed some of them
/// unreported, and when `recheck_ipv4` asks for it.
fn fold(
    shared: &Shared,
    lookups: &mut Lookups,
    snapshot: &mut Snapshot,
    notices: &mut Vec<Notice>,
    mut resync: bool,
    recheck_ipv4: bool,
) -> std::io::Result<Folded> {
    Counters::add(&shared.counters.notices, notices.len() as u64);
    let mut changes = Vec::new();
    let mut routes = false;
    let mut flushed = false;
    let now = Instant::now();
    let mut pref64 = nat64::expire(snapshot, now);
    for notice in notices.drain(..) {
        let change = match notice {
            Notice::Link(link) => Change::Link(link),
            Notice::LinkRemoved(link) => Change::LinkRemoved(link),
            Notice::Address { index, address } => Change::Address { index, address },
            Notice::AddressRemoved { index, address } => Change::AddressRemoved { index, address },
            Notice::Route(route) => {
                change::add_route(snapshot, route);
                routes = true;
                continue;
            }
            Notice::RouteRemoved(route) => {
                change::remove_route(snapshot, &route);
                routes = true;
                continue;
            }
            Notice::Rules => {
                routes = true;
                continue;
            }
            Notice::Resync => {
                resync = true;
                continue;
            }
            Notice::RouterOptions {
                index,
                router,
                options,
            } => {
                for option in options {
                    if let NdOption::Pref64(option) = option {
                        pref64 |= nat64::apply(snapshot, index, router, option, now);
                    }
                }
                continue;
            }
        };
        flushed |= change::may_flush_ipv4_routes(snapshot, &change);
        change::apply(snapshot, &change);
        if matches!(change, Change::Link(_) | Change::LinkRemoved(_)) {
            pref64 |= nat64::forget_down_interfaces(snapshot);
        }
        changes.push(change);
    }
    if resync {
        let mut fresh = lookups.capture()?;
        Counters::add(&shared.counters.captures, 1);
        changes.extend(change::diff(snapshot, &fresh));
        // The difference shows neither rules (no snapshot holds them) nor
        // the routes of notices already folded into `snapshot`.
        if routes && !changes.iter().any(|c| matches!(c, Change::Routes)) {
            changes.push(Change::Routes);
        }
        // No dump holds what routers announced: it carries over, but for
        // the interfaces gone or down.
        fresh.pref64 = std::mem::take(&mut snapshot.pref64);
        fresh.pref64_ignored = std::mem::take(&mut snapshot.pref64_ignored);
        pref64 |= nat64::forget_down_interfaces(&mut fresh);
        *snapshot = fresh;
    } else {
        if flushed || recheck_ipv4 {
            // No notice says which IPv4 routes the kernel flushed.
            let ipv4 = lookups.ipv4_routes()?;
            routes |= change::replace_ipv4_routes(snapshot, ipv4);
        }
        if routes || !changes.is_empty() {
            // Addresses and links change the answers too (a new source, an
            // interface gone down).
            let reach = Some(lookups.reach(snapshot)?);
            Counters::add(&shared.counters.reach_probes, 1);
            if reach != snapshot.reach {
                snapshot.reach = reach;
                routes = true;
            }
            if routes {
                changes.push(Change::Routes);
            }
        }
    }
    if pref64 {
        changes.push(Change::Nat64);
    }
    Ok(Folded {
        changes,
        reread: resync,
        flushed,
    })
}
