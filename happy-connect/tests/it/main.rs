//! Integration tests of the `happy-connect` crate and its command-line tool.

#![cfg(target_os = "linux")]

mod answered_at_once;
mod cli;
mod connect;
mod dns_server;
mod history;
mod host_view;
mod nat64;
mod resolve;
mod seed;
