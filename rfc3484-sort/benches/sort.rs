//! Sorting benchmarks (filled in with the sort itself).

fn main() {}
