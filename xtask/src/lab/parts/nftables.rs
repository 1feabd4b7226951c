//! The router's nftables table, with an empty chain on the forward hook
//! that the tests add their drop rules to (a blackholed path, a Teredo
//! server cut off) and flush again.

use anyhow::Result;

use super::{Build, Part, no_status, nothing_to_undo};
use crate::lab::netns::exec;

pub(in crate::lab) const PART: Part = Part {
    name: "nftables",
    up,
    status: no_status,
    down: nothing_to_undo,
};

/// The table, as `nft` names it (family and name) ...
pub(in crate::lab) const TABLE: &str = "inet lab";
/// ... and its chain on the forward hook.
pub(in crate::lab) const CHAIN: &str = "forward";

fn up(build: &mut Build<'_>) -> Result<()> {
    let router = build.ns("router")?;
    exec(
        &router,
        &[
            "nft",
            &format!(
                "add table {TABLE}; \
                 add chain {TABLE} {CHAIN} {{ type filter hook forward priority 0; policy accept; }}"
            ),
        ],
    )?;
    Ok(())
}
