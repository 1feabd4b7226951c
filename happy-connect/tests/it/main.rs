//! Integration tests of the `happy-connect` crate and its command-line tool.

mod cli;
mod connect;
mod dns_server;
#[cfg(target_os = "linux")]
mod nat64;
mod resolve;
