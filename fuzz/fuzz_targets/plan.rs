//! Bytes → validated model → plan → independent check (see tests/oracles for what must hold).
#![no_main]

// Each target uses one of the oracles.
#[allow(dead_code)]
#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| oracles::plan(bytes));
