//! Integration tests against the real kernel, and of the parser on dumps
//! captured from it (`dumps`, with the bytes in `tests/fixtures/`).
//!
//! Tests in a module named `root` build network namespaces with the `ip`
//! command (the harness shells out; the library never does) and need root:
//! they fail, not skip, without it. Each such test sets up its namespaces
//! in the test process, then re-runs itself (the same test binary, the same
//! test) inside `ip netns exec NS`, where the body runs with the
//! namespace as its whole network. A guard deletes the namespaces on drop,
//! also when the test fails.

#[cfg(target_endian = "little")]
mod dumps;
mod harness;
mod root;
mod unprivileged;
