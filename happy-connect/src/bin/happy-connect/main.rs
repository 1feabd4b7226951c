//! The `happy-connect` command-line tool.

fn main() {}
