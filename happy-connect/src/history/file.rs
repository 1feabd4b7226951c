//! A history as data: [`History::export`] and [`History::import`], in any
//! serde format (the tool writes it as JSON with `--history FILE`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use iface_probe::NetworkId;
use serde::{Deserialize, Serialize};

use super::note::{Record, Records, SKEW_MS};
use super::store::{Key, Subject};
use super::{History, Past};
use crate::race::Family;

/// What [`HistoryFile::format`] must say.
const FORMAT: &str = "happy-connect history";
/// The version this build writes and reads.
const VERSION: u32 = 1;

/// A history exported, to be saved and imported later, by this process
/// or another.
///
/// ```
/// use std::net::IpAddr;
/// use happy_connect::history::{History, HistoryFile, Past};
/// use happy_connect::probe::NetworkId;
///
/// let history = History::new();
/// let here = NetworkId::from_u64(42);
/// let addr: IpAddr = "2001:db8::1".parse().unwrap();
/// history.record(here, None, addr, Past::TimedOut);
///
/// let json = serde_json::to_string(&history.export()).unwrap();
/// let file: HistoryFile = serde_json::from_str(&json).unwrap();
/// let restored = History::new();
/// restored.import(&file).unwrap();
/// assert!(restored.note(here, None, addr).unwrap().demoted());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFile {
    format: String,
    version: u32,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// The network's identity, 16 hexadecimal digits.
    network: String,
    /// The partition key's digest, 16 hexadecimal digits; absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<String>,
    /// The destination, or else:
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<IpAddr>,
    /// the family (`IPv4` or `IPv6`) the entry is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Outcome {
    /// Milliseconds since the Unix epoch.
    at_ms: u64,
    /// `connected`, `refused`, `unreachable`, `timed out` or `lost`.
    outcome: String,
    /// For `connected`: the handshake time in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handshake_us: Option<u32>,
    /// For `lost`: the winner's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lost_to: Option<String>,
}

impl HistoryFile {
    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why a [`HistoryFile`] was not imported (nothing of it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError(String);

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ImportError {}

fn family_name(f: Family) -> String {
    f.to_string()
}

fn parse_family(s: &str) -> Option<Family> {
    match s {
        "IPv4" => Some(Family::V4),
        "IPv6" => Some(Family::V6),
        _ => None,
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    (s.len() == 16)
        .then(|| u64::from_str_radix(s, 16).ok())
        .flatten()
}

impl Outcome {
    fn of(at_ms: u64, past: Past) -> Self {
        let (handshake_us, lost_to) = match past {
            Past::Connected { handshake } => (
                Some(u32::try_from(handshake.as_micros()).unwrap_or(u32::MAX)),
                None,
            ),
            Past::Lost { to } => (None, Some(family_name(to))),
            _ => (None, None),
        };
        let outcome = match past {
            Past::Connected { .. } => "connected",
            Past::Refused => "refused",
            Past::Unreachable => "unreachable",
            Past::TimedOut => "timed out",
            Past::Lost { .. } => "lost",
        };
        Self {
            at_ms,
            outcome: outcome.to_owned(),
            handshake_us,
            lost_to,
        }
    }

    fn past(&self) -> Result<Past, String> {
        Ok(match self.outcome.as_str() {
            "connected" => {
                let us = self
                    .handshake_us
                    .ok_or("\"connected\" without \"handshake_us\"")?;
                Past::Connected {
                    handshake: Duration::from_micros(u64::from(us)),
                }
            }
            "refused" => Past::Refused,
            "unreachable" => Past::Unreachable,
            "timed out" => Past::TimedOut,
            "lost" => {
                let to = self
                    .lost_to
                    .as_deref()
                    .ok_or("\"lost\" without \"lost_to\"")?;
                Past::Lost {
                    to: parse_family(to)
                        .ok_or_else(|| format!("\"lost_to\" {to:?} is neither IPv4 nor IPv6"))?,
                }
            }
            other => return Err(format!("unknown outcome {other:?}")),
        })
    }
}

impl Entry {
    fn key(&self) -> Result<Key, String> {
        let network = parse_hex(&self.network)
            .ok_or_else(|| format!("network {:?} is not 16 hexadecimal digits", self.network))?;
        let partition = match &self.partition {
            None => 0,
            Some(p) => parse_hex(p).filter(|p| *p != 0).ok_or_else(|| {
                format!("partition {p:?} is not 16 hexadecimal digits (not all 0)")
            })?,
        };
        let subject = match (&self.address, &self.family) {
            (Some(addr), None) => Subject::Address(*addr),
            (None, Some(f)) => Subject::Family(
                parse_family(f).ok_or_else(|| format!("family {f:?} is neither IPv4 nor IPv6"))?,
            ),
            (Some(_), Some(_)) => return Err("has both an address and a family".into()),
            (None, None) => return Err("has neither an address nor a family".into()),
        };
        Ok(Key {
            network: NetworkId::from_u64(network),
            partition,
            subject,
        })
    }
}

impl History {
    /// Everything this history holds that has not expired, but for
    /// outcomes stamped more than a minute after now (the wall clock
    /// stepped back since), which do not count.
    pub fn export(&self) -> HistoryFile {
        let now = super::now_ms();
        let ttl = self.ttl_ms();
        let mut entries: Vec<(u64, Entry)> = self
            .shared
            .store
            .entries()
            .into_iter()
            .filter_map(|(key, records)| {
                let outcomes: Vec<Outcome> = records
                    .iter()
                    .filter(|&(at, _)| {
                        now.saturating_sub(at) < ttl && at <= now.saturating_add(SKEW_MS)
                    })
                    .map(|(at, past)| Outcome::of(at, past))
                    .collect();
                let latest = outcomes.iter().map(|o| o.at_ms).max()?;
                let (address, family) = match key.subject {
                    Subject::Address(a) => (Some(a), None),
                    Subject::Family(f) => (None, Some(family_name(f))),
                };
                Some((
                    latest,
                    Entry {
                        network: key.network.to_string(),
                        partition: (key.partition != 0).then(|| format!("{:016x}", key.partition)),
                        address,
                        family,
                        outcomes,
                    },
                ))
            })
            .collect();
        // Oldest first: an import then keeps the newest when it must make
        // room.
        entries.sort_by_key(|(latest, _)| *latest);
        HistoryFile {
            format: FORMAT.to_owned(),
            version: VERSION,
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        }
    }

    /// Adds what `file` holds to this history; returns how many entries it
    /// brought. Outcomes already expired are skipped, and so are those
    /// stamped more than a minute after now, which say nothing that can be
    /// trusted (the file was edited, or saved before the wall clock
    /// stepped back): the entry's other outcomes are imported.
    ///
    /// # Errors
    ///
    /// When the file is not a history of this version, or any entry is
    /// malformed; then nothing is imported.
    pub fn import(&self, file: &HistoryFile) -> Result<usize, ImportError> {
        if file.format != FORMAT {
            return Err(ImportError(format!(
                "not a happy-connect history (its format is {:?})",
                file.format
            )));
        }
        if file.version != VERSION {
            return Err(ImportError(format!(
                "history version {} is not supported (this build reads version {VERSION})",
                file.version
            )));
        }
        let mut parsed = Vec::with_capacity(file.entries.len());
        for (i, entry) in file.entries.iter().enumerate() {
            let key = entry
                .key()
                .map_err(|why| ImportError(format!("entry {}: {why}", i + 1)))?;
            let mut records = Vec::with_capacity(entry.outcomes.len());
            for (j, o) in entry.outcomes.iter().enumerate() {
                let past = o.past().map_err(|why| {
                    ImportError(format!("entry {}, outcome {}: {why}", i + 1, j + 1))
                })?;
                records.push(Record::new(past, o.at_ms));
            }
            parsed.push((key, records));
        }
        let now = super::now_ms();
        let ttl = self.ttl_ms();
        let mut brought = 0;
        for (key, records) in parsed {
            let mut kept = Records::default();
            for r in records {
                if now.saturating_sub(r.at_ms) < ttl {
                    kept.push(r, now);
                }
            }
            if kept.len() > 0 {
                for (at, past) in kept.iter() {
                    self.shared
                        .store
                        .record_if(key, Record::new(past, at), now, true);
                }
                brought += 1;
            }
        }
        Ok(brought)
    }
}
