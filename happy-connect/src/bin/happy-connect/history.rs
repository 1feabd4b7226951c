//! `--history FILE` and `--history-ttl`: a connection history kept
//! between runs of `resolve` and `connect`.
//!
//! A missing file starts an empty history. A file that cannot be read, or
//! is not a history this build understands, gets a one-line warning and
//! an empty history: never a crash, never half a file. The file is
//! written atomically (a temporary file beside it, then a rename).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use happy_connect::history::{History, HistoryConfig, HistoryFile};

use crate::args::parse_duration;

/// A history file larger than this is not read: a history holds at most
/// a few thousand entries.
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Load the connection history from FILE first and save it there
    /// after (created if missing).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// How long an outcome counts in the history: 500ms, 30s, 10m.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    history_ttl: Option<Duration>,
}

impl HistoryArgs {
    /// The history to connect with: loaded from the file when one is
    /// given and readable, else empty.
    pub(crate) fn open(&self) -> History {
        let mut config = HistoryConfig::default();
        if let Some(ttl) = self.history_ttl {
            config.ttl = ttl;
        }
        let history = History::with_config(config);
        if let Some(path) = &self.history {
            if let Err(why) = load(&history, path) {
                eprintln!(
                    "happy-connect: warning: history {} ignored ({why}); starting with an empty one",
                    path.display()
                );
            }
        }
        history
    }

    /// Saves the history to the file, if one was given; a failure is a
    /// warning.
    pub(crate) fn save(&self, history: &History) {
        let Some(path) = &self.history else {
            return;
        };
        if let Err(err) = save(history, path) {
            eprintln!(
                "happy-connect: warning: cannot save the history to {}: {err}",
                path.display()
            );
        }
    }
}

/// Imports the file into `history`; a missing file is an empty history.
fn load(history: &History, path: &Path) -> Result<(), String> {
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err.to_string()),
    };
    if size > MAX_FILE {
        return Err(format!("{size} bytes, more than a history can be"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file: HistoryFile =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a history file: {e}"))?;
    history.import(&file).map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes the history beside `path`, then renames it into place.
fn save(history: &History, path: &Path) -> std::io::Result<()> {
    history.purge();
    let json = serde_json::to_vec_pretty(&history.export()).map_err(std::io::Error::other)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&json)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
