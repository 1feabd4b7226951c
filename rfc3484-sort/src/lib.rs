//! RFC 6724 / RFC 3484 default address selection.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
