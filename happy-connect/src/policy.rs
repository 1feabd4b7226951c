//! The policy table glibc would use on this host: `/etc/gai.conf` when it
//! exists, glibc's built-in tables otherwise. The connector's default stays
//! RFC 6724; a caller who wants the host administrator's choices honoured
//! asks for this one.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rfc3484_sort::{GaiConfError, Policy};

/// Where glibc reads its address-sorting configuration.
pub const GAI_CONF: &str = "/etc/gai.conf";

/// Why a gai.conf file could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// The file exists but could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A line of the file is malformed.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: GaiConfError,
    },
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Parse { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PolicyFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Parse { source, .. } => Some(source),
        }
    }
}

/// The policy glibc's `getaddrinfo` uses on this host: [`GAI_CONF`] with
/// glibc's semantics when the file exists, [`Policy::glibc`] when it does
/// not.
///
/// # Errors
///
/// When the file exists but cannot be read or has a malformed line.
///
/// ```no_run
/// let mut connector = happy_connect::Connector::new();
/// connector.race_mut().policy = happy_connect::system_policy()?;
/// # Ok::<(), happy_connect::PolicyFileError>(())
/// ```
pub fn system_policy() -> Result<Policy, PolicyFileError> {
    match policy_from_file(GAI_CONF) {
        Err(PolicyFileError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(Policy::glibc())
        }
        other => other,
    }
}

/// The policy a gai.conf file describes (glibc's semantics: a `label`,
/// `precedence` or `scopev4` line replaces that whole default table).
///
/// # Errors
///
/// When the file cannot be read (a missing file included) or has a
/// malformed line.
pub fn policy_from_file(path: impl AsRef<Path>) -> Result<Policy, PolicyFileError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    Policy::from_gai_conf(&text).map_err(|source| PolicyFileError::Parse {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_replaces_the_tables_it_names() {
        let dir = std::env::temp_dir().join(format!("hc-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("gai.conf");
        std::fs::write(&good, "precedence ::ffff:0:0/96 100\n").unwrap();
        let policy = policy_from_file(&good).unwrap();
        assert_eq!(policy.precedence("192.0.2.1".parse().unwrap()), 100);

        let bad = dir.join("bad.conf");
        std::fs::write(&bad, "label ::1/128 0\nprecedence ::1/200 1\n").unwrap();
        let err = policy_from_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.conf") && err.contains("line 2"), "{err}");

        let err = policy_from_file(dir.join("missing.conf"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.conf"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_system_policy_is_gai_conf_or_glibcs_tables() {
        let policy = system_policy().expect("this host's gai.conf, if any, is well formed");
        if Path::new(GAI_CONF).exists() {
            assert_eq!(policy, policy_from_file(GAI_CONF).unwrap());
        } else {
            assert_eq!(policy, Policy::glibc());
        }
    }
}
