//! Integration tests against the real kernel, and of the netlink decoder
//! on dumps captured from it (`dumps`, with the bytes in
//! `tests/fixtures/`).
//!
//! Tests in a module named `root` build network namespaces with
//! `netns-harness` and need root: they fail, not skip, without it. Each
//! runs its body on a thread that has entered the namespace; the harness
//! deletes the namespaces on drop, also when the test fails.

#[cfg(target_endian = "little")]
mod dumps;
mod harness;
#[cfg(target_os = "linux")]
mod root;
mod unprivileged;
