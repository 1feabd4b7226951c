//! The state of the Teredo lab: what `cargo xtask lab up` built, as
//! `xtask` writes it and the lab's tests (`happy-connect/tests/lab`) read
//! it, in `target/lab/state.json` or the file `$HAPPY_CONNECT_LAB` names.
//!
//! Namespaces, addresses and processes are maps keyed by role, so that a
//! part of the lab adds its own entries (`nat64`, `nat64_v6`, ...) without
//! a new field; a part with state of another shape adds a field with
//! `#[serde(default)]`, so that files written before it still read.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable naming the state file: `cargo xtask lab test`
/// sets it for the tests, and `xtask` reads it in place of its default.
pub const STATE_ENV: &str = "HAPPY_CONNECT_LAB";

/// Everything `lab down`, `lab status` and the tests need to know about a
/// running lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// The per-run prefix of every namespace name, `hcl<pid>-`.
    pub prefix: String,
    /// Configuration files and logs.
    pub run_dir: PathBuf,
    /// Namespace names by role: `router`, `teredo_server`, `t1`, `t2`,
    /// `srv`.
    pub namespaces: BTreeMap<String, String>,
    /// Addresses by role: `t1_v4`, `t1_teredo`, `srv_v6`, ...
    pub addresses: BTreeMap<String, IpAddr>,
    /// The lab's DNS server (dnsmasq in the router).
    pub dns_server: SocketAddr,
    /// dnsmasq's query log.
    pub dnsmasq_log: PathBuf,
    /// The hosts file dnsmasq serves the lab's names from.
    pub hosts_file: PathBuf,
    /// The DNS names and their addresses.
    pub names: BTreeMap<String, Vec<IpAddr>>,
    /// The nft table in the router that tests add drop rules to (`inet
    /// lab`) ...
    pub nft_table: String,
    /// ... and its chain on the forward hook.
    pub nft_chain: String,
    /// The background processes, by role (`miredo_t1`, `dnsmasq`, ...).
    pub processes: BTreeMap<String, Process>,
    /// How long `up` took, in milliseconds.
    pub up_ms: u64,
    /// The NAT64 part, when the lab has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat64: Option<Nat64Lab>,
}

/// What the tests need to know of the lab's NAT64 part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nat64Lab {
    /// The translator's prefix, `2001:db8:64::/96`.
    pub prefix: String,
    /// The router's interface the advertisements go out of.
    pub ra_interface: String,
    /// The hosts file the part's dnsmasq serves (tests add to it and send
    /// SIGHUP).
    pub hosts_file: PathBuf,
    /// That dnsmasq's query log.
    pub dnsmasq_log: PathBuf,
    /// unbound's log (queries included).
    pub unbound_log: PathBuf,
}

/// One background process of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its pid (of `ip netns exec`, which execs the program).
    pub pid: u32,
    /// The namespace it runs in.
    pub netns: String,
    /// The command run inside `netns` (what a test restarts).
    pub argv: Vec<String>,
    /// Where its standard output and error go.
    pub log: PathBuf,
}

impl LabState {
    /// The state file `$HAPPY_CONNECT_LAB` names, if it is set and not
    /// empty.
    pub fn path_from_env() -> Option<PathBuf> {
        std::env::var_os(STATE_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// Reads the state at `path`; `None` when there is no such file.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, or is not a lab state; the error
    /// names the file.
    pub fn read(path: &Path) -> io::Result<Option<Self>> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed(format!("cannot read {}", path.display()), e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| failed(format!("{} is not a lab state file", path.display()), e))
    }

    /// Writes the state to `path` (pretty JSON) through a temporary file
    /// renamed into place, so that a reader never sees half a file;
    /// creates the directory.
    ///
    /// # Errors
    ///
    /// When the directory or file cannot be written; the error names it.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| failed(format!("cannot create {}", dir.display()), e))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)? + "\n";
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, text).map_err(|e| failed(format!("cannot write {}", tmp.display()), e))?;
        fs::rename(&tmp, path).map_err(|e| failed(format!("cannot write {}", path.display()), e))
    }

    /// The name of the namespace of `role`.
    pub fn namespace(&self, role: &str) -> Option<&str> {
        self.namespaces.get(role).map(String::as_str)
    }

    /// The address of `role`.
    pub fn address(&self, role: &str) -> Option<IpAddr> {
        self.addresses.get(role).copied()
    }

    /// Puts `new` wherever `old` was: in the addresses and in the DNS
    /// names (after Miredo came back with another Teredo address, say).
    /// Returns how many entries changed.
    pub fn replace_address(&mut self, old: IpAddr, new: IpAddr) -> usize {
        let mut changed = 0;
        let names = self.names.values_mut().flatten();
        for a in self.addresses.values_mut().chain(names) {
            if *a == old {
                *a = new;
                changed += 1;
            }
        }
        changed
    }

    /// The lab's namespace of `role`, to enter or to run commands in; it
    /// stays when the handle drops (`lab down` removes it).
    ///
    /// # Panics
    ///
    /// When the state has no such role, or the namespace is gone (see
    /// [`Netns::existing`](crate::Netns::existing)).
    #[cfg(target_os = "linux")]
    pub fn netns(&self, role: &str) -> crate::Netns {
        let name = self
            .namespace(role)
            .unwrap_or_else(|| panic!("no namespace {role:?} in the lab state"));
        crate::Netns::existing(name)
    }
}

/// `err`, with what failed (naming the file) in front.
fn failed(what: String, err: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LabState {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        LabState {
            prefix: "hcl42-".into(),
            run_dir: "/tmp/run-hcl42".into(),
            namespaces: [("t1".to_owned(), "hcl42-t1".to_owned())].into(),
            addresses: [
                ("t1_teredo".to_owned(), ip("2001:0:c612:a::1")),
                ("srv_v4".to_owned(), ip("198.18.3.2")),
            ]
            .into(),
            dns_server: "198.18.255.53:53".parse().unwrap(),
            dnsmasq_log: "/tmp/run-hcl42/dnsmasq.log".into(),
            hosts_file: "/tmp/run-hcl42/lab.hosts".into(),
            names: [(
                "v4-teredo1.lab".to_owned(),
                vec![ip("198.18.3.2"), ip("2001:0:c612:a::1")],
            )]
            .into(),
            nft_table: "inet lab".into(),
            nft_chain: "forward".into(),
            processes: [(
                "miredo_t1".to_owned(),
                Process {
                    pid: 7,
                    netns: "hcl42-t1".into(),
                    argv: vec!["miredo".into(), "-f".into()],
                    log: "/tmp/run-hcl42/miredo-t1.log".into(),
                },
            )]
            .into(),
            up_ms: 250,
            nat64: None,
        }
    }

    /// The file keeps the shape it had as untyped JSON: addresses and the
    /// DNS server as strings.
    #[test]
    fn addresses_are_written_as_strings() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["dns_server"], "198.18.255.53:53");
        assert_eq!(json["addresses"]["t1_teredo"], "2001:0:c612:a::1");
        assert_eq!(json["names"]["v4-teredo1.lab"][0], "198.18.3.2");
        assert_eq!(json["processes"]["miredo_t1"]["pid"], 7);
    }

    #[test]
    fn written_and_read_back() {
        let dir = std::env::temp_dir().join(format!("lab-state-{}", std::process::id()));
        let path = dir.join("nested").join("state.json");
        assert_eq!(LabState::read(&path).unwrap(), None, "no file yet");
        let state = sample();
        state.write(&path).unwrap();
        assert_eq!(LabState::read(&path).unwrap(), Some(state));
        fs::write(&path, "{\"prefix\": 1}").unwrap();
        let err = LabState::read(&path).unwrap_err().to_string();
        fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("state.json is not a lab state file"),
            "the error names the file: {err}"
        );
    }

    #[test]
    fn a_new_address_replaces_the_old_everywhere() {
        let mut state = sample();
        let (old, new) = (
            "2001:0:c612:a::1".parse().unwrap(),
            "2001:0:c612:a::2".parse().unwrap(),
        );
        assert_eq!(state.replace_address(old, new), 2);
        assert_eq!(state.address("t1_teredo"), Some(new));
        assert_eq!(state.names["v4-teredo1.lab"][1], new);
        assert_eq!(state.address("srv_v4"), "198.18.3.2".parse().ok());
        assert_eq!(state.replace_address(old, new), 0);
    }
}
