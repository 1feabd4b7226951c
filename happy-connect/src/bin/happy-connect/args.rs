//! What the commands share: parsers of argument values and the JSON
//! printer. Every command module depends on this one and on no other
//! command module's helpers.

use std::time::Duration;

use happy_connect::sort::Policy;
use serde_json::Value;

use crate::Failure;

/// Parses `rfc6724`, `rfc3484`, `windows`, `glibc`, `system` (glibc's
/// choice on this host: /etc/gai.conf, else its built-in tables) or
/// `gai:PATH`.
pub(crate) fn parse_policy(text: &str) -> Result<Policy, Failure> {
    let bad = |err: happy_connect::PolicyFileError| Failure::BadInput(err.to_string());
    match text {
        "rfc6724" => Ok(Policy::rfc6724()),
        "rfc3484" => Ok(Policy::rfc3484()),
        "windows" => Ok(Policy::windows()),
        "glibc" => Ok(Policy::glibc()),
        "system" => happy_connect::system_policy().map_err(bad),
        _ => match text.strip_prefix("gai:") {
            Some(path) => happy_connect::policy_from_file(path).map_err(bad),
            None => Err(Failure::BadInput(format!(
                "unknown policy {text:?} (expected rfc6724, rfc3484, windows, glibc, system or gai:PATH)"
            ))),
        },
    }
}

/// Prints JSON, indented, on standard output.
pub(crate) fn print_json(value: &Value) {
    // Serialising a Value built from strings and numbers cannot fail.
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Parses `500ms`, `3s`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 3s or 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?} (use ms, s or m)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}
