//! Teredo-aware connect-by-name.
//!
//! The facade of the workspace: it re-exports the building blocks under
//! short names.

#![forbid(unsafe_code)]

pub use iface_probe as probe;
pub use rfc3484_sort as sort;
pub use stable_addr as stable;
pub use teredo_addr as addr;
