//! Integration tests of the `happy-connect` crate and its command-line tool.

mod cli;
mod dns_server;
mod resolve;
