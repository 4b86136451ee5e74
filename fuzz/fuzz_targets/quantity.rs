//! The quantity parser on any text (see tests/oracles for what must hold).
#![no_main]

// Each target uses one of the oracles.
#[allow(dead_code)]
#[path = "../../tests/oracles/mod.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|text: &str| oracles::quantity(text));
