//! Property tests for the public API, in one test binary so that the crate
//! and proptest are linked once.

mod classify;
mod nat64;
mod teredo;
